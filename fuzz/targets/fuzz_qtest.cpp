// fuzz_qtest: both ends of the qtest line protocol (reference/include/vmsg/qtest/):
// the server vmsg-ref-qtest runs (protocol.cpp parsing what a client sends,
// server.cpp answering it from a reference machine, ref_extensions.cpp) and
// the client port (qtest_port.cpp over line_channel.cpp, parsing what QEMU
// or anything claiming to be QEMU replies). Input format: harness/qtest_ops.hpp.
//
// Server mode (raw, hostile, formatter-made and extension lines, at most 64):
//  - every line gets exactly one reply line: "OK" / "OK ..." / "FAIL ..." /
//    "ERR ...", newline-terminated, no newline inside, parse_incoming reads
//    it back as a Reply of that kind; its size is bounded (a huge length is
//    refused, never allocated);
//  - the verdict matches parse_command: unknown word -> FAIL, malformed ->
//    ERR, well-formed -> never FAIL (except a second IRQ intercept);
//  - a Command that format_command accepts parses back to itself and
//    formats to the same text; the server answers it, OK when it touches RAM
//    only; a RAM write read back through the server returns what was
//    written (and is what the machine's RAM holds);
//  - ServerStats count every line and every non-OK reply; the clock never
//    runs backwards.
// Client mode (QtestPort; the peer's replies are the input's text, then EOF,
// silence (1 ms timeout), a closed socket or a line over the limit):
//  - every call does what ScriptedPortModel (harness/qtest_client_model.hpp)
//    predicts from QtestPort's documentation: the same commands sent, the
//    same value / bytes / Reply returned, PortError (or ConfigError for an
//    unformattable Command) exactly when predicted, unusable exactly when
//    predicted, the same IRQ lines, clock support and time; nothing else is
//    ever thrown.
// Diff mode (QtestPort whose peer is the genuine Server in its own thread,
// against an identical machine driven directly):
//  - every read returns what the machine says, every error is an error on
//    both sides; raw commands and extension lines get the same reply as from
//    an in-process Server; at the end both machines agree on RAM, time,
//    counters, MSIs and driver-rule violations.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/check.hpp"
#include "common/stream_io.hpp"
#include "harness/qtest_client_model.hpp"
#include "harness/qtest_ops.hpp"
#include "harness/qtest_rig.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/qtest/qtest_port.hpp"

namespace {

using namespace vmsg;
namespace ops = fuzz::qtest_ops;
using qtest::Reply;

// ---- server mode --------------------------------------------------------------------------

std::string show(std::string_view s) { return "'" + std::string(s.substr(0, 120)) + (s.size() > 120 ? "...'" : "'"); }

/// Checks the reply of one line and returns it parsed.
Reply check_reply(std::string_view line, const std::string& reply) {
  VMSG_FUZZ_CHECK(!reply.empty() && reply.back() == '\n' && reply.find('\n') == reply.size() - 1,
                  "not exactly one reply line for " + show(line) + ": " + show(reply));
  VMSG_FUZZ_CHECK(reply.size() <= qtest::kMaxLineBytes, "reply longer than the line limit to " + show(line));
  const bool ok = reply == "OK\n" || reply.rfind("OK ", 0) == 0;
  const bool failed = reply.rfind("FAIL ", 0) == 0;
  const bool err = reply.rfind("ERR ", 0) == 0;
  VMSG_FUZZ_CHECK(ok || failed || err, "reply is not OK/FAIL/ERR: " + show(reply));
  auto in = qtest::parse_incoming(reply);
  VMSG_FUZZ_CHECK(in.ok() && std::holds_alternative<Reply>(*in), "reply does not parse as a Reply: " + show(reply));
  const Reply r = std::get<Reply>(*in);
  const Reply::Kind want = ok ? Reply::Kind::Ok : failed ? Reply::Kind::Fail : Reply::Kind::Err;
  VMSG_FUZZ_CHECK(r.kind == want, "reply kind differs from its prefix: " + show(reply));
  return r;
}

bool is_intercept(qtest::Op op) { return op == qtest::Op::IrqInterceptIn || op == qtest::Op::IrqInterceptOut; }

/// One Server over a fresh machine, and what the oracles track across lines.
class ServerSession {
 public:
  explicit ServerSession(bool extensions) : server_(rig_.machine(), extensions ? &rig_.extensions() : nullptr), ext_(extensions) {}

  /// Sends `line` (no newline) and applies the per-line oracles.
  Reply send(const std::string& line) {
    const std::string reply = server_.handle(line);
    ++lines_;
    if (!(reply == "OK\n" || reply.rfind("OK ", 0) == 0)) ++failed_;
    const Reply r = check_reply(line, reply);
    check_verdict(line, r);
    const std::uint64_t now = rig_.machine().now_ns();
    VMSG_FUZZ_CHECK(now >= clock_, "the clock ran backwards after " + show(line) + ": " + std::to_string(clock_) +
                                       " -> " + std::to_string(now));
    clock_ = now;
    const qtest::ServerStats& s = server_.stats();
    VMSG_FUZZ_CHECK(s.commands == lines_ && s.failed == failed_,
                    "ServerStats " + std::to_string(s.commands) + "/" + std::to_string(s.failed) + ", counted " +
                        std::to_string(lines_) + "/" + std::to_string(failed_));
    return r;
  }

  void formatted(const ops::ServerOp& op) {
    const qtest::Command c = fuzz::formatted_command(op);
    std::string text;
    try {
      text = qtest::format_command(c);
    } catch (const ConfigError&) {
      return;  // documented refusal; nothing to send
    }
    VMSG_FUZZ_CHECK(text.back() == '\n' && text.find('\n') == text.size() - 1, "formatted command is not one line");
    auto back = qtest::parse_command(text);
    VMSG_FUZZ_CHECK(back.ok(), "format_command output does not parse: " + show(text) + " (" +
                                   (back.ok() ? "" : back.error().detail) + ")");
    VMSG_FUZZ_CHECK(*back == c, "parse(format(c)) != c for " + show(text));
    VMSG_FUZZ_CHECK(qtest::format_command(*back) == text, "format is not stable for " + show(text));
    text.pop_back();
    const Reply r = send(text);
    const bool ram_only = touches_ram_only(c);
    if (is_intercept(c.op) && r.kind == Reply::Kind::Fail) return;  // second intercept
    VMSG_FUZZ_CHECK(r.kind != Reply::Kind::Fail, "a well-formed command got FAIL: " + show(text));
    if (ram_only) VMSG_FUZZ_CHECK(r.kind == Reply::Kind::Ok, "a RAM access was refused: " + show(text));
    if (r.kind == Reply::Kind::Ok) read_back(c, r, text);
  }

 private:
  /// parse_command decides FAIL vs ERR (extension lines aside).
  void check_verdict(const std::string& line, const Reply& r) {
    if (ext_ && line.rfind("vmsg_", 0) == 0) return;
    auto p = qtest::parse_command(line);
    if (!p) {
      const bool unknown = p.error().code == qtest::LineErrc::UnknownOp;
      VMSG_FUZZ_CHECK(r.kind == (unknown ? Reply::Kind::Fail : Reply::Kind::Err),
                      "verdict for " + show(line) + " is not " + (unknown ? "FAIL" : "ERR"));
      return;
    }
    if (r.kind == Reply::Kind::Fail) VMSG_FUZZ_CHECK(is_intercept(p->op), "FAIL for a well-formed " + show(line));
  }

  static bool in_ram(std::uint64_t addr, std::uint64_t len) { return addr < ops::kRamBytes && len <= ops::kRamBytes - addr; }

  static bool touches_ram_only(const qtest::Command& c) {
    const unsigned w = qtest::op_width(c.op);
    switch (c.op) {
      case qtest::Op::InB: case qtest::Op::InW: case qtest::Op::InL:
      case qtest::Op::OutB: case qtest::Op::OutW: case qtest::Op::OutL:
        return false;
      default:
        break;
    }
    if (w != 0) return in_ram(c.addr, w);
    if (c.len != 0) return in_ram(c.addr, c.len) && reply_fits(c);
    return false;
  }

  /// Whether the reply to a read fits the line limit (the server refuses it otherwise).
  static bool reply_fits(const qtest::Command& c) {
    if (c.op == qtest::Op::Read) return 3 + 2 + 2 * c.len + 1 <= qtest::kMaxLineBytes;
    if (c.op == qtest::Op::B64Read) return 3 + (c.len + 2) / 3 * 4 + 1 <= qtest::kMaxLineBytes;
    return true;
  }

  std::vector<std::uint8_t> ram(std::uint64_t addr, std::size_t len) {
    std::vector<std::uint8_t> b(len);
    VMSG_FUZZ_CHECK(rig_.machine().ram().read(addr, b), "RAM read failed");
    return b;
  }

  /// Writes are read back through the server; reads and clock replies are checked against the machine.
  void read_back(const qtest::Command& c, const Reply& r, const std::string& text) {
    using qtest::Op;
    const unsigned w = qtest::op_width(c.op);
    const std::uint64_t now = rig_.machine().now_ns();
    switch (c.op) {
      case Op::ClockStep:
      case Op::ClockSet:
        VMSG_FUZZ_CHECK(r.words.size() == 1 && r.words[0] == std::to_string(now), "clock reply is not the machine's time");
        return;
      case Op::Endianness:
        VMSG_FUZZ_CHECK(r.words == std::vector<std::string>{"little"}, "endianness is not little");
        return;
      default:
        break;
    }
    if (!touches_ram_only(c)) return;
    std::vector<std::uint8_t> want;
    if (c.op == Op::WriteB || c.op == Op::WriteW || c.op == Op::WriteL || c.op == Op::WriteQ) {
      for (unsigned i = 0; i < w; ++i) want.push_back(static_cast<std::uint8_t>(c.value >> (8 * i)));
    } else if (c.op == Op::Write || c.op == Op::B64Write) {
      want = c.data;
    } else if (c.op == Op::Memset) {
      want.assign(static_cast<std::size_t>(c.len), static_cast<std::uint8_t>(c.value));
    } else if (c.op == Op::Read || c.op == Op::B64Read) {
      auto got = c.op == Op::Read ? qtest::reply_hex(r, c.len) : qtest::reply_base64(r, c.len);
      VMSG_FUZZ_CHECK(got.ok() && *got == ram(c.addr, static_cast<std::size_t>(c.len)), "read reply differs from RAM: " + show(text));
      return;
    } else {
      auto got = qtest::reply_number(r);
      std::uint64_t v = 0;
      const auto b = ram(c.addr, w);
      for (unsigned i = 0; i < w; ++i) v |= std::uint64_t{b[i]} << (8 * i);
      VMSG_FUZZ_CHECK(got.ok() && *got == v, "readX reply differs from RAM: " + show(text));
      return;
    }
    VMSG_FUZZ_CHECK(ram(c.addr, want.size()) == want, "RAM does not hold what " + show(text) + " wrote");
    // Back through the server: readX for scalars; for bulk, b64read of the
    // first and the last 4 KiB (the whole range was compared with RAM above;
    // decoding a megabyte per input would only slow the fuzzer down).
    if (w != 0) {
      qtest::Command rd;
      rd.op = qtest::read_op(w);
      rd.addr = c.addr;
      std::string line = qtest::format_command(rd);
      line.pop_back();
      auto v = qtest::reply_number(send(line));
      VMSG_FUZZ_CHECK(v.ok() && *v == c.value, "read-back of " + show(text) + " differs");
      return;
    }
    constexpr std::size_t kPiece = 4096;
    const std::size_t last = want.size() > kPiece ? want.size() - kPiece : 0;
    const std::array<std::size_t, 2> starts{0, last};
    for (std::size_t i = 0; i < (last == 0 ? 1U : 2U); ++i) {
      const std::size_t at = starts[i];
      qtest::Command rd;
      rd.op = qtest::Op::B64Read;
      rd.addr = c.addr + at;
      rd.len = std::min(kPiece, want.size() - at);
      std::string line = qtest::format_command(rd);
      line.pop_back();
      auto b = qtest::reply_base64(send(line), static_cast<std::size_t>(rd.len));
      VMSG_FUZZ_CHECK(b.ok() && std::equal(b->begin(), b->end(), want.begin() + static_cast<std::ptrdiff_t>(at)),
                      "read-back of " + show(text) + " differs at +" + std::to_string(at));
    }
  }

  fuzz::QtestRig rig_;
  qtest::Server server_;
  bool ext_;
  std::uint64_t lines_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t clock_ = 0;
};

void run_server(const ops::Setup& setup, fuzz::FdpReader& in) {
  ServerSession s(setup.extensions);
  for (std::size_t n = 0; n < ops::kMaxServerOps && in.more(); ++n) {
    ops::ServerOp op;
    ops::io_server_op(in, op);
    switch (static_cast<ops::ServerKind>(op.kind)) {
      case ops::ServerKind::Raw:
        (void)s.send(fuzz::one_line(op.text));
        break;
      case ops::ServerKind::Hostile:
        (void)s.send(fuzz::hostile_line(op));
        break;
      case ops::ServerKind::Formatted:
        s.formatted(op);
        break;
      case ops::ServerKind::Extension:
        (void)s.send(fuzz::extension_line(op));
        break;
    }
  }
}

// ---- client side ---------------------------------------------------------------------------

/// What a QtestPort call did.
struct Observed {
  fuzz::PortOutcome::Kind kind = fuzz::PortOutcome::Kind::Done;
  std::uint64_t value = 0;
  std::vector<std::uint8_t> bytes;
  Reply reply;
  std::string what;  ///< exception text
};

/// Runs `op` on `port`; anything thrown other than PortError/ConfigError fails.
Observed call(qtest::QtestPort& port, const ops::ClientOp& op) {
  using K = ops::ClientKind;
  Observed o;
  const auto size = unsigned{op.size};
  try {
    switch (static_cast<K>(op.kind)) {
      case K::ConfigRead:
        o.value = port.config_read(fuzz::config_fn(op), op.offset, size);
        o.kind = fuzz::PortOutcome::Kind::Value;
        break;
      case K::ConfigWrite:
        port.config_write(fuzz::config_fn(op), op.offset, size, static_cast<std::uint32_t>(op.value));
        break;
      case K::MmioRead:
        o.value = port.mmio_read(ops::address_of(op), size);
        o.kind = fuzz::PortOutcome::Kind::Value;
        break;
      case K::MmioWrite:
        port.mmio_write(ops::address_of(op), size, op.value);
        break;
      case K::MemRead:
        o.bytes.assign(op.len, 0xA5);
        port.mem_read(ops::address_of(op), o.bytes);
        if (op.len != 0) o.kind = fuzz::PortOutcome::Kind::Bytes;
        break;
      case K::MemWrite:
        port.mem_write(ops::address_of(op), op.data);
        break;
      case K::AdvanceTime:
        port.advance_time(op.value);
        break;
      case K::PortIn:
        o.value = port.port_in(op.offset, size);
        o.kind = fuzz::PortOutcome::Kind::Value;
        break;
      case K::PortOut:
        port.port_out(op.offset, size, static_cast<std::uint32_t>(op.value));
        break;
      case K::Command:
        o.reply = port.command(fuzz::formatted_command(op.command));
        o.kind = fuzz::PortOutcome::Kind::Reply;
        break;
      case K::Extension:
        o.reply = port.extension(fuzz::client_extension_line(op));
        o.kind = fuzz::PortOutcome::Kind::Reply;
        break;
    }
  } catch (const PortError& e) {
    o = Observed{};
    o.kind = fuzz::PortOutcome::Kind::PortError;
    o.what = e.what();
  } catch (const ConfigError& e) {
    o = Observed{};
    o.kind = fuzz::PortOutcome::Kind::ConfigError;
    o.what = e.what();
  } catch (const std::exception& e) {
    VMSG_FUZZ_CHECK(false, std::string("QtestPort threw something other than PortError/ConfigError: ") + e.what());
  }
  return o;
}

qtest::QtestPortOptions port_options(const ops::Setup& setup) {
  qtest::QtestPortOptions o;
  o.machine = setup.virt ? qtest::MachineType::ArmVirt : qtest::MachineType::Q35;
  o.ram_bytes = ops::kRamBytes;
  o.window = setup.window;
  o.chunk_bytes = setup.chunk;
  // Only a silent peer makes the port wait: keep that wait short. Everyone
  // else answers at once, or (Endless) as fast as a thread can write.
  const bool silent = setup.mode == static_cast<std::uint8_t>(ops::Mode::Client) &&
                      setup.peer == static_cast<std::uint8_t>(ops::PeerEnd::Silent);
  o.timeout = std::chrono::milliseconds(silent ? 1 : 10'000);
  return o;
}

/// Everything the peer end has received so far (never blocks).
std::string drain(int fd) {
  std::string out;
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) return out;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
}

/// Builds the port, or checks that bad options are refused with ConfigError.
std::unique_ptr<qtest::QtestPort> make_port(int fd, const ops::Setup& setup) {
  if (setup.window == 0 || setup.chunk == 0) {
    bool refused = false;
    try {
      qtest::QtestPort p(fd, port_options(setup));
    } catch (const ConfigError&) {
      refused = true;
    }
    VMSG_FUZZ_CHECK(refused, "QtestPort accepted window or chunk_bytes 0");
    return nullptr;
  }
  return std::make_unique<qtest::QtestPort>(fd, port_options(setup));
}

std::string kind_name(fuzz::PortOutcome::Kind k) {
  static constexpr std::array<const char*, 6> kNames{"done", "value", "bytes", "reply", "PortError", "ConfigError"};
  return kNames[static_cast<std::size_t>(k)];
}

/// The scripted peer's end of the socket: its text queued at once, then
/// whatever Setup::peer says. Joins its writer thread (Endless) on destruction,
/// after the client end is closed.
class ScriptedPeer {
 public:
  ScriptedPeer(int fd, const std::string& text, ops::PeerEnd end) : fd_(fd) {
    VMSG_FUZZ_CHECK(::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()),
                    "peer text did not fit the socket buffer");
    switch (end) {
      case ops::PeerEnd::Eof:
        ::shutdown(fd_, SHUT_WR);
        break;
      case ops::PeerEnd::Silent:
        break;
      case ops::PeerEnd::Gone:
        ::close(fd_);
        fd_ = -1;
        break;
      case ops::PeerEnd::Endless:
        // More than the socket buffer holds: written while the client reads.
        writer_ = std::thread([fd = fd_] {
          const std::string chunk(64 * 1024, 'x');
          for (std::size_t sent = 0; sent <= qtest::kMaxLineBytes; sent += chunk.size()) {
            if (::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) return;
          }
          ::shutdown(fd, SHUT_WR);
        });
        break;
    }
  }
  ~ScriptedPeer() {
    if (writer_.joinable()) writer_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;

  /// Everything the client has sent so far ("" once the peer is gone).
  [[nodiscard]] std::string received() const { return fd_ >= 0 ? drain(fd_) : std::string(); }

 private:
  int fd_;
  std::thread writer_;
};

void run_client(const ops::Setup& setup, fuzz::FdpReader& in) {
  const auto [mine, peer_fd] = fuzz::socket_pair();
  const std::string text(setup.peer_text.begin(), setup.peer_text.end());
  const auto end = static_cast<ops::PeerEnd>(setup.peer);
  // Declared before the port: destroyed after it, so an Endless writer sees the client gone.
  ScriptedPeer peer(peer_fd, text, end);
  std::unique_ptr<qtest::QtestPort> port = make_port(mine, setup);
  if (!port) return;
  fuzz::ScriptedPortModel model(text, setup.virt, setup.window, setup.chunk, end == ops::PeerEnd::Gone);
  for (std::size_t n = 0; n < ops::kMaxClientOps && in.more(); ++n) {
    ops::ClientOp op;
    ops::io_client_op(in, op);
    const fuzz::PortOutcome want = model.apply(op);
    const Observed got = call(*port, op);
    const std::string ctx = " (op " + std::to_string(n) + ", kind " + std::to_string(op.kind) + ")";
    VMSG_FUZZ_CHECK(got.kind == want.kind, "port " + kind_name(got.kind) + " [" + got.what + "], model " +
                                               kind_name(want.kind) + ctx);
    VMSG_FUZZ_CHECK(got.value == want.value, "port returned " + std::to_string(got.value) + ", model " +
                                                 std::to_string(want.value) + ctx);
    if (got.kind == fuzz::PortOutcome::Kind::Bytes) VMSG_FUZZ_CHECK(got.bytes == want.bytes, "mem_read bytes differ" + ctx);
    VMSG_FUZZ_CHECK(got.reply == want.reply, "Reply differs" + ctx);
    const std::string sent = peer.received();
    VMSG_FUZZ_CHECK(sent == want.sent, "port sent " + show(sent) + ", model " + show(want.sent) + ctx);
    VMSG_FUZZ_CHECK(port->broken() == model.broken(), "unusable state differs" + ctx);
    VMSG_FUZZ_CHECK(port->irq_events() == model.irqs(), "IRQ events differ" + ctx);
    VMSG_FUZZ_CHECK(port->clock_supported() == model.clock_supported() && port->clock_now_ns() == model.clock_now(),
                    "clock state differs" + ctx);
  }
}

// ---- diff mode -----------------------------------------------------------------------------

/// The op on the machine directly, as the port promises to perform it.
Observed direct(machine::Machine& m, qtest::Server& server, const ops::ClientOp& op, std::size_t chunk) {
  using K = ops::ClientKind;
  Observed o;
  const auto size = unsigned{op.size};
  const auto mask = size >= 8 ? ~0ULL : (1ULL << (8U * size)) - 1U;
  auto reply_of = [&](const std::string& line) {
    auto in = qtest::parse_incoming(server.handle(line));
    VMSG_FUZZ_CHECK(in.ok() && std::holds_alternative<Reply>(*in), "in-process server reply does not parse");
    o.reply = std::get<Reply>(*in);
    o.kind = fuzz::PortOutcome::Kind::Reply;
  };
  auto number_of = [&](const std::string& line) {
    reply_of(line);
    o.kind = fuzz::PortOutcome::Kind::Value;
    auto v = qtest::reply_number(o.reply);
    VMSG_FUZZ_CHECK(v.ok(), "in-process port read failed");
    o.value = *v;
    o.reply = Reply{};
  };
  try {
    switch (static_cast<K>(op.kind)) {
      case K::ConfigRead:
        o.value = m.config_read(fuzz::config_fn(op), op.offset, size);
        o.kind = fuzz::PortOutcome::Kind::Value;
        break;
      case K::ConfigWrite:
        m.config_write(fuzz::config_fn(op), op.offset, size, static_cast<std::uint32_t>(op.value));
        break;
      case K::MmioRead:
        o.value = m.mmio_read(ops::address_of(op), size) & mask;
        o.kind = fuzz::PortOutcome::Kind::Value;
        break;
      case K::MmioWrite:
        m.mmio_write(ops::address_of(op), size, op.value & mask);
        break;
      case K::MemRead:
        o.bytes.assign(op.len, 0);
        for (std::size_t done = 0; done < op.len; done += chunk) {
          const std::size_t n = std::min<std::size_t>(chunk, op.len - done);
          m.mem_read(ops::address_of(op) + done, std::span<std::uint8_t>(o.bytes).subspan(done, n));
        }
        if (op.len != 0) o.kind = fuzz::PortOutcome::Kind::Bytes;
        break;
      case K::MemWrite:
        for (std::size_t done = 0; done < op.data.size(); done += chunk) {
          const std::size_t n = std::min<std::size_t>(chunk, op.data.size() - done);
          m.mem_write(ops::address_of(op) + done, std::span<const std::uint8_t>(op.data).subspan(done, n));
        }
        break;
      case K::AdvanceTime:
        m.advance_time(op.value);
        break;
      case K::PortIn:
        number_of(std::string(qtest::op_name(qtest::in_op(size))) + " " + std::to_string(op.offset));
        break;
      case K::PortOut:
        reply_of(std::string(qtest::op_name(qtest::out_op(size))) + " " + std::to_string(op.offset) + " " +
                 std::to_string(op.value & mask));
        o.kind = fuzz::PortOutcome::Kind::Done;
        o.reply = Reply{};
        break;
      case K::Command: {
        std::string line = qtest::format_command(fuzz::formatted_command(op.command));
        line.pop_back();
        reply_of(line);
        break;
      }
      case K::Extension:
        reply_of(fuzz::client_extension_line(op));
        break;
    }
  } catch (const ConfigError& e) {
    o = Observed{};
    o.kind = fuzz::PortOutcome::Kind::ConfigError;
    o.what = e.what();
  } catch (const std::exception& e) {
    o = Observed{};
    o.kind = fuzz::PortOutcome::Kind::PortError;
    o.what = e.what();
  }
  return o;
}

void compare_machines(fuzz::QtestRig& a, fuzz::QtestRig& b) {
  machine::Machine& ma = a.machine();
  machine::Machine& mb = b.machine();
  VMSG_FUZZ_CHECK(ma.now_ns() == mb.now_ns(), "time differs");
  VMSG_FUZZ_CHECK(ma.stats() == mb.stats(), "machine counters differ");
  VMSG_FUZZ_CHECK(ma.msi_log() == mb.msi_log(), "MSI logs differ");
  std::vector<std::uint8_t> ra(ops::kRamBytes), rb(ops::kRamBytes);
  VMSG_FUZZ_CHECK(ma.ram().read(0, ra) && mb.ram().read(0, rb), "RAM unreadable");
  VMSG_FUZZ_CHECK(ra == rb, "RAM differs");
  VMSG_FUZZ_CHECK(a.extensions().take_violations() == b.extensions().take_violations(), "rule violations differ");
}

void run_diff(const ops::Setup& setup, fuzz::FdpReader& in) {
  fuzz::QtestRig a;  // behind the qtest server
  fuzz::QtestRig b;  // driven directly
  qtest::Server local(b.machine(), setup.extensions ? &b.extensions() : nullptr);
  const auto [mine, peer] = fuzz::socket_pair();
  ops::Setup s = setup;
  s.virt = false;  // the machine decodes q35's layout (CF8/CFC); virt's ECAM is elsewhere
  {
    fuzz::ServerThread server(a.machine(), setup.extensions ? &a.extensions() : nullptr, peer);
    std::unique_ptr<qtest::QtestPort> port = make_port(mine, s);
    if (!port) return;
    const std::size_t chunk = s.chunk;
    for (std::size_t n = 0; n < ops::kMaxClientOps && in.more(); ++n) {
      ops::ClientOp op;
      ops::io_client_op(in, op);
      const std::string ctx = " (op " + std::to_string(n) + ", kind " + std::to_string(op.kind) + ")";
      const std::uint64_t clock_before = port->clock_now_ns();  // the port's limit check reads this
      const Observed got = call(*port, op);
      VMSG_FUZZ_CHECK(!port->broken(), "the genuine server broke the port: " + got.what + ctx);
      if (fuzz::port_precheck(op, false)) {
        VMSG_FUZZ_CHECK(got.kind == fuzz::PortOutcome::Kind::PortError, "port did not refuse" + ctx);
        continue;
      }
      if (op.kind == static_cast<std::uint8_t>(ops::ClientKind::AdvanceTime) && port->clock_supported() &&
          op.value > qtest::QtestPort::kMaxClockNs - std::min(clock_before, qtest::QtestPort::kMaxClockNs)) {
        // Past QEMU's signed clock as the port last saw it (raw clock_set lines
        // move the server's clock behind its back): refused, never sent.
        VMSG_FUZZ_CHECK(got.kind == fuzz::PortOutcome::Kind::PortError, "a step past QEMU's clock was sent" + ctx);
        continue;
      }
      Observed want = direct(b.machine(), local, op, chunk);
      const bool config = op.kind <= static_cast<std::uint8_t>(ops::ClientKind::ConfigWrite);
      if (config) {
        // The port leaves CF8 pointing at the last dword it used; so does the local server.
        (void)local.handle("outl 0xcf8 " + std::to_string(fuzz::last_cf8(op)));
      }
      if (got.kind == fuzz::PortOutcome::Kind::ConfigError) {
        VMSG_FUZZ_CHECK(want.kind == fuzz::PortOutcome::Kind::ConfigError, "only the port refused the Command" + ctx);
        continue;
      }
      if (want.kind == fuzz::PortOutcome::Kind::Reply && got.kind == fuzz::PortOutcome::Kind::Reply) {
        VMSG_FUZZ_CHECK(got.reply == want.reply, "replies differ" + ctx);
        continue;
      }
      VMSG_FUZZ_CHECK(got.kind == want.kind, "port " + kind_name(got.kind) + " [" + got.what + "], machine " +
                                                 kind_name(want.kind) + " [" + want.what + "]" + ctx);
      VMSG_FUZZ_CHECK(got.value == want.value, "port read " + std::to_string(got.value) + ", machine " +
                                                   std::to_string(want.value) + ctx);
      VMSG_FUZZ_CHECK(got.bytes == want.bytes, "mem_read bytes differ" + ctx);
      if (op.kind == static_cast<std::uint8_t>(ops::ClientKind::AdvanceTime)) {
        VMSG_FUZZ_CHECK(port->clock_now_ns() == b.machine().now_ns(), "port's clock differs from the machine's" + ctx);
      }
    }
    port.reset();  // closes the socket: the server thread ends
  }
  compare_machines(a, b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  fuzz::FdpReader in(fdp);
  ops::Setup setup;
  ops::io_setup(in, setup);
  switch (static_cast<ops::Mode>(setup.mode)) {
    case ops::Mode::Server:
      run_server(setup, in);
      break;
    case ops::Mode::Client:
      run_client(setup, in);
      break;
    case ops::Mode::Diff:
      run_diff(setup, in);
      break;
  }
  return 0;
}

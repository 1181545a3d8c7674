// Seeds of fuzz_qtest and fuzz_qtest_args, generated from a recorded session:
// the reference amp driver opens the device over a QtestPort whose peer is
// an in-process Server (its own thread), then pings, lists devices and uses
// the port's other calls; every port call and every (command, reply) line
// pair is recorded. From that recording:
//   session-lines-*   the command lines, as raw server lines;
//   diff-session-*    the port calls against the genuine server (diff mode);
//   client-session-*  the port calls against their recorded replies (client mode);
//   client-*          the same calls with replies cut short, garbled, refused,
//                     interleaved with IRQ lines, or never sent, and calls the
//                     port must refuse before sending;
//   server-*          hostile and formatter-made lines of every command;
// and qtest_args/gen-*: the rig's and the end-to-end tests' command lines
// and one argument vector per refusal of parse_ref_args.
// Every qtest input is decoded again and must re-encode to the same bytes.
#include "tools/corpus_qtest.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/stream_io.hpp"
#include "harness/qtest_client_model.hpp"
#include "harness/qtest_ops.hpp"
#include "harness/qtest_rig.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/driver/guest_alloc.hpp"
#include "vmsg/qtest/qtest_port.hpp"

namespace vmsg::fuzz {
namespace {

namespace fs = std::filesystem;
namespace ops = qtest_ops;

/// Writes gen-* files into the two directories it owns (cleared first).
class SeedWriter {
 public:
  explicit SeedWriter(fs::path root) : root_(std::move(root)) {
    for (const char* t : {"qtest", "qtest_args"}) {
      fs::create_directories(root_ / t);
      for (const auto& e : fs::directory_iterator(root_ / t)) {
        if (e.path().filename().string().rfind("gen-", 0) == 0) fs::remove(e.path());
      }
    }
  }
  void write(const std::string& dir, const std::string& name, const std::vector<std::uint8_t>& bytes) {
    if (!seen_.insert(dir + std::string(bytes.begin(), bytes.end())).second) return;
    std::ofstream f(root_ / dir / ("gen-" + name), std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ++count_;
  }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }

 private:
  fs::path root_;
  std::set<std::string> seen_;
  std::size_t count_ = 0;
};

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

// ---- inputs ------------------------------------------------------------------------------

/// Serialises an input and proves it decodes to the same fields.
template <class Op, class IoOp>
std::vector<std::uint8_t> encode(ops::Setup setup, std::vector<Op> list, IoOp io_op) {
  FdpWriter w;
  ops::io_setup(w, setup);
  for (Op& op : list) io_op(w, op);
  const std::vector<std::uint8_t> bytes = w.finish();
  FuzzedDataProvider fdp(bytes.data(), bytes.size());
  FdpReader r(fdp);
  FdpWriter again;
  ops::Setup s2;
  ops::io_setup(r, s2);
  ops::io_setup(again, s2);
  while (r.more()) {
    Op op;
    io_op(r, op);
    io_op(again, op);
  }
  if (again.finish() != bytes) throw std::logic_error("qtest seed does not decode to what was written");
  return bytes;
}

std::vector<std::uint8_t> server_input(bool extensions, std::vector<ops::ServerOp> list) {
  ops::Setup s;
  s.mode = static_cast<std::uint8_t>(ops::Mode::Server);
  s.extensions = extensions;
  return encode(s, std::move(list), [](auto& io, ops::ServerOp& op) { ops::io_server_op(io, op); });
}

std::vector<std::uint8_t> client_input(ops::Setup s, std::vector<ops::ClientOp> list) {
  return encode(s, std::move(list), [](auto& io, ops::ClientOp& op) { ops::io_client_op(io, op); });
}

ops::Setup client_setup(ops::Mode mode, std::string_view replies = {}) {
  ops::Setup s;
  s.mode = static_cast<std::uint8_t>(mode);
  s.window = 4;
  s.chunk = 64;
  s.peer_text = bytes_of(replies);
  return s;
}

ops::ClientOp client_op(ops::ClientKind k) {
  ops::ClientOp op;
  op.kind = static_cast<std::uint8_t>(k);
  return op;
}

void set_address(ops::ClientOp& op, std::uint64_t addr) {
  if (addr >= ops::kDriverRam && addr - ops::kDriverRam <= 0xFFFF'FFFFULL) {
    op.base = 0;
    op.addr = addr - ops::kDriverRam;
  } else if (addr >= ops::kBarWindow && addr - ops::kBarWindow <= 0xFFFF'FFFFULL) {
    op.base = 1;
    op.addr = addr - ops::kBarWindow;
  } else {
    op.base = 2;
    op.addr = addr;
  }
}

ops::ClientOp config_op(bool write, std::uint8_t device, std::uint16_t offset, std::uint8_t size, std::uint64_t value = 0) {
  ops::ClientOp op = client_op(write ? ops::ClientKind::ConfigWrite : ops::ClientKind::ConfigRead);
  op.device = device;
  op.offset = offset;
  op.size = size;
  op.value = value;
  return op;
}

ops::ClientOp mem_op(ops::ClientKind k, std::uint64_t addr, std::uint8_t size, std::uint64_t value = 0) {
  ops::ClientOp op = client_op(k);
  set_address(op, addr);
  op.size = size;
  op.value = value;
  return op;
}

ops::ClientOp text_op(ops::ClientKind k, std::string_view text) {
  ops::ClientOp op = client_op(k);
  op.data = bytes_of(text);
  return op;
}

// ---- the recorded session ---------------------------------------------------------------

/// Forwards to a QtestPort and records every call as a ClientOp.
class RecordingPort final : public port::Port {
 public:
  explicit RecordingPort(qtest::QtestPort& p) : p_(p) {}
  std::vector<ops::ClientOp> log;

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t off, unsigned size) override {
    add(config(false, fn, off, size, 0));
    return p_.config_read(fn, off, size);
  }
  void config_write(port::PciAddress fn, std::uint16_t off, unsigned size, std::uint32_t v) override {
    add(config(true, fn, off, size, v));
    p_.config_write(fn, off, size, v);
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    add(mem_op(ops::ClientKind::MmioRead, addr, static_cast<std::uint8_t>(size)));
    return p_.mmio_read(addr, size);
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t v) override {
    add(mem_op(ops::ClientKind::MmioWrite, addr, static_cast<std::uint8_t>(size), v));
    p_.mmio_write(addr, size, v);
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    // Pieces within the format's length bound, each a call of its own.
    for (std::size_t at = 0; at < out.size(); at += ops::kMaxPayload) {
      const std::size_t n = std::min(ops::kMaxPayload, out.size() - at);
      ops::ClientOp op = mem_op(ops::ClientKind::MemRead, addr + at, 0);
      op.len = static_cast<std::uint16_t>(n);
      add(op);
      p_.mem_read(addr + at, out.subspan(at, n));
    }
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    for (std::size_t at = 0; at < data.size(); at += ops::kMaxPayload) {
      const std::size_t n = std::min(ops::kMaxPayload, data.size() - at);
      ops::ClientOp op = mem_op(ops::ClientKind::MemWrite, addr + at, 0);
      op.data.assign(data.begin() + static_cast<std::ptrdiff_t>(at), data.begin() + static_cast<std::ptrdiff_t>(at + n));
      add(op);
      p_.mem_write(addr + at, data.subspan(at, n));
    }
  }
  void advance_time(std::uint64_t ns) override {
    ops::ClientOp op = client_op(ops::ClientKind::AdvanceTime);
    op.value = ns;
    add(op);
    p_.advance_time(ns);
  }
  [[nodiscard]] port::AddressMap address_map() const override { return p_.address_map(); }

  /// The calls beyond port::Port, recorded the same way.
  std::uint32_t port_in(std::uint16_t port, unsigned size) {
    ops::ClientOp op = client_op(ops::ClientKind::PortIn);
    op.offset = port;
    op.size = static_cast<std::uint8_t>(size);
    add(op);
    return p_.port_in(port, size);
  }
  void port_out(std::uint16_t port, unsigned size, std::uint32_t v) {
    ops::ClientOp op = client_op(ops::ClientKind::PortOut);
    op.offset = port;
    op.size = static_cast<std::uint8_t>(size);
    op.value = v;
    add(op);
    p_.port_out(port, size, v);
  }
  qtest::Reply extension(std::string_view line) {
    add(text_op(ops::ClientKind::Extension, line));
    return p_.extension(line);
  }
  qtest::Reply command(const ops::ServerOp& fields) {
    ops::ClientOp op = client_op(ops::ClientKind::Command);
    op.command = fields;
    add(op);
    return p_.command(formatted_command(fields));
  }

 private:
  static ops::ClientOp config(bool write, port::PciAddress fn, std::uint16_t off, unsigned size, std::uint32_t v) {
    ops::ClientOp op = config_op(write, fn.device, off, static_cast<std::uint8_t>(size), v);
    op.bus = fn.bus;
    op.function = fn.function;
    return op;
  }
  void add(ops::ClientOp op) { log.push_back(std::move(op)); }
  qtest::QtestPort& p_;
};

ops::ServerOp formatted(qtest::Op op, ops::Number a = {}, ops::Number b = {}, ops::Number c = {},
                        std::string_view text = {}, bool flag = false) {
  ops::ServerOp s;
  s.kind = static_cast<std::uint8_t>(ops::ServerKind::Formatted);
  s.op = static_cast<std::uint8_t>(op);
  s.nums = {a, b, c};
  s.text = bytes_of(text);
  s.flag = flag;
  return s;
}

ops::Number ram(std::uint64_t off, std::uint8_t style = 0) { return {1, off, style}; }
ops::Number boundary(std::size_t i, std::uint8_t style = 0) { return {0, i, style}; }
ops::Number literal(std::uint64_t v, std::uint8_t style = 0) { return {2, v, style}; }

/// One call and the reply lines it consumed.
struct Step {
  ops::ClientOp op;
  std::vector<std::string> replies;
};

struct Recording {
  std::vector<Step> steps;
  std::vector<std::string> commands;  ///< command lines as the server got them
};

Recording record_session() {
  QtestRig rig;
  const auto [mine, peer] = socket_pair();
  ServerThread server(rig.machine(), &rig.extensions(), peer, true);
  std::vector<ops::ClientOp> calls;
  {
    qtest::QtestPortOptions o;
    o.ram_bytes = ops::kRamBytes;
    o.window = 4;
    o.chunk_bytes = 64;
    qtest::QtestPort port(mine, o);
    RecordingPort rec(port);
    driver::GuestAllocator ram_alloc(port.address_map());
    driver::BarWindowAllocator window(port.address_map());
    driver::AmpDriver amp = driver::AmpDriver::open(rec, ram_alloc, window);
    driver::FifoLink& link = amp.fifo(0);
    if (!link.request(wire::Message{0, 7, 0, wire::PingReq{0xDEADBEEF}}).ok()) throw std::runtime_error("ping failed");
    if (!link.request(wire::Message{0, 8, 0, wire::GetDevicesReq{0, 32}}).ok()) throw std::runtime_error("get devices failed");
    if (!link.request(wire::Message{31, 9, 0, wire::GetDeviceInfoReq{}}).ok()) throw std::runtime_error("device info failed");
    // A driver-rule violation for vmsg_violations to report: a queue request
    // before GET_DEVICE_INFO (VMSG-DRV-016).
    if (!link.send(wire::Message{0, 10, 0, wire::GetVqueueReq{0}}).ok()) throw std::runtime_error("send failed");
    rec.advance_time(1000);
    // The port's other calls, as a test would make them.
    std::vector<std::uint8_t> data(300);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
    const std::uint64_t at = ram_alloc.alloc(data.size());
    rec.mem_write(at, data);
    rec.mem_read(at, data);
    (void)rec.mmio_read(at, 8);
    rec.advance_time(5000);
    (void)rec.port_in(0xCF8, 4);
    rec.port_out(0x80, 1, 0x12);
    (void)rec.port_in(0x60, 1);
    (void)rec.extension("vmsg_stimulus");
    (void)rec.extension("vmsg_stimulus config-change dev=31");
    (void)rec.extension("vmsg_violations");
    (void)rec.command(formatted(qtest::Op::Endianness));
    (void)rec.command(formatted(qtest::Op::ClockStep));
    (void)rec.command(formatted(qtest::Op::Memset, ram(0x800), boundary(0), literal(4)));
    (void)rec.command(formatted(qtest::Op::Write, ram(0x900), {}, {}, "abc"));
    (void)rec.command(formatted(qtest::Op::Read, ram(0x900), {}, literal(3)));
    (void)rec.command(formatted(qtest::Op::IrqInterceptIn, {}, {}, {}, "/machine/q35"));
    (void)rec.command(formatted(qtest::Op::IrqInterceptOut, {}, {}, {}, "/machine/q35"));
    calls = std::move(rec.log);
  }
  Recording r;
  std::string text;
  for (auto& [cmd, reply] : server.finish()) {
    r.commands.push_back(cmd);
    text += reply;
  }
  // Which reply lines each call consumed: the model, fed the whole reply text, knows.
  ScriptedPortModel model(text, false, 4, 64);
  std::vector<std::string> lines;
  for (std::size_t nl = text.find('\n'), at = 0; nl != std::string::npos; at = nl + 1, nl = text.find('\n', at)) {
    lines.push_back(text.substr(at, nl + 1 - at));
  }
  std::size_t used = 0;
  for (ops::ClientOp& op : calls) {
    const std::size_t before = model.lines_left();
    if (model.apply(op).kind == PortOutcome::Kind::PortError) throw std::logic_error("recorded call fails in the model");
    const std::size_t n = before - model.lines_left();
    r.steps.push_back({op, std::vector<std::string>(lines.begin() + static_cast<std::ptrdiff_t>(used),
                                                    lines.begin() + static_cast<std::ptrdiff_t>(used + n))});
    used += n;
  }
  return r;
}

std::string joined(const std::vector<Step>& steps) {
  std::string s;
  for (const Step& st : steps) {
    for (const std::string& l : st.replies) s += l;
  }
  return s;
}

std::vector<ops::ClientOp> calls_of(const std::vector<Step>& steps) {
  std::vector<ops::ClientOp> v;
  for (const Step& st : steps) v.push_back(st.op);
  return v;
}

// ---- seeds ---------------------------------------------------------------------------------

void session_seeds(SeedWriter& out, const Recording& rec) {
  // Raw command lines, 64 per input.
  for (std::size_t at = 0, part = 0; at < rec.commands.size(); at += ops::kMaxServerOps, ++part) {
    std::vector<ops::ServerOp> list;
    for (std::size_t i = at; i < std::min(rec.commands.size(), at + ops::kMaxServerOps); ++i) {
      ops::ServerOp op;
      op.kind = static_cast<std::uint8_t>(ops::ServerKind::Raw);
      op.text = bytes_of(rec.commands[i]);
      list.push_back(std::move(op));
    }
    out.write("qtest", "session-lines-" + std::to_string(part), server_input(true, list));
    if (part >= 3) break;
  }
  // The calls in slices: against the genuine server, and against their own replies.
  constexpr std::size_t kSlice = ops::kMaxClientOps;
  for (std::size_t at = 0, part = 0; at < rec.steps.size(); at += kSlice, ++part) {
    const std::vector<Step> slice(rec.steps.begin() + static_cast<std::ptrdiff_t>(at),
                                  rec.steps.begin() + static_cast<std::ptrdiff_t>(std::min(rec.steps.size(), at + kSlice)));
    out.write("qtest", "diff-session-" + std::to_string(part), client_input(client_setup(ops::Mode::Diff), calls_of(slice)));
    out.write("qtest", "client-session-" + std::to_string(part),
              client_input(client_setup(ops::Mode::Client, joined(slice)), calls_of(slice)));
  }
}

/// Variations of a short recorded stretch: each breaks the peer differently.
void client_error_seeds(SeedWriter& out, const Recording& rec) {
  // The tail of the session: bulk memory, time, ports, extensions, commands.
  const std::size_t from = rec.steps.size() > 20 ? rec.steps.size() - 20 : 0;
  const std::vector<Step> tail(rec.steps.begin() + static_cast<std::ptrdiff_t>(from), rec.steps.end());
  const std::vector<Step> head(rec.steps.begin(), rec.steps.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(12, rec.steps.size())));
  auto with = [&](const std::vector<Step>& base, const std::string& name, auto edit, ops::PeerEnd end = ops::PeerEnd::Eof) {
    std::vector<Step> steps = base;
    edit(steps);
    ops::Setup s = client_setup(ops::Mode::Client, joined(steps));
    s.peer = static_cast<std::uint8_t>(end);
    out.write("qtest", "client-" + name, client_input(s, calls_of(base)));
  };
  for (const auto* base : {&head, &tail}) {
    const std::string tag = base == &head ? "head-" : "tail-";
    const std::size_t mid = base->size() / 2;
    with(*base, tag + "cut", [&](std::vector<Step>& s) { s.back().replies.clear(); });
    with(*base, tag + "silent", [&](std::vector<Step>& s) { s.back().replies.clear(); }, ops::PeerEnd::Silent);
    with(*base, tag + "endless", [&](std::vector<Step>& s) { s.back().replies.clear(); }, ops::PeerEnd::Endless);
    with(*base, tag + "gone", [&](std::vector<Step>&) {}, ops::PeerEnd::Gone);
    with(*base, tag + "partial", [&](std::vector<Step>& s) {
      std::string& l = s[mid].replies.back();
      l.pop_back();
      s.resize(mid + 1);
    });
    with(*base, tag + "garbled", [&](std::vector<Step>& s) { s[mid].replies.back() = "garbage here\n"; });
    with(*base, tag + "err", [&](std::vector<Step>& s) { s[mid].replies.back() = "ERR something broke\n"; });
    with(*base, tag + "fail", [&](std::vector<Step>& s) { s[mid].replies.front() = "FAIL no\n"; });
    with(*base, tag + "irq", [&](std::vector<Step>& s) {
      for (std::size_t i = 0; i < s.size(); i += 3) s[i].replies.insert(s[i].replies.begin(), i % 2 ? "IRQ lower 4\n" : "IRQ raise 3\r\n");
    });
    with(*base, tag + "bad-irq", [&](std::vector<Step>& s) { s[mid].replies.insert(s[mid].replies.begin(), "IRQ up 3\n"); });
    with(*base, tag + "empty-line", [&](std::vector<Step>& s) { s[mid].replies.back() = "\n"; });
    with(*base, tag + "wide", [&](std::vector<Step>& s) {
      for (Step& st : s) {
        for (std::string& l : st.replies) {
          if (l.rfind("OK 0x", 0) == 0) l = "OK 0x1ffffffffffffffff\n";
        }
      }
    });
  }
  // Replies of the wrong shape for their command.
  const std::string b64_bad = "OK ***=\nOK QUJD\nOK\n";
  std::vector<ops::ClientOp> reads;
  ops::ClientOp rd = mem_op(ops::ClientKind::MemRead, ops::kDriverRam, 0);
  rd.len = 3;
  reads = {rd, rd, rd};
  ops::ClientOp in = client_op(ops::ClientKind::PortIn);
  in.offset = 0xCFC;
  in.size = 1;
  reads.push_back(in);
  out.write("qtest", "client-bad-payloads",
            client_input(client_setup(ops::Mode::Client, b64_bad + "OK 0x0100\nOK 0x12\n"), reads));
  out.write("qtest", "client-short-payload", client_input(client_setup(ops::Mode::Client, "OK QQ==\n"), {rd}));
  out.write("qtest", "client-two-words", client_input(client_setup(ops::Mode::Client, "OK 1 2\nOK\n"),
                                                     {mem_op(ops::ClientKind::MmioRead, ops::kBarWindow, 4)}));
  // Time: unsupported (then a no-op), refused, not a number.
  ops::ClientOp t = client_op(ops::ClientKind::AdvanceTime);
  t.value = 1000;
  out.write("qtest", "client-clock-unknown",
            client_input(client_setup(ops::Mode::Client, "FAIL Unknown command 'clock_step'\n"), {t, t}));
  out.write("qtest", "client-clock-refused", client_input(client_setup(ops::Mode::Client, "ERR no\nOK soon\nOK 77\n"), {t, t, t}));
  // arm virt: configuration space through ECAM reads and writes.
  ops::Setup virt = client_setup(ops::Mode::Client, "OK 0x10ee\nOK\nOK 0x0034\nOK 0x0012\nOK\nOK\n");
  virt.virt = true;
  out.write("qtest", "client-virt-ecam",
            client_input(virt, {config_op(false, 4, 0, 2), config_op(true, 4, 4, 2, 6), config_op(false, 4, 0x101, 2),
                                config_op(true, 4, 0x203, 2, 0xABCD)}));
  // Calls refused before anything is sent, then one that works.
  std::vector<ops::ClientOp> refused = {config_op(false, 4, 0, 3), config_op(false, 4, 0xFE, 4), config_op(true, 40, 0, 4),
                                        mem_op(ops::ClientKind::MmioRead, 0, 5), text_op(ops::ClientKind::Extension, "stimulus"),
                                        text_op(ops::ClientKind::Extension, "vmsg_x\ry")};
  ops::ClientOp in3 = client_op(ops::ClientKind::PortIn);
  in3.size = 3;
  refused.push_back(in3);
  ops::ClientOp bad_cmd = client_op(ops::ClientKind::Command);
  bad_cmd.command = formatted(qtest::Op::Read, ram(0), {}, boundary(0));  // zero length
  refused.push_back(bad_cmd);
  refused.push_back(config_op(false, 4, 2, 2));
  out.write("qtest", "client-refused", client_input(client_setup(ops::Mode::Client, "OK\nOK 0x1234\n"), refused));
  // Options the port refuses.
  ops::Setup no_window = client_setup(ops::Mode::Client);
  no_window.window = 0;
  out.write("qtest", "client-window-0", client_input(no_window, {}));
  ops::Setup no_chunk = client_setup(ops::Mode::Diff);
  no_chunk.chunk = 0;
  out.write("qtest", "diff-chunk-0", client_input(no_chunk, {}));
  // Diff: the same hostile-ish calls against the genuine server.
  std::vector<ops::ClientOp> mix = refused;
  mix.push_back(mem_op(ops::ClientKind::MmioWrite, ops::kDriverRam + 8, 8, 0x1122334455667788ULL));
  mix.push_back(mem_op(ops::ClientKind::MmioRead, ops::kDriverRam + 9, 2));
  mix.push_back(mem_op(ops::ClientKind::MmioRead, 0xFFFF'FFFF'FFFF'FFF8ULL, 8));
  mix.push_back(t);
  ops::ClientOp ext = text_op(ops::ClientKind::Extension, "vmsg_stimulus config-change dev=7");
  mix.push_back(ext);
  ops::ClientOp cmd = client_op(ops::ClientKind::Command);
  cmd.command = formatted(qtest::Op::B64Read, ram(0), {}, literal(16));
  mix.push_back(cmd);
  out.write("qtest", "diff-mixed", client_input(client_setup(ops::Mode::Diff), mix));
}

/// Every command made by the formatter, then hostile spellings of each.
void server_seeds(SeedWriter& out) {
  std::vector<ops::ServerOp> fmt;
  for (std::uint8_t op = 0; op < ops::kOpCount; ++op) {
    fmt.push_back(formatted(static_cast<qtest::Op>(op), ram(0x40 + op * 8U), boundary(2), literal(16), "payload", true));
  }
  fmt.push_back(formatted(qtest::Op::ClockStep));
  fmt.push_back(formatted(qtest::Op::ClockSet, {}, literal(10)));  // earlier than now: unchanged
  fmt.push_back(formatted(qtest::Op::Read, ram(0), {}, boundary(9)));      // 2^64-1: refused by the formatter
  fmt.push_back(formatted(qtest::Op::Memset, ram(0), literal(1), boundary(11)));  // 1 MiB + 1: refused
  fmt.push_back(formatted(qtest::Op::InB, literal(0x10000)));
  fmt.push_back(formatted(qtest::Op::WriteB, ram(0), literal(0x100)));
  fmt.push_back(formatted(qtest::Op::ReadL, literal(ops::kBarWindow)));
  out.write("qtest", "server-formatted", server_input(true, fmt));
  // At the line limit, one per input: they are slow, and a seed's cost is what its mutations cost.
  out.write("qtest", "server-limit-memset", server_input(true, {formatted(qtest::Op::Memset, ram(0), literal(0xAB), boundary(10))}));
  out.write("qtest", "server-limit-b64read", server_input(true, {formatted(qtest::Op::B64Read, ram(0), {}, literal(0xBFFFD))}));

  std::vector<ops::ServerOp> hostile;
  auto h = [&](qtest::Op op, std::uint8_t words, std::array<ops::Number, 3> nums, std::uint8_t payload = 0,
               std::uint8_t spacing = 0, std::uint8_t mangle = 0, std::string_view text = "ab") {
    ops::ServerOp s;
    s.kind = static_cast<std::uint8_t>(ops::ServerKind::Hostile);
    s.op = static_cast<std::uint8_t>(op);
    s.words = words;
    s.nums = nums;
    s.payload = payload;
    s.spacing = spacing;
    s.name_mangle = mangle;
    s.text = bytes_of(text);
    hostile.push_back(s);
  };
  for (std::uint8_t style = 0; style < ops::kNumStyleCount; ++style) {
    h(qtest::Op::ReadL, 1, {boundary(17, style)});
    h(qtest::Op::WriteW, 2, {ram(4, style), literal(0x1234, style)});
  }
  for (std::uint8_t p = 0; p < 6; ++p) {
    h(qtest::Op::Write, 3, {ram(0x100), literal(4), {}}, p, 0, 0, "abcd");
    h(qtest::Op::B64Write, 3, {ram(0x100), literal(3), {}}, p, 1, 0, "xyz");
  }
  for (std::uint8_t words = 0; words <= 5; ++words) h(qtest::Op::Memset, words, {ram(0), literal(8), literal(0x1FF)}, 0, 2);
  for (std::uint8_t m = 0; m < 4; ++m) h(qtest::Op::OutL, 2, {literal(0xCF8), literal(0x80002000)}, 0, 3, m);
  h(qtest::Op::Read, 2, {ram(0), boundary(11)});   // one past the line limit
  h(qtest::Op::B64Read, 2, {ram(0), boundary(9)});
  h(qtest::Op::Write, 3, {ram(0), literal(8), {}}, 0, 0, 0, "ab");  // short hex: zero-filled
  h(qtest::Op::OutB, 2, {literal(0x10000), literal(1)});
  h(qtest::Op::ClockStep, 1, {boundary(9)});
  h(qtest::Op::ClockStep, 1, {boundary(9)});
  h(qtest::Op::ClockSet, 1, {boundary(8)});
  h(qtest::Op::IrqInterceptIn, 1, {}, 0, 0, 0, "/machine");
  h(qtest::Op::IrqInterceptOut, 1, {}, 0, 0, 0, "/machine");
  h(qtest::Op::Endianness, 1, {boundary(0)});
  out.write("qtest", "server-hostile", server_input(false, hostile));
  hostile.clear();
  h(qtest::Op::Read, 2, {ram(0), boundary(10)});  // exactly the limit: the 2 MiB reply is refused
  out.write("qtest", "server-limit-read", server_input(false, hostile));

  std::vector<ops::ServerOp> ext;
  for (const char* args : {"", "config-change dev=31", "config-change fifo=0 dev=0", "config-change", "config-change dev=9",
                           "config-change fifo=x dev=1", "config-change bogus=1", "shake dev=31", "x"}) {
    for (std::uint8_t verb = 0; verb < 3; ++verb) {
      ops::ServerOp s;
      s.kind = static_cast<std::uint8_t>(ops::ServerKind::Extension);
      s.op = verb;
      s.text = bytes_of(args);
      ext.push_back(s);
    }
  }
  ops::ServerOp raw;
  raw.kind = static_cast<std::uint8_t>(ops::ServerKind::Raw);
  for (const char* line : {"", "   ", "vmsg_stimulus   \r", "readb", "readb 1 2", "IRQ raise 1", "OK", "inl 0xcfc\r"}) {
    raw.text = bytes_of(line);
    ext.push_back(raw);
  }
  out.write("qtest", "server-extensions", server_input(true, ext));
  out.write("qtest", "server-no-extensions", server_input(false, ext));
}

void args_seeds(SeedWriter& out) {
  auto write = [&](const std::string& name, const std::vector<std::string>& args) {
    std::string s;
    for (std::size_t i = 0; i < args.size(); ++i) s += (i ? "\n" : "") + args[i];
    out.write("qtest_args", name, bytes_of(s));
  };
  write("rig", qtest_rig_args());
  const std::string bus = "bus=/q35-pcihost/pcie.0/amp0/fifo";
  write("e2e-open", {"-M", "q35", "-qtest", "unix:/tmp/s,server=on", "-display", "none", "-nodefaults", "-S", "-accel",
                     "qtest", "-device", "virtio-msg-amp-pci,id=amp0,addr=04.0", "-object", "rng-builtin,id=r0", "-device",
                     "virtio-rng-device,rng=r0," + bus + "0/virtio-msg/bus0/virtio-msg-dev", "-device",
                     "virtio-blk-device,capacity=1M," + bus + "0/virtio-msg/bus5/virtio-msg-dev/bus", "-device",
                     "virtio-balloon-device,target=4"});
  write("e2e-two-fifos", {"-qtest", "unix:/s", "-machine", "type=pc-q35-7.2,accel=qtest", "-device",
                          "virtio-msg-amp-pci,id=amp0,num-fifos=2", "-device", "virtio-rng-device," + bus + "1/virtio-msg/bus0",
                          "-device", "virtio-rng-device,id=x,seed=0x10," + bus + "0/virtio-msg/bus3", "-m", "size=256M",
                          "--fault", "max-message-48", "-nographic", "-no-shutdown", "-no-reboot", "-qtest-log", "/dev/null"});
  write("help", {"-device", "help", "-accel", "help", "--nodefaults"});
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"-qtest"},
      {"-qtest", "tcp:1"},
      {"-qtest", "unix:"},
      {"-qtest", "unix:/s", "-bogus"},
      {"-qtest", "unix:/s", "-m", "0"},
      {"-qtest", "unix:/s", "-m", "2000G"},
      {"-qtest", "unix:/s", "-m", "12x"},
      {"-qtest", "unix:/s", "-m", "64k"},
      {"-qtest", "unix:/s", "-M", "virt"},
      {"-qtest", "unix:/s", "-M", "help"},
      {"-qtest", "unix:/s", "-machine", "q35,kernel-irqchip=off"},
      {"-qtest", "unix:/s", "-object", "rng-egd,id=e"},
      {"-qtest", "unix:/s", "-object", "rng-random"},
      {"-qtest", "unix:/s", "-device", "virtio-rng-device"},
      {"-qtest", "unix:/s", "-device", "virtio-net-device"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device", "virtio-msg-amp-pci"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,color=red"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,addr=20.0"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,addr=zz"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,num-fifos=3"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=a", "-device", "virtio-rng-device,bus=/b/fifo0/virtio-msg/bus0"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=a", "-device", "virtio-rng-device,bus=/a/fifo0/bus0"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=a", "-device", "virtio-rng-device,bus=/a/fifo0/virtio-msg/x"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=a", "-device", "virtio-rng-device,bus=/a/fifo0/virtio-msg/bus0/y"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=a", "-device", "virtio-rng-device,bus=/a/fifo1/virtio-msg/bus0"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=a", "-device", "virtio-rng-device,bus=/a/fifo0/virtio-msg/bus32"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=a", "-device", "virtio-rng-device,bus=/nowhere"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device", "virtio-rng-device,bus=fifo0/virtio-msg/bus4",
       "-device", "virtio-blk-device,bus=fifo0/virtio-msg/bus4"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device", "virtio-rng-device,rng=none"},
      {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-object", "rng-builtin,id=r", "-device", "virtio-blk-device,rng=r"},
      {"-qtest", "unix:/s", "--fault", "no-such-fault"},
      {"-qtest", "unix:/s", "-device"},
  };
  for (std::size_t i = 0; i < bad.size(); ++i) write("refused-" + std::to_string(i), bad[i]);
  std::vector<std::string> full = {"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci"};
  for (int i = 0; i < 33; ++i) full.insert(full.end(), {"-device", "virtio-rng-device"});
  write("refused-no-free-slot", full);
}

}  // namespace

std::size_t write_qtest_corpus(const fs::path& root) {
  SeedWriter out(root);
  const Recording rec = record_session();
  session_seeds(out, rec);
  client_error_seeds(out, rec);
  server_seeds(out);
  args_seeds(out);
  return out.count();
}

}  // namespace vmsg::fuzz

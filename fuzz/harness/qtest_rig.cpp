#include "harness/qtest_rig.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <stdexcept>

#include "vmsg/qtest/line_channel.hpp"
#include "vmsg/qtest/ref_args.hpp"

namespace vmsg::fuzz {

namespace ops = qtest_ops;

std::vector<std::string> qtest_rig_args() {
  return {"-qtest", "unix:/unused", "-m", "2M", "-device", "virtio-msg-amp-pci,id=amp0,addr=04.0",
          "-device", "virtio-rng-device,bus=/amp0/fifo0/virtio-msg/bus0",
          "-device", "virtio-blk-device,capacity=16,bus=/amp0/fifo0/virtio-msg/bus5",
          "-device", "virtio-balloon-device"};
}

QtestRig::QtestRig()
    : target_(std::make_unique<target::ReferenceTarget>(
          ext_.instrument(qtest::make_spec(qtest::parse_ref_args(qtest_rig_args()))))) {}

std::string one_line(const std::vector<std::uint8_t>& bytes) {
  std::string s(bytes.begin(), bytes.end());
  const std::size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

qtest::Command formatted_command(const ops::ServerOp& op) {
  qtest::Command c;
  c.op = static_cast<qtest::Op>(op.op % ops::kOpCount);
  c.addr = ops::value_of(op.nums[0]);
  c.value = ops::value_of(op.nums[1]);
  c.len = ops::value_of(op.nums[2]);
  switch (c.op) {
    case qtest::Op::Write:
    case qtest::Op::B64Write:
      // The payload decides the length, so most of these are formattable.
      c.data = op.text;
      c.len = c.data.size();
      break;
    case qtest::Op::ClockStep:
      c.has_value = op.flag;
      if (!c.has_value) c.value = 0;
      break;
    case qtest::Op::IrqInterceptIn:
    case qtest::Op::IrqInterceptOut:
      c.path = one_line(op.text);
      break;
    default:
      break;
  }
  // Fields the op does not use stay at their defaults, as parse_command leaves them.
  const auto op_is = [&](std::initializer_list<qtest::Op> l) { return std::find(l.begin(), l.end(), c.op) != l.end(); };
  using O = qtest::Op;
  const bool uses_len = op_is({O::Read, O::B64Read, O::Write, O::B64Write, O::Memset});
  const bool uses_value = uses_len ? c.op == O::Memset
                                   : op_is({O::WriteB, O::WriteW, O::WriteL, O::WriteQ, O::OutB, O::OutW, O::OutL,
                                            O::ClockSet}) || c.has_value;
  const bool uses_addr = qtest::op_width(c.op) != 0 || uses_len;
  if (!uses_value) c.value = 0;
  if (!uses_len) c.len = 0;
  if (!uses_addr) c.addr = 0;
  if (c.op == O::ClockSet) c.has_value = true;  // the parser marks the NS it read
  return c;
}

namespace {

std::string printf_u64(const char* fmt, std::uint64_t v) {
  std::array<char, 64> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), fmt, static_cast<unsigned long long>(v));
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

/// `v` written the way a hostile (or sloppy) client might.
std::string styled(const ops::Number& n) {
  const std::uint64_t v = ops::value_of(n);
  switch (static_cast<ops::NumStyle>(n.style % ops::kNumStyleCount)) {
    case ops::NumStyle::Hex: return printf_u64("0x%llx", v);
    case ops::NumStyle::HexUpper: return printf_u64("0X%llX", v);
    case ops::NumStyle::Decimal: return std::to_string(v);
    case ops::NumStyle::LeadingZeros: return "000" + std::to_string(v);
    case ops::NumStyle::Negative: return "-" + std::to_string(v);
    case ops::NumStyle::Plus: return "+" + std::to_string(v);
    case ops::NumStyle::EmptyHex: return "0x";
    case ops::NumStyle::TimesTen: return std::to_string(v) + "0";
    case ops::NumStyle::TwoToThe64: return "18446744073709551616";
    case ops::NumStyle::Hex17: return printf_u64("0x1%016llx", v);
    case ops::NumStyle::Octal: return printf_u64("0%llo", v);
    case ops::NumStyle::Binary: return "0b" + std::to_string(v & 1U);
    case ops::NumStyle::TrailingJunk: return std::to_string(v) + "z";
    case ops::NumStyle::Empty: return "";
  }
  return "";
}

std::string payload_word(const ops::ServerOp& op) {
  const std::span<const std::uint8_t> d(op.text);
  switch (op.payload) {
    case 0: return qtest::hex_encode(d);
    case 1: return qtest::base64_encode(d);
    case 2: {
      std::string s = qtest::hex_encode(d);
      return s.size() > 2 ? s.substr(0, s.size() - 1) : s + "0";
    }
    case 3: {
      std::string s = qtest::hex_encode(d);
      s[s.size() / 2 + 1] = 'g';
      return s;
    }
    case 4: {
      std::string s = qtest::base64_encode(d);
      if (s.empty()) return "=";
      s[s.size() / 2] = s.size() % 3 == 0 ? '*' : '=';
      return s;
    }
    default:
      return qtest::hex_encode(d).substr(2);
  }
}

}  // namespace

std::string hostile_line(const ops::ServerOp& op) {
  const auto qop = static_cast<qtest::Op>(op.op % ops::kOpCount);
  std::string name(qtest::op_name(qop));
  if (op.name_mangle == 1) {
    for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  } else if (op.name_mangle == 2) {
    name += "x";
  } else if (op.name_mangle == 3) {
    name = "q" + name;
  }
  static constexpr std::array<std::string_view, 4> kSep{" ", "\t", "  \t ", " "};
  const std::string_view sep = kSep[op.spacing % kSep.size()];
  std::string line = op.spacing == 3 ? "  " + name : name;
  const bool bulk_write = qop == qtest::Op::Write || qop == qtest::Op::B64Write;
  const bool path = qop == qtest::Op::IrqInterceptIn || qop == qtest::Op::IrqInterceptOut;
  for (unsigned i = 0; i < op.words; ++i) {
    std::string word;
    if ((bulk_write && i == 2) || i >= 3) {
      word = payload_word(op);
    } else if (path && i == 0) {
      word = one_line(op.text);
    } else {
      word = styled(op.nums[i]);
    }
    line += sep;
    line += word;
  }
  if (op.spacing == 3) line += " \r\n";
  return line;
}

std::string extension_line(const ops::ServerOp& op) {
  static constexpr std::array<std::string_view, 3> kVerbs{"vmsg_stimulus", "vmsg_violations", "vmsg_frobnicate"};
  std::string line(kVerbs[op.op % kVerbs.size()]);
  const std::string args = one_line(op.text);
  if (!args.empty()) line += " " + args;
  return line;
}

// ---- the genuine peer ----------------------------------------------------------------

ServerThread::ServerThread(machine::Machine& machine, qtest::ServerExtensions* ext, int fd, bool record)
    : server_(machine, ext), chan_(-1), record_(record) {
  chan_ = qtest::LineChannel(fd);
  thread_ = std::thread([this] { run(); });
}

ServerThread::~ServerThread() {
  if (thread_.joinable()) thread_.join();
}

void ServerThread::run() {
  // The thread owns the socket from here on; it is closed when the thread ends.
  qtest::LineChannel chan(std::move(chan_));
  for (;;) {
    // The client always closes its end when done, which ends the wait.
    auto line = chan.read_line(std::chrono::hours(1));
    if (!line) return;
    std::string reply = server_.handle(*line);
    if (record_) log_.emplace_back(*line, reply);
    if (!chan.write_all(reply)) return;
  }
}

std::vector<std::pair<std::string, std::string>> ServerThread::finish() {
  if (thread_.joinable()) thread_.join();
  return std::move(log_);
}

qtest::ServerStats ServerThread::stats() {
  if (thread_.joinable()) thread_.join();
  return server_.stats();
}

std::pair<int, int> socket_pair() {
  std::array<int, 2> sv{};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv.data()) != 0) throw std::runtime_error("socketpair failed");
  return {sv[0], sv[1]};
}

}  // namespace vmsg::fuzz

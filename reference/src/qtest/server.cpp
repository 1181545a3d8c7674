#include "vmsg/qtest/server.hpp"

#include <cstdint>
#include <vector>

#include "vmsg/common/errors.hpp"
#include "vmsg/qtest/protocol.hpp"

namespace vmsg::qtest {
namespace {
constexpr std::uint64_t kConfigAddress = 0xCF8;
constexpr std::uint64_t kConfigData = 0xCFC;
constexpr std::uint32_t kConfigEnable = 0x8000'0000;
}  // namespace

std::string Server::handle(std::string_view line) {
  ++stats_.commands;
  std::string reply;
  try {
    reply = dispatch(line);
  } catch (const std::exception& e) {
    // The machine refuses some accesses with an exception (e.g. PortError on a
    // bad width); the client gets a typed answer, the server keeps running.
    reply = format_err(e.what());
  }
  if (reply.size() > kMaxLineBytes) {
    // No client could read the line (protocol.hpp's limit, LineChannel's too):
    // a huge read becomes an error, and echoed input in a FAIL/ERR text is cut.
    reply = reply.rfind("OK", 0) == 0
                ? format_err("bad length: the reply would exceed " + std::to_string(kMaxLineBytes) + " bytes")
                : reply.substr(0, 200) + "...\n";
  }
  if (reply.rfind("OK", 0) != 0) ++stats_.failed;
  return reply;
}

std::uint32_t Server::port_read(std::uint64_t port, unsigned size) {
  const std::uint32_t ones = size == 4 ? 0xFFFF'FFFFU : (1U << (8 * size)) - 1U;
  if (!machine_->layout().port_io) return ones;
  if (port == kConfigAddress && size == 4) return cf8_;
  if (port >= kConfigData && port + size <= kConfigData + 4) {
    if ((cf8_ & kConfigEnable) == 0 || ((cf8_ >> 16) & 0xFF) != 0) return ones;
    const port::PciAddress fn{0, static_cast<std::uint8_t>((cf8_ >> 11) & 0x1F), static_cast<std::uint8_t>((cf8_ >> 8) & 7)};
    const auto reg = static_cast<std::uint16_t>((cf8_ & 0xFC) + (port - kConfigData));
    return machine_->config_read(fn, reg, size);
  }
  return ones;
}

void Server::port_write(std::uint64_t port, unsigned size, std::uint32_t value) {
  if (!machine_->layout().port_io) return;
  if (port == kConfigAddress && size == 4) {
    cf8_ = value;
    return;
  }
  if (port >= kConfigData && port + size <= kConfigData + 4) {
    if ((cf8_ & kConfigEnable) == 0 || ((cf8_ >> 16) & 0xFF) != 0) return;
    const port::PciAddress fn{0, static_cast<std::uint8_t>((cf8_ >> 11) & 0x1F), static_cast<std::uint8_t>((cf8_ >> 8) & 7)};
    const auto reg = static_cast<std::uint16_t>((cf8_ & 0xFC) + (port - kConfigData));
    machine_->config_write(fn, reg, size, value);
  }
}

std::string Server::extension(std::string_view name, std::string_view args) {
  if (name == "vmsg_stimulus") {
    if (args.empty()) {
      std::string verbs;
      for (const std::string& v : ext_->stimulus_verbs()) verbs += (verbs.empty() ? "" : " ") + v;
      return verbs.empty() ? format_ok() : format_ok_word(verbs);
    }
    return ext_->stimulus(args) ? format_ok() : format_fail("unsupported stimulus '" + std::string(args) + "'");
  }
  if (name == "vmsg_violations" && args.empty()) {
    std::string text;
    for (const std::string& l : ext_->take_violations()) text += l + "\n";
    if (text.empty()) return format_ok();
    return format_ok_word(base64_encode(std::vector<std::uint8_t>(text.begin(), text.end())));
  }
  if (name == "vmsg_violations") return format_err("vmsg_violations takes no arguments");
  return format_fail("Unknown command '" + std::string(name) + "'");
}

std::string Server::dispatch(std::string_view line) {
  // Extension commands first: QEMU's parser would call them unknown.
  if (ext_ != nullptr && line.rfind("vmsg_", 0) == 0) {
    std::string_view body = line;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) body.remove_suffix(1);
    const std::size_t sp = body.find(' ');
    std::string_view args = sp == std::string_view::npos ? std::string_view{} : body.substr(sp + 1);
    while (!args.empty() && args.front() == ' ') args.remove_prefix(1);
    return extension(body.substr(0, sp), args);
  }
  auto parsed = parse_command(line);
  if (!parsed) {
    const LineError& e = parsed.error();
    if (e.code == LineErrc::UnknownOp) return format_fail("Unknown command '" + e.detail + "'");
    return format_err(std::string(to_string(e.code)) + (e.detail.empty() ? "" : ": " + e.detail));
  }
  Command& c = *parsed;
  const unsigned w = op_width(c.op);
  switch (c.op) {
    case Op::ReadB:
    case Op::ReadW:
    case Op::ReadL:
    case Op::ReadQ:
      return format_ok_mem(machine_->mmio_read(c.addr, w));
    case Op::WriteB:
    case Op::WriteW:
    case Op::WriteL:
    case Op::WriteQ:
      machine_->mmio_write(c.addr, w, c.value);
      return format_ok();
    case Op::InB:
    case Op::InW:
    case Op::InL:
      return format_ok_port(port_read(c.addr, w));
    case Op::OutB:
    case Op::OutW:
    case Op::OutL:
      port_write(c.addr, w, static_cast<std::uint32_t>(c.value));
      return format_ok();
    case Op::Read:
    case Op::B64Read: {
      std::vector<std::uint8_t> buf(static_cast<std::size_t>(c.len));
      machine_->mem_read(c.addr, buf);
      return format_ok_word(c.op == Op::Read ? hex_encode(buf) : base64_encode(buf));
    }
    case Op::Write:
    case Op::B64Write:
      machine_->mem_write(c.addr, c.data);
      return format_ok();
    case Op::Memset: {
      const std::vector<std::uint8_t> buf(static_cast<std::size_t>(c.len), static_cast<std::uint8_t>(c.value));
      machine_->mem_write(c.addr, buf);
      return format_ok();
    }
    case Op::ClockStep: {
      // A step past 2^64-1 ns is the machine's PortError, answered as ERR by handle().
      machine_->advance_time(c.has_value ? c.value : kDefaultStepNs);
      return format_ok_word(std::to_string(machine_->now_ns()));
    }
    case Op::ClockSet:
      // Time never runs backwards; an earlier target leaves the clock alone (as QEMU's warp does).
      if (c.value > machine_->now_ns()) machine_->advance_time(c.value - machine_->now_ns());
      return format_ok_word(std::to_string(machine_->now_ns()));
    case Op::IrqInterceptIn:
    case Op::IrqInterceptOut:
      if (intercepted_) return format_fail("IRQ intercept already enabled");
      intercepted_ = true;
      return format_ok();
    case Op::Endianness:
      return format_ok_word("little");
  }
  return format_fail("Unknown command");
}

}  // namespace vmsg::qtest

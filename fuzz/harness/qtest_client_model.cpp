#include "harness/qtest_client_model.hpp"

#include <algorithm>
#include <variant>

#include "harness/qtest_rig.hpp"
#include "vmsg/common/errors.hpp"

namespace vmsg::fuzz {

namespace ops = qtest_ops;
using qtest::Command;
using qtest::Op;
using qtest::Reply;

namespace {

constexpr std::uint64_t kEcamBase = 0x40'1000'0000ULL;  // arm virt (address_map.hpp)
constexpr std::uint16_t kCf8 = 0xCF8;
constexpr std::uint16_t kCfc = 0xCFC;

std::uint64_t mask_of(unsigned size) { return size >= 8 ? ~0ULL : (1ULL << (8U * size)) - 1U; }
bool config_size_ok(unsigned s) { return s == 1 || s == 2 || s == 4; }
bool mmio_size_ok(unsigned s) { return s == 1 || s == 2 || s == 4 || s == 8; }

Command simple(Op op, std::uint64_t addr, std::uint64_t value = 0) {
  Command c;
  c.op = op;
  c.addr = addr;
  c.value = value;
  return c;
}

Op by_width(unsigned size, Op b, Op w, Op l, Op q) {
  return size == 1 ? b : size == 2 ? w : size == 4 ? l : q;
}

std::uint32_t dword_address(port::PciAddress fn, std::uint16_t offset) {
  return 0x8000'0000U | std::uint32_t{fn.bus} << 16 | std::uint32_t{fn.device} << 11 |
         std::uint32_t{fn.function} << 8 | (offset & 0xFCU);
}

}  // namespace

port::PciAddress config_fn(const ops::ClientOp& op) { return {op.bus, op.device, op.function}; }

std::uint32_t last_cf8(const ops::ClientOp& op) {
  const bool aligned = op.size != 0 && op.offset % op.size == 0;
  return dword_address(config_fn(op), static_cast<std::uint16_t>(op.offset + (aligned ? 0 : op.size - 1)));
}

std::uint64_t ecam_address(const ops::ClientOp& op) {
  return kEcamBase + (std::uint64_t{op.bus} << 20 | std::uint64_t{op.device} << 15 | std::uint64_t{op.function} << 12 |
                      op.offset);
}

std::string client_extension_line(const ops::ClientOp& op) { return one_line(op.data); }

std::optional<std::string> port_precheck(const ops::ClientOp& op, bool virt) {
  switch (static_cast<ops::ClientKind>(op.kind)) {
    case ops::ClientKind::ConfigRead:
    case ops::ClientKind::ConfigWrite: {
      if (!config_size_ok(op.size)) return "config size";
      const unsigned limit = virt ? 0x1000U : 0x100U;
      if (unsigned{op.offset} + op.size > limit) return "config offset beyond the reachable space";
      if (op.device > 31 || op.function > 7) return "PCI address out of range";
      return std::nullopt;
    }
    case ops::ClientKind::MmioRead:
    case ops::ClientKind::MmioWrite:
      if (!mmio_size_ok(op.size)) return "mmio size";
      return std::nullopt;
    case ops::ClientKind::PortIn:
    case ops::ClientKind::PortOut:
      if (!config_size_ok(op.size)) return "port size";
      return std::nullopt;
    case ops::ClientKind::Extension: {
      const std::string line = client_extension_line(op);
      if (line.rfind("vmsg_", 0) != 0 || line.find('\r') != std::string::npos) return "not an extension line";
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

ScriptedPortModel::ScriptedPortModel(std::string_view text, bool virt, std::size_t window, std::size_t chunk,
                                     bool writes_fail)
    : virt_(virt), writes_fail_(writes_fail), window_(window), chunk_(std::min<std::size_t>(chunk, qtest::kMaxLineBytes / 2)) {
  for (std::size_t nl = text.find('\n'); nl != std::string_view::npos; nl = text.find('\n')) {
    std::string line(text.substr(0, nl));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines_.push_back(std::move(line));
    text.remove_prefix(nl + 1);
  }
}

void ScriptedPortModel::fail(PortOutcome& out, bool breaks) {
  out.kind = PortOutcome::Kind::PortError;
  if (breaks) broken_ = true;
}

bool ScriptedPortModel::send(const std::string& text, PortOutcome& out) {
  if (writes_fail_) {
    fail(out, true);
    return false;
  }
  out.sent += text;
  return true;
}

std::optional<Reply> ScriptedPortModel::next_reply() {
  for (;;) {
    if (lines_.empty()) {
      broken_ = true;  // peer closed (or silent until the timeout)
      return std::nullopt;
    }
    const std::string line = std::move(lines_.front());
    lines_.pop_front();
    auto in = qtest::parse_incoming(line);
    if (!in) {
      broken_ = true;
      return std::nullopt;
    }
    if (const auto* irq = std::get_if<qtest::IrqLine>(&*in)) {
      irqs_.push_back(*irq);
      continue;
    }
    return std::get<Reply>(*in);
  }
}

std::optional<std::vector<Reply>> ScriptedPortModel::transact(const std::vector<Command>& cmds, PortOutcome& out) {
  if (broken_) {
    fail(out, false);
    return std::nullopt;
  }
  std::vector<Reply> replies;
  for (std::size_t at = 0; at < cmds.size(); at += window_) {
    const std::size_t n = std::min(window_, cmds.size() - at);
    std::string text;
    for (std::size_t i = 0; i < n; ++i) text += qtest::format_command(cmds[at + i]);
    if (!send(text, out)) return std::nullopt;
    bool bad = false;
    for (std::size_t i = 0; i < n; ++i) {
      auto r = next_reply();
      if (!r) {
        fail(out, true);
        return std::nullopt;
      }
      bad = bad || r->kind != Reply::Kind::Ok;
      replies.push_back(std::move(*r));
    }
    if (bad) {
      fail(out, false);  // every reply of the window was read: the pairing holds
      return std::nullopt;
    }
  }
  return replies;
}

std::optional<std::uint64_t> ScriptedPortModel::read_number(const std::vector<Command>& cmds, std::size_t which,
                                                            unsigned size, bool width_checked, PortOutcome& out) {
  auto r = transact(cmds, out);
  if (!r) return std::nullopt;
  auto v = qtest::reply_number((*r)[which]);
  if (!v || (width_checked && (*v & ~mask_of(size)) != 0)) {
    fail(out, true);
    return std::nullopt;
  }
  return *v & mask_of(size);
}

void ScriptedPortModel::config(const ops::ClientOp& op, bool write, PortOutcome& out) {
  const port::PciAddress fn = config_fn(op);
  const bool aligned = op.offset % op.size == 0;
  const unsigned steps = aligned ? 1U : op.size;
  const unsigned step_size = aligned ? op.size : 1U;
  std::uint64_t value = 0;
  for (unsigned i = 0; i < steps; ++i) {
    const auto off = static_cast<std::uint16_t>(op.offset + i);
    const std::uint64_t part = aligned ? op.value & mask_of(op.size) : (op.value >> (8 * i)) & 0xFFU;
    std::vector<Command> cmds;
    if (virt_) {
      ops::ClientOp e = op;
      e.offset = off;
      const std::uint64_t a = ecam_address(e);
      cmds.push_back(write ? simple(by_width(step_size, Op::WriteB, Op::WriteW, Op::WriteL, Op::WriteQ), a, part)
                           : simple(by_width(step_size, Op::ReadB, Op::ReadW, Op::ReadL, Op::ReadQ), a));
    } else {
      cmds.push_back(simple(Op::OutL, kCf8, dword_address(fn, off)));
      const std::uint64_t port = kCfc + (off & 3U);
      cmds.push_back(write ? simple(by_width(step_size, Op::OutB, Op::OutW, Op::OutL, Op::OutL), port, part)
                           : simple(by_width(step_size, Op::InB, Op::InW, Op::InL, Op::InL), port));
    }
    if (write) {
      if (!transact(cmds, out)) return;
      continue;
    }
    // ECAM reads go through mmio_read (masked, not width-checked); CFC reads are width-checked.
    auto v = read_number(cmds, cmds.size() - 1, step_size, !virt_, out);
    if (!v) return;
    value |= *v << (8 * i);
  }
  if (!write) {
    out.kind = PortOutcome::Kind::Value;
    out.value = value;
  }
}

PortOutcome ScriptedPortModel::apply(const ops::ClientOp& op) {
  PortOutcome out;
  if (port_precheck(op, virt_)) {
    out.kind = PortOutcome::Kind::PortError;
    return out;
  }
  const auto size = unsigned{op.size};
  switch (static_cast<ops::ClientKind>(op.kind)) {
    case ops::ClientKind::ConfigRead:
      config(op, false, out);
      break;
    case ops::ClientKind::ConfigWrite:
      config(op, true, out);
      break;
    case ops::ClientKind::MmioRead: {
      auto v = read_number({simple(by_width(size, Op::ReadB, Op::ReadW, Op::ReadL, Op::ReadQ), ops::address_of(op))}, 0,
                           size, false, out);
      if (v) {
        out.kind = PortOutcome::Kind::Value;
        out.value = *v;
      }
      break;
    }
    case ops::ClientKind::MmioWrite:
      (void)transact({simple(by_width(size, Op::WriteB, Op::WriteW, Op::WriteL, Op::WriteQ), ops::address_of(op),
                             op.value & mask_of(size))},
                     out);
      break;
    case ops::ClientKind::PortIn: {
      auto v = read_number({simple(by_width(size, Op::InB, Op::InW, Op::InL, Op::InL), op.offset)}, 0, size, true, out);
      if (v) {
        out.kind = PortOutcome::Kind::Value;
        out.value = *v;
      }
      break;
    }
    case ops::ClientKind::PortOut:
      (void)transact({simple(by_width(size, Op::OutB, Op::OutW, Op::OutL, Op::OutL), op.offset, op.value & mask_of(size))},
                     out);
      break;
    case ops::ClientKind::MemRead:
    case ops::ClientKind::MemWrite: {
      const bool read = op.kind == static_cast<std::uint8_t>(ops::ClientKind::MemRead);
      const std::size_t total = read ? op.len : op.data.size();
      if (total == 0) break;  // no command at all (QEMU asserts on a zero length)
      std::vector<Command> cmds;
      for (std::size_t done = 0; done < total; done += chunk_) {
        Command c;
        c.op = read ? Op::B64Read : Op::B64Write;
        c.addr = ops::address_of(op) + done;
        c.len = std::min(chunk_, total - done);
        if (!read) {
          c.data.assign(op.data.begin() + static_cast<std::ptrdiff_t>(done),
                        op.data.begin() + static_cast<std::ptrdiff_t>(done + c.len));
        }
        cmds.push_back(std::move(c));
      }
      auto r = transact(cmds, out);
      if (!r || !read) break;
      for (std::size_t i = 0; i < cmds.size(); ++i) {
        auto b = qtest::reply_base64((*r)[i], static_cast<std::size_t>(cmds[i].len));
        if (!b) {
          fail(out, true);
          out.bytes.clear();
          return out;
        }
        out.bytes.insert(out.bytes.end(), b->begin(), b->end());
      }
      out.kind = PortOutcome::Kind::Bytes;
      break;
    }
    case ops::ClientKind::AdvanceTime: {
      if (!clock_supported_) break;
      // QEMU's clock is a signed 64-bit count; the port refuses, unsent, a step past it.
      constexpr std::uint64_t kQemuClockMax = (1ULL << 63) - 1;
      if (op.value > kQemuClockMax - std::min(clock_now_, kQemuClockMax)) {
        fail(out, false);
        break;
      }
      if (broken_) {
        fail(out, false);
        break;
      }
      Command c;
      c.op = Op::ClockStep;
      c.value = op.value;
      c.has_value = true;
      if (!send(qtest::format_command(c), out)) break;
      auto r = next_reply();
      if (!r) {
        fail(out, true);
        break;
      }
      if (r->kind == Reply::Kind::Fail && r->text.find("Unknown command") != std::string::npos) {
        clock_supported_ = false;
        break;
      }
      if (r->kind != Reply::Kind::Ok) {
        fail(out, false);
        break;
      }
      auto now = qtest::reply_number(*r);
      if (!now) {
        fail(out, true);
        break;
      }
      clock_now_ = *now;
      break;
    }
    case ops::ClientKind::Command:
    case ops::ClientKind::Extension: {
      if (broken_) {
        fail(out, false);
        break;
      }
      std::string line;
      if (op.kind == static_cast<std::uint8_t>(ops::ClientKind::Command)) {
        try {
          line = qtest::format_command(formatted_command(op.command));
        } catch (const ConfigError&) {
          out.kind = PortOutcome::Kind::ConfigError;
          break;
        }
      } else {
        line = client_extension_line(op) + "\n";
      }
      if (!send(line, out)) break;
      auto r = next_reply();
      if (!r) {
        fail(out, true);
        break;
      }
      out.kind = PortOutcome::Kind::Reply;
      out.reply = std::move(*r);
      break;
    }
  }
  return out;
}

}  // namespace vmsg::fuzz

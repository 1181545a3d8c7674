#include "vmsg/qtest/qtest_port.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include "vmsg/common/errors.hpp"

namespace vmsg::qtest {
namespace {

constexpr std::uint16_t kConfigAddress = 0xCF8;
constexpr std::uint16_t kConfigData = 0xCFC;
constexpr std::uint16_t kLegacyConfigSize = 0x100;
constexpr std::uint32_t kConfigEnable = 0x8000'0000;
constexpr std::uint32_t kEcamConfigSize = 0x1000;

void check_mmio_size(unsigned size) {
  if (size != 1 && size != 2 && size != 4 && size != 8) {
    throw PortError("qtest: MMIO access of " + std::to_string(size) + " bytes (1, 2, 4 or 8 only)");
  }
}

void check_config_size(unsigned size) {
  if (size != 1 && size != 2 && size != 4) {
    throw PortError("qtest: config access of " + std::to_string(size) + " bytes (1, 2 or 4 only)");
  }
}

std::uint64_t mask_of(unsigned size) { return size >= 8 ? ~0ULL : (1ULL << (8U * size)) - 1U; }

/// "FAIL why" or "ERR why", for messages about a reply that is not OK.
std::string answer_text(const Reply& r) { return (r.kind == Reply::Kind::Fail ? "FAIL " : "ERR ") + r.text; }

Command simple(Op op, std::uint64_t addr, std::uint64_t value = 0) {
  Command c;
  c.op = op;
  c.addr = addr;
  c.value = value;
  return c;
}

}  // namespace

std::string describe(const Command& c) {
  std::string s = format_command(c);
  s.pop_back();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

QtestPort::QtestPort(int fd, QtestPortOptions options)
    : chan_(fd), options_(options), layout_(layout_for(options.machine, options.ram_bytes)) {
  if (fd < 0) throw PortError("qtest: no connection (fd " + std::to_string(fd) + ")");
  if (options_.chunk_bytes == 0 || options_.window == 0) throw ConfigError("qtest: chunk_bytes and window must be > 0");
  // A reply line for a chunk must stay under the line limit: 4/3 expansion plus slack.
  options_.chunk_bytes = std::min<std::size_t>(options_.chunk_bytes, kMaxLineBytes / 2);
}

QtestPort::~QtestPort() {
  // Held writes still reach the target; nobody is left to read the answers.
  if (held_.empty() || broken()) return;
  try {
    std::string text;
    for (const Command& c : held_) text += format_command(c);
    (void)chan_.write_all(text);
  } catch (...) {  // a destructor must not throw; the target is going away anyway
  }
}

void QtestPort::check_usable() const {
  if (broken()) throw PortError("qtest: connection unusable since " + broken_reason_);
}

void QtestPort::fail_hard(const std::string& what, const std::string& why) {
  broken_reason_ = "'" + what + "': " + why;
  throw PortError("qtest: '" + what + "': " + why);
}

template <typename What>
Reply QtestPort::read_reply(const What& what) {
  for (;;) {
    std::optional<std::string> line = chan_.read_line(options_.timeout);
    if (!line) {
      std::string why = chan_.failure_text();
      if (chan_.failure() == LineChannel::Failure::Timeout) {
        why = "no reply within " + std::to_string(options_.timeout.count()) + " ms";
      }
      fail_hard(what(), why);
    }
    auto in = parse_incoming(*line);
    if (!in) fail_hard(what(), std::string(to_string(in.error().code)) + ": " + in.error().detail);
    if (auto* irq = std::get_if<IrqLine>(&*in)) {
      irqs_.push_back(*irq);
      continue;
    }
    return std::get<Reply>(std::move(*in));
  }
}

Reply QtestPort::command(const Command& c) {
  std::vector<Reply> r = exchange({&c, 1});
  return std::move(r.front());
}

Reply QtestPort::extension(std::string_view line) {
  check_usable();
  if (line.rfind("vmsg_", 0) != 0 || line.find_first_of("\r\n") != std::string_view::npos) {
    throw PortError("qtest: extension command '" + std::string(line) + "' must start with vmsg_ and be one line");
  }
  if (!held_.empty()) (void)exchange({});  // rare: extensions come between tests, not between exchanges
  const std::string what(line);
  if (!chan_.write_all(what + "\n")) fail_hard(what, chan_.failure_text());
  return read_reply([&] { return what; });
}

std::vector<Reply> QtestPort::exchange(std::span<const Command> commands) {
  check_usable();
  // Held writes go first: the target must see them before anything newer.
  const std::vector<Command> held = std::exchange(held_, {});
  const std::size_t total = held.size() + commands.size();
  auto nth = [&](std::size_t i) -> const Command& {
    return i < held.size() ? held[i] : commands[i - held.size()];
  };
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  std::string text;
  for (std::size_t first = 0; first < total; first += options_.window) {
    const std::size_t n = std::min(options_.window, total - first);
    text.clear();
    for (std::size_t i = first; i < first + n; ++i) text += format_command(nth(i));
    if (!chan_.write_all(text)) fail_hard(describe(nth(first)), chan_.failure_text());
    // Every reply of the window is read even after a FAIL, so the pairing survives.
    bool failed = false;
    std::string held_failure;
    for (std::size_t i = first; i < first + n; ++i) {
      Reply r = read_reply([&] { return describe(nth(i)); });
      failed = failed || r.kind != Reply::Kind::Ok;
      if (i >= held.size()) {
        replies.push_back(std::move(r));
      } else if (r.kind != Reply::Kind::Ok && held_failure.empty()) {
        held_failure = "qtest: posted '" + describe(held[i]) + "' answered " + answer_text(r);
      }
    }
    if (!held_failure.empty()) throw PortError(held_failure);
    if (failed) break;
  }
  return replies;
}

std::vector<Reply> QtestPort::transact(std::span<const Command> commands) {
  std::vector<Reply> replies = exchange(commands);
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].kind != Reply::Kind::Ok) {
      throw PortError("qtest: '" + describe(commands[i]) + "' answered " + answer_text(replies[i]));
    }
  }
  return replies;
}

std::uint32_t QtestPort::port_in(std::uint16_t port, unsigned size) {
  check_config_size(size);
  const Command c = simple(in_op(size), port);
  const std::vector<Reply> r = transact({&c, 1});
  auto v = reply_number(r[0]);
  if (!v || (*v & ~mask_of(size)) != 0) fail_hard(describe(c), "reply is not a " + std::to_string(size) + "-byte value");
  return static_cast<std::uint32_t>(*v);
}

void QtestPort::port_out(std::uint16_t port, unsigned size, std::uint32_t value) {
  check_config_size(size);
  const Command c = simple(out_op(size), port, value & mask_of(size));
  (void)transact({&c, 1});
}

// ---- configuration space ------------------------------------------------------------

std::uint32_t QtestPort::config_dword_address(port::PciAddress fn, std::uint16_t offset) const {
  if (fn.device > 31 || fn.function > 7) {
    throw PortError("qtest: PCI address device " + std::to_string(fn.device) + " function " +
                    std::to_string(fn.function) + " out of range");
  }
  return kConfigEnable | std::uint32_t{fn.bus} << 16 | std::uint32_t{fn.device} << 11 |
         std::uint32_t{fn.function} << 8 | (offset & 0xFCU);
}

std::uint32_t QtestPort::config_read_aligned(port::PciAddress fn, std::uint16_t offset, unsigned size) {
  if (layout_.ecam_base != 0) {
    (void)config_dword_address(fn, 0);  // range check only
    const std::uint64_t a = layout_.ecam_base + (std::uint64_t{fn.bus} << 20 | std::uint64_t{fn.device} << 15 |
                                                 std::uint64_t{fn.function} << 12 | offset);
    return static_cast<std::uint32_t>(mmio_read(a, size));
  }
  // CF8 then CFC+k, pipelined: two commands, one round trip.
  const std::array<Command, 2> cmds{simple(Op::OutL, kConfigAddress, config_dword_address(fn, offset)),
                                    simple(in_op(size), kConfigData + (offset & 3U))};
  const std::vector<Reply> r = transact(cmds);
  auto v = reply_number(r[1]);
  if (!v || (*v & ~mask_of(size)) != 0) fail_hard(describe(cmds[1]), "reply is not a " + std::to_string(size) + "-byte value");
  return static_cast<std::uint32_t>(*v);
}

void QtestPort::config_write_aligned(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) {
  if (layout_.ecam_base != 0) {
    (void)config_dword_address(fn, 0);
    const std::uint64_t a = layout_.ecam_base + (std::uint64_t{fn.bus} << 20 | std::uint64_t{fn.device} << 15 |
                                                 std::uint64_t{fn.function} << 12 | offset);
    mmio_write(a, size, value);
    return;
  }
  const std::array<Command, 2> cmds{simple(Op::OutL, kConfigAddress, config_dword_address(fn, offset)),
                                    simple(out_op(size), kConfigData + (offset & 3U), value & mask_of(size))};
  (void)transact(cmds);
}

std::uint32_t QtestPort::config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) {
  check_config_size(size);
  const unsigned limit = layout_.ecam_base != 0 ? kEcamConfigSize : kLegacyConfigSize;
  if (unsigned{offset} + size > limit) {
    throw PortError("qtest: config offset " + std::to_string(offset) + "+" + std::to_string(size) + " beyond " +
                    std::to_string(limit) + " bytes reachable on " + std::string(to_string(options_.machine)));
  }
  if (offset % size == 0) return config_read_aligned(fn, offset, size);
  // Unaligned: byte by byte, as the in-process machine does.
  std::uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    v |= config_read_aligned(fn, static_cast<std::uint16_t>(offset + i), 1) << (8 * i);
  }
  return v;
}

void QtestPort::config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) {
  check_config_size(size);
  const unsigned limit = layout_.ecam_base != 0 ? kEcamConfigSize : kLegacyConfigSize;
  if (unsigned{offset} + size > limit) {
    throw PortError("qtest: config offset " + std::to_string(offset) + "+" + std::to_string(size) + " beyond " +
                    std::to_string(limit) + " bytes reachable on " + std::string(to_string(options_.machine)));
  }
  if (offset % size == 0) {
    config_write_aligned(fn, offset, size, value);
    return;
  }
  for (unsigned i = 0; i < size; ++i) {
    config_write_aligned(fn, static_cast<std::uint16_t>(offset + i), 1, (value >> (8 * i)) & 0xFFU);
  }
}

// ---- memory ---------------------------------------------------------------------------

std::uint64_t QtestPort::mmio_read(std::uint64_t addr, unsigned size) {
  port::Access a = port::Access::mmio_read(addr, size);
  run({&a, 1});
  return a.value;
}

void QtestPort::mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) {
  port::Access a = port::Access::mmio_write(addr, size, value);
  run({&a, 1});
}

void QtestPort::mem_read(std::uint64_t addr, std::span<std::uint8_t> out) {
  port::Access a = port::Access::mem_read(addr, out);
  run({&a, 1});
}

void QtestPort::mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  port::Access a = port::Access::mem_write(addr, data);
  run({&a, 1});
}

// ---- batches ---------------------------------------------------------------------------

void QtestPort::append_commands(const port::Access& a, std::vector<Command>& out) const {
  using Kind = port::Access::Op;
  switch (a.op) {
    case Kind::MmioRead:
      check_mmio_size(a.size);
      out.push_back(simple(read_op(a.size), a.addr));
      return;
    case Kind::MmioWrite:
      check_mmio_size(a.size);
      out.push_back(simple(write_op(a.size), a.addr, a.value & mask_of(a.size)));
      return;
    case Kind::MemRead:
      // Chunked so every reply line stays under the line limit; no command
      // for zero bytes (QEMU asserts on a zero length).
      for (std::size_t done = 0; done < a.out.size(); done += options_.chunk_bytes) {
        Command c;
        c.op = qtest::Op::B64Read;
        c.addr = a.addr + done;
        c.len = std::min(options_.chunk_bytes, a.out.size() - done);
        out.push_back(std::move(c));
      }
      return;
    case Kind::MemWrite:
      for (std::size_t done = 0; done < a.in.size(); done += options_.chunk_bytes) {
        const std::size_t n = std::min(options_.chunk_bytes, a.in.size() - done);
        Command c;
        c.op = qtest::Op::B64Write;
        c.addr = a.addr + done;
        c.len = n;
        const auto from = a.in.begin() + static_cast<std::ptrdiff_t>(done);
        c.data.assign(from, from + static_cast<std::ptrdiff_t>(n));
        out.push_back(std::move(c));
      }
      return;
  }
}

std::size_t QtestPort::take_replies(port::Access& a, std::span<const Command> cmds, std::span<const Reply> replies,
                                    std::size_t at) {
  using Kind = port::Access::Op;
  switch (a.op) {
    case Kind::MmioRead: {
      auto v = reply_number(replies[at]);
      if (!v) fail_hard(describe(cmds[at]), std::string(to_string(v.error().code)) + ": " + v.error().detail);
      a.value = *v & mask_of(a.size);
      return at + 1;
    }
    case Kind::MmioWrite:
      return at + 1;
    case Kind::MemRead:
      for (std::size_t done = 0; done < a.out.size(); ++at) {
        auto bytes = reply_base64(replies[at], static_cast<std::size_t>(cmds[at].len));
        if (!bytes) fail_hard(describe(cmds[at]), std::string(to_string(bytes.error().code)) + ": " + bytes.error().detail);
        std::copy(bytes->begin(), bytes->end(), a.out.begin() + static_cast<std::ptrdiff_t>(done));
        done += bytes->size();
      }
      return at;
    case Kind::MemWrite:
      return at + (a.in.size() + options_.chunk_bytes - 1) / options_.chunk_bytes;
  }
  return at;
}

void QtestPort::run(std::span<port::Access> batch) {
  std::vector<Command> cmds;
  cmds.reserve(batch.size());
  for (const port::Access& a : batch) append_commands(a, cmds);  // all checked before anything is sent
  if (cmds.empty()) return;
  const std::vector<Reply> replies = transact(cmds);
  std::size_t at = 0;
  for (port::Access& a : batch) at = take_replies(a, cmds, replies, at);
}

std::uint64_t QtestPort::post(std::span<const port::Access> writes) {
  check_writes(writes);
  check_usable();
  std::vector<Command> cmds;
  for (const port::Access& a : writes) append_commands(a, cmds);
  held_.insert(held_.end(), std::make_move_iterator(cmds.begin()), std::make_move_iterator(cmds.end()));
  held_ticket_ = ++tickets_;
  return held_ticket_;
}

void QtestPort::advance_time(std::uint64_t ns) {
  if (!clock_supported_) return;
  // QEMU parses the step as a signed 64-bit count and asserts on anything
  // else (qtest.c), so a step QEMU cannot take is refused here: sending it
  // would kill the target and the crash would be blamed on the device.
  if (ns > kMaxClockNs - std::min(clock_now_, kMaxClockNs)) {
    throw PortError("qtest: clock_step " + std::to_string(ns) + " from " + std::to_string(clock_now_) +
                    " ns would pass QEMU's clock limit (2^63-1 ns); nothing sent");
  }
  Command c;
  c.op = Op::ClockStep;
  c.value = ns;
  c.has_value = true;
  const Reply r = command(c);
  if (r.kind == Reply::Kind::Fail && r.text.find("Unknown command") != std::string::npos) {
    clock_supported_ = false;
    return;
  }
  if (r.kind != Reply::Kind::Ok) throw PortError("qtest: '" + describe(c) + "' answered " + r.text);
  auto now = reply_number(r);
  if (!now) fail_hard(describe(c), "reply carries no time");
  clock_now_ = *now;
}

}  // namespace vmsg::qtest

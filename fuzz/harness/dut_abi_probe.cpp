#include "harness/dut_abi_probe.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <string>

#include "common/check.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/devices/stimulus.hpp"
#include "vmsg/transport/driver_rules.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::fuzz {

namespace {

namespace ops = dut_config_ops;

constexpr std::size_t kRam = 0x10000;
constexpr std::uint8_t kCanary = 0xA5;
constexpr std::size_t kCanaryBytes = 16;

std::uint64_t mask(std::uint32_t size) { return size >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * size)) - 1; }
std::uint32_t size_of(const ops::CallOp& op) { return ops::kSizes[op.size & 7u]; }
/// Bit 3 of `size`: address another function than the configured one.
bool other_function(const ops::CallOp& op) { return (op.size & 8u) != 0; }

port::PciAddress target(const dut::DutConfig& c, bool other) {
  port::PciAddress a = c.address;
  if (other) a.device = static_cast<std::uint8_t>((a.device + 1) % 32);
  return a;
}

/// Whether the ABI lets a config access of this shape through (vmsg_dut.h).
bool config_shape_ok(std::uint16_t offset, std::uint32_t size) {
  return (size == 1 || size == 2 || size == 4) && offset % size == 0 && std::uint32_t{offset} + size <= 4096;
}
bool mmio_size_ok(std::uint32_t size) { return size == 1 || size == 2 || size == 4 || size == 8; }

bool has_device(const dut::DutConfig& c, unsigned fifo, unsigned dev) {
  return std::any_of(c.devices.begin(), c.devices.end(),
                     [&](const dut::DutDevice& d) { return d.fifo == fifo && d.dev_num == dev; });
}

/// The status stimulus(action) must return, or nullopt when OK and UNSUPPORTED both fit.
std::optional<int> stimulus_expectation(const dut::DutConfig& c, std::string_view action) {
  try {
    const devices::StimulusAction a = devices::parse_stimulus(action);
    if (!has_device(c, a.fifo, a.dev_num)) return VMSG_DUT_ERR_INVALID;
    return std::nullopt;
  } catch (const ConfigError&) {
    return VMSG_DUT_ERR_INVALID;
  }
}

}  // namespace

// ---- host callbacks ------------------------------------------------------------------

AbiHost::AbiHost() : ram_(kRam, 0) {
  host_.struct_size = sizeof host_;
  host_.ctx = this;
  host_.mem_read = &AbiHost::mem_read;
  host_.mem_write = &AbiHost::mem_write;
  host_.msi_write = &AbiHost::msi_write;
  host_.log = nullptr;  // optional: the library must cope without it
}

int AbiHost::mem_read(void* ctx, std::uint64_t addr, void* buf, std::size_t len) {
  auto& ram = static_cast<AbiHost*>(ctx)->ram_;
  if (addr > ram.size() || len > ram.size() - addr) return 1;
  if (len != 0) std::memcpy(buf, ram.data() + addr, len);
  return 0;
}

int AbiHost::mem_write(void* ctx, std::uint64_t addr, const void* buf, std::size_t len) {
  auto& ram = static_cast<AbiHost*>(ctx)->ram_;
  if (addr > ram.size() || len > ram.size() - addr) return 1;
  if (len != 0) std::memcpy(ram.data() + addr, buf, len);
  return 0;
}

int AbiHost::msi_write(void* ctx, std::uint16_t /*rid*/, std::uint64_t addr, std::uint32_t data) {
  return mem_write(ctx, addr, &data, sizeof data);
}

// ---- direct ABI calls -------------------------------------------------------------------

std::uint64_t call_address(const ops::CallOp& op) {
  return op.addr < ops::kAddrs.size() ? ops::kAddrs[op.addr] : op.value;
}

void check_violation_line(std::string_view line, const dut::DutConfig& config) {
  const std::size_t sp = line.find(' ');
  VMSG_FUZZ_CHECK(sp != std::string_view::npos && line.substr(sp + 1, 4) == "dev=",
                  "violation line not 'RULE dev=N KIND: DETAIL': " + std::string(line));
  const std::string_view rule = line.substr(0, sp);
  // The catalogue of the draft the library was built in (only a known profile builds).
  const auto rows = transport::checked_driver_rules(wire::parse_layout(config.profile).value_or(wire::Layout::Pr28));
  VMSG_FUZZ_CHECK(std::any_of(rows.begin(), rows.end(), [&](const transport::DriverRuleInfo& r) { return r.rule == rule; }),
                  "violation line names no catalogue rule: " + std::string(line));
  std::size_t i = sp + 5;
  const std::size_t digits = i;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
  VMSG_FUZZ_CHECK(i > digits && i < line.size() && line[i] == ' ' && line.find(": ", i) != std::string_view::npos,
                  "violation line without device number, kind or detail: " + std::string(line));
}

void AbiProbe::expect_message(int status, std::string_view what) {
  if (status == VMSG_DUT_ERR_INVALID || status == VMSG_DUT_ERR_FAILED) {
    const char* msg = api_.last_error(dut_);
    VMSG_FUZZ_CHECK(msg != nullptr && msg[0] != '\0', std::string(what) + " failed without a message");
  }
}

void AbiProbe::config_access(const ops::CallOp& op) {
  const std::uint32_t size = size_of(op);
  const bool other = other_function(op);
  const port::PciAddress fn = target(config_, other);
  const bool write = op.call == ops::Call::ConfigWrite;
  const bool null_value = !write && op.flag;
  int want = VMSG_DUT_OK;
  if (null_value || !config_shape_ok(op.offset, size)) {
    want = VMSG_DUT_ERR_INVALID;
  } else if (other) {
    want = VMSG_DUT_NO_FUNCTION;
  }
  std::uint32_t value = 0xDEADBEEF;
  const int st = write ? api_.config_write(dut_, fn.bus, fn.device, fn.function, op.offset, size,
                                           static_cast<std::uint32_t>(op.value))
                       : api_.config_read(dut_, fn.bus, fn.device, fn.function, op.offset, size,
                                          null_value ? nullptr : &value);
  const std::string what = std::string(write ? "config_write" : "config_read") + " offset " +
                           std::to_string(op.offset) + " size " + std::to_string(size);
  VMSG_FUZZ_CHECK(st == want, what + ": status " + std::to_string(st) + ", documented " + std::to_string(want));
  expect_message(st, what);
  if (!write && st == VMSG_DUT_OK) VMSG_FUZZ_CHECK((value & ~mask(size)) == 0, what + ": bits beyond the access size");
}

void AbiProbe::mmio_access(const ops::CallOp& op) {
  const std::uint32_t size = size_of(op);
  const std::uint64_t addr = call_address(op);
  const bool write = op.call == ops::Call::MmioWrite;
  const bool null_value = !write && op.flag;
  std::uint64_t value = 0;
  const int st = write ? api_.mmio_write(dut_, addr, size, op.value)
                       : api_.mmio_read(dut_, addr, size, null_value ? nullptr : &value);
  const std::string what = std::string(write ? "mmio_write" : "mmio_read") + " at " + std::to_string(addr) + " size " +
                           std::to_string(size);
  if (null_value || !mmio_size_ok(size)) {
    VMSG_FUZZ_CHECK(st == VMSG_DUT_ERR_INVALID, what + ": host broke the ABI, yet status " + std::to_string(st));
  } else {
    VMSG_FUZZ_CHECK(st == VMSG_DUT_OK || st == VMSG_DUT_UNMAPPED, what + ": status " + std::to_string(st));
    // No BAR decodes bytes past the top of the address space.
    if (addr > ~std::uint64_t{0} - (size - 1)) VMSG_FUZZ_CHECK(st == VMSG_DUT_UNMAPPED, what + ": wraps, yet decoded");
    if (!write && st == VMSG_DUT_OK) VMSG_FUZZ_CHECK((value & ~mask(size)) == 0, what + ": bits beyond the access size");
    bulk_mirror(addr, size, write, op.value, st, value);
  }
  expect_message(st, what);
}

void AbiProbe::bulk_mirror(std::uint64_t addr, std::uint32_t size, bool write, std::uint64_t written, int single,
                           std::uint64_t read_value) {
  const auto rd = lib_.mmio_read_bulk_fn();
  const auto wr = lib_.mmio_write_bulk_fn();
  VMSG_FUZZ_CHECK(rd != nullptr && wr != nullptr, "the reference library lacks the bulk entries (ABI 1.2)");
  // A bulk write repeats the single write's bytes, so a plain-memory target
  // ends as it was; registers must decline it, and nothing happens then.
  std::array<std::uint8_t, 8> want{};
  for (std::uint32_t i = 0; i < size; ++i) want[i] = static_cast<std::uint8_t>((write ? written : read_value) >> (8 * i));
  std::array<std::uint8_t, 8> got{};
  const int st = write ? wr(dut_, addr, want.data(), size) : rd(dut_, addr, got.data(), size);
  const std::string what = std::string(write ? "mmio_write_bulk" : "mmio_read_bulk") + " at " + std::to_string(addr) +
                           " len " + std::to_string(size);
  VMSG_FUZZ_CHECK(st == VMSG_DUT_OK || st == VMSG_DUT_UNSUPPORTED || st == VMSG_DUT_UNMAPPED,
                  what + ": status " + std::to_string(st));
  if (st == VMSG_DUT_OK) {
    VMSG_FUZZ_CHECK(single == VMSG_DUT_OK, what + ": taken where the single access was unmapped");
    if (!write) VMSG_FUZZ_CHECK(std::equal(got.begin(), got.begin() + size, want.begin()), what + ": other bytes than the single read");
  }
  expect_message(st, what);
  VMSG_FUZZ_CHECK(rd(dut_, addr, nullptr, size) == VMSG_DUT_ERR_INVALID, what + ": NULL buffer not refused");
  VMSG_FUZZ_CHECK(wr(dut_, addr, want.data(), 0) == VMSG_DUT_ERR_INVALID, what + ": empty buffer not refused");
}

void AbiProbe::stimulus(const ops::CallOp& op) {
  const auto fn = lib_.stimulus_fn();
  VMSG_FUZZ_CHECK(fn != nullptr, "the reference library lacks stimulus (ABI 1.1)");
  if (op.flag) {
    const int st = fn(dut_, nullptr);
    VMSG_FUZZ_CHECK(st == VMSG_DUT_ERR_INVALID, "stimulus(NULL) not refused");
    expect_message(st, "stimulus(NULL)");
    return;
  }
  const std::string action(ops::kActions[op.size % ops::kActions.size()]);
  const int st = fn(dut_, action.c_str());
  const auto want = stimulus_expectation(config_, action);
  if (want) {
    VMSG_FUZZ_CHECK(st == *want, "stimulus(" + action + "): status " + std::to_string(st) + ", documented " +
                                     std::to_string(*want));
  } else {
    VMSG_FUZZ_CHECK(st == VMSG_DUT_OK || st == VMSG_DUT_UNSUPPORTED,
                    "stimulus(" + action + "): status " + std::to_string(st));
  }
  expect_message(st, "stimulus(" + action + ")");
}

void AbiProbe::violations(const ops::CallOp& op) {
  const auto fn = lib_.violations_fn();
  VMSG_FUZZ_CHECK(fn != nullptr, "the reference library lacks violations (ABI 1.1)");
  // Buffer/size pairs: the clear, the two mismatches, then tiny to roomy buffers.
  static constexpr std::size_t kBufSizes[] = {0, 8, 0, 1, 16, 4096};
  const unsigned sel = op.size % 6u;
  const bool null_buf = sel < 2;
  const std::size_t size = kBufSizes[sel];
  std::vector<char> buf(std::max<std::size_t>(size, 1) + kCanaryBytes, static_cast<char>(kCanary));
  const int st = fn(dut_, null_buf ? nullptr : buf.data(), size);
  const std::string what = "violations(" + std::string(null_buf ? "NULL" : "buf") + ", " + std::to_string(size) + ")";
  if (null_buf != (size == 0)) {
    VMSG_FUZZ_CHECK(st == VMSG_DUT_ERR_INVALID, what + ": buffer and size disagree, yet status " + std::to_string(st));
    expect_message(st, what);
    return;
  }
  VMSG_FUZZ_CHECK(st == VMSG_DUT_OK || st == VMSG_DUT_MORE, what + ": status " + std::to_string(st));
  for (std::size_t i = std::max<std::size_t>(size, 1); i < buf.size(); ++i) {
    VMSG_FUZZ_CHECK(static_cast<std::uint8_t>(buf[i]) == kCanary, what + ": wrote past the size given");
  }
  if (null_buf) {
    // The explicit clear: nothing may be pending afterwards.
    VMSG_FUZZ_CHECK(st == VMSG_DUT_OK, what + ": the clear did not answer OK");
    std::vector<char> after(64, 'x');
    VMSG_FUZZ_CHECK(fn(dut_, after.data(), after.size()) == VMSG_DUT_OK && after[0] == '\0',
                    "violations pending right after the clear");
    return;
  }
  VMSG_FUZZ_CHECK(std::memchr(buf.data(), '\0', size) != nullptr, what + ": text not NUL-terminated within size");
  if (size < 4096) return;  // lines may have been cut to fit
  const std::string text(buf.data());
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    check_violation_line(std::string_view(text).substr(start, nl - start), config_);
  }
  VMSG_FUZZ_CHECK(start == text.size(), what + ": a line without its newline in a roomy buffer");
}

void AbiProbe::call(const ops::CallOp& op) {
  switch (op.call) {
    case ops::Call::ConfigRead:
    case ops::Call::ConfigWrite:
      config_access(op);
      break;
    case ops::Call::MmioRead:
    case ops::Call::MmioWrite:
      mmio_access(op);
      break;
    case ops::Call::Time:
      VMSG_FUZZ_CHECK(api_.advance_time(dut_, op.value) == VMSG_DUT_OK, "advance_time failed");
      break;
    case ops::Call::Stimulus:
      stimulus(op);
      break;
    case ops::Call::Violations:
      violations(op);
      break;
    case ops::Call::PortConfig:
    case ops::Call::PortMmio:
    case ops::Call::PortBulk:
    case ops::Call::PortRules:
    case ops::Call::kCount:
      break;  // port_call()
  }
}

// ---- through the host's LibPort -----------------------------------------------------------

namespace {

/// Runs `f`; PortError is expected exactly when `refused`; nothing else may escape.
template <typename F>
void expect_port(bool refused, const std::string& what, F&& f) {
  bool threw = false;
  try {
    f();
  } catch (const PortError&) {
    threw = true;
  } catch (const std::exception& e) {
    VMSG_FUZZ_CHECK(false, what + ": unexpected exception " + e.what());
  }
  VMSG_FUZZ_CHECK(threw == refused, what + (refused ? ": accepted an access the port refuses" : ": refused"));
}

void port_rules(dut::LibPort& port, const dut::DutConfig& config, const ops::CallOp& op) {
  if (op.flag) {
    const std::string action(ops::kActions[op.size % ops::kActions.size()]);
    const auto want = stimulus_expectation(config, action);
    expect_port(want.has_value(), "LibPort::stimulus(" + action + ")", [&] { (void)port.stimulus(action); });
    return;
  }
  for (const std::string& line : port.peek_violations()) check_violation_line(line, config);
  switch (op.size % 3u) {
    case 0:
      (void)port.take_violations();
      break;
    case 1:
      port.clear_violations();
      break;
    default:
      return;
  }
  VMSG_FUZZ_CHECK(port.peek_violations().empty(), "violations still held after take/clear");
}

}  // namespace

void port_call(dut::LibPort& port, const dut::DutConfig& config, const ops::CallOp& op) {
  const std::uint32_t size = size_of(op);
  switch (op.call) {
    case ops::Call::PortConfig: {
      // Any alignment: LibPort splits what the ABI cannot carry.
      const bool ok = (size == 1 || size == 2 || size == 4) && std::uint32_t{op.offset} + size <= 4096;
      const port::PciAddress fn = target(config, other_function(op));
      const std::string what = "LibPort config offset " + std::to_string(op.offset) + " size " + std::to_string(size);
      if (op.flag) {
        expect_port(!ok, what, [&] { port.config_write(fn, op.offset, size, static_cast<std::uint32_t>(op.value)); });
      } else {
        expect_port(!ok, what, [&] {
          const std::uint32_t v = port.config_read(fn, op.offset, size);
          VMSG_FUZZ_CHECK((v & ~mask(size)) == 0, what + ": bits beyond the access size");
          if (other_function(op)) VMSG_FUZZ_CHECK(v == mask(size), what + ": no function, yet not all-ones");
        });
      }
      break;
    }
    case ops::Call::PortMmio: {
      const std::uint64_t addr = call_address(op);
      const std::string what = "LibPort mmio at " + std::to_string(addr) + " size " + std::to_string(size);
      if (op.flag) {
        expect_port(!mmio_size_ok(size), what, [&] { port.mmio_write(addr, size, op.value); });
      } else {
        expect_port(!mmio_size_ok(size), what, [&] {
          VMSG_FUZZ_CHECK((port.mmio_read(addr, size) & ~mask(size)) == 0, what + ": bits beyond the access size");
        });
      }
      break;
    }
    case ops::Call::PortBulk: {
      const std::uint64_t addr = call_address(op);
      std::vector<std::uint8_t> data(op.size);
      for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(op.value >> (8 * (i % 8)));
      const std::string what = "LibPort bulk at " + std::to_string(addr) + " length " + std::to_string(data.size());
      expect_port(false, what, [&] {
        if (op.flag) port.mem_write(addr, data);
        std::vector<std::uint8_t> back(data.size());
        port.mem_read(addr, back);
        // Inside RAM, a write reads back as written.
        const bool in_ram = addr < port.address_map().ram_base + port.address_map().ram_size &&
                            data.size() <= port.address_map().ram_base + port.address_map().ram_size - addr;
        if (op.flag && in_ram) VMSG_FUZZ_CHECK(back == data, what + ": RAM did not read back");
      });
      break;
    }
    case ops::Call::PortRules:
      port_rules(port, config, op);
      break;
    // State-changing direct calls are mirrored on the port's own instance, so
    // its BARs come up and its doorbells and time move as the direct one's.
    case ops::Call::ConfigWrite:
      if (config_shape_ok(op.offset, size)) {
        expect_port(false, "LibPort mirror of config_write", [&] {
          port.config_write(target(config, other_function(op)), op.offset, size, static_cast<std::uint32_t>(op.value));
        });
      }
      break;
    case ops::Call::MmioWrite:
      expect_port(!mmio_size_ok(size), "LibPort mirror of mmio_write",
                  [&] { port.mmio_write(call_address(op), size, op.value); });
      break;
    case ops::Call::Time:
      expect_port(false, "LibPort::advance_time", [&] { port.advance_time(op.value); });
      break;
    case ops::Call::ConfigRead:
    case ops::Call::MmioRead:
    case ops::Call::Stimulus:
    case ops::Call::Violations:
    case ops::Call::kCount:
      break;
  }
}

}  // namespace vmsg::fuzz

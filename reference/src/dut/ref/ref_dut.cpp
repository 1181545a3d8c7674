#include "ref_dut.hpp"

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "vmsg/common/errors.hpp"
#include "vmsg/devices/stimulus.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/transport/validating_endpoint.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::dut::ref {
namespace {

std::uint64_t size_mask(unsigned size) noexcept {
  return size >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * size)) - 1;
}

amp::AmpConfig amp_config(const DutConfig& c, bus::DriverRuleSink* rules) {
  const std::optional<wire::Layout> layout = wire::parse_layout(c.profile);
  if (!layout) throw ConfigError("reference DUT: profile '" + c.profile + "' unknown (pr28, rev1-2026)");
  amp::AmpConfig a;
  a.profile = *layout == wire::Layout::Rev1 ? wire::Profile::rev1() : wire::Profile::pr28();
  a.bus.strict_config_generation = c.strict_config_generation;
  a.num_fifos = c.num_fifos;
  a.faults = c.faults;
  a.bus.rule_sink = rules;
  return a;
}

/// One violation as an ABI line (vmsg_dut.h): fields never carry a newline.
std::string violation_line(const transport::RuleViolation& v) {
  std::string line = v.rule + " dev=" + std::to_string(v.dev_num) + " " + v.kind + ": " + v.detail;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line + "\n";
}

}  // namespace

/// The function's bus-master space: the host's guest memory. A failed host
/// call is a failed DMA (the device decides what that means), never an error.
/// A fatal report is kept: the library lives in the host's process, so the
/// device dies by failing every later call instead (RefDut::check_alive).
class RefDut::HostDma final : public pci::DmaSpace {
 public:
  HostDma(const vmsg_dut_host& host, port::PciAddress where)
      : host_(host), rid_(static_cast<std::uint16_t>((unsigned{where.bus} << 8) | (unsigned{where.device} << 3) |
                                                      unsigned{where.function})) {}
  bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    return host_.mem_read(host_.ctx, addr, out.data(), out.size()) == 0;
  }
  bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    return host_.mem_write(host_.ctx, addr, data.data(), data.size()) == 0;
  }
  bool msi_write(std::uint64_t addr, std::uint32_t data) override {
    return host_.msi_write(host_.ctx, rid_, addr, data) == 0;
  }
  void report_fatal(std::string_view report) override {
    if (crash_report.empty()) crash_report = report.empty() ? std::string("(no report)\n") : std::string(report);
  }

  /// The first fatal report, or empty.
  std::string crash_report;

 private:
  vmsg_dut_host host_;
  std::uint16_t rid_;
};

RefDut::RefDut(const DutConfig& config, const vmsg_dut_host& host)
    : config_(config),
      dma_(std::make_unique<HostDma>(host, config.address)),
      rules_(std::make_shared<transport::DriverRuleLog>()),
      device_(std::make_shared<amp::AmpPciDevice>(amp_config(config, rules_.get()))) {
  // The same assembly as target::ReferenceTarget: endpoints first, then the
  // function is attached to its bus-master space.
  for (const DutDevice& d : config_.devices) {
    if (d.fifo >= device_->num_fifos()) {
      throw ConfigError("reference DUT: device " + std::to_string(d.dev_num) + " on fifo " + std::to_string(d.fifo) +
                        ", but the device has " + std::to_string(device_->num_fifos()) + " FIFO(s)");
    }
    const amp::AmpConfig& amp = device_->config_params();
    const transport::TransportOptions o = transport::options_for_bus(amp.profile, amp.bus, config_.faults);
    auto dt = std::make_shared<transport::DeviceTransport>(devices::make_backend(d.kind, d.props), o);
    // The validator only watches (it never changes traffic), so the library
    // can report the driver rules a test broke, as the embedded target does.
    // It checks the rules of the draft the device speaks.
    dt->set_driver_rule_sink(rules_);  // the device type's driver rules, seen by the backend
    auto ep = std::make_shared<transport::ValidatingEndpoint>(
        dt, rules_, transport::ValidationProfile{amp.profile.layout, amp.bus.strict_config_generation});
    device_->plug(d.fifo, d.dev_num, *ep);
    transports_[{d.fifo, d.dev_num}] = std::move(dt);
    endpoints_.push_back(std::move(ep));
  }
  device_->attach(*dma_);
}

RefDut::~RefDut() = default;

bool RefDut::has_function(std::uint8_t bus, std::uint8_t device, std::uint8_t function) const noexcept {
  return port::PciAddress{bus, device, function} == config_.address;
}

void RefDut::check_alive() const {
  if (!dma_->crash_report.empty()) throw std::runtime_error("device crashed: " + dma_->crash_report);
}

std::uint32_t RefDut::config_read(std::uint16_t offset, unsigned size) {
  check_alive();
  const std::uint32_t v = device_->config_read(offset, size) & static_cast<std::uint32_t>(size_mask(size));
  check_alive();
  return v;
}

void RefDut::config_write(std::uint16_t offset, unsigned size, std::uint32_t value) {
  check_alive();
  device_->config_write(offset, size, value);
  check_alive();
}

bool RefDut::decode(std::uint64_t addr, unsigned size, Bar& bar) const {
  // Asked afresh at every access (the function keeps its answers while its
  // config space stands still): a config write may have moved or disabled a BAR.
  for (unsigned i = 0; i < kBarCount; ++i) {
    const auto m = device_->bar_mapping(i);
    if (!m || m->size == 0 || addr < m->base || addr - m->base >= m->size) continue;
    if (size > m->size || addr - m->base > m->size - size) return false;  // runs past the BAR: unbacked
    bar = {i, m->base};
    return true;
  }
  return false;
}

bool RefDut::mmio_read(std::uint64_t addr, unsigned size, std::uint64_t& value) {
  Bar b;
  if (!decode(addr, size, b)) return false;  // unbacked, as on the Machine: no device involved
  check_alive();
  value = device_->bar_read(b.index, addr - b.base, size) & size_mask(size);
  check_alive();
  return true;
}

bool RefDut::mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) {
  Bar b;
  if (!decode(addr, size, b)) return false;
  check_alive();
  device_->bar_write(b.index, addr - b.base, size, value & size_mask(size));
  check_alive();
  return true;
}

int RefDut::mmio_read_bulk(std::uint64_t addr, std::span<std::uint8_t> out) {
  Bar b;
  if (!decode(addr, 1, b)) return VMSG_DUT_UNMAPPED;
  check_alive();
  // The device declines ranges that are not plain memory or leave the BAR.
  return device_->bar_read_bulk(b.index, addr - b.base, out) ? VMSG_DUT_OK : VMSG_DUT_UNSUPPORTED;
}

int RefDut::mmio_write_bulk(std::uint64_t addr, std::span<const std::uint8_t> data) {
  Bar b;
  if (!decode(addr, 1, b)) return VMSG_DUT_UNMAPPED;
  check_alive();
  return device_->bar_write_bulk(b.index, addr - b.base, data) ? VMSG_DUT_OK : VMSG_DUT_UNSUPPORTED;
}

void RefDut::advance_time(std::uint64_t ns) {
  check_alive();
  device_->advance_time(ns);
  check_alive();
}

int RefDut::stimulus(const std::string& action) {
  check_alive();
  const devices::StimulusAction a = devices::parse_stimulus(action);
  const auto it = transports_.find({a.fifo, a.dev_num});
  if (it == transports_.end()) {
    throw ConfigError("reference DUT: stimulus: no device " + std::to_string(a.dev_num) + " on fifo " +
                      std::to_string(a.fifo));
  }
  return devices::apply_stimulus(a, it->second->backend()) ? VMSG_DUT_OK : VMSG_DUT_UNSUPPORTED;
}

int RefDut::violations(char* buf, std::size_t size) {
  if (buf == nullptr) {
    rules_->clear();
    return VMSG_DUT_OK;
  }
  const auto all = rules_->violations();
  std::size_t used = 0;
  std::size_t taken = 0;
  for (; taken < all.size(); ++taken) {
    const std::string line = violation_line(all[taken]);
    if (used + line.size() + 1 > size) {
      if (used != 0) break;
      // A line longer than the whole buffer is cut, so every call makes progress.
      const std::size_t n = size - 1;
      std::memcpy(buf, line.data(), n);
      used = n;
      ++taken;
      break;
    }
    std::memcpy(buf + used, line.data(), line.size());
    used += line.size();
  }
  buf[used] = '\0';
  // Cleared on read: keep only the lines not handed out yet.
  std::vector<transport::RuleViolation> rest(all.begin() + static_cast<std::ptrdiff_t>(taken), all.end());
  rules_->clear();
  for (auto& v : rest) rules_->record(std::move(v));
  return rest.empty() ? VMSG_DUT_OK : VMSG_DUT_MORE;
}

}  // namespace vmsg::dut::ref

// The reference device behind the DUT ABI: the amp-pci function with its
// virtio devices, bus mastering through the host callbacks. Internal to
// libvmsg_ref_dut.so; ref_abi.cpp wraps it in the C entry points.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vmsg/amp/amp_device.hpp"
#include "vmsg/bus/endpoint.hpp"
#include "vmsg/dut/config.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/transport/driver_rules.hpp"
#include "vmsg_dut.h"

namespace vmsg::dut::ref {

/// One reference instance. Methods throw (ConfigError for bad arguments,
/// anything else for model failures, "device crashed: REPORT" once a device
/// died); the ABI layer turns that into statuses.
class RefDut {
 public:
  /// Builds from a parsed configuration. Throws ConfigError when the config
  /// names something the reference cannot build.
  RefDut(const DutConfig& config, const vmsg_dut_host& host);
  ~RefDut();
  RefDut(const RefDut&) = delete;
  RefDut& operator=(const RefDut&) = delete;

  /// False when no function sits at bus/device/function.
  [[nodiscard]] bool has_function(std::uint8_t bus, std::uint8_t device, std::uint8_t function) const noexcept;
  [[nodiscard]] std::uint32_t config_read(std::uint16_t offset, unsigned size);
  void config_write(std::uint16_t offset, unsigned size, std::uint32_t value);
  /// False when no BAR decodes all of [addr, addr + size).
  bool mmio_read(std::uint64_t addr, unsigned size, std::uint64_t& value);
  bool mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value);
  /// ABI 1.2 bulk access: VMSG_DUT_OK, VMSG_DUT_UNSUPPORTED (not all plain
  /// memory of the BAR that decodes addr) or VMSG_DUT_UNMAPPED (no BAR there).
  int mmio_read_bulk(std::uint64_t addr, std::span<std::uint8_t> out);
  int mmio_write_bulk(std::uint64_t addr, std::span<const std::uint8_t> data);
  void advance_time(std::uint64_t ns);

  /// One stimulus action (vmsg_dut.h, ABI 1.1). Returns VMSG_DUT_OK or
  /// VMSG_DUT_UNSUPPORTED; throws ConfigError for a malformed action.
  int stimulus(const std::string& action);
  /// Writes pending violation lines into buf (vmsg_dut.h format) and forgets
  /// them; VMSG_DUT_MORE while some are left. buf NULL and size 0 clears.
  int violations(char* buf, std::size_t size);

  /// Storage for last_error() (owned here so it lives as long as the handle).
  std::string last_error;

 private:
  class HostDma;
  static constexpr unsigned kBarCount = 6;
  struct Bar {
    unsigned index = 0;
    std::uint64_t base = 0;
  };
  /// Throws once a device reported a fatal condition (a crash fault mode):
  /// a dead device answers nothing, but the host process lives on.
  void check_alive() const;
  /// The BAR that decodes all of the access, if any (first BAR containing addr decides).
  [[nodiscard]] bool decode(std::uint64_t addr, unsigned size, Bar& bar) const;

  DutConfig config_;
  std::unique_ptr<HostDma> dma_;
  // Before device_: the bus and registers of the function report into it.
  std::shared_ptr<transport::DriverRuleLog> rules_;
  std::vector<std::shared_ptr<bus::Endpoint>> endpoints_;
  /// The transports by (fifo, dev_num), for stimulus actions on their backends.
  std::map<std::pair<unsigned, unsigned>, std::shared_ptr<transport::DeviceTransport>> transports_;
  std::shared_ptr<amp::AmpPciDevice> device_;
};

}  // namespace vmsg::dut::ref

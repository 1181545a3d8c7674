// The reference device behind the DUT ABI: the amp-pci function with its
// virtio devices, bus mastering through the host callbacks. Internal to
// libvmsg_ref_dut.so; ref_abi.cpp wraps it in the C entry points.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vmsg/amp/amp_device.hpp"
#include "vmsg/bus/endpoint.hpp"
#include "vmsg/dut/config.hpp"
#include "vmsg_dut.h"

namespace vmsg::dut::ref {

/// One reference instance. Methods throw (ConfigError for bad arguments,
/// anything else for model failures); the ABI layer turns that into statuses.
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
  void advance_time(std::uint64_t ns);

  /// Storage for last_error() (owned here so it lives as long as the handle).
  std::string last_error;

 private:
  class HostDma;
  struct Bar {
    unsigned index = 0;
    std::uint64_t base = 0;
  };
  /// The BAR that decodes all of the access, if any (first BAR containing addr decides).
  [[nodiscard]] bool decode(std::uint64_t addr, unsigned size, Bar& bar) const;

  DutConfig config_;
  std::unique_ptr<HostDma> dma_;
  std::vector<std::shared_ptr<bus::Endpoint>> endpoints_;
  std::shared_ptr<amp::AmpPciDevice> device_;
};

}  // namespace vmsg::dut::ref

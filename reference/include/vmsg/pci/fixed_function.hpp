// A PCI function that is nothing but a fixed type-0 header: identity and
// header type, no BARs, no capabilities, nothing writable. Chipset functions
// a machine always has (machine/q35_platform.hpp) are modelled this way: a
// probe must find them, but no test drives them.
#pragma once

#include <cstdint>
#include <optional>

#include "vmsg/pci/config_space.hpp"
#include "vmsg/pci/pci_device.hpp"

namespace vmsg::pci {

/// Read-only function: config reads answer the header built from `identity`
/// (256..4095 and invalid accesses read all-ones, as ConfigSpace does);
/// config writes are dropped, so BAR sizing finds no BAR and Command stays 0.
/// It never decodes memory and never masters the bus.
class FixedFunction final : public PciDevice {
 public:
  /// `multi_function` sets bit 7 of the header type, which tells a scan to
  /// look at functions 1..7 of the device. Throws vmsg::ConfigError for a
  /// class code wider than 24 bits.
  FixedFunction(const PciIdentity& identity, bool multi_function);
  FixedFunction(const FixedFunction&) = delete;
  FixedFunction& operator=(const FixedFunction&) = delete;
  ~FixedFunction() override = default;

  void attach(DmaSpace& /*dma*/) override {}
  [[nodiscard]] std::uint32_t config_read(std::uint16_t offset, unsigned size) override {
    return config_.read(offset, size);
  }
  void config_write(std::uint16_t /*offset*/, unsigned /*size*/, std::uint32_t /*value*/) override {}
  [[nodiscard]] std::optional<BarMapping> bar_mapping(unsigned /*bar*/) const override { return std::nullopt; }
  /// Constant: the decode never changes.
  [[nodiscard]] const std::uint64_t* decode_generation() const noexcept override { return &kNeverMoves; }
  [[nodiscard]] bool decode_fixed() const noexcept override { return true; }
  [[nodiscard]] std::uint64_t bar_read(unsigned /*bar*/, std::uint64_t /*offset*/, unsigned /*size*/) override {
    return 0;
  }
  void bar_write(unsigned /*bar*/, std::uint64_t /*offset*/, unsigned /*size*/, std::uint64_t /*value*/) override {}
  void advance_time(std::uint64_t /*ns*/) override {}

 private:
  static constexpr std::uint64_t kNeverMoves = 0;
  ConfigSpace config_;
};

}  // namespace vmsg::pci

// A PCI function's bus-master view of the machine (DMA and MSI writes).
#pragma once

#include <cstdint>
#include <span>

namespace vmsg::pci {

/// What a device can reach as bus master. Implemented by the machine.
/// Accesses to addresses with no RAM behind them fail (return false) and
/// never touch anything; the device decides what a failed DMA means.
class DmaSpace {
 public:
  virtual ~DmaSpace() = default;
  [[nodiscard]] virtual bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out) = 0;
  [[nodiscard]] virtual bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) = 0;
  /// An MSI: a 32-bit little-endian write of `data` at `addr`. Kept apart from
  /// dma_write so a machine can count interrupts; the effect on RAM is the same.
  virtual bool msi_write(std::uint64_t addr, std::uint32_t data) = 0;
};

}  // namespace vmsg::pci

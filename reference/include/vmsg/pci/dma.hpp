// A PCI function's bus-master view of the machine (DMA and MSI writes).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

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
  /// The device met a condition its process would not survive (a fault mode
  /// that imitates a crashing implementation); `report` is what that process
  /// would print on stderr. The device stops handling the access that caused
  /// it. What dying means is the host's choice: a server process prints the
  /// report and exits, an in-process host fails the port access that caused
  /// it and every later one. Not DMA, so it does not depend on Bus Master
  /// Enable. A host that does not override this lets the device carry on.
  virtual void report_fatal(std::string_view report) { (void)report; }
};

}  // namespace vmsg::pci

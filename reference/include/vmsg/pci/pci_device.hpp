// The interface a machine uses to host a PCI function.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "vmsg/pci/dma.hpp"

namespace vmsg::pci {

/// A memory BAR as currently decoded: assigned base and size in bytes.
struct BarMapping {
  std::uint64_t base = 0;
  std::uint64_t size = 0;
};

/// A PCI function as seen from the host bridge. The machine routes config
/// cycles and decoded MMIO to it; the function reaches memory through the
/// DmaSpace it was attached to.
class PciDevice {
 public:
  virtual ~PciDevice() = default;

  /// Connects the function to the machine's bus-master space. Called once when plugged.
  virtual void attach(DmaSpace& dma) = 0;

  /// Type-0 configuration space access (offset < 4096; size 1, 2 or 4, naturally aligned).
  virtual std::uint32_t config_read(std::uint16_t offset, unsigned size) = 0;
  virtual void config_write(std::uint16_t offset, unsigned size, std::uint32_t value) = 0;

  /// BAR `bar` as the machine should decode it now: nullopt when the BAR is
  /// not implemented, memory decoding is off, or the BAR is still unassigned
  /// (reads as zero after sizing).
  [[nodiscard]] virtual std::optional<BarMapping> bar_mapping(unsigned bar) const = 0;

  /// A counter that moves whenever bar_mapping() may answer differently, so
  /// the host can cache its decode and check it with one load per access. It
  /// lives as long as the device. nullptr (the default) means "ask every time".
  [[nodiscard]] virtual const std::uint64_t* decode_generation() const noexcept { return nullptr; }
  /// True when bar_mapping() answers the same for the device's whole life
  /// (no BAR implemented, nothing to move): the host decodes it once and
  /// leaves it out of the per-access check.
  [[nodiscard]] virtual bool decode_fixed() const noexcept { return false; }

  /// Bulk access to BAR `bar` when all of [offset, offset + size) is plain
  /// memory, where one copy is exactly what the same bytes in naturally
  /// aligned pieces would do. false (the default, and for any range with
  /// registers in it) means "not here": the host goes piece by piece.
  virtual bool bar_read_bulk(unsigned /*bar*/, std::uint64_t /*offset*/, std::span<std::uint8_t> /*out*/) {
    return false;
  }
  virtual bool bar_write_bulk(unsigned /*bar*/, std::uint64_t /*offset*/, std::span<const std::uint8_t> /*data*/) {
    return false;
  }

  /// One access of `size` (1, 2, 4, 8) bytes at `offset` inside BAR `bar`.
  virtual std::uint64_t bar_read(unsigned bar, std::uint64_t offset, unsigned size) = 0;
  virtual void bar_write(unsigned bar, std::uint64_t offset, unsigned size, std::uint64_t value) = 0;

  /// Virtual time passed; devices run timers and retries from here.
  virtual void advance_time(std::uint64_t ns) = 0;
};

}  // namespace vmsg::pci

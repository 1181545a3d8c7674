// The port: the one seam between drivers/tests/fuzzers and a target.
//
// Every target implements it: the in-process machine (machine/machine.hpp),
// QEMU over qtest, and a vendor library behind the C ABI. Drivers are written
// against this interface only (the libqos model), so they run unchanged on
// every target. Interrupts are not a call: the device's MSI-X writes land in
// guest RAM, and a driver observes them with mem_read, as it would under qtest.
#pragma once

#include <compare>
#include <cstdint>
#include <span>
#include <string>

#include "vmsg/common/errors.hpp"

namespace vmsg::port {

/// Bus/device/function of a PCI function on the target.
struct PciAddress {
  std::uint8_t bus = 0;
  std::uint8_t device = 0;
  std::uint8_t function = 0;
  friend constexpr auto operator<=>(const PciAddress&, const PciAddress&) = default;
};

/// Where a driver may place things: free guest RAM for rings, buffers and
/// MSI targets, and the window in which it assigns BAR addresses.
struct AddressMap {
  std::uint64_t ram_base = 0;   ///< first byte of RAM the driver may use
  std::uint64_t ram_size = 0;   ///< bytes of RAM from ram_base
  std::uint64_t mmio_base = 0;  ///< first address of the BAR window
  std::uint64_t mmio_size = 0;  ///< size of the BAR window
};

/// Target-neutral access to a machine hosting the device under test.
///
/// Sizes: config accesses are 1, 2 or 4 bytes, MMIO accesses 1, 2, 4 or 8
/// bytes. A size outside those sets throws vmsg::PortError; so does a target
/// that is gone (crashed QEMU, timed-out command). Alignment is not checked
/// here: unaligned MMIO is passed to the target, whose behaviour is under test.
class Port {
 public:
  virtual ~Port() = default;

  /// Reads PCI configuration space. An absent function reads all-ones.
  virtual std::uint32_t config_read(PciAddress fn, std::uint16_t offset, unsigned size) = 0;
  virtual void config_write(PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) = 0;

  /// One MMIO (or RAM) access of exactly `size` bytes at a guest-physical address.
  virtual std::uint64_t mmio_read(std::uint64_t addr, unsigned size) = 0;
  virtual void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) = 0;

  /// Bulk guest-physical memory transfer (RAM, or RAM-like BARs such as the
  /// FIFO window). Unbacked addresses read as zero and ignore writes.
  virtual void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) = 0;
  virtual void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) = 0;

  /// Advances the target's virtual clock by `ns` nanoseconds. A step that
  /// would carry the clock past 2^64-1 ns throws PortError and advances
  /// nothing: virtual time never wraps round to the past.
  virtual void advance_time(std::uint64_t ns) = 0;

  /// Memory layout facts a driver needs for placing BARs and buffers.
  [[nodiscard]] virtual AddressMap address_map() const = 0;
};

/// The clock after a step of `ns` from `now`, for ports that keep the clock
/// themselves; throws PortError when it would pass 2^64-1 (see advance_time).
[[nodiscard]] inline std::uint64_t clock_after(std::uint64_t now, std::uint64_t ns) {
  if (ns > UINT64_MAX - now) {
    throw PortError("advance_time(" + std::to_string(ns) + "): the clock at " + std::to_string(now) +
                    " ns would overflow");
  }
  return now + ns;
}

}  // namespace vmsg::port

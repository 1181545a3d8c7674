// Allocators for a driver running against a port: guest RAM for rings,
// buffers and MSI words, and the BAR window for PCI BAR addresses.
#pragma once

#include <cstdint>
#include <string>

#include "vmsg/port/port.hpp"

namespace vmsg::driver {

/// Hands out increasing, aligned sub-ranges of [base, base + size) and never
/// frees, like libqos' allocator in a single-test lifetime: a test machine is
/// short-lived, and a predictable layout makes failures reproducible.
///
/// Errors (see driver/errors.hpp): OutOfSpace when a request does not fit;
/// vmsg::ConfigError for size 0, an alignment that is not a power of two, or
/// a range that wraps the address space.
class BumpAllocator {
 public:
  BumpAllocator(std::string pool, std::uint64_t base, std::uint64_t size);

  /// Base of `size` fresh bytes aligned to `align`.
  [[nodiscard]] std::uint64_t alloc(std::uint64_t size, std::uint64_t align);

  [[nodiscard]] std::uint64_t base() const noexcept { return base_; }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  /// Bytes consumed so far, alignment padding included.
  [[nodiscard]] std::uint64_t used() const noexcept { return next_ - base_; }
  [[nodiscard]] std::uint64_t remaining() const noexcept { return size_ - used(); }
  /// Forgets every allocation (for a driver that re-initialises the machine).
  void reset() noexcept { next_ = base_; }

 private:
  std::string pool_;
  std::uint64_t base_;
  std::uint64_t size_;
  std::uint64_t next_;
};

/// Driver-usable guest RAM (AddressMap::ram_base/ram_size). Note the port
/// offers no way to zero RAM in bulk besides mem_write: RAM is zero at start
/// on every target, so fresh allocations are zero unless reused after reset().
class GuestAllocator {
 public:
  /// Cache-line alignment by default, so separately allocated rings never share a line.
  static constexpr std::uint64_t kDefaultAlign = 64;

  explicit GuestAllocator(const port::AddressMap& map) : bump_("guest RAM", map.ram_base, map.ram_size) {}

  [[nodiscard]] std::uint64_t alloc(std::uint64_t size, std::uint64_t align = kDefaultAlign) {
    return bump_.alloc(size, align);
  }
  [[nodiscard]] const BumpAllocator& pool() const noexcept { return bump_; }
  void reset() noexcept { bump_.reset(); }

 private:
  BumpAllocator bump_;
};

/// The BAR window (AddressMap::mmio_base/mmio_size). Every range is aligned to
/// its own size, as PCI requires of a BAR (its low address bits are hardwired).
class BarWindowAllocator {
 public:
  explicit BarWindowAllocator(const port::AddressMap& map) : bump_("BAR window", map.mmio_base, map.mmio_size) {}

  /// `size` must be a power of two (a BAR size always is); ConfigError otherwise.
  [[nodiscard]] std::uint64_t alloc(std::uint64_t size);
  [[nodiscard]] const BumpAllocator& pool() const noexcept { return bump_; }
  void reset() noexcept { bump_.reset(); }

 private:
  BumpAllocator bump_;
};

}  // namespace vmsg::driver

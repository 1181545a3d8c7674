#include "vmsg/machine/guest_ram.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "vmsg/common/errors.hpp"

namespace vmsg::machine {

GuestRam::GuestRam(std::uint64_t size) : size_(size) {
  if (size == 0) {
    throw ConfigError("GuestRam: size must be non-zero");
  }
  if constexpr (sizeof(std::size_t) < sizeof(std::uint64_t)) {
    if (size > std::numeric_limits<std::size_t>::max()) {
      throw ConfigError("GuestRam: size exceeds the host address space");
    }
  }
  // calloc, not new[]{}: the kernel hands out zero pages lazily, so untouched
  // RAM is free even for large machines.
  bytes_.reset(static_cast<std::uint8_t*>(std::calloc(static_cast<std::size_t>(size), 1)));
  if (!bytes_) {
    throw ConfigError("GuestRam: cannot allocate " + std::to_string(size) + " bytes");
  }
  const std::uint64_t pages = (size + kDirtyPage - 1) / kDirtyPage;
  dirty_.assign(static_cast<std::size_t>((pages + 63) / 64), 0);
}

void GuestRam::mark_dirty(std::uint64_t addr, std::uint64_t len) noexcept {
  if (len == 0) return;
  const std::uint64_t last = (addr + len - 1) / kDirtyPage;  // callers checked contains(), so no overflow
  for (std::uint64_t p = addr / kDirtyPage; p <= last; ++p) {
    dirty_[static_cast<std::size_t>(p / 64)] |= std::uint64_t{1} << (p % 64);
  }
}

void GuestRam::clear() noexcept {
  for (std::size_t w = 0; w < dirty_.size(); ++w) {
    std::uint64_t bits = dirty_[w];
    while (bits != 0) {
      const auto bit = static_cast<unsigned>(__builtin_ctzll(bits));
      bits &= bits - 1;
      const std::uint64_t base = (std::uint64_t{w} * 64 + bit) * kDirtyPage;
      const std::uint64_t n = std::min(kDirtyPage, size_ - base);
      std::memset(bytes_.get() + base, 0, static_cast<std::size_t>(n));
    }
    dirty_[w] = 0;
  }
}

bool GuestRam::read(std::uint64_t addr, std::span<std::uint8_t> out) const noexcept {
  if (!contains(addr, out.size())) {
    return false;
  }
  if (!out.empty()) {  // memcpy with a null destination is undefined even for 0 bytes
    std::memcpy(out.data(), bytes_.get() + addr, out.size());
  }
  return true;
}

bool GuestRam::write(std::uint64_t addr, std::span<const std::uint8_t> data) noexcept {
  if (!contains(addr, data.size())) {
    return false;
  }
  if (!data.empty()) {
    mark_dirty(addr, data.size());
    std::memcpy(bytes_.get() + addr, data.data(), data.size());
  }
  return true;
}

std::optional<std::uint64_t> GuestRam::load(std::uint64_t addr, unsigned size) const noexcept {
  if (size == 0 || size > 8 || !contains(addr, size)) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    v |= std::uint64_t{bytes_[addr + i]} << (8 * i);
  }
  return v;
}

bool GuestRam::store(std::uint64_t addr, unsigned size, std::uint64_t value) noexcept {
  if (size == 0 || size > 8 || !contains(addr, size)) {
    return false;
  }
  mark_dirty(addr, size);
  for (unsigned i = 0; i < size; ++i) {
    bytes_[addr + i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
  return true;
}

}  // namespace vmsg::machine

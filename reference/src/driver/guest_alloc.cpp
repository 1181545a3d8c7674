#include "vmsg/driver/guest_alloc.hpp"

#include <limits>
#include <string>
#include <utility>

#include "vmsg/common/errors.hpp"
#include "vmsg/driver/errors.hpp"

namespace vmsg::driver {

namespace {

bool is_pow2(std::uint64_t v) noexcept { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

BumpAllocator::BumpAllocator(std::string pool, std::uint64_t base, std::uint64_t size)
    : pool_(std::move(pool)), base_(base), size_(size), next_(base) {
  if (size > std::numeric_limits<std::uint64_t>::max() - base) {
    throw ConfigError(pool_ + ": range wraps the address space");
  }
}

std::uint64_t BumpAllocator::alloc(std::uint64_t size, std::uint64_t align) {
  if (size == 0) {
    throw ConfigError(pool_ + ": zero-size allocation");
  }
  if (!is_pow2(align)) {
    throw ConfigError(pool_ + ": alignment " + std::to_string(align) + " is not a power of two");
  }
  const std::uint64_t end = base_ + size_;
  // Round next_ up to `align` without overflowing near the top of the space.
  const std::uint64_t pad = (align - (next_ & (align - 1))) & (align - 1);
  if (pad > end - next_ || size > end - next_ - pad) {
    throw OutOfSpace(pool_, size, align, remaining());
  }
  const std::uint64_t at = next_ + pad;
  next_ = at + size;
  return at;
}

std::uint64_t BarWindowAllocator::alloc(std::uint64_t size) {
  if (!is_pow2(size)) {
    throw ConfigError("BAR window: size " + std::to_string(size) + " is not a power of two");
  }
  return bump_.alloc(size, size);
}

}  // namespace vmsg::driver

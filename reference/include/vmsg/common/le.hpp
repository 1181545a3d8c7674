// Explicit little-endian loads and stores on byte spans.
//
// Wire data and shared-memory indices are always little-endian, whatever the
// host. These helpers assemble values byte by byte so no code ever reinterprets
// a buffer as a struct. Callers check bounds once at the edge (the codec checks
// msg_size against the buffer); the helpers assert in debug builds only.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>

#include "vmsg/common/no_coverage.hpp"

namespace vmsg::le {

/// Loads an unsigned little-endian value of sizeof(T) bytes at `off`.
template <typename T>
[[nodiscard]] VMSG_NO_COVERAGE_FEEDBACK constexpr T load(std::span<const std::uint8_t> b, std::size_t off) noexcept {
  assert(off + sizeof(T) <= b.size());
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<T>(v | static_cast<T>(static_cast<T>(b[off + i]) << (8 * i)));
  }
  return v;
}

/// Stores `v` as sizeof(T) little-endian bytes at `off`.
template <typename T>
VMSG_NO_COVERAGE_FEEDBACK constexpr void store(std::span<std::uint8_t> b, std::size_t off, T v) noexcept {
  assert(off + sizeof(T) <= b.size());
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

[[nodiscard]] constexpr std::uint16_t load16(std::span<const std::uint8_t> b, std::size_t off) noexcept {
  return load<std::uint16_t>(b, off);
}
[[nodiscard]] constexpr std::uint32_t load32(std::span<const std::uint8_t> b, std::size_t off) noexcept {
  return load<std::uint32_t>(b, off);
}
[[nodiscard]] constexpr std::uint64_t load64(std::span<const std::uint8_t> b, std::size_t off) noexcept {
  return load<std::uint64_t>(b, off);
}
constexpr void store16(std::span<std::uint8_t> b, std::size_t off, std::uint16_t v) noexcept { store(b, off, v); }
constexpr void store32(std::span<std::uint8_t> b, std::size_t off, std::uint32_t v) noexcept { store(b, off, v); }
constexpr void store64(std::span<std::uint8_t> b, std::size_t off, std::uint64_t v) noexcept { store(b, off, v); }

}  // namespace vmsg::le

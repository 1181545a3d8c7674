// Hexadecimal numbers for diagnostics (violation details, error messages).
#pragma once

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>

namespace vmsg {

/// `v` as "0x" and lower-case hex digits, zero-padded to at least `width` digits.
[[nodiscard]] inline std::string hex(std::uint64_t v, std::size_t width = 0) {
  std::array<char, 16> buf{};
  char* end = std::to_chars(buf.data(), buf.data() + buf.size(), v, 16).ptr;
  const std::string digits(buf.data(), end);
  return "0x" + std::string(width > digits.size() ? width - digits.size() : 0, '0') + digits;
}

}  // namespace vmsg

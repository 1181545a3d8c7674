// The common 8-byte header, decoded field by field.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "vmsg/wire/constants.hpp"

namespace vmsg::wire {

/// The raw header fields as they appear on the wire.
struct Header {
  std::uint8_t type = 0;
  std::uint8_t msg_id = 0;
  std::uint16_t dev_num = 0;
  std::uint16_t token = 0;
  std::uint16_t msg_size = 0;

  [[nodiscard]] constexpr bool is_response() const noexcept { return (type & type_bits::kResponse) != 0; }
  [[nodiscard]] constexpr bool is_bus() const noexcept { return (type & type_bits::kBus) != 0; }
  [[nodiscard]] constexpr std::uint8_t reserved_bits() const noexcept { return type & type_bits::kReserved; }
  friend constexpr bool operator==(const Header&, const Header&) = default;
};

/// Reads the header from the first 8 bytes; nullopt when fewer are given.
[[nodiscard]] std::optional<Header> peek_header(std::span<const std::uint8_t> bytes) noexcept;
/// Writes the header into the first 8 bytes of `out` (out.size() >= 8).
void write_header(std::span<std::uint8_t> out, const Header& h) noexcept;

}  // namespace vmsg::wire

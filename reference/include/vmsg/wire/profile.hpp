// Wire profiles: which draft's layouts the codec uses, and the bus maximum.
#pragma once

#include <cstdint>
#include <string_view>

namespace vmsg::wire {

/// Which draft's field layouts apply. Only PR28 (December 2025, the draft
/// QEMU's device implements) exists today; REV1-2026 (virtio-msg.md §13) is
/// meant to be added here as a second layout without changing callers.
enum class Layout : std::uint8_t { Pr28 };

/// The layout choice plus the bus parameters a codec needs.
struct Profile {
  Layout layout = Layout::Pr28;
  /// Bus maximum message size in bytes, header included (AMP: 64, one slot).
  std::uint32_t max_msg_size = 64;

  /// The default profile for the AMP PCI bus: PR28 layouts, 64-byte messages.
  [[nodiscard]] static constexpr Profile pr28(std::uint32_t max_msg_size = 64) noexcept {
    return Profile{Layout::Pr28, max_msg_size};
  }
  [[nodiscard]] std::string_view name() const noexcept;
  friend constexpr bool operator==(const Profile&, const Profile&) = default;
};

}  // namespace vmsg::wire

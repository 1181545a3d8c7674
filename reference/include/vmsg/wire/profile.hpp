// Wire profiles: which draft's layouts the codec uses, and the bus maximum.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vmsg::wire {

/// Which draft's field layouts apply: PR28 (December 2025, the draft QEMU's
/// v2 device implements) or REV1-2026 (the v2 OASIS proposal,
/// virtio-msg-rev1.md), which both call themselves transport revision 1.
enum class Layout : std::uint8_t { Pr28, Rev1 };

/// The layout choice plus the bus parameters a codec needs.
struct Profile {
  Layout layout = Layout::Pr28;
  /// Bus maximum message size in bytes, header included (AMP: 64, one slot).
  std::uint32_t max_msg_size = 64;

  /// The default profile for the AMP PCI bus: PR28 layouts, 64-byte messages.
  [[nodiscard]] static constexpr Profile pr28(std::uint32_t max_msg_size = 64) noexcept {
    return Profile{Layout::Pr28, max_msg_size};
  }
  /// REV1 layouts; the AMP bus keeps its 64-byte slots.
  [[nodiscard]] static constexpr Profile rev1(std::uint32_t max_msg_size = 64) noexcept {
    return Profile{Layout::Rev1, max_msg_size};
  }
  /// "pr28" or "rev1-2026", the names the suite's --profile uses.
  [[nodiscard]] std::string_view name() const noexcept;
  friend constexpr bool operator==(const Profile&, const Profile&) = default;
};

/// The layout named `name` ("pr28" or "rev1-2026"); nullopt for anything else.
[[nodiscard]] std::optional<Layout> parse_layout(std::string_view name) noexcept;

}  // namespace vmsg::wire

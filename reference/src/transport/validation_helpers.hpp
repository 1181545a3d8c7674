// Internal to src/transport: the value helpers the validating endpoint's
// checks share (its PR28 and REV1 halves live in separate files).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "vmsg/common/hex.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::transport::detail {

inline constexpr std::uint64_t bit(unsigned n) { return std::uint64_t{1} << n; }
inline constexpr unsigned kIndirectDescBit = 28;      // VIRTIO_F_INDIRECT_DESC
inline constexpr unsigned kEventIdxBit = 29;          // VIRTIO_F_EVENT_IDX
inline constexpr unsigned kRingResetBit = 40;         // VIRTIO_F_RING_RESET
inline constexpr unsigned kNotificationDataBit = 38;  // VIRTIO_F_NOTIFICATION_DATA
inline constexpr unsigned kNotifConfigDataBit = 39;   // VIRTIO_F_NOTIF_CONFIG_DATA (REV1 L895)

/// The entropy device's ID; its queue 0 is the request queue (VIRTIO entropy description.tex).
inline constexpr std::uint32_t kEntropyDeviceId = 4;

/// A little-endian word of guest memory as the device reads it; nullopt when
/// the read fails or the word would wrap past 2^64.
template <typename T>
[[nodiscard]] std::optional<T> read_le(pci::DmaSpace& mem, std::uint64_t addr) {
  std::array<std::uint8_t, sizeof(T)> raw{};
  if (addr > std::numeric_limits<std::uint64_t>::max() - (sizeof(T) - 1) || !mem.dma_read(addr, raw)) return std::nullopt;
  return le::load<T>(raw, 0);
}

/// Queue indices the model tracks individually. Beyond this the model keeps
/// nothing, so a driver spraying indices cannot grow it without bound; such a
/// queue simply reads as never queried and never configured.
inline constexpr std::uint32_t kModelQueues = 0x10000;

/// Split-ring alignment (core spec split-ring.tex L29-38; virtio-msg.md §11).
inline constexpr std::uint64_t kDescAlign = 16;
inline constexpr std::uint64_t kAvailAlign = 2;
inline constexpr std::uint64_t kUsedAlign = 4;

/// An address range [addr, addr + len); false when it wraps past 2^64.
struct Range {
  std::uint64_t addr;
  std::uint64_t len;
  [[nodiscard]] bool wraps() const noexcept { return len != 0 && addr > std::numeric_limits<std::uint64_t>::max() - (len - 1); }
  [[nodiscard]] bool overlaps(const Range& o) const noexcept {
    return addr < o.addr + o.len && o.addr < addr + len;  // only called when neither wraps
  }
};

/// The three split-ring areas of a SET_VQUEUE (avail with used_event, used with avail_event).
inline std::array<Range, 3> ring_areas(const wire::SetVqueueReq& r) {
  const std::uint64_t n = r.size;
  return {Range{r.desc_addr, 16 * n}, Range{r.driver_addr, 6 + 2 * n}, Range{r.device_addr, 6 + 8 * n}};
}

inline bool areas_wrap(const wire::SetVqueueReq& r) {
  for (const Range& a : ring_areas(r)) {
    if (a.wraps()) return true;
  }
  return false;
}

inline bool areas_overlap(const wire::SetVqueueReq& r) {
  const auto a = ring_areas(r);
  return a[0].overlaps(a[1]) || a[0].overlaps(a[2]) || a[1].overlaps(a[2]);
}

inline bool aligned(const wire::SetVqueueReq& r) {
  return r.desc_addr % kDescAlign == 0 && r.driver_addr % kAvailAlign == 0 && r.device_addr % kUsedAlign == 0;
}

/// REV1 alignment of the addresses a SET_VQUEUE applies (ignore bits clear).
inline bool aligned_applied(const wire::SetVqueueReq& r, bool desc, bool driver, bool device) {
  return (!desc || r.desc_addr % kDescAlign == 0) && (!driver || r.driver_addr % kAvailAlign == 0) &&
         (!device || r.device_addr % kUsedAlign == 0);
}

}  // namespace vmsg::transport::detail

// Byte layout of the split-virtqueue areas (core virtio "split virtqueues").
//
// Offsets and flag values only, shared by the device side (SplitQueue) and by
// anything that lays out rings as a driver would (tests, the reference
// driver). Every field is little-endian and must be accessed field by field.
#pragma once

#include <cstdint>

namespace vmsg::virtqueue::ring {

/// Descriptor table entry: le64 addr, le32 len, le16 flags, le16 next.
inline constexpr std::uint64_t kDescSize = 16;
inline constexpr std::uint64_t kDescAddrOffset = 0;
inline constexpr std::uint64_t kDescLenOffset = 8;
inline constexpr std::uint64_t kDescFlagsOffset = 12;
inline constexpr std::uint64_t kDescNextOffset = 14;

inline constexpr std::uint16_t kDescFNext = 1;      ///< VIRTQ_DESC_F_NEXT: `next` continues the chain
inline constexpr std::uint16_t kDescFWrite = 2;     ///< VIRTQ_DESC_F_WRITE: device-writable buffer
inline constexpr std::uint16_t kDescFIndirect = 4;  ///< VIRTQ_DESC_F_INDIRECT: buffer is a descriptor table

inline constexpr std::uint16_t kAvailFNoInterrupt = 1;  ///< VIRTQ_AVAIL_F_NO_INTERRUPT (without EVENT_IDX)
inline constexpr std::uint16_t kUsedFNoNotify = 1;      ///< VIRTQ_USED_F_NO_NOTIFY (without EVENT_IDX)

/// Used ring element: le32 id, le32 len.
inline constexpr std::uint64_t kUsedElemSize = 8;

/// Bytes of the descriptor table.
[[nodiscard]] constexpr std::uint64_t desc_table_bytes(std::uint32_t size) noexcept {
  return kDescSize * size;
}
/// Bytes of the driver area: flags, idx, ring[size], used_event.
[[nodiscard]] constexpr std::uint64_t avail_ring_bytes(std::uint32_t size) noexcept {
  return 6 + std::uint64_t{2} * size;
}
/// Bytes of the device area: flags, idx, ring[size], avail_event.
[[nodiscard]] constexpr std::uint64_t used_ring_bytes(std::uint32_t size) noexcept {
  return 6 + kUsedElemSize * size;
}

// Offsets within the driver (available) area.
inline constexpr std::uint64_t kAvailFlagsOffset = 0;
inline constexpr std::uint64_t kAvailIdxOffset = 2;
[[nodiscard]] constexpr std::uint64_t avail_ring_offset(std::uint32_t slot) noexcept {
  return 4 + std::uint64_t{2} * slot;
}
[[nodiscard]] constexpr std::uint64_t used_event_offset(std::uint32_t size) noexcept {
  return avail_ring_offset(size);
}

// Offsets within the device (used) area.
inline constexpr std::uint64_t kUsedFlagsOffset = 0;
inline constexpr std::uint64_t kUsedIdxOffset = 2;
[[nodiscard]] constexpr std::uint64_t used_ring_offset(std::uint32_t slot) noexcept {
  return 4 + kUsedElemSize * slot;
}
[[nodiscard]] constexpr std::uint64_t avail_event_offset(std::uint32_t size) noexcept {
  return used_ring_offset(size);
}

/// vring_need_event: whether moving the index from `old_idx` to `new_idx`
/// crossed `event_idx` (the entry after which the other side asked to be told).
[[nodiscard]] constexpr bool need_event(std::uint16_t event_idx, std::uint16_t new_idx,
                                        std::uint16_t old_idx) noexcept {
  return static_cast<std::uint16_t>(new_idx - event_idx - 1) < static_cast<std::uint16_t>(new_idx - old_idx);
}

}  // namespace vmsg::virtqueue::ring

// Layout of the AMP FIFO windows in BAR1 and of the SPSC queues inside them
// (amp-pci-device.md §5.1-§5.2; AMP-007, AMP-008, AMP-009, AMP-011).
//
// Every number the ring, the device and the driver use about the layout lives
// here, so the three cannot drift apart.
#pragma once

#include <cstdint>

namespace vmsg::fifo {

/// Bytes in one FIFO window; FIFO f starts at BAR1 + f * kWindowSize (AMP-007).
inline constexpr std::uint32_t kWindowSize = 0x4000;
/// Offset in a window of the driver queue (the driver produces, the device consumes).
inline constexpr std::uint32_t kDriverQueueOffset = 0x1000;
/// Offset in a window of the device queue (the device produces, the driver consumes).
inline constexpr std::uint32_t kDeviceQueueOffset = 0x2000;

/// Bytes in one queue: header plus slots, ending exactly at 4 KiB.
inline constexpr std::uint32_t kQueueSize = 0x1000;
/// le32 producer index; written by the producer only (AMP-008, AMP-010).
inline constexpr std::uint32_t kHeadOffset = 0x00;
/// le32 consumer index; on its own 64-byte line, written by the consumer only.
inline constexpr std::uint32_t kTailOffset = 0x40;
/// First slot; the 128-byte header keeps both indices off the slot lines.
inline constexpr std::uint32_t kSlotsOffset = 0x80;
/// Bytes per slot, which is also the bus maximum message size (AMP-014).
inline constexpr std::uint32_t kSlotSize = 64;
/// Slots per queue (AMP-009). Indices are always in [0, kSlotCount).
inline constexpr std::uint32_t kSlotCount = (kQueueSize - kSlotsOffset) / kSlotSize;
/// Messages in flight at most: one slot always stays empty to tell full from empty (AMP-011).
inline constexpr std::uint32_t kUsableSlots = kSlotCount - 1;
/// Largest message a slot carries.
inline constexpr std::uint32_t kMaxMessageSize = kSlotSize;

static_assert(kSlotCount == 62);
static_assert(kSlotsOffset + kSlotCount * kSlotSize == kQueueSize);

/// Which of a window's two queues.
enum class QueueKind : std::uint8_t {
  Driver,  ///< driver -> device, at window + 0x1000
  Device,  ///< device -> driver, at window + 0x2000
};

/// Offset of a queue from the start of BAR1, for FIFO `fifo`.
[[nodiscard]] constexpr std::uint64_t queue_offset(std::uint32_t fifo, QueueKind kind) noexcept {
  return std::uint64_t{fifo} * kWindowSize +
         (kind == QueueKind::Driver ? kDriverQueueOffset : kDeviceQueueOffset);
}

/// Offset of slot `index` from the queue base. Precondition: index < kSlotCount
/// (the ring only passes sanitised indices).
[[nodiscard]] constexpr std::uint32_t slot_offset(std::uint32_t index) noexcept {
  return kSlotsOffset + index * kSlotSize;
}

/// The index after `index`, wrapping at kSlotCount. Precondition: index < kSlotCount.
[[nodiscard]] constexpr std::uint32_t next_index(std::uint32_t index) noexcept {
  return (index + 1) % kSlotCount;
}

}  // namespace vmsg::fifo

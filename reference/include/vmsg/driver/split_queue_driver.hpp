// The driver half of a split virtqueue (core virtio "split virtqueues") in
// guest RAM, reached through the port only, so it runs unchanged against the
// in-process machine and against QEMU.
//
// Ring memory is accessed field by field in little-endian (le.hpp) with
// port mem_read/mem_write; nothing is cached that the device may change
// (used.idx, used elements, used.flags, avail_event are re-read every time).
// The device is not trusted: an impossible used element breaks the queue
// with a typed error instead of corrupting the free list.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "vmsg/driver/virtio_error.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::driver {

/// Split-ring constants (core spec; duplicated here because driver code must
/// not include the device-side virtqueue headers).
namespace vring {
inline constexpr std::uint16_t kDescFNext = 1;
inline constexpr std::uint16_t kDescFWrite = 2;
inline constexpr std::uint16_t kAvailFNoInterrupt = 1;
inline constexpr std::uint16_t kUsedFNoNotify = 1;
inline constexpr std::uint32_t kMaxSize = 32768;
inline constexpr std::uint64_t kDescAlign = 16;
inline constexpr std::uint64_t kAvailAlign = 2;
inline constexpr std::uint64_t kUsedAlign = 4;
inline constexpr std::uint64_t kDescSize = 16;
/// Bytes of each area for `size` descriptors, event-index words included.
[[nodiscard]] constexpr std::uint64_t desc_bytes(std::uint32_t size) noexcept { return kDescSize * size; }
[[nodiscard]] constexpr std::uint64_t avail_bytes(std::uint32_t size) noexcept { return 6 + 2ULL * size; }
[[nodiscard]] constexpr std::uint64_t used_bytes(std::uint32_t size) noexcept { return 6 + 8ULL * size; }
/// vring_need_event: true if `event` lies in (old_idx, new_idx].
[[nodiscard]] constexpr bool need_event(std::uint16_t event, std::uint16_t new_idx, std::uint16_t old_idx) noexcept {
  return static_cast<std::uint16_t>(new_idx - event - 1) < static_cast<std::uint16_t>(new_idx - old_idx);
}
}  // namespace vring

/// Where the three areas of a split ring live and how many descriptors it has.
struct RingLayout {
  std::uint32_t size = 0;
  std::uint64_t desc = 0;   ///< descriptor table, 16-byte aligned
  std::uint64_t avail = 0;  ///< driver area (available ring), 2-byte aligned
  std::uint64_t used = 0;   ///< device area (used ring), 4-byte aligned
  friend bool operator==(const RingLayout&, const RingLayout&) = default;
};

/// One guest buffer of a chain.
struct BufferSegment {
  std::uint64_t addr = 0;
  std::uint32_t len = 0;
};

/// One used element as the device reported it.
struct UsedElem {
  std::uint16_t id = 0;   ///< head of the returned chain
  std::uint32_t len = 0;  ///< bytes the device wrote into the chain
  friend bool operator==(const UsedElem&, const UsedElem&) = default;
};

/// Notification choices of a queue.
struct SplitQueueOptions {
  /// VIRTIO_F_EVENT_IDX negotiated: use used_event/avail_event instead of flags.
  bool event_idx = false;
  /// Start with device interrupts (EVENT_USED) suppressed: the driver polls.
  bool no_interrupt = false;
};

/// Counters of one queue.
struct SplitQueueStats {
  std::uint64_t added = 0;      ///< chains added
  std::uint64_t published = 0;  ///< avail.idx writes
  std::uint64_t reaped = 0;     ///< used elements taken back
  std::uint64_t kicks_needed = 0;
  std::uint64_t kicks_suppressed = 0;  ///< needs_kick() said no although buffers were added
};

/// Driver side of one split ring. Not thread-safe. Holds a non-owning port
/// reference. Chains are identified by their head descriptor index, which is
/// what the device returns as the used id.
class SplitQueueDriver {
 public:
  /// Zeroes the three areas and sets up the free list. Throws
  /// vmsg::ConfigError for a size that is 0, not a power of two or > 32768,
  /// or a misaligned area (caller mistakes; the transport checks before).
  SplitQueueDriver(port::Port& port, const RingLayout& layout, const SplitQueueOptions& options = {});

  /// Writes a chain: readable segments first, then writable ones (the device
  /// requires that order), and puts its head in the next avail slot without
  /// publishing it. RingFull if fewer free descriptors than segments;
  /// BadRequest for an empty chain; QueueBroken after a used-ring error.
  VResult<std::uint16_t> add(std::span<const BufferSegment> readable, std::span<const BufferSegment> writable);
  /// Makes every added chain visible: writes avail.idx after the ring entries.
  void publish();
  /// Whether the device asked to be told about what was published since the
  /// last call: avail_event with EVENT_IDX, else !VRING_USED_F_NO_NOTIFY.
  [[nodiscard]] bool needs_kick();

  /// Takes every new used element, returning its descriptors to the free
  /// list. Errors (the queue stays broken afterwards): BadUsedId for an id
  /// that is not an in-flight head, BadUsedLength for a length beyond the
  /// chain's writable bytes, UsedIndexJump when used.idx passes more
  /// entries than are in flight.
  VResult<std::vector<UsedElem>> reap();
  /// Whether used.idx shows entries not yet reaped (cheap: one 2-byte read).
  [[nodiscard]] bool has_used();

  /// Enables or suppresses used notifications: VRING_AVAIL_F_NO_INTERRUPT
  /// without EVENT_IDX; with EVENT_IDX (flags must stay 0) used_event is set
  /// to the last seen used index, or one behind it to push it as far away as
  /// the 16-bit index allows.
  void set_interrupts(bool enabled);

  [[nodiscard]] const RingLayout& layout() const noexcept { return layout_; }
  [[nodiscard]] const SplitQueueOptions& options() const noexcept { return options_; }
  [[nodiscard]] std::uint32_t size() const noexcept { return layout_.size; }
  [[nodiscard]] std::uint32_t num_free() const noexcept { return num_free_; }
  /// Chains added and not yet reaped.
  [[nodiscard]] std::uint32_t in_flight() const noexcept { return in_flight_; }
  /// The avail index as written by the next publish().
  [[nodiscard]] std::uint16_t avail_idx() const noexcept { return avail_idx_; }
  /// Used entries consumed so far (mod 2^16).
  [[nodiscard]] std::uint16_t last_used() const noexcept { return last_used_; }
  [[nodiscard]] const std::optional<VirtioError>& broken() const noexcept { return broken_; }
  [[nodiscard]] const SplitQueueStats& stats() const noexcept { return stats_; }

 private:
  struct ChainInfo {
    bool in_flight = false;
    std::uint32_t writable = 0;          ///< sum of writable segment lengths
    std::vector<std::uint16_t> descs;    ///< descriptor indices, head first
  };

  [[nodiscard]] std::uint16_t read16(std::uint64_t addr);
  void write16(std::uint64_t addr, std::uint16_t v);
  void write_desc(std::uint16_t i, const BufferSegment& s, std::uint16_t flags, std::uint16_t next);
  VirtioError break_queue(VirtioErrc code, std::string message);
  [[nodiscard]] std::uint64_t used_event_addr() const noexcept { return layout_.avail + 4 + 2ULL * layout_.size; }
  [[nodiscard]] std::uint64_t avail_event_addr() const noexcept { return layout_.used + 4 + 8ULL * layout_.size; }

  port::Port* port_;
  RingLayout layout_;
  SplitQueueOptions options_;
  std::vector<std::uint16_t> next_free_;  ///< free-list links, indexed by descriptor
  std::uint16_t free_head_ = 0;
  std::uint32_t num_free_ = 0;
  std::vector<ChainInfo> chains_;  ///< indexed by head descriptor
  std::uint32_t in_flight_ = 0;
  std::uint16_t avail_idx_ = 0;    ///< shadow of avail.idx including unpublished entries
  std::uint16_t published_ = 0;    ///< avail.idx as last written
  std::uint16_t kicked_ = 0;       ///< avail.idx at the last needs_kick()
  std::uint16_t last_used_ = 0;
  bool interrupts_ = true;
  std::optional<VirtioError> broken_;
  SplitQueueStats stats_{};
};

}  // namespace vmsg::driver

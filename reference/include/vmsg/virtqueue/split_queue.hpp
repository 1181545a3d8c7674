// The device side of a split virtqueue (core virtio "split virtqueues"),
// over the device's bus-master view of guest memory.
//
// Queue logic only: every access to guest memory goes through pci::DmaSpace,
// so the same code runs on the in-process machine, in fuzzers with hostile
// memory, and under tests with fake memory (the rust-vmm vm-virtio model).
// Nothing the driver writes into the rings can make it loop, read or write
// outside what DmaSpace allows, or crash: every inconsistency is a QueueError,
// after which the transport marks the device DEVICE_NEEDS_RESET.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "vmsg/common/result.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/virtqueue/ring.hpp"

namespace vmsg::virtqueue {

/// Feature bits of the core spec that change how split queues behave.
namespace feature {
inline constexpr unsigned kIndirectDesc = 28;      ///< VIRTIO_F_INDIRECT_DESC (VIRTIO_RING_F_INDIRECT_DESC)
inline constexpr unsigned kEventIdx = 29;          ///< VIRTIO_F_EVENT_IDX
inline constexpr unsigned kVersion1 = 32;          ///< VIRTIO_F_VERSION_1
inline constexpr unsigned kAccessPlatform = 33;    ///< VIRTIO_F_ACCESS_PLATFORM
inline constexpr unsigned kRingPacked = 34;        ///< VIRTIO_F_RING_PACKED (not offered by the reference)
inline constexpr unsigned kNotificationData = 38;  ///< VIRTIO_F_NOTIFICATION_DATA (not offered)
inline constexpr unsigned kNotifConfigData = 39;   ///< VIRTIO_F_NOTIF_CONFIG_DATA (never offered, REV1 L903)
inline constexpr unsigned kRingReset = 40;         ///< VIRTIO_F_RING_RESET
[[nodiscard]] constexpr std::uint64_t bit(unsigned n) noexcept { return std::uint64_t{1} << n; }
}  // namespace feature

/// Largest split-queue size (core spec: a power of two, at most 32768).
inline constexpr std::uint32_t kMaxQueueSize = 32768;

/// Where the three ring areas are and how many descriptors the queue has.
struct QueueLayout {
  std::uint32_t size = 0;  ///< number of descriptors
  std::uint64_t desc_addr = 0;    ///< descriptor table, 16-byte aligned
  std::uint64_t driver_addr = 0;  ///< available ring, 2-byte aligned
  std::uint64_t device_addr = 0;  ///< used ring, 4-byte aligned
  friend bool operator==(const QueueLayout&, const QueueLayout&) = default;
};

/// Negotiated features that affect the queue.
struct QueueFeatures {
  bool indirect = false;   ///< VIRTIO_F_INDIRECT_DESC negotiated
  bool event_idx = false;  ///< VIRTIO_F_EVENT_IDX negotiated
};

/// Deliberate misbehaviour for the reference's fault modes (vmsg/common/faults.hpp).
/// All off is a conforming queue.
struct QueueFaults {
  bool used_len_whole_chain = false;  ///< push_used reports readable + writable bytes of a chain with writable ones
  bool used_wrong_id = false;         ///< push_used writes id = head + 1 (mod size) instead of head
  /// A conforming variation, not a bug: push_used holds elements back and
  /// publish_used() writes the held batch in reverse order.
  bool used_out_of_order = false;
};

/// Why a layout cannot be used (checked when SET_VQUEUE configures a queue).
enum class LayoutError : std::uint8_t {
  BadSize,        ///< 0, above the maximum, or not a power of two
  Misaligned,     ///< desc not 16-, avail not 2- or used not 4-byte aligned
  AddressOverflow ///< a ring area wraps past 2^64
};

/// Why the queue is broken. After any of these the queue must not be used
/// again until it is reset (RESET_VQUEUE or device reset).
enum class QueueError : std::uint8_t {
  DmaFault,               ///< ring or buffer memory not reachable (outside RAM, or bus mastering off)
  AvailIndexJump,         ///< avail.idx ran more than `size` entries ahead of the device
  DescIndexOutOfRange,    ///< a head or next index >= size (or >= indirect table length)
  ChainLoop,              ///< a chain longer than its table: a loop, or next pointers that never end
  WritableBeforeReadable, ///< a device-readable descriptor after a device-writable one
  BadIndirect,            ///< indirect without the feature, nested, with NEXT, or length 0 / not a multiple of 16
  LengthOverflow,         ///< a chain's total length does not fit 32 bits
};

[[nodiscard]] std::string_view to_string(LayoutError e) noexcept;
[[nodiscard]] std::string_view to_string(QueueError e) noexcept;

/// One guest buffer segment of a chain. Zero-length descriptors produce no
/// segment (they carry no bytes), so every segment has len > 0.
struct Segment {
  std::uint64_t addr = 0;
  std::uint32_t len = 0;
  friend bool operator==(const Segment&, const Segment&) = default;
};

/// A descriptor chain taken from the available ring: the device reads the
/// readable segments (in order) and writes the writable ones (in order).
struct Chain {
  std::uint16_t head = 0;
  std::vector<Segment> readable;
  std::vector<Segment> writable;
  [[nodiscard]] std::uint64_t readable_bytes() const noexcept;
  [[nodiscard]] std::uint64_t writable_bytes() const noexcept;
};

/// "ok" or the error that broke the queue.
using Status = std::optional<QueueError>;

/// A configured split virtqueue, device side. Not thread-safe.
///
/// Every guest-memory access is a small DmaSpace call (a 2-byte index, a
/// 16-byte descriptor, one call per segment piece); a failed one is DmaFault.
/// Any QueueError is sticky: the queue stays broken until it is recreated.
class SplitQueue {
 public:
  /// Checks the layout; nothing is read from guest memory yet. Checks, in
  /// order: size (BadSize), alignment (Misaligned), then whether any area
  /// [addr, addr + bytes) runs past 2^64 (AddressOverflow; ending exactly at
  /// 2^64 is fine). The driver area includes used_event and the device area
  /// avail_event whether or not EVENT_IDX is negotiated (the spec sizes).
  [[nodiscard]] static Result<SplitQueue, LayoutError> create(pci::DmaSpace& memory, const QueueLayout& layout,
                                                             const QueueFeatures& features,
                                                             const QueueFaults& faults = {});

  /// The next available chain, nullopt when the driver has published nothing
  /// new. With EVENT_IDX, publishes avail_event = the new last_avail_idx when
  /// the ring is found empty, so the driver kicks for the next buffer, then
  /// reads avail.idx once more and pops what the driver added meanwhile.
  ///
  /// Chain rules: at most `size` descriptors in the descriptor table and at
  /// most min(table entries, 65536) in an indirect table (no u16 `next` can
  /// name more distinct entries), else ChainLoop. An indirect descriptor may
  /// end a direct chain; its own WRITE flag is ignored (spec), its table need
  /// not be aligned, and a table wrapping past 2^64 is a DmaFault. The
  /// readable-before-writable rule spans the direct part and the table.
  /// last_avail_idx advances only when a chain is returned.
  [[nodiscard]] Result<std::optional<Chain>, QueueError> pop();

  /// Copies readable bytes of `chain` from byte `offset` (across segments) into
  /// `out`; returns how many were copied (less than out.size() at the end).
  /// One DmaSpace call per segment touched; a segment piece that would wrap
  /// past 2^64 is a DmaFault without any access.
  [[nodiscard]] Result<std::size_t, QueueError> read(const Chain& chain, std::uint64_t offset,
                                                     std::span<std::uint8_t> out);
  /// Copies `in` into the writable segments of `chain` from byte `offset`;
  /// returns how many were copied.
  [[nodiscard]] Result<std::size_t, QueueError> write(const Chain& chain, std::uint64_t offset,
                                                      std::span<const std::uint8_t> in);

  /// Publishes a used element {id = head, len = bytes written} and the new
  /// used.idx, element first so the driver never sees the index before it.
  /// A head >= size is a device bug; it is refused as DescIndexOutOfRange
  /// (breaking the queue) rather than handed to the driver.
  /// Under QueueFaults::used_len_whole_chain, `len` is replaced by the whole
  /// length of the chain last popped with this head, if it had writable bytes.
  /// Under used_out_of_order the element is held until publish_used().
  [[nodiscard]] Status push_used(std::uint16_t head, std::uint32_t len);

  /// Writes the elements push_used held back (QueueFaults::used_out_of_order)
  /// in reverse order, then the used idx that publishes them all; nothing to
  /// do otherwise. The device calls it once per batch, before should_notify().
  [[nodiscard]] Status publish_used();

  /// Sets (true) or clears the used ring's flags word VIRTQ_USED_F_NO_NOTIFY:
  /// a polling device tells the driver that kicks are not needed. With
  /// EVENT_IDX the flags stay 0 (split-ring.tex L543-553) and nothing is written.
  [[nodiscard]] Status set_no_notify(bool on);

  /// Whether the driver wants an interrupt for the used elements published
  /// since the last call: without EVENT_IDX, unless avail.flags has
  /// VRING_AVAIL_F_NO_INTERRUPT; with EVENT_IDX, if used_event lies in the
  /// range crossed since the last notification (vring_need_event). False,
  /// without reading memory, when nothing was pushed since the last call.
  [[nodiscard]] Result<bool, QueueError> should_notify();

  [[nodiscard]] const QueueLayout& layout() const noexcept { return layout_; }
  [[nodiscard]] const QueueFeatures& features() const noexcept { return features_; }
  [[nodiscard]] std::uint16_t last_avail_idx() const noexcept { return last_avail_; }
  [[nodiscard]] std::uint16_t used_idx() const noexcept { return used_idx_; }
  /// Whether used elements were published since the last should_notify()
  /// (what a device that ignores suppression, a fault mode, notifies for).
  [[nodiscard]] bool used_since_notify() const noexcept { return used_idx_ != signalled_used_; }
  /// The error that broke the queue, if any; a broken queue returns it from every call.
  [[nodiscard]] const Status& broken() const noexcept { return broken_; }

 private:
  SplitQueue(pci::DmaSpace& memory, const QueueLayout& layout, const QueueFeatures& features,
             const QueueFaults& faults)
      : memory_(&memory), layout_(layout), features_(features), faults_(faults) {
    if (faults.used_len_whole_chain) chain_bytes_.resize(layout.size);
  }

  /// Marks the queue broken with `e` and returns it as an error.
  Err<QueueError> fail(QueueError e) noexcept {
    broken_ = e;
    return Err<QueueError>{e};
  }
  /// Follows the chain starting at descriptor `head` (already < size).
  [[nodiscard]] Result<Chain, QueueError> walk_chain(std::uint16_t head);
  [[nodiscard]] bool read_u16(std::uint64_t addr, std::uint16_t& out);
  [[nodiscard]] bool write_u16(std::uint64_t addr, std::uint16_t value);
  /// Writes used element {id, len} into the slot of used index `at`.
  [[nodiscard]] bool write_used_elem(std::uint16_t at, std::uint32_t id, std::uint32_t len);

  pci::DmaSpace* memory_;
  QueueLayout layout_;
  QueueFeatures features_;
  QueueFaults faults_;
  std::vector<std::uint32_t> chain_bytes_;  ///< per head, under used_len_whole_chain only
  /// (id, len) pushed but not yet written, under used_out_of_order only.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> held_;
  std::uint16_t last_avail_ = 0;
  std::uint16_t used_idx_ = 0;
  std::uint16_t signalled_used_ = 0;  ///< used.idx when the driver was last notified
  Status broken_;
};

}  // namespace vmsg::virtqueue

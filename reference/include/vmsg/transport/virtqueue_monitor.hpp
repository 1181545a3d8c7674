// The validating peer's watch over the driver's side of live split
// virtqueues: what a device can see of the driver's ring rules by reading
// guest memory when it is told something (a driver message, EVENT_AVAIL) or
// when a queue goes live.
//
// Checks (IDs of requirements-virtio.toml; they hold under both drafts):
// - every chain the driver exposes (walked once, when its avail entry first
//   shows): readable before writable (VIRTIO-RING-004), no loop and at most
//   2^32 bytes (RING-009), INDIRECT only when negotiated (RING-011), not
//   inside an indirect table (RING-012), not with NEXT (RING-014), no more
//   descriptors than the queue size (RING-013), and on the entropy device's
//   request queue device-writable buffers only (VIRTIO-RNG-001);
// - the avail ring: idx never moves back (RING-018), flags 0 or 1 without
//   EVENT_IDX (RING-019) and 0 with it (RING-021);
// - the used ring's flags zero when the queue goes live (RING-034);
// - available-buffer notifications: owed ones must come before the driver's
//   next message (RING-037 without EVENT_IDX, RING-039 with it; RING-035 /
//   RING-038 besides when avail_event / NO_NOTIFY would explain the miss),
//   needless ones are SHOULD NOT (RING-036, RING-040);
// - exposed chains the device still holds (not yet in the used ring) keep
//   their descriptors unchanged (VIRTIO-CORE-034);
// - no notification before the driver wrote DRIVER_OK (VIRTIO-CORE-033).
//
// A pure core: it reads guest memory only through the DmaSpace it is handed
// and keeps its model by value, so the validator saves and restores it with
// its own. Unreadable memory ends a walk quietly (the device reports its own
// DMA faults); index and length errors no rule here names are not judged.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vmsg/pci/dma.hpp"

namespace vmsg::transport {

/// One split-ring driver rule the monitor saw broken.
struct RingFinding {
  const char* rule = nullptr;  ///< requirement ID, e.g. "VIRTIO-RING-004"
  std::string detail;          ///< what exactly, with the offending values
  friend bool operator==(const RingFinding& a, const RingFinding& b) {
    return std::string(a.rule) == b.rule && a.detail == b.detail;
  }
};

/// One live split virtqueue as the device was told it, and what the
/// negotiated features and the device type make of it.
struct MonitoredQueue {
  std::uint32_t size = 0;  ///< descriptors (a power of two)
  std::uint64_t desc_addr = 0;
  std::uint64_t driver_addr = 0;
  std::uint64_t device_addr = 0;
  bool indirect = false;       ///< VIRTIO_F_INDIRECT_DESC negotiated
  bool event_idx = false;      ///< VIRTIO_F_EVENT_IDX negotiated
  bool writable_only = false;  ///< the device type takes device-writable buffers only (entropy requestq)
};

/// Split-ring driver-rule monitor; see the file comment. Copyable value.
class VirtqueueMonitor {
 public:
  /// Queue `index` went live with `q` (replacing any earlier one of that index).
  [[nodiscard]] std::vector<RingFinding> start(std::uint32_t index, const MonitoredQueue& q, pci::DmaSpace& mem);
  /// Queue `index` is no longer live (RESET_VQUEUE).
  void stop(std::uint32_t index) { queues_.erase(index); }
  /// Device reset: no queue is live and DRIVER_OK is unwritten.
  void clear() noexcept;
  /// The driver wrote `status` with SET_DEVICE_STATUS.
  void driver_status(std::uint32_t status) noexcept;

  /// A driver message is about to reach the device: EVENT_AVAIL for queue
  /// `notified`, or another message (nullopt). `notifications_owed` is
  /// whether the driver owes notifications at all (DRIVER_OK reported, no
  /// DEVICE_NEEDS_RESET or FAILED): buffers published otherwise owe none.
  [[nodiscard]] std::vector<RingFinding> observe(pci::DmaSpace& mem, std::optional<std::uint32_t> notified,
                                                 bool notifications_owed);

  /// Live queues (for tests).
  [[nodiscard]] std::size_t live() const noexcept { return queues_.size(); }

 private:
  struct Queue {
    MonitoredQueue cfg;
    std::uint16_t walked = 0;    ///< avail entries below this were checked
    std::uint16_t notified = 0;  ///< avail idx when the last notification was judged
    std::uint16_t used_seen = 0;  ///< used entries below this were taken off `held`
    std::map<std::uint16_t, std::uint64_t> held;  ///< exposed, not yet used: head -> digest of its chain
    std::optional<std::uint16_t> bad_flags;       ///< avail flags value already reported
  };
  void observe_queue(std::uint32_t index, Queue& q, pci::DmaSpace& mem, bool notified, bool owed,
                     std::vector<RingFinding>& out);

  std::map<std::uint32_t, Queue> queues_;
  bool driver_ok_written_ = false;
};

}  // namespace vmsg::transport

// One AMP FIFO as the device runs it: the driver queue it consumes, the device
// queue it produces into, the virtio-msg bus behind it, and the bounded
// pending queue that keeps device->driver messages when the device queue is
// full (amp-pci-device.md §5, §10 D11).
//
// Delivery rules (project reading, documented in README):
// - Every frame the bus emits goes into the device queue in order, raising the
//   FIFO's interrupt once per frame placed (AMP-016). If the device queue is
//   full, or older frames are still waiting, the frame waits in the pending
//   queue; waiting frames are flushed, oldest first, on the next doorbell or
//   time step. Nothing is reordered.
// - Back-pressure keeps responses lossless: a request is only taken from the
//   driver queue while the pending queue has more than `event_reserve` free
//   entries, so every consumed request has room for its response. Requests
//   the device does not take yet stay in the driver queue and are taken once
//   the pending queue drains (on a later doorbell or time step).
// - If the pending queue is completely full when a device-originated event
//   arrives (only possible with more than `event_reserve` distinct events
//   outstanding), an event identical to one already waiting is coalesced
//   (the driver learns nothing new from a duplicate EVENT_USED/EVENT_CONFIG),
//   and any other frame is dropped and counted in ChannelStats::overflow_drops.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>

#include "vmsg/bus/bus.hpp"
#include "vmsg/bus/frame_sink.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/fifo/shared_memory.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::amp {

/// Tunables of a FIFO channel.
struct ChannelOptions {
  std::size_t pending_capacity = 256;  ///< frames that may wait for device-queue room
  std::size_t event_reserve = 32;      ///< pending entries kept free for device-originated events
  fifo::RingOptions ring{};            ///< ring behaviour (defaults conform)
  /// Fault mode "lose-on-full-ring" (QEMU bug 10): a frame that finds the
  /// device queue full is dropped (counted in overflow_drops) instead of
  /// waiting, silently: no interrupt for it, as QEMU rfc-latest was seen to
  /// do (qemu-observed.md §5). No pending queue.
  bool drop_when_full = false;
};

/// Counters of one channel.
struct ChannelStats {
  std::uint64_t doorbells = 0;            ///< NOTIFY writes for this FIFO
  std::uint64_t frames_consumed = 0;      ///< slots taken from the driver queue
  std::uint64_t frames_placed = 0;        ///< frames written into the device queue
  std::uint64_t frames_deferred = 0;      ///< frames that had to wait in the pending queue
  std::uint64_t pending_high_water = 0;   ///< largest pending-queue length seen
  std::uint64_t backpressure_stalls = 0;  ///< times draining stopped to keep room for responses
  std::uint64_t events_coalesced = 0;     ///< duplicate events merged while the pending queue was full
  std::uint64_t overflow_drops = 0;       ///< frames dropped because even the pending queue was full
  std::uint64_t resyncs = 0;              ///< times the ring indices were re-read from shared memory
};

/// A FIFO's device-side machinery. Not copyable or movable (the bus holds a
/// reference to it as its FrameSink).
class FifoChannel final : public bus::FrameSink {
 public:
  /// `bar1` is the whole FIFO RAM (it must outlive the channel); `raise_irq`
  /// raises this FIFO's MSI-X vector.
  FifoChannel(unsigned index, std::span<std::uint8_t> bar1, const wire::Profile& profile,
              const ChannelOptions& options, const bus::BusOptions& bus_options,
              std::function<void()> raise_irq);
  FifoChannel(const FifoChannel&) = delete;
  FifoChannel& operator=(const FifoChannel&) = delete;

  /// The driver rang NOTIFY: flush waiting frames, then drain the driver queue.
  void doorbell();
  /// Virtual time passed: retry waiting frames and stalled requests, then let endpoints run.
  void advance_time(std::uint64_t ns);
  /// Adopt the ring indices found in shared memory at the next activity
  /// (the driver (re)initialised the rings; amp-pci-device.md D33).
  void request_resync() noexcept { needs_sync_ = true; }

  /// FrameSink: a device->driver frame from the bus.
  void send(std::span<const std::uint8_t> frame) override;

  [[nodiscard]] bus::Bus& bus() noexcept { return bus_; }
  [[nodiscard]] const bus::Bus& bus() const noexcept { return bus_; }
  [[nodiscard]] unsigned index() const noexcept { return index_; }
  [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }
  [[nodiscard]] const ChannelStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const fifo::RingStats& rx_stats() const noexcept { return rx_.stats(); }
  [[nodiscard]] const fifo::RingStats& tx_stats() const noexcept { return tx_.stats(); }

  /// Power-on state, in place: ring positions 0, nothing pending, resync
  /// due, counters zero, the bus empty (Bus::reset). The shared bytes are
  /// the owner's (BAR1).
  void reset() noexcept;

 private:
  /// A frame waiting for room in the device queue.
  struct Frame {
    std::array<std::uint8_t, fifo::kSlotSize> bytes{};
    std::uint8_t size = 0;
  };

 public:
  /// Everything but the shared bytes at one instant (those live in BAR1,
  /// which the owner saves). A value.
  struct State {
    std::uint32_t rx_index = 0;
    fifo::RingStats rx_stats;
    std::uint32_t tx_index = 0;
    fifo::RingStats tx_stats;
    std::deque<Frame> pending;
    bool needs_sync = true;
    bool stalled = false;
    ChannelStats stats;
    bus::Bus::State bus;
    /// Whether no frame ever went through (nothing received, sent or waiting).
    [[nodiscard]] bool quiet() const noexcept { return pending.empty() && bus.stats == bus::BusStats{}; }
  };
  [[nodiscard]] State save() const;
  /// Puts the state back; `plugs` as in Bus::restore. Throws
  /// vmsg::SnapshotError (nothing changed) for another channel's state.
  void restore(const State& s, bool plugs = true);

 private:
  void sync_if_needed();
  bool place(std::span<const std::uint8_t> frame);
  void flush();
  void drain();
  void enqueue(std::span<const std::uint8_t> frame);

  unsigned index_;
  ChannelOptions options_;
  std::function<void()> raise_irq_;
  fifo::RingConsumer<fifo::SharedQueueMemory> rx_;
  fifo::RingProducer<fifo::SharedQueueMemory> tx_;
  std::deque<Frame> pending_;
  bool needs_sync_ = true;
  bool stalled_ = false;  ///< draining stopped for back-pressure; resume when room frees up
  ChannelStats stats_{};
  bus::Bus bus_;  // last: it holds a reference to *this as its sink
};

}  // namespace vmsg::amp

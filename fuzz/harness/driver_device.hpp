// The scripted device of fuzz_driver (see harness/driver_harness.hpp): the
// device side of one AMP FIFO (the real fifo ring code over the BAR1 bytes),
// a small conforming virtio device behind it (identity, features, status,
// config with a generation, split rings in guest RAM served as rng or blk),
// and the fault plan of the driver call in progress. It speaks the Setup's
// profile: under REV1 the 52-byte GET_DEVICE_INFO with feature blocks, the
// 32-byte GET_SHM, SET_VQUEUE's state operation and GET_VQUEUE's enabled
// bit, and SET_CONFIG that ignores the generation unless the strict
// configuration generation is on (REV1 baseline profile). It reads and writes
// guest RAM directly, bounds-checked, as a bus master would: nothing the
// drivers put in memory is trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "harness/driver_ops.hpp"
#include "vmsg/driver/split_queue_driver.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/fifo/shared_memory.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::fuzz {

/// The serial the blk model answers GET_ID with.
inline constexpr char kBlkSerial[] = "vmsg-fuzz-blk";

/// Feature bits the driver can see: it reads ceil(feature_bits / 32) blocks
/// and the model offers only blocks 0 and 1.
[[nodiscard]] std::uint64_t offered_features(const driver_ops::Setup& s);
/// The device ID the model reports for `s`.
[[nodiscard]] std::uint32_t device_id_of(const driver_ops::Setup& s);

/// A virtio device at the far end of the drivers' FIFO: answers like a
/// conforming device unless the current fault plan says otherwise. See the
/// file comment.
class ScriptedDevice {
 public:
  /// A queue as SET_VQUEUE programmed it, and the device's positions in it.
  struct Queue {
    std::uint32_t size = 0;
    std::uint64_t desc = 0;
    std::uint64_t avail = 0;
    std::uint64_t used = 0;
    std::uint16_t last_avail = 0;
    std::uint16_t used_idx = 0;
    bool enabled = true;  ///< REV1: SET_VQUEUE's state op enabled it (PR28: always)
  };

  ScriptedDevice(const driver_ops::Setup& s, std::span<std::uint8_t> ram, std::span<std::uint8_t> bar1);

  // ---- the fault plan -------------------------------------------------------
  /// Faults for the driver call about to run; actions count from 0 again.
  void begin_call(const std::vector<driver_ops::Fault>& plan);
  void end_call() { plan_.clear(); }
  /// Whether a fault (or a device-side action) fired since the start.
  [[nodiscard]] bool fired() const noexcept { return fired_; }
  void mark_fired() noexcept { fired_ = true; }

  // ---- what the harness may ask ----------------------------------------------
  [[nodiscard]] std::uint32_t status() const noexcept { return status_; }
  [[nodiscard]] const std::vector<std::uint8_t>& config() const noexcept { return config_; }
  [[nodiscard]] const std::vector<std::uint8_t>& disk() const noexcept { return disk_; }
  [[nodiscard]] std::uint64_t negotiated() const noexcept;
  /// The rng bytes the device supplied and the harness has not matched yet.
  [[nodiscard]] std::span<const std::uint8_t> rng_pending() const noexcept;
  void rng_take(std::size_t n) noexcept { rng_taken_ += n; }
  [[nodiscard]] const Queue* queue(std::uint32_t q) const;

  // ---- port callbacks -------------------------------------------------------
  /// NOTIFY: take every frame from the driver queue (at most 61).
  void doorbell();
  /// Time passed: late answers come due.
  void tick();

  // ---- device-side actions between calls ----------------------------------------
  void post(const wire::Message& m) { push_message(m); }
  void push_raw(std::span<const std::uint8_t> bytes);
  void dma(std::uint64_t addr, std::span<const std::uint8_t> bytes) { ram_write(addr, bytes); }
  void ring_write(std::uint32_t q, std::uint32_t field, std::uint64_t value);
  void config_change(std::uint32_t offset, std::uint8_t value, bool silent);

 private:
  [[nodiscard]] const driver_ops::Fault* fault_at(std::uint32_t action) const;

  // ---- guest memory, bounds-checked (the driver's addresses are not trusted) ----
  bool ram_read(std::uint64_t addr, std::span<std::uint8_t> out) const;
  bool ram_write(std::uint64_t addr, std::span<const std::uint8_t> data);
  std::uint16_t read16(std::uint64_t addr) const;
  void write16(std::uint64_t addr, std::uint16_t v);

  // ---- frames -------------------------------------------------------------------
  void push_message(const wire::Message& m);
  /// One frame from the driver: oracle (d), then the answer or the kick.
  void receive(const fifo::Slot& slot);
  /// Faults that change the device before it answers (generation, status, events, deafness).
  void pre_answer(const driver_ops::Fault& f);
  /// Sends `m`, or what fault `f` makes of it.
  void answer(wire::Message m, const driver_ops::Fault* f);

  // ---- the well-behaved device ------------------------------------------------------
  /// The answer of a conforming device; `refuse` turns it into a
  /// well-formed refusal where the protocol has one.
  std::optional<wire::Body> respond(const wire::Body& b, bool refuse);

  /// One descriptor chain as the device walks it.
  struct Chain {
    std::vector<driver::BufferSegment> readable;
    std::vector<driver::BufferSegment> writable;
  };

  /// Follows `head` through the descriptor table, at most q.size links and
  /// kMaxChainBytes in all (hostile DMA may have rewritten the table).
  Chain walk(const Queue& q, std::uint16_t head) const;

  /// Writes `data` across the segments in order; returns the bytes written.
  std::uint32_t scatter(std::span<const driver::BufferSegment> segs, std::span<const std::uint8_t> data);
  /// The readable segments' bytes, concatenated.
  std::vector<std::uint8_t> gather(std::span<const driver::BufferSegment> segs) const;

  /// Completes one chain; returns the used length. `f` may shorten it.
  std::uint32_t serve(const Chain& c, const driver_ops::Fault* f);

  /// EVENT_AVAIL: completes every available chain of queue `qi`.
  void process(std::uint32_t qi);

  driver_ops::Setup setup_;
  wire::Profile profile_;
  bool rev1_;
  std::span<std::uint8_t> ram_;
  fifo::RingConsumer<fifo::SharedQueueMemory> rx_;
  fifo::RingProducer<fifo::SharedQueueMemory> tx_;
  std::vector<std::uint8_t> config_;
  std::uint32_t generation_;
  std::uint32_t status_ = 0;
  std::vector<std::uint32_t> driver_features_;
  std::map<std::uint32_t, Queue> queues_;
  std::vector<std::uint8_t> disk_;
  std::uint64_t rng_state_;
  std::vector<std::uint8_t> rng_out_;
  std::size_t rng_taken_ = 0;
  std::vector<driver_ops::Fault> plan_;
  std::uint32_t actions_ = 0;
  std::vector<std::pair<unsigned, std::vector<std::uint8_t>>> deferred_;
  bool fired_ = false;
  unsigned deaf_ = 0;  ///< doorbells still to ignore
  bool terse_ = false;  ///< the current SET_CONFIG answer leaves out the echo
  bool verbose_ = false;  ///< VMSG_FUZZ_VERBOSE: trace every action
};

}  // namespace vmsg::fuzz

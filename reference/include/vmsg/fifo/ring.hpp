// The AMP SPSC ring: one producer end and one consumer end of a 62-slot queue
// (amp-pci-device.md §5.3, §9.5; AMP-010..AMP-015).
//
// Pure queue logic over a QueueMemory; the same templates serve the reference
// device (over BAR1 RAM) and the driver (over a port).
//
// Trust model:
// - The OWN index (head for the producer, tail for the consumer) is private
//   state. Shared memory is read for it only by sync(), or on every operation
//   when RingOptions::trust_own_index is set (QEMU's behaviour, kept as a fault
//   mode). A peer scribbling on our index therefore cannot make us rewind,
//   skip or replay slots.
// - The PEER index is re-read from shared memory (acquire) every time it is
//   needed (or, with RingOptions::cache_peer_index, only when the last value
//   read says "full" or "empty": a stale peer index can only under-report
//   what the peer has done, so the saved reads change no decision), and sanitised: a value >= kSlotCount is reduced mod kSlotCount
//   (AMP-013; the same rule as QEMU's and Linux's spsc_atomic_load) and counted
//   in RingStats::peer_index_out_of_range. Indices used for slot addresses are
//   thus always < kSlotCount, so no access can leave the 4096-byte queue.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "vmsg/common/errors.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/memory.hpp"

namespace vmsg::fifo {

/// Behaviour knobs. The defaults are the conforming behaviour; the others are
/// deliberate fault modes the conformance suite uses to prove it can catch them.
struct RingOptions {
  /// Producer: write the whole 64-byte slot, zeros after the message (AMP-015).
  /// false = write only msg.size() bytes and leave stale slot bytes (QEMU bug 19).
  bool zero_pad = true;
  /// Re-read the own index from shared memory on every operation, as QEMU
  /// does (§5.3 "Private state"). false = trust only the private copy.
  bool trust_own_index = false;
  /// Keep the last peer index read and read it again only when it says the
  /// queue is full (producer) or empty (consumer), as SPSC rings with cached
  /// indices do: fewer shared-memory reads, the same results for a peer that
  /// only moves its index forward. free_slots()/available() always read.
  /// Ignored while trust_own_index re-reads the own index every operation.
  bool cache_peer_index = false;
};

/// Counters for tests and diagnostics. Each end updates only its own fields.
struct RingStats {
  std::uint64_t pushes = 0;                  ///< producer: messages published
  std::uint64_t full_hits = 0;               ///< producer: push refused, queue full
  std::uint64_t too_large = 0;               ///< producer: push refused, message > 64 bytes
  std::uint64_t pops = 0;                    ///< consumer: messages consumed
  std::uint64_t empty_polls = 0;             ///< consumer: pop found the queue empty
  std::uint64_t peer_index_out_of_range = 0; ///< peer index read as >= 62 and reduced mod 62
  std::uint64_t own_index_out_of_range = 0;  ///< own index read (sync/trust) as >= 62, reduced mod 62
};

/// Outcome of RingProducer::push.
enum class PushResult : std::uint8_t {
  Ok,        ///< written and published
  Full,      ///< 61 messages in flight; nothing written
  TooLarge,  ///< message longer than kMaxMessageSize; nothing written
};

/// One 64-byte slot as the consumer copies it out.
using Slot = std::array<std::uint8_t, kSlotSize>;

namespace detail {

/// What both ends share: the memory handle, the private own index and the
/// index load/sanitise rules. OwnOff/PeerOff pick head or tail.
template <QueueMemory Mem, std::uint32_t OwnOff, std::uint32_t PeerOff>
class RingEnd {
 public:
  /// Re-reads the own index from shared memory (sanitised) and adopts it.
  /// The device calls this when it (re)initialises its view of a ring, e.g.
  /// at reset, instead of keeping stale state (§5.3, D33). Writes nothing.
  /// Returns the adopted index.
  std::uint32_t sync() {
    own_ = load_sanitised(OwnOff, stats_.own_index_out_of_range);
    peer_known_ = false;  // the cached peer index was relative to the old position
    return own_;
  }

  /// Sets the own index to `index` and publishes it (release). Used by
  /// whoever (re)initialises a ring. Throws vmsg::ConfigError if index >= 62:
  /// a caller bug, not peer input.
  void reset_to(std::uint32_t index) {
    if (index >= kSlotCount) {
      throw ConfigError("ring reset_to: index " + std::to_string(index) + " >= " + std::to_string(kSlotCount));
    }
    own_ = index;
    peer_known_ = false;
    mem_.store_index(OwnOff, own_);
  }

  /// Adopts a saved own index and counters, touching no memory: a snapshot
  /// restores the shared bytes with the memory they live in.
  void restore(std::uint32_t index, const RingStats& stats) noexcept {
    own_ = index % kSlotCount;
    stats_ = stats;
    peer_known_ = false;  // a cached peer index belongs to the state left behind
  }

  /// The private own index (always < kSlotCount).
  [[nodiscard]] std::uint32_t index() const noexcept { return own_; }
  [[nodiscard]] const RingStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const RingOptions& options() const noexcept { return opts_; }
  [[nodiscard]] Mem& memory() noexcept { return mem_; }
  [[nodiscard]] const Mem& memory() const noexcept { return mem_; }

 protected:
  // Does not touch memory: a fresh ring starts at index 0 (BAR1 RAM is zero
  // at start); call sync() to adopt a ring that is already in use.
  explicit RingEnd(Mem mem, RingOptions opts) : mem_(std::move(mem)), opts_(opts) {}

  std::uint32_t load_sanitised(std::uint32_t off, std::uint64_t& out_of_range) {
    const std::uint32_t raw = mem_.load_index(off);
    if (raw < kSlotCount) return raw;
    ++out_of_range;
    return raw % kSlotCount;
  }

  // Called at the start of every operation: only in the QEMU-like fault mode
  // does shared memory get a say over our own position.
  void refresh_own() {
    if (opts_.trust_own_index) sync();
  }

  std::uint32_t load_peer() {
    peer_ = load_sanitised(PeerOff, stats_.peer_index_out_of_range);
    peer_known_ = true;
    return peer_;
  }

  /// The peer index for a decision a stale value can only make more cautious:
  /// the cached one (cache_peer_index) unless it equals `stop` (full/empty).
  std::uint32_t peer_unless(std::uint32_t stop) {
    if (opts_.cache_peer_index && peer_known_ && peer_ != stop) return peer_;
    return load_peer();
  }

  Mem mem_;
  RingOptions opts_;
  RingStats stats_{};
  std::uint32_t own_ = 0;
  std::uint32_t peer_ = 0;  ///< last peer index read (sanitised), valid while peer_known_
  bool peer_known_ = false;
};

}  // namespace detail

/// Producer end of a queue: owns `head`, reads the consumer's `tail`.
/// Not thread-safe; exactly one producer per queue (SPSC).
template <QueueMemory Mem>
class RingProducer : public detail::RingEnd<Mem, kHeadOffset, kTailOffset> {
  using Base = detail::RingEnd<Mem, kHeadOffset, kTailOffset>;

 public:
  explicit RingProducer(Mem mem, RingOptions opts = {}) : Base(std::move(mem), opts) {}

  /// Writes `msg` into slot[head], then publishes head + 1 with release, so
  /// the slot is visible before the index (AMP-012). With zero_pad the whole
  /// slot is written in one access, zeros after the message (AMP-015).
  /// Full and TooLarge write nothing.
  PushResult push(std::span<const std::uint8_t> msg) {
    if (msg.size() > kMaxMessageSize) {
      ++this->stats_.too_large;
      return PushResult::TooLarge;
    }
    this->refresh_own();
    const std::uint32_t head = this->own_;
    const std::uint32_t next = next_index(head);
    if (next == this->peer_unless(next)) {
      ++this->stats_.full_hits;
      return PushResult::Full;
    }
    if (this->opts_.zero_pad) {
      Slot slot{};
      std::copy(msg.begin(), msg.end(), slot.begin());
      this->mem_.write_bytes(slot_offset(head), slot);
    } else if (!msg.empty()) {
      this->mem_.write_bytes(slot_offset(head), msg);
    }
    this->mem_.store_index(kHeadOffset, next);
    this->own_ = next;
    ++this->stats_.pushes;
    return PushResult::Ok;
  }

  /// Messages that can be pushed now (0..61), from a fresh read of `tail`.
  [[nodiscard]] std::uint32_t free_slots() {
    this->refresh_own();
    const std::uint32_t tail = this->load_peer();
    return (tail + kSlotCount - this->own_ - 1) % kSlotCount;
  }
};

/// Consumer end of a queue: owns `tail`, reads the producer's `head`.
/// Not thread-safe; exactly one consumer per queue (SPSC).
template <QueueMemory Mem>
class RingConsumer : public detail::RingEnd<Mem, kTailOffset, kHeadOffset> {
  using Base = detail::RingEnd<Mem, kTailOffset, kHeadOffset>;

 public:
  explicit RingConsumer(Mem mem, RingOptions opts = {}) : Base(std::move(mem), opts) {}

  /// Copies slot[tail] (all 64 bytes) into `out` and releases it by
  /// publishing tail + 1. `head` is loaded with acquire before the slot is
  /// read, and the copy completes before tail is stored (AMP-012). Returns
  /// false, touching neither `out` nor tail, if the queue is empty.
  /// Whether the bytes form a valid message is the transport's business.
  bool pop(Slot& out) {
    this->refresh_own();
    const std::uint32_t tail = this->own_;
    if (this->peer_unless(tail) == tail) {
      ++this->stats_.empty_polls;
      return false;
    }
    this->mem_.read_bytes(slot_offset(tail), out);
    const std::uint32_t next = next_index(tail);
    this->mem_.store_index(kTailOffset, next);
    this->own_ = next;
    ++this->stats_.pops;
    return true;
  }

  /// Messages waiting now (0..61), from a fresh read of `head`.
  [[nodiscard]] std::uint32_t available() {
    this->refresh_own();
    const std::uint32_t head = this->load_peer();
    return (head + kSlotCount - this->own_) % kSlotCount;
  }
};

}  // namespace vmsg::fifo

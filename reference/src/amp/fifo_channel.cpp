#include "vmsg/amp/fifo_channel.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "vmsg/common/errors.hpp"

namespace vmsg::amp {

namespace {

bool is_event_frame(std::span<const std::uint8_t> f) {
  // Device->driver frames are responses (type bit 0 set) or events.
  return !f.empty() && (f[0] & 0x01) == 0;
}

}  // namespace

FifoChannel::FifoChannel(unsigned index, std::span<std::uint8_t> bar1, const wire::Profile& profile,
                         const ChannelOptions& options, const bus::BusOptions& bus_options,
                         std::function<void()> raise_irq)
    : index_(index),
      options_(options),
      raise_irq_(std::move(raise_irq)),
      rx_(fifo::SharedQueueMemory::in_bar(bar1, index, fifo::QueueKind::Driver), options.ring),
      tx_(fifo::SharedQueueMemory::in_bar(bar1, index, fifo::QueueKind::Device), options.ring),
      bus_(profile, *this, bus_options) {
  if (profile.max_msg_size > fifo::kSlotSize) {
    throw ConfigError("amp FIFO: bus maximum message size " + std::to_string(profile.max_msg_size) +
                      " exceeds the 64-byte slot");
  }
  if (options.pending_capacity <= options.event_reserve) {
    throw ConfigError("amp FIFO: pending_capacity must exceed event_reserve");
  }
}

void FifoChannel::reset() noexcept {
  rx_.restore(0, {});
  tx_.restore(0, {});
  pending_.clear();
  needs_sync_ = true;
  stalled_ = false;
  stats_ = {};
  bus_.reset();
}

FifoChannel::State FifoChannel::save() const {
  return {rx_.index(), rx_.stats(), tx_.index(), tx_.stats(), pending_, needs_sync_, stalled_, stats_, bus_.save()};
}

void FifoChannel::restore(const State& s, bool plugs) {
  bus_.restore(s.bus, plugs);  // first: it is what refuses another channel's state
  rx_.restore(s.rx_index, s.rx_stats);
  tx_.restore(s.tx_index, s.tx_stats);
  pending_ = s.pending;
  needs_sync_ = s.needs_sync;
  stalled_ = s.stalled;
  stats_ = s.stats;
}

void FifoChannel::sync_if_needed() {
  if (!needs_sync_) return;
  rx_.sync();
  tx_.sync();
  needs_sync_ = false;
  ++stats_.resyncs;
}

bool FifoChannel::place(std::span<const std::uint8_t> frame) {
  if (tx_.push(frame) != fifo::PushResult::Ok) return false;
  ++stats_.frames_placed;
  if (raise_irq_) raise_irq_();
  return true;
}

void FifoChannel::flush() {
  while (!pending_.empty()) {
    const Frame& f = pending_.front();
    if (!place(std::span<const std::uint8_t>(f.bytes.data(), f.size))) return;
    pending_.pop_front();
  }
}

void FifoChannel::enqueue(std::span<const std::uint8_t> frame) {
  if (pending_.size() >= options_.pending_capacity) {
    const bool duplicate = is_event_frame(frame) &&
                           std::any_of(pending_.begin(), pending_.end(), [&](const Frame& f) {
                             return std::equal(frame.begin(), frame.end(), f.bytes.begin(), f.bytes.begin() + f.size);
                           });
    if (duplicate) {
      ++stats_.events_coalesced;
    } else {
      ++stats_.overflow_drops;
    }
    return;
  }
  Frame f;
  std::copy(frame.begin(), frame.end(), f.bytes.begin());
  f.size = static_cast<std::uint8_t>(frame.size());
  pending_.push_back(f);
  ++stats_.frames_deferred;
  stats_.pending_high_water = std::max<std::uint64_t>(stats_.pending_high_water, pending_.size());
}

void FifoChannel::send(std::span<const std::uint8_t> frame) {
  // The bus encodes within the profile maximum, which the constructor bounded
  // by the slot size; a longer frame would be a bus bug, so count and drop it.
  if (frame.size() > fifo::kSlotSize) {
    ++stats_.overflow_drops;
    return;
  }
  sync_if_needed();
  if (options_.drop_when_full) {
    // Lost without an interrupt: QEMU signals only frames it stored (§5).
    if (!place(frame)) ++stats_.overflow_drops;
    return;
  }
  if (pending_.empty() && place(frame)) return;
  enqueue(frame);
}

void FifoChannel::drain() {
  const std::size_t limit = options_.pending_capacity - options_.event_reserve;
  fifo::Slot slot;
  stalled_ = false;
  for (;;) {
    if (pending_.size() >= limit) {
      // Only stall if there is actually something left to take.
      if (rx_.available() != 0) {
        stalled_ = true;
        ++stats_.backpressure_stalls;
      }
      return;
    }
    if (!rx_.pop(slot)) return;
    ++stats_.frames_consumed;
    bus_.receive(slot);
  }
}

void FifoChannel::doorbell() {
  ++stats_.doorbells;
  sync_if_needed();
  flush();
  drain();
}

void FifoChannel::advance_time(std::uint64_t ns) {
  sync_if_needed();
  flush();
  if (stalled_) drain();
  bus_.advance_time(ns);
}

}  // namespace vmsg::amp

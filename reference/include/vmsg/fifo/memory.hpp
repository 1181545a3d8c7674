// The memory seam of the FIFO ring: the ring logic (ring.hpp) never touches
// bytes itself, so one implementation runs over the device's BAR1 RAM
// (SharedQueueMemory), over a port (driver::PortQueueMemory) and over test fakes
// that check bounds and record the order of accesses.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>

namespace vmsg::fifo {

/// Access to one 4096-byte queue. All offsets are relative to the queue base.
///
/// Contract (the ring guarantees it, whatever the peer writes):
/// - index accesses are at kHeadOffset or kTailOffset, i.e. 4-byte aligned;
/// - byte accesses stay inside [0, kQueueSize) and within one slot.
///
/// Ordering: load_index has acquire semantics and store_index release
/// semantics with respect to read_bytes/write_bytes, so "write slot, then
/// publish index" and "load index, then read slot" are enough for AMP-012.
/// Values are the host's; an implementation converts to and from le32.
template <typename M>
concept QueueMemory = requires(M& m, std::uint32_t off, std::uint32_t v, std::span<std::uint8_t> out,
                               std::span<const std::uint8_t> in) {
  { m.load_index(off) } -> std::same_as<std::uint32_t>;
  { m.store_index(off, v) } -> std::same_as<void>;
  { m.read_bytes(off, out) } -> std::same_as<void>;
  { m.write_bytes(off, in) } -> std::same_as<void>;
};

}  // namespace vmsg::fifo

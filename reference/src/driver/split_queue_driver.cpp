#include "vmsg/driver/split_queue_driver.hpp"

#include <array>
#include <bit>
#include <string>

#include "vmsg/common/errors.hpp"
#include "vmsg/common/le.hpp"

namespace vmsg::driver {

namespace {

void zero(port::Port& port, std::uint64_t addr, std::uint64_t bytes) {
  // Fresh RAM is zero on every target, but a ring may be re-set up in memory
  // used before (or by an earlier test step): never trust leftovers.
  std::array<std::uint8_t, 4096> z{};
  while (bytes > 0) {
    const auto n = static_cast<std::size_t>(bytes < z.size() ? bytes : z.size());
    port.mem_write(addr, std::span<const std::uint8_t>(z.data(), n));
    addr += n;
    bytes -= n;
  }
}

}  // namespace

SplitQueueDriver::SplitQueueDriver(port::Port& port, const RingLayout& layout, const SplitQueueOptions& options)
    : port_(&port), layout_(layout), options_(options) {
  if (layout.size == 0 || layout.size > vring::kMaxSize || !std::has_single_bit(layout.size)) {
    throw ConfigError("split queue: size " + std::to_string(layout.size) + " is not a power of two in 1..32768");
  }
  if (layout.desc % vring::kDescAlign != 0 || layout.avail % vring::kAvailAlign != 0 ||
      layout.used % vring::kUsedAlign != 0) {
    throw ConfigError("split queue: ring areas misaligned (desc 16, avail 2, used 4)");
  }
  zero(port, layout.desc, vring::desc_bytes(layout.size));
  zero(port, layout.avail, vring::avail_bytes(layout.size));
  zero(port, layout.used, vring::used_bytes(layout.size));
  next_free_.resize(layout.size);
  for (std::uint32_t i = 0; i < layout.size; ++i) next_free_[i] = static_cast<std::uint16_t>(i + 1);
  num_free_ = layout.size;
  chains_.resize(layout.size);
  if (options.no_interrupt) set_interrupts(false);
}

std::uint16_t SplitQueueDriver::read16(std::uint64_t addr) {
  std::array<std::uint8_t, 2> b{};
  port_->mem_read(addr, b);
  return le::load16(b, 0);
}

void SplitQueueDriver::write16(std::uint64_t addr, std::uint16_t v) {
  std::array<std::uint8_t, 2> b{};
  le::store16(b, 0, v);
  port_->mem_write(addr, b);
}

void SplitQueueDriver::write_desc(std::uint16_t i, const BufferSegment& s, std::uint16_t flags, std::uint16_t next) {
  std::array<std::uint8_t, vring::kDescSize> d{};
  le::store64(d, 0, s.addr);
  le::store32(d, 8, s.len);
  le::store16(d, 12, flags);
  le::store16(d, 14, next);
  port_->mem_write(layout_.desc + vring::kDescSize * i, d);
}

VirtioError SplitQueueDriver::break_queue(VirtioErrc code, std::string message) {
  broken_ = VirtioError{code, std::move(message)};
  return *broken_;
}

VResult<std::uint16_t> SplitQueueDriver::add(std::span<const BufferSegment> readable,
                                             std::span<const BufferSegment> writable) {
  if (broken_) return fail(VirtioErrc::QueueBroken, broken_->message);
  const std::size_t n = readable.size() + writable.size();
  if (n == 0) return fail(VirtioErrc::BadRequest, "split queue: empty chain");
  if (n > num_free_) {
    return fail(VirtioErrc::RingFull, "split queue: chain of " + std::to_string(n) + " descriptors, " +
                                          std::to_string(num_free_) + " free");
  }
  std::vector<std::uint16_t> ids(n);
  std::uint16_t at = free_head_;
  for (std::size_t k = 0; k < n; ++k) {
    ids[k] = at;
    at = next_free_[at];
  }
  free_head_ = at;
  num_free_ -= static_cast<std::uint32_t>(n);

  std::uint32_t writable_bytes = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const bool is_write = k >= readable.size();
    const BufferSegment& s = is_write ? writable[k - readable.size()] : readable[k];
    std::uint16_t flags = is_write ? vring::kDescFWrite : std::uint16_t{0};
    std::uint16_t next = 0;
    if (k + 1 < n) {
      flags = static_cast<std::uint16_t>(flags | vring::kDescFNext);
      next = ids[k + 1];
    }
    write_desc(ids[k], s, flags, next);
    if (is_write) writable_bytes += s.len;
  }
  const std::uint16_t head = ids[0];
  ChainInfo& c = chains_[head];
  c.in_flight = true;
  c.writable = writable_bytes;
  c.descs = std::move(ids);
  ++in_flight_;

  write16(layout_.avail + 4 + 2ULL * (avail_idx_ % layout_.size), head);
  avail_idx_ = static_cast<std::uint16_t>(avail_idx_ + 1);
  ++stats_.added;
  return head;
}

void SplitQueueDriver::publish() {
  if (published_ == avail_idx_) return;
  // The ring entries were written by add(); port calls complete in program
  // order, so the index is visible only after them.
  write16(layout_.avail + 2, avail_idx_);
  published_ = avail_idx_;
  ++stats_.published;
}

bool SplitQueueDriver::needs_kick() {
  const std::uint16_t old_idx = kicked_;
  const std::uint16_t new_idx = published_;
  kicked_ = new_idx;
  if (old_idx == new_idx) return false;
  bool kick = true;
  if (options_.event_idx) {
    kick = vring::need_event(read16(avail_event_addr()), new_idx, old_idx);
  } else {
    kick = (read16(layout_.used) & vring::kUsedFNoNotify) == 0;
  }
  ++(kick ? stats_.kicks_needed : stats_.kicks_suppressed);
  return kick;
}

bool SplitQueueDriver::has_used() { return !broken_ && read16(layout_.used + 2) != last_used_; }

VResult<std::vector<UsedElem>> SplitQueueDriver::reap() {
  if (broken_) return fail(VirtioErrc::QueueBroken, broken_->message);
  const std::uint16_t used_idx = read16(layout_.used + 2);
  const auto pending = static_cast<std::uint16_t>(used_idx - last_used_);
  if (pending > in_flight_) {
    return Err{break_queue(VirtioErrc::UsedIndexJump, "used.idx " + std::to_string(used_idx) + " is " +
                                                          std::to_string(pending) + " entries ahead of " +
                                                          std::to_string(last_used_) + " with only " +
                                                          std::to_string(in_flight_) + " chains in flight")};
  }
  std::vector<UsedElem> out;
  out.reserve(pending);
  for (std::uint16_t k = 0; k < pending; ++k) {
    std::array<std::uint8_t, 8> e{};
    port_->mem_read(layout_.used + 4 + 8ULL * (last_used_ % layout_.size), e);
    const std::uint32_t id = le::load32(e, 0);
    const std::uint32_t len = le::load32(e, 4);
    if (id >= layout_.size || !chains_[id].in_flight) {
      return Err{break_queue(VirtioErrc::BadUsedId, "used element " + std::to_string(last_used_) + ": id " +
                                                        std::to_string(id) + " is not an in-flight head (size " +
                                                        std::to_string(layout_.size) + ")")};
    }
    ChainInfo& c = chains_[id];
    if (len > c.writable) {
      return Err{break_queue(VirtioErrc::BadUsedLength, "used element " + std::to_string(last_used_) + ": id " +
                                                            std::to_string(id) + " len " + std::to_string(len) +
                                                            " > " + std::to_string(c.writable) + " writable bytes")};
    }
    // Give the chain back: its descriptors go to the front of the free list.
    for (auto it = c.descs.rbegin(); it != c.descs.rend(); ++it) {
      next_free_[*it] = free_head_;
      free_head_ = *it;
    }
    num_free_ += static_cast<std::uint32_t>(c.descs.size());
    c = ChainInfo{};
    --in_flight_;
    last_used_ = static_cast<std::uint16_t>(last_used_ + 1);
    out.push_back(UsedElem{static_cast<std::uint16_t>(id), len});
  }
  stats_.reaped += out.size();
  // EVENT_IDX: ask for an interrupt at the next used entry now that these are
  // seen, or keep the suppression point just behind us so the device does not
  // reach it after 2^16 entries.
  if (options_.event_idx && !out.empty()) {
    write16(used_event_addr(), interrupts_ ? last_used_ : static_cast<std::uint16_t>(last_used_ - 1));
  }
  return out;
}

void SplitQueueDriver::set_interrupts(bool enabled) {
  interrupts_ = enabled;
  if (options_.event_idx) {
    // Flags must stay 0 with EVENT_IDX; used_event one behind the last seen
    // index is the furthest point the device can reach.
    write16(used_event_addr(), enabled ? last_used_ : static_cast<std::uint16_t>(last_used_ - 1));
  } else {
    write16(layout_.avail, enabled ? std::uint16_t{0} : vring::kAvailFNoInterrupt);
  }
}

}  // namespace vmsg::driver

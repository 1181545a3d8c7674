// The port accesses of one FifoLink, shaped so that a pipelining port
// (Port::pipelines, e.g. qtest) carries a whole request/response exchange in
// one round trip, while every other port sees exactly the single calls it
// always saw.
//
// Outside an exchange every access goes straight to the port. During one
// (an Exchange scope):
// - writes are posted (Port::post): a pipelining port holds them and sends
//   them ahead of its next operation, so their order is kept;
// - fetch() reads words and slots ahead, together with the held writes, in
//   one Port::run; later reads of exactly those addresses are answered from
//   what was fetched until the device may have acted: after a doorbell
//   (kick), advance_time, or any other operation on the port (seen at the
//   next exchange: the write this batcher posted last is no longer held).
//
// Why answering from a fetch is exact: the fetched words are the device's
// (its producer index, its consumer index) and the slots it fills; between
// the fetch and the read that uses it, the target saw only this batcher's own
// writes to FIFO RAM, which run no device code. So the read gets what it
// would have got at its own moment, unless the device changed the value on
// its own in between, and such a change may as well come just after the
// read. What is fetched but never used only adds reads of FIFO RAM.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "vmsg/common/le.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::driver {

/// See the file comment. Holds a non-owning reference to the port.
/// Not thread-safe.
class PortBatcher {
 public:
  explicit PortBatcher(port::Port& port) : port_(&port) {}

  /// Marks one exchange: only inside one are writes posted and reads
  /// answered from fetched values (which may come from the previous exchange).
  class Exchange {
   public:
    explicit Exchange(PortBatcher& b) : b_(&b) { b_->begin(); }
    ~Exchange() { b_->active_ = false; }
    Exchange(const Exchange&) = delete;
    Exchange& operator=(const Exchange&) = delete;

   private:
    PortBatcher* b_;
  };

  /// A 32-bit MMIO read (the ring indices are readl, amp-pci-device.md §9.5).
  [[nodiscard]] std::uint32_t read32(std::uint64_t addr);
  /// A memory read of `out.size()` bytes.
  void read(std::uint64_t addr, std::span<std::uint8_t> out);
  /// A 32-bit MMIO write to FIFO RAM (no device code runs on it).
  void write32(std::uint64_t addr, std::uint32_t value);
  /// A memory write to FIFO RAM.
  void write(std::uint64_t addr, std::span<const std::uint8_t> data);
  /// A 32-bit MMIO write that may make the device act (a doorbell): nothing
  /// fetched before it answers a read after it.
  void kick(std::uint64_t addr, std::uint32_t value);
  /// Advances the target's clock (after the posted writes); forgets what was fetched.
  void advance_time(std::uint64_t ns);

  /// During an exchange on a pipelining port: reads the 32-bit `words` and
  /// the 64-byte `slots` not fetched yet, in one Port::run behind the posted
  /// writes. Otherwise does nothing (the reads happen when they are needed).
  void fetch(std::initializer_list<std::uint64_t> words, std::initializer_list<std::uint64_t> slots);
  /// Drops every fetched value.
  void forget() noexcept { known_.clear(); }

  [[nodiscard]] port::Port& port() noexcept { return *port_; }

 private:
  /// A value fetched at some point of the access sequence.
  struct Known {
    std::uint64_t addr = 0;
    std::uint32_t len = 0;  ///< 4 (a word) or kSlotSize (a slot)
    std::array<std::uint8_t, fifo::kSlotSize> bytes{};
  };

  void begin();
  [[nodiscard]] const Known* find(std::uint64_t addr, std::size_t len) const noexcept;
  void post(const port::Access& a);

  port::Port* port_;
  bool active_ = false;
  std::uint64_t ticket_ = 0;  ///< of the latest post: still held means nothing reached the target since
  std::vector<Known> known_;
};

// Inline: the ring views (port_queue.hpp) are header-only and used outside
// the driver library.

inline void PortBatcher::begin() {
  // What an earlier exchange fetched still holds while the write it posted
  // last is still held back: then nothing has reached the target since.
  if (!port_->holding(ticket_)) known_.clear();
  active_ = true;
}

inline const PortBatcher::Known* PortBatcher::find(std::uint64_t addr, std::size_t len) const noexcept {
  for (const Known& k : known_) {
    if (k.addr == addr && k.len == len) return &k;
  }
  return nullptr;
}

inline void PortBatcher::post(const port::Access& a) { ticket_ = port_->post({&a, 1}); }

inline std::uint32_t PortBatcher::read32(std::uint64_t addr) {
  if (const Known* k = active_ ? find(addr, 4) : nullptr) return le::load32(k->bytes, 0);
  return static_cast<std::uint32_t>(port_->mmio_read(addr, 4));
}

inline void PortBatcher::read(std::uint64_t addr, std::span<std::uint8_t> out) {
  if (const Known* k = active_ ? find(addr, out.size()) : nullptr) {
    std::copy_n(k->bytes.begin(), out.size(), out.begin());
    return;
  }
  port_->mem_read(addr, out);
}

inline void PortBatcher::write32(std::uint64_t addr, std::uint32_t value) {
  if (active_) {
    post(port::Access::mmio_write(addr, 4, value));
  } else {
    port_->mmio_write(addr, 4, value);
  }
}

inline void PortBatcher::write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  if (active_) {
    post(port::Access::mem_write(addr, data));
  } else {
    port_->mem_write(addr, data);
  }
}

inline void PortBatcher::kick(std::uint64_t addr, std::uint32_t value) {
  write32(addr, value);
  forget();
}

inline void PortBatcher::advance_time(std::uint64_t ns) {
  port_->advance_time(ns);
  forget();
}

inline void PortBatcher::fetch(std::initializer_list<std::uint64_t> words, std::initializer_list<std::uint64_t> slots) {
  if (!active_ || !port_->pipelines()) return;
  const std::size_t first = known_.size();
  for (std::uint64_t w : words) {
    if (!find(w, 4)) known_.push_back(Known{.addr = w, .len = 4});
  }
  for (std::uint64_t s : slots) {
    if (!find(s, fifo::kSlotSize)) known_.push_back(Known{.addr = s, .len = fifo::kSlotSize});
  }
  if (known_.size() == first) return;
  std::vector<port::Access> batch;
  batch.reserve(known_.size() - first);
  for (std::size_t i = first; i < known_.size(); ++i) {
    Known& k = known_[i];
    batch.push_back(k.len == 4 ? port::Access::mmio_read(k.addr, 4)
                               : port::Access::mem_read(k.addr, std::span<std::uint8_t>(k.bytes)));
  }
  try {
    port_->run(batch);
  } catch (...) {
    known_.resize(first);  // nothing of this fetch is known
    throw;
  }
  for (std::size_t i = first; i < known_.size(); ++i) {
    if (known_[i].len == 4) le::store32(known_[i].bytes, 0, static_cast<std::uint32_t>(batch[i - first].value));
  }
}

}  // namespace vmsg::driver

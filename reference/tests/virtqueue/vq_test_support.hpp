// Shared fixtures for the virtqueue tests: fake guest memory that counts and
// can refuse accesses, and a driver-side helper that lays out split rings the
// way a virtio driver would.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <ostream>
#include <span>
#include <utility>
#include <vector>

#include "vmsg/common/le.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/virtqueue/ring.hpp"
#include "vmsg/virtqueue/split_queue.hpp"

namespace vmsg::virtqueue {

// gtest prints enums as numbers otherwise.
inline void PrintTo(QueueError e, std::ostream* os) { *os << to_string(e); }
inline void PrintTo(LayoutError e, std::ostream* os) { *os << to_string(e); }

namespace test {

/// One DmaSpace call as the fake saw it.
struct Access {
  std::uint64_t addr = 0;
  std::uint64_t len = 0;
  bool write = false;
  bool ok = false;
};

/// RAM at [base, base + size) seen through DmaSpace. Accesses outside it, or
/// overlapping a range marked faulty, fail and touch nothing. Counts every
/// call; the test reads and writes the bytes directly (uncounted) as the driver.
class FakeMemory final : public pci::DmaSpace {
 public:
  static constexpr std::uint64_t kBase = 0x100000;
  static constexpr std::size_t kSize = 1u << 20;

  explicit FakeMemory(std::uint64_t base = kBase, std::size_t size = kSize) : base_(base), bytes_(size, 0) {}

  bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    ++reads;
    if (!check(addr, out.size(), false)) return false;
    std::copy_n(bytes_.begin() + offset(addr), out.size(), out.begin());
    return true;
  }
  bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    ++writes;
    if (!check(addr, data.size(), true)) return false;
    std::copy(data.begin(), data.end(), bytes_.begin() + offset(addr));
    if (after_write) after_write(addr, data.size());
    return true;
  }
  bool msi_write(std::uint64_t addr, std::uint32_t data) override {
    std::array<std::uint8_t, 4> b{};
    le::store32(b, 0, data);
    return dma_write(addr, b);
  }

  /// Makes every access overlapping [addr, addr + len) fail.
  void fail_range(std::uint64_t addr, std::uint64_t len) { faults_.emplace_back(addr, len); }
  void clear_faults() { faults_.clear(); }
  void reset_counts() {
    reads = writes = failed = wrapped = zero_length = 0;
    log.clear();
  }
  [[nodiscard]] std::uint64_t base() const noexcept { return base_; }
  [[nodiscard]] std::uint64_t end() const noexcept { return base_ + bytes_.size(); }
  [[nodiscard]] std::uint64_t calls() const noexcept { return reads + writes; }

  // Driver-side access: direct, uncounted, asserts the range is RAM.
  void put(std::uint64_t addr, std::span<const std::uint8_t> data) {
    ASSERT_TRUE(inside(addr, data.size()));
    std::copy(data.begin(), data.end(), bytes_.begin() + offset(addr));
  }
  [[nodiscard]] std::vector<std::uint8_t> get(std::uint64_t addr, std::size_t len) const {
    EXPECT_TRUE(inside(addr, len));
    if (!inside(addr, len)) return {};
    const auto at = bytes_.begin() + offset(addr);
    return {at, at + static_cast<std::ptrdiff_t>(len)};
  }
  void put16(std::uint64_t addr, std::uint16_t v) { put_le(addr, v); }
  void put32(std::uint64_t addr, std::uint32_t v) { put_le(addr, v); }
  void put64(std::uint64_t addr, std::uint64_t v) { put_le(addr, v); }
  [[nodiscard]] std::uint16_t get16(std::uint64_t addr) const { return get_le<std::uint16_t>(addr); }
  [[nodiscard]] std::uint32_t get32(std::uint64_t addr) const { return get_le<std::uint32_t>(addr); }
  /// The raw bytes (for fuzzing and for whole-memory comparisons).
  [[nodiscard]] std::vector<std::uint8_t>& bytes() noexcept { return bytes_; }

  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t failed = 0;       ///< refused calls (outside RAM or faulty)
  std::uint64_t wrapped = 0;      ///< calls whose range wraps past 2^64 (always a queue bug)
  std::uint64_t zero_length = 0;  ///< calls with an empty span (wasteful)
  bool logging = false;
  std::vector<Access> log;                                     ///< filled while `logging`
  std::function<void(std::uint64_t, std::size_t)> after_write;  ///< runs after each successful write

 private:
  [[nodiscard]] bool inside(std::uint64_t addr, std::uint64_t len) const noexcept {
    return addr >= base_ && addr - base_ <= bytes_.size() && len <= bytes_.size() - (addr - base_);
  }
  [[nodiscard]] std::ptrdiff_t offset(std::uint64_t addr) const noexcept {
    return static_cast<std::ptrdiff_t>(addr - base_);
  }
  bool check(std::uint64_t addr, std::uint64_t len, bool write) {
    bool ok = true;
    if (len == 0) ++zero_length;
    if (len > 0 && addr > std::numeric_limits<std::uint64_t>::max() - (len - 1)) {
      ++wrapped;
      ok = false;
    }
    if (ok && !inside(addr, len)) ok = false;
    for (const auto& [f, flen] : faults_) {
      // [addr, addr + len) and [f, f + flen) overlap (both inside RAM here).
      if (ok && len > 0 && addr < f + flen && f < addr + len) ok = false;
    }
    if (!ok) ++failed;
    if (logging) log.push_back(Access{addr, len, write, ok});
    return ok;
  }
  template <typename T>
  void put_le(std::uint64_t addr, T v) {
    if (!inside(addr, sizeof(T))) {
      ADD_FAILURE() << "driver write outside RAM at " << addr;
      return;
    }
    le::store<T>(std::span<std::uint8_t>{bytes_}.subspan(static_cast<std::size_t>(addr - base_), sizeof(T)), 0, v);
  }
  template <typename T>
  [[nodiscard]] T get_le(std::uint64_t addr) const {
    if (!inside(addr, sizeof(T))) {
      ADD_FAILURE() << "driver read outside RAM at " << addr;
      return T{0};
    }
    return le::load<T>(std::span<const std::uint8_t>{bytes_}.subspan(static_cast<std::size_t>(addr - base_), sizeof(T)), 0);
  }

  std::uint64_t base_;
  std::vector<std::uint8_t> bytes_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> faults_;
};

/// Where the tests put things in FakeMemory: rings of any size up to 32768
/// below kData, buffers and indirect tables from kData on.
inline constexpr std::uint64_t kDescAddr = FakeMemory::kBase;
inline constexpr std::uint64_t kAvailAddr = FakeMemory::kBase + 0x80000;
inline constexpr std::uint64_t kUsedAddr = FakeMemory::kBase + 0x91000;
inline constexpr std::uint64_t kData = FakeMemory::kBase + 0xD8000;
inline constexpr std::uint64_t kDataEnd = FakeMemory::kBase + FakeMemory::kSize;

inline QueueLayout standard_layout(std::uint32_t size) {
  return QueueLayout{.size = size, .desc_addr = kDescAddr, .driver_addr = kAvailAddr, .device_addr = kUsedAddr};
}

/// The driver's side of one split queue in FakeMemory.
class Driver {
 public:
  Driver(FakeMemory& mem, const QueueLayout& layout) : mem_(mem), layout_(layout) {}

  /// Writes descriptor `i` of the table at `table` (the queue's by default).
  void desc_at(std::uint64_t table, std::uint32_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags,
               std::uint16_t next = 0) {
    const std::uint64_t at = table + ring::kDescSize * i;
    mem_.put64(at + ring::kDescAddrOffset, addr);
    mem_.put32(at + ring::kDescLenOffset, len);
    mem_.put16(at + ring::kDescFlagsOffset, flags);
    mem_.put16(at + ring::kDescNextOffset, next);
  }
  void desc(std::uint32_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags, std::uint16_t next = 0) {
    desc_at(layout_.desc_addr, i, addr, len, flags, next);
  }
  /// Puts `head` in the next avail slot and publishes it (avail.idx + 1).
  void publish(std::uint16_t head) {
    mem_.put16(layout_.driver_addr + ring::avail_ring_offset(avail_idx_ & (layout_.size - 1)), head);
    set_avail_idx(static_cast<std::uint16_t>(avail_idx_ + 1));
  }
  void set_avail_idx(std::uint16_t idx) {
    avail_idx_ = idx;
    mem_.put16(layout_.driver_addr + ring::kAvailIdxOffset, idx);
  }
  void set_avail_flags(std::uint16_t flags) { mem_.put16(layout_.driver_addr + ring::kAvailFlagsOffset, flags); }
  void set_used_event(std::uint16_t idx) { mem_.put16(layout_.driver_addr + ring::used_event_offset(layout_.size), idx); }
  [[nodiscard]] std::uint16_t avail_idx() const noexcept { return avail_idx_; }
  [[nodiscard]] std::uint16_t used_idx() const { return mem_.get16(layout_.device_addr + ring::kUsedIdxOffset); }
  [[nodiscard]] std::uint16_t avail_event() const {
    return mem_.get16(layout_.device_addr + ring::avail_event_offset(layout_.size));
  }
  /// {id, len} of used ring slot `slot`.
  [[nodiscard]] std::pair<std::uint32_t, std::uint32_t> used_elem(std::uint32_t slot) const {
    const std::uint64_t at = layout_.device_addr + ring::used_ring_offset(slot);
    return {mem_.get32(at), mem_.get32(at + 4)};
  }
  [[nodiscard]] const QueueLayout& layout() const noexcept { return layout_; }

 private:
  FakeMemory& mem_;
  QueueLayout layout_;
  std::uint16_t avail_idx_ = 0;
};

/// A queue over the standard layout, with pop helpers that report rather
/// than crash when the outcome is not the expected kind.
class QueueTest : public ::testing::Test {
 protected:
  void make(std::uint32_t size, QueueFeatures features = {}, QueueFaults faults = {}) {
    drv.emplace(mem, standard_layout(size));
    auto r = SplitQueue::create(mem, drv->layout(), features, faults);
    ASSERT_TRUE(r.ok());
    q.emplace(std::move(r).value());
    mem.reset_counts();
  }
  /// Pops expecting success; nullopt for "ring empty" (and on failure).
  std::optional<Chain> pop_ok() {
    auto r = q->pop();
    if (!r.ok()) {
      ADD_FAILURE() << "pop failed: " << to_string(r.error());
      return std::nullopt;
    }
    return std::move(r).value();
  }
  /// Pops expecting a chain.
  Chain pop_chain() {
    auto c = pop_ok();
    if (!c) {
      ADD_FAILURE() << "pop found the ring empty";
      return Chain{};
    }
    return std::move(*c);
  }
  /// Pops expecting an error; nullopt (a test failure) when pop succeeds.
  std::optional<QueueError> pop_err() {
    auto r = q->pop();
    if (r.ok()) return std::nullopt;
    return r.error();
  }

  FakeMemory mem;
  std::optional<Driver> drv;
  std::optional<SplitQueue> q;
};

}  // namespace test
}  // namespace vmsg::virtqueue

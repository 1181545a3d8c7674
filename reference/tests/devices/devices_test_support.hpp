// Fixtures for the device backend tests: guest memory over a byte vector, a
// split ring laid out in it by hand (the driver's side, written from the
// virtio spec, not from SplitQueue), and a DeviceContext that records calls.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmsg/common/le.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/transport/backend.hpp"
#include "vmsg/virtqueue/split_queue.hpp"

namespace vmsg::devices::test {

/// Guest RAM at [base, base + size); everything else is unbacked (DMA fails).
class FakeMemory final : public pci::DmaSpace {
 public:
  explicit FakeMemory(std::uint64_t base = 0x10000, std::size_t size = 0x40000) : base_(base), bytes_(size, 0) {}

  bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    if (!inside(addr, out.size())) return false;
    std::copy_n(bytes_.begin() + offset(addr), out.size(), out.begin());
    return true;
  }
  bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    if (!inside(addr, data.size())) return false;
    std::copy(data.begin(), data.end(), bytes_.begin() + offset(addr));
    return true;
  }
  bool msi_write(std::uint64_t addr, std::uint32_t data) override {
    std::array<std::uint8_t, 4> b{};
    le::store32(b, 0, data);
    return dma_write(addr, b);
  }

  [[nodiscard]] bool inside(std::uint64_t addr, std::size_t len) const {
    return addr >= base_ && addr - base_ <= bytes_.size() && len <= bytes_.size() - (addr - base_);
  }
  /// Direct view for test setup and checks (asserts the range is RAM).
  [[nodiscard]] std::span<std::uint8_t> at(std::uint64_t addr, std::size_t len) {
    EXPECT_TRUE(inside(addr, len)) << "test bug: " << addr << "+" << len << " outside fake RAM";
    if (!inside(addr, len)) return {};
    return std::span<std::uint8_t>(bytes_).subspan(static_cast<std::size_t>(addr - base_), len);
  }
  [[nodiscard]] std::vector<std::uint8_t> copy(std::uint64_t addr, std::size_t len) {
    auto s = at(addr, len);
    return {s.begin(), s.end()};
  }
  [[nodiscard]] std::uint64_t base() const noexcept { return base_; }
  [[nodiscard]] std::uint64_t end() const noexcept { return base_ + bytes_.size(); }

 private:
  [[nodiscard]] std::ptrdiff_t offset(std::uint64_t addr) const { return static_cast<std::ptrdiff_t>(addr - base_); }
  std::uint64_t base_;
  std::vector<std::uint8_t> bytes_;
};

/// One used-ring element.
struct UsedElem {
  std::uint32_t id = 0;
  std::uint32_t len = 0;
  friend bool operator==(const UsedElem&, const UsedElem&) = default;
};

/// A device-writable buffer of a built chain.
struct WritableBuf {
  std::uint64_t addr = 0;
  std::uint32_t len = 0;
};

/// What add_chain built.
struct BuiltChain {
  std::uint16_t head = 0;
  std::vector<WritableBuf> writable;
};

/// Byte every writable buffer starts with, so unwritten bytes are visible.
inline constexpr std::uint8_t kPoison = 0xEE;

/// The driver side of one split virtqueue in FakeMemory: descriptor table,
/// available and used rings at fixed addresses, buffers after them.
class Ring {
 public:
  static constexpr std::uint16_t kNext = 1;
  static constexpr std::uint16_t kWrite = 2;

  explicit Ring(FakeMemory& mem, std::uint16_t size = 16) : mem_(mem), size_(size) {
    layout_.size = size;
    layout_.desc_addr = mem.base();
    layout_.driver_addr = layout_.desc_addr + 16u * size;
    layout_.device_addr = align(layout_.driver_addr + 6u + 2u * size, 4);
    data_next_ = align(layout_.device_addr + 6u + 8u * size, 64);
  }

  [[nodiscard]] const virtqueue::QueueLayout& layout() const noexcept { return layout_; }

  /// The device side over this ring (no INDIRECT, no EVENT_IDX).
  [[nodiscard]] virtqueue::SplitQueue queue() {
    auto q = virtqueue::SplitQueue::create(mem_, layout_, {});
    EXPECT_TRUE(q.ok()) << "test bug: layout refused";
    return std::move(q).value();
  }

  /// Copies `bytes` into a fresh buffer; returns its address.
  std::uint64_t buffer(std::span<const std::uint8_t> bytes) {
    const std::uint64_t a = alloc(bytes.size());
    std::copy(bytes.begin(), bytes.end(), mem_.at(a, bytes.size()).begin());
    return a;
  }
  /// A fresh buffer of `len` bytes filled with kPoison.
  std::uint64_t poisoned(std::uint32_t len) {
    const std::uint64_t a = alloc(len);
    auto s = mem_.at(a, len);
    std::fill(s.begin(), s.end(), kPoison);
    return a;
  }

  /// Writes descriptor `i`.
  void set_desc(std::uint16_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags, std::uint16_t next) {
    auto d = mem_.at(layout_.desc_addr + 16u * i, 16);
    le::store64(d, 0, addr);
    le::store32(d, 8, len);
    le::store16(d, 12, flags);
    le::store16(d, 14, next);
  }

  /// Builds a chain of readable segments (contents given) then writable
  /// segments (lengths given, poisoned) from consecutive descriptors, and
  /// publishes it.
  BuiltChain add_chain(const std::vector<std::vector<std::uint8_t>>& readable,
                       const std::vector<std::uint32_t>& writable) {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> segs;
    BuiltChain built;
    for (const auto& r : readable) segs.emplace_back(buffer(r), static_cast<std::uint32_t>(r.size()));
    for (std::uint32_t w : writable) {
      const std::uint64_t a = poisoned(w);
      segs.emplace_back(a, w);
      built.writable.push_back({a, w});
    }
    EXPECT_FALSE(segs.empty()) << "test bug: empty chain";
    built.head = next_desc_;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      const std::uint16_t idx = next_desc_;
      next_desc_ = static_cast<std::uint16_t>((next_desc_ + 1u) % size_);
      std::uint16_t flags = i >= readable.size() ? kWrite : 0;
      if (i + 1 < segs.size()) flags = static_cast<std::uint16_t>(flags | kNext);
      set_desc(idx, segs[i].first, segs[i].second, flags, next_desc_);
    }
    publish(built.head);
    return built;
  }

  /// Descriptors a test wants to write itself come from here.
  std::uint16_t take_desc() {
    const std::uint16_t idx = next_desc_;
    next_desc_ = static_cast<std::uint16_t>((next_desc_ + 1u) % size_);
    return idx;
  }

  /// Appends `head` to the available ring and bumps avail.idx.
  void publish(std::uint16_t head) {
    le::store16(mem_.at(layout_.driver_addr + 4u + 2u * (avail_idx_ % size_), 2), 0, head);
    ++avail_idx_;
    le::store16(mem_.at(layout_.driver_addr + 2u, 2), 0, avail_idx_);
  }

  [[nodiscard]] std::uint16_t used_idx() { return le::load16(mem_.at(layout_.device_addr + 2u, 2), 0); }
  [[nodiscard]] UsedElem used(std::uint16_t i) {
    auto e = mem_.at(layout_.device_addr + 4u + 8u * (i % size_), 8);
    return {le::load32(e, 0), le::load32(e, 4)};
  }
  /// All used elements published so far (the ring never wraps in these tests).
  [[nodiscard]] std::vector<UsedElem> all_used() {
    std::vector<UsedElem> v;
    for (std::uint16_t i = 0; i < used_idx(); ++i) v.push_back(used(i));
    return v;
  }

 private:
  static constexpr std::uint64_t align(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }
  std::uint64_t alloc(std::size_t len) {
    const std::uint64_t a = data_next_;
    data_next_ = align(data_next_ + len, 16);
    EXPECT_LE(data_next_, mem_.end()) << "test bug: fake RAM exhausted";
    return a;
  }

  FakeMemory& mem_;
  std::uint16_t size_;
  virtqueue::QueueLayout layout_{};
  std::uint64_t data_next_ = 0;
  std::uint16_t next_desc_ = 0;
  std::uint16_t avail_idx_ = 0;
};

/// A DeviceContext recording every call; config_changed snapshots the
/// backend's config bytes at the moment of the call.
class FakeContext final : public transport::DeviceContext {
 public:
  struct ConfigChange {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::vector<std::uint8_t> config;  ///< whole config as readable during the call
  };

  FakeContext(FakeMemory& mem, transport::Backend& backend) : mem_(mem), backend_(backend) {}

  pci::DmaSpace& memory() override { return mem_; }
  void config_changed(std::uint32_t offset, std::uint32_t length) override {
    std::vector<std::uint8_t> cfg(backend_.config_size());
    backend_.read_config(0, cfg);
    config_changes.push_back({offset, length, std::move(cfg)});
  }
  void needs_reset() override { ++needs_reset_calls; }
  void used(unsigned q) override { used_calls.push_back(q); }
  [[nodiscard]] bool driver_ok() const override { return ok; }
  void driver_rule(std::string_view rule, std::string_view kind, std::string_view detail) override {
    (void)kind;
    (void)detail;
    rules.emplace_back(rule);
  }

  std::vector<ConfigChange> config_changes;
  std::vector<std::string> rules;  ///< driver rules the backend reported, in order
  unsigned needs_reset_calls = 0;
  std::vector<unsigned> used_calls;
  bool ok = true;

 private:
  FakeMemory& mem_;
  transport::Backend& backend_;
};

/// The whole config space of `b`.
inline std::vector<std::uint8_t> config_bytes(const transport::Backend& b) {
  std::vector<std::uint8_t> cfg(b.config_size());
  b.read_config(0, cfg);
  return cfg;
}

/// `v` as 4 little-endian bytes.
inline std::vector<std::uint8_t> le32_bytes(std::uint32_t v) {
  std::vector<std::uint8_t> b(4);
  le::store32(b, 0, v);
  return b;
}

}  // namespace vmsg::devices::test

// Hostile-driver fuzzing through the public API only: random ring contents
// (biased towards almost-valid chains and indirect tables), fixed seed.
// Whatever the bytes, the queue must terminate within a bounded number of
// DMA calls per pop, never issue a wrapping or empty access, never write
// outside the used ring except through write(), and return only well-formed
// chains or a sticky error.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "virtqueue/vq_test_support.hpp"

namespace vmsg::virtqueue {
namespace {

using test::Driver;
using test::FakeMemory;
using test::kData;
using test::kDataEnd;

class Fuzzer {
 public:
  explicit Fuzzer(std::uint64_t seed) : rng_(seed) {}
  std::uint64_t next() { return rng_(); }
  /// Uniform-enough value in [0, n).
  std::uint64_t below(std::uint64_t n) { return rng_() % n; }
  bool chance(unsigned percent) { return below(100) < percent; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(rng_()); }
  /// Random bytes over [addr, addr + len) of RAM, eight per generator call.
  void fill(FakeMemory& mem, std::uint64_t addr, std::uint64_t len) {
    const auto at = static_cast<std::size_t>(addr - mem.base());
    std::uint64_t word = 0;
    for (std::size_t i = 0; i < len; ++i) {
      if (i % 8 == 0) word = next();
      mem.bytes()[at + i] = static_cast<std::uint8_t>(word >> (8 * (i % 8)));
    }
  }

  /// A descriptor that is often nearly valid: small lengths, low flag bits,
  /// next near the table size, addresses in the buffer/table area.
  void descriptor(Driver& drv, std::uint64_t table, std::uint32_t i, std::uint32_t table_entries) {
    std::uint64_t addr = 0;
    if (chance(70)) {
      addr = kData + below(kDataEnd - kData);
    } else if (chance(50)) {
      addr = next();  // anywhere, including near 2^64
    } else {
      addr = FakeMemory::kBase + below(FakeMemory::kSize);  // into the rings
    }
    std::uint32_t len = 0;
    switch (below(4)) {
      case 0: len = static_cast<std::uint32_t>(below(64)); break;
      case 1: len = static_cast<std::uint32_t>(16 * below(40)); break;  // plausible indirect tables
      case 2: len = static_cast<std::uint32_t>(next()); break;
      default: len = static_cast<std::uint32_t>(0xFFFF'FFFFu - below(4)); break;
    }
    std::uint16_t flags = 0;
    if (chance(90)) {
      flags = static_cast<std::uint16_t>((chance(35) ? ring::kDescFNext : 0) | (chance(40) ? ring::kDescFWrite : 0) |
                                         (chance(8) ? ring::kDescFIndirect : 0));
    } else {
      flags = u16();
    }
    const auto nxt = static_cast<std::uint16_t>(chance(85) ? below(table_entries + 2) : u16());
    drv.desc_at(table, i, addr, len, flags, nxt);
  }

 private:
  std::mt19937_64 rng_;
};

TEST(FuzzTest, RandomRingsNeverEscapeHangOrCrash) {
  Fuzzer fz(0x76'6D73'6751);
  FakeMemory mem;
  // Seed the buffer/table area with random descriptors once; each round
  // rewrites a random window of it.
  {
    Driver drv(mem, test::standard_layout(1));
    for (std::uint64_t a = kData; a < kDataEnd; a += 16) fz.descriptor(drv, a, 0, 64);
  }
  std::uint64_t chains = 0;
  std::uint64_t errors = 0;
  std::uint64_t empties = 0;
  for (int round = 0; round < 1500; ++round) {
    const std::uint32_t size = 1u << fz.below(9);  // 1 .. 256
    const QueueFeatures features{.indirect = fz.chance(70), .event_idx = fz.chance(50)};
    const QueueLayout layout = test::standard_layout(size);
    Driver drv(mem, layout);

    for (std::uint32_t i = 0; i < size; ++i) fz.descriptor(drv, layout.desc_addr, i, size);
    const std::uint64_t window = kData + 16 * fz.below((kDataEnd - kData) / 16 - 64);
    for (std::uint32_t i = 0; i < 64; ++i) fz.descriptor(drv, window, i, 64);
    // Avail ring: random heads, mostly in range; a random or plausible idx.
    for (std::uint32_t i = 0; i < size; ++i) {
      mem.put16(layout.driver_addr + ring::avail_ring_offset(i),
                static_cast<std::uint16_t>(fz.chance(90) ? fz.below(size + 1) : fz.u16()));
    }
    drv.set_avail_flags(fz.u16());
    drv.set_used_event(fz.u16());
    drv.set_avail_idx(static_cast<std::uint16_t>(fz.chance(85) ? fz.below(size + 2) : fz.u16()));
    fz.fill(mem, layout.device_addr, ring::used_ring_bytes(size));

    auto made = SplitQueue::create(mem, layout, features);
    ASSERT_TRUE(made.ok());
    SplitQueue q = std::move(made).value();
    const std::uint64_t used_lo = layout.device_addr;
    const std::uint64_t used_hi = layout.device_addr + ring::used_ring_bytes(size);

    for (std::uint32_t step = 0; step < 2 * size + 4; ++step) {
      mem.reset_counts();
      mem.logging = true;
      auto popped = q.pop();
      // Termination: idx (x2), avail_event, ring entry, at most size direct
      // plus 65536 indirect descriptor reads.
      ASSERT_LE(mem.calls(), 4u + size + 65536u);
      for (const test::Access& a : mem.log) {
        if (a.write) {
          ASSERT_GE(a.addr, used_lo);
          ASSERT_LE(a.addr + a.len, used_hi);
        }
      }
      if (!popped.ok()) {
        ++errors;
        ASSERT_EQ(q.broken(), popped.error());
        mem.reset_counts();
        auto again = q.pop();
        ASSERT_FALSE(again.ok());
        ASSERT_EQ(again.error(), popped.error());
        ASSERT_EQ(mem.calls(), 0u);
        break;
      }
      if (!popped->has_value()) {
        ++empties;
        break;
      }
      ++chains;
      const Chain& c = **popped;
      ASSERT_LT(c.head, size);
      ASSERT_LE(c.readable_bytes(), 0xFFFF'FFFFu);
      ASSERT_LE(c.writable_bytes(), 0xFFFF'FFFFu);
      ASSERT_LE(c.readable.size() + c.writable.size(), size + 65536u);
      for (const Segment& s : c.readable) ASSERT_GT(s.len, 0u);
      for (const Segment& s : c.writable) ASSERT_GT(s.len, 0u);

      mem.logging = false;
      std::array<std::uint8_t, 48> buf{};
      auto rd = q.read(c, fz.below(64), buf);
      if (!rd.ok()) {
        ASSERT_EQ(rd.error(), QueueError::DmaFault);
        ++errors;
        break;
      }
      ASSERT_LE(*rd, buf.size());
      mem.logging = true;
      mem.log.clear();
      if (q.push_used(c.head, static_cast<std::uint32_t>(fz.below(64))).has_value()) {
        ++errors;
        break;
      }
      auto n = q.should_notify();
      ASSERT_TRUE(n.ok());
      for (const test::Access& a : mem.log) {
        if (a.write) {
          ASSERT_GE(a.addr, used_lo);
          ASSERT_LE(a.addr + a.len, used_hi);
        }
      }
    }
    ASSERT_EQ(mem.wrapped, 0u);
    ASSERT_EQ(mem.zero_length, 0u);
  }
  // The generator must reach every outcome, or the test proves little.
  EXPECT_GT(chains, 800u);
  EXPECT_GT(errors, 800u);
  EXPECT_GT(empties, 100u);
}

// Every error kind is reachable from random rings (a guard on the generator).
TEST(FuzzTest, GeneratorReachesEveryQueueError) {
  Fuzzer fz(12345);
  FakeMemory mem;
  std::array<unsigned, 7> seen{};
  for (int round = 0; round < 1500; ++round) {
    const std::uint32_t size = 1u << fz.below(5);
    const QueueLayout layout = test::standard_layout(size);
    Driver drv(mem, layout);
    for (std::uint32_t i = 0; i < size; ++i) fz.descriptor(drv, layout.desc_addr, i, size);
    for (std::uint32_t i = 0; i < 32; ++i) fz.descriptor(drv, kData, i, 32);
    for (std::uint32_t i = 0; i < size; ++i) drv.publish(static_cast<std::uint16_t>(fz.below(size + 1)));
    if (fz.chance(5)) drv.set_avail_idx(static_cast<std::uint16_t>(size + 1 + fz.below(100)));
    auto made = SplitQueue::create(mem, layout, QueueFeatures{.indirect = fz.chance(80), .event_idx = false});
    ASSERT_TRUE(made.ok());
    SplitQueue q = std::move(made).value();
    for (std::uint32_t step = 0; step <= size; ++step) {
      auto p = q.pop();
      if (!p.ok()) {
        ++seen[static_cast<std::size_t>(p.error())];
        break;
      }
      if (!p->has_value()) break;
    }
  }
  for (std::size_t e = 0; e < seen.size(); ++e) {
    EXPECT_GT(seen[e], 0u) << to_string(static_cast<QueueError>(e));
  }
}

}  // namespace
}  // namespace vmsg::virtqueue

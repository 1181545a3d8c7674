// SplitQueue::read / write across segments, and push_used's ring layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "virtqueue/vq_test_support.hpp"

namespace vmsg::virtqueue {
namespace {

using test::kData;
using test::QueueTest;

// Three segments of 3, 5 and 7 bytes, not adjacent, 15 bytes in all.
const std::vector<Segment> kSegs = {{kData + 0x10, 3}, {kData + 0x40, 5}, {kData + 0x80, 7}};
constexpr std::size_t kTotal = 15;
constexpr std::size_t kWindow = 0x1100;

class IoTest : public QueueTest {
 protected:
  void SetUp() override { make(8); }
};

TEST_F(IoTest, ReadEveryOffsetAndLengthAcrossSegments) {
  Chain c;
  c.readable = kSegs;
  c.writable = {{kData + 0x1000, 64}};  // never read
  // Byte k of the chain is 0xA0 + k; everything else in memory is 0xEE.
  std::fill(mem.bytes().begin(), mem.bytes().begin() + 0x2000, std::uint8_t{0xEE});
  std::uint8_t k = 0;
  for (const Segment& s : kSegs) {
    for (std::uint32_t i = 0; i < s.len; ++i) mem.put(s.addr + i, std::vector<std::uint8_t>{static_cast<std::uint8_t>(0xA0 + k++)});
  }
  for (std::size_t offset = 0; offset <= kTotal + 2; ++offset) {
    for (std::size_t len = 0; len <= kTotal + 2; ++len) {
      std::vector<std::uint8_t> out(len, 0x55);
      auto r = q->read(c, offset, out);
      ASSERT_TRUE(r.ok());
      const std::size_t expect = offset >= kTotal ? 0 : std::min(len, kTotal - offset);
      ASSERT_EQ(*r, expect) << offset << "+" << len;
      for (std::size_t i = 0; i < len; ++i) {
        const std::uint8_t want = i < expect ? static_cast<std::uint8_t>(0xA0 + offset + i) : std::uint8_t{0x55};
        ASSERT_EQ(out[i], want) << offset << "+" << len << " byte " << i;
      }
    }
  }
  EXPECT_EQ(mem.zero_length, 0u);
}

TEST_F(IoTest, ReadIsOneDmaCallPerSegmentTouched) {
  Chain c;
  c.readable = kSegs;
  std::vector<std::uint8_t> out(kTotal);
  mem.logging = true;
  auto r = q->read(c, 2, out);  // last byte of seg 0, all of 1 and 2
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kTotal - 2);
  ASSERT_EQ(mem.log.size(), 3u);
  EXPECT_EQ(mem.log[0].addr, kData + 0x12);
  EXPECT_EQ(mem.log[0].len, 1u);
  EXPECT_EQ(mem.log[1].addr, kData + 0x40);
  EXPECT_EQ(mem.log[1].len, 5u);
  EXPECT_EQ(mem.log[2].addr, kData + 0x80);
  EXPECT_EQ(mem.log[2].len, 7u);
}

TEST_F(IoTest, WriteEveryOffsetAndLengthAcrossSegments) {
  Chain c;
  c.writable = kSegs;
  c.readable = {{kData + 0x1000, 64}};  // never written
  for (std::size_t offset = 0; offset <= kTotal + 2; ++offset) {
    for (std::size_t len = 0; len <= kTotal + 2; ++len) {
      // Only the window around the segments is compared; the write count
      // below shows nothing was written elsewhere.
      const auto window = mem.bytes().begin() + static_cast<std::ptrdiff_t>(kData - mem.base());
      std::fill(window, window + kWindow, std::uint8_t{0xEE});
      mem.reset_counts();
      std::vector<std::uint8_t> in(len);
      std::iota(in.begin(), in.end(), std::uint8_t{1});
      auto r = q->write(c, offset, in);
      ASSERT_TRUE(r.ok());
      const std::size_t expect = offset >= kTotal ? 0 : std::min(len, kTotal - offset);
      ASSERT_EQ(*r, expect) << offset << "+" << len;
      // Expected image: chain byte k gets in[k - offset] when written.
      std::vector<std::uint8_t> want(kWindow, 0xEE);
      std::size_t k = 0;
      std::uint64_t touched = 0;
      for (const Segment& s : kSegs) {
        bool hit = false;
        for (std::uint32_t i = 0; i < s.len; ++i, ++k) {
          if (k >= offset && k - offset < expect) {
            want[s.addr + i - kData] = in[k - offset];
            hit = true;
          }
        }
        touched += hit ? 1 : 0;
      }
      ASSERT_EQ(mem.get(kData, kWindow), want) << offset << "+" << len;
      ASSERT_EQ(mem.writes, touched) << offset << "+" << len;
    }
  }
}

TEST_F(IoTest, EmptyChainAndEmptySpanCopyNothing) {
  Chain c;
  std::array<std::uint8_t, 4> buf{};
  auto r = q->read(c, 0, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  c.readable = kSegs;
  r = q->read(c, 0, std::span<std::uint8_t>{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  r = q->read(c, std::numeric_limits<std::uint64_t>::max(), buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  EXPECT_EQ(mem.calls(), 0u);
}

TEST_F(IoTest, PoppedChainRoundTrip) {
  constexpr std::uint16_t N = ring::kDescFNext;
  constexpr std::uint16_t W = ring::kDescFWrite;
  drv->desc(0, kData, 4, N, 1);
  drv->desc(1, kData + 0x100, 4, N, 2);
  drv->desc(2, kData + 0x200, 6, W);
  drv->publish(0);
  mem.put(kData, std::vector<std::uint8_t>{1, 2, 3, 4});
  mem.put(kData + 0x100, std::vector<std::uint8_t>{5, 6, 7, 8});
  const Chain c = pop_chain();
  std::array<std::uint8_t, 8> req{};
  auto r = q->read(c, 0, req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 8u);
  EXPECT_EQ(req, (std::array<std::uint8_t, 8>{1, 2, 3, 4, 5, 6, 7, 8}));
  auto w = q->write(c, 1, std::array<std::uint8_t, 9>{9, 9, 9, 9, 9, 9, 9, 9, 9});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 5u);
  EXPECT_EQ(mem.get(kData + 0x200, 7), (std::vector<std::uint8_t>{0, 9, 9, 9, 9, 9, 0}));
}

TEST_F(IoTest, ReadFaultBreaksTheQueue) {
  Chain c;
  c.readable = kSegs;
  mem.fail_range(kData + 0x44, 1);
  std::array<std::uint8_t, 4> buf{};
  auto r = q->read(c, 0, buf);  // only segment 0 and the start of 1: fine
  ASSERT_TRUE(r.ok());
  std::array<std::uint8_t, 16> big{};
  r = q->read(c, 0, big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), QueueError::DmaFault);
  EXPECT_EQ(q->broken(), QueueError::DmaFault);
}

TEST_F(IoTest, WriteFaultBreaksTheQueue) {
  Chain c;
  c.writable = kSegs;
  mem.fail_range(kData + 0x80, 7);
  std::array<std::uint8_t, 16> buf{};
  auto r = q->write(c, 0, buf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), QueueError::DmaFault);
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
}

TEST_F(IoTest, SegmentWrappingPast2To64FaultsWithoutAccess) {
  constexpr std::uint64_t kTop = std::numeric_limits<std::uint64_t>::max();
  Chain c;
  c.writable = {{kTop - 7, 16}};
  std::array<std::uint8_t, 8> buf{};
  auto r = q->write(c, 0, buf);  // [2^64 - 8, 2^64): does not wrap, just not RAM
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(mem.writes, 1u);
  make(8);
  r = q->write(c, 0, std::array<std::uint8_t, 9>{});  // would wrap: never issued
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), QueueError::DmaFault);
  EXPECT_EQ(mem.writes, 0u);
  make(8);
  r = q->write(c, 9, buf);  // starts past 2^64
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(mem.writes, 0u);
  EXPECT_EQ(mem.wrapped, 0u);
}

TEST_F(IoTest, PushUsedLayoutAndOrder) {
  mem.logging = true;
  ASSERT_EQ(q->push_used(5, 0x11223344u), std::nullopt);
  EXPECT_EQ(mem.get(test::kUsedAddr, 12),
            (std::vector<std::uint8_t>{0x00, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11}));
  // Element first, then the index.
  ASSERT_EQ(mem.log.size(), 2u);
  EXPECT_TRUE(mem.log[0].write);
  EXPECT_EQ(mem.log[0].addr, test::kUsedAddr + 4);
  EXPECT_EQ(mem.log[0].len, 8u);
  EXPECT_TRUE(mem.log[1].write);
  EXPECT_EQ(mem.log[1].addr, test::kUsedAddr + 2);
  EXPECT_EQ(mem.log[1].len, 2u);
  EXPECT_EQ(q->used_idx(), 1u);

  ASSERT_EQ(q->push_used(7, 0), std::nullopt);
  EXPECT_EQ(mem.get(test::kUsedAddr + 12, 8), (std::vector<std::uint8_t>{7, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(drv->used_idx(), 2u);
  EXPECT_EQ(drv->used_elem(0), std::make_pair(5u, 0x11223344u));
}

TEST_F(IoTest, PushUsedSlotWrapsAtSize) {
  for (std::uint32_t i = 0; i < 9; ++i) ASSERT_EQ(q->push_used(static_cast<std::uint16_t>(i % 8), i), std::nullopt);
  EXPECT_EQ(drv->used_elem(0), std::make_pair(0u, 8u));  // 9th element reused slot 0
  EXPECT_EQ(drv->used_elem(1), std::make_pair(1u, 1u));
  EXPECT_EQ(drv->used_idx(), 9u);
}

TEST_F(IoTest, PushUsedFaultOnElementPublishesNothing) {
  mem.fail_range(test::kUsedAddr + 4, 8);
  EXPECT_EQ(q->push_used(1, 1), QueueError::DmaFault);
  EXPECT_EQ(drv->used_idx(), 0u);
  EXPECT_EQ(q->used_idx(), 0u);
  EXPECT_EQ(mem.writes, 1u);
}

TEST_F(IoTest, PushUsedFaultOnIndex) {
  mem.fail_range(test::kUsedAddr + 2, 2);
  EXPECT_EQ(q->push_used(1, 1), QueueError::DmaFault);
  EXPECT_EQ(q->broken(), QueueError::DmaFault);
}

TEST_F(IoTest, PushUsedRefusesHeadOutOfRange) {
  EXPECT_EQ(q->push_used(8, 1), QueueError::DescIndexOutOfRange);
  EXPECT_EQ(mem.writes, 0u);
  EXPECT_EQ(q->broken(), QueueError::DescIndexOutOfRange);
}

}  // namespace
}  // namespace vmsg::virtqueue

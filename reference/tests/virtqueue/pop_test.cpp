// SplitQueue::pop over direct descriptor chains: layouts it accepts, every
// way a chain or the avail ring can be malformed, DMA faults, and index wrap.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "virtqueue/vq_test_support.hpp"

namespace vmsg::virtqueue {
namespace {

using test::FakeMemory;
using test::kData;
using test::QueueTest;

constexpr std::uint16_t N = ring::kDescFNext;
constexpr std::uint16_t W = ring::kDescFWrite;

using PopTest = QueueTest;

TEST_F(PopTest, EmptyRingIsOneReadAndNoWrite) {
  make(8);
  auto c = pop_ok();
  EXPECT_FALSE(c.has_value());
  EXPECT_EQ(mem.reads, 1u);
  EXPECT_EQ(mem.writes, 0u);
  EXPECT_EQ(q->last_avail_idx(), 0u);
  EXPECT_EQ(q->broken(), std::nullopt);
}

TEST_F(PopTest, SingleReadableDescriptor) {
  make(8);
  drv->desc(5, kData, 100, 0);
  drv->publish(5);
  const Chain c = pop_chain();
  EXPECT_EQ(c.head, 5u);
  EXPECT_EQ(c.readable, (std::vector<Segment>{{kData, 100}}));
  EXPECT_TRUE(c.writable.empty());
  EXPECT_EQ(q->last_avail_idx(), 1u);
  EXPECT_FALSE(pop_ok().has_value());
}

TEST_F(PopTest, ThreeDescriptorChainIsFiveSmallReads) {
  make(16);
  mem.logging = true;
  drv->desc(9, kData, 16, N, 2);
  drv->desc(2, kData + 0x100, 512, N | W, 14);
  drv->desc(14, kData + 0x400, 1, W);
  drv->publish(9);
  const Chain c = pop_chain();
  EXPECT_EQ(c.head, 9u);
  EXPECT_EQ(c.readable, (std::vector<Segment>{{kData, 16}}));
  EXPECT_EQ(c.writable, (std::vector<Segment>{{kData + 0x100, 512}, {kData + 0x400, 1}}));
  EXPECT_EQ(c.readable_bytes(), 16u);
  EXPECT_EQ(c.writable_bytes(), 513u);
  // avail.idx, ring[0], three descriptors; nothing written.
  ASSERT_EQ(mem.log.size(), 5u);
  EXPECT_EQ(mem.writes, 0u);
  EXPECT_EQ(mem.log[0].addr, test::kAvailAddr + 2);
  EXPECT_EQ(mem.log[0].len, 2u);
  EXPECT_EQ(mem.log[1].addr, test::kAvailAddr + 4);
  EXPECT_EQ(mem.log[1].len, 2u);
  EXPECT_EQ(mem.log[2].addr, test::kDescAddr + 9 * 16);
  EXPECT_EQ(mem.log[3].addr, test::kDescAddr + 2 * 16);
  EXPECT_EQ(mem.log[4].addr, test::kDescAddr + 14 * 16);
  for (std::size_t i = 2; i < 5; ++i) EXPECT_EQ(mem.log[i].len, 16u);
}

TEST_F(PopTest, ChainsComeOutInAvailOrder) {
  make(4);
  for (std::uint16_t i = 0; i < 4; ++i) drv->desc(i, kData + 0x10u * i, 4u + i, W);
  const std::array<std::uint16_t, 4> order{2, 0, 3, 1};
  for (std::uint16_t head : order) drv->publish(head);
  for (std::uint16_t head : order) {
    const Chain c = pop_chain();
    EXPECT_EQ(c.head, head);
    EXPECT_EQ(c.writable, (std::vector<Segment>{{kData + 0x10u * head, 4u + head}}));
  }
  EXPECT_FALSE(pop_ok().has_value());
  EXPECT_EQ(q->last_avail_idx(), 4u);
}

TEST_F(PopTest, FullRingOfSizeChainsIsNotAJump) {
  make(4);
  for (std::uint16_t i = 0; i < 4; ++i) {
    drv->desc(i, kData, 1, 0);
    drv->publish(i);
  }
  for (std::uint16_t i = 0; i < 4; ++i) EXPECT_EQ(pop_chain().head, i);
}

TEST_F(PopTest, ChainOfExactlySizeDescriptorsIsAccepted) {
  make(4);
  drv->desc(0, kData, 1, N, 1);
  drv->desc(1, kData, 1, N, 2);
  drv->desc(2, kData, 1, N | W, 3);
  drv->desc(3, kData, 1, W);
  drv->publish(0);
  const Chain c = pop_chain();
  EXPECT_EQ(c.readable.size(), 2u);
  EXPECT_EQ(c.writable.size(), 2u);
}

TEST_F(PopTest, ZeroLengthDescriptorsAreDroppedButStillOrdered) {
  make(8);
  drv->desc(0, kData, 0, N, 1);
  drv->desc(1, kData + 8, 8, N, 2);
  drv->desc(2, kData + 16, 0, N | W, 3);
  drv->desc(3, kData + 24, 4, W);
  drv->publish(0);
  const Chain c = pop_chain();
  EXPECT_EQ(c.readable, (std::vector<Segment>{{kData + 8, 8}}));
  EXPECT_EQ(c.writable, (std::vector<Segment>{{kData + 24, 4}}));

  // A zero-length readable after a writable one still breaks the order rule.
  drv->desc(4, kData, 4, N | W, 5);
  drv->desc(5, kData, 0, 0);
  drv->publish(4);
  EXPECT_EQ(pop_err(), QueueError::WritableBeforeReadable);
}

TEST_F(PopTest, AllZeroLengthChainHasNoSegments) {
  make(2);
  drv->desc(0, kData, 0, W);
  drv->publish(0);
  const Chain c = pop_chain();
  EXPECT_EQ(c.head, 0u);
  EXPECT_TRUE(c.readable.empty());
  EXPECT_TRUE(c.writable.empty());
}

TEST_F(PopTest, HeadOutOfRange) {
  make(8);
  drv->publish(8);
  EXPECT_EQ(pop_err(), QueueError::DescIndexOutOfRange);
  EXPECT_EQ(q->last_avail_idx(), 0u);
}

TEST_F(PopTest, HeadOutOfRangeMaxU16) {
  make(kMaxQueueSize);
  drv->publish(0xFFFF);
  EXPECT_EQ(pop_err(), QueueError::DescIndexOutOfRange);
}

TEST_F(PopTest, NextOutOfRange) {
  make(8);
  drv->desc(0, kData, 4, N, 7);
  drv->desc(7, kData, 4, N, 8);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::DescIndexOutOfRange);
  EXPECT_EQ(mem.reads, 4u);  // idx, ring, desc 0, desc 7: index 8 is never read
}

TEST_F(PopTest, WritableBeforeReadable) {
  make(8);
  drv->desc(0, kData, 4, N, 1);
  drv->desc(1, kData, 4, N | W, 2);
  drv->desc(2, kData, 4, 0);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::WritableBeforeReadable);
}

TEST_F(PopTest, SelfLoopIsChainLoop) {
  make(8);
  drv->desc(3, kData, 4, N, 3);
  drv->publish(3);
  EXPECT_EQ(pop_err(), QueueError::ChainLoop);
  EXPECT_EQ(mem.reads, 2u + 8u);  // exactly `size` descriptor reads before giving up
}

TEST_F(PopTest, TwoCycleIsChainLoop) {
  make(8);
  drv->desc(1, kData, 4, N, 6);
  drv->desc(6, kData, 4, N, 1);
  drv->publish(1);
  EXPECT_EQ(pop_err(), QueueError::ChainLoop);
}

TEST_F(PopTest, LongCycleThroughWholeTableIsChainLoop) {
  make(1024);
  // 0 -> 7 -> 14 -> ... (7 is odd, so this visits all 1024 entries) -> back to 0.
  for (std::uint32_t i = 0; i < 1024; ++i) {
    drv->desc(i, kData, 1, N, static_cast<std::uint16_t>((i + 7) % 1024));
  }
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::ChainLoop);
  EXPECT_EQ(mem.reads, 2u + 1024u);
}

TEST_F(PopTest, LoopInLargestQueueTerminates) {
  make(kMaxQueueSize);
  for (std::uint32_t i = 0; i < kMaxQueueSize; ++i) {
    drv->desc(i, 0, 0, N, static_cast<std::uint16_t>((i + 1) % kMaxQueueSize));
  }
  drv->publish(100);
  EXPECT_EQ(pop_err(), QueueError::ChainLoop);
  EXPECT_EQ(mem.reads, 2u + kMaxQueueSize);
}

TEST_F(PopTest, AvailIndexJump) {
  make(8);
  drv->set_avail_idx(9);  // last_avail 0 + size + 1
  EXPECT_EQ(pop_err(), QueueError::AvailIndexJump);
  EXPECT_EQ(mem.reads, 1u);
}

TEST_F(PopTest, AvailIndexJumpAfterProgressAndBackwards) {
  make(8);
  drv->desc(0, kData, 1, 0);
  drv->publish(0);
  drv->publish(0);
  (void)pop_chain();
  (void)pop_chain();
  drv->set_avail_idx(2 + 8);  // exactly size ahead: fine
  EXPECT_TRUE(pop_ok().has_value());
  make(8);
  drv->set_avail_idx(0xFFFF);  // "backwards" = 65535 ahead
  EXPECT_EQ(pop_err(), QueueError::AvailIndexJump);
}

TEST_F(PopTest, LengthOverflowReadable) {
  make(8);
  drv->desc(0, kData, 0x8000'0000u, N, 1);
  drv->desc(1, kData, 0x8000'0000u, 0);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::LengthOverflow);
}

TEST_F(PopTest, LengthOverflowWritable) {
  make(8);
  drv->desc(0, kData, 0x8000'0000u, N, 1);  // readable: counted apart
  drv->desc(1, kData, 0xFFFF'FFFFu, N | W, 2);
  drv->desc(2, kData, 1, W);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::LengthOverflow);
}

TEST_F(PopTest, LengthExactlyU32MaxEachWay) {
  make(8);
  drv->desc(0, kData, 0xFFFF'FFFEu, N, 1);
  drv->desc(1, kData, 1, N, 2);
  drv->desc(2, kData, 0xFFFF'FFFFu, W);
  drv->publish(0);
  const Chain c = pop_chain();
  EXPECT_EQ(c.readable_bytes(), 0xFFFF'FFFFu);
  EXPECT_EQ(c.writable_bytes(), 0xFFFF'FFFFu);
}

TEST_F(PopTest, DmaFaultOnAvailIdx) {
  make(8);
  mem.fail_range(test::kAvailAddr + 2, 2);
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
}

TEST_F(PopTest, DmaFaultOnAvailRingEntry) {
  make(8);
  drv->desc(0, kData, 1, 0);
  drv->publish(0);
  mem.fail_range(test::kAvailAddr + 4, 2);
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
  EXPECT_EQ(q->last_avail_idx(), 0u);
}

TEST_F(PopTest, DmaFaultOnDescriptor) {
  make(8);
  drv->desc(0, kData, 1, N, 5);
  drv->desc(5, kData, 1, 0);
  drv->publish(0);
  mem.fail_range(test::kDescAddr + 5 * 16 + 15, 1);  // last byte of descriptor 5
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
}

TEST_F(PopTest, RingsOutsideRamFault) {
  FakeMemory small(0x100000, 0x1000);
  const QueueLayout l{.size = 8, .desc_addr = 0x200000, .driver_addr = 0x100000, .device_addr = 0x100100};
  auto r = SplitQueue::create(small, l, QueueFeatures{});
  ASSERT_TRUE(r.ok());
  small.put16(0x100002, 1);  // avail.idx = 1, head 0: its descriptor is not in RAM
  auto p = r->pop();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error(), QueueError::DmaFault);
}

TEST_F(PopTest, BrokenQueueStaysBrokenAndTouchesNothing) {
  make(8);
  drv->desc(0, kData, 4, N, 0);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::ChainLoop);
  EXPECT_EQ(q->broken(), QueueError::ChainLoop);
  // Repair the ring: the queue must still refuse until it is recreated.
  drv->desc(0, kData, 4, W);
  mem.reset_counts();
  EXPECT_EQ(pop_err(), QueueError::ChainLoop);
  Chain c;
  c.writable = {{kData, 4}};
  c.readable = {{kData, 4}};
  std::array<std::uint8_t, 4> buf{};
  auto rd = q->read(c, 0, buf);
  ASSERT_FALSE(rd.ok());
  EXPECT_EQ(rd.error(), QueueError::ChainLoop);
  auto wr = q->write(c, 0, buf);
  ASSERT_FALSE(wr.ok());
  EXPECT_EQ(wr.error(), QueueError::ChainLoop);
  EXPECT_EQ(q->push_used(0, 4), QueueError::ChainLoop);
  auto n = q->should_notify();
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error(), QueueError::ChainLoop);
  EXPECT_EQ(mem.calls(), 0u);
  EXPECT_EQ(q->last_avail_idx(), 0u);
  EXPECT_EQ(q->used_idx(), 0u);
}

TEST_F(PopTest, DmaFaultIsStickyAfterTheFaultClears) {
  make(8);
  mem.fail_range(test::kAvailAddr, 6);
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
  mem.clear_faults();
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
  EXPECT_EQ(q->broken(), QueueError::DmaFault);
}

// 70,000 chains through a size-8 queue: avail.idx, last_avail and used.idx
// all wrap past 65535, in batches that start at every ring position.
TEST_F(PopTest, IndicesWrapOverSeventyThousandChains) {
  make(8);
  for (std::uint16_t i = 0; i < 8; ++i) {
    drv->desc(i, kData + 0x10u * i, 16, static_cast<std::uint16_t>(i % 2 == 0 ? N : W),
              static_cast<std::uint16_t>(i + 1));
  }
  std::uint32_t done = 0;
  std::uint32_t batch = 1;
  std::array<std::uint16_t, 8> heads{};
  while (done < 70000) {
    // Even heads are two-descriptor chains {i readable, i+1 writable}.
    for (std::uint32_t k = 0; k < batch; ++k) {
      heads[k] = static_cast<std::uint16_t>(((done + k) * 2) % 8);
      drv->publish(heads[k]);
    }
    for (std::uint32_t k = 0; k < batch; ++k) {
      auto r = q->pop();
      ASSERT_TRUE(r.ok() && r->has_value());
      const Chain& c = **r;
      ASSERT_TRUE(c.head == heads[k] && c.readable.size() == 1 && c.writable.size() == 1) << done;
      ASSERT_EQ(q->push_used(c.head, done), std::nullopt);
      ++done;
      const auto used = static_cast<std::uint16_t>(done);
      const std::uint64_t elem = test::kUsedAddr + ring::used_ring_offset(static_cast<std::uint16_t>(used - 1) % 8u);
      ASSERT_TRUE(q->used_idx() == used && drv->used_idx() == used && mem.get32(elem) == heads[k] &&
                  mem.get32(elem + 4) == done - 1)
          << done;
    }
    auto r = q->pop();
    ASSERT_TRUE(r.ok() && !r->has_value());
    ASSERT_EQ(q->last_avail_idx(), static_cast<std::uint16_t>(done));
    batch = batch % 8 + 1;
  }
  EXPECT_EQ(q->last_avail_idx(), static_cast<std::uint16_t>(done));
  EXPECT_GT(done, 65536u);
}

}  // namespace
}  // namespace vmsg::virtqueue

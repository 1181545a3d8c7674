// Indirect descriptor tables: accepted shapes and every malformed one.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "virtqueue/vq_test_support.hpp"

namespace vmsg::virtqueue {
namespace {

using test::kData;
using test::QueueTest;

constexpr std::uint16_t N = ring::kDescFNext;
constexpr std::uint16_t W = ring::kDescFWrite;
constexpr std::uint16_t I = ring::kDescFIndirect;
constexpr std::uint64_t kTable = kData + 0x8000;
constexpr std::uint64_t kBuf = kData;

class IndirectTest : public QueueTest {
 protected:
  void SetUp() override { make(8, QueueFeatures{.indirect = true, .event_idx = false}); }
  /// Table entry i.
  void entry(std::uint32_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags, std::uint16_t next = 0) {
    drv->desc_at(kTable, i, addr, len, flags, next);
  }
};

TEST_F(IndirectTest, TableWithReadableAndWritable) {
  entry(0, kBuf, 10, N, 2);
  entry(2, kBuf + 0x100, 20, N | W, 1);
  entry(1, kBuf + 0x200, 30, W);
  drv->desc(3, kTable, 3 * 16, I);
  drv->publish(3);
  const Chain c = pop_chain();
  EXPECT_EQ(c.head, 3u);
  EXPECT_EQ(c.readable, (std::vector<Segment>{{kBuf, 10}}));
  EXPECT_EQ(c.writable, (std::vector<Segment>{{kBuf + 0x100, 20}, {kBuf + 0x200, 30}}));
  EXPECT_EQ(mem.reads, 2u + 1u + 3u);
}

TEST_F(IndirectTest, WriteFlagOnIndirectDescriptorIsIgnored) {
  entry(0, kBuf, 10, 0);
  drv->desc(0, kTable, 16, I | W);
  drv->publish(0);
  const Chain c = pop_chain();
  EXPECT_EQ(c.readable, (std::vector<Segment>{{kBuf, 10}}));
  EXPECT_TRUE(c.writable.empty());
}

TEST_F(IndirectTest, IndirectMayEndADirectChain) {
  entry(0, kBuf + 0x40, 8, W);
  drv->desc(0, kBuf, 4, N, 1);
  drv->desc(1, kTable, 16, I);
  drv->publish(0);
  const Chain c = pop_chain();
  EXPECT_EQ(c.readable, (std::vector<Segment>{{kBuf, 4}}));
  EXPECT_EQ(c.writable, (std::vector<Segment>{{kBuf + 0x40, 8}}));
}

TEST_F(IndirectTest, OrderRuleSpansDirectPartAndTable) {
  entry(0, kBuf, 8, 0);  // readable inside the table
  drv->desc(0, kBuf, 4, N | W, 1);
  drv->desc(1, kTable, 16, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::WritableBeforeReadable);
}

TEST_F(IndirectTest, WithoutTheFeatureIsBadIndirect) {
  make(8, QueueFeatures{.indirect = false, .event_idx = false});
  entry(0, kBuf, 10, 0);
  drv->desc(0, kTable, 16, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::BadIndirect);
}

TEST_F(IndirectTest, NestedIsBadIndirect) {
  entry(0, kBuf, 10, N, 1);
  entry(1, kTable, 32, I);
  drv->desc(0, kTable, 32, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::BadIndirect);
}

TEST_F(IndirectTest, WithNextIsBadIndirect) {
  entry(0, kBuf, 10, 0);
  drv->desc(0, kTable, 16, I | N, 1);
  drv->desc(1, kBuf, 4, 0);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::BadIndirect);
}

TEST_F(IndirectTest, LengthZeroIsBadIndirect) {
  drv->desc(0, kTable, 0, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::BadIndirect);
}

TEST_F(IndirectTest, LengthNotMultipleOf16IsBadIndirect) {
  for (std::uint32_t len : {17u, 8u, 15u, 33u}) {
    make(8, QueueFeatures{.indirect = true, .event_idx = false});
    entry(0, kBuf, 10, 0);
    entry(1, kBuf, 10, 0);
    drv->desc(0, kTable, len, I);
    drv->publish(0);
    EXPECT_EQ(pop_err(), QueueError::BadIndirect) << len;
  }
}

TEST_F(IndirectTest, NextBeyondTableLengthIsOutOfRange) {
  entry(0, kBuf, 10, N, 1);
  entry(1, kBuf, 10, N, 2);  // table has 2 entries: index 2 is out of range
  entry(2, kBuf, 10, 0);
  drv->desc(0, kTable, 32, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::DescIndexOutOfRange);
}

TEST_F(IndirectTest, TableIndicesAreNotBoundedByQueueSize) {
  // A 16-entry table in a size-8 queue: index 12 is valid inside the table.
  entry(0, kBuf, 10, N, 12);
  entry(12, kBuf + 0x20, 6, W);
  drv->desc(0, kTable, 16 * 16, I);
  drv->publish(0);
  const Chain c = pop_chain();
  EXPECT_EQ(c.writable, (std::vector<Segment>{{kBuf + 0x20, 6}}));
}

TEST_F(IndirectTest, LoopInsideTableIsChainLoop) {
  entry(0, kBuf, 10, N, 1);
  entry(1, kBuf, 10, N, 2);
  entry(2, kBuf, 10, N, 1);
  drv->desc(0, kTable, 3 * 16, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::ChainLoop);
  EXPECT_EQ(mem.reads, 2u + 1u + 3u);  // exactly table-length entry reads
}

TEST_F(IndirectTest, SelfLoopInHugeTableStopsAt65536Entries) {
  // A 1M-entry table (16 MiB, mostly not RAM) whose entry 0 loops to itself:
  // no u16 next can reach more than 65536 entries, so that bounds the walk.
  entry(0, kBuf, 1, N, 0);
  drv->desc(0, kTable, 16u << 20, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::ChainLoop);
  EXPECT_EQ(mem.reads, 2u + 1u + 65536u);
}

TEST_F(IndirectTest, TableOutsideRamIsDmaFault) {
  drv->desc(0, 0x10, 16, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
}

TEST_F(IndirectTest, TableWrappingPast2To64IsDmaFaultWithoutAccess) {
  drv->desc(0, std::numeric_limits<std::uint64_t>::max() - 15, 32, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
  EXPECT_EQ(mem.wrapped, 0u);
  EXPECT_EQ(mem.reads, 3u);  // idx, ring, the indirect descriptor
}

TEST_F(IndirectTest, TableEndingExactlyAt2To64IsReadable) {
  // Not RAM, so the read fails, but it is attempted and never wraps.
  drv->desc(0, std::numeric_limits<std::uint64_t>::max() - 15, 16, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
  EXPECT_EQ(mem.wrapped, 0u);
  EXPECT_EQ(mem.reads, 4u);
}

TEST_F(IndirectTest, DmaFaultOnTableEntry) {
  entry(0, kBuf, 10, N, 1);
  entry(1, kBuf, 10, 0);
  drv->desc(0, kTable, 32, I);
  drv->publish(0);
  mem.fail_range(kTable + 16, 16);
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
}

TEST_F(IndirectTest, LengthOverflowAcrossDirectAndTable) {
  entry(0, kBuf, 0x8000'0000u, 0);
  drv->desc(0, kBuf, 0x8000'0000u, N, 1);
  drv->desc(1, kTable, 16, I);
  drv->publish(0);
  EXPECT_EQ(pop_err(), QueueError::LengthOverflow);
}

}  // namespace
}  // namespace vmsg::virtqueue

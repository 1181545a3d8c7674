// SplitQueue::create: layout checks only, no guest-memory access; to_string.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "virtqueue/vq_test_support.hpp"

namespace vmsg::virtqueue {
namespace {

using test::FakeMemory;
using test::standard_layout;

constexpr std::uint64_t kTop = std::numeric_limits<std::uint64_t>::max();

std::optional<LayoutError> create_error(const QueueLayout& layout) {
  FakeMemory mem;
  auto r = SplitQueue::create(mem, layout, QueueFeatures{});
  EXPECT_EQ(mem.calls(), 0u);
  if (r.ok()) return std::nullopt;
  return r.error();
}

TEST(CreateTest, AcceptsEveryPowerOfTwoUpToMax) {
  for (std::uint32_t size = 1; size <= kMaxQueueSize; size *= 2) {
    EXPECT_EQ(create_error(standard_layout(size)), std::nullopt) << size;
  }
}

TEST(CreateTest, RejectsBadSizes) {
  for (std::uint32_t size : {0u, 3u, 6u, 100u, 32767u, 32769u, 65535u, 65536u, 0x80000000u, 0xFFFFFFFFu}) {
    EXPECT_EQ(create_error(standard_layout(size)), LayoutError::BadSize) << size;
  }
}

TEST(CreateTest, RejectsMisalignedAreas) {
  for (std::uint64_t off : {1u, 2u, 4u, 8u, 15u}) {
    auto l = standard_layout(8);
    l.desc_addr += off;
    EXPECT_EQ(create_error(l), LayoutError::Misaligned) << "desc +" << off;
  }
  auto l = standard_layout(8);
  l.driver_addr += 1;
  EXPECT_EQ(create_error(l), LayoutError::Misaligned);
  for (std::uint64_t off : {1u, 2u, 3u}) {
    l = standard_layout(8);
    l.device_addr += off;
    EXPECT_EQ(create_error(l), LayoutError::Misaligned) << "used +" << off;
  }
  // The weaker alignments are enough.
  l = standard_layout(8);
  l.driver_addr += 2;
  l.device_addr += 4;
  EXPECT_EQ(create_error(l), std::nullopt);
}

TEST(CreateTest, SizeIsCheckedBeforeAlignment) {
  auto l = standard_layout(3);
  l.desc_addr += 1;
  EXPECT_EQ(create_error(l), LayoutError::BadSize);
}

TEST(CreateTest, AreasMayEndExactlyAt2To64) {
  const std::uint32_t size = 16;
  auto l = standard_layout(size);
  l.desc_addr = kTop - 16 * size + 1;  // 16-aligned, last byte at 2^64 - 1
  EXPECT_EQ(create_error(l), std::nullopt);
  l = standard_layout(size);
  l.driver_addr = kTop - (6 + 2 * size) + 1;
  EXPECT_EQ(create_error(l), std::nullopt);
  l = standard_layout(size);
  l.device_addr = kTop - (6 + 8 * size) + 1 - 2;  // 4-aligned: ends 2 bytes short
  EXPECT_EQ(create_error(l), std::nullopt);
}

TEST(CreateTest, RejectsAreasWrappingPast2To64) {
  const std::uint32_t size = 16;
  auto l = standard_layout(size);
  l.desc_addr = kTop - 16 * size + 1 + 16;
  EXPECT_EQ(create_error(l), LayoutError::AddressOverflow);
  l = standard_layout(size);
  l.driver_addr = kTop - (6 + 2 * size) + 1 + 2;  // used_event would wrap
  EXPECT_EQ(create_error(l), LayoutError::AddressOverflow);
  l = standard_layout(size);
  l.device_addr = kTop - (6 + 8 * size) + 1 + 2;  // avail_event would wrap
  EXPECT_EQ(create_error(l), LayoutError::AddressOverflow);
  l = standard_layout(kMaxQueueSize);
  l.device_addr = 0xFFFF'FFFF'FFFF'FFFCu;
  EXPECT_EQ(create_error(l), LayoutError::AddressOverflow);
}

TEST(CreateTest, KeepsLayoutAndFeaturesAndStartsAtZero) {
  FakeMemory mem;
  const auto layout = standard_layout(64);
  auto r = SplitQueue::create(mem, layout, QueueFeatures{.indirect = true, .event_idx = false});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->layout(), layout);
  EXPECT_TRUE(r->features().indirect);
  EXPECT_FALSE(r->features().event_idx);
  EXPECT_EQ(r->last_avail_idx(), 0u);
  EXPECT_EQ(r->used_idx(), 0u);
  EXPECT_EQ(r->broken(), std::nullopt);
}

TEST(CreateTest, ToStringNamesEveryError) {
  EXPECT_EQ(to_string(LayoutError::BadSize), "BadSize");
  EXPECT_EQ(to_string(LayoutError::Misaligned), "Misaligned");
  EXPECT_EQ(to_string(LayoutError::AddressOverflow), "AddressOverflow");
  EXPECT_EQ(to_string(QueueError::DmaFault), "DmaFault");
  EXPECT_EQ(to_string(QueueError::AvailIndexJump), "AvailIndexJump");
  EXPECT_EQ(to_string(QueueError::DescIndexOutOfRange), "DescIndexOutOfRange");
  EXPECT_EQ(to_string(QueueError::ChainLoop), "ChainLoop");
  EXPECT_EQ(to_string(QueueError::WritableBeforeReadable), "WritableBeforeReadable");
  EXPECT_EQ(to_string(QueueError::BadIndirect), "BadIndirect");
  EXPECT_EQ(to_string(QueueError::LengthOverflow), "LengthOverflow");
}

TEST(CreateTest, ChainByteTotals) {
  Chain c;
  EXPECT_EQ(c.readable_bytes(), 0u);
  EXPECT_EQ(c.writable_bytes(), 0u);
  c.readable = {{0x1000, 0xFFFFFFFFu}, {0x2000, 1}};
  c.writable = {{0x3000, 7}};
  EXPECT_EQ(c.readable_bytes(), 0x1'0000'0000u);
  EXPECT_EQ(c.writable_bytes(), 7u);
}

TEST(CreateTest, RingOffsetsMatchTheSpec) {
  EXPECT_EQ(ring::avail_ring_bytes(256), 518u);
  EXPECT_EQ(ring::used_ring_bytes(256), 2054u);
  EXPECT_EQ(ring::desc_table_bytes(256), 4096u);
  EXPECT_EQ(ring::used_event_offset(256), 516u);
  EXPECT_EQ(ring::avail_event_offset(256), 2052u);
  EXPECT_EQ(ring::used_ring_offset(3), 28u);
  EXPECT_EQ(ring::avail_ring_offset(3), 10u);
}

}  // namespace
}  // namespace vmsg::virtqueue

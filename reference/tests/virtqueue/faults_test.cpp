// Queue-level support of the fault modes: used_since_notify(), what the
// transport's "used-ignores-suppression" and "no-interrupt-ignored" consult to
// notify for fresh used elements even when suppressed, and QueueFaults
// (used-len-whole-chain).
#include <gtest/gtest.h>

#include "virtqueue/vq_test_support.hpp"

namespace vmsg::virtqueue {
namespace {

using test::kData;
using test::QueueTest;

class UsedSinceNotifyTest : public QueueTest {};

TEST_F(UsedSinceNotifyTest, TracksPushesSinceTheLastShouldNotify) {
  make(8);
  EXPECT_FALSE(q->used_since_notify());
  ASSERT_EQ(q->push_used(0, 0), std::nullopt);
  EXPECT_TRUE(q->used_since_notify());
  ASSERT_TRUE(q->should_notify().ok());
  EXPECT_FALSE(q->used_since_notify());
}

class UsedLenWholeChainTest : public QueueTest {
 protected:
  /// Publishes head 0: 16 readable bytes, then `writable` device-writable ones (none: readable only).
  void publish_chain(std::uint32_t writable) {
    drv->desc(0, kData, 16, writable != 0 ? ring::kDescFNext : 0, 1);
    if (writable != 0) drv->desc(1, kData + 16, writable, ring::kDescFWrite);
    drv->publish(0);
  }
  std::uint32_t reported_len(std::uint32_t writable, std::uint32_t written) {
    publish_chain(writable);
    EXPECT_EQ(pop_chain().head, 0u);
    EXPECT_EQ(q->push_used(0, written), std::nullopt);
    return drv->used_elem(0).second;
  }
};

TEST_F(UsedLenWholeChainTest, OffReportsTheBytesWritten) {
  make(8);
  EXPECT_EQ(reported_len(100, 10), 10u);
}

TEST_F(UsedLenWholeChainTest, OnReportsReadableAndWritableBytes) {
  make(8, {}, {.used_len_whole_chain = true});
  EXPECT_EQ(reported_len(100, 10), 116u);
}

TEST_F(UsedLenWholeChainTest, OnLeavesReadableOnlyChainsAlone) {
  make(8, {}, {.used_len_whole_chain = true});
  EXPECT_EQ(reported_len(0, 0), 0u);
}

class UsedIdTest : public QueueTest {
 protected:
  /// Publishes two-descriptor chains at heads 0 and 2, pops and uses both in order.
  void use_two() {
    for (const std::uint16_t head : {std::uint16_t{0}, std::uint16_t{2}}) {
      drv->desc(head, kData + 64u * head, 16, ring::kDescFNext, static_cast<std::uint16_t>(head + 1u));
      drv->desc(head + 1u, kData + 64u * head + 16, 16, ring::kDescFWrite);
      drv->publish(head);
    }
    for (int i = 0; i < 2; ++i) {
      const Chain c = pop_chain();
      ASSERT_EQ(q->push_used(c.head, 16), std::nullopt);
    }
    ASSERT_EQ(q->publish_used(), std::nullopt);
  }
};

TEST_F(UsedIdTest, OffNamesEachHeadInOrder) {
  make(8);
  use_two();
  EXPECT_EQ(drv->used_idx(), 2u);
  EXPECT_EQ(drv->used_elem(0).first, 0u);
  EXPECT_EQ(drv->used_elem(1).first, 2u);
}

TEST_F(UsedIdTest, WrongIdNamesTheDescriptorAfterTheHead) {
  make(8, {}, {.used_wrong_id = true});
  use_two();
  EXPECT_EQ(drv->used_elem(0).first, 1u);
  EXPECT_EQ(drv->used_elem(1).first, 3u);
}

TEST_F(UsedIdTest, OutOfOrderHoldsTheBatchAndPublishesItReversed) {
  make(8, {}, {.used_out_of_order = true});
  drv->desc(0, kData, 16, ring::kDescFWrite);
  drv->publish(0);
  const Chain c = pop_chain();
  ASSERT_EQ(q->push_used(c.head, 16), std::nullopt);
  EXPECT_EQ(drv->used_idx(), 0u);  // held until the batch is published
  EXPECT_FALSE(q->used_since_notify());
  ASSERT_EQ(q->publish_used(), std::nullopt);
  EXPECT_EQ(drv->used_idx(), 1u);
  use_two();
  EXPECT_EQ(drv->used_idx(), 3u);
  EXPECT_EQ(drv->used_elem(1).first, 2u);
  EXPECT_EQ(drv->used_elem(2).first, 0u);
  EXPECT_EQ(drv->used_elem(2).second, 16u);
}

class NoNotifyTest : public QueueTest {
 protected:
  std::uint16_t used_flags() const { return mem.get16(drv->layout().device_addr + ring::kUsedFlagsOffset); }
};

TEST_F(NoNotifyTest, SetAndClearedWithoutEventIdx) {
  make(8);
  ASSERT_EQ(q->set_no_notify(true), std::nullopt);
  EXPECT_EQ(used_flags(), ring::kUsedFNoNotify);
  ASSERT_EQ(q->set_no_notify(false), std::nullopt);
  EXPECT_EQ(used_flags(), 0u);
}

TEST_F(NoNotifyTest, FlagsStayZeroWithEventIdx) {
  make(8, {.event_idx = true});
  ASSERT_EQ(q->set_no_notify(true), std::nullopt);
  EXPECT_EQ(used_flags(), 0u);
}

}  // namespace
}  // namespace vmsg::virtqueue

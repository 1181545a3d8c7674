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

}  // namespace
}  // namespace vmsg::virtqueue

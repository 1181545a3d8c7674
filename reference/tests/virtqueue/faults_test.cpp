// used_since_notify(): what the transport's "used-ignores-suppression" fault
// mode consults to notify for fresh used elements even when suppressed.
#include <gtest/gtest.h>

#include "virtqueue/vq_test_support.hpp"

namespace vmsg::virtqueue {
namespace {

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

}  // namespace
}  // namespace vmsg::virtqueue

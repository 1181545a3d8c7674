// Notification suppression: should_notify (NO_INTERRUPT, used_event) and the
// avail_event the device publishes when it finds the ring empty.
#include <gtest/gtest.h>

#include <cstdint>

#include "virtqueue/vq_test_support.hpp"

namespace vmsg::virtqueue {
namespace {

using test::kData;
using test::QueueTest;

class NotifyTest : public QueueTest {
 protected:
  /// should_notify() expecting success.
  bool notify() {
    auto r = q->should_notify();
    if (!r.ok()) {
      ADD_FAILURE() << to_string(r.error());
      return false;
    }
    return *r;
  }
  void push(unsigned n) {
    for (unsigned i = 0; i < n; ++i) ASSERT_EQ(q->push_used(0, 0), std::nullopt);
  }
  /// Advances used_idx to `target` and declares it signalled.
  void advance_to(std::uint16_t target) {
    while (q->used_idx() != target) ASSERT_EQ(q->push_used(0, 0), std::nullopt);
    (void)notify();
  }
};

constexpr QueueFeatures kEventIdx{.indirect = false, .event_idx = true};

TEST_F(NotifyTest, NothingPushedNeverNotifiesAndReadsNothing) {
  make(8);
  EXPECT_FALSE(notify());
  make(8, kEventIdx);
  drv->set_used_event(0);
  EXPECT_FALSE(notify());
  EXPECT_EQ(mem.calls(), 0u);
}

TEST_F(NotifyTest, WithoutEventIdxFollowsNoInterrupt) {
  make(8);
  push(1);
  EXPECT_TRUE(notify());
  EXPECT_FALSE(notify());  // already told about that one
  drv->set_avail_flags(ring::kAvailFNoInterrupt);
  push(2);
  EXPECT_FALSE(notify());
  drv->set_avail_flags(0xFFFE);  // other bits do not suppress
  push(1);
  EXPECT_TRUE(notify());
}

TEST_F(NotifyTest, WithoutEventIdxIgnoresUsedEvent) {
  make(8);
  drv->set_used_event(100);
  push(1);
  EXPECT_TRUE(notify());
}

TEST_F(NotifyTest, EventIdxIgnoresNoInterrupt) {
  make(8, kEventIdx);
  drv->set_avail_flags(ring::kAvailFNoInterrupt);
  drv->set_used_event(0);
  push(1);
  EXPECT_TRUE(notify());
}

TEST_F(NotifyTest, EventIdxBeforeAtAndAfterTheCrossedRange) {
  // Pushing 0 -> 3 crosses used_event values 0, 1 and 2.
  struct Case {
    std::uint16_t event;
    bool notify;
  };
  for (const Case& c : {Case{0, true}, Case{1, true}, Case{2, true}, Case{3, false}, Case{4, false},
                        Case{0xFFFF, false}, Case{0x8000, false}}) {
    make(8, kEventIdx);
    drv->set_used_event(c.event);
    push(3);
    EXPECT_EQ(notify(), c.notify) << c.event;
  }
}

TEST_F(NotifyTest, EventIdxOnlyTheRangeSinceTheLastSignal) {
  make(8, kEventIdx);
  drv->set_used_event(1);
  push(3);
  EXPECT_TRUE(notify());
  push(2);  // 3 -> 5: event 1 is behind us now
  EXPECT_FALSE(notify());
  drv->set_used_event(6);
  push(1);  // 5 -> 6 does not cross 6
  EXPECT_FALSE(notify());
  push(1);  // 6 -> 7 does
  EXPECT_TRUE(notify());
}

TEST_F(NotifyTest, EventIdxAcrossU16Wrap) {
  struct Case {
    std::uint16_t event;
    bool notify;
  };
  // signalled at 65534, pushed to 2: crosses 65534, 65535, 0, 1. Each case
  // costs 65534 pushes, so the full matrix is checked on need_event below.
  for (const Case& c : {Case{0, true}, Case{2, false}}) {
    make(8, kEventIdx);
    advance_to(65534);
    drv->set_used_event(c.event);
    push(4);
    ASSERT_EQ(q->used_idx(), 2u);
    EXPECT_EQ(notify(), c.notify) << c.event;
  }
}

TEST(NeedEventTest, MatchesVringNeedEvent) {
  // old -> new crosses event iff event is in [old, new) modulo 2^16.
  EXPECT_TRUE(ring::need_event(0, 1, 0));
  EXPECT_FALSE(ring::need_event(1, 1, 0));
  EXPECT_FALSE(ring::need_event(0, 0, 0));
  EXPECT_FALSE(ring::need_event(65533, 2, 65534));
  EXPECT_TRUE(ring::need_event(65534, 2, 65534));
  EXPECT_TRUE(ring::need_event(65535, 2, 65534));
  EXPECT_TRUE(ring::need_event(0, 2, 65534));
  EXPECT_TRUE(ring::need_event(1, 2, 65534));
  EXPECT_FALSE(ring::need_event(2, 2, 65534));
  EXPECT_FALSE(ring::need_event(3, 2, 65534));
  // Exhaustive over event for one wrapped range, against the interval definition.
  for (std::uint32_t e = 0; e < 65536; ++e) {
    const auto event = static_cast<std::uint16_t>(e);
    const bool inside = e >= 65500 || e < 30;  // old 65500, new 30
    ASSERT_EQ(ring::need_event(event, 30, 65500), inside) << e;
  }
}

TEST_F(NotifyTest, ReadFaultBreaksTheQueue) {
  make(8, kEventIdx);
  push(1);
  mem.fail_range(test::kAvailAddr + ring::used_event_offset(8), 2);
  auto r = q->should_notify();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), QueueError::DmaFault);
  make(8);
  push(1);
  mem.fail_range(test::kAvailAddr, 2);
  r = q->should_notify();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(q->broken(), QueueError::DmaFault);
}

TEST_F(NotifyTest, EmptyPopPublishesAvailEvent) {
  make(8, kEventIdx);
  mem.put16(test::kUsedAddr + ring::avail_event_offset(8), 0xBEEF);
  EXPECT_FALSE(pop_ok().has_value());
  EXPECT_EQ(drv->avail_event(), 0u);
  EXPECT_EQ(mem.writes, 1u);
  EXPECT_EQ(mem.reads, 2u);  // avail.idx before and after publishing

  drv->desc(0, kData, 1, 0);
  drv->publish(0);
  drv->publish(0);
  mem.reset_counts();
  (void)pop_chain();
  (void)pop_chain();
  EXPECT_EQ(mem.writes, 0u);  // non-empty pops do not touch avail_event
  EXPECT_EQ(drv->avail_event(), 0u);
  EXPECT_FALSE(pop_ok().has_value());
  EXPECT_EQ(drv->avail_event(), 2u);
}

TEST_F(NotifyTest, NoAvailEventWithoutTheFeature) {
  make(8);
  mem.put16(test::kUsedAddr + ring::avail_event_offset(8), 0xBEEF);
  EXPECT_FALSE(pop_ok().has_value());
  EXPECT_EQ(drv->avail_event(), 0xBEEFu);
  EXPECT_EQ(mem.writes, 0u);
}

TEST_F(NotifyTest, ChainPublishedWhileAvailEventIsWrittenIsNotLost) {
  make(8, kEventIdx);
  drv->desc(3, kData, 1, 0);
  // The driver publishes right after the device wrote avail_event: it saw
  // the old avail_event and may not kick, so pop must find the chain itself.
  bool published = false;
  mem.after_write = [&](std::uint64_t addr, std::size_t) {
    if (!published && addr == test::kUsedAddr + ring::avail_event_offset(8)) {
      published = true;
      drv->publish(3);
    }
  };
  auto c = pop_ok();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->head, 3u);
  EXPECT_EQ(q->last_avail_idx(), 1u);
  mem.after_write = nullptr;
}

TEST_F(NotifyTest, JumpSeenOnTheRecheckIsReported) {
  make(8, kEventIdx);
  mem.after_write = [&](std::uint64_t, std::size_t) { drv->set_avail_idx(9); };
  EXPECT_EQ(pop_err(), QueueError::AvailIndexJump);
  mem.after_write = nullptr;
}

TEST_F(NotifyTest, AvailEventWriteFault) {
  make(8, kEventIdx);
  mem.fail_range(test::kUsedAddr + ring::avail_event_offset(8), 2);
  EXPECT_EQ(pop_err(), QueueError::DmaFault);
}

}  // namespace
}  // namespace vmsg::virtqueue

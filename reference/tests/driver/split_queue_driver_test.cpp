// SplitQueueDriver over plain RAM, with the device side played by the test:
// exact ring bytes, the free list, notification suppression both ways, index
// wrap, and the typed errors for a device that writes impossible used entries.
#include "vmsg/driver/split_queue_driver.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "driver/virtio_peer.hpp"
#include "vmsg/common/errors.hpp"

namespace vmsg::driver {
namespace {

using testing::errc;
using testing::RamPort;

constexpr RingLayout layout(std::uint32_t size) { return RingLayout{size, 0x10'0000, 0x10'4000, 0x10'8000}; }

/// The device's half, done by hand on the same RAM.
struct DeviceSide {
  RamPort& p;
  RingLayout l;
  std::uint16_t last_avail = 0;
  std::uint16_t used = 0;
  std::vector<std::uint16_t> pop() {
    std::vector<std::uint16_t> heads;
    const std::uint16_t idx = p.read16(l.avail + 2);
    for (; last_avail != idx; ++last_avail) heads.push_back(p.read16(l.avail + 4 + 2ULL * (last_avail % l.size)));
    return heads;
  }
  void push(std::uint32_t id, std::uint32_t len) {
    p.write32(l.used + 4 + 8ULL * (used % l.size), id);
    p.write32(l.used + 8 + 8ULL * (used % l.size), len);
    ++used;
    p.write16(l.used + 2, used);
  }
};

std::span<const BufferSegment> one(const BufferSegment& s) { return {&s, 1}; }

TEST(SplitQueueDriver, AddWritesLittleEndianDescriptorsAndPublishPutsTheIndexAfter) {
  RamPort port;
  const auto l = layout(8);
  SplitQueueDriver q(port, l);
  const std::array<BufferSegment, 1> rd{BufferSegment{0x1122'3344'5566'7788ULL, 16}};
  const std::array<BufferSegment, 2> wr{BufferSegment{0x20'0000, 512}, BufferSegment{0x20'1000, 1}};
  auto head = q.add(rd, wr);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, 0u);
  const auto raw = port.ram().subspan(l.desc, 16);
  const std::vector<std::uint8_t> d0(raw.begin(), raw.end());
  EXPECT_EQ(d0, (std::vector<std::uint8_t>{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 16, 0, 0, 0, 1, 0, 1, 0}));
  EXPECT_EQ(port.read64(l.desc + 16), 0x20'0000u);
  EXPECT_EQ(port.read32(l.desc + 24), 512u);
  EXPECT_EQ(port.read16(l.desc + 28), vring::kDescFNext | vring::kDescFWrite);
  EXPECT_EQ(port.read16(l.desc + 30), 2u);
  EXPECT_EQ(port.read16(l.desc + 44), vring::kDescFWrite);  // last: no NEXT
  EXPECT_EQ(port.read16(l.avail + 4), 0u);                  // ring[0] = head
  EXPECT_EQ(port.read16(l.avail + 2), 0u);                  // not visible before publish
  EXPECT_EQ(q.avail_idx(), 1u);
  q.publish();
  EXPECT_EQ(port.read16(l.avail + 2), 1u);
  EXPECT_EQ(q.num_free(), 5u);
  EXPECT_EQ(q.in_flight(), 1u);
}

TEST(SplitQueueDriver, RingFullThenDescriptorsComeBackThroughReap) {
  RamPort port;
  SplitQueueDriver q(port, layout(4));
  DeviceSide dev{port, layout(4)};
  const std::array<BufferSegment, 3> three{BufferSegment{0x20'0000, 8}, BufferSegment{0x20'0100, 8},
                                           BufferSegment{0x20'0200, 8}};
  auto a = q.add({}, three);
  ASSERT_TRUE(a.ok());
  auto full = q.add({}, std::span<const BufferSegment>(three.data(), 2));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(errc(full), VirtioErrc::RingFull);
  EXPECT_EQ(errc(q.add({}, {})), VirtioErrc::BadRequest);
  auto b = q.add({}, one(three[0]));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(q.num_free(), 0u);
  q.publish();
  EXPECT_EQ(dev.pop(), (std::vector<std::uint16_t>{*a, *b}));
  dev.push(*a, 24);
  auto used = q.reap();
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, (std::vector<UsedElem>{{*a, 24}}));
  EXPECT_EQ(q.num_free(), 3u);
  EXPECT_EQ(q.in_flight(), 1u);
  EXPECT_TRUE(q.add({}, three).ok());  // the three descriptors are usable again
}

TEST(SplitQueueDriver, AnIdOutsideTheRingBreaksTheQueue) {
  RamPort port;
  SplitQueueDriver q(port, layout(8));
  DeviceSide dev{port, layout(8)};
  const BufferSegment s{0x20'0000, 8};
  ASSERT_TRUE(q.add({}, one(s)).ok());
  q.publish();
  dev.push(8, 0);
  auto r = q.reap();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errc(r), VirtioErrc::BadUsedId);
  ASSERT_TRUE(q.broken().has_value());
  EXPECT_EQ(errc(q.add({}, one(s))), VirtioErrc::QueueBroken);
  EXPECT_EQ(errc(q.reap()), VirtioErrc::QueueBroken);
  EXPECT_FALSE(q.has_used());
}

TEST(SplitQueueDriver, AnIdThatIsNotAnInFlightHeadIsRejected) {
  RamPort port;
  SplitQueueDriver q(port, layout(8));
  DeviceSide dev{port, layout(8)};
  const std::array<BufferSegment, 2> two{BufferSegment{0x20'0000, 8}, BufferSegment{0x20'0100, 8}};
  auto a = q.add({}, two);  // descriptors 0 and 1
  auto b = q.add({}, one(two[0]));
  ASSERT_TRUE(a.ok() && b.ok());
  dev.push(1, 0);  // descriptor 1 is the tail of chain a, not a head
  EXPECT_EQ(errc(q.reap()), VirtioErrc::BadUsedId);

  SplitQueueDriver q2(port, layout(8));
  DeviceSide dev2{port, layout(8)};
  auto c = q2.add({}, two);
  auto d = q2.add({}, one(two[0]));
  ASSERT_TRUE(c.ok() && d.ok());
  dev2.push(*c, 0);
  dev2.push(*c, 0);  // returned twice
  auto r = q2.reap();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errc(r), VirtioErrc::BadUsedId);
}

TEST(SplitQueueDriver, MoreUsedEntriesThanInFlightIsAnIndexJump) {
  RamPort port;
  SplitQueueDriver q(port, layout(8));
  const BufferSegment s{0x20'0000, 8};
  ASSERT_TRUE(q.add({}, one(s)).ok());
  port.write16(layout(8).used + 2, 2);
  EXPECT_EQ(errc(q.reap()), VirtioErrc::UsedIndexJump);
}

TEST(SplitQueueDriver, AUsedLengthBeyondTheWritableBytesIsRejected) {
  RamPort port;
  SplitQueueDriver q(port, layout(8));
  DeviceSide dev{port, layout(8)};
  const BufferSegment rd{0x20'0000, 100};
  const BufferSegment wr{0x20'1000, 8};
  auto h = q.add(one(rd), one(wr));
  ASSERT_TRUE(h.ok());
  dev.push(*h, 9);  // readable bytes do not count
  EXPECT_EQ(errc(q.reap()), VirtioErrc::BadUsedLength);
}

TEST(SplitQueueDriver, NeedsKickFollowsUsedFlagsWithoutEventIdx) {
  RamPort port;
  const auto l = layout(8);
  SplitQueueDriver q(port, l);
  const BufferSegment s{0x20'0000, 8};
  EXPECT_FALSE(q.needs_kick());  // nothing published
  ASSERT_TRUE(q.add({}, one(s)).ok());
  EXPECT_FALSE(q.needs_kick());  // added, not published
  q.publish();
  EXPECT_TRUE(q.needs_kick());
  EXPECT_FALSE(q.needs_kick());  // told already
  port.write16(l.used, vring::kUsedFNoNotify);
  ASSERT_TRUE(q.add({}, one(s)).ok());
  q.publish();
  EXPECT_FALSE(q.needs_kick());
  EXPECT_EQ(q.stats().kicks_needed, 1u);
  EXPECT_EQ(q.stats().kicks_suppressed, 1u);
}

TEST(SplitQueueDriver, NeedsKickFollowsAvailEventWithEventIdx) {
  RamPort port;
  const auto l = layout(8);
  SplitQueueDriver q(port, l, SplitQueueOptions{.event_idx = true});
  const std::uint64_t avail_event = l.used + 4 + 8 * 8;
  const BufferSegment s{0x20'0000, 8};
  ASSERT_TRUE(q.add({}, one(s)).ok());
  q.publish();
  EXPECT_TRUE(q.needs_kick());  // avail_event 0 lies in (0, 1]
  ASSERT_TRUE(q.add({}, one(s)).ok());
  ASSERT_TRUE(q.add({}, one(s)).ok());
  q.publish();
  EXPECT_FALSE(q.needs_kick());  // 0 is not in (1, 3]
  port.write16(avail_event, 3);
  ASSERT_TRUE(q.add({}, one(s)).ok());
  q.publish();
  EXPECT_TRUE(q.needs_kick());  // 3 is in (3, 4]
  port.write16(l.used, vring::kUsedFNoNotify);  // ignored with EVENT_IDX
  port.write16(avail_event, 4);
  ASSERT_TRUE(q.add({}, one(s)).ok());
  q.publish();
  EXPECT_TRUE(q.needs_kick());
}

TEST(SplitQueueDriver, InterruptSuppressionUsesFlagsOrUsedEvent) {
  RamPort port;
  const auto l = layout(8);
  const std::uint64_t used_event = l.avail + 4 + 2 * 8;
  {
    SplitQueueDriver q(port, l, SplitQueueOptions{.event_idx = false, .no_interrupt = true});
    EXPECT_EQ(port.read16(l.avail), vring::kAvailFNoInterrupt);
    q.set_interrupts(true);
    EXPECT_EQ(port.read16(l.avail), 0u);
  }
  {
    SplitQueueDriver q(port, l, SplitQueueOptions{.event_idx = true, .no_interrupt = true});
    EXPECT_EQ(port.read16(l.avail), 0u);  // flags stay 0 with EVENT_IDX
    EXPECT_EQ(port.read16(used_event), 0xFFFFu);
    q.set_interrupts(true);
    EXPECT_EQ(port.read16(used_event), 0u);
  }
}

TEST(SplitQueueDriver, ReapMovesUsedEventPastWhatWasSeen) {
  RamPort port;
  const auto l = layout(8);
  SplitQueueDriver q(port, l, SplitQueueOptions{.event_idx = true});
  DeviceSide dev{port, l};
  const BufferSegment s{0x20'0000, 8};
  auto a = q.add({}, one(s));
  auto b = q.add({}, one(s));
  q.publish();
  dev.push(*a, 1);
  dev.push(*b, 2);
  EXPECT_TRUE(q.has_used());
  auto r = q.reap();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<UsedElem>{{*a, 1}, {*b, 2}}));
  EXPECT_EQ(port.read16(l.avail + 4 + 2 * 8), 2u);
  EXPECT_FALSE(q.has_used());
}

TEST(SplitQueueDriver, SuppressionWithEventIdxFollowsTheReapedIndex) {
  RamPort port;
  const auto l = layout(8);
  const std::uint64_t used_event = l.avail + 4 + 2 * 8;
  SplitQueueDriver q(port, l, SplitQueueOptions{.event_idx = true, .no_interrupt = true});
  DeviceSide dev{port, l};
  const BufferSegment s{0x20'0000, 8};
  for (int i = 0; i < 3; ++i) {
    auto h = q.add({}, one(s));
    ASSERT_TRUE(h.ok());
    dev.push(*h, 0);
  }
  q.publish();
  ASSERT_TRUE(q.reap().ok());
  EXPECT_EQ(port.read16(used_event), 2u);  // one behind last_used (3): as far away as possible
}

TEST(SplitQueueDriver, IndicesWrapAt16Bits) {
  RamPort port;
  const auto l = layout(4);
  SplitQueueDriver q(port, l);
  DeviceSide dev{port, l};
  const BufferSegment s{0x20'0000, 8};
  for (std::uint32_t i = 0; i < 70'000; ++i) {
    auto h = q.add({}, one(s));
    ASSERT_TRUE(h.ok()) << i;
    q.publish();
    const auto heads = dev.pop();
    ASSERT_EQ(heads, std::vector<std::uint16_t>{*h}) << i;
    dev.push(*h, i % 9);
    auto r = q.reap();
    ASSERT_TRUE(r.ok()) << i;
    ASSERT_EQ(*r, (std::vector<UsedElem>{{*h, i % 9}})) << i;
  }
  EXPECT_EQ(q.avail_idx(), static_cast<std::uint16_t>(70'000));
  EXPECT_EQ(port.read16(l.avail + 2), static_cast<std::uint16_t>(70'000));
  EXPECT_EQ(q.last_used(), static_cast<std::uint16_t>(70'000));
  EXPECT_EQ(q.num_free(), 4u);
}

TEST(SplitQueueDriver, ConstructionZeroesTheRingsAndRejectsBadLayouts) {
  RamPort port;
  const auto l = layout(8);
  const auto area = port.ram().subspan(l.desc, l.used + 0x100 - l.desc);
  std::fill(area.begin(), area.end(), 0xFF);
  SplitQueueDriver q(port, l);
  EXPECT_EQ(port.read16(l.avail), 0u);
  EXPECT_EQ(port.read16(l.avail + 2), 0u);
  EXPECT_EQ(port.read16(l.used + 2), 0u);
  EXPECT_EQ(port.read64(l.desc + 16 * 7), 0u);
  EXPECT_EQ(port.read16(l.used + 4 + 8 * 8), 0u);  // avail_event
  EXPECT_THROW(SplitQueueDriver(port, layout(3)), ConfigError);
  EXPECT_THROW(SplitQueueDriver(port, layout(0)), ConfigError);
  EXPECT_THROW(SplitQueueDriver(port, layout(65536)), ConfigError);
  EXPECT_THROW(SplitQueueDriver(port, RingLayout{8, 0x10'0008, 0x10'4000, 0x10'8000}), ConfigError);
  EXPECT_THROW(SplitQueueDriver(port, RingLayout{8, 0x10'0000, 0x10'4001, 0x10'8000}), ConfigError);
  EXPECT_THROW(SplitQueueDriver(port, RingLayout{8, 0x10'0000, 0x10'4000, 0x10'8002}), ConfigError);
}

}  // namespace
}  // namespace vmsg::driver

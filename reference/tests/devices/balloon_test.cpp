// virtio-balloon backend: identity, config rules, inflate/deflate, target
// changes, reset.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "devices/devices_test_support.hpp"
#include "vmsg/devices/balloon.hpp"

namespace vmsg::devices {
namespace {

using test::FakeContext;
using test::FakeMemory;
using test::Ring;
using test::UsedElem;
using virtqueue::QueueError;

std::vector<std::uint8_t> pfns(std::initializer_list<std::uint32_t> list) {
  std::vector<std::uint8_t> v;
  for (std::uint32_t p : list) {
    const auto b = test::le32_bytes(p);
    v.insert(v.end(), b.begin(), b.end());
  }
  return v;
}

struct BalloonRig {
  explicit BalloonRig(std::uint32_t target = 0) : balloon(target) { balloon.bind(ctx); }
  FakeMemory mem;
  Ring inflate{mem};
  FakeMemory mem2;  // the deflate ring lives in its own memory: simpler layout
  Ring deflate{mem2};
  virtqueue::SplitQueue qi = inflate.queue();
  virtqueue::SplitQueue qd = deflate.queue();
  BalloonBackend balloon;
  FakeContext ctx{mem, balloon};
};

TEST(BalloonIdentity, TwoQueuesAndMustTellHost) {
  BalloonBackend b;
  EXPECT_EQ(b.device_id(), 5u);
  EXPECT_EQ(b.device_features(), 1u);
  EXPECT_EQ(b.num_queues(), 2u);
  EXPECT_EQ(b.max_queue_size(0), 128u);
  EXPECT_EQ(b.max_queue_size(1), 128u);
  EXPECT_EQ(b.max_queue_size(2), 0u);
  EXPECT_EQ(b.config_size(), 8u);
}

TEST(BalloonConfig, BytesExact) {
  BalloonBackend b(0x01020304);
  EXPECT_EQ(test::config_bytes(b), (std::vector<std::uint8_t>{0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0}));
  std::vector<std::uint8_t> part(2);
  b.read_config(1, part);
  EXPECT_EQ(part, (std::vector<std::uint8_t>{0x03, 0x02}));
}

TEST(BalloonConfig, DriverMayWriteActual) {
  BalloonBackend b(10);
  EXPECT_TRUE(b.write_config(4, test::le32_bytes(0xA1B2C3D4)));
  EXPECT_EQ(b.actual(), 0xA1B2C3D4u);
  EXPECT_EQ(test::config_bytes(b), (std::vector<std::uint8_t>{10, 0, 0, 0, 0xD4, 0xC3, 0xB2, 0xA1}));
  // A partial write changes only the bytes it covers.
  EXPECT_TRUE(b.write_config(6, std::vector<std::uint8_t>{0x11, 0x22}));
  EXPECT_EQ(b.actual(), 0x2211C3D4u);
  EXPECT_TRUE(b.write_config(4, std::vector<std::uint8_t>{0x00}));
  EXPECT_EQ(b.actual(), 0x2211C300u);
}

TEST(BalloonConfig, WritesTouchingNumPagesAreRefused) {
  BalloonBackend b(10);
  ASSERT_TRUE(b.write_config(4, test::le32_bytes(7)));
  const auto before = test::config_bytes(b);
  EXPECT_FALSE(b.write_config(0, test::le32_bytes(99)));
  EXPECT_FALSE(b.write_config(3, std::vector<std::uint8_t>{1}));
  EXPECT_FALSE(b.write_config(2, test::le32_bytes(0xFFFFFFFF)));  // straddles both fields
  EXPECT_FALSE(b.write_config(0, std::vector<std::uint8_t>(8, 0xFF)));
  EXPECT_FALSE(b.write_config(6, test::le32_bytes(1)));  // runs past the end
  EXPECT_EQ(test::config_bytes(b), before);
  EXPECT_EQ(b.target(), 10u);
  EXPECT_EQ(b.actual(), 7u);
}

TEST(BalloonTarget, SetTargetAnnouncesTheNewBytes) {
  BalloonRig r(5);
  r.balloon.set_target(0x00012345);
  EXPECT_EQ(r.balloon.target(), 0x00012345u);
  ASSERT_EQ(r.ctx.config_changes.size(), 1u);
  EXPECT_EQ(r.ctx.config_changes[0].offset, 0u);
  EXPECT_EQ(r.ctx.config_changes[0].length, 4u);
  // The bytes were already updated when the transport was told.
  EXPECT_EQ(r.ctx.config_changes[0].config, (std::vector<std::uint8_t>{0x45, 0x23, 0x01, 0x00, 0, 0, 0, 0}));
  EXPECT_EQ(r.ctx.needs_reset_calls, 0u);
}

TEST(BalloonTarget, SetTargetBeforeBindOnlyUpdates) {
  BalloonBackend b(1);
  b.set_target(2);
  EXPECT_EQ(b.target(), 2u);
  EXPECT_EQ(test::config_bytes(b), (std::vector<std::uint8_t>{2, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(BalloonQueues, InflateThenDeflate) {
  BalloonRig r;
  const auto a = r.inflate.add_chain({pfns({1, 2, 0x80000000, 0xFFFFFFFF})}, {});
  ASSERT_EQ(r.balloon.process(0, r.qi), std::nullopt);
  EXPECT_EQ(r.inflate.all_used(), (std::vector<UsedElem>{{a.head, 0}}));
  EXPECT_EQ(r.balloon.inflated(), (std::set<std::uint32_t>{1, 2, 0x80000000, 0xFFFFFFFF}));

  const auto d = r.deflate.add_chain({pfns({2, 99})}, {});
  ASSERT_EQ(r.balloon.process(1, r.qd), std::nullopt);
  EXPECT_EQ(r.deflate.all_used(), (std::vector<UsedElem>{{d.head, 0}}));
  EXPECT_EQ(r.balloon.inflated(), (std::set<std::uint32_t>{1, 0x80000000, 0xFFFFFFFF}));
  EXPECT_EQ(r.balloon.inflated_count(), 3u);
  EXPECT_TRUE(r.balloon.is_inflated(1));
  EXPECT_FALSE(r.balloon.is_inflated(2));

  const auto& s = r.balloon.stats();
  EXPECT_EQ(s.inflate_chains, 1u);
  EXPECT_EQ(s.deflate_chains, 1u);
  EXPECT_EQ(s.inflated_pfns, 4u);
  EXPECT_EQ(s.deflated_pfns, 2u);
  EXPECT_EQ(s.unknown_deflates, 1u);
}

TEST(BalloonQueues, DuplicatesCountOnce) {
  BalloonRig r;
  r.inflate.add_chain({pfns({7, 7})}, {});
  r.inflate.add_chain({pfns({7})}, {});
  ASSERT_EQ(r.balloon.process(0, r.qi), std::nullopt);
  EXPECT_EQ(r.inflate.used_idx(), 2u);
  EXPECT_EQ(r.balloon.inflated_count(), 1u);
  EXPECT_EQ(r.balloon.stats().inflated_pfns, 3u);
}

TEST(BalloonQueues, PfnsSplitAcrossSegmentsAndTrailingBytes) {
  BalloonRig r;
  const auto all = pfns({0x11223344, 0x55667788});
  // 3 + 3 + 4 bytes: both PFNs straddle segments; 2 trailing bytes follow.
  r.inflate.add_chain({{all.begin(), all.begin() + 3}, {all.begin() + 3, all.begin() + 6}, {all.begin() + 6, all.end()},
                       {0xAA, 0xBB}},
                      {});
  ASSERT_EQ(r.balloon.process(0, r.qi), std::nullopt);
  EXPECT_EQ(r.balloon.inflated(), (std::set<std::uint32_t>{0x11223344, 0x55667788}));
  EXPECT_EQ(r.balloon.stats().trailing_bytes, 2u);
}

TEST(BalloonQueues, ManyPfnsInOneChain) {
  BalloonRig r;
  std::vector<std::uint8_t> bytes;
  std::set<std::uint32_t> expect;
  for (std::uint32_t p = 1000; p < 1300; ++p) {  // 1200 bytes, several read chunks
    const auto b = test::le32_bytes(p);
    bytes.insert(bytes.end(), b.begin(), b.end());
    expect.insert(p);
  }
  r.inflate.add_chain({bytes}, {});
  ASSERT_EQ(r.balloon.process(0, r.qi), std::nullopt);
  EXPECT_EQ(r.balloon.inflated(), expect);
}

TEST(BalloonQueues, TrackingBoundDropsNewPfnsOnly) {
  FakeMemory mem;
  Ring ring(mem);
  auto q = ring.queue();
  BalloonBackend b(0, 2);
  ring.add_chain({pfns({1, 2, 3, 1})}, {});  // 3 is over the bound; 1 again is known
  ASSERT_EQ(b.process(0, q), std::nullopt);
  EXPECT_EQ(b.inflated(), (std::set<std::uint32_t>{1, 2}));
  EXPECT_EQ(b.stats().dropped_pfns, 1u);
  // Deflate frees room (the same ring serves as deflate queue here: the
  // backend only looks at the queue index it is given).
  ring.add_chain({pfns({2})}, {});
  ASSERT_EQ(b.process(1, q), std::nullopt);
  ring.add_chain({pfns({3})}, {});
  ASSERT_EQ(b.process(0, q), std::nullopt);
  EXPECT_EQ(b.inflated(), (std::set<std::uint32_t>{1, 3}));
  EXPECT_EQ(b.stats().dropped_pfns, 1u);
}

TEST(BalloonQueues, WritableOnlyChainIsUsedAndIgnored) {
  BalloonRig r;
  const auto c = r.inflate.add_chain({}, {16});
  ASSERT_EQ(r.balloon.process(0, r.qi), std::nullopt);
  EXPECT_EQ(r.inflate.all_used(), (std::vector<UsedElem>{{c.head, 0}}));
  EXPECT_EQ(r.mem.copy(c.writable[0].addr, 16), std::vector<std::uint8_t>(16, test::kPoison));
  EXPECT_EQ(r.balloon.inflated_count(), 0u);
}

TEST(BalloonQueues, UnknownQueueIndexIsIgnored) {
  BalloonRig r;
  r.inflate.add_chain({pfns({1})}, {});
  EXPECT_EQ(r.balloon.process(2, r.qi), std::nullopt);
  EXPECT_EQ(r.inflate.used_idx(), 0u);
  EXPECT_EQ(r.balloon.inflated_count(), 0u);
}

TEST(BalloonQueues, PfnBufferOutsideRamIsADmaFault) {
  BalloonRig r;
  const std::uint16_t d = r.inflate.take_desc();
  r.inflate.set_desc(d, r.mem.end() - 4, 8, 0, 0);  // half inside RAM
  r.inflate.publish(d);
  EXPECT_EQ(r.balloon.process(0, r.qi), QueueError::DmaFault);
  EXPECT_EQ(r.inflate.used_idx(), 0u);
  EXPECT_EQ(r.balloon.inflated_count(), 0u);
}

TEST(BalloonReset, ClearsInflatedAndActualKeepsTarget) {
  BalloonRig r(64);
  r.inflate.add_chain({pfns({1, 2, 3})}, {});
  ASSERT_EQ(r.balloon.process(0, r.qi), std::nullopt);
  ASSERT_TRUE(r.balloon.write_config(4, test::le32_bytes(3)));
  r.balloon.reset();
  EXPECT_EQ(r.balloon.inflated_count(), 0u);
  EXPECT_EQ(r.balloon.actual(), 0u);
  EXPECT_EQ(r.balloon.target(), 64u);
  EXPECT_EQ(test::config_bytes(r.balloon), (std::vector<std::uint8_t>{64, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(r.ctx.config_changes.empty());  // a reset is not a device-initiated change
}

// --- driver rules the balloon sees (balloon description.tex L179-224) -------

/// Inflates `list` on the rig's inflate queue.
void inflate(BalloonRig& r, std::initializer_list<std::uint32_t> list) {
  r.inflate.add_chain({pfns(list)}, {});
  ASSERT_EQ(r.balloon.process(0, r.qi), std::nullopt);
}
void deflate(BalloonRig& r, std::initializer_list<std::uint32_t> list) {
  r.deflate.add_chain({pfns(list)}, {});
  ASSERT_EQ(r.balloon.process(1, r.qd), std::nullopt);
}
void report_actual(BalloonRig& r, std::uint32_t actual) {
  ASSERT_TRUE(r.balloon.write_config(balloon::kCfgActual, test::le32_bytes(actual)));
}

TEST(BalloonDriverRules, ACorrectDriverReportsNothing) {
  BalloonRig r(2);
  r.balloon.set_target(3);
  inflate(r, {10, 11, 12});
  report_actual(r, 3);
  r.balloon.set_target(1);
  deflate(r, {10, 11});
  report_actual(r, 1);
  EXPECT_TRUE(r.ctx.rules.empty());
}

TEST(BalloonDriverRules, ReinflatingAHeldPageBreaksBalloon010) {
  BalloonRig r(4);
  inflate(r, {10, 11});
  inflate(r, {11, 12, 10});  // once per chain
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BALLOON-010"}));
  EXPECT_EQ(r.balloon.inflated(), (std::set<std::uint32_t>{10, 11, 12}));  // handled as before
}

TEST(BalloonDriverRules, DeflatingAPageNeverGivenBreaksBalloon014) {
  BalloonRig r;
  inflate(r, {10});
  deflate(r, {99, 98});
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BALLOON-014"}));
  EXPECT_EQ(r.balloon.stats().unknown_deflates, 2u);
}

TEST(BalloonDriverRules, DeflatingAtOrBelowTheTargetBreaksBalloon008) {
  BalloonRig r(2);
  inflate(r, {10, 11, 12});
  deflate(r, {10});  // 3 held > 2 wanted: fine
  EXPECT_TRUE(r.ctx.rules.empty());
  deflate(r, {11});  // 2 held, 2 wanted: the device still wants it
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BALLOON-008"}));
  EXPECT_EQ(r.balloon.inflated_count(), 1u);
}

TEST(BalloonDriverRules, AWrongActualBreaksBalloon015) {
  BalloonRig r(2);
  inflate(r, {10, 11});
  report_actual(r, 3);
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BALLOON-015"}));
  EXPECT_EQ(r.balloon.actual(), 3u);  // applied as before
  // A partial write is no report yet.
  r.ctx.rules.clear();
  ASSERT_TRUE(r.balloon.write_config(balloon::kCfgActual, std::vector<std::uint8_t>{7}));
  EXPECT_TRUE(r.ctx.rules.empty());
}

TEST(BalloonDriverRules, ReportingWithoutInflatingAfterTheTargetRoseBreaksBalloon006) {
  BalloonRig r;
  r.balloon.set_target(2);
  report_actual(r, 0);
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BALLOON-006"}));
  r.ctx.rules.clear();
  inflate(r, {10});  // moving towards the target: a partial report is fine
  report_actual(r, 1);
  EXPECT_TRUE(r.ctx.rules.empty());
}

TEST(BalloonDriverRules, TheUnansweredTargetIsSavedAndRestored) {
  BalloonRig r;
  const auto before = r.balloon.save_state();
  r.balloon.set_target(2);
  const auto raised = r.balloon.save_state();
  r.balloon.restore_state(before);
  report_actual(r, 0);
  EXPECT_TRUE(r.ctx.rules.empty());
  r.balloon.restore_state(raised);
  report_actual(r, 0);
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BALLOON-006"}));
}

}  // namespace
}  // namespace vmsg::devices

// DeviceTransport: EVENT_AVAIL, processing, EVENT_USED and queue errors, over
// a real split ring in fake guest memory.
#include <gtest/gtest.h>

#include "transport_test_support.hpp"

namespace vmsg::transport::test {
namespace {

constexpr std::uint64_t kBuf = Harness::kBufAddr;

TEST(DeviceTransportIo, EventAvailProcessesAndSendsEventUsed) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring);
  const std::uint16_t head = ring.add_buffer(kBuf, 16, /*writable=*/true);
  const auto msgs = h.kick(0);
  EXPECT_EQ(msgs, (std::vector<wire::Message>{event(wire::EventUsed{0})}));  // never a response
  EXPECT_EQ(h.backend.process_calls, (std::vector<unsigned>{0}));
  EXPECT_EQ(h.backend.chains_used, 1u);
  EXPECT_EQ(ring.used_idx(), 1u);
  EXPECT_EQ(ring.used_id(0), head);
  EXPECT_EQ(ring.used_len(0), 16u);
  EXPECT_EQ(h.t.stats().event_avail, 1u);
  EXPECT_EQ(h.t.stats().event_avail_ignored, 0u);
  EXPECT_EQ(h.t.stats().event_used_sent, 1u);
  EXPECT_EQ(h.t.stats().requests, 7u);  // bring_up only; the event is not a request
}

TEST(DeviceTransportIo, PollingSetsNoNotifyServesWithoutKicksAndClearsWhenTheWindowCloses) {
  auto b = std::make_unique<FakeBackend>();
  b->poll_ns = 1000;
  Harness h({}, std::move(b));
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring);
  const auto used_flags = [&] { return h.mem.load16(ring.used()); };
  h.t.advance_time(5000);  // no kick yet: nothing polls
  EXPECT_EQ(used_flags(), 0u);
  (void)ring.add_buffer(kBuf, 16, true);
  (void)h.kick(0);
  EXPECT_EQ(used_flags(), 1u);  // VIRTQ_USED_F_NO_NOTIFY while polling
  (void)ring.add_buffer(kBuf, 16, true);  // no kick
  h.t.advance_time(400);
  EXPECT_EQ(ring.used_idx(), 2u);
  EXPECT_EQ(used_flags(), 1u);
  h.t.advance_time(600);  // the window closes
  EXPECT_EQ(used_flags(), 0u);
  (void)ring.add_buffer(kBuf, 16, true);  // no kick: waits for one now
  h.t.advance_time(5000);
  EXPECT_EQ(ring.used_idx(), 2u);
  (void)h.kick(0);
  EXPECT_EQ(ring.used_idx(), 3u);
}

TEST(DeviceTransportIo, PollingKeepsUsedFlagsZeroWithEventIdx) {
  auto b = std::make_unique<FakeBackend>();
  b->poll_ns = 1000;
  Harness h({}, std::move(b));
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring, kVersion1 | kEventIdx);
  (void)ring.add_buffer(kBuf, 16, true);
  (void)h.kick(0);
  (void)ring.add_buffer(kBuf, 16, true);
  h.t.advance_time(10);
  EXPECT_EQ(ring.used_idx(), 2u);  // still polls
  EXPECT_EQ(h.mem.load16(ring.used()), 0u);
}

TEST(DeviceTransportIo, NothingUsedNoEventUsed) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring);
  EXPECT_TRUE(h.kick(0).empty());
  EXPECT_EQ(h.backend.process_calls.size(), 1u);
}

TEST(DeviceTransportIo, NoInterruptSuppressesEventUsed) {
  Harness h;  // VMSG-DEV-062
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring);
  ring.set_avail_flags(1);  // VRING_AVAIL_F_NO_INTERRUPT
  ring.add_buffer(kBuf, 4, true);
  EXPECT_TRUE(h.kick(0).empty());
  EXPECT_EQ(ring.used_idx(), 1u);  // the buffer was still used
  ring.set_avail_flags(0);
  ring.add_buffer(kBuf, 4, true);
  EXPECT_EQ(h.kick(0), (std::vector<wire::Message>{event(wire::EventUsed{0})}));
  EXPECT_EQ(h.t.stats().event_used_sent, 1u);
}

TEST(DeviceTransportIo, EventIdxDecidesEventUsed) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring, kVersion1 | kEventIdx);
  ring.set_used_event(1);  // interrupt only once used.idx passes 1
  ring.add_buffer(kBuf, 4, true);
  EXPECT_TRUE(h.kick(0).empty());  // used.idx 0 -> 1
  ring.add_buffer(kBuf, 4, true);
  EXPECT_EQ(h.kick(0), (std::vector<wire::Message>{event(wire::EventUsed{0})}));  // 1 -> 2
}

TEST(DeviceTransportIo, IgnoredBeforeDriverOkThenProcessedAtDriverOk) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.negotiate();
  h.set_vqueue(ring.set_vqueue(0));
  ring.add_buffer(kBuf, 8, true);
  EXPECT_TRUE(h.kick(0).empty());  // VMSG-DEV-032 / G15
  EXPECT_TRUE(h.backend.process_calls.empty());
  EXPECT_EQ(ring.used_idx(), 0u);
  EXPECT_EQ(h.t.stats().event_avail_ignored, 1u);

  // VMSG-DEV-033: DRIVER_OK starts processing, after its response.
  h.t.receive(wire::Message{.dev_num = Harness::kDevNum, .token = 9, .reserved_type_bits = 0,
                            .body = wire::SetDeviceStatusReq{0x0F}});
  EXPECT_EQ(h.out.take(), (std::vector<wire::Message>{
                              wire::Message{.dev_num = Harness::kDevNum, .token = 9, .reserved_type_bits = 0,
                                            .body = wire::SetDeviceStatusResp{0x0F}},
                              event(wire::EventUsed{0})}));
  EXPECT_EQ(ring.used_idx(), 1u);
  EXPECT_EQ(h.backend.process_calls, (std::vector<unsigned>{0}));  // unconfigured queue 1 untouched
  // Writing DRIVER_OK again is no new start.
  EXPECT_EQ(h.set_status(0x0F), 0x0Fu);
  EXPECT_EQ(h.backend.process_calls.size(), 1u);
}

TEST(DeviceTransportIo, IgnoredForBadOrUnconfiguredQueue) {
  Harness h;  // G15
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring);
  ring.add_buffer(kBuf, 8, true);
  EXPECT_TRUE(h.kick(1).empty());  // exists, not configured
  EXPECT_TRUE(h.kick(2).empty());
  EXPECT_TRUE(h.kick(0xFFFF'FFFF).empty());
  EXPECT_TRUE(h.backend.process_calls.empty());
  EXPECT_EQ(h.t.stats().event_avail, 3u);
  EXPECT_EQ(h.t.stats().event_avail_ignored, 3u);
  EXPECT_EQ(h.get_status(), 0x0Fu);  // no state change
  (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  EXPECT_TRUE(h.kick(0).empty());  // dropped queue
  EXPECT_EQ(h.t.stats().event_avail_ignored, 4u);
  EXPECT_EQ(ring.used_idx(), 0u);
}

TEST(DeviceTransportIo, NextOffsetIsIgnored) {
  Harness h;  // NOTIFICATION_DATA is never offered, so the word carries nothing
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring);
  ring.add_buffer(kBuf, 8, true);
  EXPECT_EQ(h.kick(0, 0x8000'0005), (std::vector<wire::Message>{event(wire::EventUsed{0})}));
}

TEST(DeviceTransportIo, BackendErrorSetsNeedsResetOnce) {
  Harness h({.initial_generation = 3});
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring);
  h.backend.mode = FakeBackend::Mode::Fail;
  ring.add_buffer(kBuf, 8, true);
  EXPECT_EQ(h.kick(0), (std::vector<wire::Message>{event(wire::EventConfig{0x4F, 3, 0, 0, {}})}));  // VMSG-DEV-042
  EXPECT_EQ(h.get_status(), 0x4Fu);
  EXPECT_EQ(h.t.stats().queue_errors, 1u);
  // Ignored from now on: no processing, no second EVENT_CONFIG.
  EXPECT_TRUE(h.kick(0).empty());
  EXPECT_EQ(h.backend.process_calls.size(), 1u);
  EXPECT_EQ(h.t.stats().event_avail_ignored, 1u);
  EXPECT_EQ(h.t.stats().event_config_sent, 1u);
  EXPECT_EQ(h.t.generation(), 3u);
}

TEST(DeviceTransportIo, RingCorruptionSetsNeedsReset) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring);
  ring.set_avail_idx(9);  // more than `size` ahead of the device: AvailIndexJump
  EXPECT_EQ(h.kick(0), (std::vector<wire::Message>{event(wire::EventConfig{0x4F, 0, 0, 0, {}})}));
  ASSERT_NE(h.t.configured_queue(0), nullptr);
  EXPECT_EQ(h.t.configured_queue(0)->broken(), virtqueue::Status{virtqueue::QueueError::AvailIndexJump});
  // A later completion on the broken queue counts, but announces nothing new.
  h.backend.ctx->used(0);
  EXPECT_TRUE(h.out.posted.empty());
  EXPECT_EQ(h.t.stats().queue_errors, 2u);
}

TEST(DeviceTransportIo, NoMemoryMeansDmaFault) {
  auto b = std::make_unique<FakeBackend>();
  FakeBackend& backend = *b;
  DeviceTransport t(std::move(b));
  RecordingOutbox out;
  t.attach(1, out);  // attach_memory never called
  auto send = [&](wire::Body body) {
    t.receive(wire::Message{.dev_num = 1, .token = 0, .reserved_type_bits = 0, .body = std::move(body)});
  };
  send(wire::SetDeviceStatusReq{0x03});
  send(wire::SetDriverFeaturesReq{0, {0, 1}});
  send(wire::SetDeviceStatusReq{0x0B});
  send(wire::SetVqueueReq{.index = 0, .size = 8, .desc_addr = 0x1000, .driver_addr = 0x1080, .device_addr = 0x10A0});
  send(wire::SetDeviceStatusReq{0x0F});  // DRIVER_OK processes queue 0: the first read faults
  ASSERT_EQ(out.posted.size(), 6u);
  EXPECT_EQ(out.posted[4].body, wire::Body{wire::SetDeviceStatusResp{0x0F}});
  EXPECT_EQ(out.posted[5], (wire::Message{.dev_num = 1, .token = 0, .reserved_type_bits = 0,
                                          .body = wire::EventConfig{0x4F, 0, 0, 0, {}}}));
  EXPECT_EQ(backend.process_calls.size(), 1u);
  EXPECT_EQ(t.stats().queue_errors, 1u);
}

TEST(DeviceTransportIo, AllWorksAgainAfterReset) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring);
  h.backend.mode = FakeBackend::Mode::Fail;
  ring.add_buffer(kBuf, 8, true);
  ASSERT_EQ(h.kick(0).size(), 1u);
  ASSERT_EQ(h.get_status(), 0x4Fu);

  EXPECT_EQ(h.set_status(0), 0u);
  h.backend.mode = FakeBackend::Mode::Use;
  h.backend.process_calls.clear();
  TestRing fresh(h.mem, Harness::kRamBase + 0x400, 8);
  h.bring_up(fresh);
  fresh.add_buffer(kBuf, 8, true);
  EXPECT_EQ(h.kick(0), (std::vector<wire::Message>{event(wire::EventUsed{0})}));
  EXPECT_EQ(fresh.used_idx(), 1u);
  EXPECT_EQ(h.get_status(), 0x0Fu);
}

TEST(DeviceTransportIo, AsynchronousCompletionThroughContext) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring);
  h.backend.mode = FakeBackend::Mode::Hold;
  const std::uint16_t head = ring.add_buffer(kBuf, 8, true);
  EXPECT_TRUE(h.kick(0).empty());  // popped, nothing used yet
  ASSERT_EQ(h.backend.held.size(), 1u);
  EXPECT_EQ(h.backend.held[0].second.head, head);

  virtqueue::SplitQueue* q = h.backend.ctx->queue(0);
  ASSERT_NE(q, nullptr);
  EXPECT_FALSE(q->push_used(head, 8).has_value());
  h.backend.ctx->used(0);
  EXPECT_EQ(h.out.take(), (std::vector<wire::Message>{event(wire::EventUsed{0})}));
  h.backend.ctx->used(0);  // nothing new since
  h.backend.ctx->used(1);  // not configured
  h.backend.ctx->used(99);
  EXPECT_TRUE(h.out.posted.empty());
  EXPECT_EQ(ring.used_idx(), 1u);
}

TEST(DeviceTransportIo, SecondQueueIndependent) {
  Harness h;
  TestRing q0(h.mem, Harness::kRamBase, 8);
  TestRing q1(h.mem, Harness::kRamBase + 0x800, 16);
  h.negotiate();
  h.set_vqueue(q0.set_vqueue(0));
  h.set_vqueue(q1.set_vqueue(1));
  ASSERT_EQ(h.set_status(0x0F), 0x0Fu);
  q1.add_buffer(kBuf, 4, true);
  q1.add_buffer(kBuf + 4, 4, true);
  EXPECT_EQ(h.kick(1), (std::vector<wire::Message>{event(wire::EventUsed{1})}));
  EXPECT_EQ(q1.used_idx(), 2u);
  EXPECT_EQ(q0.used_idx(), 0u);
  EXPECT_EQ(h.backend.chains_used, 2u);
}

}  // namespace
}  // namespace vmsg::transport::test

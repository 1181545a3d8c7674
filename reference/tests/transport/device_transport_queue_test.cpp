// DeviceTransport: GET_VQUEUE, SET_VQUEUE, RESET_VQUEUE, GET_SHM.
// FakeBackend: queue 0 max 8, queue 1 max 16.
#include <gtest/gtest.h>

#include "transport_test_support.hpp"

namespace vmsg::transport::test {
namespace {

using wire::GetVqueueResp;
using wire::SetVqueueReq;

GetVqueueResp configured(std::uint32_t index, std::uint32_t max, const TestRing& ring) {
  const auto l = ring.layout();
  return {.index = index, .max_size = max, .cur_size = l.size, .flags = 0, .desc_addr = l.desc_addr,
          .driver_addr = l.driver_addr, .device_addr = l.device_addr};
}

TEST(DeviceTransportQueue, UnconfiguredQueuesReportMaxSizeOnly) {
  Harness h;
  EXPECT_EQ(h.get_vqueue(0), (GetVqueueResp{.index = 0, .max_size = 8}));  // VMSG-DEV-055
  EXPECT_EQ(h.get_vqueue(1), (GetVqueueResp{.index = 1, .max_size = 16}));
}

TEST(DeviceTransportQueue, GetVqueueOutOfRangeEchoesIndex) {
  Harness h;  // G10
  EXPECT_EQ(h.get_vqueue(2), (GetVqueueResp{.index = 2}));
  EXPECT_EQ(h.get_vqueue(0xFFFF'FFFF), (GetVqueueResp{.index = 0xFFFF'FFFF}));
}

TEST(DeviceTransportQueue, SetVqueueConfiguresAndIgnoresReservedWords) {
  Harness h;
  h.negotiate();
  TestRing ring(h.mem, Harness::kRamBase, 8);
  SetVqueueReq r = ring.set_vqueue(0);
  r.flags = 0xDEAD'BEEF;  // G9: ignored
  r.reserved = 0xFFFF'FFFF;
  h.set_vqueue(r);
  EXPECT_EQ(h.get_vqueue(0), configured(0, 8, ring));  // VMSG-DEV-028/056
  ASSERT_NE(h.t.configured_queue(0), nullptr);
  EXPECT_EQ(h.t.configured_queue(0)->layout(), ring.layout());
  EXPECT_EQ(h.backend.ctx->queue(0), h.t.configured_queue(0));
  EXPECT_EQ(h.backend.ctx->queue(1), nullptr);
  EXPECT_EQ(h.backend.ctx->queue(7), nullptr);
  EXPECT_EQ(h.get_vqueue(1), (GetVqueueResp{.index = 1, .max_size = 16}));
  EXPECT_TRUE(h.backend.queue_resets.empty());
}

TEST(DeviceTransportQueue, SmallerSizeThanMaxAccepted) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 4);
  h.set_vqueue(ring.set_vqueue(1));
  EXPECT_EQ(h.get_vqueue(1), configured(1, 16, ring));
}

TEST(DeviceTransportQueue, HonouredInAnyStatus) {
  Harness h;  // VMSG-DEV-039: before negotiation and after DRIVER_OK alike
  TestRing a(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(a.set_vqueue(0));
  EXPECT_EQ(h.get_vqueue(0), configured(0, 8, a));
  h.negotiate();
  EXPECT_EQ(h.set_status(0x0F), 0x0Fu);
  TestRing b(h.mem, Harness::kRamBase + 0x400, 8);
  h.set_vqueue(b.set_vqueue(0));
  EXPECT_EQ(h.get_vqueue(0), configured(0, 8, b));
  EXPECT_EQ(h.backend.queue_resets, (std::vector<unsigned>{0}));  // the old queue was dropped
}

TEST(DeviceTransportQueue, BadSizesLeaveQueueUnconfigured) {
  Harness h;  // G9
  TestRing ring(h.mem, Harness::kRamBase, 8);
  for (std::uint32_t size : {0u, 3u, 9u, 12u, 16u, 0x8000u, 0xFFFF'FFFFu}) {
    SCOPED_TRACE(size);
    SetVqueueReq r = ring.set_vqueue(0);
    r.size = size;
    h.set_vqueue(r);
    EXPECT_EQ(h.get_vqueue(0), (GetVqueueResp{.index = 0, .max_size = 8}));
  }
  SetVqueueReq r = ring.set_vqueue(1);
  r.size = 17;  // max + 1 of queue 1
  h.set_vqueue(r);
  EXPECT_EQ(h.get_vqueue(1), (GetVqueueResp{.index = 1, .max_size = 16}));
}

TEST(DeviceTransportQueue, BadRequestLeavesConfiguredQueueAlone) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(ring.set_vqueue(0));
  const virtqueue::SplitQueue* before = h.t.configured_queue(0);
  SetVqueueReq r = ring.set_vqueue(0);
  r.size = 3;
  h.set_vqueue(r);
  r = ring.set_vqueue(0);
  r.desc_addr += 8;
  h.set_vqueue(r);
  EXPECT_EQ(h.get_vqueue(0), configured(0, 8, ring));
  EXPECT_EQ(h.t.configured_queue(0), before);
  EXPECT_TRUE(h.backend.queue_resets.empty());
}

TEST(DeviceTransportQueue, MisalignedOrWrappingRingsRejected) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 8);
  struct Case {
    const char* what;
    std::uint64_t desc, driver, device;
  };
  const Case cases[] = {
      {"desc +8", ring.desc() + 8, ring.avail(), ring.used()},
      {"avail +1", ring.desc(), ring.avail() + 1, ring.used()},
      {"used +2", ring.desc(), ring.avail(), ring.used() + 2},
      {"desc wraps", 0xFFFF'FFFF'FFFF'FFF0, ring.avail(), ring.used()},
      {"used wraps", ring.desc(), ring.avail(), 0xFFFF'FFFF'FFFF'FFFC},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    SetVqueueReq r = ring.set_vqueue(0);
    r.desc_addr = c.desc;
    r.driver_addr = c.driver;
    r.device_addr = c.device;
    h.set_vqueue(r);
    EXPECT_EQ(h.get_vqueue(0), (GetVqueueResp{.index = 0, .max_size = 8}));
  }
}

TEST(DeviceTransportQueue, SetVqueueOutOfRangeAnswered) {
  Harness h;
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(ring.set_vqueue(2));
  h.set_vqueue(ring.set_vqueue(0xFFFF'FFFF));
  EXPECT_EQ(h.get_vqueue(0), (GetVqueueResp{.index = 0, .max_size = 8}));
  EXPECT_EQ(h.get_vqueue(2), (GetVqueueResp{.index = 2}));
}

TEST(DeviceTransportQueue, ResetVqueueThenReconfigure) {
  Harness h;
  h.negotiate(kVersion1 | kRingReset);
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(ring.set_vqueue(0));
  (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});  // VMSG-DEV-029/040/058
  EXPECT_EQ(h.get_vqueue(0), (GetVqueueResp{.index = 0, .max_size = 8}));
  EXPECT_EQ(h.t.configured_queue(0), nullptr);
  EXPECT_EQ(h.backend.queue_resets, (std::vector<unsigned>{0}));
  TestRing other(h.mem, Harness::kRamBase + 0x800, 4);
  h.set_vqueue(other.set_vqueue(0));
  EXPECT_EQ(h.get_vqueue(0), configured(0, 8, other));
}

TEST(DeviceTransportQueue, ResetVqueueWithoutRingResetNegotiated) {
  Harness h;  // Q18 / G8
  h.negotiate(kVersion1);
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(ring.set_vqueue(1));
  (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{1});
  EXPECT_EQ(h.get_vqueue(1), (GetVqueueResp{.index = 1, .max_size = 16}));
  EXPECT_EQ(h.backend.queue_resets, (std::vector<unsigned>{1}));
}

TEST(DeviceTransportQueue, ResetVqueueOfNothingAnswered) {
  Harness h;  // G8
  (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});  // unconfigured
  (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{2});
  (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0xFFFF'FFFF});
  EXPECT_TRUE(h.backend.queue_resets.empty());
}

TEST(DeviceTransportQueue, QueueFeaturesFollowNegotiation) {
  Harness with;
  with.negotiate(kVersion1 | kIndirect | kEventIdx);
  TestRing a(with.mem, Harness::kRamBase, 8);
  with.set_vqueue(a.set_vqueue(0));
  ASSERT_NE(with.t.configured_queue(0), nullptr);
  EXPECT_TRUE(with.t.configured_queue(0)->features().indirect);
  EXPECT_TRUE(with.t.configured_queue(0)->features().event_idx);

  Harness without;
  without.negotiate(kVersion1);
  TestRing b(without.mem, Harness::kRamBase, 8);
  without.set_vqueue(b.set_vqueue(0));
  ASSERT_NE(without.t.configured_queue(0), nullptr);
  EXPECT_FALSE(without.t.configured_queue(0)->features().indirect);
  EXPECT_FALSE(without.t.configured_queue(0)->features().event_idx);
}

TEST(DeviceTransportQueue, GetShmReportsNoRegion) {
  Harness h;  // VMSG-DEV-059
  EXPECT_EQ(h.ask<wire::GetShmResp>(wire::GetShmReq{0}), (wire::GetShmResp{0, 0, 0}));
  EXPECT_EQ(h.ask<wire::GetShmResp>(wire::GetShmReq{0xFFFF'FFFF}), (wire::GetShmResp{0xFFFF'FFFF, 0, 0}));
}

}  // namespace
}  // namespace vmsg::transport::test

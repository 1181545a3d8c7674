// The device's edges through the port: every access width on every register,
// MSI-X masking and bus mastering, a full device queue, hostile ring indices,
// malformed frames and ring re-initialisation.
#include <gtest/gtest.h>

#include <algorithm>

#include "rig.hpp"
#include "vmsg/fifo/layout.hpp"

namespace vmsg::test {
namespace {

using fifo::kSlotCount;

/// Posts a PING without ringing, so a later access shows whether it rang.
void arm(driver::FifoLink& l, std::uint32_t data) { ASSERT_TRUE(l.send(ping(data)).ok()); }

TEST(Registers, OnlyAlignedWordWritesToNotifyRing) {
  Rig rig(RigSpec{.amp = {.num_fifos = 2}});
  auto& l0 = rig.link(0);
  auto& l1 = rig.link(1);
  const std::uint64_t bar0 = rig.drv->bar0();
  arm(l0, 1);
  arm(l1, 2);
  // Widths 1, 2, 8 at and inside NOTIFY0/1 do nothing (QEMU rings here: D30).
  for (std::uint64_t off : {0x20u, 0x21u, 0x22u, 0x23u, 0x24u}) rig.machine.mmio_write(bar0 + off, 1, 1);
  for (std::uint64_t off : {0x20u, 0x22u, 0x24u, 0x26u}) rig.machine.mmio_write(bar0 + off, 2, 1);
  rig.machine.mmio_write(bar0 + 0x20, 8, 0x0000000100000001ull);
  // Unaligned 4-byte writes do nothing either.
  for (std::uint64_t off : {0x21u, 0x22u, 0x23u}) rig.machine.mmio_write(bar0 + off, 4, 1);
  EXPECT_EQ(l0.waiting(), 0u);
  EXPECT_EQ(l1.waiting(), 0u);
  EXPECT_EQ(rig.device.register_stats().doorbells, 0u);
  EXPECT_EQ(rig.device.register_stats().bad_width, 10u);
  EXPECT_EQ(rig.device.register_stats().unaligned, 3u);
  // Writes to VERSION/FEATURES/reserved words ring nothing and change nothing.
  for (std::uint64_t off = 0; off < 0x20; off += 4) rig.machine.mmio_write(bar0 + off, 4, 0xFFFFFFFF);
  EXPECT_EQ(rig.machine.mmio_read(bar0, 4), 1u);
  EXPECT_EQ(l0.waiting(), 0u);
  // NOTIFY2.. (no such FIFO) does nothing.
  rig.machine.mmio_write(bar0 + 0x28, 4, 1);
  rig.machine.mmio_write(bar0 + 0x3FFC, 4, 1);
  EXPECT_EQ(l0.waiting() + l1.waiting(), 0u);
  // The aligned word write rings exactly its own FIFO.
  rig.machine.mmio_write(bar0 + 0x24, 4, 1);
  EXPECT_EQ(l0.waiting(), 0u);
  EXPECT_EQ(l1.waiting(), 1u);
  rig.machine.mmio_write(bar0 + 0x20, 4, 0);  // any value
  EXPECT_EQ(l0.waiting(), 1u);
}

TEST(Registers, EveryWidthReadsAConsistentLittleEndianView) {
  Rig rig;
  const std::uint64_t bar0 = rig.drv->bar0();
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 0, 1), 1u);
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 1, 1), 0u);
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 0, 2), 1u);
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 2, 2), 0u);
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 0, 8), 1u);
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 1, 4), 0u);  // unaligned: 0
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 3, 2), 0u);
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 4, 8), 0u);  // 8-byte not 8-aligned
  for (std::uint64_t off = 0x04; off < 0x80; ++off) {
    for (unsigned size : {1u, 2u, 4u, 8u}) {
      EXPECT_EQ(rig.machine.mmio_read(bar0 + off, size), 0u) << off << "/" << size;
    }
  }
}

TEST(Msix, MaskedVectorSetsPendingAndDeliversOnUnmask) {
  Rig rig;
  auto& l = rig.link();
  const auto& m = *rig.drv->msix();
  driver::msix_set_masked(rig.machine, m, 0, true);
  ASSERT_TRUE(l.request(ping(5)).ok());
  EXPECT_FALSE(l.take_msi());
  EXPECT_TRUE(driver::msix_pending(rig.machine, m, 0));
  EXPECT_EQ(rig.machine.mmio_read(rig.drv->bar2() + 0x800, 4), 1u);  // PBA as observed
  driver::msix_set_masked(rig.machine, m, 0, false);
  EXPECT_TRUE(l.take_msi());
  EXPECT_FALSE(driver::msix_pending(rig.machine, m, 0));
  EXPECT_FALSE(l.take_msi());
}

TEST(Msix, FunctionMaskAndDisableHoldTheInterrupt) {
  Rig rig;
  auto& l = rig.link();
  const auto& m = *rig.drv->msix();
  driver::msix_set_function_mask(rig.machine, m, true);
  ASSERT_TRUE(l.request(ping(1)).ok());
  ASSERT_TRUE(l.request(ping(2)).ok());
  EXPECT_FALSE(l.take_msi());
  const auto before = rig.machine.stats().msis;
  driver::msix_set_function_mask(rig.machine, m, false);
  EXPECT_TRUE(l.take_msi());
  EXPECT_EQ(rig.machine.stats().msis - before, 1u);  // one pending bit, one delivery
  driver::msix_disable(rig.machine, m);
  ASSERT_TRUE(l.request(ping(3)).ok());
  EXPECT_FALSE(l.take_msi());
  driver::msix_enable(rig.machine, m);
  EXPECT_TRUE(l.take_msi());
}

TEST(Msix, NoDeliveryWithoutBusMasterEnable) {
  Rig rig;
  auto& l = rig.link();
  const auto cmd = rig.machine.config_read(Rig::kAddr, 0x04, 2);
  rig.machine.config_write(Rig::kAddr, 0x04, 2, cmd & ~0x4u);
  const auto before = rig.machine.stats().msis;
  ASSERT_TRUE(l.request(ping(9)).ok());  // the FIFO itself is device memory: works without BME
  EXPECT_FALSE(l.take_msi());
  EXPECT_EQ(rig.machine.stats().msis, before);
  rig.machine.config_write(Rig::kAddr, 0x04, 2, cmd);
  EXPECT_TRUE(l.take_msi());
}

TEST(FullDeviceQueue, HundredWaitingResponsesAreFlushedInOrder) {
  Rig rig;
  auto& l = rig.link();
  std::uint32_t next = 0x100;
  auto post_and_ring = [&](unsigned n) {
    for (unsigned i = 0; i < n; ++i) ASSERT_TRUE(l.send(ping(next++)).ok());
    l.ring();
  };
  post_and_ring(61);  // fills the device queue (61 usable slots)
  EXPECT_EQ(l.waiting(), 61u);
  post_and_ring(61);  // all consumed, all responses wait
  post_and_ring(39);
  const auto& ch = rig.device.channel(0);
  EXPECT_EQ(ch.pending(), 100u);
  EXPECT_EQ(ch.stats().frames_consumed, 161u);
  EXPECT_EQ(ch.stats().overflow_drops, 0u);
  // Drain the device queue; waiting responses flow in on the next doorbell.
  std::vector<std::uint32_t> got;
  auto drain = [&] {
    while (auto m = l.receive()) {
      ASSERT_TRUE(m->ok());
      got.push_back(std::get<wire::PingResp>(m->value().body).data);
    }
  };
  drain();
  l.ring();  // empty driver queue: a doorbell only flushes
  drain();
  rig.machine.advance_time(1000);  // a time step flushes too
  drain();
  ASSERT_EQ(got.size(), 161u);
  for (std::uint32_t i = 0; i < 161; ++i) ASSERT_EQ(got[i], 0x100 + i) << i;
  EXPECT_EQ(ch.pending(), 0u);
  EXPECT_EQ(ch.stats().frames_placed, 161u);
}

TEST(FullDeviceQueue, BackPressureLeavesRequestsInTheDriverQueue) {
  RigSpec spec;
  spec.amp.channel.pending_capacity = 40;
  spec.amp.channel.event_reserve = 8;  // at most 32 responses may wait
  Rig rig(spec);
  auto& l = rig.link();
  std::uint32_t next = 0;
  for (int round = 0; round < 2; ++round) {
    for (unsigned i = 0; i < 61; ++i) ASSERT_TRUE(l.send(ping(next++)).ok());
    l.ring();
  }
  const auto& ch = rig.device.channel(0);
  EXPECT_EQ(ch.pending(), 32u);
  EXPECT_EQ(ch.stats().frames_consumed, 61u + 32u);  // the rest stays in the driver queue
  EXPECT_GE(ch.stats().backpressure_stalls, 1u);
  EXPECT_EQ(ch.stats().overflow_drops, 0u);
  std::vector<std::uint32_t> got;
  for (int guard = 0; guard < 20 && got.size() < 122; ++guard) {
    while (auto m = l.receive()) got.push_back(std::get<wire::PingResp>(m->value().body).data);
    rig.machine.advance_time(1000);  // flush + resume the stalled drain
  }
  ASSERT_EQ(got.size(), 122u);
  for (std::uint32_t i = 0; i < 122; ++i) ASSERT_EQ(got[i], i);
}

TEST(Robustness, MalformedFramesGetNoResponseAndNoInterrupt) {
  Rig rig;
  auto& l = rig.link();
  const auto before = rig.machine.stats().msis;
  auto raw = [&](std::uint16_t msg_size, std::uint8_t type, std::uint8_t id, std::uint16_t dev) {
    std::vector<std::uint8_t> f(12, 0);
    f[0] = type;
    f[1] = id;
    f[2] = static_cast<std::uint8_t>(dev);
    f[3] = static_cast<std::uint8_t>(dev >> 8);
    f[6] = static_cast<std::uint8_t>(msg_size);
    f[7] = static_cast<std::uint8_t>(msg_size >> 8);
    ASSERT_EQ(l.post(f), fifo::PushResult::Ok);
  };
  for (std::uint16_t size : {std::uint16_t{0}, std::uint16_t{7}, std::uint16_t{65}, std::uint16_t{65535}}) raw(size, 0x02, 0x03, 0);  // PING with bad msg_size
  raw(8, 0x00, 0x02, 32);                                                  // GET_DEVICE_INFO dev 32
  raw(8, 0x00, 0x02, 0xFFFF);                                              // dev 0xFFFF
  raw(8, 0x00, 0x30, 0);                                                   // unknown id
  raw(8, 0x01, 0x02, 0);                                                   // a response from the driver
  raw(12, 0x03, 0x03, 0);                                                  // a bus PING response
  raw(12, 0x00, 0x42, 0);                                                  // EVENT_USED from the driver
  l.ring();
  EXPECT_EQ(l.waiting(), 0u);
  EXPECT_EQ(rig.machine.stats().msis, before);
  EXPECT_EQ(rig.device.bus(0).stats().dropped(), 10u);
  // The device is not wedged.
  auto r = l.request(ping(77));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<wire::PingResp>(r->body).data, 77u);
}

TEST(Robustness, HostileDriverQueueHeadNeverWedgesTheDevice) {
  Rig rig;
  auto& l = rig.link();
  const std::uint64_t drv_q = rig.drv->bar1() + fifo::kDriverQueueOffset;
  for (std::uint32_t hostile : {62u, 63u, 0xFFFFFFFFu}) {
    rig.machine.mmio_write(drv_q + fifo::kHeadOffset, 4, hostile);
    l.ring();  // the device consumes up to hostile % 62; zero slots are malformed and dropped
    EXPECT_EQ(rig.machine.mmio_read(drv_q + fifo::kTailOffset, 4), hostile % kSlotCount) << hostile;
    // A driver that rejoins at the device's position is answered again.
    driver::FifoLink fresh(rig.machine, l.config());
    auto r = fresh.request(ping(hostile));
    ASSERT_TRUE(r.ok()) << hostile;
    EXPECT_EQ(std::get<wire::PingResp>(r->body).data, hostile);
  }
  EXPECT_GE(rig.device.channel(0).rx_stats().peer_index_out_of_range, 3u);
}

TEST(Robustness, HostileDeviceQueueTailNeverWedgesTheDevice) {
  Rig rig;
  auto& l = rig.link();
  const std::uint64_t dev_q = rig.drv->bar1() + fifo::kDeviceQueueOffset;
  rig.machine.mmio_write(dev_q + fifo::kTailOffset, 4, 0xFFFFFFFF);  // peer says: consumed up to 0xFFFFFFFF % 62
  ASSERT_TRUE(l.send(ping(1)).ok());
  l.ring();
  // Whatever the device concluded, it stayed inside the queue and answers once the tail is sane again.
  rig.machine.mmio_write(dev_q + fifo::kTailOffset, 4, static_cast<std::uint32_t>(rig.machine.mmio_read(dev_q, 4)));
  rig.machine.advance_time(1000);
  driver::FifoLink fresh(rig.machine, l.config());
  auto r = fresh.request(ping(2));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<wire::PingResp>(r->body).data, 2u);
}

TEST(Robustness, ResponseSlotsAreZeroPaddedToSixtyFourBytes) {
  Rig rig;
  auto& l = rig.link();
  const std::uint64_t slot0 = rig.drv->bar1() + fifo::kDeviceQueueOffset + fifo::kSlotsOffset;
  std::vector<std::uint8_t> ee(64 * 4, 0xEE);
  rig.machine.mem_write(slot0, ee);
  ASSERT_TRUE(l.send(ping(0xdeadbeef, 0x1111)).ok());
  l.ring();
  std::vector<std::uint8_t> slot(64);
  rig.machine.mem_read(slot0, slot);
  const std::vector<std::uint8_t> head{0x03, 0x03, 0x00, 0x00, 0x11, 0x11, 0x0c, 0x00, 0xef, 0xbe, 0xad, 0xde};
  EXPECT_TRUE(std::equal(head.begin(), head.end(), slot.begin()));
  EXPECT_TRUE(std::all_of(slot.begin() + 12, slot.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST(Robustness, RingsReinitialisedByTheDriverAreAdoptedOnReEnable) {
  // D33: the driver zeroes both queues at probe while the device has moved on.
  Rig rig;
  auto& l = rig.link();
  for (std::uint32_t i = 0; i < 5; ++i) ASSERT_TRUE(l.request(ping(i)).ok());
  const auto cmd = rig.machine.config_read(Rig::kAddr, 0x04, 2);
  rig.machine.config_write(Rig::kAddr, 0x04, 2, cmd & ~0x2u);  // memory decoding off
  rig.machine.config_write(Rig::kAddr, 0x04, 2, cmd);          // and on: re-probe
  std::vector<std::uint8_t> zeros(2 * fifo::kQueueSize, 0);
  rig.machine.mem_write(rig.drv->bar1() + fifo::kDriverQueueOffset, zeros);
  driver::FifoLink fresh(rig.machine, l.config());
  ASSERT_TRUE(fresh.send(ping(42)).ok());
  fresh.ring();
  std::vector<std::uint32_t> got;
  while (auto m = fresh.receive()) {
    ASSERT_TRUE(m->ok());
    got.push_back(std::get<wire::PingResp>(m->value().body).data);
  }
  EXPECT_EQ(got, std::vector<std::uint32_t>{42});
}

}  // namespace
}  // namespace vmsg::test

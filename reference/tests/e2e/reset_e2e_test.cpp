// Resets in the middle of I/O: whatever was posted, the device forgets it,
// nothing stale shows up afterwards (used entries, MSIs, responses, events),
// other devices on the FIFO are not disturbed, and a fresh init works.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "e2e/e2e_rig.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/driver/blk_driver.hpp"
#include "vmsg/driver/rng_driver.hpp"

namespace vmsg::e2e {
namespace {

using driver::BufferSegment;
using driver::describe;
using driver::VirtioErrc;

constexpr std::uint64_t kSeed = 77;

std::uint16_t read16(port::Port& p, std::uint64_t addr) {
  std::array<std::uint8_t, 2> b{};
  p.mem_read(addr, b);
  return le::load16(b, 0);
}

TEST(ResetE2e, AResetWithBuffersPostedLeavesNoStaleState) {
  auto blk_dev = make_device<devices::BlkBackend>(blk_options(2048));
  auto rng_dev = make_device<devices::RngBackend>(kSeed);
  Rig rig({{0, 0, blk_dev}, {0, 1, rng_dev}});
  driver::TransportDriver tb(rig.bus(), 0);
  driver::TransportDriver tr(rig.bus(), 1);
  driver::BlkDriver blk(tb, rig.ram);
  driver::RngDriver rng(tr, rig.ram);
  ASSERT_TRUE(blk.init().ok());
  ASSERT_TRUE(rng.init().ok());
  const auto data = pattern(64 * 1024, 7);
  ASSERT_TRUE(blk.write(0, data).ok());

  // Four reads posted on the blk ring (published, not yet notified) ...
  driver::SplitQueueDriver* ring = tb.queue(0);
  ASSERT_NE(ring, nullptr);
  const driver::RingLayout old = ring->layout();
  const std::uint16_t used_before = read16(rig.machine, old.used + 2);
  for (std::uint64_t i = 0; i < 4; ++i) {
    const std::uint64_t hdr = rig.ram.alloc(16);
    std::array<std::uint8_t, 16> h{};
    le::store64(h, 8, i);  // type IN, sector i
    rig.machine.mem_write(hdr, h);
    const std::array<BufferSegment, 1> rd{BufferSegment{hdr, 16}};
    const std::array<BufferSegment, 2> wr{BufferSegment{rig.ram.alloc(512), 512}, BufferSegment{rig.ram.alloc(1), 1}};
    ASSERT_TRUE(ring->add(rd, wr).ok());
  }
  ring->publish();
  // ... and an rng buffer used by its device, whose EVENT_USED is still in the FIFO.
  const std::uint64_t rng_buf = rig.ram.alloc(256);
  const BufferSegment rs{rng_buf, 256};
  auto rng_head = tr.queue(0)->add({}, std::span<const BufferSegment>(&rs, 1));
  ASSERT_TRUE(rng_head.ok());
  ASSERT_TRUE(tr.kick(0).ok());
  ASSERT_EQ(rig.link().waiting(), 1u);

  ASSERT_TRUE(tb.reset().ok());  // VMSG-DRV-035/049
  const auto msis = rig.machine.stats().msis;
  rig.machine.advance_time(10'000'000);

  EXPECT_EQ(read16(rig.machine, old.used + 2), used_before);  // no stray used entries
  EXPECT_EQ(rig.machine.stats().msis, msis);                   // no stray MSI
  EXPECT_EQ(rig.link().waiting(), 0u);                         // no pending response or event
  EXPECT_EQ(rig.bus().pump(), 0u);
  EXPECT_FALSE(rig.bus().has_events(0));
  EXPECT_EQ(blk_dev->status(), 0u);
  EXPECT_EQ(blk_dev->configured_queue(0), nullptr);
  EXPECT_EQ(backend<devices::BlkBackend>(blk_dev).stats().reads, 0u);  // the posted reads never ran
  EXPECT_EQ(tb.queue(0), nullptr);
  EXPECT_EQ(errc(tb.kick(0)), VirtioErrc::NotReady);

  // The rng's event was kept for its own driver across the blk reset.
  auto rng_used = tr.take_used(0);
  ASSERT_TRUE(rng_used.ok());
  EXPECT_EQ(*rng_used, (std::vector<driver::UsedElem>{{*rng_head, 256}}));
  EXPECT_EQ(tr.stats().used_events, 1u);

  // A fresh init works, through a new ring only.
  auto again = blk.init();
  ASSERT_TRUE(again.ok()) << describe(again.error());
  EXPECT_NE(tb.queue(0)->layout(), old);
  std::vector<std::uint8_t> back(data.size());
  ASSERT_TRUE(blk.read(0, back).ok());
  EXPECT_TRUE(back == data);
  EXPECT_EQ(read16(rig.machine, old.used + 2), used_before);
  auto more = rng.read(4096);
  ASSERT_TRUE(more.ok()) << describe(more.error());
  EXPECT_EQ(rig.bus().stats().stray_frames, 0u);
  EXPECT_EQ(rig.bus().stats().malformed, 0u);
}

TEST(ResetE2e, NeedsResetFromABrokenRingStopsIoUntilReinitialised) {
  auto dev = make_device<devices::RngBackend>(kSeed);
  Rig rig({{0, 0, dev}});
  driver::TransportDriver t(rig.bus(), 0);
  driver::RngDriver rng(t, rig.ram, driver::RngDriverOptions{.queue_size = 64});
  ASSERT_TRUE(rng.init().ok());
  // A head the ring does not have: the device must give up on the queue.
  const auto l = t.queue(0)->layout();
  std::array<std::uint8_t, 2> b{};
  le::store16(b, 0, 500);
  rig.machine.mem_write(l.avail + 4, b);
  le::store16(b, 0, 1);
  rig.machine.mem_write(l.avail + 2, b);
  ASSERT_TRUE(t.kick(0).ok());
  ASSERT_TRUE(t.poll().ok());
  EXPECT_TRUE(t.needs_reset());  // announced by EVENT_CONFIG (VMSG-DRV-050)
  EXPECT_NE(dev->status() & wire::status::kNeedsReset, 0u);
  auto r = rng.read(16);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, VirtioErrc::NeedsReset);
  ASSERT_TRUE(rng.init().ok());
  EXPECT_FALSE(t.needs_reset());
  auto ok = rng.read(16);
  ASSERT_TRUE(ok.ok()) << describe(ok.error());
}

}  // namespace
}  // namespace vmsg::e2e

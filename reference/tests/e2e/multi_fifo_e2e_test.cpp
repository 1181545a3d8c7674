// Two FIFOs with two devices each (rng + blk on FIFO 0, blk + balloon on
// FIFO 1), I/O interleaved so that each device's events arrive while another
// device's driver is polling: nothing is lost, misrouted or mixed up.
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

constexpr std::uint64_t kSeed = 0xF1F0;
constexpr std::size_t kChunk = 8192;
constexpr unsigned kRounds = 8;

TEST(MultiFifoE2e, FourDevicesOnTwoFifosInterleaveWithoutInterference) {
  auto rng_dev = make_device<devices::RngBackend>(kSeed);
  auto blk0_dev = make_device<devices::BlkBackend>(blk_options(512, "fifo0"));
  auto blk1_dev = make_device<devices::BlkBackend>(blk_options(512, "fifo1"));
  auto bal_dev = make_device<devices::BalloonBackend>(0);
  Rig rig({{0, 0, rng_dev}, {0, 1, blk0_dev}, {1, 0, blk1_dev}, {1, 2, bal_dev}}, 2);
  ASSERT_EQ(rig.drv->num_fifos(), 2u);
  driver::TransportDriver t_rng(rig.bus(0), 0);
  driver::TransportDriver t_blk0(rig.bus(0), 1);
  driver::TransportDriver t_blk1(rig.bus(1), 0);
  driver::TransportDriver t_bal(rig.bus(1), 2);
  driver::RngDriver rng(t_rng, rig.ram);
  driver::BlkDriver blk0(t_blk0, rig.ram);
  driver::BlkDriver blk1(t_blk1, rig.ram);
  ASSERT_TRUE(rng.init().ok());
  ASSERT_TRUE(blk0.init().ok());
  ASSERT_TRUE(blk1.init().ok());
  ASSERT_TRUE(t_bal.init(driver::vfeature::bit(driver::vfeature::kVersion1)).ok());
  ASSERT_TRUE(t_bal.setup_queue(0, 16, rig.ram).ok());
  ASSERT_TRUE(t_bal.setup_queue(1, 16, rig.ram).ok());
  ASSERT_TRUE(t_bal.driver_ok().ok());

  // Ring level: rng buffers used at once, their EVENT_USED left in FIFO 0
  // while the blk driver on the same FIFO does its I/O.
  std::vector<std::uint64_t> bufs;
  for (int i = 0; i < 4; ++i) {
    bufs.push_back(rig.ram.alloc(4096));
    const BufferSegment s{bufs.back(), 4096};
    ASSERT_TRUE(t_rng.queue(0)->add({}, std::span<const BufferSegment>(&s, 1)).ok());
  }
  ASSERT_TRUE(t_rng.kick(0).ok());

  std::vector<std::uint8_t> expect0;
  std::vector<std::uint8_t> expect1;
  for (unsigned r = 0; r < kRounds; ++r) {
    const auto d0 = pattern(kChunk, 100 + r);
    const auto d1 = pattern(kChunk, 200 + r);
    auto w0 = blk0.write(r * (kChunk / 512), d0);
    ASSERT_TRUE(w0.ok()) << describe(w0.error());
    // The host side of FIFO 1 changes the balloon target meanwhile.
    backend<devices::BalloonBackend>(bal_dev).set_target(r + 1);
    auto w1 = blk1.write(r * (kChunk / 512), d1);
    ASSERT_TRUE(w1.ok()) << describe(w1.error());
    expect0.insert(expect0.end(), d0.begin(), d0.end());
    expect1.insert(expect1.end(), d1.begin(), d1.end());
  }
  // The rng completions were filed for the rng driver, not consumed by blk's:
  // the blk driver's traffic drained them from FIFO 0, and they wait, unapplied.
  EXPECT_TRUE(rig.bus(0).has_events(0));
  EXPECT_EQ(t_rng.stats().used_events, 0u);
  EXPECT_EQ(t_blk0.stats().stray_used_events, 0u);
  auto used = t_rng.take_used(0);
  ASSERT_TRUE(used.ok());
  ASSERT_EQ(used->size(), 4u);
  std::vector<std::uint8_t> rng_bytes;
  std::vector<std::uint8_t> page(4096);
  for (const auto& u : *used) {
    ASSERT_EQ(u.len, 4096u);
    rig.machine.mem_read(bufs.at(u.id), page);  // heads 0..3 were given out in order
    rng_bytes.insert(rng_bytes.end(), page.begin(), page.end());
  }
  auto tail = rng.read(8192);
  ASSERT_TRUE(tail.ok()) << describe(tail.error());
  rng_bytes.insert(rng_bytes.end(), tail->begin(), tail->end());
  std::vector<std::uint8_t> stream(rng_bytes.size());
  devices::ByteStream(kSeed).fill(stream);
  EXPECT_TRUE(rng_bytes == stream);

  // The balloon's eight changes were all filed for its driver, in order.
  EXPECT_TRUE(rig.bus(1).has_events(2));
  EXPECT_EQ(t_bal.stats().config_events, 0u);
  ASSERT_TRUE(t_bal.poll().ok());
  EXPECT_EQ(t_bal.stats().config_events, kRounds);
  EXPECT_EQ(t_bal.generation(), bal_dev->generation());
  std::vector<std::uint8_t> eight(4);
  le::store32(eight, 0, kRounds);
  EXPECT_EQ(t_bal.cached_config(0, 4), eight);  // the last event's data won

  // Each disk holds its own data only.
  std::vector<std::uint8_t> back0(expect0.size());
  std::vector<std::uint8_t> back1(expect1.size());
  ASSERT_TRUE(blk0.read(0, back0).ok());
  ASSERT_TRUE(blk1.read(0, back1).ok());
  EXPECT_TRUE(back0 == expect0);
  EXPECT_TRUE(back1 == expect1);
  EXPECT_EQ(blk0.get_id().ok() ? *blk0.get_id() : "", "fifo0");
  EXPECT_EQ(blk1.get_id().ok() ? *blk1.get_id() : "", "fifo1");

  for (unsigned f = 0; f < 2; ++f) {
    EXPECT_EQ(rig.bus(f).stats().stray_frames, 0u) << f;
    EXPECT_EQ(rig.bus(f).stats().malformed, 0u) << f;
  }
  for (const auto* d : {&rng_dev, &blk0_dev, &blk1_dev, &bal_dev}) {
    EXPECT_EQ((*d)->stats().queue_errors, 0u);
    EXPECT_EQ((*d)->stats().event_avail_ignored, 0u);
  }
  // Every EVENT_USED the devices sent reached the right driver.
  EXPECT_EQ(t_rng.stats().used_events, rng_dev->stats().event_used_sent);
  EXPECT_EQ(t_blk0.stats().used_events, blk0_dev->stats().event_used_sent);
  EXPECT_EQ(t_blk1.stats().used_events, blk1_dev->stats().event_used_sent);
}

}  // namespace
}  // namespace vmsg::e2e

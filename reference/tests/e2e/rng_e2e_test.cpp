// virtio-rng end to end: driver -> FIFO -> bus -> DeviceTransport -> RngBackend
// -> guest RAM -> driver, checked against the device's deterministic stream.
#include <gtest/gtest.h>

#include <vector>

#include "e2e/e2e_rig.hpp"
#include "vmsg/driver/rng_driver.hpp"

namespace vmsg::e2e {
namespace {

using driver::describe;
using driver::vfeature::bit;

constexpr std::uint64_t kSeed = 0x5EED'0001;

std::vector<std::uint8_t> stream(std::size_t n, std::uint64_t seed = kSeed) {
  std::vector<std::uint8_t> v(n);
  devices::ByteStream(seed).fill(v);
  return v;
}

TEST(RngE2e, OneMebibyteArrivesExactlyAsTheDeviceGeneratedIt) {
  auto dev = make_device<devices::RngBackend>(kSeed);
  Rig rig({{0, 0, dev}});
  driver::TransportDriver t(rig.bus(), 0);
  driver::RngDriver rng(t, rig.ram);
  auto init = rng.init();
  ASSERT_TRUE(init.ok()) << describe(init.error());
  EXPECT_EQ(t.features(), bit(driver::vfeature::kVersion1) | bit(driver::vfeature::kEventIdx));
  auto bytes = rng.read(1U << 20);
  ASSERT_TRUE(bytes.ok()) << describe(bytes.error());
  ASSERT_EQ(bytes->size(), 1U << 20);
  EXPECT_TRUE(*bytes == stream(1U << 20)) << "bytes differ from the device stream";
  EXPECT_EQ(backend<devices::RngBackend>(dev).bytes_generated(), 1U << 20);  // nothing asked beyond n
  EXPECT_EQ(rng.stats().buffers_used, 256u);
  EXPECT_EQ(rng.stats().short_buffers, 0u);
  // Interrupt-driven: every EVENT_USED the device sent was received and examined,
  // and every EVENT_AVAIL the driver sent was seen by the device.
  EXPECT_GT(t.stats().used_events, 0u);
  EXPECT_EQ(t.stats().used_events, dev->stats().event_used_sent);
  EXPECT_EQ(t.stats().kicks, dev->stats().event_avail);
  EXPECT_EQ(dev->stats().event_avail_ignored, 0u);
  EXPECT_EQ(dev->stats().queue_errors, 0u);
  EXPECT_EQ(rig.bus().stats().malformed, 0u);
  EXPECT_EQ(rig.bus().stats().stray_frames, 0u);
  EXPECT_FALSE(t.needs_reset());
}

TEST(RngE2e, PollingWithoutInterruptsGetsNoEventUsed) {
  for (const bool event_idx : {false, true}) {
    SCOPED_TRACE(event_idx ? "EVENT_IDX used_event" : "VRING_AVAIL_F_NO_INTERRUPT");
    auto dev = make_device<devices::RngBackend>(kSeed);
    Rig rig({{0, 0, dev}});
    driver::TransportDriver t(rig.bus(), 0);
    driver::RngDriver rng(t, rig.ram, driver::RngDriverOptions{.event_idx = event_idx, .no_interrupt = true});
    ASSERT_TRUE(rng.init().ok());
    EXPECT_EQ(t.has_feature(driver::vfeature::kEventIdx), event_idx);
    auto bytes = rng.read(64 * 1024);
    ASSERT_TRUE(bytes.ok()) << describe(bytes.error());
    EXPECT_TRUE(*bytes == stream(64 * 1024));
    EXPECT_EQ(dev->stats().event_used_sent, 0u);
    EXPECT_EQ(t.stats().used_events, 0u);
  }
}

TEST(RngE2e, ReadsOfOddSizesContinueTheStream) {
  auto dev = make_device<devices::RngBackend>(kSeed);
  Rig rig({{0, 0, dev}});
  driver::TransportDriver t(rig.bus(), 0);
  driver::RngDriver rng(t, rig.ram, driver::RngDriverOptions{.buffer_size = 1000, .buffers = 3});
  ASSERT_TRUE(rng.init().ok());
  std::vector<std::uint8_t> all;
  for (const std::size_t n : {1U, 999U, 1000U, 1001U, 7777U}) {
    auto b = rng.read(n);
    ASSERT_TRUE(b.ok()) << describe(b.error());
    ASSERT_EQ(b->size(), n);
    all.insert(all.end(), b->begin(), b->end());
  }
  EXPECT_TRUE(all == stream(all.size()));
}

TEST(RngE2e, ANonEntropyDeviceIsRefused) {
  auto dev = make_device<devices::BlkBackend>();
  Rig rig({{0, 0, dev}});
  driver::TransportDriver t(rig.bus(), 0);
  driver::RngDriver rng(t, rig.ram);
  auto init = rng.init();
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.error().code, driver::VirtioErrc::BadResponse);
  EXPECT_EQ(dev->status(), 0u);  // nothing was negotiated
}

}  // namespace
}  // namespace vmsg::e2e

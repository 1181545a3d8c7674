// Configuration changes end to end (virtio-msg.md §10) with virtio-balloon:
// a host-side target change reaches the driver as EVENT_CONFIG with a new
// generation, GET_CONFIG agrees with it, and driver writes carry the latest
// generation, recovering from a stale one by re-reading first.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "e2e/e2e_rig.hpp"
#include "vmsg/common/le.hpp"

namespace vmsg::e2e {
namespace {

using driver::describe;
using driver::VirtioErrc;

std::vector<std::uint8_t> le32(std::uint32_t v) {
  std::vector<std::uint8_t> b(4);
  le::store32(b, 0, v);
  return b;
}

struct BalloonRig {
  BalloonRig() : dev(make_device<devices::BalloonBackend>(0)), rig({{0, 2, dev}}), t(rig.bus(), 2) {}
  devices::BalloonBackend& balloon() { return backend<devices::BalloonBackend>(dev); }
  void start() {
    ASSERT_TRUE(t.init(driver::vfeature::bit(driver::vfeature::kVersion1)).ok());
    ASSERT_TRUE(t.setup_queue(0, 16, rig.ram).ok());
    ASSERT_TRUE(t.setup_queue(1, 16, rig.ram).ok());
    ASSERT_TRUE(t.driver_ok().ok());
  }
  std::shared_ptr<transport::DeviceTransport> dev;
  Rig rig;
  driver::TransportDriver t;
};

TEST(ConfigE2e, AHostChangeArrivesAsEventConfigAndGetConfigAgrees) {
  BalloonRig r;
  r.start();
  auto c0 = r.t.read_config(0, 8);
  ASSERT_TRUE(c0.ok()) << describe(c0.error());
  EXPECT_EQ(*c0, std::vector<std::uint8_t>(8, 0));
  const std::uint32_t g0 = r.t.generation();
  EXPECT_EQ(g0, r.dev->generation());

  const auto msis = r.rig.machine.stats().msis;
  r.balloon().set_target(1234);
  EXPECT_EQ(r.rig.machine.stats().msis, msis + 1);  // the event is in the device queue, interrupt raised
  EXPECT_EQ(r.t.generation(), g0);                  // not seen before the driver looks
  ASSERT_TRUE(r.t.poll().ok());
  EXPECT_EQ(r.t.stats().config_events, 1u);
  EXPECT_NE(r.t.generation(), g0);
  EXPECT_EQ(r.t.generation(), r.dev->generation());
  EXPECT_EQ(r.t.cached_config(0, 4), le32(1234));  // the event carried the bytes (VMSG-DRV-063)
  EXPECT_EQ(r.t.cached_config(4, 4), le32(0));     // the rest of the cache is still valid
  // A fresh GET_CONFIG shows the same bytes under the same generation.
  auto c1 = r.t.read_config(0, 8);
  ASSERT_TRUE(c1.ok());
  EXPECT_EQ(le::load32(*c1, 0), 1234u);
  EXPECT_EQ(r.t.generation(), r.dev->generation());
  EXPECT_EQ(r.rig.bus().stats().stray_frames, 0u);
  EXPECT_FALSE(r.t.needs_reset());
}

TEST(ConfigE2e, WritesCarryTheLatestGenerationAndRecoverFromAStaleOne) {
  BalloonRig r;
  r.start();
  ASSERT_TRUE(r.t.read_config(0, 8).ok());
  auto w = r.t.write_config(devices::balloon::kCfgActual, le32(100));
  ASSERT_TRUE(w.ok()) << describe(w.error());
  EXPECT_EQ(r.balloon().actual(), 100u);
  EXPECT_EQ(r.t.generation(), r.dev->generation());  // the response carried the post-write count
  EXPECT_EQ(r.dev->stats().config_rejected, 0u);

  // The host moves the target; the driver writes before it has polled.
  r.balloon().set_target(500);
  w = r.t.write_config(devices::balloon::kCfgActual, le32(500));
  ASSERT_TRUE(w.ok()) << describe(w.error());
  EXPECT_EQ(r.balloon().actual(), 500u);
  EXPECT_EQ(r.t.stats().config_write_rejects, 1u);  // the stale write, then GET_CONFIG, then success
  EXPECT_EQ(r.dev->stats().config_rejected, 1u);
  EXPECT_EQ(r.t.stats().config_events, 1u);
  EXPECT_EQ(r.t.cached_config(0, 4), le32(500));
}

TEST(ConfigE2e, AWriteTheDeviceRefusesIsConfigRejectedWithoutRetries) {
  BalloonRig r;
  r.start();
  const auto rejected = r.dev->stats().config_rejected;
  auto w = r.t.write_config(devices::balloon::kCfgNumPages, le32(7));  // num_pages is the device's
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, VirtioErrc::ConfigRejected);
  EXPECT_EQ(r.dev->stats().config_rejected, rejected + 1);
  EXPECT_EQ(r.balloon().target(), 0u);
  EXPECT_EQ(errc(r.t.read_config(6, 4)), VirtioErrc::OutOfRange);  // config_size is 8
}

TEST(ConfigE2e, ResetKeepsTheGenerationCount) {
  BalloonRig r;
  r.start();
  r.balloon().set_target(1);
  r.balloon().set_target(2);
  ASSERT_TRUE(r.t.poll().ok());
  const std::uint32_t g = r.t.generation();
  ASSERT_TRUE(r.t.reset().ok());
  auto c = r.t.read_config(0, 4);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(r.t.generation(), g);
  EXPECT_EQ(*c, le32(2));
}

}  // namespace
}  // namespace vmsg::e2e

// Device-side config faults end to end: a virtio-balloon target change seen
// by the driver through the whole machine, with the fault off and on.
#include <gtest/gtest.h>

#include <memory>

#include "e2e/e2e_rig.hpp"
#include "vmsg/common/faults.hpp"

namespace vmsg::e2e {
namespace {

using fault::Fault;

struct BalloonRig {
  explicit BalloonRig(fault::FaultSet faults)
      : dev(std::make_shared<transport::DeviceTransport>(std::make_unique<devices::BalloonBackend>(0),
                                                         transport::TransportOptions{.faults = faults})),
        rig({{0, 2, dev}}),
        t(rig.bus(), 2) {
    EXPECT_TRUE(t.init(driver::vfeature::bit(driver::vfeature::kVersion1)).ok());
    EXPECT_TRUE(t.setup_queue(0, 16, rig.ram).ok());
    EXPECT_TRUE(t.setup_queue(1, 16, rig.ram).ok());
    EXPECT_TRUE(t.driver_ok().ok());
  }
  devices::BalloonBackend& balloon() { return backend<devices::BalloonBackend>(dev); }
  std::shared_ptr<transport::DeviceTransport> dev;
  Rig rig;
  driver::TransportDriver t;
};

TEST(FaultsE2e, BalloonTargetChangeConforming) {
  BalloonRig r({});
  const std::uint32_t g0 = r.dev->generation();
  r.balloon().set_target(99);
  ASSERT_TRUE(r.t.poll().ok());
  EXPECT_EQ(r.t.stats().config_events, 1u);
  EXPECT_NE(r.dev->generation(), g0);
  EXPECT_EQ(r.t.generation(), r.dev->generation());
}

TEST(FaultsE2e, NoConfigEventLeavesTheDriverUninformed) {
  BalloonRig r(fault::FaultSet{}.set(Fault::NoConfigEvent));
  const std::uint32_t g0 = r.t.generation();
  const auto msis = r.rig.machine.stats().msis;
  r.balloon().set_target(99);
  EXPECT_EQ(r.rig.machine.stats().msis, msis);
  ASSERT_TRUE(r.t.poll().ok());
  EXPECT_EQ(r.t.stats().config_events, 0u);
  EXPECT_EQ(r.t.generation(), g0);
  EXPECT_NE(r.dev->generation(), g0);  // the device moved on silently
}

TEST(FaultsE2e, GenerationNotBumpedAnnouncesTheOldGeneration) {
  BalloonRig r(fault::FaultSet{}.set(Fault::GenerationNotBumped));
  const std::uint32_t g0 = r.dev->generation();
  r.balloon().set_target(99);
  ASSERT_TRUE(r.t.poll().ok());
  EXPECT_EQ(r.t.stats().config_events, 1u);
  EXPECT_EQ(r.dev->generation(), g0);
  EXPECT_EQ(r.t.generation(), g0);
}

}  // namespace
}  // namespace vmsg::e2e

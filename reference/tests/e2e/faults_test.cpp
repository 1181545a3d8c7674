// Faults end to end: a virtio-balloon target change seen by the driver
// through the whole machine, with config faults off and on; and the whole
// qemu-v2 fault set at once, met by the strict and the tolerant driver.
#include <gtest/gtest.h>

#include <memory>
#include <variant>

#include "e2e/e2e_rig.hpp"
#include "vmsg/common/faults.hpp"
#include "vmsg/driver/rng_driver.hpp"

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

// ---- max-message-48: long feature windows are clipped, not lost ------------------

TEST(FaultsE2e, MaxMessage48AnswersTwelveFeatureBlocksWithEight) {
  for (const bool on : {false, true}) {
    const fault::FaultSet f = on ? fault::FaultSet{}.set(Fault::MaxMessage48) : fault::FaultSet{};
    auto dev = make_faulty_device<devices::RngBackend>(f);
    Rig rig({{0, 1, dev}}, 1, 32ULL << 20, f);
    auto r = rig.bus().request(wire::Message{.dev_num = 1, .token = 7, .reserved_type_bits = 0,
                                             .body = wire::GetDeviceFeaturesReq{.block_index = 0, .num_blocks = 12}});
    ASSERT_TRUE(r.ok()) << "fault " << on;  // answered either way (QEMU D20)
    ASSERT_TRUE(std::holds_alternative<wire::GetDeviceFeaturesResp>(r->body));
    EXPECT_EQ(std::get<wire::GetDeviceFeaturesResp>(r->body).features.size(), on ? 8u : 12u);
  }
}

// ---- qemu-v2: every fault of the set on at once ------------------------------

fault::FaultSet qemu_v2() { return fault::FaultSet::parse_list("qemu-v2"); }

/// An rng at dev 1 of FIFO 0, with qemu-v2 in the amp device, its bus and the transport.
struct QemuV2Rig {
  QemuV2Rig()
      : dev(make_faulty_device<devices::RngBackend>(qemu_v2())), rig({{0, 1, dev}}, 1, 32ULL << 20, qemu_v2()) {}
  std::shared_ptr<transport::DeviceTransport> dev;
  Rig rig;
};

TEST(FaultsE2e, QemuV2AllOnStillAnswersPingAndDeviceInfo) {
  QemuV2Rig r;
  EXPECT_EQ(r.rig.target.spec().amp.faults, qemu_v2());
  auto ping = r.rig.bus().request(wire::Message{.dev_num = 0, .token = 0x11, .reserved_type_bits = 0,
                                                .body = wire::PingReq{0xDEADBEEF}});
  ASSERT_TRUE(ping.ok());
  ASSERT_TRUE(std::holds_alternative<wire::PingResp>(ping->body));
  EXPECT_EQ(std::get<wire::PingResp>(ping->body).data, 0xDEADBEEFu);
  auto info = r.rig.bus().request(wire::Message{.dev_num = 1, .token = 0x12, .reserved_type_bits = 0,
                                                .body = wire::GetDeviceInfoReq{}});
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(std::holds_alternative<wire::GetDeviceInfoResp>(info->body));
  EXPECT_EQ(std::get<wire::GetDeviceInfoResp>(info->body).device_id, devices::RngBackend::kDeviceId);
}

TEST(FaultsE2e, QemuV2StopsTheStrictDriverAtQueueSetup) {
  QemuV2Rig r;
  driver::TransportDriver t(r.rig.bus(), 1);
  driver::RngDriver rng(t, r.rig.ram);
  EXPECT_EQ(errc(rng.init()), driver::VirtioErrc::QueueInUse);  // cur_size 256 before SET_VQUEUE
  EXPECT_TRUE(t.deviations().empty());
}

TEST(FaultsE2e, QemuV2TolerantDriverReadsEntropyAndNotesTheDeviation) {
  QemuV2Rig r;
  driver::TransportDriver t(r.rig.bus(), 1, driver::TransportDriverOptions{.tolerate_deviations = true});
  driver::RngDriver rng(t, r.rig.ram);
  auto init = rng.init();
  ASSERT_TRUE(init.ok()) << driver::describe(init.error());
  auto bytes = rng.read(64 * 1024);
  ASSERT_TRUE(bytes.ok()) << driver::describe(bytes.error());
  std::vector<std::uint8_t> want(64 * 1024);
  devices::ByteStream(devices::RngBackend::kDefaultSeed).fill(want);
  EXPECT_TRUE(*bytes == want);
  ASSERT_EQ(t.deviations().size(), 1u);
  EXPECT_EQ(t.deviations()[0].requirement, "VMSG-DEV-055");
  EXPECT_EQ(r.dev->stats().queue_errors, 0u);
}

}  // namespace
}  // namespace vmsg::e2e

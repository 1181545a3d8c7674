// Faults end to end: a virtio-balloon target change seen by the driver
// through the whole machine, with config faults off and on; and the whole
// qemu-v2 fault set at once, met by the strict and the tolerant driver.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "e2e/e2e_rig.hpp"
#include "vmsg/common/errors.hpp"
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

// ---- asan-reset-vqueue-overflow: the device dies, the host program does not ------

wire::Message reset_vqueue(std::uint32_t index) {
  return wire::Message{.dev_num = 1, .token = 9, .reserved_type_bits = 0, .body = wire::ResetVqueueReq{index}};
}

TEST(FaultsE2e, AsanResetVqueueOverflowOffAnswersIndex1024) {
  auto dev = make_faulty_device<devices::RngBackend>({});
  Rig rig({{0, 1, dev}});
  EXPECT_TRUE(rig.bus().request(reset_vqueue(1024)).ok());
  EXPECT_TRUE(rig.machine.crash_report().empty());
}

TEST(FaultsE2e, AsanResetVqueueOverflowFailsThePortAccessAndEveryLaterOne) {
  auto dev = make_faulty_device<devices::RngBackend>(fault::FaultSet{}.set(Fault::AsanResetVqueueOverflow));
  Rig rig({{0, 1, dev}});
  ASSERT_TRUE(rig.bus().request(reset_vqueue(1023)).ok());
  try {
    (void)rig.bus().request(reset_vqueue(1024));
    FAIL() << "no PortError";
  } catch (const PortError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("device 0:4.0 crashed: ", 0), 0u) << what;
    EXPECT_NE(what.find("SUMMARY: AddressSanitizer: heap-buffer-overflow"), std::string::npos) << what;
  }
  EXPECT_NE(rig.machine.crash_report().find("ERROR: AddressSanitizer"), std::string::npos);
  // dead: whatever reaches the device refuses (config space, BARs, a bulk
  // transfer into BAR1, time); RAM is the host's and still answers, as
  // through LibPort
  std::array<std::uint8_t, 4> buf{};
  EXPECT_THROW((void)rig.machine.config_read({0, 4, 0}, 0, 4), PortError);
  EXPECT_THROW((void)rig.machine.mmio_read(rig.drv->bar0(), 4), PortError);
  EXPECT_THROW(rig.machine.mem_read(rig.drv->bar1(), buf), PortError);
  EXPECT_THROW(rig.machine.advance_time(1), PortError);
  rig.machine.mem_read(machine::Machine::kDriverRamBase, buf);
  EXPECT_EQ(rig.machine.config_read({0, 5, 0}, 0, 4), 0xFFFF'FFFFu);  // no device there: master abort as before
  // a reset brings the machine back, as a new process would
  rig.target.reset();
  EXPECT_TRUE(rig.machine.crash_report().empty());
  EXPECT_EQ(rig.machine.config_read({0, 4, 0}, 0, 4), 0x903910EEu);
}

}  // namespace
}  // namespace vmsg::e2e

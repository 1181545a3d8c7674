// The validating reference end to end: every device behind a
// ValidatingEndpoint, the buses and registers reporting to the same
// DriverRuleLog. The reference drivers (transport, rng, blk, config, queue
// reset, device reset, enumeration) must break no driver rule; hand-made
// frames and register writes that break a bus or register rule are caught.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "e2e/e2e_rig.hpp"
#include "vmsg/amp/registers.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/driver/blk_driver.hpp"
#include "vmsg/driver/device_enumeration.hpp"
#include "vmsg/driver/rng_driver.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/transport/driver_rules.hpp"
#include "vmsg/transport/validating_endpoint.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::e2e {
namespace {

using driver::describe;
using transport::DriverRuleLog;
using transport::RuleViolation;

/// The default `ref` topology (FIFO0: rng at 1, blk at 2; FIFO1: balloon at
/// 1), every device validated, bus and register rules into the same log.
struct ValidatedRig {
  ValidatedRig()
      : rng(make_device<devices::RngBackend>()),
        blk(make_device<devices::BlkBackend>(blk_options(2048))),
        balloon(make_device<devices::BalloonBackend>(0)),
        target(spec()),
        machine(target.machine()),
        ram(machine.address_map()),
        window(machine.address_map()),
        drv(driver::AmpDriver::open(machine, ram, window)),
        bus0(drv.fifo(0)),
        bus1(drv.fifo(1)) {}

  target::ReferenceSpec spec() {
    target::ReferenceSpec s;
    s.amp.num_fifos = 2;
    s.amp.bus.rule_sink = log.get();
    s.ram_size = 32ULL << 20;
    const auto wrap = [this](std::shared_ptr<transport::DeviceTransport> d) {
      return std::make_shared<transport::ValidatingEndpoint>(std::move(d), log);
    };
    s.devices.push_back({0, 1, wrap(rng)});
    s.devices.push_back({0, 2, wrap(blk)});
    s.devices.push_back({1, 1, wrap(balloon)});
    return s;
  }

  std::string dump() const {
    std::string s;
    for (const RuleViolation& v : log->violations()) s += transport::to_string(v) + "\n";
    return s;
  }
  void expect_clean() const { EXPECT_TRUE(log->empty()) << dump(); }
  void expect_only(const std::string& rule) const {
    ASSERT_EQ(log->size(), 1u) << dump();
    EXPECT_EQ(log->violations()[0].rule, rule) << dump();
  }

  /// Puts a raw 64-byte slot in FIFO0's driver queue and rings.
  void send_slot(const std::array<std::uint8_t, fifo::kSlotSize>& slot) {
    ASSERT_EQ(drv.fifo(0).post(slot), fifo::PushResult::Ok);
    drv.fifo(0).ring();
    (void)bus0.pump();
  }
  /// An encoded message in a zero-padded slot.
  static std::array<std::uint8_t, fifo::kSlotSize> slot_of(const wire::Message& m) {
    std::array<std::uint8_t, fifo::kSlotSize> slot{};
    auto n = wire::encode(m, wire::Profile::pr28(), slot);
    EXPECT_TRUE(n.ok());
    return slot;
  }

  std::shared_ptr<DriverRuleLog> log = std::make_shared<DriverRuleLog>();
  std::shared_ptr<transport::DeviceTransport> rng;
  std::shared_ptr<transport::DeviceTransport> blk;
  std::shared_ptr<transport::DeviceTransport> balloon;
  target::ReferenceTarget target;
  machine::Machine& machine;
  driver::GuestAllocator ram;
  driver::BarWindowAllocator window;
  driver::AmpDriver drv;
  driver::BusDriver bus0;
  driver::BusDriver bus1;
};

std::vector<std::uint8_t> le32(std::uint32_t v) {
  std::vector<std::uint8_t> b(4);
  le::store32(b, 0, v);
  return b;
}

// ---- the reference drivers run clean -------------------------------------------

TEST(DriverRulesClean, EnumerationAndPingBreakNoRule) {
  ValidatedRig r;
  auto d = r.bus0.request(wire::Message{.body = wire::GetDevicesReq{0, 32}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<wire::GetDevicesResp>(d->body).bitmap[0], 0x06);
  ASSERT_TRUE(r.bus1.request(wire::Message{.body = wire::PingReq{42}}).ok());
  r.expect_clean();
}

TEST(DriverRulesClean, EnumerateDevicesFindsThePluggedDevicesAndBreaksNoRule) {
  ValidatedRig r;
  auto fifo0 = driver::enumerate_devices(r.bus0);
  ASSERT_TRUE(fifo0.ok()) << describe(fifo0.error());
  EXPECT_EQ(fifo0->devices, (std::vector<std::uint16_t>{1, 2}));
  auto fifo1 = driver::enumerate_devices(r.bus1);
  ASSERT_TRUE(fifo1.ok()) << describe(fifo1.error());
  EXPECT_EQ(fifo1->devices, (std::vector<std::uint16_t>{1}));
  r.expect_clean();
}

TEST(DriverRulesClean, RngDriverBreaksNoRule) {
  ValidatedRig r;
  driver::TransportDriver t(r.bus0, 1);
  driver::RngDriver rng(t, r.ram);
  auto init = rng.init();
  ASSERT_TRUE(init.ok()) << describe(init.error());
  auto bytes = rng.read(20000);
  ASSERT_TRUE(bytes.ok()) << describe(bytes.error());
  EXPECT_EQ(bytes->size(), 20000u);
  r.expect_clean();
}

TEST(DriverRulesClean, BlkDriverReadsWritesFlushAndIdBreakNoRule) {
  ValidatedRig r;
  driver::TransportDriver t(r.bus0, 2);
  driver::BlkDriver blk(t, r.ram);
  auto init = blk.init();
  ASSERT_TRUE(init.ok()) << describe(init.error());
  const auto data = pattern(256 * 1024, 7);
  ASSERT_TRUE(blk.write(100, data).ok());
  ASSERT_TRUE(blk.flush().ok());
  std::vector<std::uint8_t> back(data.size());
  auto rd = blk.read(100, back);
  ASSERT_TRUE(rd.ok()) << describe(rd.error());
  EXPECT_EQ(back, data);
  ASSERT_TRUE(blk.get_id().ok());
  r.expect_clean();
}

TEST(DriverRulesClean, ConfigReadsWritesAndHostChangesBreakNoRule) {
  ValidatedRig r;
  driver::TransportDriver t(r.bus1, 1);
  // MUST_TELL_HOST too: a driver should accept it when offered (VIRTIO-BALLOON-001).
  ASSERT_TRUE(t.init(driver::vfeature::bit(driver::vfeature::kVersion1) |
                     driver::vfeature::bit(devices::balloon::kFeatMustTellHost))
                  .ok());
  ASSERT_TRUE(t.setup_queue(0, 16, r.ram).ok());
  ASSERT_TRUE(t.setup_queue(1, 16, r.ram).ok());
  ASSERT_TRUE(t.driver_ok().ok());
  ASSERT_TRUE(t.read_config(0, 8).ok());
  ASSERT_TRUE(t.write_config(4, le32(10)).ok());  // `actual` is driver-writable
  // A host change the driver has not polled yet: its write goes out with the
  // generation it knows, is refused, and it re-reads before retrying.
  auto& balloon = backend<devices::BalloonBackend>(r.balloon);
  balloon.set_target(321);
  auto w = t.write_config(4, le32(20));
  ASSERT_TRUE(w.ok()) << describe(w.error());
  ASSERT_TRUE(t.poll().ok());
  ASSERT_TRUE(t.refresh_config().ok());
  auto c = t.read_config32(0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, 321u);
  ASSERT_TRUE(t.write_config(4, le32(30)).ok());
  EXPECT_EQ(t.stats().config_write_rejects, 1u);  // the stale write really happened
  r.expect_clean();
}

TEST(DriverRulesClean, QueueResetAndDeviceResetBreakNoRule) {
  ValidatedRig r;
  driver::TransportDriver t(r.bus0, 1);
  using driver::vfeature::bit;
  auto f = t.init(bit(driver::vfeature::kVersion1) | bit(driver::vfeature::kRingReset));
  ASSERT_TRUE(f.ok()) << describe(f.error());
  ASSERT_TRUE(t.has_feature(driver::vfeature::kRingReset));
  ASSERT_TRUE(t.setup_queue(0, 16, r.ram).ok());
  ASSERT_TRUE(t.driver_ok().ok());
  ASSERT_TRUE(t.reset_queue(0).ok());
  ASSERT_TRUE(t.setup_queue(0, 32, r.ram).ok());
  ASSERT_TRUE(t.reset().ok());
  // A whole second life through the rng driver.
  driver::RngDriver rng(t, r.ram);
  ASSERT_TRUE(rng.init().ok());
  ASSERT_TRUE(rng.read(64).ok());
  r.expect_clean();
}

TEST(DriverRulesClean, TheValidatorSeesTheDriversTraffic) {
  // Control for the tests above: in this rig a driver mistake does land in
  // the log (EVENT_AVAIL to the uninitialised rng: no DRIVER_OK, reported
  // or written, and no queue).
  ValidatedRig r;
  ASSERT_TRUE(r.bus0.send_event(wire::Message{.dev_num = 1, .body = wire::EventAvail{0, 0}}).ok());
  (void)r.bus0.pump();
  EXPECT_EQ(r.log->rules(), (std::vector<std::string>{"VIRTIO-CORE-033", "VMSG-DRV-037", "VMSG-DRV-038"}))
      << r.dump();
}

// ---- bus rules: frames no endpoint ever sees ------------------------------------

TEST(DriverRulesBus, ReservedTypeBitsBreakDrv009) {
  ValidatedRig r;
  auto slot = ValidatedRig::slot_of(wire::Message{.body = wire::PingReq{1}});
  slot[0] |= 0x10;
  r.send_slot(slot);
  r.expect_only("VMSG-DRV-009");
}

TEST(DriverRulesBus, MsgSizeNotMatchingTheContentBreaksDrv011) {
  ValidatedRig r;
  auto slot = ValidatedRig::slot_of(wire::Message{.body = wire::PingReq{1}});
  le::store16(slot, 6, 16);  // PING is 12 bytes
  r.send_slot(slot);
  r.expect_only("VMSG-DRV-011");
}

TEST(DriverRulesBus, MsgSizeAboveTheBusMaximumBreaksDrv012) {
  ValidatedRig r;
  auto slot = ValidatedRig::slot_of(wire::Message{.body = wire::PingReq{1}});
  le::store16(slot, 6, 65);
  r.send_slot(slot);
  r.expect_only("VMSG-DRV-012");
}

TEST(DriverRulesBus, TransportMessageForAnEmptyNumberBreaksDrv013) {
  ValidatedRig r;
  r.send_slot(ValidatedRig::slot_of(wire::Message{.dev_num = 9, .body = wire::GetDeviceInfoReq{}}));
  r.expect_only("VMSG-DRV-013");
  EXPECT_EQ(r.log->violations()[0].dev_num, 9);
}

TEST(DriverRulesBus, UnalignedGetDevicesBreaksBus042) {
  ValidatedRig r;
  auto slot = ValidatedRig::slot_of(wire::Message{.body = wire::GetDevicesReq{0, 32}});
  le::store16(slot, 8, 4);  // offset 4
  r.send_slot(slot);
  r.expect_only("VMSG-BUS-042");
}

TEST(DriverRulesBus, NonZeroSlotPaddingBreaksAmp015) {
  ValidatedRig r;
  auto slot = ValidatedRig::slot_of(wire::Message{.body = wire::PingReq{1}});
  slot[40] = 0xAA;
  r.send_slot(slot);
  r.expect_only("AMP-015");
}

// ---- register rules ---------------------------------------------------------------

TEST(DriverRulesRegisters, NotifyValueOtherThanOneBreaksAmp005) {
  ValidatedRig r;
  r.machine.mmio_write(r.drv.bar0() + amp::reg::notify(0), 4, 2);
  r.expect_only("AMP-005");
  r.log->clear();
  r.machine.mmio_write(r.drv.bar0() + amp::reg::notify(1), 4, 1);
  r.expect_clean();
}

TEST(DriverRulesRegisters, NarrowNotifyWriteBreaksAmp006) {
  ValidatedRig r;
  r.machine.mmio_write(r.drv.bar0() + amp::reg::notify(0), 1, 1);
  r.expect_only("AMP-006");
}

}  // namespace
}  // namespace vmsg::e2e

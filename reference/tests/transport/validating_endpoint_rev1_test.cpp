// ValidatingEndpoint under the REV1-2026 profile: each REV1 driver rule it
// checks is broken by a hand-written sequence (exactly its R1-* IDs appear)
// and kept by the correct one; PR28-only checks stay silent; the REV1 table
// lists every ID the endpoint reports.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "transport/validating_rig.hpp"

namespace vmsg::transport::test {
namespace {

namespace vf = wire::vqueue_flags;
using Ids = std::vector<std::string>;

constexpr ValidationProfile kRev1{wire::Layout::Rev1};

/// SET_VQUEUE of `ring` for queue `q` with REV1 `flags`.
wire::SetVqueueReq with_flags(const TestRing& ring, std::uint32_t q, std::uint32_t flags) {
  wire::SetVqueueReq r = ring.set_vqueue(q);
  r.flags = flags;
  return r;
}

/// A REV1 rig, the right way up: queues are enabled with state op 1.
struct Rev1Rig : Rig {
  Rev1Rig() : Rig(true, kRev1) {}
  explicit Rev1Rig(ValidationProfile p) : Rig(true, p) {}
  void enable_queue(std::uint32_t q, const TestRing& ring) {
    ASSERT_EQ(get_vqueue(q).flags, 0u);
    set_vqueue(with_flags(ring, q, vf::kEnable));
    ASSERT_EQ(get_vqueue(q).flags, vf::kEnabled);
  }
  void bring_up_rev1(const TestRing& ring, std::uint64_t f = kVersion1) {
    negotiate(f);
    enable_queue(0, ring);
    ASSERT_EQ(status(0x0F), 0x0Fu);
  }
  Ids rules() const { return log->rules(); }
};

// ---- a correct REV1 driver ---------------------------------------------------------

TEST(ValidatingEndpointRev1, ACorrectDriverSequenceRecordsNothing) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up_rev1(ring, kVersion1 | kRingReset | kEventIdx);
  ring.add_buffer(0x2000, 16, true);
  (void)r.kick(0);
  ASSERT_EQ(r.get_config(8, 4).data.size(), 4u);
  (void)r.set_config(0, 8, {1, 2, 3, 4});  // baseline: generation 0
  // Keep the state, change nothing: allowed on an enabled queue.
  r.set_vqueue(with_flags(ring, 0, vf::kKeepState | vf::kIgnoreSize | vf::kIgnoreDesc | vf::kIgnoreDriver |
                                      vf::kIgnoreDevice));
  ASSERT_EQ(r.get_vqueue(0).flags, vf::kEnabled);
  (void)r.kick(0);
  // Queue reset, then enabled again.
  (void)r.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  r.enable_queue(0, ring);
  // Device reset and a second initialisation.
  ASSERT_EQ(r.status(0), 0u);
  r.negotiate();
  r.enable_queue(0, ring);
  ASSERT_EQ(r.status(0x0F), 0x0Fu);
  r.expect_clean();
}

// ---- configuration ---------------------------------------------------------------------

TEST(ValidatingEndpointRev1, BaselineSetConfigWithAGenerationBreaksR1Drv009) {
  Rev1Rig r;
  r.info();
  (void)r.set_config(0, 0, {1});
  r.expect_clean();
  (void)r.set_config(5, 0, {1});
  r.expect_only("R1-DRV-009");
}

TEST(ValidatingEndpointRev1, TheStrictProfileAllowsGenerations) {
  Rev1Rig r(ValidationProfile{wire::Layout::Rev1, true});
  r.info();
  (void)r.set_config(5, 0, {1});
  r.expect_clean();
}

TEST(ValidatingEndpointRev1, ConfigAccessOutOfBoundsOrBeforeInfo) {
  Rev1Rig before;
  (void)before.get_config(0, 4);
  before.expect_only("R1-DRV-029");
  Rev1Rig get;
  get.info();
  (void)get.get_config(60, 4);
  get.expect_clean();
  (void)get.get_config(60, 8);
  get.expect_only("R1-DRV-053");
  Rev1Rig set;
  set.info();
  (void)set.set_config(0, 60, {1, 2, 3, 4, 5, 6, 7, 8});
  set.expect_only("R1-DRV-054");
}

// ---- features and status -------------------------------------------------------------

TEST(ValidatingEndpointRev1, AcceptingNotifConfigDataBreaksR1Drv032) {
  Rev1Rig r;
  r.to_driver();
  r.read_features();
  r.write_features(kVersion1);
  r.expect_clean();
  r.write_features(kVersion1 | bit(39));  // not offered either (so VIRTIO-CORE-008 too)
  EXPECT_EQ(r.rules(), (Ids{"R1-DRV-032", "R1-DRV-051", "VIRTIO-CORE-008"})) << r.dump();
}

TEST(ValidatingEndpointRev1, FeatureWritesOutsideTheOffer) {
  Rev1Rig unread;
  unread.to_driver();
  unread.write_features(kVersion1);
  unread.expect_only("R1-DRV-030");
  Rev1Rig offer;
  offer.to_driver();
  offer.read_features();
  offer.write_features(bit(1));
  EXPECT_EQ(offer.rules(), (Ids{"R1-DRV-051", "VIRTIO-CORE-008"})) << offer.dump();  // the core's rule too
}

TEST(ValidatingEndpointRev1, StatusStepsOutOfOrder) {
  Rev1Rig fok;
  fok.to_driver();
  (void)fok.status(0x0B);  // no SET_DRIVER_FEATURES
  fok.expect_only("R1-DRV-033");
  Rev1Rig late;
  late.negotiate();
  late.write_features(kVersion1);  // after FEATURES_OK
  late.expect_only("R1-DRV-033");
  Rev1Rig dok;
  dok.to_driver();
  (void)dok.status(0x07);  // DRIVER_OK without FEATURES_OK
  dok.expect_only("R1-DRV-035");
}

TEST(ValidatingEndpointRev1, Pr28OnlyChecksAreSilent) {
  Rev1Rig r;
  r.to_driver();
  (void)r.status(0x103);  // a bit above 7: VMSG-DRV-034 in PR28, no REV1 rule
  r.expect_clean();
}

TEST(ValidatingEndpointRev1, QueueMessagesBeforeInfoBreakR1Drv025) {
  Rev1Rig r;
  (void)r.get_vqueue(0);
  r.expect_only("R1-DRV-025");
}

// ---- SET_VQUEUE flags ---------------------------------------------------------------

TEST(ValidatingEndpointRev1, ReservedBitsAndWordBreakR1Drv064) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  (void)r.get_vqueue(0);
  r.set_vqueue(with_flags(ring, 0, vf::kEnable | 0x40));
  r.expect_only("R1-DRV-064");
  r.log->clear();
  wire::SetVqueueReq req = with_flags(ring, 0, vf::kEnable);
  req.reserved = 1;
  r.set_vqueue(req);
  r.expect_only("R1-DRV-064");
}

TEST(ValidatingEndpointRev1, StateOpThreeBreaksR1Drv065) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  (void)r.get_vqueue(0);
  r.set_vqueue(with_flags(ring, 0, vf::kReservedOp));
  r.expect_only("R1-DRV-065");
}

TEST(ValidatingEndpointRev1, StateOpZeroOnAnEnabledQueueBreaksR1Drv067) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  (void)r.get_vqueue(0);
  r.set_vqueue(with_flags(ring, 0, vf::kKeepDisabled));  // fields only, queue stays disabled: fine
  r.expect_clean();
  r.enable_queue(0, ring);
  r.set_vqueue(with_flags(ring, 0, vf::kKeepDisabled));
  r.expect_only("R1-DRV-067");
}

TEST(ValidatingEndpointRev1, ASizeAboveMaxSizeBreaksR1Drv063And068UnlessIgnored) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  ASSERT_EQ(r.get_vqueue(0).max_size, 8u);
  wire::SetVqueueReq req = with_flags(ring, 0, vf::kKeepDisabled | vf::kIgnoreSize);
  req.size = 16;
  r.set_vqueue(req);
  r.expect_clean();
  req.flags = vf::kEnable;
  r.set_vqueue(req);
  EXPECT_EQ(r.rules(), (Ids{"R1-DRV-063", "R1-DRV-068"})) << r.dump();
}

TEST(ValidatingEndpointRev1, AMisalignedAppliedAddressBreaksR1Drv069) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  (void)r.get_vqueue(0);
  wire::SetVqueueReq req = with_flags(ring, 0, vf::kKeepDisabled | vf::kIgnoreDesc);
  req.desc_addr += 8;
  r.set_vqueue(req);
  r.expect_clean();
  req.flags = vf::kKeepDisabled;
  r.set_vqueue(req);
  EXPECT_EQ(r.rules(), (Ids{"R1-DRV-069", "VIRTIO-RING-001"})) << r.dump();  // the core rule it restates
}

TEST(ValidatingEndpointRev1, UpdatingAnEnabledQueueBreaksR1Drv070) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up_rev1(ring);
  r.set_vqueue(with_flags(ring, 0, vf::kKeepState));  // the same values: no update
  r.expect_clean();
  wire::SetVqueueReq req = with_flags(ring, 0, vf::kKeepState);
  req.desc_addr += 0x100;
  r.set_vqueue(req);
  r.expect_only("R1-DRV-070");
}

TEST(ValidatingEndpointRev1, WithRingResetAnEnabledQueueIsResetBeforeReprogrammingR1Drv071) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up_rev1(ring, kVersion1 | kRingReset);
  wire::SetVqueueReq req = with_flags(ring, 0, vf::kEnable);
  req.size = 4;
  r.set_vqueue(req);
  EXPECT_EQ(r.rules(), (Ids{"R1-DRV-070", "R1-DRV-071"})) << r.dump();
  r.log->clear();
  (void)r.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  (void)r.get_vqueue(0);
  r.set_vqueue(req);
  r.expect_clean();
}

TEST(ValidatingEndpointRev1, EnablingBeforeFeaturesOkBreaksR1Drv026) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.to_driver();
  (void)r.get_vqueue(0);
  r.set_vqueue(with_flags(ring, 0, vf::kKeepDisabled));  // fields only: allowed
  r.expect_clean();
  r.set_vqueue(with_flags(ring, 0, vf::kEnable));
  r.expect_only("R1-DRV-026");
}

TEST(ValidatingEndpointRev1, SetVqueueWithoutGetVqueueBreaksR1Drv062And066) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  r.set_vqueue(with_flags(ring, 0, vf::kEnable));
  EXPECT_EQ(r.rules(), (Ids{"R1-DRV-062", "R1-DRV-066"})) << r.dump();
}

TEST(ValidatingEndpointRev1, EnablingAQueueReportedWithMaxSizeZeroBreaksR1Drv062) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  ASSERT_EQ(r.get_vqueue(2).max_size, 0u);  // the fake backend has two queues
  r.set_vqueue(with_flags(ring, 2, vf::kKeepDisabled));  // no attempt to use it
  r.expect_clean();
  r.set_vqueue(with_flags(ring, 2, vf::kEnable));
  r.expect_only("R1-DRV-062");
}

TEST(ValidatingEndpointRev1, ResetVqueueNeedsRingResetAndAQueriedQueue) {
  Rev1Rig r;
  r.negotiate();
  (void)r.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  EXPECT_EQ(r.rules(), (Ids{"R1-DRV-073", "R1-DRV-074"})) << r.dump();
  Rev1Rig ok;
  ok.negotiate(kVersion1 | kRingReset);
  (void)ok.get_vqueue(0);
  (void)ok.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  ok.expect_clean();
}

// ---- EVENT_AVAIL -------------------------------------------------------------------------

TEST(ValidatingEndpointRev1, EventAvailBeforeDriverOkBreaksR1Drv036) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  r.enable_queue(0, ring);
  (void)r.kick(0);
  EXPECT_EQ(r.rules(), (Ids{"R1-DRV-036", "VIRTIO-CORE-033"})) << r.dump();  // DRIVER_OK never written either
}

TEST(ValidatingEndpointRev1, EventAvailForAQueueNotEnabledBreaksR1Drv037) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up_rev1(ring);
  (void)r.kick(1);
  r.expect_only("R1-DRV-037");
}

TEST(ValidatingEndpointRev1, EventAvailBeforeConfirmingBreaksR1Drv027) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up_rev1(ring);
  r.set_vqueue(with_flags(ring, 0, vf::kKeepState | vf::kIgnoreSize | vf::kIgnoreDesc | vf::kIgnoreDriver |
                                      vf::kIgnoreDevice));
  (void)r.kick(0);
  r.expect_only("R1-DRV-027");
  r.log->clear();
  (void)r.get_vqueue(0);
  (void)r.kick(0);
  r.expect_clean();
}

TEST(ValidatingEndpointRev1, NextOffsetWithoutNotificationDataBreaksR1Drv077) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up_rev1(ring);
  (void)r.kick(0, 3);
  r.expect_only("R1-DRV-077");
}

TEST(ValidatingEndpointRev1, EventAvailAfterAReportedNeedsResetBreaksR1Drv058) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up_rev1(ring);
  r.backend->mode = FakeBackend::Mode::Fail;
  ring.add_buffer(0x2000, 8, true);
  (void)r.kick(0);
  (void)r.kick(0);
  r.expect_clean();
  ASSERT_NE(r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{}).status & st::kNeedsReset, 0u);
  (void)r.kick(0);
  r.expect_only("R1-DRV-058");
}

// ---- what a driver owes after a device message ------------------------------------------

TEST(ValidatingEndpointRev1, GoingOnAfterTheGenerationMovedBreaksR1Drv008) {
  Rev1Rig r;
  r.info();
  const std::uint32_t before = r.get_config(8, 4).generation;
  r.backend->ctx->config_changed(8, 4);  // EVENT_CONFIG with data, a new generation
  ASSERT_NE(r.get_config(8, 4).generation, before);
  (void)r.get_config(8, 4);  // read again: the same generation, it holds still
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  r.expect_clean();
  r.backend->ctx->config_changed(8, 4);
  (void)r.get_config(8, 4);
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});  // no re-read
  r.expect_only("R1-DRV-008");
}

TEST(ValidatingEndpointRev1, TheDriversOwnSetConfigOwesNoReRead) {
  Rev1Rig r;
  r.info();
  (void)r.get_config(8, 4);
  (void)r.set_config(0, 8, {1, 2, 3, 4});
  (void)r.get_config(8, 4);  // the generation of the write's answer: nothing moved
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  r.expect_clean();
}

TEST(ValidatingEndpointRev1, IoAfterAnEventWithoutDataBreaksR1Drv010And042) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up_rev1(ring);
  r.backend->ctx->config_changed(0, 0);  // offset and length 0: a generic change
  (void)r.kick(0);  // no response since the event: the driver may not hold it yet
  r.expect_clean();
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  (void)r.kick(0);
  EXPECT_EQ(r.rules(), (Ids{"R1-DRV-010", "R1-DRV-042"})) << r.dump();
  r.log->clear();
  r.backend->ctx->config_changed(0, 0);
  (void)r.get_config(0, 16);  // the refresh
  (void)r.kick(0);
  r.expect_clean();
}

TEST(ValidatingEndpointRev1, ARangeEventWithoutDataBreaksOnlyR1Drv010) {
  Rev1Rig r;
  r.info();
  r.backend->ctx->config_changed(60, 8);  // past config_size: sent as offset 60, no data
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});  // the event reaches the driver first
  (void)r.set_config(0, 8, {1});
  r.expect_only("R1-DRV-010");
}

TEST(ValidatingEndpointRev1, TheStrictProfileOwesTheRefreshOnlyForAGenericEvent) {
  Rev1Rig r(ValidationProfile{wire::Layout::Rev1, true});
  r.info();
  r.backend->ctx->config_changed(0, 0);
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  (void)r.set_config(r.device->generation(), 8, {1});
  r.expect_only("R1-DRV-042");
}

TEST(ValidatingEndpointRev1, GoingOnAfterAnUnansweredRequestBreaksR1Drv016) {
  Rev1Rig r;
  r.negotiate();
  r.stim->drop_requests(1);
  EXPECT_TRUE(r.send(wire::GetShmReq{0}).empty());
  (void)r.get_vqueue(0);
  r.expect_only("R1-DRV-016");
}

TEST(ValidatingEndpointRev1, RetryingOrResettingAfterAnUnansweredRequestIsClean) {
  Rev1Rig retry;
  retry.negotiate();
  retry.stim->drop_requests(1);
  (void)retry.send(wire::GetShmReq{0});
  (void)retry.ask<wire::GetShmResp>(wire::GetShmReq{0});  // the retry got through
  (void)retry.get_vqueue(0);
  retry.expect_clean();
  Rev1Rig reset;
  reset.negotiate();
  reset.stim->drop_requests(2);
  (void)reset.send(wire::GetShmReq{0});
  (void)reset.send(wire::GetShmReq{0});  // every attempt lost: the request failed
  (void)reset.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  ASSERT_EQ(reset.status(0), 0u);  // recovery
  reset.negotiate();
  reset.expect_clean();
}

TEST(ValidatingEndpointRev1, BuffersLeftUnannouncedBreakR1Drv040) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up_rev1(ring);
  ring.add_buffer(0x2000, 8, true);
  (void)r.kick(0);
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  r.expect_clean();
  ring.add_buffer(0x2000, 8, true);  // published, never announced
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  EXPECT_EQ(r.rules(), (Ids{"R1-DRV-040", "VIRTIO-RING-037"})) << r.dump();  // the core rule says the same
}

TEST(ValidatingEndpointRev1, BuffersPublishedBeforeDriverOkOweNoEventAvail) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  r.enable_queue(0, ring);
  ring.add_buffer(0x2000, 8, true);  // before DRIVER_OK: R1-DRV-036's business
  ASSERT_EQ(r.status(0x0F), 0x0Fu);
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  r.expect_clean();
}

TEST(ValidatingEndpointRev1, BuffersTheDeviceDidNotAskAboutOweNoEventAvail) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up_rev1(ring, kVersion1 | kEventIdx);
  ring.add_buffer(0x2000, 8, true);
  (void)r.kick(0);  // the device takes it and asks for a kick at avail index 1
  r.mem.store16(ring.layout().device_addr + 4 + 8ULL * 8, 5);  // ...now at 5 instead
  ring.add_buffer(0x2000, 8, true);  // index 2: not asked for
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  r.expect_clean();
}

// ---- a reset that completes after its answer ----------------------------------------------

TEST(ValidatingEndpointRev1, StartingOverBeforeTheResetCompletesBreaksR1Drv059And061) {
  Rev1Rig r;
  r.negotiate();
  r.shim->slow_reset_status = st::kAcknowledge;
  ASSERT_EQ(r.status(0), st::kAcknowledge);
  r.info();
  // The core chapter's SHOULD says the same (VIRTIO-CORE-018).
  EXPECT_EQ(r.rules(), (Ids{"R1-DRV-059", "R1-DRV-061", "VIRTIO-CORE-018"})) << r.dump();
}

TEST(ValidatingEndpointRev1, PollingTheStatusAfterASlowResetIsClean) {
  Rev1Rig r;
  r.negotiate();
  r.shim->slow_reset_status = st::kAcknowledge;
  ASSERT_EQ(r.status(0), st::kAcknowledge);
  ASSERT_EQ(r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{}).status, 0u);
  r.shim->slow_reset_status = 0;
  r.negotiate();
  r.expect_clean();
}

// ---- the table --------------------------------------------------------------------------------

TEST(DriverRuleTableRev1, RowsAreWellFormedAndDistinct) {
  const std::regex id(R"((R1-(DRV|GEN)-\d{3})|(AMP-\d{3})|(VIRTIO-[A-Z]+-\d{3}))");
  std::set<std::pair<std::string, std::string>> seen;
  ASSERT_FALSE(checked_driver_rules(wire::Layout::Rev1).empty());
  for (const DriverRuleInfo& row : checked_driver_rules(wire::Layout::Rev1)) {
    EXPECT_TRUE(std::regex_match(std::string(row.rule), id)) << row.rule;
    EXPECT_GT(row.checks.size(), 10u) << row.rule;
    EXPECT_TRUE(seen.emplace(std::string(row.rule), std::string(row.checks)).second) << row.rule;
  }
  EXPECT_EQ(checked_driver_rules(wire::Layout::Pr28).data(), checked_driver_rules().data());
}

TEST(DriverRuleTableRev1, EveryRuleTheEndpointReportsIsInTheTable) {
  Rev1Rig r;
  TestRing ring = ring8(r.mem);
  (void)r.get_vqueue(0);                                  // 025
  (void)r.get_config(0, 4);                               // 029
  r.to_driver();
  r.write_features(kVersion1 | bit(39) | bit(1));         // 030, 032
  r.read_features();
  r.write_features(kVersion1 | bit(1));                   // 051
  (void)r.set_config(3, 0, {1});                          // 009
  r.set_vqueue(with_flags(ring, 1, vf::kReservedOp | 0x40));  // 062, 064, 065
  (void)r.kick(0, 1);                                     // 036, 037, 077
  (void)r.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{1});  // 073, 074
  ASSERT_GE(r.rules().size(), 12u) << r.dump();
  for (const std::string& rule : r.rules()) {
    bool found = false;
    for (const DriverRuleInfo& row : checked_driver_rules(wire::Layout::Rev1)) {
      found = found || (row.rule == rule && row.where == RuleCheckPoint::Endpoint);
    }
    EXPECT_TRUE(found) << rule;
  }
}

}  // namespace
}  // namespace vmsg::transport::test

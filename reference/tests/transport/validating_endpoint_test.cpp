// ValidatingEndpoint: a hand-written driver sequence per check makes exactly
// that violation appear; a correct sequence records nothing; the inner device
// still answers exactly as it would without the validator.
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include "transport/transport_test_support.hpp"
#include "transport/validating_rig.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/transport/driver_rules.hpp"
#include "vmsg/transport/validating_endpoint.hpp"

namespace vmsg::transport::test {
namespace {


// ---- a correct driver ------------------------------------------------------------

TEST(ValidatingEndpoint, ACorrectDriverSequenceRecordsNothing) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring, kVersion1 | kRingReset | kEventIdx);
  ring.add_buffer(0x2000, 16, true);
  (void)r.kick(0);
  EXPECT_EQ(r.backend->chains_used, 1u);
  // Config: read, write with the generation just seen, write again with the new one.
  const auto g = r.get_config(8, 4);
  ASSERT_EQ(g.data.size(), 4u);
  auto w = r.set_config(g.generation, 8, {1, 2, 3, 4});
  ASSERT_EQ(w.length, 4u);
  ASSERT_EQ(r.set_config(w.generation, 8, {5, 6, 7, 8}).length, 4u);
  // A device-side change: the generation from EVENT_CONFIG is fine to use.
  r.backend->ctx->config_changed(8, 4);
  const auto events = r.out.take();
  ASSERT_EQ(events.size(), 1u);
  const auto gen = std::get<wire::EventConfig>(events[0].body).generation;
  ASSERT_EQ(r.set_config(gen, 8, {9, 9, 9, 9}).length, 4u);
  // Queue reset and reprogramming with RING_RESET negotiated.
  (void)r.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  r.setup_queue(0, ring);
  // Device reset and a second initialisation.
  ASSERT_EQ(r.status(0), 0u);
  r.negotiate();
  r.setup_queue(0, ring);
  ASSERT_EQ(r.status(0x0F), 0x0Fu);
  // FEATURES_OK refused, then FAILED added: no driver rule broken.
  ASSERT_EQ(r.status(0), 0u);
  ASSERT_EQ(r.status(st::kAcknowledge), st::kAcknowledge);
  ASSERT_EQ(r.status(st::kAcknowledge | st::kDriver), st::kAcknowledge | st::kDriver);
  r.backend->refuse_features = true;
  r.read_features();
  r.write_features(kVersion1);
  ASSERT_EQ(r.status(0x0B), 0x03u);
  ASSERT_EQ(r.status(0x83), 0x83u);
  r.expect_clean();
}

TEST(ValidatingEndpoint, ForwardsTrafficUnchanged) {
  // The same sequence against the bare device and through the validator
  // (with a rule broken on the way) yields the same device messages.
  const auto run = [](Rig& r) {
    std::vector<wire::Message> seen;
    TestRing ring = ring8(r.mem);
    r.info();
    r.ep->receive(wire::Message{.dev_num = Rig::kDev, .token = 3, .reserved_type_bits = 0,
                                .body = wire::SetVqueueReq{ring.set_vqueue(0)}});  // before FEATURES_OK
    for (auto& m : r.out.take()) seen.push_back(m);
    r.bring_up(ring);
    ring.add_buffer(0x2000, 8, true);
    for (auto& m : r.kick(0)) seen.push_back(m);
    seen.push_back(r.request(wire::GetConfigReq{0, 8}));
    return seen;
  };
  Rig bare(false);
  Rig validated;
  EXPECT_EQ(run(bare), run(validated));
  EXPECT_FALSE(validated.log->empty());
}

TEST(ValidatingEndpoint, RefusesANullInnerEndpointOrLog) {
  EXPECT_THROW(ValidatingEndpoint(nullptr, std::make_shared<DriverRuleLog>()), ConfigError);
  auto dev = std::make_shared<DeviceTransport>(std::make_unique<FakeBackend>());
  EXPECT_THROW(ValidatingEndpoint(dev, nullptr), ConfigError);
}

// ---- device information and features --------------------------------------------

TEST(ValidatingEndpoint, FeatureReadBeforeDeviceInfoBreaksDrv016) {
  Rig r;
  r.read_features();
  r.expect_only("VMSG-DRV-016");
}

TEST(ValidatingEndpoint, ConfigReadBeforeDeviceInfoBreaksDrv021) {
  Rig r;
  (void)r.get_config(0, 4);
  r.expect_only("VMSG-DRV-021");
}

TEST(ValidatingEndpoint, FeatureWriteOfAnUnreadBlockBreaksDrv022) {
  Rig r;
  ASSERT_NO_FATAL_FAILURE(r.to_driver());
  r.write_features(kVersion1);
  r.expect_only("VMSG-DRV-022");
}

TEST(ValidatingEndpoint, FeatureWriteOfAnUnofferedBitBreaksDrv054) {
  Rig r;
  ASSERT_NO_FATAL_FAILURE(r.to_features());
  r.write_features(kVersion1 | bit(1));
  // The core's own rule says the same (VIRTIO-CORE-008).
  EXPECT_EQ(r.log->rules(), (std::vector<std::string>{"VIRTIO-CORE-008", "VMSG-DRV-054"})) << r.dump();
  EXPECT_NE(r.log->violations().back().detail.find("0x2"), std::string::npos) << r.dump();
}

TEST(ValidatingEndpoint, FeaturesOkWithoutAFeatureWriteBreaksDrv024) {
  Rig r;
  ASSERT_NO_FATAL_FAILURE(r.to_features());
  (void)r.status(0x0B);
  // Nothing accepted means VERSION_1 left out as well (VIRTIO-CORE-036).
  EXPECT_EQ(r.log->rules(), (std::vector<std::string>{"VIRTIO-CORE-036", "VMSG-DRV-024"})) << r.dump();
}

TEST(ValidatingEndpoint, FeatureWriteAfterFeaturesOkBreaksDrv024) {
  Rig r;
  r.negotiate();
  r.write_features(kVersion1);
  r.expect_only("VMSG-DRV-024");
}

// ---- status ------------------------------------------------------------------------

TEST(ValidatingEndpoint, ClearingAStatusBitWithoutResetBreaksDrv034) {
  Rig r;
  r.negotiate();
  (void)r.status(st::kAcknowledge | st::kDriver);  // drops FEATURES_OK
  // The core's own rule says the same (VIRTIO-CORE-002).
  EXPECT_EQ(r.log->rules(), (std::vector<std::string>{"VIRTIO-CORE-002", "VMSG-DRV-034"})) << r.dump();
}

TEST(ValidatingEndpoint, DriverWithoutAcknowledgeBreaksDrv034) {
  Rig r;
  r.info();
  (void)r.status(st::kDriver);
  r.expect_only("VMSG-DRV-034");
}

TEST(ValidatingEndpoint, StatusBitsAboveSevenBreakDrv034) {
  Rig r;
  r.info();
  ASSERT_EQ(r.status(0), 0u);
  (void)r.status(0x100 | st::kAcknowledge);
  r.expect_only("VMSG-DRV-034");
}

TEST(ValidatingEndpoint, DriverOkWithoutFeaturesOkBreaksDrv036) {
  Rig r;
  ASSERT_NO_FATAL_FAILURE(r.to_driver());
  (void)r.status(st::kAcknowledge | st::kDriver | st::kDriverOk);
  r.expect_only("VMSG-DRV-036");
}

// ---- configuration space -------------------------------------------------------------

TEST(ValidatingEndpoint, ConfigReadBeyondConfigSizeBreaksDrv055) {
  Rig r;
  r.info();
  (void)r.get_config(60, 8);
  r.expect_only("VMSG-DRV-055");
}

TEST(ValidatingEndpoint, ConfigWriteBeyondConfigSizeBreaksDrv057) {
  Rig r;
  r.info();
  const auto g = r.get_config(0, 0).generation;
  (void)r.set_config(g, 62, {1, 2, 3, 4});
  r.expect_only("VMSG-DRV-057");
}

TEST(ValidatingEndpoint, ConfigWriteWithAnUnseenGenerationBreaksDrv056) {
  Rig r;
  r.info();
  const auto g = r.get_config(8, 4).generation;
  (void)r.set_config(g + 1, 8, {1, 2, 3, 4});
  r.expect_only("VMSG-DRV-056");
}

TEST(ValidatingEndpoint, ConfigWriteBeforeAnyGenerationWasShownBreaksDrv056) {
  Rig r;
  r.info();
  (void)r.set_config(r.device->generation(), 8, {1, 2, 3, 4});  // right value, but never shown
  r.expect_only("VMSG-DRV-056");
}

TEST(ValidatingEndpoint, RetryAfterAGenerationRefusalWithoutGetConfigBreaksDrv007) {
  Rig r;
  r.info();
  const auto g = r.get_config(8, 4).generation;
  r.backend->ctx->config_changed(8, 4);  // EVENT_CONFIG the driver has not read yet
  (void)r.out.take();
  const auto refused = r.set_config(g, 8, {1, 2, 3, 4});  // legitimately stale: not a violation
  ASSERT_EQ(refused.length, 0u);
  ASSERT_NE(refused.generation, g);
  r.expect_clean();
  (void)r.set_config(refused.generation, 8, {1, 2, 3, 4});
  r.expect_only("VMSG-DRV-007");
}

// ---- virtqueue setup -------------------------------------------------------------------

TEST(ValidatingEndpoint, QueueSetupBeforeFeaturesOkBreaksDrv017) {
  Rig r;
  TestRing ring = ring8(r.mem);
  ASSERT_NO_FATAL_FAILURE(r.to_driver());
  (void)r.get_vqueue(0);
  r.set_vqueue(ring.set_vqueue(0));
  r.expect_only("VMSG-DRV-017");
}

TEST(ValidatingEndpoint, QueueSetupWithoutGetVqueueBreaksDrv029) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  r.set_vqueue(ring.set_vqueue(0));
  r.expect_only("VMSG-DRV-029");
}

TEST(ValidatingEndpoint, QueueSizeAboveMaximumBreaksDrv060) {
  Rig r;
  TestRing ring(r.mem, 0x1000, 16);  // queue 0 allows 8
  r.negotiate();
  (void)r.get_vqueue(0);
  r.set_vqueue(ring.set_vqueue(0));
  r.expect_only("VMSG-DRV-060");
}

TEST(ValidatingEndpoint, QueueSizeNotAPowerOfTwoBreaksDrv060) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  (void)r.get_vqueue(0);
  auto req = ring.set_vqueue(0);
  req.size = 6;
  r.set_vqueue(req);
  r.expect_only("VMSG-DRV-060");
}

TEST(ValidatingEndpoint, MisalignedDescriptorTableBreaksDrv061) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  (void)r.get_vqueue(0);
  auto req = ring.set_vqueue(0);
  req.desc_addr = 0x1808;  // 8-aligned only, clear of the other areas
  r.set_vqueue(req);
  EXPECT_EQ(r.log->rules(), (std::vector<std::string>{"VIRTIO-RING-001", "VMSG-DRV-061"})) << r.dump();
}

TEST(ValidatingEndpoint, OverlappingRingAreasBreakDrv031) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  (void)r.get_vqueue(0);
  auto req = ring.set_vqueue(0);
  req.device_addr = req.driver_addr + 4;  // 4-aligned, inside the driver area
  r.set_vqueue(req);
  r.expect_only("VMSG-DRV-031");
}

TEST(ValidatingEndpoint, NonZeroReservedWordBreaksDrv014) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  (void)r.get_vqueue(0);
  auto req = ring.set_vqueue(0);
  req.reserved = 1;
  r.set_vqueue(req);
  r.expect_only("VMSG-DRV-014");
}

TEST(ValidatingEndpoint, ReprogrammingALiveQueueBeforeDriverOkBreaksDrv032) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate(kVersion1 | kRingReset);
  r.setup_queue(0, ring);
  r.set_vqueue(ring.set_vqueue(0));
  r.expect_only("VMSG-DRV-032");
}

TEST(ValidatingEndpoint, ReprogrammingALiveQueueAfterDriverOkBreaksDrv048) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring, kVersion1 | kRingReset);
  r.set_vqueue(ring.set_vqueue(0));
  r.expect_only("VMSG-DRV-048");
}

TEST(ValidatingEndpoint, ReprogrammingWithoutRingResetNegotiatedIsNotFlaggedAsDrv048) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring);
  r.set_vqueue(ring.set_vqueue(0));
  r.expect_clean();
}

TEST(ValidatingEndpoint, QueueResetWithoutRingResetBreaksDrv062) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring);
  (void)r.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  r.expect_only("VMSG-DRV-062");
}

// ---- notifications ----------------------------------------------------------------------

TEST(ValidatingEndpoint, EventAvailBeforeDriverOkBreaksDrv037) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  r.setup_queue(0, ring);
  (void)r.kick(0);
  EXPECT_EQ(r.log->rules(), (std::vector<std::string>{"VIRTIO-CORE-033", "VMSG-DRV-037"})) << r.dump();
}

TEST(ValidatingEndpoint, EventAvailForAnUnconfiguredQueueBreaksDrv038) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring);
  (void)r.kick(1);
  r.expect_only("VMSG-DRV-038");
}

TEST(ValidatingEndpoint, EventAvailForAResetQueueBreaksDrv038) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring, kVersion1 | kRingReset);
  (void)r.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  (void)r.kick(0);
  r.expect_only("VMSG-DRV-038");
}

TEST(ValidatingEndpoint, EventAvailForAnUnconfirmedQueueBreaksDrv018) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.negotiate();
  (void)r.get_vqueue(0);
  r.set_vqueue(ring.set_vqueue(0));  // no confirming GET_VQUEUE
  ASSERT_EQ(r.status(0x0F), 0x0Fu);
  (void)r.kick(0);
  r.expect_only("VMSG-DRV-018");
}

TEST(ValidatingEndpoint, NonZeroNextOffsetWithoutNotificationDataBreaksDrv065) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring);
  ASSERT_EQ(r.validator->negotiated_features() & kNotificationData, 0u);
  (void)r.kick(0, 3);
  r.expect_only("VMSG-DRV-065");
}

TEST(ValidatingEndpoint, EventAvailAfterAReportedNeedsResetBreaksDrv050) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring);
  r.backend->mode = FakeBackend::Mode::Fail;
  ring.add_buffer(0x2000, 8, true);
  ASSERT_EQ(r.kick(0).size(), 1u);  // EVENT_CONFIG with NEEDS_RESET
  (void)r.kick(0);                  // the driver may not have read it yet: allowed
  r.expect_clean();
  const auto s = r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{}).status;
  ASSERT_NE(s & st::kNeedsReset, 0u);
  (void)r.kick(0);
  r.expect_only("VMSG-DRV-050");
  // A reset clears it.
  r.log->clear();
  r.backend->mode = FakeBackend::Mode::Use;
  r.bring_up(ring);
  (void)r.kick(0);
  r.expect_clean();
}

// ---- the log and the table ----------------------------------------------------------------

TEST(DriverRuleLog, CountsClearsAndListsRules) {
  DriverRuleLog log;
  log.driver_rule("VMSG-DRV-038", 1, "EVENT_AVAIL", "queue 3: not configured");
  log.driver_rule("VMSG-DRV-011", 0, "frame", "x");
  log.driver_rule("VMSG-DRV-038", 2, "EVENT_AVAIL", "queue 0: not configured");
  EXPECT_EQ(log.size(), 3u);
  EXPECT_EQ(log.count("VMSG-DRV-038"), 2u);
  EXPECT_EQ(log.count("VMSG-DRV-011"), 1u);
  EXPECT_EQ(log.count("VMSG-DRV-001"), 0u);
  EXPECT_EQ(log.rules(), (std::vector<std::string>{"VMSG-DRV-011", "VMSG-DRV-038"}));
  EXPECT_EQ(to_string(log.violations()[0]), "VMSG-DRV-038 dev 1 EVENT_AVAIL: queue 3: not configured");
  log.clear();
  EXPECT_TRUE(log.empty());
}

TEST(DriverRuleTable, RowsAreWellFormedAndDistinct) {
  const std::regex id(R"((VMSG-(DRV|BUS)-\d{3})|(AMP-\d{3})|(VIRTIO-[A-Z]+-\d{3}))");
  std::set<std::pair<std::string, std::string>> seen;
  ASSERT_FALSE(checked_driver_rules().empty());
  for (const DriverRuleInfo& row : checked_driver_rules()) {
    EXPECT_TRUE(std::regex_match(std::string(row.rule), id)) << row.rule;
    EXPECT_GT(row.checks.size(), 10u) << row.rule;
    EXPECT_TRUE(seen.emplace(std::string(row.rule), std::string(row.checks)).second) << row.rule;
  }
}

TEST(DriverRuleTable, EveryRuleTheEndpointReportsIsInTheTable) {
  // Fire a spread of checks and make sure each reported ID has a table row
  // of the endpoint kind (the catalogue relies on the table being complete).
  Rig r;
  TestRing ring = ring8(r.mem);
  r.read_features();                  // 016
  (void)r.get_config(0, 4);           // 021
  r.info();
  (void)r.status(st::kDriver);        // 034
  (void)r.status(0);
  r.write_features(bit(1));           // 022
  (void)r.status(0x0F);               // 024, 034, 036
  r.set_vqueue(ring.set_vqueue(0));   // 017, 029
  (void)r.kick(1, 1);                 // 037, 038, 065
  ASSERT_GE(r.log->rules().size(), 9u) << r.dump();
  for (const std::string& rule : r.log->rules()) {
    bool found = false;
    for (const DriverRuleInfo& row : checked_driver_rules()) {
      found = found || (row.rule == rule && row.where == RuleCheckPoint::Endpoint);
    }
    EXPECT_TRUE(found) << rule;
  }
}

}  // namespace
}  // namespace vmsg::transport::test

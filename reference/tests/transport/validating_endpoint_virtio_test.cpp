// ValidatingEndpoint, the virtio core and device-type driver rules
// (validating_endpoint_virtio.cpp): each check fires on a hand-written bad
// sequence with exactly its rule (plus the transport rule the same mistake
// breaks, where there is one), stays quiet on the correct sequence, and its
// model is saved and restored with the validator's.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "transport/transport_test_support.hpp"
#include "transport/validating_rig.hpp"
#include "vmsg/transport/driver_rules.hpp"
#include "vmsg/transport/validating_endpoint.hpp"

namespace vmsg::transport::test {
namespace {

constexpr ValidationProfile kRev1{wire::Layout::Rev1};
constexpr std::uint32_t kBlk = 2;
constexpr std::uint32_t kBalloon = 5;

std::set<std::string> rules_of(const Rig& r) {
  const auto v = r.log->rules();
  return {v.begin(), v.end()};
}

// ---- status ------------------------------------------------------------------------

TEST(VirtioDriverRules, FeatureWriteBeforeDriverIsRecordedBreaksCore001) {
  for (const ValidationProfile p : {ValidationProfile{}, kRev1}) {
    Rig r(true, p);
    r.info();
    ASSERT_EQ(r.status(0), 0u);
    ASSERT_EQ(r.status(st::kAcknowledge), st::kAcknowledge);
    r.read_features();
    r.write_features(kVersion1);
    r.expect_only("VIRTIO-CORE-001");
  }
}

TEST(VirtioDriverRules, ClearingAStatusBitBreaksCore002UnderBothProfiles) {
  Rig pr28;
  pr28.negotiate();
  (void)pr28.status(st::kAcknowledge | st::kDriver);
  // PR28 states the same rule for its transport (VMSG-DRV-034); REV1 does not.
  EXPECT_EQ(rules_of(pr28), (std::set<std::string>{"VIRTIO-CORE-002", "VMSG-DRV-034"})) << pr28.dump();
  Rig rev1(true, kRev1);
  rev1.negotiate();
  (void)rev1.status(st::kAcknowledge | st::kDriver);
  rev1.expect_only("VIRTIO-CORE-002");
}

TEST(VirtioDriverRules, StartingAgainAfterFailedWithoutResetBreaksCore003) {
  Rig r;
  r.info();
  ASSERT_EQ(r.status(0), 0u);
  ASSERT_EQ(r.status(st::kAcknowledge), st::kAcknowledge);
  ASSERT_EQ(r.status(st::kAcknowledge | st::kFailed), st::kAcknowledge | st::kFailed);
  r.expect_clean();
  (void)r.status(st::kAcknowledge | st::kDriver | st::kFailed);
  r.expect_only("VIRTIO-CORE-003");
  // After a reset, all is well again.
  r.log->clear();
  r.negotiate();
  r.expect_clean();
}

TEST(VirtioDriverRules, GoingOnBeforeAStatusReadShowsTheResetDoneBreaksCore018) {
  // The REV1 rig's shim can answer a reset before it completes; the check
  // itself does not depend on the profile.
  Rig r(true, kRev1);
  r.negotiate();
  r.shim->slow_reset_status = st::kAcknowledge;
  ASSERT_EQ(r.status(0), st::kAcknowledge);
  (void)r.get_config(0, 4);
  EXPECT_EQ(rules_of(r), (std::set<std::string>{"VIRTIO-CORE-018", "R1-DRV-059", "R1-DRV-061"})) << r.dump();
  Rig polled(true, kRev1);
  polled.negotiate();
  polled.shim->slow_reset_status = st::kAcknowledge;
  ASSERT_EQ(polled.status(0), st::kAcknowledge);
  ASSERT_EQ(polled.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{}).status, 0u);
  (void)polled.get_config(0, 4);
  polled.expect_clean();
}

TEST(VirtioDriverRules, AcknowledgeBeforeAnyResetBreaksCore029) {
  Rig r;
  r.info();
  (void)r.status(st::kAcknowledge);
  r.expect_only("VIRTIO-CORE-029");
}

// ---- features ------------------------------------------------------------------------

TEST(VirtioDriverRules, AnUnofferedBitBreaksCore008WithTheTransportRule) {
  Rig r;
  ASSERT_NO_FATAL_FAILURE(r.to_features());
  r.write_features(kVersion1 | bit(1));
  EXPECT_EQ(rules_of(r), (std::set<std::string>{"VIRTIO-CORE-008", "VMSG-DRV-054"})) << r.dump();
}

TEST(VirtioDriverRules, BitsTheDraftDoesNotDefineBreakCore009) {
  Rig r;
  r.backend->id = 4;  // virtio-rng defines no bits of its own, yet this device offers 0 and 5
  ASSERT_NO_FATAL_FAILURE(r.to_features());
  r.write_features(kVersion1 | bit(5));
  r.expect_only("VIRTIO-CORE-009");
  Rig reserved;  // a reserved bit (42-49), not offered either
  ASSERT_NO_FATAL_FAILURE(reserved.to_features());
  reserved.write_features(kVersion1 | bit(45));
  EXPECT_EQ(rules_of(reserved), (std::set<std::string>{"VIRTIO-CORE-008", "VIRTIO-CORE-009", "VMSG-DRV-054"}))
      << reserved.dump();
  Rig defined;  // an unknown device type: its own bits are not judged
  ASSERT_NO_FATAL_FAILURE(defined.to_features());
  defined.write_features(kVersion1 | bit(5));
  defined.expect_clean();
}

TEST(VirtioDriverRules, NewBitsAfterFeaturesOkBreakCore031) {
  Rig r;
  r.negotiate();
  r.write_features(kVersion1);  // the same set again: the transport's rule only
  r.expect_only("VMSG-DRV-024");
  r.log->clear();
  r.write_features(kVersion1 | kIndirect);
  EXPECT_EQ(rules_of(r), (std::set<std::string>{"VIRTIO-CORE-031", "VMSG-DRV-024"})) << r.dump();
}

TEST(VirtioDriverRules, GoingOnAfterARefusedFeaturesOkBreaksCore032) {
  Rig r;
  r.backend->refuse_features = true;
  ASSERT_NO_FATAL_FAILURE(r.to_features());
  r.write_features(kVersion1);
  ASSERT_EQ(r.status(0x0B), 0x03u);
  ASSERT_EQ(r.status(0x83), 0x83u);  // FAILED: what a driver should do
  r.expect_clean();
  (void)r.get_vqueue(0);
  r.expect_only("VIRTIO-CORE-032");
}

TEST(VirtioDriverRules, LeavingOutVersion1BreaksCore036) {
  Rig r;
  ASSERT_NO_FATAL_FAILURE(r.to_features());
  r.write_features(kIndirect);
  (void)r.status(0x0B);
  r.expect_only("VIRTIO-CORE-036");
}

TEST(VirtioDriverRules, DeviceTypeFeaturesTheDriverShouldAccept) {
  // blk RO (bit 5) and balloon MUST_TELL_HOST (bit 0): the FakeBackend offers both bits.
  for (const auto& [id, rule, wanted] : {std::tuple{kBlk, "VIRTIO-BLK-012", bit(5)},
                                        std::tuple{kBalloon, "VIRTIO-BALLOON-001", bit(0)}}) {
    Rig bad;
    bad.backend->id = id;
    bad.negotiate(kVersion1);
    bad.expect_only(rule);
    Rig good;
    good.backend->id = id;
    good.negotiate(kVersion1 | wanted);
    good.expect_clean();
    Rig other;  // another device type: the bits mean something else
    other.negotiate(kVersion1);
    other.expect_clean();
  }
}

// ---- configuration -------------------------------------------------------------------

TEST(VirtioDriverRules, ConfigWriteDuringNegotiationBreaksCore030) {
  Rig r;
  ASSERT_NO_FATAL_FAILURE(r.to_driver());
  const auto gen = r.get_config(8, 4).generation;  // reading is fine
  r.expect_clean();
  (void)r.set_config(gen, 8, {1, 2, 3, 4});
  r.expect_only("VIRTIO-CORE-030");
}

TEST(VirtioDriverRules, ReadsAcrossAGenerationChangeMustBeRepeated) {
  Rig good;
  good.info();
  (void)good.get_config(8, 4);
  good.backend->ctx->config_changed(8, 4);
  (void)good.get_config(12, 4);  // the generation moved: read the first field again
  (void)good.get_config(8, 4);
  good.info();
  good.expect_clean();

  Rig bad;
  bad.info();
  (void)bad.get_config(8, 4);
  bad.backend->ctx->config_changed(8, 4);
  (void)bad.get_config(12, 4);
  bad.info();  // the run ends with [8, +4) read at the old generation only
  bad.expect_only("VIRTIO-CORE-019");
}

TEST(VirtioDriverRules, OptionalConfigFieldsNeedTheirFeatureOffered) {
  Rig r;
  r.backend->id = kBlk;
  r.backend->features = bit(2);  // SEG_MAX only
  r.info();
  (void)r.get_config(0, 8);  // capacity: always there
  r.expect_clean();
  (void)r.get_config(12, 4);  // seg_max, before the offer was read
  r.expect_only("VIRTIO-CORE-020");
  r.log->clear();
  r.read_features();
  (void)r.get_config(12, 4);  // seg_max: offered
  r.expect_clean();
  (void)r.get_config(20, 4);  // blk_size: BLK_SIZE not offered
  r.expect_only("VIRTIO-CORE-020");
}

TEST(VirtioDriverRules, BlkRequestAfterACapacityChangeWithoutReadingItBreaksBlk010) {
  const auto run = [](bool reread) {
    Rig r;
    r.backend->id = kBlk;
    TestRing ring = ring8(r.mem);
    r.bring_up(ring, kVersion1 | bit(5));
    r.backend->ctx->config_changed(0, 0);  // something changed, no data: capacity may have
    (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});  // the event reached the driver
    if (reread) (void)r.get_config(0, 8);
    ring.add_buffer(0x2000, 16, true);
    (void)r.kick(0);
    return r.log->rules();
  };
  EXPECT_EQ(run(true), std::vector<std::string>{});
  EXPECT_EQ(run(false), std::vector<std::string>{"VIRTIO-BLK-010"});
}

// ---- queue reset -----------------------------------------------------------------------

TEST(VirtioDriverRules, ReprogrammingAResetQueueUnreadBreaksCore025) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring, kVersion1 | kRingReset);
  (void)r.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  r.set_vqueue(ring.set_vqueue(0));
  r.expect_only("VIRTIO-CORE-025");
}

TEST(VirtioDriverRules, UsingAReEnabledQueueUnconfirmedBreaksCore028) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring, kVersion1 | kRingReset);
  (void)r.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  ASSERT_EQ(r.get_vqueue(0).cur_size, 0u);
  r.set_vqueue(ring.set_vqueue(0));
  ring.add_buffer(0x2000, 16, true);
  (void)r.kick(0);
  EXPECT_EQ(rules_of(r), (std::set<std::string>{"VIRTIO-CORE-028", "VMSG-DRV-018"})) << r.dump();
}

TEST(VirtioDriverRules, ReplacingAQueueThatHoldsBuffersBreaksCore035) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring);
  ring.add_buffer(0x2000, 16, true);
  (void)r.kick(0);  // used at once: the device holds nothing
  TestRing other(r.mem, 0x1800, 8);
  r.set_vqueue(other.set_vqueue(0));
  r.expect_clean();
  other.add_buffer(0x2000, 16, true);  // published, never announced: the device holds it
  r.set_vqueue(ring.set_vqueue(0));
  // The unannounced buffer is also a missed notification (VIRTIO-RING-037),
  // which the ring monitor reports first; the replacement is CORE-035.
  ASSERT_EQ(r.log->size(), 2u) << r.dump();
  EXPECT_EQ(r.log->count("VIRTIO-RING-037"), 1u) << r.dump();
  EXPECT_EQ(r.log->count("VIRTIO-CORE-035"), 1u) << r.dump();
}

// ---- model state and the table --------------------------------------------------------

/// An inner endpoint with no state of its own (the FakeBackend cannot be
/// saved), so the validator's own model can be saved and restored.
class Stateless final : public bus::Endpoint {
 public:
  explicit Stateless(std::shared_ptr<bus::Endpoint> inner) : inner_(std::move(inner)) {}
  void attach(std::uint16_t dev_num, bus::Outbox& out) override { inner_->attach(dev_num, out); }
  void attach_memory(pci::DmaSpace& memory) override { inner_->attach_memory(memory); }
  void receive(const wire::Message& m) override { inner_->receive(m); }
  [[nodiscard]] snapshot::Handle save_state() const override { return snapshot::make(this, 0); }
  void restore_state(const snapshot::Handle& state) override { (void)snapshot::get<int>(state, this, "stateless"); }

 private:
  std::shared_ptr<bus::Endpoint> inner_;
};

TEST(VirtioDriverRules, TheVirtioModelIsSavedAndRestored) {
  auto backend = std::make_unique<FakeBackend>();
  backend->refuse_features = true;
  auto device = std::make_shared<DeviceTransport>(std::move(backend));
  auto log = std::make_shared<DriverRuleLog>();
  ValidatingEndpoint v(std::make_shared<Stateless>(device), log);
  FakeMemory mem{0x1000, 0x2000};
  RecordingOutbox out;
  v.attach_memory(mem);
  v.attach(5, out);
  const auto send = [&](wire::Body b) {
    v.receive(wire::Message{.dev_num = 5, .token = 1, .reserved_type_bits = 0, .body = std::move(b)});
    (void)out.take();
  };
  send(wire::GetDeviceInfoReq{});
  const auto never_reset = v.save_state();
  send(wire::SetDeviceStatusReq{0});
  send(wire::SetDeviceStatusReq{st::kAcknowledge});
  send(wire::SetDeviceStatusReq{st::kAcknowledge | st::kDriver});
  send(wire::GetDeviceFeaturesReq{0, 2});
  send(wire::SetDriverFeaturesReq{.block_index = 0, .features = {0, 1}});
  send(wire::SetDeviceStatusReq{0x0B});  // refused
  const auto refused = v.save_state();
  ASSERT_TRUE(log->empty());
  v.restore_state(never_reset);  // no reset seen, nothing refused
  send(wire::SetDeviceStatusReq{st::kAcknowledge});
  EXPECT_EQ(log->rules(), std::vector<std::string>{"VIRTIO-CORE-029"});
  log->clear();
  v.restore_state(refused);
  send(wire::GetVqueueReq{0});
  EXPECT_EQ(log->rules(), std::vector<std::string>{"VIRTIO-CORE-032"});
}

TEST(VirtioDriverRules, EveryVirtioRowIsInBothTables) {
  for (const wire::Layout layout : {wire::Layout::Pr28, wire::Layout::Rev1}) {
    std::set<std::string> virtio;
    for (const DriverRuleInfo& row : checked_driver_rules(layout)) {
      if (row.rule.starts_with("VIRTIO-")) virtio.emplace(row.rule);
    }
    for (const char* id : {"VIRTIO-CORE-001", "VIRTIO-CORE-002", "VIRTIO-CORE-003", "VIRTIO-CORE-008",
                           "VIRTIO-CORE-009", "VIRTIO-CORE-018", "VIRTIO-CORE-019", "VIRTIO-CORE-020", "VIRTIO-CORE-025", "VIRTIO-CORE-028",
                           "VIRTIO-CORE-029", "VIRTIO-CORE-030", "VIRTIO-CORE-031", "VIRTIO-CORE-032",
                           "VIRTIO-CORE-035", "VIRTIO-CORE-036", "VIRTIO-BLK-010", "VIRTIO-BLK-011", "VIRTIO-BLK-012",
                           "VIRTIO-BLK-013", "VIRTIO-BLK-014", "VIRTIO-BLK-016", "VIRTIO-BLK-033", "VIRTIO-BALLOON-001",
                           "VIRTIO-BALLOON-006", "VIRTIO-BALLOON-008", "VIRTIO-BALLOON-010",
                           "VIRTIO-BALLOON-014", "VIRTIO-BALLOON-015"}) {
      EXPECT_TRUE(virtio.contains(id)) << id;
    }
  }
}

}  // namespace
}  // namespace vmsg::transport::test

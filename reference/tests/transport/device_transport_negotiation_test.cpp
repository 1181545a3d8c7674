// DeviceTransport: GET_DEVICE_INFO, feature negotiation and the status machine.
#include <gtest/gtest.h>

#include "transport_test_support.hpp"

namespace vmsg::transport::test {
namespace {

using wire::GetDeviceFeaturesReq;
using wire::GetDeviceFeaturesResp;
using wire::SetDriverFeaturesReq;
using wire::SetDriverFeaturesResp;

// FakeBackend offers bits 0 and 5; the transport adds 28, 29, 32, 40.
constexpr std::uint32_t kOfferedLo = 0x3000'0021;
constexpr std::uint32_t kOfferedHi = 0x0000'0101;

TEST(DeviceTransportInfo, BindsBackendOnceInConstructor) {
  Harness h;
  EXPECT_EQ(h.backend.bind_calls, 1u);
  EXPECT_NE(h.backend.ctx, nullptr);
  EXPECT_FALSE(h.backend.ctx->driver_ok());
}

TEST(DeviceTransportInfo, ReportsIdentityInAnyState) {
  Harness h({.vendor_id = 0xCAFE'F00D});
  const wire::GetDeviceInfoResp expected{.device_id = 42, .vendor_id = 0xCAFE'F00D, .num_feature_bits = 64,
                                         .config_size = 64, .max_virtqueues = 2, .admin_vq_start = 0,
                                         .admin_vq_count = 0};
  EXPECT_EQ(h.ask<wire::GetDeviceInfoResp>(wire::GetDeviceInfoReq{}), expected);  // VMSG-DEV-044: status 0
  h.negotiate();
  EXPECT_EQ(h.ask<wire::GetDeviceInfoResp>(wire::GetDeviceInfoReq{}), expected);
  h.backend.ctx->needs_reset();
  h.out.take();
  EXPECT_EQ(h.ask<wire::GetDeviceInfoResp>(wire::GetDeviceInfoReq{}), expected);
}

TEST(DeviceTransportInfo, ResponseHeaderEchoesTokenWithOwnNumber) {
  Harness h;
  h.t.receive(wire::Message{.dev_num = Harness::kDevNum, .token = 0xBEEF, .reserved_type_bits = 0x3C,
                            .body = wire::GetDeviceStatusReq{}});
  ASSERT_EQ(h.out.posted.size(), 1u);
  EXPECT_EQ(h.out.posted[0], (wire::Message{.dev_num = Harness::kDevNum, .token = 0xBEEF, .reserved_type_bits = 0,
                                            .body = wire::GetDeviceStatusResp{0}}));
}

TEST(DeviceTransportInfo, EveryRequestKindGetsExactlyOneMatchingResponse) {
  Harness h;
  const std::vector<wire::Body> requests{
      wire::GetDeviceInfoReq{},       GetDeviceFeaturesReq{0, 2},      SetDriverFeaturesReq{0, {1}},
      wire::GetConfigReq{0, 4},       wire::SetConfigReq{0, 8, {1}},   wire::GetDeviceStatusReq{},
      wire::SetDeviceStatusReq{1},    wire::GetVqueueReq{0},          wire::SetVqueueReq{},
      wire::ResetVqueueReq{0},        wire::GetShmReq{0}};
  std::uint16_t token = 1;
  for (const auto& r : requests) {
    SCOPED_TRACE(std::string(wire::name(r)));
    (void)h.request(r, token++);  // request() checks count, kind, number, token, reserved bits
  }
  EXPECT_EQ(h.t.stats().requests, requests.size());
}

TEST(DeviceTransportInfo, IgnoresMessagesThatAreNotRequests) {
  Harness h;
  for (const wire::Body& b : std::vector<wire::Body>{wire::GetDeviceStatusResp{3}, wire::EventUsed{0},
                                                     wire::EventConfig{}, wire::PingReq{1}, wire::GetDevicesReq{0, 8}}) {
    h.t.receive(wire::Message{.dev_num = Harness::kDevNum, .token = 1, .reserved_type_bits = 0, .body = b});
  }
  EXPECT_TRUE(h.out.posted.empty());
  EXPECT_EQ(h.t.stats().requests, 0u);
}

TEST(DeviceTransportInfo, NothingIsPostedBeforeAttach) {
  Harness h({}, std::make_unique<FakeBackend>(), /*attach=*/false);
  h.t.receive(wire::Message{.dev_num = 0, .token = 1, .reserved_type_bits = 0, .body = wire::GetDeviceInfoReq{}});
  h.backend.ctx->config_changed(8, 4);
  h.backend.ctx->needs_reset();
  EXPECT_TRUE(h.out.posted.empty());
  EXPECT_EQ(h.t.stats().event_config_sent, 0u);
  EXPECT_EQ(h.t.generation(), 1u);  // the change still happened
  EXPECT_EQ(h.t.status(), st::kNeedsReset);
}

TEST(DeviceTransportInfo, AdvanceTimeReachesBackend) {
  Harness h;
  h.t.advance_time(250);
  h.t.advance_time(750);
  EXPECT_EQ(h.backend.time_ns, 1000u);
}

// ---- offered features ----------------------------------------------------------

TEST(DeviceTransportFeatures, OffersBackendBitsPlusTransportBits) {
  Harness h;
  EXPECT_EQ(h.t.offered_features(), (std::uint64_t{kOfferedHi} << 32) | kOfferedLo);
}

TEST(DeviceTransportFeatures, OptionsDropTransportBitsAndNotificationDataIsNeverOffered) {
  auto b = std::make_unique<FakeBackend>();
  // A backend claiming transport bits does not decide them.
  b->features = bit(0) | kIndirect | kEventIdx | kRingReset | bit(34) | bit(38);
  Harness h({.offer_indirect = false, .offer_event_idx = false, .offer_ring_reset = false}, std::move(b));
  EXPECT_EQ(h.t.offered_features(), bit(0) | kVersion1);
  const auto r = h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{0, 2});
  EXPECT_EQ(r.features, (std::vector<std::uint32_t>{1, 1}));
}

TEST(DeviceTransportFeatures, HighBackendBitStillReports64FeatureBits) {
  auto b = std::make_unique<FakeBackend>();
  b->features = bit(63);
  Harness h({}, std::move(b));
  EXPECT_EQ(h.ask<wire::GetDeviceInfoResp>(wire::GetDeviceInfoReq{}).num_feature_bits, 64u);
  EXPECT_EQ(h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{1, 1}).features,
            (std::vector<std::uint32_t>{0x8000'0101}));
}

TEST(DeviceTransportFeatures, ReturnsRequestedBlocks) {
  Harness h;
  EXPECT_EQ(h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{0, 2}),
            (GetDeviceFeaturesResp{0, {kOfferedLo, kOfferedHi}}));
  EXPECT_EQ(h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{1, 1}), (GetDeviceFeaturesResp{1, {kOfferedHi}}));
  EXPECT_EQ(h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{0, 0}), (GetDeviceFeaturesResp{0, {}}));
}

TEST(DeviceTransportFeatures, BlocksBeyondRangeReadZero) {
  Harness h;  // VMSG-DEV-011/046
  EXPECT_EQ(h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{2, 3}), (GetDeviceFeaturesResp{2, {0, 0, 0}}));
  EXPECT_EQ(h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{1, 3}),
            (GetDeviceFeaturesResp{1, {kOfferedHi, 0, 0}}));
}

TEST(DeviceTransportFeatures, BlockIndexArithmeticDoesNotWrap) {
  Harness h;
  // Blocks 0xFFFFFFFF and 0x100000000: a 32-bit sum would wrap to block 0.
  EXPECT_EQ(h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{0xFFFF'FFFF, 2}),
            (GetDeviceFeaturesResp{0xFFFF'FFFF, {0, 0}}));
}

TEST(DeviceTransportFeatures, WindowCappedToBusMaximum) {
  Harness h;  // G3: (64 - 16) / 4 = 12 blocks
  auto r = h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{0, 0xFFFF'FFFF});
  std::vector<std::uint32_t> expected(12, 0);
  expected[0] = kOfferedLo;
  expected[1] = kOfferedHi;
  EXPECT_EQ(r, (GetDeviceFeaturesResp{0, expected}));
  EXPECT_EQ(h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{0, 13}).features.size(), 12u);
  EXPECT_EQ(h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{0, 12}).features.size(), 12u);

  Harness big({.max_msg_size = 128});  // (128 - 16) / 4 = 28
  EXPECT_EQ(big.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{1, 0xFFFF'FFFF}).features.size(), 28u);
}

TEST(DeviceTransportFeatures, ReadBackIsOfferedSetNotAcknowledged) {
  Harness h;  // Q9
  h.negotiate(kVersion1);
  EXPECT_EQ(h.ask<GetDeviceFeaturesResp>(GetDeviceFeaturesReq{0, 2}).features,
            (std::vector<std::uint32_t>{kOfferedLo, kOfferedHi}));
}

// ---- SET_DRIVER_FEATURES ---------------------------------------------------------

TEST(DeviceTransportFeatures, DriverFeaturesSetPerBlock) {
  Harness h;
  (void)h.ask<SetDriverFeaturesResp>(SetDriverFeaturesReq{1, {0x1}});
  EXPECT_EQ(h.t.driver_features(), kVersion1);
  (void)h.ask<SetDriverFeaturesResp>(SetDriverFeaturesReq{0, {0x21}});
  EXPECT_EQ(h.t.driver_features(), kVersion1 | 0x21);
  (void)h.ask<SetDriverFeaturesResp>(SetDriverFeaturesReq{0, {0x1, 0x101}});
  EXPECT_EQ(h.t.driver_features(), kVersion1 | kRingReset | 0x1);  // each block replaced as a whole
}

TEST(DeviceTransportFeatures, ZeroBlocksAnsweredAndChangeNothing) {
  Harness h;
  h.set_features(kVersion1 | 1);
  (void)h.ask<SetDriverFeaturesResp>(SetDriverFeaturesReq{0, {}});
  (void)h.ask<SetDriverFeaturesResp>(SetDriverFeaturesReq{0xFFFF'FFFF, {}});
  EXPECT_EQ(h.t.driver_features(), kVersion1 | 1);
}

TEST(DeviceTransportFeatures, ZeroWordsBeyondRangeAreHarmless) {
  Harness h;
  h.set_status(0x03);
  (void)h.ask<SetDriverFeaturesResp>(SetDriverFeaturesReq{1, {0x1, 0, 0, 0}});
  (void)h.ask<SetDriverFeaturesResp>(SetDriverFeaturesReq{7, {0, 0}});
  EXPECT_EQ(h.set_status(0x0B), 0x0Bu);
}

TEST(DeviceTransportFeatures, HugeBlockIndexDoesNotWrapOntoBlockZero) {
  Harness h;
  // Words for blocks 0xFFFFFFFF and 0x100000000, never block 0.
  (void)h.ask<SetDriverFeaturesResp>(SetDriverFeaturesReq{0xFFFF'FFFF, {0, 0x21}});
  EXPECT_EQ(h.t.driver_features(), 0u);
}

TEST(DeviceTransportFeatures, FrozenOnceFeaturesOkAccepted) {
  Harness h;  // G5
  h.negotiate(kVersion1 | 1);
  (void)h.ask<SetDriverFeaturesResp>(SetDriverFeaturesReq{0, {0x20, 0x101}});
  EXPECT_EQ(h.t.driver_features(), kVersion1 | 1);
  // Still frozen when the driver later writes a status without FEATURES_OK (G6).
  EXPECT_EQ(h.set_status(0x03), 0x03u);
  h.set_features(kVersion1);
  EXPECT_EQ(h.t.driver_features(), kVersion1 | 1);
  EXPECT_EQ(h.set_status(0x0B), 0x0Bu);
  EXPECT_EQ(h.backend.accept_calls.size(), 1u);  // no second acceptance round
}

// ---- FEATURES_OK ---------------------------------------------------------------

TEST(DeviceTransportFeatures, AcceptsOfferedSubsetWithVersion1) {
  Harness h;
  h.set_status(0x03);
  const std::uint64_t f = kVersion1 | kEventIdx | kRingReset | 0x20;
  h.set_features(f);
  EXPECT_EQ(h.set_status(0x0B), 0x0Bu);
  EXPECT_EQ(h.get_status(), 0x0Bu);
  EXPECT_TRUE(h.t.features_accepted());
  EXPECT_EQ(h.backend.accept_calls, (std::vector<std::uint64_t>{f}));
  EXPECT_EQ(h.t.stats().features_refused, 0u);
}

struct RefusalCase {
  const char* name;
  std::vector<SetDriverFeaturesReq> writes;
  bool backend_refuses;
  bool backend_asked;
};

class FeaturesOkRefusal : public testing::TestWithParam<RefusalCase> {};

TEST_P(FeaturesOkRefusal, ClearsFeaturesOkAndAllowsRetry) {
  const RefusalCase& c = GetParam();
  Harness h;
  h.backend.refuse_features = c.backend_refuses;
  h.set_status(0x03);
  for (const auto& w : c.writes) (void)h.ask<SetDriverFeaturesResp>(w);
  EXPECT_EQ(h.set_status(0x0B), 0x03u);  // VMSG-DEV-024/053
  EXPECT_EQ(h.get_status(), 0x03u);
  EXPECT_FALSE(h.t.features_accepted());
  EXPECT_EQ(h.t.stats().features_refused, 1u);
  EXPECT_EQ(h.backend.accept_calls.size(), c.backend_asked ? 1u : 0u);
  // Not frozen after a refusal: a good set is accepted after a reset.
  h.backend.refuse_features = false;
  EXPECT_EQ(h.set_status(0), 0u);
  h.negotiate(kVersion1);
}

INSTANTIATE_TEST_SUITE_P(
    DeviceTransportFeatures, FeaturesOkRefusal,
    testing::Values(RefusalCase{"NotOfferedDeviceBit", {{0, {0x2, 0x1}}}, false, false},
                    RefusalCase{"NotificationData", {{0, {0x0, 0x41}}}, false, false},
                    RefusalCase{"NoVersion1", {{0, {0x1, 0x0}}}, false, false},
                    RefusalCase{"BlockBeyondRange", {{0, {0x1, 0x1, 0x1}}}, false, false},
                    // A good in-range set plus a non-zero word for block 0xFFFFFFFF (G4).
                    RefusalCase{"HugeBlockIndex", {{0, {0x1, 0x1}}, {0xFFFF'FFFF, {0x1}}}, false, false},
                    RefusalCase{"BackendRefuses", {{0, {0x1, 0x1}}}, true, true}),
    [](const testing::TestParamInfo<RefusalCase>& i) { return std::string(i.param.name); });

TEST(DeviceTransportFeatures, RefusedSetCanBeCorrectedWithoutReset) {
  Harness h;
  h.set_status(0x03);
  h.set_features(0x1);  // no VERSION_1
  EXPECT_EQ(h.set_status(0x0B), 0x03u);
  h.set_features(kVersion1 | 0x1);
  EXPECT_EQ(h.set_status(0x0B), 0x0Bu);
}

// ---- status --------------------------------------------------------------------

TEST(DeviceTransportStatus, NormalSequence) {
  Harness h;
  EXPECT_EQ(h.get_status(), 0u);
  h.negotiate();
  EXPECT_EQ(h.set_status(0x0F), 0x0Fu);
  EXPECT_EQ(h.get_status(), 0x0Fu);
  EXPECT_TRUE(h.backend.ctx->driver_ok());
}

TEST(DeviceTransportStatus, HighBitsIgnored) {
  Harness h;  // G7
  EXPECT_EQ(h.set_status(0xFFFF'FF01), 0x01u);
  EXPECT_EQ(h.set_status(0x0000'0103), 0x03u);
  EXPECT_EQ(h.get_status(), 0x03u);
  // Only high bits: what is left is 0, a reset.
  EXPECT_EQ(h.set_status(0x0000'FF00), 0u);
  EXPECT_EQ(h.backend.reset_calls, 1u);
}

TEST(DeviceTransportStatus, DriverCannotSetNeedsReset) {
  Harness h;
  EXPECT_EQ(h.set_status(0x43), 0x03u);
  EXPECT_EQ(h.set_status(0x40), 0x00u);  // not a reset write, but nothing of it is the driver's
  EXPECT_EQ(h.backend.reset_calls, 0u);
  EXPECT_TRUE(h.out.posted.empty());
}

TEST(DeviceTransportStatus, DriverCannotClearNeedsReset) {
  Harness h;
  h.negotiate();
  h.backend.ctx->needs_reset();
  h.out.take();
  EXPECT_EQ(h.set_status(0x0F), 0x4Fu);
  EXPECT_EQ(h.set_status(0x01), 0x41u);
  EXPECT_EQ(h.get_status(), 0x41u);
  EXPECT_EQ(h.set_status(0), 0u);  // only a reset clears it
  EXPECT_EQ(h.get_status(), 0u);
}

TEST(DeviceTransportStatus, OtherWritesStoredAsGiven) {
  Harness h;  // G6
  h.negotiate();
  EXPECT_EQ(h.set_status(0x0F), 0x0Fu);
  EXPECT_EQ(h.set_status(0x01), 0x01u);  // clears bits
  EXPECT_EQ(h.set_status(0x8F), 0x8Fu);  // FAILED
  EXPECT_EQ(h.set_status(0x30), 0x30u);  // undefined bits 4, 5
  EXPECT_EQ(h.get_status(), 0x30u);
}

TEST(DeviceTransportStatus, ResetClearsEverythingButGeneration) {
  Harness h({.initial_generation = 100});
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.bring_up(ring, kVersion1 | kEventIdx);
  h.backend.ctx->config_changed(8, 4);
  h.out.take();
  ASSERT_EQ(h.t.generation(), 101u);

  EXPECT_EQ(h.set_status(0), 0u);  // VMSG-DEV-030/041
  EXPECT_EQ(h.get_status(), 0u);
  EXPECT_EQ(h.t.driver_features(), 0u);
  EXPECT_FALSE(h.t.features_accepted());
  EXPECT_EQ(h.get_vqueue(0), (wire::GetVqueueResp{.index = 0, .max_size = 8}));
  EXPECT_EQ(h.t.configured_queue(0), nullptr);
  EXPECT_EQ(h.backend.reset_calls, 1u);
  EXPECT_EQ(h.t.stats().resets, 1u);
  EXPECT_EQ(h.config_generation(), 101u);  // not reset (§10)
  EXPECT_FALSE(h.backend.ctx->driver_ok());
  // Features are negotiable again.
  h.negotiate(kVersion1 | 1);
  EXPECT_EQ(h.t.driver_features(), kVersion1 | 1);
}

}  // namespace
}  // namespace vmsg::transport::test

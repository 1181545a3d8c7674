// DeviceTransport under REV1-2026 (TransportOptions::layout = Rev1):
// GET_DEVICE_INFO, the queue enabled state and SET_VQUEUE flags,
// RESET_VQUEUE without RING_RESET, GET_SHM, the configuration semantics
// profiles, and the transport-side REV1 fault modes.
// FakeBackend: queue 0 max 8, queue 1 max 16; config bytes 0..7 read-only.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "transport_test_support.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::transport::test {
namespace {

namespace vf = wire::vqueue_flags;
using wire::GetVqueueResp;
using wire::SetVqueueReq;

TransportOptions rev1(bool strict = false) {
  TransportOptions o;
  o.layout = wire::Layout::Rev1;
  o.strict_config_generation = strict;
  return o;
}

TransportOptions rev1_with(fault::Fault f, bool strict = false) {
  TransportOptions o = rev1(strict);
  o.faults.set(f);
  return o;
}

/// `ring`'s SET_VQUEUE for queue `q` with the given flags.
SetVqueueReq with_flags(const TestRing& ring, std::uint32_t q, std::uint32_t flags) {
  SetVqueueReq r = ring.set_vqueue(q);
  r.flags = flags;
  return r;
}

GetVqueueResp fields(std::uint32_t index, std::uint32_t max, const TestRing& ring, bool enabled) {
  const auto l = ring.layout();
  return {.index = index, .max_size = max, .cur_size = l.size, .flags = enabled ? vf::kEnabled : 0u,
          .desc_addr = l.desc_addr, .driver_addr = l.driver_addr, .device_addr = l.device_addr};
}

// ---- GET_DEVICE_INFO ---------------------------------------------------------------

TEST(DeviceTransportRev1, DeviceInfoCountsFeatureBlocksAndReportsTheNilUuid) {
  Harness h(rev1());
  const auto info = h.ask<wire::GetDeviceInfoResp>(wire::GetDeviceInfoReq{});
  EXPECT_EQ(info.device_id, 42u);
  EXPECT_EQ(info.num_feature_bits, 0u);    // PR28's field stays empty: the response must encode
  EXPECT_EQ(info.num_feature_blocks, 2u);  // RING_RESET (bit 40) is offered: blocks 0 and 1 (REV1 L1275-1276)
  EXPECT_EQ(info.device_uuid, (std::array<std::uint8_t, 16>{}));  // L1290-1291
  EXPECT_EQ(info.max_virtqueues, 2u);
  EXPECT_EQ(info.admin_vq_start, 0u);
  EXPECT_EQ(info.admin_vq_count, 0u);
  const auto bytes = wire::encode(wire::Message{.dev_num = 5, .token = 1, .reserved_type_bits = 0, .body = info},
                                  wire::Profile::rev1());
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes.value().size(), 52u);
}

TEST(DeviceTransportRev1, FeatureBlocksCoverOnlyWhatIsOffered) {
  TransportOptions o = rev1();
  o.offer_ring_reset = false;
  auto b = std::make_unique<FakeBackend>();
  b->features = bit(0);
  Harness h(o, std::move(b));
  // VERSION_1 (bit 32) is the highest offered bit: still two blocks.
  EXPECT_EQ(h.ask<wire::GetDeviceInfoResp>(wire::GetDeviceInfoReq{}).num_feature_blocks, 2u);
}

TEST(DeviceTransportRev1, ConfiguredVersion4UuidIsReported) {
  TransportOptions o = rev1();
  o.device_uuid = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef, 0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  Harness h(o);
  EXPECT_EQ(h.ask<wire::GetDeviceInfoResp>(wire::GetDeviceInfoReq{}).device_uuid, o.device_uuid);
}

TEST(DeviceTransportRev1, UuidThatIsNotVersion4IsRefused) {
  TransportOptions o = rev1();
  o.device_uuid[0] = 1;  // version nibble 0
  EXPECT_THROW((DeviceTransport(std::make_unique<FakeBackend>(), o)), ConfigError);
  o.device_uuid[6] = 0x40;  // version 4 but variant bits 00
  EXPECT_THROW((DeviceTransport(std::make_unique<FakeBackend>(), o)), ConfigError);
  o.device_uuid[8] = 0x80;
  EXPECT_NO_THROW((DeviceTransport(std::make_unique<FakeBackend>(), o)));
}

TEST(DeviceTransportRev1, MoreThan65536QueuesIsRefused) {
  auto b = std::make_unique<FakeBackend>();
  b->max_sizes.assign(65537, 8);
  EXPECT_THROW((DeviceTransport(std::move(b), rev1())), ConfigError);  // L1277
  auto ok = std::make_unique<FakeBackend>();
  ok->max_sizes.assign(65536, 8);
  EXPECT_NO_THROW((DeviceTransport(std::move(ok), rev1())));
}

TEST(DeviceTransportRev1, NotifConfigDataIsNeverOffered) {
  for (const wire::Layout layout : {wire::Layout::Pr28, wire::Layout::Rev1}) {
    TransportOptions o;
    o.layout = layout;
    auto b = std::make_unique<FakeBackend>();
    b->features = bit(0) | bit(39);  // a backend that asks for it anyway
    Harness h(o, std::move(b));
    EXPECT_EQ(h.t.offered_features() & bit(39), 0u);  // REV1 L903
    const auto f = h.ask<wire::GetDeviceFeaturesResp>(wire::GetDeviceFeaturesReq{.block_index = 1, .num_blocks = 1});
    ASSERT_EQ(f.features.size(), 1u);
    EXPECT_EQ(f.features[0] & (1u << 7), 0u);
  }
}

// ---- GET_VQUEUE / SET_VQUEUE -----------------------------------------------------------

TEST(DeviceTransportRev1, MissingQueuesReadAllZeroWithTheIndexEchoed) {
  Harness h(rev1());
  for (std::uint32_t i : {2u, 3u, 0xFFFFu, 0x10000u, 0xFFFF'FFFFu}) {
    EXPECT_EQ(h.get_vqueue(i), (GetVqueueResp{.index = i})) << i;  // L1591-1596
  }
  EXPECT_EQ(h.get_vqueue(1), (GetVqueueResp{.index = 1, .max_size = 16}));  // never configured
}

TEST(DeviceTransportRev1, FlagsZeroStoresFieldsAndLeavesTheQueueDisabled) {
  Harness h(rev1());
  h.negotiate();
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(with_flags(ring, 0, vf::kKeepDisabled));
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, ring, false));
  EXPECT_EQ(h.t.configured_queue(0), nullptr);
  ASSERT_EQ(h.set_status(0x0F), 0x0Fu);
  ring.add_buffer(Harness::kBufAddr, 16, true);
  EXPECT_TRUE(h.kick(0).empty());  // a disabled queue is not processed
  EXPECT_TRUE(h.backend.process_calls.empty());
  // Enable with every field ignored: the stored ones become the ring.
  h.set_vqueue(with_flags(ring, 0, vf::kEnable | vf::kIgnoreAll));
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, ring, true));
  ASSERT_NE(h.t.configured_queue(0), nullptr);
  EXPECT_EQ(h.t.configured_queue(0)->layout(), ring.layout());
  EXPECT_EQ(h.kick(0).size(), 1u);  // EVENT_USED
  EXPECT_EQ(h.backend.chains_used, 1u);
}

TEST(DeviceTransportRev1, FieldsCanArriveInSeveralRequests) {
  Harness h(rev1());
  h.negotiate();
  TestRing ring(h.mem, Harness::kRamBase, 8);
  const SetVqueueReq full = ring.set_vqueue(0);
  SetVqueueReq size_only = full;
  size_only.flags = vf::kKeepDisabled | vf::kIgnoreDesc | vf::kIgnoreDriver | vf::kIgnoreDevice;
  h.set_vqueue(size_only);
  EXPECT_EQ(h.get_vqueue(0), (GetVqueueResp{.index = 0, .max_size = 8, .cur_size = 8}));
  SetVqueueReq desc_only = full;
  desc_only.flags = vf::kKeepState | vf::kIgnoreSize | vf::kIgnoreDriver | vf::kIgnoreDevice;
  h.set_vqueue(desc_only);
  SetVqueueReq rings_and_enable = full;
  rings_and_enable.flags = vf::kEnable | vf::kIgnoreSize | vf::kIgnoreDesc;
  rings_and_enable.size = 0;  // ignored, so not checked
  h.set_vqueue(rings_and_enable);
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, ring, true));
}

TEST(DeviceTransportRev1, EnableAtOnceWithAllFields) {
  Harness h(rev1());
  TestRing ring(h.mem, Harness::kRamBase, 4);
  h.set_vqueue(with_flags(ring, 1, vf::kEnable));
  EXPECT_EQ(h.get_vqueue(1), fields(1, 16, ring, true));
  EXPECT_TRUE(h.backend.queue_resets.empty());
}

/// Sends `r` and checks it is answered once (Harness::request) and changes nothing.
void expect_noop(Harness& h, const SetVqueueReq& r) {
  const GetVqueueResp q0 = h.get_vqueue(0);
  const GetVqueueResp q1 = h.get_vqueue(1);
  const auto* live = h.t.configured_queue(0);
  const auto resets = h.backend.queue_resets.size();
  const auto noops = h.t.stats().vqueue_noops;
  h.set_vqueue(r);
  EXPECT_EQ(h.get_vqueue(0), q0) << wire::to_string(wire::Message{.body = r});
  EXPECT_EQ(h.get_vqueue(1), q1) << wire::to_string(wire::Message{.body = r});
  EXPECT_EQ(h.t.configured_queue(0), live);
  EXPECT_EQ(h.backend.queue_resets.size(), resets);
  EXPECT_EQ(h.t.stats().vqueue_noops, noops + 1);
}

TEST(DeviceTransportRev1, BadFlagsChangeNothingOnADisabledQueue) {
  Harness h(rev1());
  h.negotiate();
  TestRing stored(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(with_flags(stored, 0, vf::kKeepDisabled));
  TestRing other(h.mem, Harness::kRamBase + 0x400, 4);
  for (unsigned b = 6; b < 32; ++b) expect_noop(h, with_flags(other, 0, vf::kEnable | (1u << b)));
  for (std::uint32_t ignore = 0; ignore < 16; ++ignore) expect_noop(h, with_flags(other, 0, 3 | (ignore << 2)));
  SetVqueueReq reserved = with_flags(other, 0, vf::kEnable);
  reserved.reserved = 1;
  expect_noop(h, reserved);
  for (std::uint32_t size : {0u, 3u, 16u}) {  // zero, not a power of two, above max 8
    SetVqueueReq bad = with_flags(other, 0, vf::kEnable);
    bad.size = size;
    expect_noop(h, bad);
  }
  SetVqueueReq misaligned = with_flags(other, 0, vf::kEnable);
  misaligned.desc_addr += 8;  // descriptors need 16-byte alignment: the ring cannot be built
  expect_noop(h, misaligned);
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, stored, false));
}

TEST(DeviceTransportRev1, EnablingAQueueThatWasNeverGivenASizeChangesNothing) {
  Harness h(rev1());
  expect_noop(h, SetVqueueReq{.index = 0, .flags = vf::kEnable | vf::kIgnoreAll});
  EXPECT_EQ(h.get_vqueue(0), (GetVqueueResp{.index = 0, .max_size = 8}));
}

TEST(DeviceTransportRev1, AnEnabledQueueIsNeitherDisabledNorReconfigured) {
  Harness h(rev1());
  h.negotiate();
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(with_flags(ring, 0, vf::kEnable));
  TestRing other(h.mem, Harness::kRamBase + 0x400, 4);
  for (std::uint32_t ignore = 0; ignore < 16; ++ignore) {
    expect_noop(h, with_flags(other, 0, vf::kKeepDisabled | (ignore << 2)));  // L1681-1684
    if (ignore != 15) {
      expect_noop(h, with_flags(other, 0, vf::kEnable | (ignore << 2)));     // L1692-1696
      expect_noop(h, with_flags(other, 0, vf::kKeepState | (ignore << 2)));
    }
  }
  // The same values count as an update too (reading of "attempts to update").
  expect_noop(h, with_flags(ring, 0, vf::kEnable));
  // Keeping or re-enabling with every field ignored is accepted and changes nothing.
  const auto noops = h.t.stats().vqueue_noops;
  h.set_vqueue(with_flags(other, 0, vf::kKeepState | vf::kIgnoreAll));
  h.set_vqueue(with_flags(other, 0, vf::kEnable | vf::kIgnoreAll));
  EXPECT_EQ(h.t.stats().vqueue_noops, noops);
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, ring, true));
  EXPECT_TRUE(h.backend.queue_resets.empty());
}

TEST(DeviceTransportRev1, OutOfRangeSetVqueueIsANoop) {
  Harness h(rev1());
  TestRing ring(h.mem, Harness::kRamBase, 8);
  for (std::uint32_t q : {2u, 0xFFFFu, 0xFFFF'FFFFu}) expect_noop(h, with_flags(ring, q, vf::kEnable));  // L1673-1676
}

TEST(DeviceTransportRev1, ResetClearsStoredFields) {
  Harness h(rev1());
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(with_flags(ring, 0, vf::kKeepDisabled));
  h.set_vqueue(with_flags(ring, 1, vf::kEnable));
  EXPECT_EQ(h.set_status(0), 0u);
  EXPECT_EQ(h.get_vqueue(0), (GetVqueueResp{.index = 0, .max_size = 8}));
  EXPECT_EQ(h.get_vqueue(1), (GetVqueueResp{.index = 1, .max_size = 16}));
}

// ---- RESET_VQUEUE ----------------------------------------------------------------------

TEST(DeviceTransportRev1, ResetVqueueWithRingResetDisablesAndClears) {
  Harness h(rev1());
  h.negotiate(kVersion1 | kRingReset);
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(with_flags(ring, 0, vf::kEnable));
  (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});  // L1741-1744
  EXPECT_EQ(h.get_vqueue(0), (GetVqueueResp{.index = 0, .max_size = 8}));
  EXPECT_EQ(h.t.configured_queue(0), nullptr);
  EXPECT_EQ(h.backend.queue_resets, (std::vector<unsigned>{0}));
  h.set_vqueue(with_flags(ring, 0, vf::kEnable));  // set up again while disabled
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, ring, true));
}

TEST(DeviceTransportRev1, ResetVqueueWithoutRingResetDoesNothing) {
  Harness h(rev1());
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(with_flags(ring, 0, vf::kEnable));
  (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});  // nothing negotiated yet
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, ring, true));
  h.set_status(0);
  h.negotiate(kVersion1);  // RING_RESET offered but not taken
  h.set_vqueue(with_flags(ring, 0, vf::kEnable));
  const auto noops = h.t.stats().vqueue_noops;
  (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});  // L1738-1740
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, ring, true));
  EXPECT_TRUE(h.backend.queue_resets.empty());
  EXPECT_EQ(h.t.stats().vqueue_noops, noops + 1);
}

TEST(DeviceTransportRev1, ResetVqueueOutOfRangeDoesNothing) {
  Harness h(rev1());
  h.negotiate(kVersion1 | kRingReset);
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(with_flags(ring, 0, vf::kEnable));
  for (std::uint32_t q : {2u, 1024u, 0xFFFF'FFFFu}) (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{q});
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, ring, true));
  EXPECT_TRUE(h.backend.queue_resets.empty());
}

// ---- GET_SHM ---------------------------------------------------------------------------

TEST(DeviceTransportRev1, GetShmAnswersLengthZeroAndEncodesIn32Bytes) {
  Harness h(rev1());
  for (std::uint32_t id : {0u, 1u, 0xFFFF'FFFFu}) {
    const auto r = h.ask<wire::GetShmResp>(wire::GetShmReq{id});
    EXPECT_EQ(r, (wire::GetShmResp{.index = id, .length = 0, .address = 0, .reserved = 0}));  // L1770-1774
    const auto bytes = wire::encode(wire::Message{.dev_num = 5, .token = 0, .reserved_type_bits = 0, .body = r},
                                    wire::Profile::rev1());
    ASSERT_TRUE(bytes);
    EXPECT_EQ(bytes.value().size(), 32u);
  }
}

// ---- configuration profiles ------------------------------------------------------------

wire::SetConfigResp write(Harness& h, std::uint32_t generation, std::uint32_t offset, Bytes data) {
  return h.ask<wire::SetConfigResp>(wire::SetConfigReq{.generation = generation, .offset = offset, .data = data});
}

TEST(DeviceTransportRev1, BaselineAppliesWritesWhateverTheGeneration) {
  Harness h(rev1());
  const std::uint32_t g = h.config_generation();
  for (std::uint32_t sent : {0u, g + 7, 0xFFFF'FFFFu}) {  // the driver sends 0 (L403-404); any value is ignored
    const Bytes data{static_cast<std::uint8_t>(sent), 0x42};
    const auto r = write(h, sent, 16, data);
    EXPECT_EQ(r.length, 2u) << sent;  // L431-434
    EXPECT_EQ(r.data, data);
    EXPECT_EQ(r.generation, h.config_generation());
    EXPECT_EQ(h.backend.config[16], data[0]);
  }
  EXPECT_EQ(h.t.stats().config_rejected, 0u);
}

TEST(DeviceTransportRev1, StrictRefusesAStaleGeneration) {
  Harness h(rev1(true));
  const std::uint32_t g = h.config_generation();
  const auto stale = write(h, g + 1, 16, {1, 2});
  EXPECT_EQ(stale, (wire::SetConfigResp{.generation = g, .offset = 16, .length = 0, .data = {}}));  // L459-461
  EXPECT_EQ(h.backend.config[16], 0x20);
  const auto ok = write(h, g, 16, {1, 2});
  EXPECT_EQ(ok.length, 2u);
  EXPECT_EQ(h.backend.config[16], 1);
}

TEST(DeviceTransportRev1, FaultStaleGenerationRejectedActsStrictOnTheBaseline) {
  Harness h(rev1_with(fault::Fault::Rev1StaleGenerationRejected));
  const std::uint32_t g = h.config_generation();
  EXPECT_EQ(write(h, g + 1, 16, {1}).length, 0u);
  EXPECT_EQ(h.backend.config[16], 0x20);
  EXPECT_EQ(write(h, g, 16, {1}).length, 1u);
}

TEST(DeviceTransportRev1, WritesAreAllOrNothing) {
  Harness h(rev1());
  const auto past_end = write(h, 0, 62, {1, 2, 3});  // two bytes inside, one past config_size 64
  EXPECT_EQ(past_end.length, 0u);                     // L1458-1464: nothing applied, no data
  EXPECT_TRUE(past_end.data.empty());
  EXPECT_EQ(h.backend.config[62], 0x10 + 62);
  const auto read_only = write(h, 0, 6, {1, 2, 3, 4});  // overlaps the read-only bytes 0..7
  EXPECT_EQ(read_only.length, 0u);
  EXPECT_TRUE(read_only.data.empty());
  EXPECT_EQ(h.backend.config[8], 0x18);
  const auto nothing = write(h, 0, 20, {});  // length 0: a no-op (L1456-1457)
  EXPECT_EQ(nothing.length, 0u);
  EXPECT_TRUE(nothing.data.empty());
}

TEST(DeviceTransportRev1, StatusWritesSendNoEventConfig) {
  Harness h(rev1());
  // Harness::request fails the test on any message besides the response.
  h.negotiate();
  EXPECT_EQ(h.set_status(0x0F), 0x0Fu);
  EXPECT_EQ(h.set_status(0), 0u);
  EXPECT_EQ(h.t.stats().event_config_sent, 0u);
}

// ---- rev1-vqueue-flags-ignored -------------------------------------------------------------

TEST(DeviceTransportRev1, FaultFlagsIgnoredConfiguresAndEnablesEverything) {
  Harness h(rev1_with(fault::Fault::Rev1VqueueFlagsIgnored));
  h.negotiate();
  TestRing ring(h.mem, Harness::kRamBase, 8);
  SetVqueueReq r = with_flags(ring, 0, vf::kKeepDisabled);
  r.reserved = 1;
  h.set_vqueue(r);
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, ring, true));  // enabled despite state op 0 and the reserved word
  TestRing other(h.mem, Harness::kRamBase + 0x400, 4);
  h.set_vqueue(with_flags(other, 0, vf::kKeepState | vf::kIgnoreAll));  // ignore bits ignored too
  EXPECT_EQ(h.get_vqueue(0), fields(0, 8, other, true));
}

TEST(DeviceTransportRev1, Rev1FaultsDoNothingUnderPr28) {
  TransportOptions o;
  o.faults.set(fault::Fault::Rev1StaleGenerationRejected).set(fault::Fault::Rev1VqueueFlagsIgnored);
  Harness h(o);
  const std::uint32_t g = h.config_generation();
  EXPECT_EQ(write(h, g + 1, 16, {1}).length, 0u);  // PR28 is strict anyway
  EXPECT_EQ(write(h, g, 16, {1}).length, 1u);
  TestRing ring(h.mem, Harness::kRamBase, 8);
  h.set_vqueue(ring.set_vqueue(0));
  EXPECT_EQ(h.get_vqueue(0).flags, 0u);  // PR28's reserved word stays 0
}

// ---- options_for_bus -----------------------------------------------------------------------

TEST(DeviceTransportRev1, OptionsForBusTakeLayoutSizeAndStrictness) {
  bus::BusOptions b;
  b.strict_config_generation = true;
  const TransportOptions o =
      options_for_bus(wire::Profile::rev1(128), b, fault::FaultSet{}.set(fault::Fault::DuplicateResponse));
  EXPECT_EQ(o.layout, wire::Layout::Rev1);
  EXPECT_EQ(o.max_msg_size, 128u);
  EXPECT_TRUE(o.strict_config_generation);
  EXPECT_TRUE(o.faults.has(fault::Fault::DuplicateResponse));
  const TransportOptions p = options_for_bus(wire::Profile::pr28(), bus::BusOptions{}, {});
  EXPECT_EQ(p.layout, wire::Layout::Pr28);
  EXPECT_EQ(p.max_msg_size, TransportOptions{}.max_msg_size);
  EXPECT_FALSE(p.strict_config_generation);
}

}  // namespace
}  // namespace vmsg::transport::test

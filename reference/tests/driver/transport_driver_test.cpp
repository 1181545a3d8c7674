// TransportDriver against a scripted PR28 peer: the exact message sequences
// of §7, the bounds and generation rules of §10, queue setup of §11, and the
// typed errors for every way a device can fail the driver.
#include "vmsg/driver/transport_driver.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "driver/virtio_peer.hpp"
#include "vmsg/common/errors.hpp"

namespace vmsg::driver {
namespace {

using testing::errc;
using testing::FakeVirtio;
using testing::PeerRig;
using vfeature::bit;
using Names = std::vector<std::string>;

constexpr std::uint16_t kDev = 3;

/// A rig with one FakeVirtio at kDev and its transport driver.
struct Rig : PeerRig {
  explicit Rig(FakeVirtio dev = {}, const TransportDriverOptions& options = {}) : t(bus, kDev, options) {
    peer.devices[kDev] = std::move(dev);
  }
  FakeVirtio& dev() { return peer.devices[kDev]; }
  TransportDriver t;
};

std::string why(const VirtioError& e) { return describe(e); }

TEST(TransportDriver, InitRunsTheSection7SequenceAndNegotiatesTheIntersection) {
  Rig r;
  auto n = r.t.init(bit(vfeature::kVersion1) | bit(vfeature::kEventIdx) | bit(0));  // bit 0 is not offered
  ASSERT_TRUE(n.ok()) << why(n.error());
  EXPECT_EQ(*n, bit(vfeature::kVersion1) | bit(vfeature::kEventIdx));
  EXPECT_EQ(r.peer.names(), (Names{"GET_DEVICE_INFO", "SET_DEVICE_STATUS", "SET_DEVICE_STATUS", "SET_DEVICE_STATUS",
                                   "GET_DEVICE_FEATURES", "SET_DRIVER_FEATURES", "SET_DEVICE_STATUS",
                                   "GET_DEVICE_STATUS"}));
  std::vector<std::uint32_t> statuses;
  for (const auto& s : r.peer.sent<wire::SetDeviceStatusReq>()) statuses.push_back(s.status);
  EXPECT_EQ(statuses, (std::vector<std::uint32_t>{0x00, 0x01, 0x03, 0x0B}));
  EXPECT_EQ(r.peer.sent<wire::GetDeviceFeaturesReq>().at(0), (wire::GetDeviceFeaturesReq{0, 2}));
  EXPECT_EQ(r.peer.sent<wire::SetDriverFeaturesReq>().at(0),
            (wire::SetDriverFeaturesReq{0, {0x2000'0000U, 0x1U}}));
  EXPECT_EQ(r.t.phase(), Phase::FeaturesOk);
  EXPECT_EQ(r.t.status(), 0x0Bu);
  EXPECT_EQ(r.t.device_features(), bit(vfeature::kVersion1) | bit(vfeature::kEventIdx));
}

TEST(TransportDriver, EveryFrameHasZeroReservedBitsExactSizeAndTheDeviceNumber) {
  Rig r;
  ASSERT_TRUE(r.t.init(bit(vfeature::kVersion1)).ok());
  ASSERT_TRUE(r.t.read_config(0, 8).ok());
  ASSERT_FALSE(r.peer.frames.empty());
  EXPECT_TRUE(r.peer.decode_failures.empty());  // decoded with strict_type_bits
  for (std::size_t i = 0; i < r.peer.frames.size(); ++i) {
    const auto& f = r.peer.frames[i];
    EXPECT_EQ(f[0], 0x00) << i;                                             // VMSG-DRV-009: request, transport, bits 2..7 zero
    EXPECT_EQ(le::load16(f, 2), kDev) << i;                                 // VMSG-DRV-013
    EXPECT_EQ(le::load16(f, 6), wire::encoded_size(r.peer.received[i], wire::Profile::pr28())) << i;  // VMSG-DRV-011
  }
}

TEST(TransportDriver, NotificationDataAndPackedRingsAreNeverNegotiated) {
  FakeVirtio d;
  d.offered = {0x2000'0000U, 0x1U | 0x4U | 0x40U};  // + RING_PACKED (34), NOTIFICATION_DATA (38)
  Rig r(d);
  auto n = r.t.init(~std::uint64_t{0});
  ASSERT_TRUE(n.ok()) << why(n.error());
  EXPECT_EQ(*n, bit(vfeature::kEventIdx) | bit(vfeature::kVersion1));
  EXPECT_EQ(r.dev().driver_features, (std::vector<std::uint32_t>{0x2000'0000U, 0x1U}));
}

TEST(TransportDriver, FeatureBlocksAreSplitToFitTheBus) {
  FakeVirtio d;
  d.num_feature_bits = 20 * 32;
  d.offered.assign(20, 0);
  d.offered[1] = 1;           // VERSION_1
  d.offered[19] = 0x8000'0000U;  // bit 639: offered but not wanted
  Rig r(d);
  auto n = r.t.init(bit(vfeature::kVersion1));
  ASSERT_TRUE(n.ok()) << why(n.error());
  // (64 - 16) / 4 = 12 blocks per message.
  EXPECT_EQ(r.peer.sent<wire::GetDeviceFeaturesReq>(),
            (std::vector<wire::GetDeviceFeaturesReq>{{0, 12}, {12, 8}}));
  const auto set = r.peer.sent<wire::SetDriverFeaturesReq>();
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set[0].block_index, 0u);
  EXPECT_EQ(set[0].features.size(), 12u);
  EXPECT_EQ(set[0].features[1], 1u);
  EXPECT_EQ(set[1].block_index, 12u);
  EXPECT_EQ(set[1].features, std::vector<std::uint32_t>(8, 0));  // only wanted bits (VMSG-DRV-023)
}

TEST(TransportDriver, ShortFeatureAnswersAreContinuedFromWhereTheyStopped) {
  FakeVirtio d;
  d.num_feature_bits = 20 * 32;
  d.offered.assign(20, 0);
  d.offered[1] = 1;
  d.max_blocks_per_response = 5;  // G3: as many blocks as fit
  Rig r(d);
  ASSERT_TRUE(r.t.init(bit(vfeature::kVersion1)).ok());
  EXPECT_EQ(r.peer.sent<wire::GetDeviceFeaturesReq>(),
            (std::vector<wire::GetDeviceFeaturesReq>{{0, 12}, {5, 12}, {10, 10}, {15, 5}}));
  EXPECT_EQ(r.t.features(), bit(vfeature::kVersion1));
}

TEST(TransportDriver, RefusedFeaturesWriteFailedAndReportFeaturesRefused) {
  FakeVirtio d;
  d.refuse_features = true;
  Rig r(d);
  auto n = r.t.init(bit(vfeature::kVersion1));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(errc(n), VirtioErrc::FeaturesRefused);
  EXPECT_EQ(r.t.phase(), Phase::Failed);
  const auto st = r.peer.sent<wire::SetDeviceStatusReq>();
  ASSERT_EQ(st.size(), 5u);
  EXPECT_EQ(st[4].status, 0x83u);  // ACK | DRIVER | FAILED, FEATURES_OK was not kept
  EXPECT_TRUE(r.peer.sent<wire::GetDeviceStatusReq>().empty());
}

TEST(TransportDriver, FeaturesOkMissingFromTheStatusReadBackIsARefusal) {
  FakeVirtio d;
  d.forget_features_ok = true;
  Rig r(d);
  auto n = r.t.init(bit(vfeature::kVersion1));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(errc(n), VirtioErrc::FeaturesRefused);
  EXPECT_EQ(r.peer.sent<wire::GetDeviceStatusReq>().size(), 1u);  // VMSG-DRV-059 re-read happened
}

TEST(TransportDriver, AStatusTheDeviceDoesNotTakeIsStatusRejected) {
  Rig r;
  r.peer.handler = [&](const wire::Message& m) {
    std::vector<wire::Message> out;
    for (auto& b : r.dev().handle(m.body)) out.push_back(wire::Message{.dev_num = m.dev_num, .body = b});
    if (const auto* s = std::get_if<wire::SetDeviceStatusReq>(&m.body); s && s->status == 0x03) {
      out[0].body = wire::SetDeviceStatusResp{0x01};  // DRIVER not taken
    }
    return out;
  };
  auto n = r.t.init(0);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(errc(n), VirtioErrc::StatusRejected);
  EXPECT_NE(n.error().message.find("0x1"), std::string::npos) << n.error().message;
}

TEST(TransportDriver, MissingMalformedAndMismatchedResponsesAreTypedErrors) {
  {
    Rig r;
    r.peer.handler = [](const wire::Message&) { return std::vector<wire::Message>{}; };
    auto i = r.t.get_info();
    ASSERT_FALSE(i.ok());
    EXPECT_EQ(errc(i), VirtioErrc::NoResponse);
  }
  {
    Rig r;
    r.peer.handler = [&](const wire::Message&) {
      const std::uint8_t junk[8] = {0x01, 0x02, kDev, 0, 0, 0, 3, 0};  // msg_size 3 < header
      r.peer.push_raw(junk);
      return std::vector<wire::Message>{};
    };
    auto i = r.t.get_info();
    ASSERT_FALSE(i.ok());
    EXPECT_EQ(errc(i), VirtioErrc::MalformedResponse);
    EXPECT_NE(i.error().message.find("size"), std::string::npos) << i.error().message;
  }
  {
    Rig r;
    ASSERT_TRUE(r.t.init(0).ok());
    r.peer.handler = [&](const wire::Message& m) {
      std::vector<wire::Message> out{wire::Message{.dev_num = kDev, .body = r.dev().handle(m.body).at(0)}};
      if (auto* g = std::get_if<wire::GetVqueueResp>(&out[0].body)) g->index = 9;
      return out;
    };
    GuestAllocator ram(r.port.address_map());
    auto q = r.t.setup_queue(0, 8, ram);
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(errc(q), VirtioErrc::BadResponse);
  }
}

TEST(TransportDriver, ConfigAccessBeyondConfigSizeSendsNothing) {
  Rig r;
  ASSERT_TRUE(r.t.get_info().ok());
  r.peer.clear();
  const std::vector<std::uint8_t> two(2, 0);
  EXPECT_EQ(errc(r.t.read_config(7, 2)), VirtioErrc::OutOfRange);
  EXPECT_EQ(errc(r.t.read_config(0xFFFF'FFFFU, 2)), VirtioErrc::OutOfRange);  // no 32-bit wrap
  EXPECT_EQ(errc(r.t.write_config(8, std::span<const std::uint8_t>(two.data(), 1))), VirtioErrc::OutOfRange);
  EXPECT_TRUE(r.peer.received.empty());
  auto ok = r.t.read_config(6, 2);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(r.peer.sent<wire::GetConfigReq>(), (std::vector<wire::GetConfigReq>{{6, 2}}));
}

TEST(TransportDriver, LongConfigReadsAreChunkedToTheBusMaximum) {
  FakeVirtio d;
  d.config.resize(100);
  for (std::size_t i = 0; i < d.config.size(); ++i) d.config[i] = static_cast<std::uint8_t>(i * 7 + 1);
  Rig r(d);
  auto c = r.t.read_config(0, 100);
  ASSERT_TRUE(c.ok()) << why(c.error());
  EXPECT_EQ(*c, r.dev().config);
  // 64 - 20 = 44 data bytes per GET_CONFIG response.
  EXPECT_EQ(r.peer.sent<wire::GetConfigReq>(), (std::vector<wire::GetConfigReq>{{0, 44}, {44, 44}, {88, 12}}));
  EXPECT_EQ(r.t.generation(), 7u);
  EXPECT_EQ(r.t.cached_config(0, 100), r.dev().config);
  EXPECT_FALSE(r.t.config_stale());
}

TEST(TransportDriver, AGenerationChangeBetweenChunksRestartsTheWholeRead) {
  FakeVirtio d;
  d.config.assign(60, 0xAA);
  Rig r(d);
  unsigned calls = 0;
  r.dev().before_get_config = [&](const wire::GetConfigReq&) {
    if (++calls == 2) {  // between the two chunks of the first attempt
      r.dev().generation = 8;
      std::fill(r.dev().config.begin(), r.dev().config.end(), 0xBB);
    }
  };
  auto c = r.t.read_config(0, 60);
  ASSERT_TRUE(c.ok()) << why(c.error());
  EXPECT_EQ(*c, std::vector<std::uint8_t>(60, 0xBB));  // no mix of two versions
  EXPECT_EQ(r.peer.sent<wire::GetConfigReq>(),
            (std::vector<wire::GetConfigReq>{{0, 44}, {44, 16}, {0, 44}, {44, 16}}));
  EXPECT_EQ(r.t.stats().config_read_restarts, 1u);
  EXPECT_EQ(r.t.generation(), 8u);
}

TEST(TransportDriver, AGenerationThatNeverSettlesGivesGenerationUnstable) {
  FakeVirtio d;
  d.config.assign(60, 0);
  Rig r(d);
  r.dev().before_get_config = [&](const wire::GetConfigReq&) { ++r.dev().generation; };
  auto c = r.t.read_config(0, 60);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(errc(c), VirtioErrc::GenerationUnstable);
  // Each of the 1 + 8 attempts stops at the second chunk.
  EXPECT_EQ(r.peer.sent<wire::GetConfigReq>().size(), 2u * (1 + r.t.options().config_read_retries));
}

TEST(TransportDriver, SetConfigCarriesTheGenerationOfTheLatestEventConfig) {
  Rig r;
  ASSERT_TRUE(r.t.get_info().ok());
  r.dev().generation = 42;
  r.peer.push(wire::Message{.dev_num = kDev, .body = wire::EventConfig{0, 42, 0, 0, {}}});
  ASSERT_TRUE(r.t.poll().ok());
  EXPECT_EQ(r.t.generation(), 42u);
  const std::vector<std::uint8_t> v{1, 2, 3, 4};
  ASSERT_TRUE(r.t.write_config(4, v).ok());
  const auto w = r.peer.sent<wire::SetConfigReq>();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].generation, 42u);  // VMSG-DRV-006/056
  EXPECT_EQ(w[0].offset, 4u);
  EXPECT_EQ(w[0].data, v);
  EXPECT_EQ(std::vector<std::uint8_t>(r.dev().config.begin() + 4, r.dev().config.end()), v);
}

TEST(TransportDriver, AStaleGenerationRejectionIsFollowedByGetConfigThenARetry) {
  Rig r;
  ASSERT_TRUE(r.t.read_config(0, 8).ok());  // learns generation 7
  r.dev().generation = 9;                   // moved without telling (no event)
  const std::vector<std::uint8_t> v{5, 6};
  r.peer.clear();
  ASSERT_TRUE(r.t.write_config(2, v).ok());
  EXPECT_EQ(r.peer.names(), (Names{"SET_CONFIG", "GET_CONFIG", "SET_CONFIG"}));  // VMSG-DRV-007/028
  const auto w = r.peer.sent<wire::SetConfigReq>();
  EXPECT_EQ(w[0].generation, 7u);
  EXPECT_EQ(w[1].generation, 9u);
  EXPECT_EQ(r.peer.sent<wire::GetConfigReq>().back(), (wire::GetConfigReq{2, 2}));
  EXPECT_EQ(r.t.stats().config_write_rejects, 1u);
  EXPECT_EQ(r.dev().config[2], 5);
}

TEST(TransportDriver, ARefusalAtTheCurrentGenerationIsNotRetried) {
  FakeVirtio d;
  d.config_read_only = true;
  Rig r(d);
  const std::vector<std::uint8_t> v{1};
  auto w = r.t.write_config(0, v);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(errc(w), VirtioErrc::ConfigRejected);
  // The generation is learnt first, then one write, one re-read: same count, no retry.
  EXPECT_EQ(r.peer.names(), (Names{"GET_DEVICE_INFO", "GET_CONFIG", "SET_CONFIG", "GET_CONFIG"}));
  EXPECT_EQ(r.peer.sent<wire::SetConfigReq>().at(0).generation, 7u);
}

TEST(TransportDriver, EventConfigUpdatesTheCacheOrMarksItStale) {
  Rig r;
  ASSERT_TRUE(r.t.read_config(0, 8).ok());
  EXPECT_EQ(r.t.cached_config(0, 8), std::vector<std::uint8_t>(8, 0));
  // With data: applied as is (VMSG-DRV-063), no traffic.
  r.dev().generation = 8;
  r.dev().config[0] = 0x11;
  r.peer.push(wire::Message{.dev_num = kDev, .body = wire::EventConfig{0, 8, 0, 1, {0x11}}});
  r.peer.clear();
  ASSERT_TRUE(r.t.poll().ok());
  EXPECT_TRUE(r.peer.received.empty());
  EXPECT_EQ(r.t.cached_config(0, 2), (std::vector<std::uint8_t>{0x11, 0}));
  EXPECT_EQ(r.t.generation(), 8u);
  // Without data: the range is stale until re-read (VMSG-DRV-064).
  r.dev().generation = 9;
  r.dev().config[5] = 0x55;
  r.peer.push(wire::Message{.dev_num = kDev, .body = wire::EventConfig{0, 9, 4, 4, {}}});
  ASSERT_TRUE(r.t.poll().ok());
  EXPECT_EQ(r.t.cached_config(4, 1), std::nullopt);
  EXPECT_EQ(r.t.cached_config(0, 4), (std::vector<std::uint8_t>{0x11, 0, 0, 0}));
  EXPECT_TRUE(r.t.config_stale());
  ASSERT_TRUE(r.t.refresh_config().ok());
  EXPECT_EQ(r.t.cached_config(4, 2), (std::vector<std::uint8_t>{0, 0x55}));
  EXPECT_FALSE(r.t.config_stale());
  EXPECT_EQ(r.t.stats().config_events, 2u);
  EXPECT_FALSE(r.t.needs_reset());
}

TEST(TransportDriver, NeedsResetInEventConfigStopsIo) {
  Rig r;
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(0).ok());
  ASSERT_TRUE(r.t.setup_queue(0, 8, ram).ok());
  ASSERT_TRUE(r.t.driver_ok().ok());
  r.peer.push(wire::Message{.dev_num = kDev, .body = wire::EventConfig{0x4F, 7, 0, 0, {}}});
  ASSERT_TRUE(r.t.poll().ok());
  EXPECT_TRUE(r.t.needs_reset());
  r.peer.clear();
  EXPECT_EQ(errc(r.t.kick(0)), VirtioErrc::NeedsReset);  // VMSG-DRV-050
  EXPECT_EQ(errc(r.t.wait_used(0)), VirtioErrc::NeedsReset);
  EXPECT_TRUE(r.peer.received.empty());
  ASSERT_TRUE(r.t.reset().ok());
  EXPECT_FALSE(r.t.needs_reset());
}

TEST(TransportDriver, SetupQueueChecksFirstThenProgramsAlignedRingsAndConfirms) {
  Rig r;
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(0).ok());
  r.peer.clear();
  auto q = r.t.setup_queue(1, 64, ram);
  ASSERT_TRUE(q.ok()) << why(q.error());
  EXPECT_EQ(r.peer.names(), (Names{"GET_VQUEUE", "SET_VQUEUE", "GET_VQUEUE"}));
  const auto s = r.peer.sent<wire::SetVqueueReq>().at(0);
  EXPECT_EQ(s.index, 1u);
  EXPECT_EQ(s.size, 64u);
  EXPECT_EQ(s.flags, 0u);
  EXPECT_EQ(s.reserved, 0u);
  EXPECT_EQ(s.desc_addr % 16, 0u);
  EXPECT_EQ(s.driver_addr % 2, 0u);
  EXPECT_EQ(s.device_addr % 4, 0u);
  // The areas do not overlap.
  EXPECT_GE(s.driver_addr, s.desc_addr + 16 * 64);
  EXPECT_GE(s.device_addr, s.driver_addr + 6 + 2 * 64);
  EXPECT_EQ((*q)->layout(), (RingLayout{64, s.desc_addr, s.driver_addr, s.device_addr}));
  EXPECT_EQ(r.t.queue(1), *q);
  EXPECT_EQ(r.t.queue(0), nullptr);
}

TEST(TransportDriver, SetupQueueRefusalsSendNoSetVqueue) {
  Rig r;
  GuestAllocator ram(r.port.address_map());
  EXPECT_EQ(errc(r.t.setup_queue(0, 8, ram)), VirtioErrc::NotReady);  // before FEATURES_OK
  ASSERT_TRUE(r.t.init(0).ok());
  r.peer.clear();
  EXPECT_EQ(errc(r.t.setup_queue(2, 8, ram)), VirtioErrc::QueueUnavailable);  // >= max_virtqueues
  EXPECT_EQ(errc(r.t.setup_queue(0, 12, ram)), VirtioErrc::BadQueueSize);
  EXPECT_TRUE(r.peer.received.empty());
  EXPECT_EQ(errc(r.t.setup_queue(0, 512, ram)), VirtioErrc::QueueTooLarge);  // max 256
  r.dev().queues[0] = wire::SetVqueueReq{0, 0, 16, 0, 0x10'0000, 0x10'1000, 0x10'2000};
  EXPECT_EQ(errc(r.t.setup_queue(0, 8, ram)), VirtioErrc::QueueInUse);  // cur_size 16
  r.dev().queues.clear();
  r.dev().max_size = 0;
  EXPECT_EQ(errc(r.t.setup_queue(0, 8, ram)), VirtioErrc::QueueUnavailable);
  EXPECT_EQ(r.peer.names(), (Names{"GET_VQUEUE", "GET_VQUEUE", "GET_VQUEUE"}));
}

/// A device that reports cur_size = max_size for unconfigured queues, as QEMU does.
FakeVirtio cur_size_is_max() {
  FakeVirtio d;
  d.cur_size_reports_max = true;
  return d;
}

const TransportDriverOptions kTolerant{.tolerate_deviations = true};

TEST(TransportDriver, StrictModeRefusesANonZeroCurSizeAndRecordsNothing) {
  Rig r(cur_size_is_max());
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(0).ok());
  r.peer.clear();
  EXPECT_FALSE(r.t.options().tolerate_deviations);  // strict is the default
  EXPECT_EQ(errc(r.t.setup_queue(0, 8, ram)), VirtioErrc::QueueInUse);
  EXPECT_EQ(errc(r.t.setup_queue_fitted(1, 8, ram)), VirtioErrc::QueueInUse);
  EXPECT_EQ(r.peer.names(), (Names{"GET_VQUEUE", "GET_VQUEUE"}));
  EXPECT_TRUE(r.t.deviations().empty());
}

TEST(TransportDriver, TolerantModeProgramsAQueueWithCurSizeSetAndRecordsIt) {
  Rig r(cur_size_is_max(), kTolerant);
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(0).ok());
  r.peer.clear();
  auto q = r.t.setup_queue(1, 64, ram);
  ASSERT_TRUE(q.ok()) << why(q.error());
  EXPECT_EQ(r.peer.names(), (Names{"GET_VQUEUE", "SET_VQUEUE", "GET_VQUEUE"}));
  EXPECT_EQ(r.peer.sent<wire::SetVqueueReq>().at(0).size, 64u);
  ASSERT_EQ(r.t.deviations().size(), 1u);
  const Deviation& dev = r.t.deviations()[0];
  EXPECT_EQ(dev.requirement, "VMSG-DEV-055");
  EXPECT_NE(dev.detail.find("queue 1"), std::string::npos) << dev.detail;
  EXPECT_NE(dev.detail.find("cur_size 256"), std::string::npos) << dev.detail;
  // Append-only: a reset and another queue add to the list, never clear it.
  ASSERT_TRUE(r.t.reset().ok());
  ASSERT_TRUE(r.t.init(0).ok());
  ASSERT_TRUE(r.t.setup_queue(0, 8, ram).ok());
  ASSERT_EQ(r.t.deviations().size(), 2u);
  EXPECT_NE(r.t.deviations()[1].detail.find("queue 0"), std::string::npos);
}

TEST(TransportDriver, TolerantModeKeepsEveryOtherCheck) {
  Rig r(FakeVirtio{}, kTolerant);
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(0).ok());
  EXPECT_EQ(errc(r.t.setup_queue(0, 512, ram)), VirtioErrc::QueueTooLarge);  // max 256
  ASSERT_TRUE(r.t.setup_queue(0, 8, ram).ok());                             // a conforming device: nothing to note
  EXPECT_EQ(errc(r.t.setup_queue(0, 8, ram)), VirtioErrc::QueueInUse);       // ours, already set up
  EXPECT_TRUE(r.t.deviations().empty());
}

TEST(TransportDriver, FittedQueuesTakeTheDeviceMaximumRoundedDown) {
  FakeVirtio d;
  d.max_size = 8;  // QEMU's virtio-rng
  Rig r(d);
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(0).ok());
  EXPECT_EQ(errc(r.t.setup_queue(0, 64, ram)), VirtioErrc::QueueTooLarge);  // the exact call stays strict
  auto q = r.t.setup_queue_fitted(0, 64, ram);
  ASSERT_TRUE(q.ok()) << why(q.error());
  EXPECT_EQ((*q)->size(), 8u);
  r.dev().max_size = 12;
  auto q1 = r.t.setup_queue_fitted(1, 100, ram);  // min(100, 12) = 12 -> 8
  ASSERT_TRUE(q1.ok()) << why(q1.error());
  EXPECT_EQ((*q1)->size(), 8u);
  std::vector<std::uint32_t> sizes;
  for (const auto& s : r.peer.sent<wire::SetVqueueReq>()) sizes.push_back(s.size);
  EXPECT_EQ(sizes, (std::vector<std::uint32_t>{8, 8}));
  ASSERT_TRUE(r.t.reset().ok());
  ASSERT_TRUE(r.t.init(0).ok());
  r.dev().max_size = 256;
  auto q2 = r.t.setup_queue_fitted(0, 6, ram);  // a wish below the maximum: rounded down too
  ASSERT_TRUE(q2.ok()) << why(q2.error());
  EXPECT_EQ((*q2)->size(), 4u);
  EXPECT_EQ(errc(r.t.setup_queue_fitted(1, 0, ram)), VirtioErrc::BadQueueSize);
  EXPECT_EQ(errc(r.t.setup_queue_fitted(1, 65536, ram)), VirtioErrc::BadQueueSize);
}

TEST(TransportDriver, AQueueTheDeviceDidNotTakeIsNotConfirmed) {
  FakeVirtio d;
  d.ignore_set_vqueue = true;
  Rig r(d);
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(0).ok());
  auto q = r.t.setup_queue(0, 8, ram);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(errc(q), VirtioErrc::QueueNotConfirmed);
  EXPECT_EQ(r.t.queue(0), nullptr);
}

TEST(TransportDriver, KickIsOneEventAvailWithNextOffsetZeroAndNoWait) {
  Rig r;
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(0).ok());
  ASSERT_TRUE(r.t.setup_queue(1, 8, ram).ok());
  r.peer.clear();
  EXPECT_EQ(errc(r.t.kick(1)), VirtioErrc::NotReady);  // before DRIVER_OK (VMSG-DRV-037)
  EXPECT_TRUE(r.peer.received.empty());
  ASSERT_TRUE(r.t.driver_ok().ok());
  EXPECT_EQ(r.dev().status, 0x0Fu);
  EXPECT_EQ(errc(r.t.kick(0)), VirtioErrc::NotReady);  // queue 0 not set up (VMSG-DRV-038)
  r.peer.clear();
  const auto time_before = r.port.now;
  ASSERT_TRUE(r.t.kick(1).ok());
  EXPECT_EQ(r.port.now, time_before);  // nothing awaited
  ASSERT_EQ(r.peer.received.size(), 1u);
  EXPECT_EQ(r.peer.received[0].dev_num, kDev);
  EXPECT_EQ(std::get<wire::EventAvail>(r.peer.received[0].body), (wire::EventAvail{1, 0}));
  EXPECT_EQ(r.peer.frames[0][0], 0x00);
  EXPECT_EQ(r.peer.frames[0].size(), 16u);
}

TEST(TransportDriver, EventUsedMakesTheDriverExamineThatQueue) {
  Rig r;
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(0).ok());
  auto q = r.t.setup_queue(0, 8, ram);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(r.t.driver_ok().ok());
  const BufferSegment seg{0x20'0000, 64};
  auto head = (*q)->add({}, std::span<const BufferSegment>(&seg, 1));
  ASSERT_TRUE(head.ok());
  ASSERT_TRUE(r.t.kick(0).ok());
  // The "device" uses the buffer and says so.
  const auto used = (*q)->layout().used;
  r.port.write32(used + 4, *head);
  r.port.write32(used + 8, 10);
  r.port.write16(used + 2, 1);
  r.peer.push(wire::Message{.dev_num = kDev, .body = wire::EventUsed{0}});
  r.peer.push(wire::Message{.dev_num = kDev, .body = wire::EventUsed{1}});  // queue 1 is not set up
  ASSERT_TRUE(r.t.poll().ok());
  EXPECT_EQ(r.t.stats().used_events, 1u);
  EXPECT_EQ(r.t.stats().stray_used_events, 1u);
  EXPECT_EQ((*q)->in_flight(), 0u);  // examined on the event, before anyone asked
  auto got = r.t.take_used(0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, (std::vector<UsedElem>{{*head, 10}}));
}

TEST(TransportDriver, ABadUsedIdFoundOnEventUsedIsReportedByPoll) {
  Rig r;
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(0).ok());
  auto q = r.t.setup_queue(0, 8, ram);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(r.t.driver_ok().ok());
  const BufferSegment seg{0x20'0000, 64};
  ASSERT_TRUE((*q)->add({}, std::span<const BufferSegment>(&seg, 1)).ok());
  const auto used = (*q)->layout().used;
  r.port.write32(used + 4, 5);  // never handed out
  r.port.write16(used + 2, 1);
  r.peer.push(wire::Message{.dev_num = kDev, .body = wire::EventUsed{0}});
  auto p = r.t.poll();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(errc(p), VirtioErrc::BadUsedId);
  EXPECT_EQ(errc(r.t.take_used(0)), VirtioErrc::QueueBroken);
}

TEST(TransportDriver, WaitUsedTimesOutWithinItsBudget) {
  Rig r;
  GuestAllocator ram(r.port.address_map());
  TransportDriver t(r.bus, kDev, TransportDriverOptions{.wait_polls = 5, .wait_step_ns = 100});
  ASSERT_TRUE(t.init(0).ok());
  ASSERT_TRUE(t.setup_queue(0, 8, ram).ok());
  ASSERT_TRUE(t.driver_ok().ok());
  const auto before = r.port.now;
  auto w = t.wait_used(0);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(errc(w), VirtioErrc::Timeout);
  EXPECT_EQ(r.port.now - before, 500u);
}

TEST(TransportDriver, ResetWritesZeroAndDropsQueuesAndFeatures) {
  Rig r;
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(bit(vfeature::kVersion1)).ok());
  ASSERT_TRUE(r.t.setup_queue(0, 8, ram).ok());
  ASSERT_TRUE(r.t.driver_ok().ok());
  r.peer.clear();
  ASSERT_TRUE(r.t.reset().ok());
  EXPECT_EQ(r.peer.sent<wire::SetDeviceStatusReq>(), (std::vector<wire::SetDeviceStatusReq>{{0}}));
  EXPECT_EQ(r.t.queue(0), nullptr);
  EXPECT_EQ(r.t.phase(), Phase::Reset);
  EXPECT_EQ(r.t.features(), 0u);
  EXPECT_EQ(r.t.status(), 0u);
  // A fresh init works from there.
  ASSERT_TRUE(r.t.init(bit(vfeature::kVersion1)).ok());
  ASSERT_TRUE(r.t.setup_queue(0, 8, ram).ok());
}

TEST(TransportDriver, ABusBelowTheDraftMinimumIsRefused) {
  testing::RamPort port;
  testing::ScriptedPeer peer(port);
  auto cfg = peer.link_config();
  cfg.profile = wire::Profile::pr28(40);
  FifoLink link(port, cfg);
  BusDriver bus(link);
  EXPECT_THROW(TransportDriver(bus, 0), ConfigError);
}

TEST(TransportDriver, ConfigChunksFollowTheBusMaximum) {
  testing::RamPort port;
  testing::ScriptedPeer peer(port);
  FakeVirtio d;
  d.config.assign(60, 0x5A);
  peer.devices[0] = d;
  auto cfg = peer.link_config();
  cfg.profile = wire::Profile::pr28(48);  // QEMU's internal limit: 28 data bytes per GET_CONFIG
  FifoLink link(port, cfg);
  BusDriver bus(link);
  TransportDriver t(bus, 0);
  auto c = t.read_config(0, 60);
  ASSERT_TRUE(c.ok()) << why(c.error());
  EXPECT_EQ(*c, std::vector<std::uint8_t>(60, 0x5A));
  EXPECT_EQ(peer.sent<wire::GetConfigReq>(), (std::vector<wire::GetConfigReq>{{0, 28}, {28, 28}, {56, 4}}));
}

TEST(TransportDriver, ResetQueueNeedsRingReset) {
  FakeVirtio d;
  d.offered = {0, 0x101U};  // VERSION_1 + RING_RESET (40)
  Rig r(d);
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(bit(vfeature::kVersion1)).ok());
  ASSERT_TRUE(r.t.setup_queue(0, 8, ram).ok());
  EXPECT_EQ(errc(r.t.reset_queue(0)), VirtioErrc::Unsupported);  // not negotiated
  ASSERT_TRUE(r.t.init(bit(vfeature::kVersion1) | bit(vfeature::kRingReset)).ok());
  ASSERT_TRUE(r.t.setup_queue(0, 8, ram).ok());
  r.peer.clear();
  ASSERT_TRUE(r.t.reset_queue(0).ok());
  EXPECT_EQ(r.peer.names(), (Names{"RESET_VQUEUE"}));
  EXPECT_EQ(r.t.queue(0), nullptr);
  EXPECT_TRUE(r.t.setup_queue(0, 8, ram).ok());  // reprogrammable
}

}  // namespace
}  // namespace vmsg::driver

// TransportDriver under the REV1-2026 profile, against a scripted REV1 peer:
// feature blocks, baseline and strict SET_CONFIG generations, the SET_VQUEUE
// state op and GET_VQUEUE enabled flag, 64-bit GET_SHM, NOTIF_CONFIG_DATA,
// EVENT_DEVICE ADDED, a reset that completes late, and the typed errors for
// a device speaking PR28 layouts or not answering at all.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "driver/virtio_peer.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/driver/transport_driver.hpp"

namespace vmsg::driver {
namespace {

using testing::errc;
using testing::FakeVirtio;
using testing::PeerRig;
using vfeature::bit;
using Names = std::vector<std::string>;

constexpr std::uint16_t kDev = 2;

FakeVirtio rev1_device() {
  FakeVirtio d;
  d.rev1 = true;
  return d;
}

/// A REV1 link and peer with one REV1 FakeVirtio at kDev and its transport driver.
struct Rig : PeerRig {
  explicit Rig(FakeVirtio dev = rev1_device(), const TransportDriverOptions& options = {})
      : PeerRig(wire::Profile::rev1()), t(bus, kDev, options) {
    peer.devices[kDev] = std::move(dev);
  }
  FakeVirtio& dev() { return peer.devices[kDev]; }
  TransportDriver t;
};

std::string why(const VirtioError& e) { return describe(e); }

TEST(TransportDriverRev1, TheProfileComesFromTheLink) {
  Rig r;
  EXPECT_EQ(r.t.profile(), wire::Profile::rev1());
  EXPECT_EQ(r.bus.profile(), r.link.config().profile);
}

TEST(TransportDriverRev1, FeatureNegotiationIsSizedByFeatureBlocks) {
  FakeVirtio d = rev1_device();
  d.num_feature_bits = 96;  // the fake reports (96 + 31) / 32 = 3 blocks under REV1
  Rig r(d);
  auto n = r.t.init(bit(vfeature::kVersion1) | bit(vfeature::kEventIdx));
  ASSERT_TRUE(n.ok()) << why(n.error());
  ASSERT_TRUE(r.t.info().has_value());
  EXPECT_EQ(r.t.info()->num_feature_blocks, 3u);
  EXPECT_EQ(r.t.info()->num_feature_bits, 0u);
  EXPECT_EQ(r.peer.sent<wire::GetDeviceFeaturesReq>().at(0), (wire::GetDeviceFeaturesReq{0, 3}));
  EXPECT_EQ(r.peer.sent<wire::SetDriverFeaturesReq>().at(0), (wire::SetDriverFeaturesReq{0, {0x2000'0000U, 0x1U, 0}}));
  EXPECT_EQ(*n, bit(vfeature::kVersion1) | bit(vfeature::kEventIdx));
}

TEST(TransportDriverRev1, NotifConfigDataIsNeverNegotiated) {
  FakeVirtio d = rev1_device();
  d.offered = {0, 0x1U | 0x80U};  // VERSION_1 + NOTIF_CONFIG_DATA (39)
  Rig r(d);
  auto n = r.t.init(~std::uint64_t{0});
  ASSERT_TRUE(n.ok()) << why(n.error());
  EXPECT_EQ(*n, bit(vfeature::kVersion1));
  EXPECT_EQ(r.dev().driver_features, (std::vector<std::uint32_t>{0, 0x1U}));
}

TEST(TransportDriverRev1, BaselineSetConfigCarriesGenerationZeroWithoutReadingFirst) {
  Rig r;
  ASSERT_TRUE(r.t.get_info().ok());
  r.peer.clear();
  const std::vector<std::uint8_t> bytes{1, 2, 3, 4};
  auto w = r.t.write_config(4, bytes);
  ASSERT_TRUE(w.ok()) << why(w.error());
  EXPECT_EQ(r.peer.names(), (Names{"SET_CONFIG"}));
  EXPECT_EQ(r.peer.sent<wire::SetConfigReq>().at(0), (wire::SetConfigReq{0, 4, bytes}));
  // The device's generation (7) was seen since, and still does not go out.
  ASSERT_TRUE(r.t.read_config(0, 4).ok());
  ASSERT_TRUE(r.t.write_config(0, bytes).ok());
  EXPECT_EQ(r.peer.sent<wire::SetConfigReq>().at(1).generation, 0u);
}

TEST(TransportDriverRev1, BaselineRefusalIsFinalAndNotRetried) {
  FakeVirtio d = rev1_device();
  d.config_read_only = true;
  Rig r(d);
  ASSERT_TRUE(r.t.get_info().ok());
  r.peer.clear();
  const std::vector<std::uint8_t> bytes{9};
  EXPECT_EQ(errc(r.t.write_config(0, bytes)), VirtioErrc::ConfigRejected);
  EXPECT_EQ(r.peer.names(), (Names{"SET_CONFIG"}));
}

TEST(TransportDriverRev1, StrictProfileSendsTheLatestGeneration) {
  FakeVirtio d = rev1_device();
  d.strict_generation = true;
  Rig r(d, TransportDriverOptions{.strict_config_generation = true});
  ASSERT_TRUE(r.t.get_info().ok());
  r.peer.clear();
  const std::vector<std::uint8_t> bytes{1, 2};
  auto w = r.t.write_config(0, bytes);
  ASSERT_TRUE(w.ok()) << why(w.error());
  EXPECT_EQ(r.peer.names(), (Names{"GET_CONFIG", "SET_CONFIG"}));
  EXPECT_EQ(r.peer.sent<wire::SetConfigReq>().at(0).generation, 7u);
}

TEST(TransportDriverRev1, SetVqueueEnablesTheQueueAndGetVqueueMustShowIt) {
  Rig r;
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(bit(vfeature::kVersion1)).ok());
  auto q = r.t.setup_queue(0, 8, ram);
  ASSERT_TRUE(q.ok()) << why(q.error());
  const auto set = r.peer.sent<wire::SetVqueueReq>().at(0);
  EXPECT_EQ(set.flags, wire::vqueue_flags::kEnable);
  EXPECT_EQ(set.reserved, 0u);
  EXPECT_EQ(set.size, 8u);
}

TEST(TransportDriverRev1, AQueueTheDeviceDoesNotReportEnabledIsNotConfirmed) {
  FakeVirtio d = rev1_device();
  d.never_enable = true;
  Rig r(d);
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(bit(vfeature::kVersion1)).ok());
  auto q = r.t.setup_queue(0, 8, ram);
  ASSERT_EQ(errc(q), VirtioErrc::QueueNotConfirmed);
  EXPECT_NE(q.error().message.find("not enabled"), std::string::npos) << why(q.error());
}

TEST(TransportDriverRev1, AnEnabledQueueIsNotReprogrammed) {
  Rig r;
  GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(r.t.init(bit(vfeature::kVersion1)).ok());
  // A reset clears the fake's queues: enable queue 1 behind the driver's back.
  r.dev().queues[1] = wire::SetVqueueReq{1, wire::vqueue_flags::kEnable, 8, 0, 0x10000, 0x10100, 0x10200};
  auto q = r.t.setup_queue(1, 8, ram);
  ASSERT_EQ(errc(q), VirtioErrc::QueueInUse);
  EXPECT_NE(q.error().message.find("enabled"), std::string::npos) << why(q.error());
  EXPECT_TRUE(r.peer.sent<wire::SetVqueueReq>().empty());
}

TEST(TransportDriverRev1, GetShmReadsSixtyFourBitFields) {
  FakeVirtio d = rev1_device();
  d.shm[1] = {0x1'0000'0000ULL, 0xFFFF'0000'0000'1000ULL};
  Rig r(d);
  auto s = r.t.get_shm(1);
  ASSERT_TRUE(s.ok()) << why(s.error());
  EXPECT_EQ(s->length, 0x1'0000'0000ULL);
  EXPECT_EQ(s->address, 0xFFFF'0000'0000'1000ULL);
  auto none = r.t.get_shm(5);  // no such region: length 0
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->length, 0u);
  EXPECT_EQ(r.peer.frames.size(), 2u);
}

TEST(TransportDriverRev1, GetShmWorksUnderPr28Too) {
  PeerRig rig;
  FakeVirtio d;
  d.shm[0] = {0x1000, 0x2000'0000};
  rig.peer.devices[kDev] = d;
  TransportDriver t(rig.bus, kDev);
  auto s = t.get_shm(0);
  ASSERT_TRUE(s.ok()) << why(s.error());
  EXPECT_EQ(s->length, 0x1000u);
  EXPECT_EQ(s->address, 0x2000'0000u);
}

TEST(TransportDriverRev1, GetShmMustEchoTheId) {
  Rig r;
  r.peer.handler = [](const wire::Message& m) {
    return std::vector<wire::Message>{{.dev_num = m.dev_num, .body = wire::GetShmResp{9, 1, 2, 0}}};
  };
  EXPECT_EQ(errc(r.t.get_shm(1)), VirtioErrc::BadResponse);
}

TEST(TransportDriverRev1, APr28AnswerIsASizeMismatchNamingTheProfile) {
  Rig r;
  // The device answers GET_DEVICE_INFO in PR28's 32-byte layout.
  r.peer.handler = [&r](const wire::Message& m) {
    r.peer.push_raw(wire::encode(wire::Message{.dev_num = m.dev_num,
                                               .body = wire::GetDeviceInfoResp{4, 1, 64, 8, 2, 0, 0}},
                                 wire::Profile::pr28())
                        .value());
    return std::vector<wire::Message>{};
  };
  auto info = r.t.get_info();
  ASSERT_EQ(errc(info), VirtioErrc::MalformedResponse);
  const std::string msg = info.error().message;
  EXPECT_NE(msg.find("size-mismatch (R1-DRV-020): msg_size 32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rev1-2026"), std::string::npos) << msg;
  ASSERT_TRUE(r.link.last_failure().has_value());
  EXPECT_EQ(*r.link.last_failure(), (wire::DecodeFailure{wire::DecodeError::SizeMismatch, 32}));
}

TEST(TransportDriverRev1, APr28DriverRejectsARev1Answer) {
  PeerRig rig;  // PR28 link and peer
  rig.peer.handler = [&rig](const wire::Message& m) {
    wire::GetDeviceInfoResp info{4, 1, 0, 8, 2, 0, 0, 2, {}};
    rig.peer.push_raw(wire::encode(wire::Message{.dev_num = m.dev_num, .body = info}, wire::Profile::rev1()).value());
    return std::vector<wire::Message>{};
  };
  TransportDriver t(rig.bus, kDev);
  auto r = t.get_info();
  ASSERT_EQ(errc(r), VirtioErrc::MalformedResponse);
  EXPECT_EQ(*rig.link.last_failure(), (wire::DecodeFailure{wire::DecodeError::SizeMismatch, 52}));
}

TEST(TransportDriverRev1, AMissingResponseTimesOutAfterTheBoundedRetries) {
  testing::RamPort port;
  testing::ScriptedPeer peer(port, wire::Profile::rev1());
  unsigned asked = 0;
  peer.handler = [&asked](const wire::Message&) {
    ++asked;
    return std::vector<wire::Message>{};
  };
  auto cfg = peer.link_config();
  cfg.retries = 2;
  FifoLink link(port, cfg);
  BusDriver bus(link);
  // The bound alone: no recovery reset afterwards (see the next test).
  TransportDriver t(bus, kDev, TransportDriverOptions{.recover_on_no_response = false});
  const std::uint64_t before = port.now;
  auto r = t.get_status();
  ASSERT_EQ(errc(r), VirtioErrc::NoResponse);
  EXPECT_EQ(asked, 3u);
  EXPECT_EQ(link.resends(), 2u);
  EXPECT_EQ(port.now - before, 3 * cfg.timeout_ns());  // bounded: three attempts' worth of time
  EXPECT_NE(r.error().message.find("3 attempts"), std::string::npos) << why(r.error());
}

TEST(TransportDriverRev1, WhenTheRetriesRunOutTheDriverResetsTheDevice) {
  // REV1 L565-568: the request failed; recovery is a reset, tried once with
  // the same bounded policy even when the device stays silent.
  testing::RamPort port;
  testing::ScriptedPeer peer(port, wire::Profile::rev1());
  std::vector<std::string> asked;
  peer.handler = [&asked](const wire::Message& m) {
    asked.emplace_back(wire::name(m.body));
    return std::vector<wire::Message>{};
  };
  auto cfg = peer.link_config();
  cfg.retries = 1;
  FifoLink link(port, cfg);
  BusDriver bus(link);
  TransportDriver t(bus, kDev);
  auto r = t.read_config(0, 4);  // needs GET_DEVICE_INFO first: that one is lost
  ASSERT_EQ(errc(r), VirtioErrc::NoResponse);
  EXPECT_EQ(asked, (std::vector<std::string>{"GET_DEVICE_INFO", "GET_DEVICE_INFO", "SET_DEVICE_STATUS",
                                             "SET_DEVICE_STATUS"}));
  EXPECT_NE(r.error().message.find("reset"), std::string::npos) << why(r.error());
  EXPECT_EQ(t.phase(), Phase::Reset);
}

TEST(TransportDriverRev1, ARetryGetsTheAnswerALostRequestDidNot) {
  Rig r;
  unsigned asked = 0;
  r.peer.handler = [&asked](const wire::Message& m) {
    if (++asked == 1) return std::vector<wire::Message>{};  // the first one is lost
    return std::vector<wire::Message>{{.dev_num = m.dev_num, .body = wire::GetDeviceStatusResp{0}}};
  };
  EXPECT_EQ(errc(r.t.get_status()), VirtioErrc::NoResponse);  // no retries configured
  testing::RamPort port;
  testing::ScriptedPeer peer(port, wire::Profile::rev1());
  asked = 0;
  peer.handler = r.peer.handler;
  auto cfg = peer.link_config();
  cfg.retries = 1;
  FifoLink link(port, cfg);
  BusDriver bus(link);
  TransportDriver t(bus, kDev);
  auto s = t.get_status();
  ASSERT_TRUE(s.ok()) << why(s.error());
  EXPECT_EQ(link.resends(), 1u);
}

TEST(TransportDriverRev1, AResetAnsweredBeforeItCompletesIsPolledUntilZero) {
  FakeVirtio d = rev1_device();
  d.slow_reset_status = 0x0F;
  d.slow_reset_reads = 2;
  Rig r(d);
  ASSERT_TRUE(r.t.get_info().ok());
  r.peer.clear();
  auto s = r.t.reset();
  ASSERT_TRUE(s.ok()) << why(s.error());
  EXPECT_EQ(r.peer.names(), (Names{"SET_DEVICE_STATUS", "GET_DEVICE_STATUS", "GET_DEVICE_STATUS",
                                   "GET_DEVICE_STATUS"}));
  EXPECT_EQ(r.t.status(), 0u);
}

TEST(TransportDriverRev1, AResetThatNeverCompletesFailsAfterTheBoundedPolls) {
  FakeVirtio d = rev1_device();
  d.slow_reset_status = 0x0F;
  d.slow_reset_reads = 1000;
  Rig r(d, TransportDriverOptions{.reset_polls = 3});
  ASSERT_TRUE(r.t.get_info().ok());
  r.peer.clear();
  EXPECT_EQ(errc(r.t.reset()), VirtioErrc::StatusRejected);
  EXPECT_EQ(r.peer.sent<wire::GetDeviceStatusReq>().size(), 3u);
}

TEST(TransportDriverRev1, EventDeviceAddedAndRemovedTrackThePresence) {
  Rig r;
  const auto event = [&r](std::uint16_t state) {
    r.peer.push(wire::Message{.dev_num = 0, .body = wire::EventDevice{kDev, state}});
    ASSERT_TRUE(r.t.poll().ok());
  };
  event(wire::bus_state::kRemoved);
  EXPECT_TRUE(r.t.removed());
  event(0x0003);  // reserved: no meaning
  EXPECT_TRUE(r.t.removed());
  event(wire::bus_state::kAdded);
  EXPECT_FALSE(r.t.removed());
  EXPECT_EQ(r.t.stats().device_events, 3u);
}

TEST(TransportDriverRev1, AnEventConfigWithoutARangeMakesTheConfigurationStale) {
  Rig r;
  ASSERT_TRUE(r.t.read_config(0, 8).ok());
  ASSERT_FALSE(r.t.config_stale());
  // Same generation, offset and length 0, no data: a generic change under REV1.
  r.peer.push(wire::Message{.dev_num = kDev, .body = wire::EventConfig{0, 7, 0, 0, {}}});
  ASSERT_TRUE(r.t.poll().ok());
  EXPECT_TRUE(r.t.config_stale());
  r.peer.clear();
  ASSERT_TRUE(r.t.refresh_config().ok());
  EXPECT_EQ(r.peer.names(), (Names{"GET_CONFIG"}));
  EXPECT_FALSE(r.t.config_stale());
}

TEST(TransportDriverRev1, ABusBelowTheRev1MinimumIsRefused) {
  testing::RamPort port;
  testing::ScriptedPeer peer(port, wire::Profile::rev1(48));
  FifoLink link(port, peer.link_config());
  BusDriver bus(link);
  EXPECT_THROW(TransportDriver(bus, 0), ConfigError);
}

}  // namespace
}  // namespace vmsg::driver

// The REV1 reference driver against the REV1 validating peer: the transport
// driver and the device enumeration speak REV1 to a ValidatingEndpoint
// (ValidationProfile Rev1) in front of a scripted REV1 device, and must break
// no R1-* driver rule. Until the reference device speaks REV1 itself the
// device is the driver tests' FakeVirtio in its REV1 mode.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "driver/virtio_peer.hpp"
#include "vmsg/driver/device_enumeration.hpp"
#include "vmsg/driver/transport_driver.hpp"
#include "vmsg/transport/stimulus_endpoint.hpp"
#include "vmsg/transport/validating_endpoint.hpp"

namespace vmsg::e2e {
namespace {

using driver::describe;
using driver::vfeature::bit;
namespace vfeature = driver::vfeature;

constexpr std::uint16_t kDev = 1;

/// A FakeVirtio as a device endpoint: answers with the request's token.
class FakeEndpoint final : public bus::Endpoint {
 public:
  explicit FakeEndpoint(testing::FakeVirtio dev) : dev_(std::move(dev)) {}
  void attach(std::uint16_t dev_num, bus::Outbox& out) override {
    dev_num_ = dev_num;
    out_ = &out;
  }
  void receive(const wire::Message& m) override {
    for (auto& body : dev_.handle(m.body)) out_->post(wire::Message{.dev_num = dev_num_, .token = m.token, .body = body});
  }

 private:
  testing::FakeVirtio dev_;
  std::uint16_t dev_num_ = 0;
  bus::Outbox* out_ = nullptr;
};

/// Device messages go straight into the peer's device queue.
class PeerOutbox final : public bus::Outbox {
 public:
  explicit PeerOutbox(testing::ScriptedPeer& peer) : peer_(peer) {}
  void post(const wire::Message& m) override { peer_.push(m); }

 private:
  testing::ScriptedPeer& peer_;
};

testing::FakeVirtio rev1_device() {
  testing::FakeVirtio d;
  d.rev1 = true;
  d.offered = {0x2000'0000U, 0x1U | 0x80U | 0x100U};  // EVENT_IDX; VERSION_1, NOTIF_CONFIG_DATA, RING_RESET
  d.config.assign(16, 0);
  return d;
}

/// Driver stack -> REV1 FIFO -> validator -> REV1 fake device; GET_DEVICES
/// is answered by the rig as a REV1 bus would (device kDev only).
struct Rev1Rig : testing::PeerRig {
  explicit Rev1Rig(const transport::ValidationProfile& profile = {wire::Layout::Rev1})
      : PeerRig(wire::Profile::rev1()),
        stimulus(std::make_shared<transport::StimulusEndpoint>(std::make_shared<FakeEndpoint>(rev1_device()))),
        validator(stimulus, log, profile) {
    validator.attach(kDev, outbox);
    peer.handler = [this](const wire::Message& m) {
      if (const auto* gd = std::get_if<wire::GetDevicesReq>(&m.body)) {
        const std::uint16_t count = std::min<std::uint16_t>(gd->count, 8);
        wire::GetDevicesResp r{gd->offset, 0, std::vector<std::uint8_t>((count + 7U) / 8U, 0), count};
        if (gd->offset <= kDev && kDev < gd->offset + count) r.bitmap[0] = static_cast<std::uint8_t>(1U << (kDev - gd->offset));
        return std::vector<wire::Message>{{.dev_num = 0, .token = m.token, .body = r}};
      }
      if (m.dev_num == kDev) validator.receive(m);
      return std::vector<wire::Message>{};
    };
  }
  std::string dump() const {
    std::string s;
    for (const auto& v : log->violations()) s += to_string(v) + "\n";
    return s;
  }

  std::shared_ptr<transport::DriverRuleLog> log = std::make_shared<transport::DriverRuleLog>();
  PeerOutbox outbox{peer};
  std::shared_ptr<transport::StimulusEndpoint> stimulus;  ///< device behaviours a test arms
  transport::ValidatingEndpoint validator;
};

TEST(Rev1DriverRules, TheReferenceDriverBreaksNoRev1Rule) {
  Rev1Rig r;
  auto found = driver::enumerate_devices(r.bus);
  ASSERT_TRUE(found.ok()) << describe(found.error());
  EXPECT_EQ(found->devices, (std::vector<std::uint16_t>{kDev}));

  driver::TransportDriver t(r.bus, kDev);
  driver::GuestAllocator ram(r.port.address_map());
  auto n = t.init(~std::uint64_t{0});
  ASSERT_TRUE(n.ok()) << describe(n.error());
  EXPECT_EQ(*n & bit(vfeature::kNotifConfigData), 0u);
  ASSERT_TRUE(t.setup_queue(0, 8, ram).ok());
  ASSERT_TRUE(t.driver_ok().ok());
  const std::vector<std::uint8_t> bytes{1, 2, 3, 4};
  ASSERT_TRUE(t.write_config(4, bytes).ok());
  ASSERT_TRUE(t.read_config(0, 16).ok());
  ASSERT_TRUE(t.kick(0).ok());
  ASSERT_TRUE(t.reset_queue(0).ok());
  ASSERT_TRUE(t.setup_queue(0, 8, ram).ok());
  ASSERT_TRUE(t.reset().ok());
  ASSERT_TRUE(t.init(bit(vfeature::kVersion1)).ok());
  ASSERT_TRUE(t.setup_queue(1, 4, ram).ok());
  ASSERT_TRUE(t.driver_ok().ok());
  EXPECT_GT(r.peer.received.size(), 30u);
  EXPECT_TRUE(r.peer.decode_failures.empty());  // frames decoded with strict type bits
  EXPECT_TRUE(r.log->empty()) << r.dump();
}

TEST(Rev1DriverRules, AStrictDriverOnABaselineBusIsCaught) {
  // The option must follow the bus's transport features: a driver that
  // assumes the strict profile where the bus has none sends generations.
  Rev1Rig r;
  driver::TransportDriver t(r.bus, kDev, driver::TransportDriverOptions{.strict_config_generation = true});
  const std::vector<std::uint8_t> bytes{1};
  ASSERT_TRUE(t.write_config(0, bytes).ok());
  EXPECT_EQ(r.log->rules(), (std::vector<std::string>{"R1-DRV-009"})) << r.dump();
}

TEST(Rev1DriverRules, AStrictDriverOnAStrictBusIsClean) {
  Rev1Rig r(transport::ValidationProfile{wire::Layout::Rev1, true});
  driver::TransportDriver t(r.bus, kDev, driver::TransportDriverOptions{.strict_config_generation = true});
  const std::vector<std::uint8_t> bytes{1};
  ASSERT_TRUE(t.write_config(0, bytes).ok());
  EXPECT_TRUE(r.log->empty()) << r.dump();
}

TEST(Rev1DriverRules, AnUnansweredRequestFailsAndTheDriverResetsR1Drv016) {
  Rev1Rig r;
  driver::TransportDriver t(r.bus, kDev);
  ASSERT_TRUE(t.init(bit(vfeature::kVersion1)).ok());
  r.stimulus->drop_requests(1 + r.link.config().retries);  // every attempt of one request
  auto lost = t.read_config(0, 4);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code, driver::VirtioErrc::NoResponse) << describe(lost.error());
  EXPECT_EQ(t.phase(), driver::Phase::Reset);
  EXPECT_EQ(r.stimulus->stats().dropped_requests, 1u + r.link.config().retries);
  ASSERT_TRUE(t.init(bit(vfeature::kVersion1)).ok());  // starts over on a device that was reset
  EXPECT_TRUE(r.log->empty()) << r.dump();
}

TEST(Rev1DriverRules, ADriverThatGoesOnAfterAnUnansweredRequestIsCaught) {
  Rev1Rig r;
  driver::TransportDriver t(r.bus, kDev, driver::TransportDriverOptions{.recover_on_no_response = false});
  driver::GuestAllocator ram(r.port.address_map());
  ASSERT_TRUE(t.init(bit(vfeature::kVersion1)).ok());
  r.stimulus->drop_requests(1 + r.link.config().retries);
  ASSERT_FALSE(t.read_config(0, 4).ok());
  (void)t.setup_queue(0, 8, ram);
  EXPECT_EQ(r.log->rules(), (std::vector<std::string>{"R1-DRV-016"})) << r.dump();
}

TEST(Rev1DriverRules, ALateResetIsPolledToZeroR1Drv059And061) {
  Rev1Rig r;
  driver::TransportDriver t(r.bus, kDev);
  ASSERT_TRUE(t.init(bit(vfeature::kVersion1)).ok());
  r.stimulus->slow_reset(3);
  ASSERT_TRUE(t.reset().ok());
  EXPECT_EQ(r.stimulus->stats().slow_status, 3u);  // the answer and two reads said "still running"
  ASSERT_TRUE(t.init(bit(vfeature::kVersion1)).ok());
  EXPECT_TRUE(r.log->empty()) << r.dump();
}

}  // namespace
}  // namespace vmsg::e2e

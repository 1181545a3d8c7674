// ReferenceTarget with the REV1-2026 profile: the amp device's profile and
// its transports must agree, or the target refuses to build.
#include <gtest/gtest.h>

#include <memory>

#include "vmsg/common/errors.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/transport/minimal_endpoint.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::target {
namespace {

std::shared_ptr<transport::DeviceTransport> rng(const transport::TransportOptions& o) {
  return std::make_shared<transport::DeviceTransport>(devices::make_backend("virtio-rng-device", {}), o);
}

ReferenceSpec rev1_spec(bool strict) {
  ReferenceSpec s;
  s.amp.profile = wire::Profile::rev1();
  s.amp.bus.strict_config_generation = strict;
  return s;
}

TEST(TargetProfile, Rev1TargetTakesTransportsBuiltForItsBus) {
  for (const bool strict : {false, true}) {
    ReferenceSpec s = rev1_spec(strict);
    s.devices.push_back({0, 0, rng(transport::options_for_bus(s.amp.profile, s.amp.bus, {}))});
    ReferenceTarget t(s);
    EXPECT_EQ(t.device().bus(0).profile(), wire::Profile::rev1());
    EXPECT_EQ(t.device().bus(0).transport_features(), strict ? 1u : 0u);
    EXPECT_TRUE(t.device().bus(0).present(0));
  }
}

TEST(TargetProfile, MismatchedTransportsAreRefused) {
  ReferenceSpec s = rev1_spec(false);
  s.devices.push_back({0, 3, rng(transport::TransportOptions{})});  // a PR28 transport on a REV1 bus
  EXPECT_THROW(ReferenceTarget{s}, ConfigError);
  ReferenceSpec strict = rev1_spec(true);
  strict.devices.push_back({0, 3, rng(transport::options_for_bus(strict.amp.profile, bus::BusOptions{}, {}))});
  EXPECT_THROW(ReferenceTarget{strict}, ConfigError);  // baseline transport behind a strict bus
  ReferenceSpec pr28;
  transport::TransportOptions o;
  o.layout = wire::Layout::Rev1;
  pr28.devices.push_back({0, 3, rng(o)});
  EXPECT_THROW(ReferenceTarget{pr28}, ConfigError);
  // PR28 has no configuration profiles: the flag is not compared there.
  ReferenceSpec plain;
  transport::TransportOptions flagged;
  flagged.strict_config_generation = true;
  plain.devices.push_back({0, 3, rng(flagged)});
  EXPECT_NO_THROW(ReferenceTarget{plain});
}

// Found by fuzz_device's REV1 seeds: a MinimalEndpoint answered GET_DEVICE_INFO
// with PR28's num_feature_bits, which REV1 cannot encode, so the bus lost the
// response. It now answers in its bus's draft, and the target refuses one of
// the other draft.
TEST(TargetProfile, MinimalEndpointAnswersInItsBusDraft) {
  ReferenceSpec s = rev1_spec(false);
  auto ep = std::make_shared<transport::MinimalEndpoint>(transport::MinimalIdentity{.device_id = 9}, wire::Layout::Rev1);
  s.devices.push_back({0, 2, ep});
  ReferenceTarget t(s);
  bus::Bus& b = t.device().bus(0);
  const wire::Message req{.dev_num = 2, .token = 0x77, .reserved_type_bits = 0, .body = wire::GetDeviceInfoReq{}};
  b.receive(wire::encode(req, wire::Profile::rev1()).value());
  EXPECT_EQ(b.stats().endpoint_faults(), 0u);
  EXPECT_EQ(b.stats().responses_sent, 1u);

  ReferenceSpec other = rev1_spec(false);
  other.devices.push_back({0, 2, std::make_shared<transport::MinimalEndpoint>()});  // PR28 answers on a REV1 bus
  EXPECT_THROW(ReferenceTarget{other}, ConfigError);
}

}  // namespace
}  // namespace vmsg::target

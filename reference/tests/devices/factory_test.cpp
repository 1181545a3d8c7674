// make_backend: kinds, property parsing, and the errors it names.
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "vmsg/common/errors.hpp"
#include "vmsg/devices/balloon.hpp"
#include "vmsg/devices/blk.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/devices/rng.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::devices {
namespace {

/// make_backend must throw ConfigError whose message contains every `needle`.
void expect_error(std::string_view kind, const DeviceProps& props, std::initializer_list<std::string_view> needles) {
  try {
    (void)make_backend(kind, props);
    ADD_FAILURE() << "no error for " << kind;
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    for (auto n : needles) EXPECT_NE(what.find(n), std::string::npos) << "'" << n << "' missing from: " << what;
  }
}

template <typename T>
const T& as(const std::unique_ptr<transport::Backend>& b) {
  const T* p = dynamic_cast<const T*>(b.get());
  EXPECT_NE(p, nullptr);
  if (p == nullptr) throw std::logic_error("wrong backend type");
  return *p;
}

TEST(Factory, KindsAreListedAndBuild) {
  const auto kinds = backend_kinds();
  ASSERT_EQ(kinds.size(), 3u);
  EXPECT_EQ(kinds[0], "virtio-rng-device");
  EXPECT_EQ(kinds[1], "virtio-blk-device");
  EXPECT_EQ(kinds[2], "virtio-balloon-device");
  EXPECT_EQ(make_backend(kinds[0])->device_id(), 4u);
  EXPECT_EQ(make_backend(kinds[1])->device_id(), 2u);
  EXPECT_EQ(make_backend(kinds[2])->device_id(), 5u);
}

TEST(Factory, RngSeed) {
  EXPECT_EQ(as<RngBackend>(make_backend("virtio-rng-device")).seed(), RngBackend::kDefaultSeed);
  EXPECT_EQ(as<RngBackend>(make_backend("virtio-rng-device", {{"seed", "1"}})).seed(), 1u);
  EXPECT_EQ(as<RngBackend>(make_backend("virtio-rng-device", {{"seed", "0x10"}})).seed(), 16u);
  EXPECT_EQ(as<RngBackend>(make_backend("virtio-rng-device", {{"seed", "18446744073709551615"}})).seed(),
            0xFFFF'FFFF'FFFF'FFFFULL);
}

TEST(Factory, BlkDefaults) {
  const auto b = make_backend("virtio-blk-device");
  const auto& o = as<BlkBackend>(b).options();
  EXPECT_EQ(o.capacity_sectors, 2048u);
  EXPECT_FALSE(o.read_only);
  EXPECT_FALSE(o.blk_size.has_value());
  EXPECT_EQ(o.seg_max, 254u);
  EXPECT_EQ(o.serial, "vmsg-blk");
}

TEST(Factory, BlkCapacityInSectorsOrBytes) {
  auto cap = [](const char* v) {
    return as<BlkBackend>(make_backend("virtio-blk-device", {{"capacity", v}})).options().capacity_sectors;
  };
  EXPECT_EQ(cap("100"), 100u);
  EXPECT_EQ(cap("0x20"), 32u);
  EXPECT_EQ(cap("0"), 0u);
  EXPECT_EQ(cap("1K"), 2u);
  EXPECT_EQ(cap("3k"), 6u);
  EXPECT_EQ(cap("4M"), 8192u);
  EXPECT_EQ(cap("2m"), 4096u);
}

TEST(Factory, BlkAllProperties) {
  const auto b = make_backend("virtio-blk-device", {{"capacity", "64K"},
                                                    {"read_only", "on"},
                                                    {"blk_size", "4096"},
                                                    {"seg_max", "0"},
                                                    {"serial", "disk-7"}});
  const auto& o = as<BlkBackend>(b).options();
  EXPECT_EQ(o.capacity_sectors, 128u);
  EXPECT_TRUE(o.read_only);
  EXPECT_EQ(o.blk_size, 4096u);
  EXPECT_EQ(o.seg_max, 0u);
  EXPECT_EQ(o.serial, "disk-7");
  EXPECT_EQ(b->device_features(), (1ULL << 9) | (1ULL << 5) | (1ULL << 6));
}

TEST(Factory, BlkBooleanSpellings) {
  auto ro = [](const char* v) {
    return as<BlkBackend>(make_backend("virtio-blk-device", {{"read_only", v}})).options().read_only;
  };
  for (const char* t : {"on", "true", "yes", "1"}) EXPECT_TRUE(ro(t)) << t;
  for (const char* f : {"off", "false", "no", "0"}) EXPECT_FALSE(ro(f)) << f;
}

TEST(Factory, BadSectorsAndPolling) {
  const auto b = make_backend("virtio-blk-device", {{"bad_sectors", "5:0x10:9"}, {"poll-ns", "1000"}});
  EXPECT_EQ(as<BlkBackend>(b).options().bad_sectors, (std::vector<std::uint64_t>{5, 16, 9}));
  EXPECT_EQ(b->poll_window_ns(), 1000u);
  EXPECT_EQ(make_backend("virtio-blk-device")->poll_window_ns(), 0u);
  EXPECT_EQ(make_backend("virtio-rng-device", {{"poll-ns", "77"}})->poll_window_ns(), 77u);
  for (const char* bad : {"", "5:", ":5", "5,9", "x"}) {
    EXPECT_THROW((void)make_backend("virtio-blk-device", {{"bad_sectors", bad}}), ConfigError) << bad;
  }
  EXPECT_THROW((void)make_backend("virtio-balloon-device", {{"poll-ns", "1"}}), ConfigError);
}

TEST(Factory, BalloonTarget) {
  EXPECT_EQ(as<BalloonBackend>(make_backend("virtio-balloon-device")).target(), 0u);
  EXPECT_EQ(as<BalloonBackend>(make_backend("virtio-balloon-device", {{"target", "4294967295"}})).target(),
            0xFFFF'FFFFu);
}

/// What GET_VQUEUE `index` answers for `kind` built from `props`: the
/// property must reach the transport's answer, not only the backend.
std::uint32_t reported_max(std::string_view kind, const DeviceProps& props, std::uint32_t index) {
  struct Outbox final : bus::Outbox {
    void post(const wire::Message& m) override { posted.push_back(m); }
    std::vector<wire::Message> posted;
  } out;
  transport::DeviceTransport t(make_backend(kind, props));
  t.attach(1, out);
  t.receive(wire::Message{.dev_num = 1, .token = 7, .reserved_type_bits = 0, .body = wire::GetVqueueReq{index}});
  EXPECT_EQ(out.posted.size(), 1u);
  if (out.posted.empty()) return 0;
  const auto* r = std::get_if<wire::GetVqueueResp>(&out.posted.front().body);
  EXPECT_NE(r, nullptr);
  return r == nullptr ? 0 : r->max_size;
}

TEST(Factory, QueueSizeDefaults) {
  EXPECT_EQ(make_backend("virtio-rng-device")->max_queue_size(0), 256u);
  EXPECT_EQ(make_backend("virtio-blk-device")->max_queue_size(0), 256u);
  EXPECT_EQ(make_backend("virtio-balloon-device")->max_queue_size(0), 128u);
  EXPECT_EQ(make_backend("virtio-balloon-device")->max_queue_size(1), 128u);
}

TEST(Factory, QueueSizeEveryKind) {
  const auto rng = make_backend("virtio-rng-device", {{"queue-size", "8"}, {"seed", "3"}});
  EXPECT_EQ(rng->max_queue_size(0), 8u);
  EXPECT_EQ(rng->max_queue_size(1), 0u);
  EXPECT_EQ(as<RngBackend>(rng).seed(), 3u);
  const auto blk = make_backend("virtio-blk-device", {{"queue-size", "0x10"}, {"capacity", "8"}});
  EXPECT_EQ(blk->max_queue_size(0), 16u);
  EXPECT_EQ(as<BlkBackend>(blk).options().max_queue_size, 16u);
  EXPECT_EQ(as<BlkBackend>(blk).options().capacity_sectors, 8u);
  const auto balloon = make_backend("virtio-balloon-device", {{"queue-size", "32768"}, {"target", "5"}});
  EXPECT_EQ(balloon->max_queue_size(0), 32768u);
  EXPECT_EQ(balloon->max_queue_size(1), 32768u);
  EXPECT_EQ(balloon->max_queue_size(2), 0u);
  EXPECT_EQ(as<BalloonBackend>(balloon).target(), 5u);
  EXPECT_EQ(make_backend("virtio-rng-device", {{"queue-size", "1"}})->max_queue_size(0), 1u);
}

TEST(Factory, GetVqueueReportsTheConfiguredMaximum) {
  EXPECT_EQ(reported_max("virtio-rng-device", {{"queue-size", "8"}}, 0), 8u);
  EXPECT_EQ(reported_max("virtio-rng-device", {{"queue-size", "8"}}, 1), 0u);
  EXPECT_EQ(reported_max("virtio-blk-device", {{"queue-size", "64"}}, 0), 64u);
  EXPECT_EQ(reported_max("virtio-balloon-device", {{"queue-size", "4"}}, 0), 4u);
  EXPECT_EQ(reported_max("virtio-balloon-device", {{"queue-size", "4"}}, 1), 4u);
  EXPECT_EQ(reported_max("virtio-rng-device", {}, 0), 256u);
}

TEST(FactoryErrors, UnknownKind) {
  expect_error("virtio-net-device", {}, {"unknown device kind", "virtio-net-device"});
  expect_error("", {}, {"unknown device kind"});
}

TEST(FactoryErrors, UnknownProperty) {
  expect_error("virtio-rng-device", {{"capacity", "1"}}, {"virtio-rng-device", "unknown property", "capacity"});
  expect_error("virtio-blk-device", {{"readonly", "on"}}, {"virtio-blk-device", "unknown property", "readonly"});
  expect_error("virtio-balloon-device", {{"seed", "1"}}, {"virtio-balloon-device", "unknown property", "seed"});
}

TEST(FactoryErrors, BadNumbers) {
  for (const char* v : {"", "abc", "-1", "+1", "1x", " 1", "0x", "0xG", "18446744073709551616", "1.5"}) {
    expect_error("virtio-rng-device", {{"seed", v}}, {"virtio-rng-device", "seed", "bad value"});
  }
  expect_error("virtio-balloon-device", {{"target", "4294967296"}}, {"target", "4294967296", "larger than"});
  expect_error("virtio-blk-device", {{"seg_max", "0x100000000"}}, {"seg_max", "larger than"});
}

TEST(FactoryErrors, BadQueueSize) {
  for (const char* kind : {"virtio-rng-device", "virtio-blk-device", "virtio-balloon-device"}) {
    for (const char* v : {"0", "3", "6", "100", "65536", "0x10000", "4294967296"}) {
      SCOPED_TRACE(std::string(kind) + " " + v);
      expect_error(kind, {{"queue-size", v}}, {kind, "bad value", "'queue-size'", v, "power of two in 1..32768"});
    }
    for (const char* v : {"", "abc", "-8", "8K"}) {
      SCOPED_TRACE(std::string(kind) + " " + v);
      expect_error(kind, {{"queue-size", v}}, {kind, "bad value", "'queue-size'"});
    }
  }
  // QEMU spells it with a dash; the underscore form is not silently taken.
  expect_error("virtio-blk-device", {{"queue_size", "8"}}, {"unknown property", "queue_size"});
}

TEST(FactoryErrors, BadCapacity) {
  for (const char* v : {"", "K", "1.5M", "100B", "-1K", "1T", "M4"}) {
    expect_error("virtio-blk-device", {{"capacity", v}}, {"virtio-blk-device", "capacity", "bad value"});
  }
  expect_error("virtio-blk-device", {{"capacity", "2G"}}, {"capacity", "2G", "limit"});
  expect_error("virtio-blk-device", {{"capacity", "2097153"}}, {"capacity", "limit"});
  expect_error("virtio-blk-device", {{"capacity", "99999999999999999999G"}}, {"capacity", "bad value"});
  expect_error("virtio-blk-device", {{"capacity", "17179869184G"}}, {"capacity", "too large"});  // 2^34 GiB
}

TEST(FactoryErrors, BadBlkOptions) {
  expect_error("virtio-blk-device", {{"read_only", "maybe"}}, {"read_only", "maybe", "on/off"});
  expect_error("virtio-blk-device", {{"blk_size", "1000"}}, {"virtio-blk-device", "blk_size", "1000"});
  expect_error("virtio-blk-device", {{"capacity", "3"}, {"blk_size", "4096"}}, {"capacity", "4096"});
  expect_error("virtio-blk-device", {{"serial", std::string(21, 's')}}, {"serial", "20"});
}

}  // namespace
}  // namespace vmsg::devices

// UnknownExtrasBackend through make_backend's extra-features / config-pad:
// what the driver sees, what stays the inner type's, and what is refused.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "vmsg/common/errors.hpp"
#include "vmsg/devices/blk.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/devices/unknown_extras.hpp"

namespace vmsg::devices {
namespace {

constexpr std::uint64_t kBit23 = std::uint64_t{1} << 23;

TEST(UnknownExtras, DefaultsBuildThePlainType) {
  const auto b = make_backend("virtio-blk-device");
  EXPECT_EQ(dynamic_cast<const UnknownExtrasBackend*>(b.get()), nullptr);
  EXPECT_EQ(b->config_size(), blk::kConfigSize);
}

TEST(UnknownExtras, OffersTheExtraBitsBesidesTheTypes) {
  const auto plain = make_backend("virtio-blk-device")->device_features();
  const auto b = make_backend("virtio-blk-device", {{"extra-features", "0x800000"}});
  EXPECT_EQ(b->device_features(), plain | kBit23);
  EXPECT_EQ(b->config_size(), blk::kConfigSize);
  EXPECT_EQ(make_backend("virtio-rng-device", {{"extra-features", "0x800000"}})->device_features(), kBit23);
  const auto high = std::uint64_t{1} << 60;
  EXPECT_EQ(make_backend("virtio-balloon-device", {{"extra-features", "0x1000000000000000"}})->device_features() & high,
            high);
}

TEST(UnknownExtras, InnerBackendJudgesOnlyItsOwnBits) {
  struct Picky final : transport::ForwardingBackend {
    using ForwardingBackend::ForwardingBackend;
    bool accept_features(std::uint64_t f) override {
      seen = f;
      return true;
    }
    std::uint64_t seen = ~0ULL;
  };
  auto inner = std::make_shared<Picky>(make_backend("virtio-rng-device"));
  UnknownExtrasBackend b(inner, kBit23, 0);
  EXPECT_TRUE(b.accept_features(kBit23 | (std::uint64_t{1} << 32)));
  EXPECT_EQ(inner->seen, std::uint64_t{1} << 32);
}

TEST(UnknownExtras, PaddingReadsZeroAndRefusesWrites) {
  const auto plain = make_backend("virtio-blk-device", {{"capacity", "8"}});
  const auto b = make_backend("virtio-blk-device", {{"capacity", "8"}, {"config-pad", "64"}});
  ASSERT_EQ(b->config_size(), blk::kConfigSize + 64);
  std::vector<std::uint8_t> want(blk::kConfigSize), got(blk::kConfigSize + 64, 0xEE);
  plain->read_config(0, want);
  b->read_config(0, got);  // one read across the known end
  EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin()));
  for (std::size_t i = blk::kConfigSize; i < got.size(); ++i) EXPECT_EQ(got[i], 0) << i;
  std::array<std::uint8_t, 4> tail{1, 1, 1, 1};
  b->read_config(blk::kConfigSize + 60, tail);  // wholly in the padding
  EXPECT_EQ(tail, (std::array<std::uint8_t, 4>{}));
  const std::array<std::uint8_t, 2> two{1, 2};
  EXPECT_FALSE(b->write_config(blk::kConfigSize, two));
  EXPECT_FALSE(b->write_config(blk::kConfigSize - 1, two));  // straddles the end
  EXPECT_EQ(make_backend("virtio-rng-device", {{"config-pad", "16"}})->config_size(), 16u);
}

TEST(UnknownExtras, Refusals) {
  for (const char* bad : {"0x1000000", "0x100000000", "0x2000000000000"}) {  // bits 24, 32, 49
    EXPECT_THROW((void)make_backend("virtio-rng-device", {{"extra-features", bad}}), ConfigError) << bad;
  }
  // blk offers FLUSH (bit 9): an extra bit must be one the type does not offer.
  EXPECT_THROW((void)make_backend("virtio-blk-device", {{"extra-features", "0x200"}}), ConfigError);
  EXPECT_THROW((void)make_backend("virtio-blk-device", {{"config-pad", "0xFFFFFFFF"}}), ConfigError);
  EXPECT_THROW((void)make_backend("virtio-blk-device", {{"config-pad", "0x100000000"}}), ConfigError);
  EXPECT_THROW((void)make_backend("virtio-rng-device", {{"extra-features", "x"}}), ConfigError);
  try {
    (void)make_backend("virtio-blk-device", {{"extra-features", "0x200"}});
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("virtio-blk-device"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vmsg::devices

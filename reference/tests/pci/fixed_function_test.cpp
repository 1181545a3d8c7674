// FixedFunction: a header that reads like a type-0 function and that no
// config write changes (the chipset functions of machine/q35_platform.hpp).
#include "vmsg/pci/fixed_function.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "vmsg/common/errors.hpp"

namespace vmsg::pci {
namespace {

constexpr PciIdentity kLpc{.vendor_id = 0x8086,
                           .device_id = 0x2918,
                           .revision = 0x02,
                           .class_code = 0x060100,
                           .subsystem_vendor_id = 0x1AF4,
                           .subsystem_id = 0x1100};

TEST(FixedFunction, HeaderCarriesTheIdentityAndTheMultiFunctionBit) {
  FixedFunction f(kLpc, true);
  EXPECT_EQ(f.config_read(0x00, 4), 0x29188086u);
  EXPECT_EQ(f.config_read(0x04, 4), 0u);  // Command and Status
  EXPECT_EQ(f.config_read(0x08, 4), 0x06010002u);
  EXPECT_EQ(f.config_read(0x0C, 4), 0x00800000u);
  EXPECT_EQ(f.config_read(0x0E, 1), cfg::kHeaderTypeMultiFunction);
  EXPECT_EQ(f.config_read(0x2C, 4), 0x11001AF4u);
  EXPECT_EQ(f.config_read(0x34, 1), 0u);  // no capabilities
  FixedFunction single(kLpc, false);
  EXPECT_EQ(single.config_read(0x0E, 1), 0u);
}

TEST(FixedFunction, WritesChangeNothingAndNoBarEverDecodes) {
  FixedFunction f(kLpc, false);
  std::uint32_t before[64];
  for (std::uint16_t i = 0; i < 64; ++i) before[i] = f.config_read(static_cast<std::uint16_t>(4 * i), 4);
  for (std::uint16_t off = 0; off < 0x100; off = static_cast<std::uint16_t>(off + 4)) {
    f.config_write(off, 4, 0xFFFF'FFFFu);
  }
  f.config_write(0x04, 2, 0x0006);  // MEM|BME
  for (std::uint16_t i = 0; i < 64; ++i) EXPECT_EQ(f.config_read(static_cast<std::uint16_t>(4 * i), 4), before[i]) << i;
  for (unsigned bar = 0; bar < cfg::kNumBars; ++bar) {
    EXPECT_EQ(f.config_read(static_cast<std::uint16_t>(cfg::kBar0 + 4 * bar), 4), 0u);  // sizing finds nothing
    EXPECT_FALSE(f.bar_mapping(bar).has_value());
  }
  ASSERT_NE(f.decode_generation(), nullptr);
  EXPECT_EQ(*f.decode_generation(), 0u);
  EXPECT_TRUE(f.decode_fixed());  // a host may decode it once and never look again
  EXPECT_EQ(f.bar_read(0, 0, 4), 0u);
}

TEST(FixedFunction, ExtendedSpaceAndBadAccessesReadAllOnes) {
  FixedFunction f(kLpc, false);
  EXPECT_EQ(f.config_read(0x100, 4), 0xFFFF'FFFFu);
  EXPECT_EQ(f.config_read(0xFFC, 2), 0xFFFFu);
  EXPECT_EQ(f.config_read(0x01, 2), 0xFFFFu);  // unaligned: the machine splits these
}

TEST(FixedFunction, RefusesAClassCodeWiderThan24Bits) {
  PciIdentity bad = kLpc;
  bad.class_code = 0x0100'0000;
  EXPECT_THROW(FixedFunction(bad, false), ConfigError);
}

}  // namespace
}  // namespace vmsg::pci

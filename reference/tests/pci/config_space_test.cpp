// ConfigSpace: identity, Command/Status, BAR sizing, capability list and the
// handling of byte, halfword, unaligned and out-of-range accesses.
#include "vmsg/pci/config_space.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "pci/pci_test_support.hpp"
#include "vmsg/common/errors.hpp"

namespace vmsg::pci {
namespace {

using test::amp_bars;
using test::amp_identity;

std::array<std::uint32_t, 64> snapshot(const ConfigSpace& c) {
  std::array<std::uint32_t, 64> d{};
  for (std::uint16_t i = 0; i < 64; ++i) d[i] = c.read(static_cast<std::uint16_t>(i * 4), 4);
  return d;
}

TEST(ConfigSpace, IdentityDwords) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  EXPECT_EQ(c.read(0x00, 4), 0x903910EEu);
  EXPECT_EQ(c.read(0x04, 4), 0x00000000u);  // no capability yet: Status 0
  EXPECT_EQ(c.read(0x08, 4), 0x08800001u);
  EXPECT_EQ(c.read(0x0C, 4), 0x00000000u);
  EXPECT_EQ(c.read(0x2C, 4), 0x11001AF4u);
  EXPECT_EQ(c.read(0x30, 4), 0x00000000u);
  EXPECT_EQ(c.read(0x34, 4), 0x00000000u);
  EXPECT_EQ(c.read(0x3C, 4), 0x00000000u);
}

TEST(ConfigSpace, ByteAndHalfwordReads) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  EXPECT_EQ(c.read(0x00, 1), 0xEEu);
  EXPECT_EQ(c.read(0x01, 1), 0x10u);
  EXPECT_EQ(c.read(0x00, 2), 0x10EEu);
  EXPECT_EQ(c.read(0x02, 2), 0x9039u);
  EXPECT_EQ(c.read(0x03, 1), 0x90u);
  EXPECT_EQ(c.read(0x08, 1), 0x01u);
  EXPECT_EQ(c.read(0x09, 1), 0x00u);
  EXPECT_EQ(c.read(0x0A, 1), 0x80u);
  EXPECT_EQ(c.read(0x0B, 1), 0x08u);
  EXPECT_EQ(c.read(0x0A, 2), 0x0880u);
  EXPECT_EQ(c.read(0x0E, 1), 0x00u);  // header type 0
  EXPECT_EQ(c.read(0x2C, 2), 0x1AF4u);
  EXPECT_EQ(c.read(0x2E, 2), 0x1100u);
  EXPECT_EQ(c.read(0x3D, 1), 0x00u);  // interrupt pin: none
  EXPECT_EQ(c.read(0x14, 1), 0x08u);  // BAR1 prefetchable flag
}

TEST(ConfigSpace, BarInitialValues) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  EXPECT_EQ(c.read(0x10, 4), 0x00000000u);
  EXPECT_EQ(c.read(0x14, 4), 0x00000008u);
  EXPECT_EQ(c.read(0x18, 4), 0x00000000u);
  for (std::uint16_t off = 0x1C; off <= 0x24; off = static_cast<std::uint16_t>(off + 4)) {
    EXPECT_EQ(c.read(off, 4), 0u) << off;
  }
  for (unsigned b = 0; b < 6; ++b) EXPECT_EQ(c.bar_address(b), 0u) << b;
}

TEST(ConfigSpace, BarSizingOneFifo) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  for (std::uint16_t off = 0x10; off <= 0x24; off = static_cast<std::uint16_t>(off + 4)) c.write(off, 4, 0xFFFFFFFF);
  EXPECT_EQ(c.read(0x10, 4), 0xFFFFC000u);
  EXPECT_EQ(c.read(0x14, 4), 0xFFFFC008u);
  EXPECT_EQ(c.read(0x18, 4), 0xFFFFF000u);
  EXPECT_EQ(c.read(0x1C, 4), 0u);
  EXPECT_EQ(c.read(0x20, 4), 0u);
  EXPECT_EQ(c.read(0x24, 4), 0u);
  // The size rule of amp-pci-device.md §9.3.
  EXPECT_EQ(~(c.read(0x10, 4) & ~0xFu) + 1, 0x4000u);
  EXPECT_EQ(~(c.read(0x14, 4) & ~0xFu) + 1, 0x4000u);
  EXPECT_EQ(~(c.read(0x18, 4) & ~0xFu) + 1, 0x1000u);
  EXPECT_EQ(c.bar_address(0), 0xFFFFC000u);
  EXPECT_EQ(c.bar_address(1), 0xFFFFC000u);
}

TEST(ConfigSpace, BarSizingTwoFifos) {
  ConfigSpace c(amp_identity(), amp_bars(2));
  c.write(0x14, 4, 0xFFFFFFFF);
  EXPECT_EQ(c.read(0x14, 4), 0xFFFF8008u);
}

TEST(ConfigSpace, BarAddressAlignedDown) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  c.write(0x10, 4, 0xE0001234);
  EXPECT_EQ(c.read(0x10, 4), 0xE0000000u);
  EXPECT_EQ(c.bar_address(0), 0xE0000000u);
  c.write(0x14, 4, 0xE0004007);  // flag bits are read-only whatever is written
  EXPECT_EQ(c.read(0x14, 4), 0xE0004008u);
  EXPECT_EQ(c.bar_address(1), 0xE0004000u);
  c.write(0x18, 4, 0xE0008FFF);
  EXPECT_EQ(c.read(0x18, 4), 0xE0008000u);
  c.write(0x1C, 4, 0xE000C000);  // unimplemented
  EXPECT_EQ(c.read(0x1C, 4), 0u);
  EXPECT_EQ(c.bar_address(3), 0u);
  EXPECT_EQ(c.bar_address(6), 0u);
}

TEST(ConfigSpace, BarProgrammedBytewise) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  c.write(0x13, 1, 0xE0);
  c.write(0x12, 1, 0x12);
  c.write(0x11, 1, 0xFF);  // bits 13:8: 0xC0 writable, the rest hard-wired 0
  c.write(0x10, 1, 0xFF);
  EXPECT_EQ(c.read(0x10, 4), 0xE012C000u);
  c.write(0x12, 2, 0x0000);
  EXPECT_EQ(c.read(0x10, 4), 0x0000C000u);
}

TEST(ConfigSpace, SmallestAndLargestBars) {
  BarSpecs bars{};
  bars[0] = {16, false};
  bars[5] = {0x80000000u, true};
  ConfigSpace c(amp_identity(), bars);
  c.write(0x10, 4, 0xFFFFFFFF);
  c.write(0x24, 4, 0xFFFFFFFF);
  EXPECT_EQ(c.read(0x10, 4), 0xFFFFFFF0u);
  EXPECT_EQ(c.read(0x24, 4), 0x80000008u);
}

TEST(ConfigSpace, InvalidSpecsThrow) {
  auto with_bar = [](BarSpec b) {
    BarSpecs bars{};
    bars[0] = b;
    return bars;
  };
  EXPECT_THROW(ConfigSpace(amp_identity(), with_bar({8, false})), ConfigError);
  EXPECT_THROW(ConfigSpace(amp_identity(), with_bar({0x3000, false})), ConfigError);
  EXPECT_THROW(ConfigSpace(amp_identity(), with_bar({0, true})), ConfigError);
  PciIdentity wide = amp_identity();
  wide.class_code = 0x1000000;
  EXPECT_THROW(ConfigSpace(wide, amp_bars(1)), ConfigError);
}

TEST(ConfigSpace, CommandWritableBitsOnly) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  EXPECT_FALSE(c.memory_enabled());
  EXPECT_FALSE(c.bus_master());
  c.write(0x04, 2, 0xFFFF);
  EXPECT_EQ(c.read(0x04, 2), 0x0406u);
  EXPECT_TRUE(c.memory_enabled());
  EXPECT_TRUE(c.bus_master());
  EXPECT_TRUE(c.intx_disabled());
  c.write(0x04, 4, 0xFFFF0002);  // Status half is read-only
  EXPECT_EQ(c.read(0x04, 4), 0x00000002u);
  EXPECT_TRUE(c.memory_enabled());
  EXPECT_FALSE(c.bus_master());
  EXPECT_FALSE(c.intx_disabled());
}

TEST(ConfigSpace, CommandByteWrites) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  c.write(0x04, 1, 0x06);
  EXPECT_EQ(c.command(), 0x0006u);
  c.write(0x05, 1, 0xFF);
  EXPECT_EQ(c.command(), 0x0406u);
  EXPECT_EQ(c.read(0x05, 1), 0x04u);
  c.write(0x06, 2, 0xFFFF);
  EXPECT_EQ(c.status(), 0x0000u);
}

TEST(ConfigSpace, CommandObserver) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  std::vector<std::pair<std::uint16_t, std::uint16_t>> seen;
  c.set_command_observer([&](std::uint16_t o, std::uint16_t n) { seen.emplace_back(o, n); });
  c.write(0x04, 2, 0x0002);
  c.write(0x04, 2, 0x0002);  // unchanged: no call
  c.write(0x04, 2, 0x0008);  // only unimplemented bits: value 0
  c.write(0x10, 4, 0xE0000000);
  c.write(0x04, 1, 0x06);
  c.write(0x05, 1, 0x04);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], std::make_pair(std::uint16_t{0}, std::uint16_t{2}));
  EXPECT_EQ(seen[1], std::make_pair(std::uint16_t{2}, std::uint16_t{0}));
  EXPECT_EQ(seen[2], std::make_pair(std::uint16_t{0}, std::uint16_t{6}));
  EXPECT_EQ(seen[3], std::make_pair(std::uint16_t{6}, std::uint16_t{0x406}));
  c.reset();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[4], std::make_pair(std::uint16_t{0x406}, std::uint16_t{0}));
  c.set_command_observer({});
  c.write(0x04, 2, 0x0006);
  EXPECT_EQ(seen.size(), 5u);
}

TEST(ConfigSpace, IdentityIsReadOnly) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  const auto before = snapshot(c);
  c.write(0x00, 4, 0);
  c.write(0x08, 4, 0);
  c.write(0x0E, 1, 0x80);
  c.write(0x2C, 4, 0);
  c.write(0x30, 4, 0xFFFFFFFF);
  c.write(0x34, 1, 0x80);
  c.write(0x3D, 1, 0x01);
  c.write(0x80, 4, 0xFFFFFFFF);
  EXPECT_EQ(snapshot(c), before);
}

TEST(ConfigSpace, ScratchBytesWritableAndReset) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  c.write(0x0C, 4, 0xFFFFFFFF);
  EXPECT_EQ(c.read(0x0C, 4), 0x000000FFu);  // only cache line size
  c.write(0x3C, 4, 0xFFFFFFFF);
  EXPECT_EQ(c.read(0x3C, 4), 0x000000FFu);  // only interrupt line
  c.write(0x10, 4, 0xE0000000);
  c.write(0x14, 4, 0xE0004000);
  c.write(0x04, 2, 0x0006);
  c.reset();
  EXPECT_EQ(c.read(0x0C, 4), 0u);
  EXPECT_EQ(c.read(0x3C, 4), 0u);
  EXPECT_EQ(c.read(0x10, 4), 0u);
  EXPECT_EQ(c.read(0x14, 4), 0x8u);  // flag bit survives reset
  EXPECT_EQ(c.command(), 0u);
  EXPECT_EQ(c.read(0x00, 4), 0x903910EEu);
}

TEST(ConfigSpace, CapabilityList) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  EXPECT_EQ(c.find_capability(0x11), std::nullopt);
  EXPECT_EQ(c.add_capability(0x11, 12), 0x40u);
  EXPECT_EQ(c.read(0x06, 2), 0x0010u);
  EXPECT_EQ(c.read(0x34, 1), 0x40u);
  EXPECT_EQ(c.read(0x40, 4), 0x00000011u);
  EXPECT_EQ(c.add_capability(0x09, 6), 0x4Cu);
  EXPECT_EQ(c.read(0x41, 1), 0x4Cu);
  EXPECT_EQ(c.add_capability(0x05, 10), 0x54u);  // 0x52 rounded up to a dword
  EXPECT_EQ(c.read(0x4D, 1), 0x54u);
  EXPECT_EQ(c.read(0x55, 1), 0x00u);
  EXPECT_EQ(c.find_capability(0x11), 0x40u);
  EXPECT_EQ(c.find_capability(0x09), 0x4Cu);
  EXPECT_EQ(c.find_capability(0x05), 0x54u);
  EXPECT_EQ(c.find_capability(0x10), std::nullopt);
  // Capability bytes are read-only until the owner opens them.
  c.write(0x40, 4, 0xFFFFFFFF);
  EXPECT_EQ(c.read(0x40, 4), 0x00004C11u);
  c.set_write_mask(0x42, 2, 0x00FF);
  c.write(0x40, 4, 0xFFFFFFFF);
  EXPECT_EQ(c.read(0x40, 4), 0x00FF4C11u);
  EXPECT_EQ(c.write_mask(0x42, 2), 0x00FFu);
}

TEST(ConfigSpace, CapabilityOverflowThrows) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  EXPECT_THROW(c.add_capability(0x09, 1), ConfigError);
  EXPECT_EQ(c.add_capability(0x09, 0xBC), 0x40u);  // 0x40 + 0xBC = 0xFC
  EXPECT_EQ(c.add_capability(0x09, 4), 0xFCu);     // exactly fills the header
  EXPECT_THROW(c.add_capability(0x09, 2), ConfigError);
}

TEST(ConfigSpace, FindCapabilityStopsOnLoop) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  c.add_capability(0x09, 4);
  c.raw_write(0x41, 1, 0x40);  // next points at itself
  EXPECT_EQ(c.find_capability(0x11), std::nullopt);
}

TEST(ConfigSpace, UnalignedAccessesReadOnesAndAreIgnored) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  const auto before = snapshot(c);
  EXPECT_EQ(c.read(0x01, 2), 0xFFFFu);
  EXPECT_EQ(c.read(0x03, 2), 0xFFFFu);
  EXPECT_EQ(c.read(0x02, 4), 0xFFFFFFFFu);
  EXPECT_EQ(c.read(0x09, 4), 0xFFFFFFFFu);
  EXPECT_EQ(c.read(0x00, 3), 0xFFFFFFFFu);
  EXPECT_EQ(c.read(0x00, 0), 0xFFFFFFFFu);
  EXPECT_EQ(c.read(0x00, 8), 0xFFFFFFFFu);
  c.write(0x05, 2, 0xFFFF);
  c.write(0x03, 2, 0xFFFF);
  c.write(0x12, 4, 0xFFFFFFFF);
  c.write(0x04, 3, 0xFFFFFF);
  c.write(0x04, 8, 0xFFFFFFFF);
  EXPECT_EQ(snapshot(c), before);
  EXPECT_EQ(c.ignored_accesses(), 12u);
}

TEST(ConfigSpace, OutOfRangeAccesses) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  const auto before = snapshot(c);
  EXPECT_EQ(c.read(0x100, 4), 0xFFFFFFFFu);
  EXPECT_EQ(c.read(0x100, 1), 0xFFu);
  EXPECT_EQ(c.read(0x102, 2), 0xFFFFu);
  EXPECT_EQ(c.read(0xFFC, 4), 0xFFFFFFFFu);
  EXPECT_EQ(c.read(0x1000, 4), 0xFFFFFFFFu);
  EXPECT_EQ(c.read(0xFFFF, 1), 0xFFu);
  EXPECT_EQ(c.read(0xFFFC, 4), 0xFFFFFFFFu);
  c.write(0x100, 4, 0);
  c.write(0xFFC, 4, 0);
  c.write(0xFFFF, 1, 0);
  EXPECT_EQ(snapshot(c), before);
  EXPECT_EQ(c.read(0xFC, 4), 0u);  // last valid dword
  EXPECT_EQ(c.read(0xFF, 1), 0u);
  EXPECT_FALSE(ConfigSpace::valid_access(0xFE, 4));
  EXPECT_TRUE(ConfigSpace::valid_access(0xFE, 2));
}

TEST(ConfigSpace, RawAccessBypassesMasksAndObserver) {
  ConfigSpace c(amp_identity(), amp_bars(1));
  int calls = 0;
  c.set_command_observer([&](std::uint16_t, std::uint16_t) { ++calls; });
  c.raw_write(0x04, 2, 0x0006);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(c.command(), 0x0006u);
  c.raw_write(0x2C, 2, 0xABCD);
  EXPECT_EQ(c.raw_read(0x2C, 2), 0xABCDu);
  EXPECT_EQ(c.read(0x2C, 4), 0x1100ABCDu);
}

}  // namespace
}  // namespace vmsg::pci

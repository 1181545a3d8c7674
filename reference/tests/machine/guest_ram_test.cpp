#include "vmsg/machine/guest_ram.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "vmsg/common/errors.hpp"

namespace vmsg::machine {
namespace {

TEST(GuestRam, StartsZeroed) {
  GuestRam ram(4096);
  std::array<std::uint8_t, 16> buf{};
  buf.fill(0xAA);
  ASSERT_TRUE(ram.read(4096 - 16, buf));
  for (auto b : buf) {
    EXPECT_EQ(b, 0);
  }
}

TEST(GuestRam, ZeroSizeIsAConfigError) { EXPECT_THROW(GuestRam(0), ConfigError); }

TEST(GuestRam, ScalarStoreIsLittleEndianAtEveryWidth) {
  GuestRam ram(64);
  const std::uint64_t v = 0x8877665544332211ULL;
  for (unsigned size : {1U, 2U, 4U, 8U}) {
    ASSERT_TRUE(ram.store(16, size, v)) << size;
    std::array<std::uint8_t, 8> bytes{};
    ASSERT_TRUE(ram.read(16, bytes));
    for (unsigned i = 0; i < 8; ++i) {
      EXPECT_EQ(bytes[i], i < size ? 0x11 * (i + 1) : 0) << "size " << size << " byte " << i;
    }
    EXPECT_EQ(ram.load(16, size), v & (size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1));
    ASSERT_TRUE(ram.store(16, 8, 0));
  }
}

TEST(GuestRam, OutOfRangeAccessFailsAndTouchesNothing) {
  GuestRam ram(64);
  ASSERT_TRUE(ram.store(56, 8, 0x0102030405060708ULL));
  const std::array<std::uint8_t, 8> data{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  EXPECT_FALSE(ram.write(60, data));  // straddles the end
  EXPECT_EQ(ram.load(56, 8), 0x0102030405060708ULL);

  std::array<std::uint8_t, 8> out{};
  out.fill(0x5A);
  EXPECT_FALSE(ram.read(57, out));
  for (auto b : out) {
    EXPECT_EQ(b, 0x5A);
  }
  EXPECT_FALSE(ram.load(61, 4).has_value());
  EXPECT_FALSE(ram.store(64, 1, 0));
  EXPECT_TRUE(ram.load(63, 1).has_value());
}

TEST(GuestRam, BoundsCheckDoesNotOverflow) {
  GuestRam ram(64);
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  EXPECT_FALSE(ram.contains(kMax, 2));
  EXPECT_FALSE(ram.contains(8, kMax));
  EXPECT_TRUE(ram.contains(64, 0));
  EXPECT_FALSE(ram.contains(65, 0));
  EXPECT_FALSE(ram.load(kMax - 3, 8).has_value());
}

TEST(GuestRam, RejectsScalarWidthsOutside1To8) {
  GuestRam ram(64);
  EXPECT_FALSE(ram.load(0, 0).has_value());
  EXPECT_FALSE(ram.load(0, 9).has_value());
  EXPECT_FALSE(ram.store(0, 9, 1));
}

TEST(GuestRam, LargeRamIsLazy) {
  // 2.75 GiB: only feasible because calloc hands out untouched zero pages.
  GuestRam ram(0xB000'0000ULL);
  ASSERT_TRUE(ram.store(0xAFFF'FFF8ULL, 8, 0x1122334455667788ULL));
  EXPECT_EQ(ram.load(0xAFFF'FFF8ULL, 8), 0x1122334455667788ULL);
  EXPECT_EQ(ram.load(0x4000'0000ULL, 8), 0U);
}

}  // namespace
}  // namespace vmsg::machine

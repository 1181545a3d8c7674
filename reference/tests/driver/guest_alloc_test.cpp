#include "vmsg/driver/guest_alloc.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "vmsg/common/errors.hpp"
#include "vmsg/driver/errors.hpp"

namespace vmsg::driver {
namespace {

constexpr port::AddressMap kQ35{0x10'0000, (128ULL << 20) - 0x10'0000, 0xE000'0000, 0x1EC0'0000};

TEST(BumpAllocator, AlignsEveryAllocation) {
  BumpAllocator a("test", 0x1000, 0x1000);
  EXPECT_EQ(a.alloc(1, 1), 0x1000U);
  EXPECT_EQ(a.alloc(8, 64), 0x1040U);
  EXPECT_EQ(a.alloc(3, 4), 0x1048U);
  EXPECT_EQ(a.alloc(1, 0x100), 0x1100U);
  EXPECT_EQ(a.used(), 0x101U);
  EXPECT_EQ(a.remaining(), 0x1000U - 0x101U);
}

TEST(BumpAllocator, ExhaustionThrowsOutOfSpaceWithTheNumbers) {
  BumpAllocator a("pool", 0x1000, 0x100);
  EXPECT_EQ(a.alloc(0xF0, 16), 0x1000U);
  EXPECT_EQ(a.alloc(0x10, 16), 0x10F0U);  // exactly fills the pool
  try {
    (void)a.alloc(1, 1);
    FAIL() << "expected OutOfSpace";
  } catch (const OutOfSpace& e) {
    EXPECT_EQ(e.requested(), 1U);
    EXPECT_EQ(e.align(), 1U);
    EXPECT_EQ(e.remaining(), 0U);
    EXPECT_NE(std::string(e.what()).find("pool"), std::string::npos);
  }
}

TEST(BumpAllocator, PaddingCountsAgainstTheSpace) {
  BumpAllocator a("pool", 0x1000, 0x100);
  (void)a.alloc(1, 1);
  EXPECT_THROW((void)a.alloc(0x100, 1), OutOfSpace);  // 0xFF left
  EXPECT_THROW((void)a.alloc(0xF0, 0x20), OutOfSpace);  // would start at 0x1020 and end at 0x1110
  EXPECT_EQ(a.alloc(0xE0, 0x20), 0x1020U);
  EXPECT_EQ(a.used(), 0x100U);
}

TEST(BumpAllocator, FailedRequestLeavesStateUnchanged) {
  BumpAllocator a("pool", 0, 0x100);
  (void)a.alloc(0x10, 1);
  EXPECT_THROW((void)a.alloc(0x1000, 1), OutOfSpace);
  EXPECT_EQ(a.alloc(0x10, 1), 0x10U);
}

TEST(BumpAllocator, CallerMistakesAreConfigErrors) {
  BumpAllocator a("pool", 0, 0x100);
  EXPECT_THROW((void)a.alloc(0, 1), ConfigError);
  EXPECT_THROW((void)a.alloc(1, 0), ConfigError);
  EXPECT_THROW((void)a.alloc(1, 24), ConfigError);
  EXPECT_THROW(BumpAllocator("wrap", std::numeric_limits<std::uint64_t>::max() - 1, 4), ConfigError);
}

TEST(BumpAllocator, AlignmentNearTheTopDoesNotOverflow) {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  BumpAllocator a("top", kMax - 16, 16);
  EXPECT_THROW((void)a.alloc(1, 32), OutOfSpace);
  EXPECT_THROW((void)a.alloc(1, 1ULL << 63), OutOfSpace);
  EXPECT_EQ(a.alloc(16, 1), kMax - 16);
}

TEST(BumpAllocator, ResetStartsOver) {
  BumpAllocator a("pool", 0x100, 0x100);
  (void)a.alloc(0x80, 1);
  a.reset();
  EXPECT_EQ(a.alloc(0x80, 1), 0x100U);
}

TEST(GuestAllocator, StartsAtRamBaseWithCacheLineAlignment) {
  GuestAllocator ram(kQ35);
  EXPECT_EQ(ram.alloc(4), 0x10'0000U);
  EXPECT_EQ(ram.alloc(4), 0x10'0040U);
  EXPECT_EQ(ram.alloc(4, 4), 0x10'0044U);
  EXPECT_EQ(ram.pool().size(), kQ35.ram_size);
  EXPECT_THROW((void)ram.alloc(kQ35.ram_size), OutOfSpace);
}

TEST(BarWindowAllocator, HandsOutNaturallyAlignedRanges) {
  BarWindowAllocator w(kQ35);
  EXPECT_EQ(w.alloc(0x4000), 0xE000'0000U);
  EXPECT_EQ(w.alloc(0x4000), 0xE000'4000U);
  EXPECT_EQ(w.alloc(0x1000), 0xE000'8000U);
  EXPECT_EQ(w.alloc(0x10000), 0xE001'0000U);
  EXPECT_EQ(w.alloc(0x10), 0xE002'0000U);
  EXPECT_THROW((void)w.alloc(0x3000), ConfigError);
  EXPECT_THROW((void)w.alloc(0), ConfigError);
}

TEST(BarWindowAllocator, ExhaustionThrowsOutOfSpace) {
  BarWindowAllocator w(kQ35);
  // 0x1EC00000 bytes: a 256 MiB BAR fits at 0xE0000000, the next one would end past 0xFEC00000.
  EXPECT_EQ(w.alloc(0x1000'0000), 0xE000'0000U);
  EXPECT_THROW((void)w.alloc(0x1000'0000), OutOfSpace);
  EXPECT_EQ(w.alloc(0x0800'0000), 0xF000'0000U);
}

}  // namespace
}  // namespace vmsg::driver

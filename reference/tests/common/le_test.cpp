// Tests of vmsg/common/le.hpp (byte order, round trips) and result.hpp.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "vmsg/common/le.hpp"
#include "vmsg/common/result.hpp"

namespace vmsg {
namespace {

TEST(Le, LoadsLeastSignificantByteFirst) {
  const std::array<std::uint8_t, 8> b{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  EXPECT_EQ(le::load16(b, 0), 0x0201u);
  EXPECT_EQ(le::load32(b, 0), 0x04030201u);
  EXPECT_EQ(le::load64(b, 0), 0x0807060504030201ull);
  EXPECT_EQ(le::load<std::uint8_t>(b, 7), 0x08u);
}

TEST(Le, LoadsAtUnalignedOffsets) {
  const std::array<std::uint8_t, 12> b{0xEE, 0x78, 0x56, 0x34, 0x12, 0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23};
  EXPECT_EQ(le::load16(b, 1), 0x5678u);
  EXPECT_EQ(le::load32(b, 1), 0x12345678u);
  EXPECT_EQ(le::load64(b, 3), 0x456789ABCDEF1234ull);
  EXPECT_EQ(le::load32(b, 8), 0x23456789u);
}

TEST(Le, LoadsHighBitsWithoutSignExtension) {
  const std::array<std::uint8_t, 8> b{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80};
  EXPECT_EQ(le::load16(b, 0), 0xFFFFu);
  EXPECT_EQ(le::load32(b, 0), 0xFFFFFFFFu);
  EXPECT_EQ(le::load64(b, 0), 0x80FFFFFFFFFFFFFFull);
}

TEST(Le, StoresLeastSignificantByteFirstAndTouchesOnlyItsBytes) {
  std::array<std::uint8_t, 16> b{};
  b.fill(0xEE);
  le::store16(b, 1, 0xA1B2);
  le::store32(b, 3, 0x0A0B0C0D);
  le::store64(b, 7, 0x1122334455667788ull);
  const std::array<std::uint8_t, 16> want{0xEE, 0xB2, 0xA1, 0x0D, 0x0C, 0x0B, 0x0A, 0x88,
                                          0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xEE};
  EXPECT_EQ(b, want);
}

TEST(Le, StoreThenLoadRoundTripsEveryWidth) {
  std::array<std::uint8_t, 8> b{};
  for (const std::uint64_t v : {0ull, 1ull, 0x80ull, 0xFFull, 0x1234ull, 0xFFFFull, 0x89ABCDEFull, 0xFFFFFFFFull,
                                0x0123456789ABCDEFull, 0xFFFFFFFFFFFFFFFFull}) {
    le::store16(b, 0, static_cast<std::uint16_t>(v));
    EXPECT_EQ(le::load16(b, 0), static_cast<std::uint16_t>(v));
    le::store32(b, 0, static_cast<std::uint32_t>(v));
    EXPECT_EQ(le::load32(b, 0), static_cast<std::uint32_t>(v));
    le::store64(b, 0, v);
    EXPECT_EQ(le::load64(b, 0), v);
  }
}

TEST(Le, UsableInConstantExpressions) {
  constexpr std::uint32_t v = [] {
    std::array<std::uint8_t, 4> b{};
    le::store32(b, 0, 0xCAFEF00D);
    return le::load32(b, 0);
  }();
  static_assert(v == 0xCAFEF00D);
  EXPECT_EQ(v, 0xCAFEF00Du);
}

TEST(Result, HoldsValue) {
  Result<int, std::string> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  r.value() = 7;
  EXPECT_EQ(*r, 7);
}

TEST(Result, HoldsError) {
  const Result<int, std::string> r = Err{std::string("broken")};
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error(), "broken");
}

TEST(Result, ConvertsErrorTypeThroughErr) {
  // Err<const char*> converts into the Result's std::string error type.
  const Result<int, std::string> r = Err{"literal"};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "literal");
}

TEST(Result, ArrowAndMoveOutOfValue) {
  Result<std::vector<int>, int> r = std::vector<int>{1, 2, 3};
  EXPECT_EQ(r->size(), 3u);
  const std::vector<int> moved = std::move(r).value();
  EXPECT_EQ(moved, (std::vector<int>{1, 2, 3}));
}

TEST(Result, SameValueAndErrorTypeStayDistinct) {
  // With T == E only Err{} selects the error alternative.
  const Result<int, int> ok = 5;
  const Result<int, int> bad = Err{5};
  EXPECT_TRUE(ok.ok());
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), 5);
}

}  // namespace
}  // namespace vmsg

// The 8-byte header: field positions, byte order and the type-bit accessors.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "vmsg/wire/header.hpp"
#include "wire/wire_test_support.hpp"

namespace vmsg::wire {
namespace {

TEST(Header, PeekReadsEveryFieldLittleEndian) {
  // QEMU PING request (qemu-observed.md §4 row 1).
  const auto b = test::from_hex("0203000011110c00efbeadde");
  const auto h = peek_header(b);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(*h, (Header{0x02, 0x03, 0x0000, 0x1111, 12}));

  const auto h2 = peek_header(test::from_hex("7f41 3412 cdab 0201"));
  ASSERT_TRUE(h2.has_value());
  EXPECT_EQ(*h2, (Header{0x7F, 0x41, 0x1234, 0xABCD, 0x0102}));
}

TEST(Header, PeekNeedsEightBytes) {
  const std::array<std::uint8_t, 8> b{};
  for (std::size_t n = 0; n < 8; ++n) {
    EXPECT_FALSE(peek_header(std::span(b).first(n)).has_value()) << n;
  }
  EXPECT_TRUE(peek_header(b).has_value());
}

TEST(Header, WriteProducesWireBytesAndLeavesTheRestAlone) {
  std::array<std::uint8_t, 10> b{};
  b.fill(0xEE);
  write_header(b, Header{0x01, 0x0A, 0x0203, 0x0405, 0x0030});
  EXPECT_EQ(test::to_hex(b), "010a030205043000eeee");
}

TEST(Header, TypeBitAccessors) {
  EXPECT_FALSE(Header{0x00}.is_response());
  EXPECT_FALSE(Header{0x00}.is_bus());
  EXPECT_TRUE(Header{0x01}.is_response());
  EXPECT_FALSE(Header{0x01}.is_bus());
  EXPECT_FALSE(Header{0x02}.is_response());
  EXPECT_TRUE(Header{0x02}.is_bus());
  EXPECT_TRUE(Header{0xFF}.is_response());
  EXPECT_TRUE(Header{0xFF}.is_bus());
  EXPECT_EQ(Header{0x03}.reserved_bits(), 0x00);
  EXPECT_EQ(Header{0x07}.reserved_bits(), 0x04);
  EXPECT_EQ(Header{0xFD}.reserved_bits(), 0xFC);
}

}  // namespace
}  // namespace vmsg::wire

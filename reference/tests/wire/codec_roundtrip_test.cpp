// Round trips of every Body alternative and the encode-side errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>

#include "vmsg/wire/codec.hpp"
#include "wire/wire_test_support.hpp"

namespace vmsg::wire {
namespace {

using test::from_hex;
using test::to_hex;

TEST(RoundTrip, EveryAlternativeSurvivesEncodeDecode) {
  for (const Message& m : test::sample_messages()) {
    SCOPED_TRACE(name(m.body));
    const auto bytes = encode(m, Profile::pr28());
    ASSERT_TRUE(bytes.ok()) << to_string(bytes.error());
    EXPECT_EQ(bytes->size(), encoded_size(m, Profile::pr28()));
    const auto back = decode(*bytes, Profile::pr28());
    ASSERT_TRUE(back.ok()) << describe(back.error());
    EXPECT_EQ(*back, m);
  }
}

TEST(RoundTrip, HeaderFieldsAndReservedTypeBitsSurvive) {
  for (Message m : test::sample_messages()) {
    SCOPED_TRACE(name(m.body));
    m.dev_num = 0xFFFF;
    m.token = 0x8001;
    m.reserved_type_bits = 0xA4;
    const auto bytes = encode(m, Profile::pr28());
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ((*bytes)[0], type_byte(m.body) | 0xA4);
    const auto back = decode(*bytes, Profile::pr28());
    ASSERT_TRUE(back.ok()) << describe(back.error());
    EXPECT_EQ(*back, m);
  }
}

TEST(RoundTrip, EncodeIntoSpanMatchesVectorFormAndKeepsTail) {
  for (const Message& m : test::sample_messages()) {
    SCOPED_TRACE(name(m.body));
    std::vector<std::uint8_t> slot(64, 0xEE);
    const auto n = encode(m, Profile::pr28(), slot);
    ASSERT_TRUE(n.ok());
    const auto v = encode(m, Profile::pr28());
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(*n, v->size());
    EXPECT_TRUE(std::equal(v->begin(), v->end(), slot.begin()));
    EXPECT_TRUE(std::all_of(slot.begin() + static_cast<std::ptrdiff_t>(*n), slot.end(),
                            [](std::uint8_t b) { return b == 0xEE; }));
  }
}

TEST(RoundTrip, LargestMessagesOfTheBigProfile) {
  // 65535 is the largest msg_size; both data-carrying forms reach it exactly.
  const Message cfg{1, 2, 0, GetConfigResp{3, 4, std::vector<std::uint8_t>(0xFFFF - 20, 0x5A)}};
  const auto bytes = encode(cfg, test::kBigProfile);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 0xFFFFu);
  EXPECT_EQ((*bytes)[6], 0xFF);
  EXPECT_EQ((*bytes)[7], 0xFF);
  const auto back = decode(*bytes, test::kBigProfile);
  ASSERT_TRUE(back.ok()) << describe(back.error());
  EXPECT_EQ(*back, cfg);

  // 8191 bitmap bytes = count 65528, the largest aligned le16 count.
  const Message devs{0, 0, 0, GetDevicesResp{0, 0, std::vector<std::uint8_t>(8191, 0xA5)}};
  const auto dbytes = encode(devs, test::kBigProfile);
  ASSERT_TRUE(dbytes.ok());
  EXPECT_EQ(to_hex(std::span(*dbytes).subspan(8, 6)), "0000f8ff0000");
  const auto dback = decode(*dbytes, test::kBigProfile);
  ASSERT_TRUE(dback.ok()) << describe(dback.error());
  EXPECT_EQ(*dback, devs);
}

TEST(EncodeErrors, TooLargeForTheBusMaximum) {
  // 64-byte AMP slot: GET_CONFIG response data fits up to 44 bytes (virtio-msg.md §2.2 table).
  const Message fits{0, 0, 0, GetConfigResp{0, 0, std::vector<std::uint8_t>(44, 1)}};
  const Message over{0, 0, 0, GetConfigResp{0, 0, std::vector<std::uint8_t>(45, 1)}};
  EXPECT_TRUE(encode(fits, Profile::pr28()).ok());
  const auto r = encode(over, Profile::pr28());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), EncodeError::TooLarge);
  EXPECT_EQ(encoded_size(over, Profile::pr28()), 65u);  // size is reported regardless of the maximum

  // Feature blocks: 12 fit in 64 bytes, 13 do not.
  EXPECT_TRUE(encode(Message{0, 0, 0, SetDriverFeaturesReq{0, std::vector<std::uint32_t>(12)}}, Profile::pr28()).ok());
  EXPECT_EQ(encode(Message{0, 0, 0, SetDriverFeaturesReq{0, std::vector<std::uint32_t>(13)}}, Profile::pr28()).error(),
            EncodeError::TooLarge);
  // Fixed 48-byte messages do not fit a 44-byte bus (virtio-msg.md Q1).
  EXPECT_EQ(encode(Message{0, 0, 0, SetVqueueReq{}}, Profile::pr28(44)).error(), EncodeError::TooLarge);
}

TEST(EncodeErrors, TooLargeForLe16EvenWithAHugerProfile) {
  const Profile huge = Profile::pr28(1u << 20);
  const Message m{0, 0, 0, SetConfigReq{0, 0, std::vector<std::uint8_t>(0xFFFF - 20 + 1, 0)}};
  EXPECT_EQ(encoded_size(m, huge), 0x10000u);
  EXPECT_EQ(encode(m, huge).error(), EncodeError::TooLarge);
  std::vector<std::uint8_t> buf(0x10000);
  EXPECT_EQ(encode(m, huge, buf).error(), EncodeError::TooLarge);
}

TEST(EncodeErrors, BufferTooSmall) {
  const Message ping{0, 0, 0, PingReq{1}};
  std::vector<std::uint8_t> buf(11, 0xEE);
  const auto r = encode(ping, Profile::pr28(), buf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), EncodeError::BufferTooSmall);
  EXPECT_EQ(buf, std::vector<std::uint8_t>(11, 0xEE));  // nothing written on failure
  buf.resize(12);
  EXPECT_TRUE(encode(ping, Profile::pr28(), buf).ok());
}

TEST(EncodeErrors, InconsistentEchoedData) {
  const auto inconsistent = [](const Body& b) {
    const auto r = encode(Message{0, 0, 0, b}, Profile::pr28());
    return !r.ok() && r.error() == EncodeError::Inconsistent;
  };
  EXPECT_TRUE(inconsistent(SetConfigResp{0, 0, 3, {1, 2}}));
  EXPECT_TRUE(inconsistent(SetConfigResp{0, 0, 0, {1}}));
  EXPECT_TRUE(inconsistent(EventConfig{0, 0, 0, 4, {1, 2, 3}}));
  // Data absent or exactly `length` bytes is fine.
  EXPECT_FALSE(inconsistent(SetConfigResp{0, 0, 3, {}}));
  EXPECT_FALSE(inconsistent(SetConfigResp{0, 0, 2, {1, 2}}));
  EXPECT_FALSE(inconsistent(EventConfig{0, 0, 0, 0xFFFFFFFF, {}}));
}

TEST(EncodeErrors, InconsistentGetDevicesWindow) {
  // Unaligned windows would not decode back (BadAlignment), so they are not encodable.
  const auto error = [](const Body& b) { return encode(Message{0, 0, 0, b}, test::kBigProfile).error(); };
  EXPECT_EQ(error(GetDevicesReq{4, 8}), EncodeError::Inconsistent);
  EXPECT_EQ(error(GetDevicesReq{8, 12}), EncodeError::Inconsistent);
  EXPECT_EQ(error(GetDevicesResp{12, 0, {}}), EncodeError::Inconsistent);
  // 8192 bitmap bytes would need count 65536, which le16 cannot hold.
  EXPECT_EQ(error(GetDevicesResp{0, 0, std::vector<std::uint8_t>(8192)}), EncodeError::Inconsistent);
}

TEST(EncodeErrors, InconsistentReservedTypeBits) {
  // Only bits 2..7 are reserved; bits 0 and 1 come from the body.
  for (const std::uint8_t bits : std::initializer_list<std::uint8_t>{0x01, 0x02, 0x03, 0xFF}) {
    const auto r = encode(Message{0, 0, bits, PingReq{}}, Profile::pr28());
    ASSERT_FALSE(r.ok()) << int{bits};
    EXPECT_EQ(r.error(), EncodeError::Inconsistent);
  }
  EXPECT_TRUE(encode(Message{0, 0, 0xFC, PingReq{}}, Profile::pr28()).ok());
}

TEST(EncodeErrors, ChecksInconsistentThenTooLargeThenBufferTooSmall) {
  const Message m{0, 0, 0, SetConfigResp{0, 0, 1, std::vector<std::uint8_t>(100)}};
  EXPECT_EQ(encode(m, Profile::pr28()).error(), EncodeError::Inconsistent);
  std::vector<std::uint8_t> tiny(4);
  const Message big{0, 0, 0, GetConfigResp{0, 0, std::vector<std::uint8_t>(100)}};
  EXPECT_EQ(encode(big, Profile::pr28(), tiny).error(), EncodeError::TooLarge);  // before BufferTooSmall
}

}  // namespace
}  // namespace vmsg::wire

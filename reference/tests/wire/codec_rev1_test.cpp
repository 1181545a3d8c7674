// The REV1-2026 layouts (layout_rev1.cpp): exact bytes of the four kinds that
// differ from PR28 (REV1 L1258-1267, L1760-1765, L1932-1942), the rules that
// tell the drafts apart, and PR28 agreement for every other kind.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "vmsg/wire/codec.hpp"
#include "wire_test_support.hpp"

namespace vmsg::wire {
namespace {

using test::from_hex;
using test::to_hex;

constexpr Profile kRev1 = Profile::rev1(0xFFFF);
constexpr Profile kPr28 = Profile::pr28(0xFFFF);

struct Rev1Case {
  std::string name;
  std::string hex;
  Message msg;
};

GetDeviceInfoResp rev1_info() {
  GetDeviceInfoResp r;
  r.device_id = 4;
  r.vendor_id = 0x554D4551;
  r.device_uuid = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x46, 0x17, 0x98, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F};
  r.num_feature_blocks = 3;
  r.config_size = 0x24;
  r.max_virtqueues = 0x10001;  // above 16 bits: only REV1 can carry it with admin words past 0xFFFF
  r.admin_vq_start = 0x10000;
  r.admin_vq_count = 1;
  return r;
}

std::vector<Rev1Case> rev1_cases() {
  return {
      {"GetDeviceInfoResp_52Bytes",
       "01 02 0100 0200 3400 04000000 51454d55 101112131415461798191a1b1c1d1e1f 03000000 24000000 01000100 "
       "00000100 01000000",
       {1, 2, 0, rev1_info()}},
      {"GetDeviceInfoResp_NilUuid", "01 02 0000 0000 3400 01000000 00000000 00000000000000000000000000000000 "
                                    "01000000 08000000 01000000 00000000 00000000",
       {0, 0, 0, GetDeviceInfoResp{.device_id = 1, .config_size = 8, .max_virtqueues = 1, .num_feature_blocks = 1}}},
      {"GetShmResp_64Bit", "01 0c 0500 0900 2000 02000000 00000000 0000000010000000 0000008001000000",
       {5, 9, 0, GetShmResp{2, 0x10'0000'0000ULL, 0x1'8000'0000ULL, 0}}},
      {"GetShmResp_UnknownId", "01 0c 0000 0000 2000 07000000 00000000 0000000000000000 0000000000000000",
       {0, 0, 0, GetShmResp{7, 0, 0, 0}}},
      {"GetShmResp_ReservedKept", "01 0c 0000 0000 2000 00000000 efbeadde 0000000000000000 0000000000000000",
       {0, 0, 0, GetShmResp{0, 0, 0, 0xDEADBEEF}}},
      {"GetDevicesReq_Unaligned", "02 02 0000 0100 0c00 0300 0500", {0, 1, 0, GetDevicesReq{3, 5}}},
      {"GetDevicesReq_CountZero", "02 02 0000 0000 0c00 0000 0000", {0, 0, 0, GetDevicesReq{0, 0}}},
      // The spec's example: devices 0, 2 and 5 in 0..15, continue at 16.
      {"GetDevicesResp_SpecExample", "03 02 0000 0000 1000 0000 1000 1000 2500",
       {0, 0, 0, GetDevicesResp{0, 16, {0x25, 0x00}, 16}}},
      {"GetDevicesResp_FiveSlots", "03 02 0000 0000 0f00 0300 0000 0500 15",
       {0, 0, 0, GetDevicesResp{3, 0, {0x15}, 5}}},
      {"GetDevicesResp_EmptyTerminal", "03 02 0000 0000 0e00 2000 0000 0000", {0, 0, 0, GetDevicesResp{32, 0, {}, 0}}},
  };
}

class Rev1Layout : public ::testing::TestWithParam<Rev1Case> {};

TEST_P(Rev1Layout, DecodesToTheMessage) {
  const auto r = decode(from_hex(GetParam().hex), kRev1);
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(*r, GetParam().msg);
}

TEST_P(Rev1Layout, EncodesToTheBytes) {
  const auto r = encode(GetParam().msg, kRev1);
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(to_hex(*r), to_hex(from_hex(GetParam().hex)));
}

INSTANTIATE_TEST_SUITE_P(Kinds, Rev1Layout, ::testing::ValuesIn(rev1_cases()),
                         [](const auto& p) { return p.param.name; });

// The wire tells the drafts apart by this size: 32 bytes in PR28, 52 in REV1.
TEST(Rev1Codec, EachDraftRejectsTheOthersDeviceInfoSize) {
  const auto rev1 = encode(Message{0, 0, 0, rev1_info()}, kRev1);
  ASSERT_TRUE(rev1.ok());
  EXPECT_EQ(test::decode_error(*rev1, kPr28), (DecodeFailure{DecodeError::SizeMismatch, 52}));
  const auto pr28 = encode(Message{0, 0, 0, GetDeviceInfoResp{4, 1, 64, 8, 2, 0, 0}}, kPr28);
  ASSERT_TRUE(pr28.ok());
  EXPECT_EQ(test::decode_error(*pr28, kRev1), (DecodeFailure{DecodeError::SizeMismatch, 32}));
}

TEST(Rev1Codec, Pr28ShmResponseSizeIsAMismatch) {
  EXPECT_EQ(test::decode_error(from_hex("01 0c 0000 0000 1400 00000000 00100000 00000080"), kRev1),
            (DecodeFailure{DecodeError::SizeMismatch, 20}));
}

TEST(Rev1Codec, DevicesBitmapMustMatchTheCount) {
  // count 9 needs two bitmap bytes; one is a size mismatch.
  EXPECT_EQ(test::decode_error(from_hex("03 02 0000 0000 0f00 0000 0000 0900 ff"), kRev1),
            (DecodeFailure{DecodeError::SizeMismatch, 15}));
  // The field order differs: a valid PR28 window (count 8, next 16) read as
  // REV1 asks for 16 slots in one byte.
  const auto pr28_window = from_hex("03 02 0000 0000 0f00 0000 0800 1000 25");
  EXPECT_EQ(test::decode_error(pr28_window, kPr28), std::nullopt);
  EXPECT_EQ(test::decode_error(pr28_window, kRev1), (DecodeFailure{DecodeError::SizeMismatch, 15}));
}

TEST(Rev1Codec, UnalignedDevicesWindowIsOnlyAPr28Fault) {
  const auto req = from_hex("02 02 0000 0000 0c00 0300 0500");
  EXPECT_EQ(test::decode_error(req, kPr28), (DecodeFailure{DecodeError::BadAlignment, 3}));
  EXPECT_EQ(test::decode_error(req, kRev1), std::nullopt);
  EXPECT_TRUE(encode(Message{0, 0, 0, GetDevicesReq{3, 5}}, kRev1).ok());
  EXPECT_EQ(encode(Message{0, 0, 0, GetDevicesReq{3, 5}}, kPr28).error(), EncodeError::Inconsistent);
}

TEST(Rev1Codec, FieldsOfTheOtherDraftAreInconsistent) {
  GetDeviceInfoResp with_bits = rev1_info();
  with_bits.num_feature_bits = 64;
  EXPECT_EQ(encode(Message{0, 0, 0, with_bits}, kRev1).error(), EncodeError::Inconsistent);
  // PR28 has no UUID, no block count, 16-bit admin words, 32-bit SHM fields.
  GetDeviceInfoResp uuid{};
  uuid.device_uuid[0] = 1;
  EXPECT_EQ(encode(Message{0, 0, 0, uuid}, kPr28).error(), EncodeError::Inconsistent);
  EXPECT_EQ(encode(Message{0, 0, 0, GetDeviceInfoResp{.num_feature_blocks = 1}}, kPr28).error(),
            EncodeError::Inconsistent);
  EXPECT_EQ(encode(Message{0, 0, 0, GetDeviceInfoResp{.admin_vq_start = 0x10000}}, kPr28).error(),
            EncodeError::Inconsistent);
  EXPECT_EQ(encode(Message{0, 0, 0, GetShmResp{0, 0x1'0000'0000ULL, 0, 0}}, kPr28).error(), EncodeError::Inconsistent);
  EXPECT_EQ(encode(Message{0, 0, 0, GetShmResp{0, 0, 0x1'0000'0000ULL, 0}}, kPr28).error(), EncodeError::Inconsistent);
  EXPECT_EQ(encode(Message{0, 0, 0, GetShmResp{0, 0, 0, 1}}, kPr28).error(), EncodeError::Inconsistent);
  // A REV1 window carries its count; PR28 derives it from the bitmap.
  EXPECT_EQ(encode(Message{0, 0, 0, GetDevicesResp{0, 0, {0x01}, {}}}, kRev1).error(), EncodeError::Inconsistent);
  EXPECT_EQ(encode(Message{0, 0, 0, GetDevicesResp{0, 0, {0x01}, 9}}, kRev1).error(), EncodeError::Inconsistent);
  EXPECT_EQ(encode(Message{0, 0, 0, GetDevicesResp{0, 0, {0x01}, 8}}, kPr28).error(), EncodeError::Inconsistent);
}

// Every kind the drafts share encodes to the same bytes and decodes back the
// same in both; the four REV1 kinds above are the only differences.
TEST(Rev1Codec, SharedKindsMatchPr28ByteForByte) {
  int shared = 0;
  for (const Message& m : test::sample_messages()) {
    const bool differs = std::holds_alternative<GetDeviceInfoResp>(m.body) ||
                         std::holds_alternative<GetShmResp>(m.body) || std::holds_alternative<GetDevicesResp>(m.body);
    if (differs) continue;
    ++shared;
    const auto a = encode(m, kPr28);
    const auto b = encode(m, kRev1);
    ASSERT_TRUE(a.ok() && b.ok()) << to_string(m);
    EXPECT_EQ(to_hex(*a), to_hex(*b)) << to_string(m);
    const auto back = decode(*b, kRev1);
    ASSERT_TRUE(back.ok()) << describe(back.error());
    EXPECT_EQ(*back, m);
  }
  EXPECT_EQ(shared, 27);
}

TEST(Rev1Codec, FitsTheAmpSlot) {
  // The largest fixed REV1 message, GET_DEVICE_INFO's response, is 52 bytes.
  EXPECT_TRUE(encode(Message{0, 0, 0, rev1_info()}, Profile::rev1()).ok());
  EXPECT_EQ(encoded_size(Message{0, 0, 0, rev1_info()}, Profile::rev1()), 52U);
}

TEST(Rev1Profile, NamesParseBack) {
  EXPECT_EQ(Profile::rev1().name(), "rev1-2026");
  EXPECT_EQ(Profile::pr28().name(), "pr28");
  EXPECT_EQ(parse_layout("rev1-2026"), Layout::Rev1);
  EXPECT_EQ(parse_layout("pr28"), Layout::Pr28);
  EXPECT_EQ(parse_layout("rev1"), std::nullopt);
  EXPECT_EQ(parse_layout(""), std::nullopt);
}

}  // namespace
}  // namespace vmsg::wire

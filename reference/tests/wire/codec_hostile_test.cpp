// Hostile and malformed inputs: every decode error, the order in which the
// checks apply, and what the strict codec says about QEMU's odd frames.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <utility>

#include "vmsg/common/le.hpp"
#include "vmsg/wire/codec.hpp"
#include "wire/wire_test_support.hpp"

namespace vmsg::wire {
namespace {

using test::decode_error;
using test::from_hex;

/// A header with the given fields, then `payload`, then zeros up to `pad_to` bytes.
std::vector<std::uint8_t> frame(std::uint8_t type, std::uint8_t id, std::uint16_t msg_size,
                                std::vector<std::uint8_t> payload = {}, std::size_t pad_to = 0) {
  std::vector<std::uint8_t> b(kHeaderSize);
  write_header(b, Header{type, id, 0, 0, msg_size});
  b.insert(b.end(), payload.begin(), payload.end());
  if (b.size() < pad_to) b.resize(pad_to, 0);
  return b;
}

/// Sets msg_size of an already built frame.
void patch_size(std::vector<std::uint8_t>& b, std::size_t size) { le::store16(b, 6, static_cast<std::uint16_t>(size)); }

DecodeFailure F(DecodeError e, std::uint32_t v) { return DecodeFailure{e, v}; }

// ---- header and msg_size ---------------------------------------------------

TEST(Hostile, FewerThanEightBytesIsShortBuffer) {
  const auto ping = from_hex("0203000011110c00efbeadde");
  for (std::size_t n = 0; n < kHeaderSize; ++n) {
    EXPECT_EQ(decode_error(std::span(ping).first(n)), F(DecodeError::ShortBuffer, static_cast<std::uint32_t>(n)));
  }
}

TEST(Hostile, MsgSizeBelowHeader) {
  for (std::uint16_t s = 0; s < kHeaderSize; ++s) {
    EXPECT_EQ(decode_error(frame(0x00, 0x02, s, {}, 64)), F(DecodeError::SizeBelowHeader, s));
  }
  // It is checked before anything the header content could break.
  EXPECT_EQ(decode_error(frame(0xFD, 0x99, 0, {}, 64), Profile::pr28(), {.strict_type_bits = true}),
            F(DecodeError::SizeBelowHeader, 0));
}

TEST(Hostile, MsgSizeAboveBusMaximum) {
  EXPECT_EQ(decode_error(frame(0x00, 0x07, 65, {}, 65)), F(DecodeError::SizeExceedsBusMax, 65));
  // The bus maximum is checked before the buffer length.
  EXPECT_EQ(decode_error(frame(0x00, 0x07, 0xFFFF, {}, 64)), F(DecodeError::SizeExceedsBusMax, 0xFFFF));
  EXPECT_EQ(decode_error(frame(0x00, 0x07, 0xFFFF, {}, 0xFFFF)), F(DecodeError::SizeExceedsBusMax, 0xFFFF));
  EXPECT_EQ(decode_error(frame(0x00, 0x07, 49, {}, 64), Profile::pr28(48)), F(DecodeError::SizeExceedsBusMax, 49));
  // Exactly the maximum passes this check (and fails later, on content).
  EXPECT_EQ(decode_error(frame(0x00, 0x07, 64, {}, 64)), F(DecodeError::SizeMismatch, 64));
}

TEST(Hostile, MsgSizeBeyondTheBufferOnABigBus) {
  EXPECT_EQ(decode_error(frame(0x00, 0x07, 65, {}, 64), test::kBigProfile), F(DecodeError::SizeExceedsBuffer, 65));
  EXPECT_EQ(decode_error(frame(0x00, 0x07, 65, {}, 65), test::kBigProfile), F(DecodeError::SizeMismatch, 65));
  EXPECT_EQ(decode_error(frame(0x00, 0x07, 0xFFFF, {}, 100), test::kBigProfile),
            F(DecodeError::SizeExceedsBuffer, 0xFFFF));
  EXPECT_EQ(decode_error(frame(0x00, 0x07, 0xFFFF, {}, 0xFFFF), test::kBigProfile),
            F(DecodeError::SizeMismatch, 0xFFFF));
  // 16 + 4n is never odd.
  EXPECT_EQ(decode_error(frame(0x00, 0x04, 0xFFFF, {}, 0xFFFF), test::kBigProfile),
            F(DecodeError::SizeMismatch, 0xFFFF));
  // A bus maximum above what le16 can express changes nothing.
  EXPECT_EQ(decode_error(frame(0x00, 0x07, 0xFFFF, {}, 100), Profile::pr28(1u << 20)),
            F(DecodeError::SizeExceedsBuffer, 0xFFFF));
}

TEST(Hostile, EveryTruncationOfEveryMessageIsSizeExceedsBuffer) {
  for (const Message& m : test::sample_messages()) {
    SCOPED_TRACE(name(m.body));
    const auto bytes = encode(m, Profile::pr28());
    ASSERT_TRUE(bytes.ok());
    for (std::size_t n = kHeaderSize; n < bytes->size(); ++n) {
      EXPECT_EQ(decode_error(std::span(*bytes).first(n)),
                F(DecodeError::SizeExceedsBuffer, static_cast<std::uint32_t>(bytes->size())));
    }
  }
}

TEST(Hostile, EveryWrongMsgSizeIsASizeMismatch) {
  // Each sample, in a zero-padded 64-byte slot, with every msg_size from 8 to 64.
  for (const Message& m : test::sample_messages()) {
    SCOPED_TRACE(name(m.body));
    auto bytes = encode(m, Profile::pr28());
    ASSERT_TRUE(bytes.ok());
    const std::size_t size = bytes->size();
    std::set<std::size_t> valid{size};
    // The optional-data forms are valid without their data.
    if (std::holds_alternative<SetConfigResp>(m.body)) valid.insert(20);
    if (std::holds_alternative<EventConfig>(m.body)) valid.insert(24);
    bytes->resize(64, 0);
    for (std::size_t s = kHeaderSize; s <= 64; ++s) {
      patch_size(*bytes, s);
      const auto err = decode_error(*bytes);
      if (valid.count(s) != 0) {
        EXPECT_EQ(err, std::nullopt) << s;
      } else {
        EXPECT_EQ(err, F(DecodeError::SizeMismatch, static_cast<std::uint32_t>(s))) << s;
      }
    }
  }
}

// ---- message IDs -------------------------------------------------------------

/// What an 8-byte, all-zero-payload frame with this type and ID decodes to.
std::optional<DecodeFailure> expected_for_bare_header(bool bus, bool resp, std::uint8_t id) {
  const std::set<std::uint8_t> transport{0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                         0x0A, 0x0B, 0x0C, 0x40, 0x41, 0x42};
  const std::set<std::uint8_t> bus_ids{0x02, 0x03, 0x40};
  if ((bus ? bus_ids : transport).count(id) == 0) return F(DecodeError::UnknownMessageId, id);
  if (resp && id >= 0x40) return F(DecodeError::ResponseToEvent, id);
  // Header-only messages (virtio-msg.md §2.2 size table).
  const std::set<std::uint8_t> header_only = resp ? std::set<std::uint8_t>{0x04, 0x0A, 0x0B}
                                                  : std::set<std::uint8_t>{0x02, 0x07};
  if (!bus && header_only.count(id) != 0) return std::nullopt;
  return F(DecodeError::SizeMismatch, 8);
}

TEST(Hostile, EveryIdInBothSpacesAndBothDirections) {
  int unknown = 0;
  for (int id = 0; id <= 0xFF; ++id) {
    for (const std::uint8_t type : {std::uint8_t{0x00}, std::uint8_t{0x01}, std::uint8_t{0x02}, std::uint8_t{0x03}}) {
      const auto want = expected_for_bare_header((type & 2) != 0, (type & 1) != 0, static_cast<std::uint8_t>(id));
      EXPECT_EQ(decode_error(frame(type, static_cast<std::uint8_t>(id), 8, {}, 64)), want)
          << "type " << int{type} << " id " << id;
      if (want && want->error == DecodeError::UnknownMessageId) ++unknown;
    }
  }
  // 256 - 14 unknown transport IDs and 256 - 3 unknown bus IDs, each in two directions.
  EXPECT_EQ(unknown, 2 * (256 - 14) + 2 * (256 - 3));
}

TEST(Hostile, ImplementationDefinedIdsAreUnknown) {
  for (int id = 0x80; id <= 0xFF; ++id) {
    EXPECT_EQ(decode_error(frame(0x00, static_cast<std::uint8_t>(id), 12, {}, 64)),
              F(DecodeError::UnknownMessageId, static_cast<std::uint32_t>(id)));
    EXPECT_EQ(decode_error(frame(0x02, static_cast<std::uint8_t>(id), 12, {}, 64)),
              F(DecodeError::UnknownMessageId, static_cast<std::uint32_t>(id)));
  }
}

TEST(Hostile, IdSpacesAreSeparate) {
  // GET_SHM (0x0C) exists only in the transport space, EVENT_USED (0x42) too.
  EXPECT_EQ(decode_error(frame(0x02, 0x0C, 12, {}, 12)), F(DecodeError::UnknownMessageId, 0x0C));
  EXPECT_EQ(decode_error(frame(0x02, 0x42, 12, {}, 12)), F(DecodeError::UnknownMessageId, 0x42));
  // 0x02 is GET_DEVICE_INFO (8 bytes) in one space and GET_DEVICES (12 bytes) in the other.
  EXPECT_EQ(decode_error(frame(0x00, 0x02, 8, {}, 8)), std::nullopt);
  EXPECT_EQ(decode_error(frame(0x02, 0x02, 8, {}, 8)), F(DecodeError::SizeMismatch, 8));
}

// ---- reserved type bits ------------------------------------------------------

TEST(Hostile, ReservedTypeBitsLenientKeepsThemStrictRejects) {
  const auto ping = from_hex("0203000011110c00efbeadde");
  for (int r = 0; r < 64; ++r) {
    auto b = ping;
    b[0] = static_cast<std::uint8_t>(0x02 | (r << 2));
    const auto lenient = decode(b, Profile::pr28());
    ASSERT_TRUE(lenient.ok()) << r;
    EXPECT_EQ(lenient->reserved_type_bits, r << 2);
    EXPECT_EQ(lenient->body, Body{PingReq{0xDEADBEEF}});
    const auto strict = decode_error(b, Profile::pr28(), {.strict_type_bits = true});
    if (r == 0) {
      EXPECT_EQ(strict, std::nullopt);
    } else {
      EXPECT_EQ(strict, F(DecodeError::ReservedTypeBits, b[0]));
    }
  }
}

TEST(Hostile, ReservedTypeBitsOrderAmongChecks) {
  const DecodeOptions strict{.strict_type_bits = true};
  // After the size checks ...
  EXPECT_EQ(decode_error(frame(0x04, 0x07, 7, {}, 64), Profile::pr28(), strict), F(DecodeError::SizeBelowHeader, 7));
  EXPECT_EQ(decode_error(frame(0x04, 0x07, 65, {}, 65), Profile::pr28(), strict),
            F(DecodeError::SizeExceedsBusMax, 65));
  EXPECT_EQ(decode_error(frame(0x04, 0x07, 12, {}, 8), Profile::pr28(), strict), F(DecodeError::SizeExceedsBuffer, 12));
  // ... before the ID and content checks.
  EXPECT_EQ(decode_error(frame(0x84, 0x30, 8, {}, 8), Profile::pr28(), strict), F(DecodeError::ReservedTypeBits, 0x84));
  EXPECT_EQ(decode_error(frame(0x05, 0x40, 24, {}, 24), Profile::pr28(), strict),
            F(DecodeError::ReservedTypeBits, 0x05));
  EXPECT_EQ(decode_error(frame(0x04, 0x07, 9, {}, 9), Profile::pr28(), strict), F(DecodeError::ReservedTypeBits, 0x04));
  // Lenient decoding judges the same frames on their content.
  EXPECT_EQ(decode_error(frame(0x84, 0x30, 8, {}, 8)), F(DecodeError::UnknownMessageId, 0x30));
  EXPECT_EQ(decode_error(frame(0x04, 0x07, 9, {}, 9)), F(DecodeError::SizeMismatch, 9));
}

// ---- events ----------------------------------------------------------------

TEST(Hostile, ResponseBitOnEvents) {
  for (const Message& m : test::sample_messages()) {
    if (!is_event(m.body)) continue;
    SCOPED_TRACE(name(m.body));
    auto bytes = encode(m, Profile::pr28());
    ASSERT_TRUE(bytes.ok());
    (*bytes)[0] |= type_bits::kResponse;
    EXPECT_EQ(decode_error(*bytes), F(DecodeError::ResponseToEvent, msg_id(m.body)));
    // Checked before the size: an 8-byte "response" is still a response to an event.
    patch_size(*bytes, 8);
    EXPECT_EQ(decode_error(*bytes), F(DecodeError::ResponseToEvent, msg_id(m.body)));
  }
  // An unassigned event ID is unknown first.
  EXPECT_EQ(decode_error(frame(0x01, 0x43, 12, {}, 12)), F(DecodeError::UnknownMessageId, 0x43));
  EXPECT_EQ(decode_error(frame(0x03, 0x41, 12, {}, 12)), F(DecodeError::UnknownMessageId, 0x41));
}

// ---- GET_DEVICES -------------------------------------------------------------

TEST(Hostile, GetDevicesRequestAlignment) {
  EXPECT_EQ(decode_error(from_hex("02020000 0000 0c00 0300 0800")), F(DecodeError::BadAlignment, 3));
  EXPECT_EQ(decode_error(from_hex("02020000 0000 0c00 0800 0400")), F(DecodeError::BadAlignment, 4));
  EXPECT_EQ(decode_error(from_hex("02020000 0000 0c00 0700 0900")), F(DecodeError::BadAlignment, 7));  // offset first
  EXPECT_EQ(decode_error(from_hex("02020000 0000 0c00 f8ff 0800")), std::nullopt);
  // A wrong size is reported before the alignment.
  EXPECT_EQ(decode_error(from_hex("02020000 0000 0d00 0300 0800 00")), F(DecodeError::SizeMismatch, 13));
}

TEST(Hostile, GetDevicesResponseAlignment) {
  // count 4 carried in one (rounded-up) bitmap byte: the size fits, the alignment does not.
  EXPECT_EQ(decode_error(from_hex("03020000 0000 0f00 0800 0400 0c00 00")), F(DecodeError::BadAlignment, 4));
  EXPECT_EQ(decode_error(from_hex("03020000 0000 0f00 0400 0800 1000 ff")), F(DecodeError::BadAlignment, 4));
  // count 4 with no bitmap byte is a size mismatch.
  EXPECT_EQ(decode_error(from_hex("03020000 0000 0e00 0800 0400 1000")), F(DecodeError::SizeMismatch, 14));
  // A huge count with no bitmap.
  EXPECT_EQ(decode_error(from_hex("03020000 0000 0e00 0000 f8ff 0000")), F(DecodeError::SizeMismatch, 14));
  // count 0xFFFF rounds up to 8192 bytes: a big bus gets as far as the alignment check.
  auto big = frame(0x03, 0x02, 14 + 8192, {0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00}, 14 + 8192);
  EXPECT_EQ(decode_error(big, test::kBigProfile), F(DecodeError::BadAlignment, 0xFFFF));
  // Too short to hold the count at all.
  EXPECT_EQ(decode_error(frame(0x03, 0x02, 12, {}, 64)), F(DecodeError::SizeMismatch, 12));
}

// ---- count and length fields ------------------------------------------------

TEST(Hostile, HugeFeatureBlockCounts) {
  for (const std::uint8_t type_id : {std::uint8_t{0x01}, std::uint8_t{0x00}}) {
    // 0x01/GET_DEVICE_FEATURES response and 0x00/SET_DRIVER_FEATURES request share the layout.
    const std::uint8_t id = type_id == 0x01 ? 0x03 : 0x04;
    SCOPED_TRACE(int{id});
    EXPECT_EQ(decode_error(frame(type_id, id, 16, {0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}, 64)),
              F(DecodeError::SizeMismatch, 16));
    // 16 + 4 * 0x40000001 wraps to 20 in 32 bits; computed in 64 bits it does not match.
    EXPECT_EQ(decode_error(frame(type_id, id, 20, {0, 0, 0, 0, 0x01, 0x00, 0x00, 0x40}, 64)),
              F(DecodeError::SizeMismatch, 20));
    // Same wrap onto 65532 with a 65535-byte buffer.
    EXPECT_EQ(decode_error(frame(type_id, id, 65532, {0, 0, 0, 0, 0xFB, 0x3F, 0x00, 0x40}, 0xFFFF), test::kBigProfile),
              F(DecodeError::SizeMismatch, 65532));
    // Too short to hold num_blocks.
    EXPECT_EQ(decode_error(frame(type_id, id, 12, {}, 64)), F(DecodeError::SizeMismatch, 12));
    // num_blocks 0 is a well-formed 16-byte message.
    EXPECT_EQ(decode_error(frame(type_id, id, 16, {}, 64)), std::nullopt);
  }
}

TEST(Hostile, HugeConfigLengths) {
  const std::vector<std::uint8_t> len_ffffffff{1, 0, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF};
  // GET_CONFIG response and SET_CONFIG request must carry all `length` bytes.
  EXPECT_EQ(decode_error(frame(0x01, 0x05, 20, len_ffffffff, 64)), F(DecodeError::SizeMismatch, 20));
  EXPECT_EQ(decode_error(frame(0x00, 0x06, 20, len_ffffffff, 64)), F(DecodeError::SizeMismatch, 20));
  // SET_CONFIG response may omit the echo, so any length is fine at 20 bytes.
  const auto resp = decode(frame(0x01, 0x06, 20, len_ffffffff, 64), Profile::pr28());
  ASSERT_TRUE(resp.ok()) << describe(resp.error());
  EXPECT_EQ(resp->body, Body{(SetConfigResp{1, 2, 0xFFFFFFFF, {}})});
  // EVENT_CONFIG likewise at 24 bytes.
  const auto ev = decode(frame(0x00, 0x40, 24, {0x0F, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}, 64),
                         Profile::pr28());
  ASSERT_TRUE(ev.ok()) << describe(ev.error());
  EXPECT_EQ(ev->body, Body{(EventConfig{0x0F, 1, 2, 0xFFFFFFFF, {}})});
  // Too short for the length field.
  EXPECT_EQ(decode_error(frame(0x01, 0x05, 16, {}, 64)), F(DecodeError::SizeMismatch, 16));
  EXPECT_EQ(decode_error(frame(0x00, 0x40, 20, {}, 64)), F(DecodeError::SizeMismatch, 20));
}

TEST(Hostile, SetConfigResponseSizes) {
  // length 4: 20 (no echo) and 24 (echo) are valid, nothing else.
  const std::vector<std::uint8_t> fields{7, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0xA, 0xB, 0xC, 0xD, 0xE, 0xF, 0xA, 0xB};
  for (std::uint16_t s = 8; s <= 32; ++s) {
    const auto r = decode(frame(0x01, 0x06, s, fields, 64), Profile::pr28());
    if (s == 20) {
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->body, Body{(SetConfigResp{7, 0, 4, {}})});
    } else if (s == 24) {
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->body, Body{(SetConfigResp{7, 0, 4, {0xA, 0xB, 0xC, 0xD}})});
    } else {
      ASSERT_FALSE(r.ok()) << s;
      EXPECT_EQ(r.error(), F(DecodeError::SizeMismatch, s));
    }
  }
  // length 0: the rejection, 20 bytes.
  EXPECT_EQ(decode_error(frame(0x01, 0x06, 20, {}, 64)), std::nullopt);
  EXPECT_EQ(decode_error(frame(0x01, 0x06, 21, {}, 64)), F(DecodeError::SizeMismatch, 21));
}

TEST(Hostile, EventConfigSizes) {
  const std::vector<std::uint8_t> fields{3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0x11, 0x22, 0x33, 0x44};
  for (std::uint16_t s = 8; s <= 40; ++s) {
    const auto err = decode_error(frame(0x00, 0x40, s, fields, 64));
    if (s == 24 || s == 28) {
      EXPECT_EQ(err, std::nullopt) << s;
    } else {
      EXPECT_EQ(err, F(DecodeError::SizeMismatch, s));
    }
  }
}

// ---- what the strict codec says about QEMU's frames (qemu-observed.md) -------

TEST(QemuFrames, RequestsQemuDroppedOrMisjudged) {
  const auto slot = [](const char* hex) {
    auto b = from_hex(hex);
    b.resize(64, 0);
    return b;
  };
  const DecodeOptions strict{.strict_type_bits = true};
  EXPECT_EQ(decode_error(slot("0030000009010800")), F(DecodeError::UnknownMessageId, 0x30));  // §4 row 11
  EXPECT_EQ(decode_error(slot("000700000a016400")), F(DecodeError::SizeExceedsBusMax, 100));  // row 12
  EXPECT_EQ(decode_error(slot("0102000011010800")), F(DecodeError::SizeMismatch, 8));  // row 19: response bit
  // Row 20: QEMU answers msg_size 48 on an 8-byte message; we call it a mismatch.
  EXPECT_EQ(decode_error(slot("0007000012013000")), F(DecodeError::SizeMismatch, 48));
  EXPECT_EQ(decode_error(from_hex("0007000012013000")), F(DecodeError::SizeExceedsBuffer, 48));
  EXPECT_EQ(decode_error(slot("0007000013013100")), F(DecodeError::SizeMismatch, 49));  // row 21
  EXPECT_EQ(decode_error(slot("0007000014010700")), F(DecodeError::SizeBelowHeader, 7));  // row 22
  EXPECT_EQ(decode_error(slot("0402000015010800")), std::nullopt);  // row 23, lenient
  EXPECT_EQ(decode_error(slot("0402000015010800"), Profile::pr28(), strict), F(DecodeError::ReservedTypeBits, 4));
  EXPECT_EQ(decode_error(slot("0202000023220c0008000400")), F(DecodeError::BadAlignment, 4));  // row 24
  EXPECT_EQ(decode_error(slot("0202000024220c0028000400")), F(DecodeError::BadAlignment, 4));  // row 25
  EXPECT_EQ(decode_error(slot("0210000044440800")), F(DecodeError::UnknownMessageId, 0x10));  // row 27
  // §4.1: SET_VQUEUE with msg_size 47.
  auto vq = slot("000a00000902300000000000000000000800000000000000000020000000000000102000000000000020200000000000");
  patch_size(vq, 47);
  EXPECT_EQ(decode_error(vq), F(DecodeError::SizeMismatch, 47));
}

TEST(QemuFrames, ResponsesTheStrictCodecRejectsOrAccepts) {
  // Row 24: GET_DEVICES response with count 4 (QEMU does not enforce alignment).
  EXPECT_EQ(decode_error(from_hex("0302000000000f00080004000c0000")), F(DecodeError::BadAlignment, 4));
  // Row 25: offset rounded down to 32, count 0, no bitmap: well-formed.
  const auto r = decode(from_hex("0302000000000e00200000002000"), Profile::pr28());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, Body{(GetDevicesResp{32, 32, {}})});
  // Row 16: num clamped to 8 in a 48-byte response is self-consistent.
  EXPECT_EQ(decode_error(from_hex("010300000e0130000000000008000000000000300101000000000000"
                                  "0000000000000000000000000000000000000000")),
            std::nullopt);
}

}  // namespace
}  // namespace vmsg::wire

// Deterministic pseudo-random properties of the codec:
//  * decode() of arbitrary bytes never crashes, and every accepted input
//    re-encodes to exactly its first msg_size bytes;
//  * decode(encode(m)) == m for randomly generated valid messages.
// Fixed seeds keep failures reproducible; the input count is printed on failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <random>
#include <utility>

#include "vmsg/common/le.hpp"
#include "vmsg/wire/codec.hpp"
#include "wire/wire_test_support.hpp"

namespace vmsg::wire {
namespace {

using Rng = std::mt19937;

std::uint32_t below(Rng& rng, std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); }
bool one_in(Rng& rng, std::uint32_t n) { return below(rng, n) == 0; }
std::uint8_t byte(Rng& rng) { return static_cast<std::uint8_t>(rng()); }
std::uint16_t r16(Rng& rng) { return static_cast<std::uint16_t>(rng()); }
std::uint32_t r32(Rng& rng) { return static_cast<std::uint32_t>(rng()); }

// ---- biased random byte strings -----------------------------------------------

constexpr std::array<std::uint8_t, 14> kTransportIds{0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                                     0x09, 0x0A, 0x0B, 0x0C, 0x40, 0x41, 0x42};
constexpr std::array<std::uint8_t, 3> kBusIds{0x02, 0x03, 0x40};

/// The message size the spec tables (virtio-msg.md §2.2) give for a header and
/// its count fields, written independently of the codec; nullopt if unknown.
std::optional<std::size_t> spec_size(std::span<const std::uint8_t> b) {
  const bool resp = (b[0] & 1) != 0;
  const bool bus = (b[0] & 2) != 0;
  const std::uint8_t id = b[1];
  auto field32 = [&](std::size_t off) -> std::optional<std::size_t> {
    if (b.size() < off + 4) return std::nullopt;
    return le::load32(b, off);
  };
  auto blocks = [&]() -> std::optional<std::size_t> {  // 16 + 4 * num_blocks
    const auto n = field32(12);
    if (!n) return std::nullopt;
    return 16 + 4 * *n;
  };
  if (bus) {
    switch (id) {
      case 0x02:
        if (!resp) return 12;
        if (b.size() < 12) return std::nullopt;
        return 14 + (std::size_t{le::load16(b, 10)} + 7) / 8;
      case 0x03: return 12;
      case 0x40: return 12;
      default: return std::nullopt;
    }
  }
  switch (id) {
    case 0x02: return resp ? 32 : 8;
    case 0x03: return resp ? blocks() : 16;
    case 0x04: return resp ? 8 : blocks();
    case 0x05: {
      if (!resp) return 16;
      const auto n = field32(16);
      if (!n) return std::nullopt;
      return 20 + *n;
    }
    case 0x06: {
      const auto n = field32(16);
      if (!n) return std::nullopt;
      return 20 + *n;  // the response may also be 20 bytes
    }
    case 0x07: return resp ? 12 : 8;
    case 0x08: return 12;
    case 0x09: return resp ? 48 : 12;
    case 0x0A: return resp ? 8 : 48;
    case 0x0B: return resp ? 8 : 12;
    case 0x0C: return resp ? 20 : 12;
    case 0x40: {
      const auto n = field32(20);
      if (!n) return std::nullopt;
      return 24 + *n;
    }
    case 0x41: return 16;
    case 0x42: return 12;
    default: return std::nullopt;
  }
}

/// Hands out small random numbers from 32-bit draws, a few bits at a time:
/// one generator call serves several decisions (the generator, not the codec,
/// would otherwise dominate unoptimised builds).
class Dice {
 public:
  explicit Dice(Rng& rng) : rng_(rng) {}
  std::uint32_t bits(unsigned n) {
    if (left_ < n) {
      pool_ = r32(rng_);
      left_ = 32;
    }
    const std::uint32_t v = pool_ & ((1u << n) - 1);
    pool_ >>= n;
    left_ -= n;
    return v;
  }
  /// True with probability 2^-log2.
  bool one_in_2pow(unsigned log2) { return bits(log2) == 0; }
  std::uint32_t below(std::uint32_t n) { return bits(16) % n; }

 private:
  Rng& rng_;
  std::uint32_t pool_ = 0;
  unsigned left_ = 0;
};

/// 0..80 random bytes; most get a plausible header, small count fields and a
/// msg_size that often matches, so that many inputs reach deep checks.
std::vector<std::uint8_t> random_input(Rng& rng) {
  Dice d(rng);
  std::vector<std::uint8_t> b(d.below(81));
  for (std::size_t i = 0; i < b.size(); i += 4) {
    const std::uint32_t w = r32(rng);
    for (std::size_t k = 0; k < 4 && i + k < b.size(); ++k) b[i + k] = static_cast<std::uint8_t>(w >> (8 * k));
  }
  if (b.size() < kHeaderSize || d.one_in_2pow(3)) return b;  // left fully random

  std::uint8_t type = static_cast<std::uint8_t>(d.bits(2));
  if (d.one_in_2pow(3)) type = static_cast<std::uint8_t>(type | (d.bits(8) & type_bits::kReserved));
  b[0] = type;
  const bool bus = (type & type_bits::kBus) != 0;
  if (d.one_in_2pow(3)) {
    b[1] = static_cast<std::uint8_t>(d.bits(8));
  } else if (bus) {
    b[1] = kBusIds[d.below(kBusIds.size())];
  } else {
    b[1] = kTransportIds[d.below(kTransportIds.size())];
  }
  // Small counts and lengths: these fields decide the size of the variable messages.
  if (b.size() >= 12 && d.bits(1) == 0) {
    // GET_DEVICES offset/count: mostly aligned, sometimes not.
    const bool aligned = bus && b[1] == 0x02 && !d.one_in_2pow(2);
    le::store16(b, 8, static_cast<std::uint16_t>(aligned ? 8 * d.bits(6) : d.bits(9)));
    le::store16(b, 10, static_cast<std::uint16_t>(aligned ? 8 * d.bits(6) : d.bits(9)));
  }
  if (b.size() >= 16 && d.bits(1) == 0) le::store32(b, 12, d.bits(4));
  if (b.size() >= 20 && d.bits(1) == 0) le::store32(b, 16, d.bits(6));
  if (b.size() >= 24 && d.bits(1) == 0) le::store32(b, 20, d.bits(6));

  std::size_t size = b.size();
  switch (d.bits(3)) {
    case 0: case 1: case 2: case 3: {
      const auto s = spec_size(b);
      if (s && *s <= 0xFFFF) size = *s;
      // The data-less forms of SET_CONFIG response and EVENT_CONFIG.
      if (!bus && (type & 1) != 0 && b[1] == 0x06 && d.bits(1) == 0) size = 20;
      if (!bus && (type & 1) == 0 && b[1] == 0x40 && d.bits(1) == 0) size = 24;
      break;
    }
    case 4: size = d.below(90); break;
    case 5: size = 0xFFFF - d.bits(2); break;
    default: break;  // the whole buffer
  }
  le::store16(b, 6, static_cast<std::uint16_t>(size));
  return b;
}

TEST(Property, DecodeOfRandomBytesIsSafeAndAcceptedInputsReencodeExactly) {
  Rng rng(20251201);
  constexpr int kInputs = 200'000;
  const Profile profile = Profile::pr28();
  int accepted = 0;
  std::array<int, 10> errors{};  // one counter per DecodeError value
  for (int i = 0; i < kInputs; ++i) {
    const auto b = random_input(rng);
    const auto r = decode(b, profile);
    if (!r.ok()) {
      ++errors.at(static_cast<std::size_t>(r.error().error));
      continue;
    }
    ++accepted;
    const std::size_t msg_size = le::load16(b, 6);
    ASSERT_LE(msg_size, b.size());
    const auto again = encode(*r, profile);
    ASSERT_TRUE(again.ok()) << "input " << i << ": " << to_string(again.error());
    // Compare bytes first; hex strings only for the failure message (keeps the loop fast).
    const std::span<const std::uint8_t> original = std::span(b).first(msg_size);
    ASSERT_TRUE(std::equal(again->begin(), again->end(), original.begin(), original.end()))
        << "input " << i << ": " << test::to_hex(original) << " re-encoded as " << test::to_hex(*again);
    // Strict decoding accepts the same input iff no reserved bit is set, with the same result.
    const auto strict = decode(b, profile, {.strict_type_bits = true});
    ASSERT_EQ(strict.ok(), (b[0] & type_bits::kReserved) == 0) << "input " << i;
    if (strict.ok()) {
      ASSERT_EQ(*strict, *r);
    }
  }
  // The bias must make the property meaningful: many accepted inputs, and every
  // error kind the PR28 layout can produce shows up.
  EXPECT_GT(accepted, kInputs / 10);
  for (const DecodeError e : {DecodeError::ShortBuffer, DecodeError::SizeBelowHeader, DecodeError::SizeExceedsBuffer,
                              DecodeError::SizeExceedsBusMax, DecodeError::SizeMismatch, DecodeError::UnknownMessageId,
                              DecodeError::ResponseToEvent, DecodeError::BadAlignment}) {
    EXPECT_GT(errors.at(static_cast<std::size_t>(e)), 0) << to_string(e);
  }
  EXPECT_EQ(errors.at(static_cast<std::size_t>(DecodeError::ReservedTypeBits)), 0);  // lenient decoding
  EXPECT_EQ(errors.at(static_cast<std::size_t>(DecodeError::BadCount)), 0);
}

// ---- random valid messages --------------------------------------------------

std::uint64_t r64(Rng& rng) { return (std::uint64_t{r32(rng)} << 32) | r32(rng); }
std::vector<std::uint8_t> rbytes(Rng& rng, std::size_t max) {
  std::vector<std::uint8_t> v(below(rng, static_cast<std::uint32_t>(max + 1)));
  for (auto& x : v) x = byte(rng);
  return v;
}
std::vector<std::uint32_t> rwords(Rng& rng, std::size_t max) {
  std::vector<std::uint32_t> v(below(rng, static_cast<std::uint32_t>(max + 1)));
  for (auto& x : v) x = r32(rng);
  return v;
}
std::uint16_t aligned16(Rng& rng) { return static_cast<std::uint16_t>(r16(rng) & 0xFFF8); }

// One generator per alternative; vectors go past the 64-byte slot so that the
// TooLarge path is exercised as well.
void fill(GetDeviceInfoReq&, Rng&) {}
void fill(GetDeviceInfoResp& b, Rng& r) { b = {r32(r), r32(r), r32(r), r32(r), r32(r), r16(r), r16(r)}; }
void fill(GetDeviceFeaturesReq& b, Rng& r) { b = {r32(r), r32(r)}; }
void fill(GetDeviceFeaturesResp& b, Rng& r) { b = {r32(r), rwords(r, 20)}; }
void fill(SetDriverFeaturesReq& b, Rng& r) { b = {r32(r), rwords(r, 20)}; }
void fill(SetDriverFeaturesResp&, Rng&) {}
void fill(GetConfigReq& b, Rng& r) { b = {r32(r), r32(r)}; }
void fill(GetConfigResp& b, Rng& r) { b = {r32(r), r32(r), rbytes(r, 80)}; }
void fill(SetConfigReq& b, Rng& r) { b = {r32(r), r32(r), rbytes(r, 80)}; }
void fill(SetConfigResp& b, Rng& r) {
  b = {r32(r), r32(r), r32(r), {}};
  if (one_in(r, 2)) {
    b.data = rbytes(r, 80);
    b.length = static_cast<std::uint32_t>(b.data.size());
  }
}
void fill(GetDeviceStatusReq&, Rng&) {}
void fill(GetDeviceStatusResp& b, Rng& r) { b = {r32(r)}; }
void fill(SetDeviceStatusReq& b, Rng& r) { b = {r32(r)}; }
void fill(SetDeviceStatusResp& b, Rng& r) { b = {r32(r)}; }
void fill(GetVqueueReq& b, Rng& r) { b = {r32(r)}; }
void fill(GetVqueueResp& b, Rng& r) { b = {r32(r), r32(r), r32(r), r32(r), r64(r), r64(r), r64(r)}; }
void fill(SetVqueueReq& b, Rng& r) { b = {r32(r), r32(r), r32(r), r32(r), r64(r), r64(r), r64(r)}; }
void fill(SetVqueueResp&, Rng&) {}
void fill(ResetVqueueReq& b, Rng& r) { b = {r32(r)}; }
void fill(ResetVqueueResp&, Rng&) {}
void fill(GetShmReq& b, Rng& r) { b = {r32(r)}; }
void fill(GetShmResp& b, Rng& r) { b = {r32(r), r32(r), r32(r)}; }
void fill(EventConfig& b, Rng& r) {
  b = {r32(r), r32(r), r32(r), r32(r), {}};
  if (one_in(r, 2)) {
    b.data = rbytes(r, 80);
    b.length = static_cast<std::uint32_t>(b.data.size());
  }
}
void fill(EventAvail& b, Rng& r) { b = {r32(r), r32(r)}; }
void fill(EventUsed& b, Rng& r) { b = {r32(r)}; }
void fill(GetDevicesReq& b, Rng& r) { b = {aligned16(r), aligned16(r)}; }
void fill(GetDevicesResp& b, Rng& r) { b = {aligned16(r), r16(r), rbytes(r, 60)}; }
void fill(PingReq& b, Rng& r) { b = {r32(r)}; }
void fill(PingResp& b, Rng& r) { b = {r32(r)}; }
void fill(EventDevice& b, Rng& r) { b = {r16(r), r16(r)}; }

template <std::size_t... I>
Body random_body(Rng& rng, std::index_sequence<I...>) {
  const std::size_t pick = below(rng, static_cast<std::uint32_t>(sizeof...(I)));
  Body body;
  // Exactly one I matches; that alternative is emplaced and filled.
  const auto try_one = [&](auto index) {
    if (pick != index.value) return false;
    fill(body.template emplace<index.value>(), rng);
    return true;
  };
  const bool filled = (try_one(std::integral_constant<std::size_t, I>{}) || ...);
  EXPECT_TRUE(filled);
  return body;
}

Message random_message(Rng& rng) {
  Message m;
  m.body = random_body(rng, std::make_index_sequence<std::variant_size_v<Body>>{});
  m.dev_num = r16(rng);
  m.token = r16(rng);
  m.reserved_type_bits = one_in(rng, 4) ? static_cast<std::uint8_t>(byte(rng) & type_bits::kReserved) : 0;
  return m;
}

TEST(Property, RandomValidMessagesRoundTrip) {
  Rng rng(0x5EED);
  constexpr int kMessages = 20'000;
  std::vector<int> seen(std::variant_size_v<Body>, 0);
  int too_large = 0;
  for (int i = 0; i < kMessages; ++i) {
    const Message m = random_message(rng);
    ++seen[m.body.index()];
    // Unbounded bus: everything generated is encodable.
    const auto big = encode(m, test::kBigProfile);
    ASSERT_TRUE(big.ok()) << "message " << i << " (" << name(m.body) << "): " << to_string(big.error());
    ASSERT_EQ(big->size(), encoded_size(m, test::kBigProfile));
    const auto back = decode(*big, test::kBigProfile);
    ASSERT_TRUE(back.ok()) << "message " << i << " (" << name(m.body) << "): " << describe(back.error());
    ASSERT_EQ(*back, m) << "message " << i << " (" << name(m.body) << ")";

    // AMP slot: encodable exactly when it fits 64 bytes, and then identical.
    const auto amp = encode(m, Profile::pr28());
    if (big->size() > 64) {
      ASSERT_FALSE(amp.ok());
      ASSERT_EQ(amp.error(), EncodeError::TooLarge);
      ++too_large;
    } else {
      ASSERT_TRUE(amp.ok());
      ASSERT_EQ(*amp, *big);
    }
  }
  for (std::size_t k = 0; k < seen.size(); ++k) EXPECT_GT(seen[k], 0) << "alternative " << k;
  EXPECT_GT(too_large, 0);
}

}  // namespace
}  // namespace vmsg::wire

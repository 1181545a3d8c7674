// fuzz_codec: the wire codec (reference/include/vmsg/wire/codec.hpp) against
// arbitrary bytes and arbitrary messages.
//
// Every input is used twice, under both drafts' layouts (PR28 and REV1-2026):
//  1. As a frame. decode() runs under four configurations per layout (64-byte
//     AMP profile and a 65535-byte profile, lenient and strict type bits).
//     Oracles: the first failing header rule is the one codec.hpp documents
//     (recomputed here independently from the raw bytes); every accepted
//     frame re-encodes to exactly its first msg_size bytes, decodes again to
//     the same message, and carries the header fields of the input; the four
//     results agree with each other (the profile only adds the size limit,
//     strictness only adds the reserved-bits rule); the two layouts agree on
//     every kind but the four whose REV1 layout differs.
//  2. As a FuzzedDataProvider stream describing a message of any kind with
//     long vectors. Oracles: encode() succeeds exactly when the message is
//     consistent and fits the profile, writes encoded_size() bytes and not
//     one byte more, refuses a buffer one byte short, and decode(encode(m))
//     == m (strict decoding fails only for set reserved type bits); a kind
//     the drafts share encodes to the same bytes under both layouts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <variant>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/check.hpp"
#include "common/message_io.hpp"
#include "common/stream_io.hpp"
#include "vmsg/wire/codec.hpp"

namespace {

using vmsg::wire::DecodeError;
using vmsg::wire::DecodeFailure;
using vmsg::wire::DecodeOptions;
using vmsg::wire::EncodeError;
using vmsg::wire::Layout;
using vmsg::wire::Message;
using vmsg::wire::Profile;
using Bytes = std::span<const std::uint8_t>;

constexpr std::uint32_t kSmall = 64;
constexpr std::uint32_t kLarge = 65535;

std::string failure_text(const DecodeFailure& f) { return vmsg::wire::describe(f); }

std::uint16_t le16(Bytes b, std::size_t off) {
  return static_cast<std::uint16_t>(b[off] | (b[off + 1] << 8));
}

/// The failure the header alone decides, per the order in codec.hpp; nullopt
/// when the header passes and the body decides.
std::optional<DecodeFailure> header_verdict(Bytes in, const Profile& p, bool strict) {
  if (in.size() < 8) return DecodeFailure{DecodeError::ShortBuffer, static_cast<std::uint32_t>(in.size())};
  const std::uint16_t ms = le16(in, 6);
  if (ms < 8) return DecodeFailure{DecodeError::SizeBelowHeader, ms};
  if (ms > p.max_msg_size) return DecodeFailure{DecodeError::SizeExceedsBusMax, ms};
  if (ms > in.size()) return DecodeFailure{DecodeError::SizeExceedsBuffer, ms};
  if (strict && (in[0] & 0xFC) != 0) return DecodeFailure{DecodeError::ReservedTypeBits, in[0]};
  return std::nullopt;
}

bool body_error(DecodeError e) {
  return e == DecodeError::SizeMismatch || e == DecodeError::UnknownMessageId || e == DecodeError::ResponseToEvent ||
         e == DecodeError::BadAlignment || e == DecodeError::BadCount;
}

using Decoded = vmsg::Result<Message, DecodeFailure>;

/// Oracles for one decode of the raw input.
void check_decoded(Bytes in, const Profile& p, bool strict, const Decoded& r) {
  const auto verdict = header_verdict(in, p, strict);
  if (verdict) {
    VMSG_FUZZ_CHECK(!r.ok(), "accepted a frame whose header breaks " + failure_text(*verdict));
    VMSG_FUZZ_CHECK(r.error() == *verdict,
                    "header rule order: expected " + failure_text(*verdict) + ", got " + failure_text(r.error()));
    return;
  }
  if (!r.ok()) {
    VMSG_FUZZ_CHECK(body_error(r.error().error), "header passed but decode reports " + failure_text(r.error()));
    return;
  }
  const Message& m = r.value();
  const std::uint16_t ms = le16(in, 6);
  // Header fields come from the input.
  VMSG_FUZZ_CHECK(m.dev_num == le16(in, 2) && m.token == le16(in, 4), "dev_num/token not taken from the header");
  VMSG_FUZZ_CHECK(m.reserved_type_bits == (in[0] & 0xFC), "reserved type bits not preserved");
  VMSG_FUZZ_CHECK((vmsg::wire::type_byte(m.body) | m.reserved_type_bits) == in[0], "type byte does not match the body");
  VMSG_FUZZ_CHECK(vmsg::wire::msg_id(m.body) == in[1], "msg_id does not match the body");
  // encode(decode(b)) == b[0, msg_size).
  VMSG_FUZZ_CHECK(vmsg::wire::encoded_size(m, p) == ms, "encoded_size differs from the accepted msg_size");
  auto enc = vmsg::wire::encode(m, p);
  VMSG_FUZZ_CHECK(enc.ok(), "accepted message does not re-encode: " +
                                std::string(vmsg::wire::to_string(enc.ok() ? EncodeError::TooLarge : enc.error())));
  VMSG_FUZZ_CHECK(enc.value().size() == ms && std::equal(enc.value().begin(), enc.value().end(), in.begin()),
                  "re-encoding differs from the first msg_size input bytes");
  // decode(encode(m)) == m, and bytes past msg_size never matter.
  auto again = vmsg::wire::decode(enc.value(), p, DecodeOptions{strict});
  VMSG_FUZZ_CHECK(again.ok() && again.value() == m, "decode(encode(m)) != m");
  auto trimmed = vmsg::wire::decode(in.first(ms), p, DecodeOptions{strict});
  VMSG_FUZZ_CHECK(trimmed.ok() && trimmed.value() == m, "decode depends on bytes past msg_size");
}

/// Oracles relating the four configurations to each other.
void check_agreement(Bytes in, const Decoded (&r)[2][2]) {
  // [profile][strict]; profile 0 = 64 bytes, 1 = 65535.
  for (int pi = 0; pi < 2; ++pi) {
    const Decoded& lenient = r[pi][0];
    const Decoded& strict = r[pi][1];
    if (strict.ok()) {
      VMSG_FUZZ_CHECK(lenient.ok() && lenient.value() == strict.value(), "strict accepts what lenient does not");
    } else if (lenient.ok()) {
      VMSG_FUZZ_CHECK(strict.error().error == DecodeError::ReservedTypeBits,
                      "strict rejects a lenient-valid frame for " + failure_text(strict.error()));
    } else {
      VMSG_FUZZ_CHECK(strict.error() == lenient.error() || strict.error().error == DecodeError::ReservedTypeBits,
                      "strict and lenient disagree on the failure");
    }
  }
  for (int si = 0; si < 2; ++si) {
    const Decoded& small = r[0][si];
    const Decoded& large = r[1][si];
    const bool over = in.size() >= 8 && le16(in, 6) > kSmall;
    if (small.ok()) {
      VMSG_FUZZ_CHECK(large.ok() && large.value() == small.value(), "the larger profile rejects or changes a message");
    } else if (!over) {
      VMSG_FUZZ_CHECK(!large.ok() && large.error() == small.error(), "profiles disagree on a frame within 64 bytes");
    } else {
      VMSG_FUZZ_CHECK(small.error().error == DecodeError::SizeExceedsBusMax, "a >64-byte frame not refused for size");
    }
  }
}

/// Whether a frame's kind is laid out differently in REV1: GET_DEVICE_INFO's
/// and GET_SHM's responses, and both GET_DEVICES messages.
bool rev1_layout_differs(Bytes in) {
  if (in.size() < 8) return false;
  const bool bus = (in[0] & 0x02) != 0;
  const bool resp = (in[0] & 0x01) != 0;
  if (bus) return in[1] == static_cast<std::uint8_t>(vmsg::wire::BusId::GetDevices);
  return resp && (in[1] == static_cast<std::uint8_t>(vmsg::wire::TransportId::GetDeviceInfo) ||
                  in[1] == static_cast<std::uint8_t>(vmsg::wire::TransportId::GetShm));
}

bool rev1_layout_differs(const Message& m) {
  return std::holds_alternative<vmsg::wire::GetDeviceInfoResp>(m.body) ||
         std::holds_alternative<vmsg::wire::GetShmResp>(m.body) ||
         std::holds_alternative<vmsg::wire::GetDevicesReq>(m.body) ||
         std::holds_alternative<vmsg::wire::GetDevicesResp>(m.body);
}

/// Oracles relating the two layouts' decodes of one frame (same size, same strictness).
void check_layouts(Bytes in, const Decoded& pr28, const Decoded& rev1) {
  if (!rev1_layout_differs(in)) {
    VMSG_FUZZ_CHECK(pr28.ok() == rev1.ok(), "the layouts disagree on a kind they share");
    if (pr28.ok()) {
      VMSG_FUZZ_CHECK(pr28.value() == rev1.value(), "the layouts decode a shared kind differently");
    } else {
      VMSG_FUZZ_CHECK(pr28.error() == rev1.error(), "the layouts reject a shared kind differently");
    }
    return;
  }
  // REV1 only drops PR28's alignment rule for a GET_DEVICES request.
  if (pr28.ok() && std::holds_alternative<vmsg::wire::GetDevicesReq>(pr28.value().body)) {
    VMSG_FUZZ_CHECK(rev1.ok() && rev1.value() == pr28.value(), "REV1 rejects or changes a PR28-valid GET_DEVICES request");
  }
  if (!rev1.ok()) {
    VMSG_FUZZ_CHECK(rev1.error().error != DecodeError::BadAlignment, "REV1 reports a PR28-only alignment fault");
  }
}

/// Oracles for encoding a generated message under one profile.
void check_encode(const Message& m, const Profile& p) {
  const std::size_t size = vmsg::wire::encoded_size(m, p);
  // Room for the message plus a canary tail that encode() must not touch.
  constexpr std::size_t kCanary = 16;
  constexpr std::uint8_t kFill = 0xA5;
  const std::size_t cap = size <= vmsg::wire::kMaxEncodableSize ? size : 0;
  std::vector<std::uint8_t> buf(cap + kCanary, kFill);
  auto r = vmsg::wire::encode(m, p, buf);
  if (!r.ok()) {
    const EncodeError e = r.error();
    VMSG_FUZZ_CHECK(e != EncodeError::BufferTooSmall || cap == 0, "BufferTooSmall with a large enough buffer");
    if (e == EncodeError::TooLarge) {
      VMSG_FUZZ_CHECK(size > p.max_msg_size || size > vmsg::wire::kMaxEncodableSize, "TooLarge for a message that fits");
    }
    VMSG_FUZZ_CHECK(std::all_of(buf.begin(), buf.end(), [](std::uint8_t b) { return b == kFill; }),
                    "a failed encode wrote into the buffer");
    return;
  }
  const std::size_t n = r.value();
  VMSG_FUZZ_CHECK(n == size && n <= p.max_msg_size && n >= 8, "encode wrote " + std::to_string(n) +
                                                                   " bytes, encoded_size says " + std::to_string(size));
  VMSG_FUZZ_CHECK(std::all_of(buf.begin() + static_cast<std::ptrdiff_t>(n), buf.end(),
                              [](std::uint8_t b) { return b == kFill; }),
                  "encode wrote past msg_size");
  const Bytes out(buf.data(), n);
  auto lenient = vmsg::wire::decode(out, p);
  VMSG_FUZZ_CHECK(lenient.ok(), "encode produced an undecodable frame: " +
                                    (lenient.ok() ? std::string() : failure_text(lenient.error())));
  VMSG_FUZZ_CHECK(lenient.value() == m, "decode(encode(m)) != m");
  auto strict = vmsg::wire::decode(out, p, DecodeOptions{true});
  VMSG_FUZZ_CHECK(strict.ok() == (m.reserved_type_bits == 0), "strict decode and reserved bits disagree");
  // One byte short must be refused without writing.
  std::vector<std::uint8_t> short_buf(n - 1, kFill);
  auto s = vmsg::wire::encode(m, p, short_buf);
  VMSG_FUZZ_CHECK(!s.ok() && s.error() == EncodeError::BufferTooSmall, "encode accepted a too-short buffer");
}

/// Both parts under one layout; returns part 1's decodes for the cross-layout oracle.
struct LayoutRun {
  Decoded r[2][2];  // [profile][strict]; profile 0 = 64 bytes, 1 = 65535
  vmsg::Result<std::vector<std::uint8_t>, EncodeError> encoded;  // the message under the large profile
};

LayoutRun run_layout(Bytes in, const Message& m, Layout layout) {
  const Profile profiles[2] = {Profile{layout, kSmall}, Profile{layout, kLarge}};
  // Part 1: the input as a frame.
  LayoutRun run{{{vmsg::wire::decode(in, profiles[0], DecodeOptions{false}),
                  vmsg::wire::decode(in, profiles[0], DecodeOptions{true})},
                 {vmsg::wire::decode(in, profiles[1], DecodeOptions{false}),
                  vmsg::wire::decode(in, profiles[1], DecodeOptions{true})}},
                vmsg::wire::encode(m, profiles[1])};
  for (int pi = 0; pi < 2; ++pi) {
    for (int si = 0; si < 2; ++si) check_decoded(in, profiles[pi], si == 1, run.r[pi][si]);
  }
  check_agreement(in, run.r);

  // Part 2: the message.
  const auto small = vmsg::wire::encode(m, profiles[0]);
  const auto& large = run.encoded;
  // Consistency does not depend on the size; within 64 bytes the sizes agree.
  VMSG_FUZZ_CHECK((!small.ok() && small.error() == EncodeError::Inconsistent) ==
                      (!large.ok() && large.error() == EncodeError::Inconsistent),
                  "profiles disagree on consistency");
  if (small.ok()) VMSG_FUZZ_CHECK(large.ok() && large.value() == small.value(), "profiles encode differently");
  for (const Profile& p : profiles) check_encode(m, p);
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes in(data, size);
  FuzzedDataProvider fdp(data, size);
  vmsg::fuzz::FdpReader reader(fdp);
  Message m;
  vmsg::fuzz::io_message(reader, m, vmsg::fuzz::MessageLimits{.max_words = 20000, .max_bytes = 70000});

  const LayoutRun pr28 = run_layout(in, m, Layout::Pr28);
  const LayoutRun rev1 = run_layout(in, m, Layout::Rev1);
  for (int pi = 0; pi < 2; ++pi) {
    for (int si = 0; si < 2; ++si) check_layouts(in, pr28.r[pi][si], rev1.r[pi][si]);
  }
  // A kind the drafts share is the same message on the wire in both.
  if (!rev1_layout_differs(m)) {
    VMSG_FUZZ_CHECK(pr28.encoded.ok() == rev1.encoded.ok(), "the layouts disagree on encoding a shared kind");
    if (pr28.encoded.ok()) {
      VMSG_FUZZ_CHECK(pr28.encoded.value() == rev1.encoded.value(), "the layouts encode a shared kind differently");
    }
  }
  return 0;
}

// virtio-msg codec. The profile-independent steps (header, bus maximum, type
// bits) live in decode()/encode(); everything that depends on field layouts is
// behind a LayoutCodec (layout_codec.hpp) chosen by profile.layout here, the
// one place that maps a profile to its layouts.
#include "vmsg/wire/codec.hpp"

#include <optional>

#include "layout_codec.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::wire {
namespace {

using detail::Failure;
using detail::LayoutCodec;
using detail::Out;
using detail::fail;

/// The one place that maps a profile to its layouts.
const LayoutCodec& layout_codec(Layout layout) noexcept {
  switch (layout) {
    case Layout::Pr28:
      return detail::kPr28Codec;
    case Layout::Rev1:
      return detail::kRev1Codec;
  }
  return detail::kPr28Codec;  // only reachable through a cast of an out-of-range value
}

}  // namespace

// ============================ public API ====================================

Result<Message, DecodeFailure> decode(std::span<const std::uint8_t> bytes, const Profile& profile,
                                      DecodeOptions options) {
  const std::optional<Header> hdr = peek_header(bytes);
  if (!hdr) return Err{fail(DecodeError::ShortBuffer, static_cast<std::uint32_t>(bytes.size()))};
  const Header& h = *hdr;
  // Generic limits first: they hold for every message whatever its ID (§2, §12).
  if (h.msg_size < kHeaderSize) return Err{fail(DecodeError::SizeBelowHeader, h.msg_size)};
  if (h.msg_size > profile.max_msg_size) return Err{fail(DecodeError::SizeExceedsBusMax, h.msg_size)};
  if (h.msg_size > bytes.size()) return Err{fail(DecodeError::SizeExceedsBuffer, h.msg_size)};
  if (options.strict_type_bits && h.reserved_bits() != 0) return Err{fail(DecodeError::ReservedTypeBits, h.type)};

  Message m{h.dev_num, h.token, h.reserved_bits(), {}};
  // Bytes past msg_size are bus padding (slot tail) and carry no meaning.
  if (const Failure f = layout_codec(profile.layout).decode_body(h, bytes.first(h.msg_size), m.body)) return Err{*f};
  return m;
}

std::size_t encoded_size(const Message& m, const Profile& profile) noexcept {
  return layout_codec(profile.layout).size(m.body);
}

Result<std::size_t, EncodeError> encode(const Message& m, const Profile& profile, std::span<std::uint8_t> out) {
  const LayoutCodec& codec = layout_codec(profile.layout);
  if ((m.reserved_type_bits & ~type_bits::kReserved) != 0 || !codec.consistent(m.body)) {
    return Err{EncodeError::Inconsistent};
  }
  const std::size_t size = codec.size(m.body);
  if (size > kMaxEncodableSize || size > profile.max_msg_size) return Err{EncodeError::TooLarge};
  if (out.size() < size) return Err{EncodeError::BufferTooSmall};

  const Out msg = out.first(size);  // bytes past the message are left untouched
  write_header(msg, Header{static_cast<std::uint8_t>(type_byte(m.body) | m.reserved_type_bits), msg_id(m.body),
                           m.dev_num, m.token, static_cast<std::uint16_t>(size)});
  codec.write_body(m.body, msg);
  return size;
}

Result<std::vector<std::uint8_t>, EncodeError> encode(const Message& m, const Profile& profile) {
  // Validate before allocating: a hostile body must not cause a huge allocation.
  const std::size_t size = encoded_size(m, profile);
  std::vector<std::uint8_t> buf(size > kMaxEncodableSize ? 0 : size);
  Result<std::size_t, EncodeError> r = encode(m, profile, buf);
  if (!r) return Err{r.error()};
  return buf;
}

// ============================ diagnostics ===================================

std::string_view to_string(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::ShortBuffer: return "short-buffer";
    case DecodeError::SizeBelowHeader: return "size-below-header";
    case DecodeError::SizeExceedsBuffer: return "size-exceeds-buffer";
    case DecodeError::SizeExceedsBusMax: return "size-exceeds-bus-max";
    case DecodeError::SizeMismatch: return "size-mismatch";
    case DecodeError::ReservedTypeBits: return "reserved-type-bits";
    case DecodeError::UnknownMessageId: return "unknown-message-id";
    case DecodeError::ResponseToEvent: return "response-to-event";
    case DecodeError::BadAlignment: return "bad-alignment";
    case DecodeError::BadCount: return "bad-count";
  }
  return "unknown-decode-error";
}

std::string_view to_string(EncodeError e) noexcept {
  switch (e) {
    case EncodeError::TooLarge: return "too-large";
    case EncodeError::BufferTooSmall: return "buffer-too-small";
    case EncodeError::Inconsistent: return "inconsistent";
  }
  return "unknown-encode-error";
}

std::string_view rule_id(DecodeError e) noexcept {
  switch (e) {
    // A frame too short to hold a header is a malformed header (bus view).
    case DecodeError::ShortBuffer: return "VMSG-BUS-016";
    // msg_size must equal header + payload.
    case DecodeError::SizeBelowHeader:
    case DecodeError::SizeExceedsBuffer:
    case DecodeError::SizeMismatch: return "VMSG-DRV-011";
    case DecodeError::SizeExceedsBusMax: return "VMSG-DRV-012";
    case DecodeError::ReservedTypeBits: return "VMSG-DRV-009";
    case DecodeError::UnknownMessageId: return "VMSG-BUS-016";
    case DecodeError::ResponseToEvent: return "VMSG-BUS-019";
    case DecodeError::BadAlignment: return "VMSG-BUS-042";
    // The GET_DEVICES bitmap must be exactly count/8 bytes.
    case DecodeError::BadCount: return "VMSG-BUS-043";
  }
  return "";
}

std::string_view rule_id(DecodeError e, Layout layout) noexcept {
  if (layout != Layout::Rev1) return rule_id(e);
  switch (e) {
    // A header too short, or a bus msg_id the bus does not know (REV1 L545-546).
    case DecodeError::ShortBuffer:
    case DecodeError::UnknownMessageId: return "R1-BUS-025";
    // msg_size must be header + payload (REV1 L669-670).
    case DecodeError::SizeBelowHeader:
    case DecodeError::SizeExceedsBuffer:
    case DecodeError::SizeMismatch: return "R1-DRV-020";
    case DecodeError::SizeExceedsBusMax: return "R1-DRV-021";  // REV1 L670-671
    case DecodeError::ReservedTypeBits: return "R1-DRV-018";   // REV1 L667
    case DecodeError::ResponseToEvent: return "R1-GEN-002";    // REV1 L632-633
    case DecodeError::BadAlignment: return "";                 // REV1 GET_DEVICES has no alignment rule
    case DecodeError::BadCount: return "R1-BUS-060";           // bitmap is (count + 7) / 8 bytes, REV1 L1974-1978
  }
  return "";
}

namespace {
std::string hex(std::uint32_t v) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[v & 0xF]);
    v >>= 4;
  } while (v != 0);
  if (s.size() % 2 != 0) s.insert(s.begin(), '0');
  return "0x" + s;
}
}  // namespace

std::string describe(const DecodeFailure& f) { return describe(f, Layout::Pr28); }

std::string describe(const DecodeFailure& f, Layout layout) {
  std::string what;
  const std::string dec = std::to_string(f.value);
  switch (f.error) {
    case DecodeError::ShortBuffer: what = "only " + dec + " bytes, a header needs 8"; break;
    case DecodeError::SizeBelowHeader: what = "msg_size " + dec + " is smaller than the 8-byte header"; break;
    case DecodeError::SizeExceedsBuffer: what = "msg_size " + dec + " is larger than the bytes received"; break;
    case DecodeError::SizeExceedsBusMax: what = "msg_size " + dec + " exceeds the bus maximum"; break;
    case DecodeError::SizeMismatch:
      what = "msg_size " + dec + " differs from the size the message content implies";
      break;
    case DecodeError::ReservedTypeBits: what = "type " + hex(f.value) + " has reserved bits 2..7 set"; break;
    case DecodeError::UnknownMessageId: what = "msg_id " + hex(f.value) + " is not defined in its ID space"; break;
    case DecodeError::ResponseToEvent: what = "response bit set on event msg_id " + hex(f.value); break;
    case DecodeError::BadAlignment: what = "GET_DEVICES offset/count " + dec + " is not a multiple of 8"; break;
    case DecodeError::BadCount: what = "count " + dec + " cannot be carried"; break;
  }
  return std::string(to_string(f.error)) + " (" + std::string(rule_id(f.error, layout)) + "): " + what;
}

}  // namespace vmsg::wire

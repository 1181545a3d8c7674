// Encoding and decoding of whole messages under a profile.
//
// decode() accepts any byte string and never reads outside it: it returns a
// Message or a DecodeFailure naming the rule the bytes break. encode() writes
// the exact wire form; decode(encode(m)) == m for every encodable m, and
// encode(decode(b)) reproduces the first msg_size bytes of every accepted b.
//
// decode() checks in this order and reports the first failure: header present,
// msg_size >= 8, msg_size <= bus maximum, msg_size <= bytes given, (strict)
// reserved type bits, msg_id known in its ID space, no RESPONSE bit on an
// event, msg_size equal to the size the message and its count/length fields
// imply, GET_DEVICES alignment (PR28 only). Bytes past msg_size (slot padding)
// are ignored. The profile's layout picks the field layouts (PR28 or REV1-2026);
// a message carries the union of both drafts' fields, and a field the layout
// cannot carry makes encode() report Inconsistent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vmsg/common/result.hpp"
#include "vmsg/wire/header.hpp"
#include "vmsg/wire/messages.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::wire {

/// Why a byte string is not a valid message.
enum class DecodeError : std::uint8_t {
  ShortBuffer,         ///< fewer than 8 bytes: no header
  SizeBelowHeader,     ///< msg_size < 8
  SizeExceedsBuffer,   ///< msg_size larger than the bytes given (truncated frame)
  SizeExceedsBusMax,   ///< msg_size > profile.max_msg_size
  SizeMismatch,        ///< msg_size differs from what msg_id and the counts imply
  ReservedTypeBits,    ///< type bits 2..7 set (only with DecodeOptions::strict_type_bits)
  UnknownMessageId,    ///< no such message in this ID space (reserved or implementation-defined)
  ResponseToEvent,     ///< RESPONSE bit set on an event ID: events are never answered
  BadAlignment,        ///< GET_DEVICES offset/count not a multiple of 8
  BadCount,            ///< a count field that cannot be carried (e.g. bitmap bytes vs count);
                       ///< not produced by the PR28 layout, where such counts are a SizeMismatch
};

/// A decode failure: the error kind plus the offending value where there is one.
struct DecodeFailure {
  DecodeError error = DecodeError::ShortBuffer;
  /// The offending value: the byte count (ShortBuffer), msg_size (Size*),
  /// the type byte (ReservedTypeBits), msg_id (UnknownMessageId,
  /// ResponseToEvent), the unaligned offset or count (BadAlignment).
  std::uint32_t value = 0;
  friend bool operator==(const DecodeFailure&, const DecodeFailure&) = default;
};

/// Knobs for decoding.
struct DecodeOptions {
  /// Receivers ignore type bits 2..7 (VMSG-DEV-016). A validating peer sets
  /// this to flag senders that set them (VMSG-DRV-009 / VMSG-DEV-015).
  bool strict_type_bits = false;
};

/// Why a message cannot be encoded.
enum class EncodeError : std::uint8_t {
  TooLarge,        ///< encoded size > profile.max_msg_size (or > 65535)
  BufferTooSmall,  ///< output span shorter than the encoded size
  /// Fields disagree or would not decode back: echoed SetConfigResp/EventConfig
  /// data not equal to length, reserved_type_bits outside 0xFC, a GET_DEVICES
  /// offset/count not a multiple of 8, or a bitmap whose count exceeds le16.
  Inconsistent,
};

[[nodiscard]] Result<Message, DecodeFailure> decode(std::span<const std::uint8_t> bytes,
                                                    const Profile& profile,
                                                    DecodeOptions options = {});

/// Size in bytes of the encoded form (msg_size), regardless of the bus maximum.
[[nodiscard]] std::size_t encoded_size(const Message& m, const Profile& profile) noexcept;

/// Encodes into `out`, returning the number of bytes written (= msg_size).
/// Bytes of `out` past msg_size are left untouched. Checks Inconsistent, then
/// TooLarge, then BufferTooSmall.
[[nodiscard]] Result<std::size_t, EncodeError> encode(const Message& m, const Profile& profile,
                                                      std::span<std::uint8_t> out);
/// Convenience: encodes into a fresh vector.
[[nodiscard]] Result<std::vector<std::uint8_t>, EncodeError> encode(const Message& m,
                                                                    const Profile& profile);

/// Short name of an error, e.g. "size-mismatch".
[[nodiscard]] std::string_view to_string(DecodeError e) noexcept;
[[nodiscard]] std::string_view to_string(EncodeError e) noexcept;
/// The PR28 requirement ID a decode error evidences, e.g. "VMSG-DEV-017".
[[nodiscard]] std::string_view rule_id(DecodeError e) noexcept;
/// The requirement ID under `layout`'s catalogue: rule_id(e) for PR28, an
/// R1-* ID for REV1 (requirements-rev1.toml); empty when the layout has no
/// rule for that error (BadAlignment under REV1, whose GET_DEVICES has none).
[[nodiscard]] std::string_view rule_id(DecodeError e, Layout layout) noexcept;
/// One human-readable line: kind, PR28 rule and offending value.
[[nodiscard]] std::string describe(const DecodeFailure& f);
/// The same line with the rule ID of `layout`'s catalogue.
[[nodiscard]] std::string describe(const DecodeFailure& f, Layout layout);

}  // namespace vmsg::wire

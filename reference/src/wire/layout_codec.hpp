// The layout-dependent half of the codec (codec.cpp holds the other half):
// one LayoutCodec per draft, chosen by Profile::layout in codec.cpp only.
// Internal to src/wire; callers use vmsg/wire/codec.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/header.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::wire::detail {

using Bytes = std::span<const std::uint8_t>;
using Out = std::span<std::uint8_t>;
/// A decode step's outcome: nullopt on success, else the first rule broken.
using Failure = std::optional<DecodeFailure>;

inline DecodeFailure fail(DecodeError e, std::uint32_t value) { return DecodeFailure{e, value}; }

/// The `n` bytes at `off` of a message already checked to hold them.
inline std::vector<std::uint8_t> read_bytes(Bytes m, std::size_t off, std::size_t n) {
  const Bytes s = m.subspan(off, n);
  return {s.begin(), s.end()};
}

/// Stores a decoded body of kind T (always named explicitly by the caller).
template <typename T>
inline Failure set(Body& out, std::type_identity_t<T>&& value) {
  out.emplace<T>(std::move(value));
  return std::nullopt;
}

inline DecodeFailure mismatch(Bytes m) { return fail(DecodeError::SizeMismatch, static_cast<std::uint32_t>(m.size())); }

/// The field layouts of one draft. Every function sees a header that already
/// passed the generic checks (codec.cpp).
struct LayoutCodec {
  /// Decodes the body of a message into `out`; `msg` is exactly msg_size
  /// bytes. (An out-parameter rather than a returned Body: one variant move
  /// less per message.)
  Failure (*decode_body)(const Header& h, Bytes msg, Body& out);
  /// Total encoded size (header included).
  std::size_t (*size)(const Body& body) noexcept;
  /// False when the body's fields cannot be put on the wire faithfully in
  /// this layout (decode(encode(m)) would differ from m).
  bool (*consistent)(const Body& body) noexcept;
  /// Writes the payload (bytes 8..size-1) into `out`, which holds size bytes.
  void (*write_body)(const Body& body, Out out) noexcept;
};

/// PR28 (virtio-msg.md §4, §5).
extern const LayoutCodec kPr28Codec;
/// REV1-2026 (virtio-msg-rev1.md): PR28's codec except where the layouts differ.
extern const LayoutCodec kRev1Codec;

}  // namespace vmsg::wire::detail

// virtio-msg codec. The profile-independent steps (header, bus maximum, type
// bits) live in decode()/encode(); everything that depends on field layouts is
// behind a LayoutCodec chosen by profile.layout, so REV1-2026 (virtio-msg.md
// §13) can be added as a second LayoutCodec without touching callers.
//
// All fields are read and written one at a time through vmsg/common/le.hpp.
// Sizes derived from count fields are computed in 64 bits: a 32-bit count can
// never wrap the comparison with msg_size.
#include "vmsg/wire/codec.hpp"

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "vmsg/common/le.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::wire {
namespace {

using Bytes = std::span<const std::uint8_t>;
using Out = std::span<std::uint8_t>;
/// A decode step's outcome: nullopt on success, else the first rule broken.
using Failure = std::optional<DecodeFailure>;

DecodeFailure fail(DecodeError e, std::uint32_t value) { return DecodeFailure{e, value}; }

/// The layout-dependent half of the codec.
struct LayoutCodec {
  /// Decodes the body of a message whose header already passed the generic
  /// checks into `out`; `msg` is exactly msg_size bytes. (An out-parameter
  /// rather than a returned Body: one variant move less per message.)
  Failure (*decode_body)(const Header& h, Bytes msg, Body& out);
  /// Total encoded size (header included).
  std::size_t (*size)(const Body& body) noexcept;
  /// False when the body's fields cannot be put on the wire faithfully.
  bool (*consistent)(const Body& body) noexcept;
  /// Writes the payload (bytes 8..size-1) into `out`, which holds size bytes.
  void (*write_body)(const Body& body, Out out) noexcept;
};

// ============================ PR28 layout ===================================
// Offsets and sizes: virtio-msg.md §4 (transport) and §5 (bus).
namespace pr28 {

// Fixed sizes, or the fixed part before variable data.
constexpr std::size_t kGetDeviceInfoResp = 32;
constexpr std::size_t kFeaturesFixed = 16;     // GET_DEVICE_FEATURES resp, SET_DRIVER_FEATURES req
constexpr std::size_t kGetConfigReq = 16;
constexpr std::size_t kConfigFixed = 20;       // GET_CONFIG resp, SET_CONFIG req/resp
constexpr std::size_t kWord = 12;              // header + one le32 (status, index, PING data)
constexpr std::size_t kVqueue = 48;            // GET_VQUEUE resp, SET_VQUEUE req
constexpr std::size_t kGetShmResp = 20;
constexpr std::size_t kEventConfigFixed = 24;
constexpr std::size_t kEventAvail = 16;
constexpr std::size_t kGetDevicesReq = 12;
constexpr std::size_t kGetDevicesRespFixed = 14;
constexpr std::size_t kEventDevice = 12;

/// GET_DEVICES offset and count are multiples of 8 (VMSG-BUS-042).
constexpr bool aligned8(std::uint32_t v) noexcept { return v % 8 == 0; }

std::vector<std::uint8_t> read_bytes(Bytes m, std::size_t off, std::size_t n) {
  const Bytes s = m.subspan(off, n);
  return {s.begin(), s.end()};
}

/// block_index (8), num_blocks (12), then num_blocks le32 words: does msg_size match?
bool feature_blocks_fit(Bytes m) noexcept {
  return m.size() >= kFeaturesFixed && m.size() == kFeaturesFixed + 4 * std::uint64_t{le::load32(m, 12)};
}

std::vector<std::uint32_t> read_feature_blocks(Bytes m) {
  std::vector<std::uint32_t> w((m.size() - kFeaturesFixed) / 4);
  for (std::size_t i = 0; i < w.size(); ++i) {
    w[i] = le::load32(m, kFeaturesFixed + 4 * i);
  }
  return w;
}

/// Stores a decoded body of kind T (always named explicitly by the caller).
template <typename T>
Failure set(Body& out, std::type_identity_t<T>&& value) {
  out.emplace<T>(std::move(value));
  return std::nullopt;
}

DecodeFailure mismatch(Bytes m) { return fail(DecodeError::SizeMismatch, static_cast<std::uint32_t>(m.size())); }

// ---- decoding --------------------------------------------------------------

Failure decode_transport(const Header& h, Bytes m, Body& out) {
  const bool resp = h.is_response();
  const std::size_t n = m.size();
  switch (static_cast<TransportId>(h.msg_id)) {
    case TransportId::GetDeviceInfo:
      if (!resp) {
        if (n != kHeaderSize) return mismatch(m);
        return set<GetDeviceInfoReq>(out, {});
      }
      if (n != kGetDeviceInfoResp) return mismatch(m);
      return set<GetDeviceInfoResp>(out, {le::load32(m, 8), le::load32(m, 12), le::load32(m, 16), le::load32(m, 20),
                                          le::load32(m, 24), le::load16(m, 28), le::load16(m, 30)});

    case TransportId::GetDeviceFeatures:
      if (!resp) {
        if (n != kFeaturesFixed) return mismatch(m);
        return set<GetDeviceFeaturesReq>(out, {le::load32(m, 8), le::load32(m, 12)});
      }
      if (!feature_blocks_fit(m)) return mismatch(m);
      return set<GetDeviceFeaturesResp>(out, {le::load32(m, 8), read_feature_blocks(m)});

    case TransportId::SetDriverFeatures:
      if (resp) {
        if (n != kHeaderSize) return mismatch(m);
        return set<SetDriverFeaturesResp>(out, {});
      }
      if (!feature_blocks_fit(m)) return mismatch(m);
      return set<SetDriverFeaturesReq>(out, {le::load32(m, 8), read_feature_blocks(m)});

    case TransportId::GetConfig: {
      if (!resp) {
        if (n != kGetConfigReq) return mismatch(m);
        return set<GetConfigReq>(out, {le::load32(m, 8), le::load32(m, 12)});
      }
      if (n < kConfigFixed) return mismatch(m);
      const std::uint32_t len = le::load32(m, 16);
      if (n != kConfigFixed + std::uint64_t{len}) return mismatch(m);
      return set<GetConfigResp>(out, {le::load32(m, 8), le::load32(m, 12), read_bytes(m, kConfigFixed, len)});
    }

    case TransportId::SetConfig: {
      if (n < kConfigFixed) return mismatch(m);
      const std::uint32_t len = le::load32(m, 16);
      const bool full = n == kConfigFixed + std::uint64_t{len};
      if (!resp) {
        if (!full) return mismatch(m);
        return set<SetConfigReq>(out, {le::load32(m, 8), le::load32(m, 12), read_bytes(m, kConfigFixed, len)});
      }
      // The response may or may not echo the applied data (§4.6): both forms are valid.
      if (n != kConfigFixed && !full) return mismatch(m);
      return set<SetConfigResp>(out, {le::load32(m, 8), le::load32(m, 12), len,
                                      n == kConfigFixed ? std::vector<std::uint8_t>{}
                                                        : read_bytes(m, kConfigFixed, len)});
    }

    case TransportId::GetDeviceStatus:
      if (!resp) {
        if (n != kHeaderSize) return mismatch(m);
        return set<GetDeviceStatusReq>(out, {});
      }
      if (n != kWord) return mismatch(m);
      return set<GetDeviceStatusResp>(out, {le::load32(m, 8)});

    case TransportId::SetDeviceStatus:
      if (n != kWord) return mismatch(m);
      if (!resp) return set<SetDeviceStatusReq>(out, {le::load32(m, 8)});
      return set<SetDeviceStatusResp>(out, {le::load32(m, 8)});

    case TransportId::GetVqueue:
      if (!resp) {
        if (n != kWord) return mismatch(m);
        return set<GetVqueueReq>(out, {le::load32(m, 8)});
      }
      if (n != kVqueue) return mismatch(m);
      return set<GetVqueueResp>(out, {le::load32(m, 8), le::load32(m, 12), le::load32(m, 16), le::load32(m, 20),
                                      le::load64(m, 24), le::load64(m, 32), le::load64(m, 40)});

    case TransportId::SetVqueue:
      if (resp) {
        if (n != kHeaderSize) return mismatch(m);
        return set<SetVqueueResp>(out, {});
      }
      if (n != kVqueue) return mismatch(m);
      return set<SetVqueueReq>(out, {le::load32(m, 8), le::load32(m, 12), le::load32(m, 16), le::load32(m, 20),
                                     le::load64(m, 24), le::load64(m, 32), le::load64(m, 40)});

    case TransportId::ResetVqueue:
      if (resp) {
        if (n != kHeaderSize) return mismatch(m);
        return set<ResetVqueueResp>(out, {});
      }
      if (n != kWord) return mismatch(m);
      return set<ResetVqueueReq>(out, {le::load32(m, 8)});

    case TransportId::GetShm:
      if (!resp) {
        if (n != kWord) return mismatch(m);
        return set<GetShmReq>(out, {le::load32(m, 8)});
      }
      if (n != kGetShmResp) return mismatch(m);
      return set<GetShmResp>(out, {le::load32(m, 8), le::load32(m, 12), le::load32(m, 16)});

    case TransportId::EventConfig: {
      if (resp) return fail(DecodeError::ResponseToEvent, h.msg_id);
      if (n < kEventConfigFixed) return mismatch(m);
      const std::uint32_t len = le::load32(m, 20);
      // Data is optional (§4.13): 24 bytes without it, 24 + length with it.
      if (n != kEventConfigFixed && n != kEventConfigFixed + std::uint64_t{len}) return mismatch(m);
      return set<EventConfig>(out, {le::load32(m, 8), le::load32(m, 12), le::load32(m, 16), len,
                                    n == kEventConfigFixed ? std::vector<std::uint8_t>{}
                                                           : read_bytes(m, kEventConfigFixed, len)});
    }

    case TransportId::EventAvail:
      if (resp) return fail(DecodeError::ResponseToEvent, h.msg_id);
      if (n != kEventAvail) return mismatch(m);
      return set<EventAvail>(out, {le::load32(m, 8), le::load32(m, 12)});

    case TransportId::EventUsed:
      if (resp) return fail(DecodeError::ResponseToEvent, h.msg_id);
      if (n != kWord) return mismatch(m);
      return set<EventUsed>(out, {le::load32(m, 8)});
  }
  // Reserved 0x00/0x01, unassigned standard IDs and every implementation-defined ID.
  return fail(DecodeError::UnknownMessageId, h.msg_id);
}

Failure decode_bus(const Header& h, Bytes m, Body& out) {
  const bool resp = h.is_response();
  const std::size_t n = m.size();
  switch (static_cast<BusId>(h.msg_id)) {
    case BusId::GetDevices: {
      if (!resp) {
        if (n != kGetDevicesReq) return mismatch(m);
        const std::uint16_t offset = le::load16(m, 8);
        const std::uint16_t count = le::load16(m, 10);
        if (!aligned8(offset)) return fail(DecodeError::BadAlignment, offset);
        if (!aligned8(count)) return fail(DecodeError::BadAlignment, count);
        return set<GetDevicesReq>(out, {offset, count});
      }
      if (n < kGetDevicesRespFixed) return mismatch(m);
      const std::uint16_t offset = le::load16(m, 8);
      const std::uint16_t count = le::load16(m, 10);
      // Bitmap bytes rounded up, so an unaligned count whose size is right is
      // reported as the alignment fault it is (QEMU sends count 4 in 15 bytes).
      if (n != kGetDevicesRespFixed + (std::size_t{count} + 7) / 8) return mismatch(m);
      if (!aligned8(offset)) return fail(DecodeError::BadAlignment, offset);
      if (!aligned8(count)) return fail(DecodeError::BadAlignment, count);
      return set<GetDevicesResp>(out, {offset, le::load16(m, 12), read_bytes(m, kGetDevicesRespFixed, count / 8u)});
    }

    case BusId::Ping:
      if (n != kWord) return mismatch(m);
      if (!resp) return set<PingReq>(out, {le::load32(m, 8)});
      return set<PingResp>(out, {le::load32(m, 8)});

    case BusId::EventDevice:
      if (resp) return fail(DecodeError::ResponseToEvent, h.msg_id);
      if (n != kEventDevice) return mismatch(m);
      return set<EventDevice>(out, {le::load16(m, 8), le::load16(m, 10)});
  }
  return fail(DecodeError::UnknownMessageId, h.msg_id);
}

Failure decode_body(const Header& h, Bytes msg, Body& out) {
  return h.is_bus() ? decode_bus(h, msg, out) : decode_transport(h, msg, out);
}

// ---- encoding --------------------------------------------------------------

/// Total size of each kind (one overload per Body alternative).
struct SizeOf {
  std::size_t operator()(const GetDeviceInfoReq&) const noexcept { return kHeaderSize; }
  std::size_t operator()(const GetDeviceInfoResp&) const noexcept { return kGetDeviceInfoResp; }
  std::size_t operator()(const GetDeviceFeaturesReq&) const noexcept { return kFeaturesFixed; }
  std::size_t operator()(const GetDeviceFeaturesResp& b) const noexcept {
    return kFeaturesFixed + 4 * b.features.size();
  }
  std::size_t operator()(const SetDriverFeaturesReq& b) const noexcept {
    return kFeaturesFixed + 4 * b.features.size();
  }
  std::size_t operator()(const SetDriverFeaturesResp&) const noexcept { return kHeaderSize; }
  std::size_t operator()(const GetConfigReq&) const noexcept { return kGetConfigReq; }
  std::size_t operator()(const GetConfigResp& b) const noexcept { return kConfigFixed + b.data.size(); }
  std::size_t operator()(const SetConfigReq& b) const noexcept { return kConfigFixed + b.data.size(); }
  std::size_t operator()(const SetConfigResp& b) const noexcept { return kConfigFixed + b.data.size(); }
  std::size_t operator()(const GetDeviceStatusReq&) const noexcept { return kHeaderSize; }
  std::size_t operator()(const GetDeviceStatusResp&) const noexcept { return kWord; }
  std::size_t operator()(const SetDeviceStatusReq&) const noexcept { return kWord; }
  std::size_t operator()(const SetDeviceStatusResp&) const noexcept { return kWord; }
  std::size_t operator()(const GetVqueueReq&) const noexcept { return kWord; }
  std::size_t operator()(const GetVqueueResp&) const noexcept { return kVqueue; }
  std::size_t operator()(const SetVqueueReq&) const noexcept { return kVqueue; }
  std::size_t operator()(const SetVqueueResp&) const noexcept { return kHeaderSize; }
  std::size_t operator()(const ResetVqueueReq&) const noexcept { return kWord; }
  std::size_t operator()(const ResetVqueueResp&) const noexcept { return kHeaderSize; }
  std::size_t operator()(const GetShmReq&) const noexcept { return kWord; }
  std::size_t operator()(const GetShmResp&) const noexcept { return kGetShmResp; }
  std::size_t operator()(const EventConfig& b) const noexcept { return kEventConfigFixed + b.data.size(); }
  std::size_t operator()(const EventAvail&) const noexcept { return kEventAvail; }
  std::size_t operator()(const EventUsed&) const noexcept { return kWord; }
  std::size_t operator()(const GetDevicesReq&) const noexcept { return kGetDevicesReq; }
  std::size_t operator()(const GetDevicesResp& b) const noexcept { return kGetDevicesRespFixed + b.bitmap.size(); }
  std::size_t operator()(const PingReq&) const noexcept { return kWord; }
  std::size_t operator()(const PingResp&) const noexcept { return kWord; }
  std::size_t operator()(const EventDevice&) const noexcept { return kEventDevice; }
};

std::size_t size(const Body& body) noexcept { return std::visit(SizeOf{}, body); }

/// Bodies whose fields could not survive decode(encode(m)) == m.
struct ConsistentCheck {
  // Optional echoed data must be absent or exactly `length` bytes.
  bool operator()(const SetConfigResp& b) const noexcept { return b.data.empty() || b.data.size() == b.length; }
  bool operator()(const EventConfig& b) const noexcept { return b.data.empty() || b.data.size() == b.length; }
  // Unaligned GET_DEVICES windows do not decode (VMSG-BUS-042); count is le16.
  bool operator()(const GetDevicesReq& b) const noexcept { return aligned8(b.offset) && aligned8(b.count); }
  bool operator()(const GetDevicesResp& b) const noexcept {
    return aligned8(b.offset) && b.bitmap.size() * 8 <= 0xFFFF;
  }
  template <typename T>
  bool operator()(const T&) const noexcept { return true; }
};

bool consistent(const Body& body) noexcept { return std::visit(ConsistentCheck{}, body); }

/// Writes the payload of each kind; `out` is exactly the message size.
struct Writer {
  Out out;

  void u16(std::size_t off, std::uint16_t v) const noexcept { le::store16(out, off, v); }
  void u32(std::size_t off, std::uint32_t v) const noexcept { le::store32(out, off, v); }
  void u64(std::size_t off, std::uint64_t v) const noexcept { le::store64(out, off, v); }
  void bytes(std::size_t off, const std::vector<std::uint8_t>& d) const noexcept {
    for (std::size_t i = 0; i < d.size(); ++i) out[off + i] = d[i];
  }
  void words(std::size_t off, const std::vector<std::uint32_t>& w) const noexcept {
    for (std::size_t i = 0; i < w.size(); ++i) u32(off + 4 * i, w[i]);
  }
  // Callers guarantee (via size limits) that these counts fit le32.
  static std::uint32_t count32(std::size_t n) noexcept { return static_cast<std::uint32_t>(n); }

  void operator()(const GetDeviceInfoReq&) const noexcept {}
  void operator()(const GetDeviceInfoResp& b) const noexcept {
    u32(8, b.device_id);
    u32(12, b.vendor_id);
    u32(16, b.num_feature_bits);
    u32(20, b.config_size);
    u32(24, b.max_virtqueues);
    u16(28, b.admin_vq_start);
    u16(30, b.admin_vq_count);
  }
  void operator()(const GetDeviceFeaturesReq& b) const noexcept {
    u32(8, b.block_index);
    u32(12, b.num_blocks);
  }
  void operator()(const GetDeviceFeaturesResp& b) const noexcept {
    u32(8, b.block_index);
    u32(12, count32(b.features.size()));
    words(kFeaturesFixed, b.features);
  }
  void operator()(const SetDriverFeaturesReq& b) const noexcept {
    u32(8, b.block_index);
    u32(12, count32(b.features.size()));
    words(kFeaturesFixed, b.features);
  }
  void operator()(const SetDriverFeaturesResp&) const noexcept {}
  void operator()(const GetConfigReq& b) const noexcept {
    u32(8, b.offset);
    u32(12, b.length);
  }
  void operator()(const GetConfigResp& b) const noexcept {
    u32(8, b.generation);
    u32(12, b.offset);
    u32(16, count32(b.data.size()));
    bytes(kConfigFixed, b.data);
  }
  void operator()(const SetConfigReq& b) const noexcept {
    u32(8, b.generation);
    u32(12, b.offset);
    u32(16, count32(b.data.size()));
    bytes(kConfigFixed, b.data);
  }
  void operator()(const SetConfigResp& b) const noexcept {
    u32(8, b.generation);
    u32(12, b.offset);
    u32(16, b.length);
    bytes(kConfigFixed, b.data);
  }
  void operator()(const GetDeviceStatusReq&) const noexcept {}
  void operator()(const GetDeviceStatusResp& b) const noexcept { u32(8, b.status); }
  void operator()(const SetDeviceStatusReq& b) const noexcept { u32(8, b.status); }
  void operator()(const SetDeviceStatusResp& b) const noexcept { u32(8, b.status); }
  void operator()(const GetVqueueReq& b) const noexcept { u32(8, b.index); }
  void operator()(const GetVqueueResp& b) const noexcept {
    u32(8, b.index);
    u32(12, b.max_size);
    u32(16, b.cur_size);
    u32(20, b.reserved);
    u64(24, b.desc_addr);
    u64(32, b.driver_addr);
    u64(40, b.device_addr);
  }
  void operator()(const SetVqueueReq& b) const noexcept {
    u32(8, b.index);
    u32(12, b.reserved0);
    u32(16, b.size);
    u32(20, b.reserved1);
    u64(24, b.desc_addr);
    u64(32, b.driver_addr);
    u64(40, b.device_addr);
  }
  void operator()(const SetVqueueResp&) const noexcept {}
  void operator()(const ResetVqueueReq& b) const noexcept { u32(8, b.index); }
  void operator()(const ResetVqueueResp&) const noexcept {}
  void operator()(const GetShmReq& b) const noexcept { u32(8, b.index); }
  void operator()(const GetShmResp& b) const noexcept {
    u32(8, b.index);
    u32(12, b.length);
    u32(16, b.address);
  }
  void operator()(const EventConfig& b) const noexcept {
    u32(8, b.device_status);
    u32(12, b.generation);
    u32(16, b.offset);
    u32(20, b.length);
    bytes(kEventConfigFixed, b.data);
  }
  void operator()(const EventAvail& b) const noexcept {
    u32(8, b.vq_index);
    u32(12, b.next_offset);
  }
  void operator()(const EventUsed& b) const noexcept { u32(8, b.vq_index); }
  void operator()(const GetDevicesReq& b) const noexcept {
    u16(8, b.offset);
    u16(10, b.count);
  }
  void operator()(const GetDevicesResp& b) const noexcept {
    u16(8, b.offset);
    u16(10, static_cast<std::uint16_t>(b.bitmap.size() * 8));
    u16(12, b.next_offset);
    bytes(kGetDevicesRespFixed, b.bitmap);
  }
  void operator()(const PingReq& b) const noexcept { u32(8, b.data); }
  void operator()(const PingResp& b) const noexcept { u32(8, b.data); }
  void operator()(const EventDevice& b) const noexcept {
    u16(8, b.device_number);
    u16(10, b.state);
  }
};

void write_body(const Body& body, Out out) noexcept { std::visit(Writer{out}, body); }

}  // namespace pr28

constexpr LayoutCodec kPr28Codec{pr28::decode_body, pr28::size, pr28::consistent, pr28::write_body};

/// The one place that maps a profile to its layouts. REV1-2026 adds a case.
const LayoutCodec& layout_codec(Layout layout) noexcept {
  switch (layout) {
    case Layout::Pr28:
      return kPr28Codec;
  }
  return kPr28Codec;  // only reachable through a cast of an out-of-range value
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

std::string describe(const DecodeFailure& f) {
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
  return std::string(to_string(f.error)) + " (" + std::string(rule_id(f.error)) + "): " + what;
}

}  // namespace vmsg::wire

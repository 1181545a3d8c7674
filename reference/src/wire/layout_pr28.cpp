// The PR28 wire layouts (virtio-msg.md §4 transport, §5 bus). All fields are
// read and written one at a time through vmsg/common/le.hpp. Sizes derived
// from count fields are computed in 64 bits: a 32-bit count can never wrap the
// comparison with msg_size.
#include <array>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "layout_codec.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::wire::detail {
namespace {

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
      return set<GetDevicesResp>(out, {offset, le::load16(m, 12), read_bytes(m, kGetDevicesRespFixed, count / 8u), {}});
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
    return aligned8(b.offset) && b.bitmap.size() * 8 <= 0xFFFF && !b.count;
  }
  // REV1-only fields must be empty, and the 16-bit admin words must fit.
  bool operator()(const GetDeviceInfoResp& b) const noexcept {
    return b.num_feature_blocks == 0 && b.device_uuid == std::array<std::uint8_t, 16>{} &&
           b.admin_vq_start <= 0xFFFF && b.admin_vq_count <= 0xFFFF;
  }
  // 32-bit length and address; no reserved word in this layout.
  bool operator()(const GetShmResp& b) const noexcept {
    return b.length <= 0xFFFF'FFFFU && b.address <= 0xFFFF'FFFFU && b.reserved == 0;
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
    u16(28, static_cast<std::uint16_t>(b.admin_vq_start));  // consistent() checked they fit
    u16(30, static_cast<std::uint16_t>(b.admin_vq_count));
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
    u32(20, b.flags);
    u64(24, b.desc_addr);
    u64(32, b.driver_addr);
    u64(40, b.device_addr);
  }
  void operator()(const SetVqueueReq& b) const noexcept {
    u32(8, b.index);
    u32(12, b.flags);
    u32(16, b.size);
    u32(20, b.reserved);
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
    u32(12, static_cast<std::uint32_t>(b.length));  // consistent() checked they fit
    u32(16, static_cast<std::uint32_t>(b.address));
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

}  // namespace

const LayoutCodec kPr28Codec{decode_body, size, consistent, write_body};

}  // namespace vmsg::wire::detail

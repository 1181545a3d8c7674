// The REV1-2026 wire layouts (tex/transport-msg-rev1.tex; digest in
// virtio-msg-rev1.md). Message IDs, the header and most layouts are PR28's;
// REV1 differs in four kinds, handled here, and delegates the rest to PR28:
//   GET_DEVICE_INFO response  52 bytes: UUID, feature *blocks*, 32-bit admin words (REV1 L1258-1267)
//   GET_SHM response          32 bytes: reserved word, 64-bit length and address (REV1 L1760-1765)
//   GET_DEVICES request       no alignment rule; count 0 is valid (REV1 L1932-1935)
//   GET_DEVICES response      offset, next_offset, count, then (count+7)/8 bitmap bytes (REV1 L1937-1942)
// SET_VQUEUE's and GET_VQUEUE's flags words sit where PR28 has reserved words,
// so their layouts are PR28's.
#include <array>
#include <variant>

#include "layout_codec.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::wire::detail {
namespace {

constexpr std::size_t kGetDeviceInfoResp = 52;
constexpr std::size_t kUuidOffset = 16;
constexpr std::size_t kGetShmResp = 32;
constexpr std::size_t kGetDevicesReq = 12;
constexpr std::size_t kGetDevicesRespFixed = 14;

/// Bitmap bytes of a `count`-slot window.
constexpr std::size_t bitmap_bytes(std::size_t count) noexcept { return (count + 7) / 8; }

Failure decode_device_info_resp(Bytes m, Body& out) {
  if (m.size() != kGetDeviceInfoResp) return mismatch(m);
  GetDeviceInfoResp r;
  r.device_id = le::load32(m, 8);
  r.vendor_id = le::load32(m, 12);
  for (std::size_t i = 0; i < r.device_uuid.size(); ++i) r.device_uuid[i] = m[kUuidOffset + i];
  r.num_feature_blocks = le::load32(m, 32);
  r.config_size = le::load32(m, 36);
  r.max_virtqueues = le::load32(m, 40);
  r.admin_vq_start = le::load32(m, 44);
  r.admin_vq_count = le::load32(m, 48);
  return set<GetDeviceInfoResp>(out, std::move(r));
}

Failure decode_shm_resp(Bytes m, Body& out) {
  if (m.size() != kGetShmResp) return mismatch(m);
  return set<GetShmResp>(out, {le::load32(m, 8), le::load64(m, 16), le::load64(m, 24), le::load32(m, 12)});
}

Failure decode_devices(const Header& h, Bytes m, Body& out) {
  if (!h.is_response()) {
    if (m.size() != kGetDevicesReq) return mismatch(m);
    return set<GetDevicesReq>(out, {le::load16(m, 8), le::load16(m, 10)});
  }
  if (m.size() < kGetDevicesRespFixed) return mismatch(m);
  const std::uint16_t count = le::load16(m, 12);
  if (m.size() != kGetDevicesRespFixed + bitmap_bytes(count)) return mismatch(m);
  return set<GetDevicesResp>(
      out, {le::load16(m, 8), le::load16(m, 10), read_bytes(m, kGetDevicesRespFixed, bitmap_bytes(count)), count});
}

Failure decode_body(const Header& h, Bytes m, Body& out) {
  if (h.is_bus()) {
    if (h.msg_id == static_cast<std::uint8_t>(BusId::GetDevices)) return decode_devices(h, m, out);
  } else if (h.is_response()) {
    if (h.msg_id == static_cast<std::uint8_t>(TransportId::GetDeviceInfo)) return decode_device_info_resp(m, out);
    if (h.msg_id == static_cast<std::uint8_t>(TransportId::GetShm)) return decode_shm_resp(m, out);
  }
  return kPr28Codec.decode_body(h, m, out);
}

/// The kinds whose REV1 layout differs; every other kind is PR28's.
struct Rev1Only {
  const Body& body;

  std::size_t size(const GetDeviceInfoResp&) const noexcept { return kGetDeviceInfoResp; }
  std::size_t size(const GetShmResp&) const noexcept { return kGetShmResp; }
  std::size_t size(const GetDevicesReq&) const noexcept { return kGetDevicesReq; }
  std::size_t size(const GetDevicesResp& b) const noexcept { return kGetDevicesRespFixed + b.bitmap.size(); }
  template <typename T>
  std::size_t size(const T&) const noexcept { return kPr28Codec.size(body); }

  // PR28-only fields must be empty; the window's count must match its bitmap.
  bool consistent(const GetDeviceInfoResp& b) const noexcept { return b.num_feature_bits == 0; }
  bool consistent(const GetShmResp&) const noexcept { return true; }
  bool consistent(const GetDevicesReq&) const noexcept { return true; }
  bool consistent(const GetDevicesResp& b) const noexcept {
    return b.count.has_value() && bitmap_bytes(*b.count) == b.bitmap.size();
  }
  template <typename T>
  bool consistent(const T&) const noexcept { return kPr28Codec.consistent(body); }
};

std::size_t size(const Body& body) noexcept {
  return std::visit([&](const auto& b) { return Rev1Only{body}.size(b); }, body);
}

bool consistent(const Body& body) noexcept {
  return std::visit([&](const auto& b) { return Rev1Only{body}.consistent(b); }, body);
}

/// Writes the REV1-only kinds; the rest go to PR28's writer.
struct Writer {
  const Body& body;
  Out out;

  void operator()(const GetDeviceInfoResp& b) const noexcept {
    le::store32(out, 8, b.device_id);
    le::store32(out, 12, b.vendor_id);
    for (std::size_t i = 0; i < b.device_uuid.size(); ++i) out[kUuidOffset + i] = b.device_uuid[i];
    le::store32(out, 32, b.num_feature_blocks);
    le::store32(out, 36, b.config_size);
    le::store32(out, 40, b.max_virtqueues);
    le::store32(out, 44, b.admin_vq_start);
    le::store32(out, 48, b.admin_vq_count);
  }
  void operator()(const GetShmResp& b) const noexcept {
    le::store32(out, 8, b.index);
    le::store32(out, 12, b.reserved);
    le::store64(out, 16, b.length);
    le::store64(out, 24, b.address);
  }
  void operator()(const GetDevicesReq& b) const noexcept {
    le::store16(out, 8, b.offset);
    le::store16(out, 10, b.count);
  }
  void operator()(const GetDevicesResp& b) const noexcept {
    le::store16(out, 8, b.offset);
    le::store16(out, 10, b.next_offset);
    le::store16(out, 12, *b.count);  // consistent() checked it is there
    for (std::size_t i = 0; i < b.bitmap.size(); ++i) out[kGetDevicesRespFixed + i] = b.bitmap[i];
  }
  template <typename T>
  void operator()(const T&) const noexcept {
    kPr28Codec.write_body(body, out);
  }
};

void write_body(const Body& body, Out out) noexcept { std::visit(Writer{body, out}, body); }

}  // namespace

const LayoutCodec kRev1Codec{decode_body, size, consistent, write_body};

}  // namespace vmsg::wire::detail

// A wire::Message as a stream_io format: which body kind, the header fields
// the body does not imply, and every body field, with vector lengths bounded
// by the caller. Used by fuzz_codec (all kinds, long vectors, to reach the
// encoder's size and consistency rules) and fuzz_device (short messages that
// fit the 64-byte AMP slot), and by the seed generator to write either.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "vmsg/wire/messages.hpp"

namespace vmsg::fuzz {

/// Upper bounds for generated vectors (elements).
struct MessageLimits {
  std::size_t max_words = 16;  ///< feature blocks
  std::size_t max_bytes = 64;  ///< config data, bitmaps
};

namespace detail {

template <std::size_t... I>
wire::Body make_body(std::size_t k, std::index_sequence<I...>) {
  // One constructor per alternative; k < variant_size is guaranteed by the caller.
  static constexpr std::array<wire::Body (*)(), sizeof...(I)> kMakers{
      +[]() { return wire::Body{std::in_place_index<I>}; }...};
  return kMakers[k]();
}

/// A vector length, biased to short: one byte for 0..254, and the escape 255
/// followed by a wide value up to `max` (so a random wide value, which would
/// mostly mean a huge and slow vector, is not the common case).
template <class IO>
void io_length(IO& io, std::size_t& n, std::size_t max) {
  if (max < 255) {
    io.range(n, std::size_t{0}, max);
    return;
  }
  auto small = static_cast<std::uint8_t>(n < 255 ? n : 255);
  io.range(small, std::uint8_t{0}, std::uint8_t{255});
  if (small < 255) {
    n = small;
  } else {
    io.range(n, std::size_t{255}, max);
  }
}

template <class IO>
void io_words(IO& io, std::vector<std::uint32_t>& v, const MessageLimits& lim) {
  std::size_t n = v.size();
  io_length(io, n, lim.max_words);
  if constexpr (IO::kReading) v.assign(n, 0);
  for (auto& w : v) io.any(w);
}

template <class IO>
void io_bytes(IO& io, std::vector<std::uint8_t>& v, const MessageLimits& lim) {
  std::size_t n = v.size();
  io_length(io, n, lim.max_bytes);
  io.bytes(v, n);
}

// One overload per body struct: every field, in declaration order.
template <class IO> void fields(IO&, wire::GetDeviceInfoReq&, const MessageLimits&) {}
template <class IO> void fields(IO& io, wire::GetDeviceInfoResp& b, const MessageLimits&) {
  io.any(b.device_id); io.any(b.vendor_id); io.any(b.num_feature_bits); io.any(b.config_size);
  io.any(b.max_virtqueues); io.any(b.admin_vq_start); io.any(b.admin_vq_count);
  io.any(b.num_feature_blocks);
  for (std::uint8_t& u : b.device_uuid) io.any(u);
}
template <class IO> void fields(IO& io, wire::GetDeviceFeaturesReq& b, const MessageLimits&) {
  io.any(b.block_index); io.any(b.num_blocks);
}
template <class IO> void fields(IO& io, wire::GetDeviceFeaturesResp& b, const MessageLimits& l) {
  io.any(b.block_index); io_words(io, b.features, l);
}
template <class IO> void fields(IO& io, wire::SetDriverFeaturesReq& b, const MessageLimits& l) {
  io.any(b.block_index); io_words(io, b.features, l);
}
template <class IO> void fields(IO&, wire::SetDriverFeaturesResp&, const MessageLimits&) {}
template <class IO> void fields(IO& io, wire::GetConfigReq& b, const MessageLimits&) {
  io.any(b.offset); io.any(b.length);
}
template <class IO> void fields(IO& io, wire::GetConfigResp& b, const MessageLimits& l) {
  io.any(b.generation); io.any(b.offset); io_bytes(io, b.data, l);
}
template <class IO> void fields(IO& io, wire::SetConfigReq& b, const MessageLimits& l) {
  io.any(b.generation); io.any(b.offset); io_bytes(io, b.data, l);
}
template <class IO> void fields(IO& io, wire::SetConfigResp& b, const MessageLimits& l) {
  io.any(b.generation); io.any(b.offset); io.any(b.length); io_bytes(io, b.data, l);
}
template <class IO> void fields(IO&, wire::GetDeviceStatusReq&, const MessageLimits&) {}
template <class IO> void fields(IO& io, wire::GetDeviceStatusResp& b, const MessageLimits&) { io.any(b.status); }
template <class IO> void fields(IO& io, wire::SetDeviceStatusReq& b, const MessageLimits&) { io.any(b.status); }
template <class IO> void fields(IO& io, wire::SetDeviceStatusResp& b, const MessageLimits&) { io.any(b.status); }
template <class IO> void fields(IO& io, wire::GetVqueueReq& b, const MessageLimits&) { io.any(b.index); }
template <class IO> void fields(IO& io, wire::GetVqueueResp& b, const MessageLimits&) {
  io.any(b.index); io.any(b.max_size); io.any(b.cur_size); io.any(b.flags);
  io.any(b.desc_addr); io.any(b.driver_addr); io.any(b.device_addr);
}
template <class IO> void fields(IO& io, wire::SetVqueueReq& b, const MessageLimits&) {
  io.any(b.index); io.any(b.flags); io.any(b.size); io.any(b.reserved);
  io.any(b.desc_addr); io.any(b.driver_addr); io.any(b.device_addr);
}
template <class IO> void fields(IO&, wire::SetVqueueResp&, const MessageLimits&) {}
template <class IO> void fields(IO& io, wire::ResetVqueueReq& b, const MessageLimits&) { io.any(b.index); }
template <class IO> void fields(IO&, wire::ResetVqueueResp&, const MessageLimits&) {}
template <class IO> void fields(IO& io, wire::GetShmReq& b, const MessageLimits&) { io.any(b.index); }
template <class IO> void fields(IO& io, wire::GetShmResp& b, const MessageLimits&) {
  io.any(b.index); io.any(b.length); io.any(b.address); io.any(b.reserved);
}
template <class IO> void fields(IO& io, wire::EventConfig& b, const MessageLimits& l) {
  io.any(b.device_status); io.any(b.generation); io.any(b.offset); io.any(b.length); io_bytes(io, b.data, l);
}
template <class IO> void fields(IO& io, wire::EventAvail& b, const MessageLimits&) {
  io.any(b.vq_index); io.any(b.next_offset);
}
template <class IO> void fields(IO& io, wire::EventUsed& b, const MessageLimits&) { io.any(b.vq_index); }
template <class IO> void fields(IO& io, wire::GetDevicesReq& b, const MessageLimits&) {
  io.any(b.offset); io.any(b.count);
}
template <class IO> void fields(IO& io, wire::GetDevicesResp& b, const MessageLimits& l) {
  io.any(b.offset); io.any(b.next_offset); io_bytes(io, b.bitmap, l);
  bool has_count = b.count.has_value();
  std::uint16_t count = b.count.value_or(0);
  io.flag(has_count);
  io.any(count);
  if constexpr (IO::kReading) b.count = has_count ? std::optional<std::uint16_t>(count) : std::nullopt;
}
template <class IO> void fields(IO& io, wire::PingReq& b, const MessageLimits&) { io.any(b.data); }
template <class IO> void fields(IO& io, wire::PingResp& b, const MessageLimits&) { io.any(b.data); }
template <class IO> void fields(IO& io, wire::EventDevice& b, const MessageLimits&) {
  io.any(b.device_number); io.any(b.state);
}

}  // namespace detail

/// Number of body kinds (wire::Body alternatives).
inline constexpr std::size_t kBodyKinds = std::variant_size_v<wire::Body>;

/// Reads or writes a whole message: kind, dev_num, token, reserved type bits
/// (any byte, so the encoder's Inconsistent rule is reachable), body fields.
template <class IO>
void io_message(IO& io, wire::Message& m, const MessageLimits& lim) {
  std::size_t kind = m.body.index();
  io.range(kind, std::size_t{0}, kBodyKinds - 1);
  if constexpr (IO::kReading) m.body = detail::make_body(kind, std::make_index_sequence<kBodyKinds>{});
  io.any(m.dev_num);
  io.any(m.token);
  io.any(m.reserved_type_bits);
  std::visit([&](auto& b) { detail::fields(io, b, lim); }, m.body);
}

}  // namespace vmsg::fuzz

// Helpers shared by the wire tests: hex conversion and one sample message of
// every Body alternative with non-trivial field values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vmsg/wire/codec.hpp"

namespace vmsg::wire {

/// gtest prints failures through describe() instead of raw bytes.
inline void PrintTo(const DecodeFailure& f, std::ostream* os) { *os << describe(f); }

}  // namespace vmsg::wire

namespace vmsg::wire::test {

/// Parses hex digits, ignoring spaces, e.g. "0203 0000" -> {02 03 00 00}.
inline std::vector<std::uint8_t> from_hex(std::string_view s) {
  auto nibble = [](char c) -> std::uint8_t {
    if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<std::uint8_t>(c - 'A' + 10);
    throw std::invalid_argument("bad hex digit");
  };
  std::vector<std::uint8_t> out;
  int hi = -1;
  for (const char c : s) {
    if (c == ' ') continue;
    const std::uint8_t n = nibble(c);
    if (hi < 0) {
      hi = n;
    } else {
      out.push_back(static_cast<std::uint8_t>((hi << 4) | n));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

/// Lower-case hex without separators, for readable assertion messages.
inline std::string to_hex(std::span<const std::uint8_t> b) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string s;
  for (const std::uint8_t v : b) {
    s += kDigits[v >> 4];
    s += kDigits[v & 0xF];
  }
  return s;
}

/// The decode failure, or nullopt when the bytes decode.
inline std::optional<DecodeFailure> decode_error(std::span<const std::uint8_t> b, const Profile& p = Profile::pr28(),
                                                 DecodeOptions o = {}) {
  const auto r = decode(b, p, o);
  if (r.ok()) return std::nullopt;
  return r.error();
}

/// Large enough for every message the tests build.
inline constexpr Profile kBigProfile = Profile::pr28(0xFFFF);

/// One message per Body alternative, with distinct non-zero values in every
/// field so that a swapped or dropped field shows up in a round trip.
inline std::vector<Message> sample_messages() {
  return {
      {0x0001, 0x1001, 0, GetDeviceInfoReq{}},
      {0x0002, 0x1002, 0, GetDeviceInfoResp{4, 0x554D4551, 64, 0x24, 3, 0x0102, 0x0304}},
      {0x0003, 0x1003, 0, GetDeviceFeaturesReq{1, 2}},
      {0x0004, 0x1004, 0, GetDeviceFeaturesResp{1, {0x30000000, 0x00000101, 0xDEADBEEF}}},
      {0x0005, 0x1005, 0, SetDriverFeaturesReq{2, {0x00000001, 0x80000000}}},
      {0x0006, 0x1006, 0, SetDriverFeaturesResp{}},
      {0x0007, 0x1007, 0, GetConfigReq{0x10, 0x08}},
      {0x0008, 0x1008, 0, GetConfigResp{7, 0x10, {1, 2, 3, 4, 5}}},
      {0x0009, 0x1009, 0, SetConfigReq{7, 0x11, {0xAA, 0xBB, 0xCC}}},
      {0x000A, 0x100A, 0, SetConfigResp{8, 0x11, 3, {0xAA, 0xBB, 0xCC}}},
      {0x000B, 0x100B, 0, GetDeviceStatusReq{}},
      {0x000C, 0x100C, 0, GetDeviceStatusResp{0x0B}},
      {0x000D, 0x100D, 0, SetDeviceStatusReq{0x0F}},
      {0x000E, 0x100E, 0, SetDeviceStatusResp{0x4F}},
      {0x000F, 0x100F, 0, GetVqueueReq{5}},
      {0x0010, 0x1010, 0,
       GetVqueueResp{5, 256, 128, 0x11111111, 0x0011223344556677, 0x8899AABBCCDDEEFF, 0x0102030405060708}},
      {0x0011, 0x1011, 0,
       SetVqueueReq{6, 0x22222222, 64, 0x33333333, 0x1000000000000000, 0x2000000000000010, 0x3000000000000020}},
      {0x0012, 0x1012, 0, SetVqueueResp{}},
      {0x0013, 0x1013, 0, ResetVqueueReq{7}},
      {0x0014, 0x1014, 0, ResetVqueueResp{}},
      {0x0015, 0x1015, 0, GetShmReq{1}},
      {0x0016, 0x1016, 0, GetShmResp{1, 0x1000, 0x80000000}},
      {0x0017, 0x1017, 0, EventConfig{0x0F, 9, 4, 2, {0x5A, 0xA5}}},
      {0x0018, 0x1018, 0, EventAvail{2, 0x80000007}},
      {0x0019, 0x1019, 0, EventUsed{3}},
      {0x0000, 0x101A, 0, GetDevicesReq{16, 64}},
      {0x0000, 0x101B, 0, GetDevicesResp{16, 48, {0x25, 0x00, 0x80}}},
      {0x0000, 0x101C, 0, PingReq{0xDEADBEEF}},
      {0x0000, 0x101D, 0, PingResp{0xCAFEF00D}},
      {0x0000, 0x101E, 0, EventDevice{5, 0x8001}},
  };
}

}  // namespace vmsg::wire::test

#include "vmsg/driver/device_enumeration.hpp"

#include <algorithm>
#include <string>
#include <variant>

#include "link_errors.hpp"

namespace vmsg::driver {

namespace {

/// GET_DEVICES response bytes besides the bitmap (both layouts).
constexpr std::uint32_t kGetDevicesRespFixed = 14;
/// The largest le16 count that is a multiple of 8.
constexpr std::uint32_t kMaxAlignedCount = 0xFFF8;

std::uint16_t window_for(const wire::Profile& profile, std::uint16_t asked) {
  const bool pr28 = profile.layout == wire::Layout::Pr28;
  std::uint32_t w = asked;
  if (w == 0) {
    const std::uint32_t room = profile.max_msg_size > kGetDevicesRespFixed ? profile.max_msg_size - kGetDevicesRespFixed : 0;
    w = std::min<std::uint32_t>(room * 8, pr28 ? kMaxAlignedCount : 0xFFFF);
  }
  if (pr28) w -= w % 8;  // PR28 refuses unaligned windows (VMSG-BUS-042)
  return static_cast<std::uint16_t>(w);
}

/// Slots the answer covers: REV1 says so in `count`, PR28 in the bitmap size.
std::uint32_t answered_count(const wire::GetDevicesResp& r) {
  return r.count ? std::uint32_t{*r.count} : static_cast<std::uint32_t>(r.bitmap.size()) * 8;
}

}  // namespace

VResult<Enumeration> enumerate_devices(BusDriver& bus, const EnumerationOptions& options) {
  const std::uint16_t window = window_for(bus.profile(), options.window);
  Enumeration out;
  std::uint16_t offset = 0;
  for (;;) {
    if (out.windows >= options.max_windows) {
      return fail(VirtioErrc::EnumerationStuck, "GET_DEVICES: no terminal window (next_offset 0) after " +
                                                    std::to_string(out.windows) + " windows");
    }
    ++out.windows;
    const std::string what = "GET_DEVICES(" + std::to_string(offset) + ", " + std::to_string(window) + ")";
    auto r = bus.request(wire::Message{.dev_num = 0, .token = 0, .reserved_type_bits = 0,
                                       .body = wire::GetDevicesReq{offset, window}});
    if (!r) return Err{link_error(r.error(), what, bus.link())};
    const auto* resp = std::get_if<wire::GetDevicesResp>(&r->body);
    if (resp == nullptr) return fail(VirtioErrc::BadResponse, what + ": answered with " + std::string(wire::name(r->body)));
    const std::uint32_t count = answered_count(*resp);
    if (resp->offset != offset || count > window) {  // REV1 L1982-1984
      return fail(VirtioErrc::BadResponse, what + ": answered offset " + std::to_string(resp->offset) + " count " +
                                               std::to_string(count));
    }
    for (std::uint32_t i = 0; i < count && offset + i <= 0xFFFF; ++i) {
      if (((unsigned{resp->bitmap[i / 8]} >> (i % 8)) & 1U) != 0) out.devices.push_back(static_cast<std::uint16_t>(offset + i));
    }
    if (resp->next_offset == 0) break;  // the terminal window (REV1 L1988-1989)
    if (resp->next_offset <= offset) {  // REV1 L1990-1992: it must advance
      return fail(VirtioErrc::EnumerationStuck,
                  what + ": non-terminal next_offset " + std::to_string(resp->next_offset) + " does not advance");
    }
    offset = resp->next_offset;
  }
  // A misbehaving bus may repeat numbers across overlapping windows.
  std::sort(out.devices.begin(), out.devices.end());
  out.devices.erase(std::unique(out.devices.begin(), out.devices.end()), out.devices.end());
  return out;
}

}  // namespace vmsg::driver

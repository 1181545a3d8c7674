// The bus's fault modes (fault::FaultSet in BusOptions): QEMU behaviours the
// conforming bus does not have, kept apart from the routing rules in bus.cpp
// so the conforming path stays readable. None of this runs with faults off.
#include <algorithm>
#include <optional>
#include <variant>
#include <vector>

#include "vmsg/bus/bus.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::bus {
namespace {

constexpr std::size_t kGetDevicesReqSize = 12;
constexpr std::size_t kGetDevicesRespFixed = 14;

/// The zero-filled response QEMU gives a request for an empty slot, for the
/// seven kinds it answers there (amp-pci-device.md §6.4); nullopt for the
/// ones it drops (SET_DEVICE_STATUS, SET_VQUEUE, RESET_VQUEUE, GET_SHM).
std::optional<wire::Body> zero_response(const wire::Body& req) {
  if (std::holds_alternative<wire::GetDeviceInfoReq>(req)) return wire::GetDeviceInfoResp{};
  if (std::holds_alternative<wire::GetDeviceFeaturesReq>(req)) return wire::GetDeviceFeaturesResp{};
  if (std::holds_alternative<wire::SetDriverFeaturesReq>(req)) return wire::SetDriverFeaturesResp{};
  if (std::holds_alternative<wire::GetConfigReq>(req)) return wire::GetConfigResp{};
  if (std::holds_alternative<wire::SetConfigReq>(req)) return wire::SetConfigResp{};
  if (std::holds_alternative<wire::GetDeviceStatusReq>(req)) return wire::GetDeviceStatusResp{};
  if (std::holds_alternative<wire::GetVqueueReq>(req)) return wire::GetVqueueResp{};
  return std::nullopt;
}

}  // namespace

bool Bus::fault_pre_decode(std::span<const std::uint8_t> frame) {
  const fault::FaultSet& fs = options_.faults;
  std::optional<wire::Header> h = wire::peek_header(frame);
  if (!h) return false;

  if (h->is_bus() && h->is_response() && fs.has(fault::Fault::AnswerBusResponses) &&
      (h->msg_id == static_cast<std::uint8_t>(wire::BusId::Ping) ||
       h->msg_id == static_cast<std::uint8_t>(wire::BusId::GetDevices))) {
    // D13: QEMU never looks at the RESPONSE bit of a bus message. Handle the
    // frame as the request it would be without that bit.
    std::vector<std::uint8_t> copy(frame.begin(), frame.end());
    copy[0] = static_cast<std::uint8_t>(copy[0] & ~wire::type_bits::kResponse);
    --stats_.frames_received;  // receive() counts the rewritten frame again
    receive(copy);
    return true;
  }

  if (h->is_bus() && !h->is_response() && fs.has(fault::Fault::GetDevicesUnaligned) &&
      profile_.layout == wire::Layout::Pr28 &&
      h->msg_id == static_cast<std::uint8_t>(wire::BusId::GetDevices) && frame.size() >= kGetDevicesReqSize &&
      h->msg_size >= kGetDevicesReqSize && h->msg_size <= frame.size()) {
    // D12 / bug 15: any offset and count are answered, QEMU style.
    fault_answer_get_devices(*h, le::load16(frame, 8), le::load16(frame, 10));
    return true;
  }

  if (!h->is_bus() && fs.has(fault::Fault::MaxMessage48) && h->msg_size > kFaultMaxMessage) {
    ++stats_.dropped_by_fault;  // D1: longer than QEMU's message struct
    return true;
  }
  return false;
}

Result<wire::Message, wire::DecodeFailure> Bus::fault_decode_shorter(std::span<const std::uint8_t> frame) {
  // D16: QEMU checks only a per-message minimum. Accept the frame if some
  // shorter msg_size makes it a valid message; the bytes after it are ignored.
  auto original = wire::decode(frame, profile_);
  const std::optional<wire::Header> h = wire::peek_header(frame);
  if (!h || h->msg_size > frame.size()) return original;
  std::vector<std::uint8_t> copy(frame.begin(), frame.begin() + h->msg_size);
  for (std::size_t n = wire::kHeaderSize; n < h->msg_size; ++n) {
    wire::Header shorter = *h;
    shorter.msg_size = static_cast<std::uint16_t>(n);
    wire::write_header(copy, shorter);
    auto d = wire::decode(std::span<const std::uint8_t>(copy).first(n), profile_);
    if (d) return d;
  }
  return original;
}

bool Bus::fault_answer_empty_slot(const wire::Message& m) {
  // D9: QEMU answers some requests for an empty slot with zeros.
  std::optional<wire::Body> body = zero_response(m.body);
  if (!body) return false;
  wire::Message resp;
  resp.dev_num = m.dev_num;
  resp.token = response_token(m.token);
  resp.reserved_type_bits =
      options_.faults.has(fault::Fault::EchoReservedTypeBits) ? m.reserved_type_bits : std::uint8_t{0};
  resp.body = std::move(*body);
  if (send(resp)) {
    ++stats_.answered_by_fault;
    ++stats_.responses_sent;
  }
  return true;
}

void Bus::fault_answer_get_devices(const wire::Header& h, std::uint16_t offset, std::uint16_t count) {
  // QEMU's window arithmetic (amp-pci-device.md §6.3): clipped to its 32
  // slots, bitmap rounded up to whole bytes, next_offset never 0. The result
  // may be unaligned, which the codec refuses to encode, so it is built here.
  const auto off = static_cast<std::uint16_t>(std::min<unsigned>(offset, kMaxDevices));
  const auto cnt = static_cast<std::uint16_t>(std::min<unsigned>(count, kMaxDevices - off));
  const std::size_t size = kGetDevicesRespFixed + (std::size_t{cnt} + 7) / 8;
  std::vector<std::uint8_t> out(size, 0);
  std::uint8_t type = wire::type_bits::kBus | wire::type_bits::kResponse;
  if (options_.faults.has(fault::Fault::EchoReservedTypeBits)) type |= h.reserved_bits();
  wire::write_header(out, wire::Header{.type = type,
                                       .msg_id = h.msg_id,
                                       .dev_num = 0,
                                       .token = h.token,
                                       .msg_size = static_cast<std::uint16_t>(size)});
  le::store16(out, 8, off);
  le::store16(out, 10, cnt);
  le::store16(out, 12, static_cast<std::uint16_t>(off + cnt));
  for (unsigned i = 0; i < cnt; ++i) {
    if (!present(static_cast<std::uint16_t>(off + i))) continue;
    std::uint8_t& byte = out[kGetDevicesRespFixed + i / 8];
    byte = static_cast<std::uint8_t>(byte | (1u << (i % 8)));  // LSB first
  }
  sink_.send(out);
  ++stats_.bus_requests_answered;
  ++stats_.responses_sent;
}

}  // namespace vmsg::bus

namespace vmsg::bus {

std::uint16_t Bus::response_token(std::uint16_t request_token) const noexcept {
  // A device that never copies the token, as PR28 allowed (REV1 L692-694).
  const bool dropped = profile_.layout == wire::Layout::Rev1 && options_.faults.has(fault::Fault::Rev1TokenNotCopied);
  return dropped ? std::uint16_t{0} : request_token;
}

wire::Profile Bus::encoding_profile(const wire::Message& m) const noexcept {
  // A PR28 device's GET_SHM answer (20 bytes, 32-bit fields) on a REV1 bus.
  if (profile_.layout == wire::Layout::Rev1 && options_.faults.has(fault::Fault::Rev1ShmPr28Layout) &&
      std::holds_alternative<wire::GetShmResp>(m.body)) {
    return wire::Profile::pr28(profile_.max_msg_size);
  }
  return profile_;
}

}  // namespace vmsg::bus

#include "vmsg/common/hex.hpp"
#include "vmsg/bus/driver_frame_rules.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <variant>

#include "vmsg/bus/bus.hpp"
#include "vmsg/common/no_coverage.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/header.hpp"

namespace vmsg::bus {

namespace {

/// The requirement a decode failure of a driver frame evidences, or null for
/// failures no driver rule of the catalogue covers (unknown IDs, RESPONSE on
/// an event ID).
const char* pr28_rule_for(wire::DecodeError e) noexcept {
  switch (e) {
    case wire::DecodeError::ShortBuffer:
    case wire::DecodeError::SizeBelowHeader:
    case wire::DecodeError::SizeExceedsBuffer:
    case wire::DecodeError::SizeMismatch:
      return "VMSG-DRV-011";
    case wire::DecodeError::SizeExceedsBusMax:
      return "VMSG-DRV-012";
    case wire::DecodeError::BadAlignment:
      return "VMSG-BUS-042";
    case wire::DecodeError::ReservedTypeBits:  // reported from the header below
    case wire::DecodeError::UnknownMessageId:
    case wire::DecodeError::ResponseToEvent:
    case wire::DecodeError::BadCount:
      return nullptr;
  }
  return nullptr;
}

/// The same under REV1 (requirements-rev1.toml): msg_size rules of the
/// driver's common header (REV1 L669-671); REV1 GET_DEVICES has no alignment.
const char* rev1_rule_for(wire::DecodeError e) noexcept {
  switch (e) {
    case wire::DecodeError::ShortBuffer:
    case wire::DecodeError::SizeBelowHeader:
    case wire::DecodeError::SizeExceedsBuffer:
    case wire::DecodeError::SizeMismatch:
      return "R1-DRV-020";
    case wire::DecodeError::SizeExceedsBusMax:
      return "R1-DRV-021";
    case wire::DecodeError::BadAlignment:
    case wire::DecodeError::ReservedTypeBits:
    case wire::DecodeError::UnknownMessageId:
    case wire::DecodeError::ResponseToEvent:
    case wire::DecodeError::BadCount:
      return nullptr;
  }
  return nullptr;
}

/// True when every byte of `bytes` is zero (a frame's padding after msg_size).
VMSG_NO_COVERAGE_FEEDBACK bool all_zero(std::span<const std::uint8_t> bytes) noexcept {
  std::uint8_t any = 0;
  for (const std::uint8_t b : bytes) any = static_cast<std::uint8_t>(any | b);
  return any == 0;
}

/// The IDs of the checks below under the bus's profile.
struct FrameRuleIds {
  const char* (*decode)(wire::DecodeError) noexcept;
  const char* type_bits;
  const char* no_device;
  const char* bus_dev_num;  ///< null: not checked (PR28 has no driver rule for it)
  const char* reply;        ///< a transport response from the driver; null: not checked (PR28)
};

constexpr FrameRuleIds kPr28Ids{pr28_rule_for, "VMSG-DRV-009", "VMSG-DRV-013", nullptr, nullptr};
// Bus messages carry dev_num 0 (REV1 L651-652); outside the normative blocks
// the catalogue has it as an unspecified header value sent as zero (R1-GEN-001).
// REV1 defines no transport message a device sends for the driver to answer
// (drivers send, devices reply or emit events, REV1 L1123-1127), so a driver transport
// frame with the RESPONSE bit replies to something the driver had to discard
// without traffic (L560-562).
constexpr FrameRuleIds kRev1Ids{rev1_rule_for, "R1-DRV-018", "R1-DRV-022", "R1-GEN-001", "R1-DRV-014"};

}  // namespace

void check_driver_frame(DriverRuleSink& sink, std::span<const std::uint8_t> frame, const Bus& bus,
                        const Result<wire::Message, wire::DecodeFailure>* decoded_by_bus) {
  wire::Profile profile = bus.profile();
  profile.layout = bus.options().rule_layout.value_or(profile.layout);
  const wire::Layout layout = profile.layout;
  const FrameRuleIds& ids = layout == wire::Layout::Rev1 ? kRev1Ids : kPr28Ids;
  const auto header = wire::peek_header(frame);
  const std::uint16_t dev_num = header ? header->dev_num : std::uint16_t{0};
  if (header && header->reserved_bits() != 0) {
    report(sink, ids.type_bits, dev_num, "frame", [&] { return "type byte " + hex(header->type) + " has reserved bits set"; });
  }
  if (header && ids.reply != nullptr && header->is_response() && !header->is_bus()) {
    // Judged on the header: a reply to a malformed message may not decode itself.
    report(sink, ids.reply, dev_num, "frame",
           [&] { return "transport message " + hex(header->msg_id) + " sent with the RESPONSE bit (a reply)"; });
  }
  const bool same_layout = layout == bus.profile().layout;
  std::optional<Result<wire::Message, wire::DecodeFailure>> own;
  const Result<wire::Message, wire::DecodeFailure>& decoded =
      same_layout && decoded_by_bus != nullptr ? *decoded_by_bus : own.emplace(wire::decode(frame, profile));
  if (!decoded) {
    if (const char* rule = ids.decode(decoded.error().error)) {
      report(sink, rule, dev_num, "frame", [&] { return wire::describe(decoded.error(), layout); });
    }
    return;
  }
  const wire::Message& m = decoded.value();
  const std::string_view kind = wire::name(m.body);
  // Slot padding must be zero (AMP-015); only meaningful once msg_size is right.
  if (!all_zero(frame.subspan(std::min<std::size_t>(header->msg_size, frame.size())))) {
    report(sink, "AMP-015", dev_num, kind,
           [&] { return "non-zero bytes after msg_size " + std::to_string(header->msg_size); });
  }
  const bool to_device = !wire::is_bus(m.body) && !wire::is_response(m.body) &&
                         !std::holds_alternative<wire::EventConfig>(m.body) &&
                         !std::holds_alternative<wire::EventUsed>(m.body);
  if (to_device && !bus.present(m.dev_num)) {
    report(sink, ids.no_device, dev_num, kind, [&] { return "no device at number " + std::to_string(m.dev_num); });
  }
  if (ids.bus_dev_num != nullptr && wire::is_bus(m.body) && m.dev_num != 0) {
    report(sink, ids.bus_dev_num, dev_num, kind, [&] { return "bus message with dev_num " + std::to_string(m.dev_num); });
  }
}

}  // namespace vmsg::bus

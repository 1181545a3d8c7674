#include "harness/rule_log_check.hpp"

#include <algorithm>
#include <bit>
#include <string>
#include <variant>

#include "common/check.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/constants.hpp"
#include "vmsg/wire/header.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::fuzz {

namespace {

bool in_catalogue(std::string_view rule, transport::RuleCheckPoint where, wire::Layout layout) {
  const auto rows = transport::checked_driver_rules(layout);
  return std::any_of(rows.begin(), rows.end(),
                     [&](const transport::DriverRuleInfo& r) { return r.rule == rule && r.where == where; });
}

/// Transport messages a driver sends towards a device (requests and EVENT_AVAIL).
bool to_device(const wire::Body& b) {
  return !wire::is_bus(b) && !wire::is_response(b) && !std::holds_alternative<wire::EventConfig>(b) &&
         !std::holds_alternative<wire::EventUsed>(b);
}

}  // namespace

std::size_t RuleLogWatch::fresh_count(std::string_view rule) const {
  const auto f = fresh();
  return static_cast<std::size_t>(
      std::count_if(f.begin(), f.end(), [rule](const transport::RuleViolation& v) { return v.rule == rule; }));
}

void RuleLogWatch::check_catalogue(std::optional<std::uint16_t> dev_num) const {
  for (const transport::RuleViolation& v : fresh()) {
    VMSG_FUZZ_CHECK(in_catalogue(v.rule, where_, layout_), "rule log entry '" + transport::to_string(v) +
                                                      "' names no catalogue rule of the " +
                                                      std::string(transport::to_string(where_)) + " check point");
    VMSG_FUZZ_CHECK(!v.kind.empty() && !v.detail.empty(), "rule log entry without kind or detail: " + transport::to_string(v));
    if (dev_num) VMSG_FUZZ_CHECK(v.dev_num == *dev_num, "rule log entry from the wrong device: " + transport::to_string(v));
  }
}

void check_frame_rules(const RuleLogWatch& bus, std::span<const std::uint8_t> frame, std::uint16_t present_dev,
                       wire::Layout layout) {
  const bool rev1 = layout == wire::Layout::Rev1;
  std::vector<std::string> want;
  const auto header = wire::peek_header(frame);
  if (header && header->reserved_bits() != 0) want.emplace_back(rev1 ? "R1-DRV-018" : "VMSG-DRV-009");
  // REV1 only: a transport message with the RESPONSE bit is a driver's reply
  // (R1-DRV-014), judged on the header whether or not the frame decodes.
  const bool reply = rev1 && header && header->is_response() && !header->is_bus();
  const auto decoded = wire::decode(frame, rev1 ? wire::Profile::rev1() : wire::Profile::pr28());
  std::vector<std::string> got;
  for (const auto& v : bus.fresh()) got.push_back(v.rule);
  const auto replies = static_cast<std::size_t>(std::count(got.begin(), got.end(), "R1-DRV-014"));
  VMSG_FUZZ_CHECK(replies == (reply ? 1U : 0U), "driver reply reported " + std::to_string(replies) + " times");
  if (decoded) {
    if (reply) want.emplace_back("R1-DRV-014");
    const auto tail = frame.subspan(std::min<std::size_t>(header->msg_size, frame.size()));
    if (std::any_of(tail.begin(), tail.end(), [](std::uint8_t b) { return b != 0; })) want.emplace_back("AMP-015");
    if (to_device(decoded.value().body) && decoded.value().dev_num != present_dev) {
      want.emplace_back(rev1 ? "R1-DRV-022" : "VMSG-DRV-013");
    }
    // REV1 only: bus messages carry dev_num 0 (R1-GEN-001); PR28 leaves it unchecked.
    if (rev1 && wire::is_bus(decoded.value().body) && decoded.value().dev_num != 0) want.emplace_back("R1-GEN-001");
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    VMSG_FUZZ_CHECK(got == want, "bus rules of a decodable frame: got " + std::to_string(got.size()) + " entries, want " +
                                     std::to_string(want.size()) + (got.empty() ? "" : " (first " + got[0] + ")"));
    return;
  }
  // Undecodable: the reserved-bits report, then at most one size/alignment rule.
  // REV1 has no GET_DEVICES alignment rule (and so no VMSG-BUS-042 counterpart).
  const std::string type_bits = rev1 ? "R1-DRV-018" : "VMSG-DRV-009";
  std::size_t extra = 0;
  for (const std::string& r : got) {
    if (r == type_bits || r == "R1-DRV-014") continue;
    VMSG_FUZZ_CHECK(rev1 ? (r == "R1-DRV-020" || r == "R1-DRV-021")
                         : (r == "VMSG-DRV-011" || r == "VMSG-DRV-012" || r == "VMSG-BUS-042"),
                    "undecodable frame reported under " + r);
    ++extra;
  }
  VMSG_FUZZ_CHECK(extra <= 1, "undecodable frame reported more than once");
  const auto n009 = static_cast<std::size_t>(std::count(got.begin(), got.end(), type_bits));
  VMSG_FUZZ_CHECK(n009 == want.size(), "reserved type bits reported " + std::to_string(n009) + " times, want " +
                                           std::to_string(want.size()));
}

std::vector<std::string_view> rules_broken_alone(const wire::Message& m, const DriverView& view,
                                                const transport::ValidationProfile& profile) {
  // The same rules under both drafts, with the draft's IDs; each profile also has its own.
  const bool rev1 = profile.layout == wire::Layout::Rev1;
  const auto id = [rev1](std::string_view pr28, std::string_view r1) { return rev1 ? r1 : pr28; };
  std::vector<std::string_view> out;
  const wire::Body& b = m.body;
  const bool feature_or_queue = std::holds_alternative<wire::GetDeviceFeaturesReq>(b) ||
                                std::holds_alternative<wire::SetDriverFeaturesReq>(b) ||
                                std::holds_alternative<wire::GetVqueueReq>(b) ||
                                std::holds_alternative<wire::SetVqueueReq>(b) ||
                                std::holds_alternative<wire::ResetVqueueReq>(b);
  if (feature_or_queue && !view.config_size) out.push_back(id("VMSG-DRV-016", "R1-DRV-025"));
  const auto config = [&](std::uint64_t offset, std::uint64_t length, std::string_view beyond) {
    if (!view.config_size) {
      out.push_back(id("VMSG-DRV-021", "R1-DRV-029"));
    } else if (offset + length > *view.config_size) {
      out.push_back(beyond);
    }
  };
  if (const auto* gc = std::get_if<wire::GetConfigReq>(&b)) {
    config(gc->offset, gc->length, id("VMSG-DRV-055", "R1-DRV-053"));
  }
  if (const auto* sc = std::get_if<wire::SetConfigReq>(&b)) {
    config(sc->offset, sc->data.size(), id("VMSG-DRV-057", "R1-DRV-054"));
    // REV1 baseline configuration profile: the driver sends generation 0 (L403-404).
    if (rev1 && !profile.strict_config_generation && sc->generation != 0) out.push_back("R1-DRV-009");
  }
  if (rev1) {
    if (const auto* sv = std::get_if<wire::SetVqueueReq>(&b)) {
      namespace vf = wire::vqueue_flags;
      // L1649-1652: reserved word and flags bits 31..6 zero; state operation 3 reserved.
      if (sv->reserved != 0 || (sv->flags & vf::kReservedMask) != 0) out.push_back("R1-DRV-064");
      if ((sv->flags & vf::kStateOpMask) == vf::kReservedOp) out.push_back("R1-DRV-065");
      // L1659-1660: every address the request applies (its ignore bit clear) is aligned.
      const auto applies = [&](std::uint32_t ignore) { return (sv->flags & ignore) == 0; };
      if ((applies(vf::kIgnoreDesc) && sv->desc_addr % 16 != 0) ||
          (applies(vf::kIgnoreDriver) && sv->driver_addr % 2 != 0) ||
          (applies(vf::kIgnoreDevice) && sv->device_addr % 4 != 0)) {
        out.push_back("R1-DRV-069");
      }
    }
    return out;
  }
  if (const auto* ss = std::get_if<wire::SetDeviceStatusReq>(&b)) {
    if (ss->status != 0 && (ss->status & ~std::uint32_t{0xFF}) != 0) out.push_back("VMSG-DRV-034");
  }
  if (const auto* sv = std::get_if<wire::SetVqueueReq>(&b)) {
    if (sv->flags != 0 || sv->reserved != 0) out.push_back("VMSG-DRV-014");
    if (sv->size == 0 || !std::has_single_bit(sv->size)) out.push_back("VMSG-DRV-060");
    if (sv->desc_addr % 16 != 0 || sv->driver_addr % 2 != 0 || sv->device_addr % 4 != 0) out.push_back("VMSG-DRV-061");
  }
  return out;
}

}  // namespace vmsg::fuzz

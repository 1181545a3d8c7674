// Oracles over the driver-rule logs of the validating peer (fuzz_transport).
//
// The validating endpoint and the bus's frame checks only watch; what they
// record must still make sense:
//  - every entry names a rule of the checked_driver_rules() catalogue, at the
//    check point that recorded it, with a message kind and a detail;
//  - a frame breaks exactly the bus rules its bytes imply (restated here from
//    driver_rule_sink/driver_frame_rules documentation and the catalogue
//    wording, not from the implementation);
//  - a message that reaches the endpoint and is wrong on its own (whatever
//    the driver was told before) is reported under its rule.
// A driver the harness keeps well-behaved must produce no entry at all; that
// check lives in the harness, which knows when it is well-behaved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "vmsg/transport/driver_rules.hpp"
#include "vmsg/transport/validating_endpoint.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::fuzz {

/// Looks at the entries a log gained since the last mark().
class RuleLogWatch {
 public:
  /// `layout`: the draft whose catalogue (checked_driver_rules(layout)) the entries must come from.
  RuleLogWatch(const transport::DriverRuleLog& log, transport::RuleCheckPoint where, wire::Layout layout)
      : log_(log), where_(where), layout_(layout) {}

  [[nodiscard]] std::span<const transport::RuleViolation> fresh() const { return log_.violations().subspan(mark_); }
  [[nodiscard]] std::size_t fresh_count(std::string_view rule) const;
  void mark() noexcept { mark_ = log_.size(); }
  /// Every fresh entry: a catalogue rule of this check point, kind and detail
  /// set, and (when given) from device number `dev_num`.
  void check_catalogue(std::optional<std::uint16_t> dev_num) const;

 private:
  const transport::DriverRuleLog& log_;
  transport::RuleCheckPoint where_;
  wire::Layout layout_;
  std::size_t mark_ = 0;
};

/// The bus rules `frame` breaks on a bus of `layout` when only `present_dev`
/// has a device behind it: exactly these for a frame that decodes; for one
/// that does not, the reserved-bits rule when it applies plus at most one
/// size/alignment rule. The rule IDs are the draft's (VMSG-* or R1-*).
void check_frame_rules(const RuleLogWatch& bus, std::span<const std::uint8_t> frame, std::uint16_t present_dev,
                       wire::Layout layout);

/// What the driver has been shown of GET_DEVICE_INFO (config_size), if anything.
struct DriverView {
  std::optional<std::uint32_t> config_size;
};

/// Rules `m` breaks by itself once it reaches a validating endpoint of
/// `profile` (its own fields, or use before GET_DEVICE_INFO was answered).
[[nodiscard]] std::vector<std::string_view> rules_broken_alone(const wire::Message& m, const DriverView& view,
                                                               const transport::ValidationProfile& profile);

}  // namespace vmsg::fuzz

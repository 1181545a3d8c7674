// Driver-rule violations recorded by the validating reference device, and the
// table of driver rules it checks.
//
// The conformance suite checks driver-side requirements (VMSG-DRV-*, and the
// driver's share of AMP-* and VMSG-BUS-*) by running a driver against the
// reference device with a validator in front of it: the device still answers
// as usual, and every rule the driver breaks lands in a DriverRuleLog. The
// table says which requirement each check evidences, so the suite can tell
// which driver requirements are verified this way and which are not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vmsg/bus/driver_rule_sink.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::transport {

/// One broken driver rule.
struct RuleViolation {
  std::string rule;          ///< requirement ID, e.g. "VMSG-DRV-038"
  std::uint16_t dev_num = 0; ///< device number from the header (0: bus message or register access)
  std::string kind;          ///< message or access, e.g. "EVENT_AVAIL", "NOTIFY write"
  std::string detail;        ///< what exactly was wrong, with the offending values
  friend bool operator==(const RuleViolation&, const RuleViolation&) = default;
};

/// One line for logs and test failures: "VMSG-DRV-038 dev 1 EVENT_AVAIL: ...".
[[nodiscard]] std::string to_string(const RuleViolation& v);

/// Which layer of the reference performs a check.
enum class RuleCheckPoint : std::uint8_t {
  Endpoint,   ///< ValidatingEndpoint: per-device transport state
  Bus,        ///< bus::Bus: malformed frames dropped before any endpoint
  Registers,  ///< amp::AmpPciDevice: BAR0 doorbell misuse
  Backend,    ///< a device type's backend: what a request says (DeviceContext::driver_rule)
};

/// One check of the validating reference: the requirement it evidences and,
/// in our words, what exactly makes the driver fail it.
struct DriverRuleInfo {
  std::string_view rule;
  RuleCheckPoint where;
  std::string_view checks;
};

/// Every check, one row each, ordered by where it runs then by ID, then the
/// virtio core and device-type rows (VIRTIO-*, the same under both profiles,
/// again by check point then ID). A
/// requirement may have several rows (different situations).
[[nodiscard]] std::span<const DriverRuleInfo> checked_driver_rules() noexcept;
/// The checks under `layout`'s profile: the PR28 table above, or the REV1
/// one, whose rows carry R1-* IDs (and AMP-* IDs, which REV1 keeps).
[[nodiscard]] std::span<const DriverRuleInfo> checked_driver_rules(wire::Layout layout) noexcept;
/// Short name of a check point ("endpoint", "bus", "registers", "backend").
[[nodiscard]] std::string_view to_string(RuleCheckPoint p) noexcept;

/// Append-only record of violations, shared by the validating endpoints of a
/// target and (as a bus::DriverRuleSink) by its buses and registers. Not
/// thread-safe, like the rest of the model.
class DriverRuleLog final : public bus::DriverRuleSink {
 public:
  void driver_rule(std::string_view rule, std::uint16_t dev_num, std::string_view kind,
                   std::string_view detail) override;
  void record(RuleViolation v);

  [[nodiscard]] std::span<const RuleViolation> violations() const noexcept { return violations_; }
  [[nodiscard]] std::size_t size() const noexcept { return violations_.size(); }
  [[nodiscard]] bool empty() const noexcept { return violations_.empty(); }
  /// Violations of `rule`.
  [[nodiscard]] std::size_t count(std::string_view rule) const noexcept;
  /// The distinct rule IDs broken so far, sorted.
  [[nodiscard]] std::vector<std::string> rules() const;
  void clear() noexcept { violations_.clear(); }

 private:
  std::vector<RuleViolation> violations_;
};

}  // namespace vmsg::transport

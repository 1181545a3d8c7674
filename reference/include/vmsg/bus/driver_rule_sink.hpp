// Where the device side reports a driver rule the driver broke.
//
// The validating reference (transport/validating_endpoint.hpp) records driver
// violations for the conformance suite. Most rules are visible to the
// transport endpoint, but some only to the layers below it: malformed frames
// the bus drops before any endpoint sees them, and doorbell misuse at the AMP
// registers. Those layers report through this interface, kept in a header of
// its own so the bus and the amp device do not depend on transport.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace vmsg::bus {

/// Receives driver-rule violations. Implementations copy what they keep; the
/// views are only valid during the call.
class DriverRuleSink {
 public:
  virtual ~DriverRuleSink() = default;
  /// `rule`: requirement ID (e.g. "VMSG-DRV-011"); `dev_num`: the header's
  /// device number (0 for bus messages and register accesses); `kind`: the
  /// message or access involved (e.g. "SET_VQUEUE", "NOTIFY write");
  /// `detail`: one line saying what exactly was wrong.
  virtual void driver_rule(std::string_view rule, std::uint16_t dev_num, std::string_view kind,
                           std::string_view detail) = 0;
  /// False for a sink that never reads `detail` (a tally that only counts
  /// rules): reporters then skip building the text (report() below), which
  /// on hostile traffic is most of what a report costs.
  [[nodiscard]] virtual bool wants_detail() const noexcept { return true; }
};

/// Reports to `sink`, calling `make_detail()` (returning something a
/// std::string_view can view) only when the sink reads the detail; an empty
/// detail otherwise.
template <class MakeDetail>
void report(DriverRuleSink& sink, std::string_view rule, std::uint16_t dev_num, std::string_view kind,
            MakeDetail&& make_detail) {
  if (!sink.wants_detail()) {
    sink.driver_rule(rule, dev_num, kind, {});
    return;
  }
  const std::string detail(std::forward<MakeDetail>(make_detail)());
  sink.driver_rule(rule, dev_num, kind, detail);
}

}  // namespace vmsg::bus

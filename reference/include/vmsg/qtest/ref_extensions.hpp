// The reference's answers to vmsg-ref-qtest's extension commands
// (server.hpp): driver-rule violations and stimulus actions.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmsg/qtest/server.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/transport/driver_rules.hpp"

namespace vmsg::qtest {

/// ServerExtensions over a ReferenceSpec it instruments: every device behind
/// a ValidatingEndpoint, the bus and registers reporting into one rule log
/// (as the embedded `ref` target does), and the transports kept for stimuli.
/// Must outlive the target built from the instrumented spec.
class RefExtensions final : public ServerExtensions {
 public:
  /// `spec` with validators in front of its DeviceTransport endpoints (other
  /// endpoints are left alone and get no stimulus) and the rule sink set.
  [[nodiscard]] target::ReferenceSpec instrument(target::ReferenceSpec spec);

  [[nodiscard]] std::vector<std::string> stimulus_verbs() const override { return {"config-change"}; }
  /// ConfigError for a malformed action or a device that is not there.
  bool stimulus(std::string_view action) override;
  std::vector<std::string> take_violations() override;

 private:
  std::shared_ptr<transport::DriverRuleLog> rules_ = std::make_shared<transport::DriverRuleLog>();
  std::map<std::pair<unsigned, unsigned>, std::shared_ptr<transport::DeviceTransport>> transports_;
};

}  // namespace vmsg::qtest

#include "vmsg/qtest/ref_extensions.hpp"

#include "vmsg/common/errors.hpp"
#include "vmsg/devices/stimulus.hpp"
#include "vmsg/transport/validating_endpoint.hpp"

namespace vmsg::qtest {

target::ReferenceSpec RefExtensions::instrument(target::ReferenceSpec spec) {
  spec.amp.bus.rule_sink = rules_.get();
  for (target::DeviceSlot& slot : spec.devices) {
    auto dt = std::dynamic_pointer_cast<transport::DeviceTransport>(slot.endpoint);
    if (!dt) continue;
    transports_[{slot.fifo, slot.dev_num}] = dt;
    slot.endpoint = std::make_shared<transport::ValidatingEndpoint>(dt, rules_);
  }
  return spec;
}

bool RefExtensions::stimulus(std::string_view action) {
  const devices::StimulusAction a = devices::parse_stimulus(action);
  const auto it = transports_.find({a.fifo, a.dev_num});
  if (it == transports_.end()) {
    throw ConfigError("no device " + std::to_string(a.dev_num) + " on fifo " + std::to_string(a.fifo));
  }
  return devices::apply_stimulus(a, it->second->backend());
}

std::vector<std::string> RefExtensions::take_violations() {
  std::vector<std::string> out;
  for (const transport::RuleViolation& v : rules_->violations()) {
    // One line each (vmsg_dut.h format): no newline inside a field.
    std::string line = v.rule + " dev=" + std::to_string(v.dev_num) + " " + v.kind + ": " + v.detail;
    for (char& c : line) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    out.push_back(std::move(line));
  }
  rules_->clear();
  return out;
}

}  // namespace vmsg::qtest

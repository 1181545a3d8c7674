#include "vmsg/qtest/ref_extensions.hpp"

#include <algorithm>

#include "vmsg/common/errors.hpp"
#include "vmsg/devices/balloon.hpp"
#include "vmsg/devices/blk.hpp"
#include "vmsg/devices/stimulus.hpp"
#include "vmsg/transport/validating_endpoint.hpp"

namespace vmsg::qtest {

target::ReferenceSpec RefExtensions::instrument(target::ReferenceSpec spec) {
  spec.amp.bus.rule_sink = rules_.get();
  for (target::DeviceSlot& slot : spec.devices) {
    auto dt = std::dynamic_pointer_cast<transport::DeviceTransport>(slot.endpoint);
    if (!dt) continue;
    transports_[{slot.fifo, slot.dev_num}] = dt;
    dt->set_driver_rule_sink(rules_);  // the device type's driver rules, seen by the backend
    // The rules of the draft the device speaks.
    slot.endpoint = std::make_shared<transport::ValidatingEndpoint>(
        dt, rules_, transport::ValidationProfile{spec.amp.profile.layout, spec.amp.bus.strict_config_generation});
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

void RefExtensions::attach(target::ReferenceTarget& target, const RefArgs& args) {
  target_ = &target;
  ram_bytes_ = args.ram_bytes;
  for (const RefDevice& d : args.devices) {
    if (!d.drive.empty()) nodes_[d.drive] = {d.fifo, d.dev_num};
  }
}

void RefExtensions::balloon(std::int64_t bytes) {
  for (auto& [where, dt] : transports_) {
    auto* b = dynamic_cast<devices::BalloonBackend*>(&dt->backend());
    if (b == nullptr) continue;
    // As QEMU's virtio_balloon_to_target: the balloon takes what the guest
    // must give back, in 4 KiB pages; a target above RAM means an empty balloon.
    const auto target = std::min(static_cast<std::uint64_t>(bytes), ram_bytes_);
    b->set_target(static_cast<std::uint32_t>((ram_bytes_ - target) >> 12));
    return;
  }
  throw QmpError("DeviceNotActive", "No balloon device has been activated");
}

void RefExtensions::block_resize(const std::string& node, std::int64_t bytes) {
  const auto n = nodes_.find(node);
  const auto it = n == nodes_.end() ? transports_.end() : transports_.find(n->second);
  if (it == transports_.end()) {
    throw QmpError("GenericError", "Cannot find device='" + node + "' nor node-name='" + node + "'");
  }
  auto* blk = dynamic_cast<devices::BlkBackend*>(&it->second->backend());
  if (blk == nullptr) throw QmpError("GenericError", "node '" + node + "' is not a virtio-blk medium");
  try {
    blk->resize(static_cast<std::uint64_t>(bytes) / devices::blk::kSectorSize);
  } catch (const ConfigError& e) {
    throw QmpError("GenericError", e.what());
  }
}

void RefExtensions::system_reset() {
  if (target_ == nullptr) throw QmpError("GenericError", "no machine to reset");
  target_->reset();
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

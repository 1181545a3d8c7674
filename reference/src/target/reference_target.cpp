#include "vmsg/target/reference_target.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "vmsg/bus/bus.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/transport/minimal_endpoint.hpp"

namespace vmsg::target {

ReferenceTarget::ReferenceTarget(const ReferenceSpec& spec)
    : spec_(spec),
      machine_(machine::MachineConfig{.ram_size = spec.ram_size, .type = spec.machine}),
      device_(std::make_shared<amp::AmpPciDevice>(spec.amp)) {
  check(spec_.devices);
  plug_all();
  machine_.plug(spec_.address, device_);
}

void ReferenceTarget::check(const std::vector<DeviceSlot>& devices) const {
  // (fifo, dev_num) pairs seen so far; a target has a handful, so a scan is enough.
  std::vector<std::pair<unsigned, std::uint16_t>> taken;
  taken.reserve(devices.size());
  for (const DeviceSlot& d : devices) {
    if (d.fifo >= device_->num_fifos()) {
      throw ConfigError("reference target: device " + std::to_string(d.dev_num) + " on fifo" +
                        std::to_string(d.fifo) + ", but the device has " + std::to_string(device_->num_fifos()) +
                        " FIFO(s)");
    }
    if (!d.endpoint) throw ConfigError("reference target: empty endpoint for device " + std::to_string(d.dev_num));
    const std::pair<unsigned, std::uint16_t> key{d.fifo, d.dev_num};
    if (d.dev_num >= bus::kMaxDevices || std::find(taken.begin(), taken.end(), key) != taken.end()) {
      throw ConfigError("reference target: device number " + std::to_string(d.dev_num) + " on fifo" +
                        std::to_string(d.fifo) + " is out of range or taken twice");
    }
    taken.push_back(key);
    // A transport of the other draft would answer in fields the bus cannot
    // encode (every response lost), or with the wrong generation rule.
    if (const auto* dt = dynamic_cast<const transport::DeviceTransport*>(d.endpoint.get())) {
      const transport::TransportOptions& o = dt->options();
      const bool rev1 = spec_.amp.profile.layout == wire::Layout::Rev1;
      if (o.layout != spec_.amp.profile.layout ||
          (rev1 && o.strict_config_generation != spec_.amp.bus.strict_config_generation)) {
        throw ConfigError("reference target: device " + std::to_string(d.dev_num) + " on fifo" +
                          std::to_string(d.fifo) + " was built for another wire or configuration profile than the "
                          "amp device (" + std::string(spec_.amp.profile.name()) + ")");
      }
    }
    if (const auto* me = dynamic_cast<const transport::MinimalEndpoint*>(d.endpoint.get())) {
      if (me->layout() != spec_.amp.profile.layout) {
        throw ConfigError("reference target: minimal endpoint " + std::to_string(d.dev_num) + " on fifo" +
                          std::to_string(d.fifo) + " answers in another wire profile than the amp device (" +
                          std::string(spec_.amp.profile.name()) + ")");
      }
    }
  }
}

void ReferenceTarget::plug_all() {
  for (const DeviceSlot& d : spec_.devices) device_->plug(d.fifo, d.dev_num, *d.endpoint);
}

void ReferenceTarget::reset() {
  machine_.reset();
  device_->reset();
  plug_all();
}

void ReferenceTarget::reset(std::vector<DeviceSlot> devices) {
  check(devices);
  spec_.devices = std::move(devices);
  reset();
}

}  // namespace vmsg::target

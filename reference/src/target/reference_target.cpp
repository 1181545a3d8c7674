#include "vmsg/target/reference_target.hpp"

#include <string>
#include <utility>

#include "vmsg/bus/bus.hpp"
#include "vmsg/common/errors.hpp"

namespace vmsg::target {

ReferenceTarget::ReferenceTarget(const ReferenceSpec& spec)
    : spec_(spec),
      machine_(machine::MachineConfig{.ram_size = spec.ram_size}),
      device_(std::make_shared<amp::AmpPciDevice>(spec.amp)) {
  check(spec_.devices);
  plug_all();
  machine_.plug(spec_.address, device_);
}

void ReferenceTarget::check(const std::vector<DeviceSlot>& devices) const {
  std::vector<std::vector<bool>> taken(device_->num_fifos(), std::vector<bool>(bus::kMaxDevices, false));
  for (const DeviceSlot& d : devices) {
    if (d.fifo >= device_->num_fifos()) {
      throw ConfigError("reference target: device " + std::to_string(d.dev_num) + " on fifo" +
                        std::to_string(d.fifo) + ", but the device has " + std::to_string(device_->num_fifos()) +
                        " FIFO(s)");
    }
    if (!d.endpoint) throw ConfigError("reference target: empty endpoint for device " + std::to_string(d.dev_num));
    if (d.dev_num >= bus::kMaxDevices || taken[d.fifo][d.dev_num]) {
      throw ConfigError("reference target: device number " + std::to_string(d.dev_num) + " on fifo" +
                        std::to_string(d.fifo) + " is out of range or taken twice");
    }
    taken[d.fifo][d.dev_num] = true;
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

#include "vmsg/target/reference_target.hpp"

#include <string>

#include "vmsg/common/errors.hpp"

namespace vmsg::target {

ReferenceTarget::ReferenceTarget(const ReferenceSpec& spec)
    : spec_(spec),
      machine_(machine::MachineConfig{.ram_size = spec.ram_size}),
      device_(std::make_shared<amp::AmpPciDevice>(spec.amp)) {
  for (const DeviceSlot& d : spec_.devices) {
    if (d.fifo >= device_->num_fifos()) {
      throw ConfigError("reference target: device " + std::to_string(d.dev_num) + " on fifo" +
                        std::to_string(d.fifo) + ", but the device has " + std::to_string(device_->num_fifos()) +
                        " FIFO(s)");
    }
    if (!d.endpoint) throw ConfigError("reference target: empty endpoint for device " + std::to_string(d.dev_num));
    device_->plug(d.fifo, d.dev_num, *d.endpoint);
  }
  machine_.plug(spec_.address, device_);
}

}  // namespace vmsg::target

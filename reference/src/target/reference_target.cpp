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

void ReferenceTarget::unplug_devices() noexcept {
  for (unsigned q = 0; q < device_->num_fifos(); ++q) device_->bus(q).unplug_all();
  // Its storage as well as its elements: a fuzz run that unplugs must free
  // all it allocated (libFuzzer runs it again otherwise, as a leak suspect).
  std::vector<DeviceSlot>().swap(spec_.devices);
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

struct TargetSnapshot::Data {
  /// Identifies the target: a weak reference keeps the device's control
  /// block, so no other device can ever compare equal to it.
  std::weak_ptr<amp::AmpPciDevice> owner;
  SnapshotScope scope = SnapshotScope::Everything;
  std::vector<DeviceSlot> devices;  ///< keeps the saved endpoints alive
  machine::Machine::State machine;
  amp::AmpPciDevice::State device;
  std::vector<snapshot::Handle> endpoints;  ///< per devices[i]; empty WithoutEndpoints
};

SnapshotScope TargetSnapshot::scope() const noexcept { return data_ ? data_->scope : SnapshotScope::Everything; }
std::size_t TargetSnapshot::ram_bytes() const noexcept { return data_ ? data_->machine.ram.bytes() : 0; }

ReferenceTarget::Snapshot ReferenceTarget::save(SnapshotScope scope) {
  auto d = std::make_shared<TargetSnapshot::Data>();
  d->owner = device_;
  d->scope = scope;
  d->devices = spec_.devices;
  if (scope == SnapshotScope::Everything) {
    // Endpoints first: one that refuses must leave the target (and its RAM mark) as it was.
    d->endpoints.reserve(d->devices.size());
    for (const DeviceSlot& slot : d->devices) d->endpoints.push_back(slot.endpoint->save_state());
  }
  d->device = device_->save();
  d->machine = machine_.save();
  Snapshot s;
  s.data_ = std::move(d);
  return s;
}

void ReferenceTarget::check_own(const Snapshot& s) const {
  const std::weak_ptr<amp::AmpPciDevice>& o = s.data_ ? s.data_->owner : std::weak_ptr<amp::AmpPciDevice>{};
  if (!s.data_ || o.owner_before(device_) || device_.owner_before(o)) {
    throw SnapshotError("reference target: the snapshot was taken of another target");
  }
}

void ReferenceTarget::restore(const Snapshot& s) {
  check_own(s);
  const TargetSnapshot::Data& d = *s.data_;
  if (d.scope != SnapshotScope::Everything) {
    throw SnapshotError("reference target: a snapshot without endpoint states needs a device list to restore");
  }
  machine_.restore(d.machine);
  device_->restore(d.device, true);
  for (std::size_t i = 0; i < d.devices.size(); ++i) d.devices[i].endpoint->restore_state(d.endpoints[i]);
  spec_.devices = d.devices;
}

void ReferenceTarget::restore(const Snapshot& s, std::vector<DeviceSlot> devices) {
  check_own(s);
  check(devices);
  const TargetSnapshot::Data& d = *s.data_;
  for (const amp::FifoChannel::State& c : d.device.channels) {
    if (!c.quiet()) {
      throw SnapshotError("reference target: the snapshot's buses carried frames, so its endpoints are part of "
                          "the state; restore it with its own endpoints");
    }
  }
  if (spec_.amp.bus.announce_hotplug) {
    throw SnapshotError("reference target: with announce_hotplug a plug is traffic; restore with the snapshot's "
                        "endpoints");
  }
  machine_.restore(d.machine);
  for (unsigned q = 0; q < device_->num_fifos(); ++q) device_->bus(q).unplug_all();
  device_->restore(d.device, false);
  spec_.devices = std::move(devices);
  plug_all();
}

}  // namespace vmsg::target

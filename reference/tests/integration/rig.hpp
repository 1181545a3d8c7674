// A whole target for integration tests: the in-process machine with an
// amp-pci device at 00:04.0 (as in the qtest command lines of
// qemu-observed.md), minimal devices behind chosen device numbers, and the
// driver opened through the port.
#pragma once

#include <memory>
#include <vector>

#include "vmsg/amp/amp_device.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/machine/machine.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/minimal_endpoint.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::test {

/// Which device numbers to populate on which FIFO.
struct RigSpec {
  amp::AmpConfig amp{};
  std::vector<std::vector<std::uint16_t>> devices{{0}};  ///< per FIFO
  std::uint64_t ram_size = 16ULL << 20;                  ///< small: ASan pays per machine
  bool open_driver = true;
  driver::AmpDriverOptions driver{};
};

/// Reference target + driver, owned together.
struct Rig {
  explicit Rig(const RigSpec& spec = {})
      : target(make_spec(spec)),
        machine(target.machine()),
        device(target.device()),
        ram(machine.address_map()),
        window(machine.address_map()) {
    if (spec.open_driver) drv.emplace(driver::AmpDriver::open(machine, ram, window, spec.driver));
  }

  static target::ReferenceSpec make_spec(const RigSpec& spec) {
    target::ReferenceSpec t{.amp = spec.amp, .devices = {}, .ram_size = spec.ram_size, .address = kAddr};
    for (unsigned q = 0; q < spec.devices.size(); ++q) {
      for (std::uint16_t n : spec.devices[q]) {
        t.devices.push_back({q, n, std::make_shared<transport::MinimalEndpoint>(
                                       transport::MinimalIdentity{.device_id = 100u + q * 32u + n},
                                       spec.amp.profile.layout)});
      }
    }
    return t;
  }

  driver::FifoLink& link(unsigned q = 0) { return drv->fifo(q); }

  static constexpr port::PciAddress kAddr{0, 4, 0};
  target::ReferenceTarget target;
  machine::Machine& machine;
  amp::AmpPciDevice& device;
  driver::GuestAllocator ram;
  driver::BarWindowAllocator window;
  std::optional<driver::AmpDriver> drv;
};

/// Message builders.
inline wire::Message ping(std::uint32_t data, std::uint16_t token = 0) {
  return wire::Message{.dev_num = 0, .token = token, .reserved_type_bits = 0, .body = wire::PingReq{data}};
}
inline wire::Message to_dev(std::uint16_t dev, wire::Body body, std::uint16_t token = 0) {
  return wire::Message{.dev_num = dev, .token = token, .reserved_type_bits = 0, .body = std::move(body)};
}
/// Encoded frame of a message under the default profile.
inline std::vector<std::uint8_t> frame(const wire::Message& m) {
  return wire::encode(m, wire::Profile::pr28()).value();
}

}  // namespace vmsg::test

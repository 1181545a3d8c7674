// End-to-end rig: the reference target with real virtio devices
// (DeviceTransport + rng/blk/balloon backends) behind its FIFOs, and the
// driver stack (AmpDriver -> BusDriver per FIFO -> TransportDriver per
// device) opened through the port, as it would be against QEMU.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vmsg/common/faults.hpp"
#include "vmsg/devices/balloon.hpp"
#include "vmsg/devices/blk.hpp"
#include "vmsg/devices/rng.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/driver/bus_driver.hpp"
#include "vmsg/driver/transport_driver.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/device_transport.hpp"

namespace vmsg::e2e {

/// One device to plug: where, and its transport (the test keeps a handle to
/// look at the device side afterwards).
struct Plug {
  unsigned fifo = 0;
  std::uint16_t dev = 0;
  std::shared_ptr<transport::DeviceTransport> device;
};

template <typename B, typename... Args>
std::shared_ptr<transport::DeviceTransport> make_device(Args&&... args) {
  return std::make_shared<transport::DeviceTransport>(std::make_unique<B>(std::forward<Args>(args)...));
}

/// make_device with transport fault modes switched on.
template <typename B, typename... Args>
std::shared_ptr<transport::DeviceTransport> make_faulty_device(fault::FaultSet faults, Args&&... args) {
  return std::make_shared<transport::DeviceTransport>(std::make_unique<B>(std::forward<Args>(args)...),
                                                      transport::TransportOptions{.faults = faults});
}

/// The backend behind a device made by make_device.
template <typename B>
B& backend(const std::shared_ptr<transport::DeviceTransport>& d) {
  return static_cast<B&>(d->backend());
}

/// BlkOptions by assignment (its optional blk_size has no default member
/// initializer, so designated initializers would have to spell it out).
inline devices::BlkOptions blk_options(std::uint64_t sectors, std::string serial = "vmsg-blk", bool read_only = false) {
  devices::BlkOptions o;
  o.capacity_sectors = sectors;
  o.serial = std::move(serial);
  o.read_only = read_only;
  return o;
}

/// Target + driver stack, owned together.
struct Rig {
  /// `amp_faults`: fault modes of the amp device and its buses (the
  /// transports take theirs from their own options).
  explicit Rig(const std::vector<Plug>& plugs, unsigned fifos = 1, std::uint64_t ram_size = 32ULL << 20,
               fault::FaultSet amp_faults = {})
      : target(spec(plugs, fifos, ram_size, amp_faults)),
        machine(target.machine()),
        ram(machine.address_map()),
        window(machine.address_map()) {
    drv.emplace(driver::AmpDriver::open(machine, ram, window));
    for (unsigned f = 0; f < drv->num_fifos(); ++f) buses.push_back(std::make_unique<driver::BusDriver>(drv->fifo(f)));
  }

  static target::ReferenceSpec spec(const std::vector<Plug>& plugs, unsigned fifos, std::uint64_t ram_size,
                                    fault::FaultSet amp_faults) {
    target::ReferenceSpec s;
    s.amp.num_fifos = fifos;
    s.amp.faults = amp_faults;
    s.ram_size = ram_size;
    for (const Plug& p : plugs) s.devices.push_back({p.fifo, p.dev, p.device});
    return s;
  }

  driver::BusDriver& bus(unsigned fifo = 0) { return *buses.at(fifo); }
  driver::FifoLink& link(unsigned fifo = 0) { return drv->fifo(fifo); }

  target::ReferenceTarget target;
  machine::Machine& machine;
  driver::GuestAllocator ram;
  driver::BarWindowAllocator window;
  std::optional<driver::AmpDriver> drv;
  std::vector<std::unique_ptr<driver::BusDriver>> buses;
};

/// The error code of a result, or nullopt when it succeeded (so a test can
/// assert on it without aborting when the call unexpectedly worked).
template <typename R>
[[nodiscard]] std::optional<driver::VirtioErrc> errc(const R& r) {
  if (r.ok()) return std::nullopt;
  return r.error().code;
}

/// Deterministic, position-dependent test data (no two 512-byte sectors alike).
inline std::vector<std::uint8_t> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> v(n);
  std::uint32_t x = seed * 2654435761U + 1;
  for (auto& b : v) {
    x = x * 1664525U + 1013904223U;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return v;
}

}  // namespace vmsg::e2e

// The embedded reference target: the in-process machine with one
// virtio-msg-amp-pci function and devices behind its buses, ready to be
// driven through its port exactly like QEMU over qtest.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "vmsg/amp/amp_device.hpp"
#include "vmsg/bus/endpoint.hpp"
#include "vmsg/machine/machine.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::target {

/// One device behind the amp function: where it sits and what it is.
struct DeviceSlot {
  unsigned fifo = 0;
  std::uint16_t dev_num = 0;
  std::shared_ptr<bus::Endpoint> endpoint;
};

/// What to build. The wire profile is amp.profile (PR28 by default,
/// wire::Profile::rev1() for REV1-2026) and the configuration semantics
/// profile amp.bus.strict_config_generation; DeviceTransport endpoints must be
/// built for them: transport::options_for_bus(amp.profile, amp.bus, faults).
struct ReferenceSpec {
  amp::AmpConfig amp{};
  std::vector<DeviceSlot> devices;
  std::uint64_t ram_size = 128ULL << 20;
  machine::MachineType machine = machine::MachineType::Q35;
  /// As `-device virtio-msg-amp-pci,addr=04.0`; not one of the platform's
  /// addresses (machine/q35_platform.hpp, virt_platform.hpp), which the
  /// machine always holds.
  port::PciAddress address{0, 4, 0};
};

/// Machine + amp device + endpoints, owned together. The port is the machine.
/// Not copyable or movable (the device holds references into itself).
class ReferenceTarget {
 public:
  /// Throws vmsg::ConfigError for an invalid spec (bad num_fifos, a slot on a
  /// FIFO that does not exist, a device number taken twice or >= 32, an
  /// address the chipset holds, a DeviceTransport built for another layout
  /// or configuration profile than amp's).
  explicit ReferenceTarget(const ReferenceSpec& spec);
  ReferenceTarget(const ReferenceTarget&) = delete;
  ReferenceTarget& operator=(const ReferenceTarget&) = delete;

  /// Back to power-on without rebuilding: machine RAM zeroed (only the pages
  /// written since the last reset), clock, stats and MSI log cleared; the amp
  /// function's config space, MSI-X, FIFO RAM, channels and buses as built
  /// (amp::AmpPciDevice::reset); the spec's endpoints plugged again. Endpoints
  /// are re-attached, not reset: pass fresh ones when they hold state.
  void reset();
  /// Likewise, with `devices` replacing the spec's device list (same checks as
  /// the constructor, made before anything is reset; ConfigError leaves the
  /// target untouched). The amp configuration and RAM size are kept.
  void reset(std::vector<DeviceSlot> devices);

  [[nodiscard]] port::Port& port() noexcept { return machine_; }
  [[nodiscard]] machine::Machine& machine() noexcept { return machine_; }
  [[nodiscard]] amp::AmpPciDevice& device() noexcept { return *device_; }
  [[nodiscard]] const ReferenceSpec& spec() const noexcept { return spec_; }

 private:
  /// ConfigError unless every slot names an existing FIFO, an endpoint, and a
  /// device number < 32 not used twice on its FIFO, and every DeviceTransport
  /// speaks the amp profile.
  void check(const std::vector<DeviceSlot>& devices) const;
  void plug_all();

  ReferenceSpec spec_;
  machine::Machine machine_;
  std::shared_ptr<amp::AmpPciDevice> device_;
};

}  // namespace vmsg::target

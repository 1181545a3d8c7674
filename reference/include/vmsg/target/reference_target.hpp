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

/// What ReferenceTarget::save takes.
enum class SnapshotScope : std::uint8_t {
  Everything,        ///< machine, function and every endpoint's state (restore() and restore(devices))
  WithoutEndpoints,  ///< machine and function only (restore(devices) only); never refused
};

/// A ReferenceTarget's state at one instant (ReferenceTarget::save). Opaque;
/// a value: copies share the saved bytes. It keeps the endpoints plugged
/// then alive, and restores only into the target that took it.
class TargetSnapshot {
 public:
  [[nodiscard]] SnapshotScope scope() const noexcept;
  /// Guest RAM bytes it holds (the pages written since the last clear).
  [[nodiscard]] std::size_t ram_bytes() const noexcept;

 private:
  friend class ReferenceTarget;
  struct Data;
  std::shared_ptr<const Data> data_;
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

  using Snapshot = TargetSnapshot;
  /// The whole state (machine with RAM, clock, stats, MSI log and crash
  /// state; the amp function; with SnapshotScope::Everything every
  /// endpoint's own state) and which endpoints sit where. Marks guest RAM
  /// (GuestRam::save): a later restore of this snapshot copies back only the
  /// pages written since. Throws vmsg::SnapshotError when an endpoint cannot
  /// save its state (bus::Endpoint::save_state); the caller may fall back to
  /// reset(), or to SnapshotScope::WithoutEndpoints.
  [[nodiscard]] Snapshot save(SnapshotScope scope = SnapshotScope::Everything);
  /// Back to the saved instant: indistinguishable through the port, and in
  /// every counter, from the target then. The snapshot's endpoints go back
  /// into their slots with their saved state (the same objects: callers'
  /// pointers stay valid) and become the spec's device list. Much cheaper
  /// than reset() and a replay: RAM by dirty page, the rest by value.
  /// Throws vmsg::SnapshotError, target untouched, for a snapshot of another
  /// target or one taken WithoutEndpoints.
  void restore(const Snapshot& s);
  /// Machine and function as saved, with `devices` (fresh endpoints, checked
  /// as by the constructor) plugged instead of the saved ones: a fresh target
  /// built with `devices` after the same port operations, provided those
  /// never reached an endpoint. So the snapshot must show no frame on any bus
  /// (nothing received, sent or waiting) and no hotplug announcements; else
  /// SnapshotError, as for a foreign snapshot (ConfigError for bad devices),
  /// target untouched.
  void restore(const Snapshot& s, std::vector<DeviceSlot> devices);

  /// Unplugs every endpoint and drops the target's references to them (the
  /// spec's device list becomes empty), so they go now rather than at the
  /// next reset or restore: a caller reusing the target per run (a fuzzer)
  /// frees within the run what it allocated for it. Until devices come back
  /// (reset(devices), restore(s, devices)) the buses have nothing plugged.
  void unplug_devices() noexcept;

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
  /// SnapshotError unless `s` was taken of this target.
  void check_own(const Snapshot& s) const;

  ReferenceSpec spec_;
  machine::Machine machine_;
  std::shared_ptr<amp::AmpPciDevice> device_;
};

}  // namespace vmsg::target

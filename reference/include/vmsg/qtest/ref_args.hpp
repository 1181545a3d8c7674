// The command line of vmsg-ref-qtest: a QEMU-like subset, parsed into what
// the reference target needs (amp-pci-device.md §8: device options and bus
// paths). Pure; the tool builds the target and serves the socket.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vmsg/common/faults.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/machine/platform.hpp"
#include "vmsg/port/port.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::qtest {

/// One virtio device from `-device virtio-*-device,...`.
struct RefDevice {
  std::string kind;               ///< "virtio-rng-device", ...
  unsigned fifo = 0;
  std::uint16_t dev_num = 0;
  devices::DeviceProps props;     ///< backend properties (bus, id, rng and drive removed)
  std::string drive;              ///< virtio-blk's drive=NODE: the name QMP's block_resize uses
};

/// Everything the command line asked for.
struct RefArgs {
  std::string qtest_socket;        ///< from -qtest unix:PATH
  std::string qmp_socket;          ///< from -qmp unix:PATH,server=on,wait=off (empty: no QMP)
  bool list_devices = false;       ///< -device help
  bool list_accels = false;        ///< -accel help
  bool list_machines = false;      ///< -M help
  machine::MachineType machine = machine::MachineType::Q35;  ///< -M q35 (the default) or -M virt
  std::uint64_t ram_bytes = 128ULL << 20;  ///< -m
  bool has_amp = false;
  unsigned num_fifos = 1;
  port::PciAddress amp_address{0, 4, 0};  ///< addr=04.0 unless given
  std::string amp_id;
  wire::Profile profile = wire::Profile::pr28();  ///< profile=pr28|rev1-2026 on the amp device
  bool strict_config_generation = false;           ///< strict-config-generation=on|off on the amp device
  std::vector<RefDevice> devices;
  fault::FaultSet faults;          ///< --fault NAME[,NAME...] (repeatable)
};

/// Parses the arguments after argv[0]. Throws vmsg::ConfigError with a
/// message naming the option it cannot honour. Accepted and ignored:
/// -display none, -nodefaults, -S, -accel X, -machine/-M accel=..., -qtest-log,
/// -nographic, -no-shutdown, -no-reboot, -cpu X. Virtio devices without bus= take the
/// highest free device number of fifo0 (31 first, as QEMU places them). An
/// absolute bus= path that starts at a host bridge must name the machine's
/// own (machine::host_bridge_name): QEMU's virt has no q35-pcihost.
[[nodiscard]] RefArgs parse_ref_args(std::span<const std::string> args);

/// The devices and amp options as a ReferenceSpec (backends built here).
/// Throws ConfigError (from the device factory) for unusable properties.
[[nodiscard]] target::ReferenceSpec make_spec(const RefArgs& a);

/// What `-device help` prints: one line per device the tool can build.
[[nodiscard]] std::string device_help();

/// What `-M help` prints: the machine types, in QEMU's format.
[[nodiscard]] std::string machine_help();

}  // namespace vmsg::qtest

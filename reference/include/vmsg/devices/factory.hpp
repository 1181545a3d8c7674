// Builds a device backend from a QEMU-style device name and properties, e.g.
// -device virtio-blk-device,capacity=4M,read_only=on.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmsg/transport/backend.hpp"

namespace vmsg::devices {

/// Device properties by name (values as written on a command line).
using DeviceProps = std::map<std::string, std::string>;

/// Builds the backend `kind` from `props`. Kinds and properties:
///   virtio-rng-device      seed=<u64>
///   virtio-blk-device      capacity=<sectors> | <n>K|M|G (bytes),
///                          read_only=on|off, blk_size=<u32>, seg_max=<u32>, serial=<str ≤ 20>
///   virtio-balloon-device  target=<u32 pages>
/// and for every kind queue-size=<power of two in 1..32768>, the maximum that
/// GET_VQUEUE reports for each of the device's queues (defaults: rng 256,
/// blk 256, balloon 128; QEMU's are 8, 256 and 128). Also for every kind, the
/// reference's own extra-features=<u64 mask> (bits offered besides the type's,
/// in 0-23 or 50-63) and config-pad=<u32 bytes> (zeros past the type's config
/// fields): a device newer than its drivers (UnknownExtrasBackend).
/// Numbers are decimal or 0x-prefixed hex; booleans on/off, true/false, yes/no, 1/0.
/// Throws ConfigError naming the kind, property or value it cannot use.
[[nodiscard]] std::unique_ptr<transport::Backend> make_backend(std::string_view kind, const DeviceProps& props = {});

/// The kinds make_backend accepts, in a stable order.
[[nodiscard]] std::vector<std::string_view> backend_kinds();

}  // namespace vmsg::devices

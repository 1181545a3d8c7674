// The configuration string every DUT library takes (syntax documented in
// vmsg_dut.h): parsed into a DutConfig, and written back from one, so the
// host side and the reference library agree on one grammar.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vmsg/common/faults.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::dut {

/// One `device=KIND,fifo=F,dev=N[,PROP=VALUE...]` token.
struct DutDevice {
  std::string kind;                          ///< QEMU device name, e.g. "virtio-rng-device"
  unsigned fifo = 0;
  std::uint16_t dev_num = 0;
  std::map<std::string, std::string> props;  ///< the remaining PROP=VALUE pairs, for the backend
  friend bool operator==(const DutDevice&, const DutDevice&) = default;
};

/// Everything a configuration string asks for.
struct DutConfig {
  unsigned num_fifos = 1;
  port::PciAddress address{0, 4, 0};
  std::string profile = "pr28";  ///< wire profile name; which ones a library builds is its business
  /// `strict-config-generation=on`: the buses advertise REV1's
  /// VIRTIO_MSG_F_STRICT_CONFIG_GENERATION (meaningful under rev1-2026 only).
  bool strict_config_generation = false;
  fault::FaultSet faults;
  std::vector<DutDevice> devices;
  friend bool operator==(const DutConfig&, const DutConfig&) = default;
};

/// Parses a configuration string. Throws vmsg::ConfigError naming the token
/// it cannot use: an unknown key, a malformed number, a device without fifo=
/// or dev=, a device number above 31, the same fifo/dev twice, an unknown
/// fault. Checks of what a particular library can build (num_fifos values,
/// device kinds, properties) are left to that library.
[[nodiscard]] DutConfig parse_config(std::string_view text);

/// The topology the reference library builds for a configuration that names
/// none (no num-fifos=, no device= token): the `ref` target's
/// (conformance/vmsg_conform/targets/ref.toml), so the empty string, which
/// the ABI defines as the library's default, gives a device a driver can
/// discover devices on.
inline constexpr std::string_view kReferenceDefaultTopology =
    "num-fifos=2 device=virtio-rng-device,fifo=0,dev=1 device=virtio-blk-device,fifo=0,dev=2,capacity=1M "
    "device=virtio-balloon-device,fifo=1,dev=1";

/// What the reference library builds from `text`: parse_config(text), with
/// the FIFOs and devices of kReferenceDefaultTopology when `text` names no
/// topology. Throws what parse_config throws.
[[nodiscard]] DutConfig parse_reference_config(std::string_view text);

/// The canonical string for `config`; parse_config(format_config(c)) == c.
/// Throws vmsg::ConfigError for a configuration no string can express.
[[nodiscard]] std::string format_config(const DutConfig& config);

}  // namespace vmsg::dut

// q35's own PCI functions. QEMU puts them on bus 0 whatever the command line
// asks for (-nodefaults included), so a bus-0 scan on QEMU finds them before
// the device under test; a reference machine without them would answer the
// same scan differently (qemu-observed.md §9).
#pragma once

#include <vector>

#include "vmsg/machine/platform.hpp"

namespace vmsg::machine {

/// Freshly built read-only functions (pci::FixedFunction), in address order:
///   00:00.0 MCH host bridge 8086:29C0, 00:1f.0 ICH9 LPC 8086:2918,
///   00:1f.2 ICH9 AHCI 8086:2922, 00:1f.3 ICH9 SMBus 8086:2930.
/// The IDs are the ones QEMU answered; revision, class code, subsystem IDs
/// and the multi-function bit of 00:1f.x follow QEMU's sources.
[[nodiscard]] std::vector<PlatformFunction> q35_platform();

}  // namespace vmsg::machine

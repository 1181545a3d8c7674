// arm virt's own PCI function: the gpex host bridge, which QEMU puts at
// 00:00.0 on pcie.0 whatever the command line asks for (-nodefaults
// included). Unlike q35 there is nothing else: no ISA bridge, no AHCI.
#pragma once

#include <vector>

#include "vmsg/machine/platform.hpp"

namespace vmsg::machine {

/// Freshly built read-only functions (pci::FixedFunction):
///   00:00.0 gpex host bridge 1b36:0008, class 0x060000, revision 0,
///   subsystem 1af4:1100, single function.
/// As Debian's QEMU 7.2 answered them through the ECAM at 0x4010000000.
[[nodiscard]] std::vector<PlatformFunction> virt_platform();

}  // namespace vmsg::machine

#include "vmsg/machine/virt_platform.hpp"

#include <cstdint>

#include "vmsg/pci/fixed_function.hpp"

namespace vmsg::machine {

namespace {

// QEMU's own PCI IDs (Red Hat, Inc.): docs/specs/pci-ids.rst, PCI_DEVICE_ID_REDHAT_PCIE_HOST.
constexpr std::uint16_t kRedHat = 0x1B36;
constexpr std::uint16_t kGpexHost = 0x0008;
constexpr std::uint32_t kClassHostBridge = 0x060000;

}  // namespace

std::vector<PlatformFunction> virt_platform() {
  const pci::PciIdentity id{.vendor_id = kRedHat,
                            .device_id = kGpexHost,
                            .revision = 0x00,
                            .class_code = kClassHostBridge,
                            .subsystem_vendor_id = kQemuSubsystemVendor,
                            .subsystem_id = kQemuSubsystem};
  std::vector<PlatformFunction> out;
  out.push_back({{0, 0, 0}, std::make_shared<pci::FixedFunction>(id, false)});
  return out;
}

}  // namespace vmsg::machine

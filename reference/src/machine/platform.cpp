#include "vmsg/machine/platform.hpp"

#include "vmsg/machine/q35_platform.hpp"
#include "vmsg/machine/virt_platform.hpp"

namespace vmsg::machine {

std::string_view to_string(MachineType m) noexcept { return m == MachineType::Q35 ? "q35" : "virt"; }

std::optional<MachineType> machine_type_named(std::string_view name) noexcept {
  // QEMU's versioned aliases (pc-q35-7.2, virt-7.2) are the same board.
  if (name == "q35" || name.rfind("pc-q35-", 0) == 0) return MachineType::Q35;
  if (name == "virt" || name.rfind("virt-", 0) == 0) return MachineType::ArmVirt;
  return std::nullopt;
}

std::string_view host_bridge_name(MachineType m) noexcept {
  return m == MachineType::Q35 ? "q35-pcihost" : "gpex-pcihost";
}

const PlatformLayout& layout_of(MachineType m) noexcept {
  return m == MachineType::Q35 ? kQ35Layout : kArmVirtLayout;
}

std::vector<PlatformFunction> platform_functions(MachineType m) {
  return m == MachineType::Q35 ? q35_platform() : virt_platform();
}

}  // namespace vmsg::machine

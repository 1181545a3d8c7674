#include "vmsg/machine/q35_platform.hpp"

#include <cstdint>

#include "vmsg/pci/fixed_function.hpp"

namespace vmsg::machine {

namespace {

constexpr std::uint16_t kIntel = 0x8086;

struct Entry {
  port::PciAddress address;
  std::uint16_t device_id;
  std::uint8_t revision;
  std::uint32_t class_code;
  bool multi_function;  // the ICH9 functions share device 0x1f
};

constexpr Entry kQ35[] = {
    {{0, 0x00, 0}, 0x29C0, 0x00, 0x060000, false},  // MCH: host bridge
    {{0, 0x1F, 0}, 0x2918, 0x02, 0x060100, true},   // ICH9 LPC: ISA bridge
    {{0, 0x1F, 2}, 0x2922, 0x02, 0x010601, true},   // ICH9 AHCI: SATA, AHCI 1.0
    {{0, 0x1F, 3}, 0x2930, 0x02, 0x0C0500, true},   // ICH9 SMBus
};

}  // namespace

std::vector<PlatformFunction> q35_platform() {
  std::vector<PlatformFunction> out;
  out.reserve(std::size(kQ35));
  for (const Entry& e : kQ35) {
    const pci::PciIdentity id{.vendor_id = kIntel,
                              .device_id = e.device_id,
                              .revision = e.revision,
                              .class_code = e.class_code,
                              .subsystem_vendor_id = kQemuSubsystemVendor,
                              .subsystem_id = kQemuSubsystem};
    out.push_back({e.address, std::make_shared<pci::FixedFunction>(id, e.multi_function)});
  }
  return out;
}

}  // namespace vmsg::machine

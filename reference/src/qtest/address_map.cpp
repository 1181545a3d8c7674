#include "vmsg/qtest/address_map.hpp"

#include <algorithm>

namespace vmsg::qtest {
namespace {
constexpr std::uint64_t kDriverOffset = 1ULL << 20;
}

std::string_view to_string(MachineType m) noexcept {
  return m == MachineType::Q35 ? "q35" : "virt";
}

MachineLayout layout_for(MachineType m, std::uint64_t ram_bytes) {
  MachineLayout l;
  if (m == MachineType::Q35) {
    // Low RAM on q35 stops at 2 GiB (the rest goes above 4 GiB); the driver only uses low RAM.
    const std::uint64_t low = std::min<std::uint64_t>(ram_bytes, 0x8000'0000ULL);
    l.map.ram_base = kDriverOffset;
    l.map.ram_size = low > kDriverOffset ? low - kDriverOffset : 0;
    l.map.mmio_base = 0xE000'0000ULL;
    l.map.mmio_size = 0xFEC0'0000ULL - 0xE000'0000ULL;  // up to the IOAPIC
  } else {
    l.map.ram_base = 0x4000'0000ULL + kDriverOffset;
    l.map.ram_size = ram_bytes > kDriverOffset ? ram_bytes - kDriverOffset : 0;
    l.map.mmio_base = 0x1000'0000ULL;
    l.map.mmio_size = 0x3EFF'0000ULL - 0x1000'0000ULL;  // virt's 32-bit PCI MMIO window
    l.ecam_base = 0x40'1000'0000ULL;
  }
  return l;
}

}  // namespace vmsg::qtest

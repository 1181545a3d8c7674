#include "vmsg/qtest/address_map.hpp"

#include <algorithm>

namespace vmsg::qtest {
namespace {
constexpr std::uint64_t kDriverOffset = 1ULL << 20;
// QEMU's q35 puts RAM above 2 GiB beyond 4 GiB; the driver uses low RAM only.
constexpr std::uint64_t kQ35LowRamEnd = 0x8000'0000ULL;
}  // namespace

MachineLayout layout_for(MachineType m, std::uint64_t ram_bytes) {
  const machine::PlatformLayout& p = machine::layout_of(m);
  const std::uint64_t usable = m == MachineType::Q35 ? std::min(ram_bytes, kQ35LowRamEnd) : ram_bytes;
  MachineLayout l;
  l.map.ram_base = p.ram_base + kDriverOffset;
  l.map.ram_size = usable > kDriverOffset ? usable - kDriverOffset : 0;
  l.map.mmio_base = p.mmio_base;
  l.map.mmio_size = p.mmio_end - p.mmio_base;
  // Where CF8/CFC reach configuration space the client uses them: QEMU's q35
  // leaves MMCONFIG off until firmware enables it.
  l.ecam_base = p.port_io ? 0 : p.ecam_base;
  return l;
}

}  // namespace vmsg::qtest

// Where things are on the machines a qtest client drives: RAM free for the
// driver, the BAR window, and how configuration space is reached.
#pragma once

#include <cstdint>
#include <string_view>

#include "vmsg/port/port.hpp"

namespace vmsg::qtest {

/// The machine types QtestPort knows the layout of.
enum class MachineType : std::uint8_t {
  Q35,      ///< x86 q35: config through CF8/CFC port I/O, BARs from 0xE0000000 (libqos pci-pc.c)
  ArmVirt,  ///< arm virt: config through ECAM at 0x4010000000, BARs from 0x10000000 (libqos generic-pcihost.c)
};

[[nodiscard]] std::string_view to_string(MachineType m) noexcept;

/// Layout facts of one machine type.
struct MachineLayout {
  port::AddressMap map;
  std::uint64_t ecam_base = 0;  ///< 0: no ECAM access (q35 without firmware leaves MMCONFIG off)
};

/// The layout of `m` with `ram_bytes` of RAM (QEMU's default is 128 MiB).
/// Driver RAM starts 1 MiB into RAM, as libqos' allocator does.
[[nodiscard]] MachineLayout layout_for(MachineType m, std::uint64_t ram_bytes = 128ULL << 20);

}  // namespace vmsg::qtest

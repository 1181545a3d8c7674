// Where things are on the machines a qtest client drives: RAM free for the
// driver, the BAR window, and how configuration space is reached.
#pragma once

#include <cstdint>
#include <string_view>

#include "vmsg/machine/platform.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::qtest {

/// The machine types QtestPort knows the layout of: those the reference
/// machine models (machine/platform.hpp), so client and server agree.
using MachineType = machine::MachineType;
using machine::to_string;

/// Layout facts of one machine type.
struct MachineLayout {
  port::AddressMap map;
  std::uint64_t ecam_base = 0;  ///< 0: no ECAM access (q35 without firmware leaves MMCONFIG off)
};

/// The layout of `m` with `ram_bytes` of RAM (QEMU's default is 128 MiB).
/// Driver RAM starts 1 MiB into RAM, as libqos' allocator does.
[[nodiscard]] MachineLayout layout_for(MachineType m, std::uint64_t ram_bytes = 128ULL << 20);

}  // namespace vmsg::qtest

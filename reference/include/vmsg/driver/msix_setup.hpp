// MSI-X without firmware (amp-pci-device.md §9.4): enable the function's MSI-X,
// point table entries at words in guest RAM, and observe interrupts as the
// device's 32-bit writes landing there, the way libqos does under qtest.
// Written against port::Port only.
//
// Errors follow driver/errors.hpp: ProbeError for a missing or malformed
// capability, ConfigError for an entry index out of range or data word 0.
// Table and PBA are accessed with 4-byte MMIO only: QEMU accepts nothing
// narrower there (§2), and 4 bytes is what every target must take.
#pragma once

#include <cstdint>

#include "vmsg/driver/guest_alloc.hpp"
#include "vmsg/driver/pci_probe.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::driver {

/// The MSI-X capability of a probed function, resolved to guest addresses.
struct MsixInfo {
  port::PciAddress fn{};
  std::uint8_t cap = 0;          ///< config offset of the capability
  std::uint16_t table_size = 0;  ///< entries: Message Control bits 10:0, plus one
  unsigned table_bar = 0;
  std::uint32_t table_offset = 0;
  unsigned pba_bar = 0;
  std::uint32_t pba_offset = 0;
  std::uint64_t table_addr = 0;  ///< guest-physical address of entry 0
  std::uint64_t pba_addr = 0;    ///< guest-physical address of the first PBA dword
};

/// Where one vector's interrupts land: the RAM word and the data it receives.
struct MsiTarget {
  std::uint64_t addr = 0;
  std::uint32_t data = 0;
};

/// Message Control bits and table-entry layout (PCI Local Bus 3.0 §6.8.2).
namespace msixreg {
inline constexpr std::uint16_t kControl = 2;
inline constexpr std::uint16_t kTable = 4;
inline constexpr std::uint16_t kPba = 8;
inline constexpr std::uint16_t kControlEnable = 0x8000;
inline constexpr std::uint16_t kControlFunctionMask = 0x4000;
inline constexpr std::uint16_t kControlTableSize = 0x07FF;
inline constexpr std::uint64_t kEntrySize = 16;
inline constexpr std::uint64_t kEntryAddrLo = 0;
inline constexpr std::uint64_t kEntryAddrHi = 4;
inline constexpr std::uint64_t kEntryData = 8;
inline constexpr std::uint64_t kEntryControl = 12;
inline constexpr std::uint32_t kEntryMasked = 0x1;
}  // namespace msixreg

/// Reads and checks the MSI-X capability of `f`: it must exist, name a BIR
/// that is an assigned memory BAR of `f`, and have table and PBA inside that BAR.
[[nodiscard]] MsixInfo msix_info(port::Port& port, const ProbedFunction& f);

/// Message Control: set Enable, clear Function Mask (other bits preserved;
/// a 16-bit write, so the read-only header dword is not rewritten).
void msix_enable(port::Port& port, const MsixInfo& m);
void msix_disable(port::Port& port, const MsixInfo& m);
/// Sets or clears Message Control's Function Mask.
void msix_set_function_mask(port::Port& port, const MsixInfo& m, bool masked);

/// Programs entry `entry` with `addr`/`data` and unmasks it. The entry is
/// masked while address and data change, as the spec requires of software.
void msix_program(port::Port& port, const MsixInfo& m, unsigned entry, std::uint64_t addr, std::uint32_t data);
/// Sets or clears the entry's Vector Control mask bit (other bits preserved).
void msix_set_masked(port::Port& port, const MsixInfo& m, unsigned entry, bool masked);
/// The entry's Vector Control dword.
[[nodiscard]] std::uint32_t msix_vector_control(port::Port& port, const MsixInfo& m, unsigned entry);
/// The entry's Pending Bit (from the PBA).
[[nodiscard]] bool msix_pending(port::Port& port, const MsixInfo& m, unsigned entry);

/// Everything §9.4 does for one vector: allocate a dword in guest RAM, clear
/// it, program `entry` to write `data` there, unmask. `data` must be non-zero,
/// because a cleared word must be distinguishable from a delivered MSI.
[[nodiscard]] MsiTarget msix_setup_vector(port::Port& port, const MsixInfo& m, unsigned entry,
                                          GuestAllocator& ram, std::uint32_t data);

/// The RAM word as it is now.
[[nodiscard]] std::uint32_t msi_word(port::Port& port, const MsiTarget& t);
/// Zeroes the RAM word (do this before the action whose interrupt you expect).
void clear_msi(port::Port& port, const MsiTarget& t);
/// True when the word holds the target's data, i.e. the MSI arrived.
[[nodiscard]] bool msi_fired(port::Port& port, const MsiTarget& t);
/// msi_fired, and if so clears the word for the next check.
[[nodiscard]] bool take_msi(port::Port& port, const MsiTarget& t);

}  // namespace vmsg::driver

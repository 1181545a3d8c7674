// The machine types the reference machine can be, and what differs between
// them: where RAM, configuration space and the BAR window are, whether there
// is port I/O, and which functions the platform itself puts on bus 0.
// Machine (machine.hpp) routes by these facts; the qtest client side
// (qtest/address_map.hpp) derives its layout from them too.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "vmsg/pci/pci_device.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::machine {

/// The machine types modelled.
enum class MachineType : std::uint8_t {
  Q35,      ///< x86 q35: configuration through CF8/CFC port I/O, BARs from 0xE0000000 (libqos pci-pc.c)
  ArmVirt,  ///< arm virt: configuration through ECAM at 0x4010000000, BARs from 0x10000000 (libqos generic-pcihost.c)
};

/// "q35" or "virt", the `-M` name.
[[nodiscard]] std::string_view to_string(MachineType m) noexcept;

/// The machine type a `-M`/`-machine` name selects: "q35" and the versioned
/// "pc-q35-X.Y", "virt" and the versioned "virt-X.Y"; nullopt for any other.
[[nodiscard]] std::optional<MachineType> machine_type_named(std::string_view name) noexcept;

/// Guest-physical layout of one machine type, as a qtest client finds it
/// (no firmware has run).
struct PlatformLayout {
  std::uint64_t ram_base = 0;   ///< guest-physical address of RAM's first byte
  std::uint64_t ram_max = 0;    ///< the most RAM below the next region above it
  std::uint64_t ecam_base = 0;  ///< PCIe ECAM: bus<<20 | dev<<15 | fn<<12 | reg
  std::uint64_t ecam_size = 0;  ///< 256 buses x 1 MiB
  std::uint64_t mmio_base = 0;  ///< BAR window handed to drivers
  std::uint64_t mmio_end = 0;   ///< exclusive end of that window
  bool port_io = false;         ///< CF8/CFC reach configuration space (a PC host bridge)
};

/// q35. RAM from 0; the reference places ECAM (MMCONFIG) at 0xB0000000,
/// where firmware would, though QEMU leaves it off without firmware; the
/// window ends where the IOAPIC starts.
inline constexpr PlatformLayout kQ35Layout{.ram_base = 0,
                                           .ram_max = 0xB000'0000,
                                           .ecam_base = 0xB000'0000,
                                           .ecam_size = 0x1000'0000,
                                           .mmio_base = 0xE000'0000,
                                           .mmio_end = 0xFEC0'0000,
                                           .port_io = true};

/// arm virt (hw/arm/virt.c memmap, highmem on): RAM from 1 GiB up to 256 GiB,
/// the high ECAM at 0x40_1000_0000, and the 32-bit PCI MMIO window, which the
/// PCI I/O window at 0x3EFF0000 ends. No port I/O: the CPU has none.
inline constexpr PlatformLayout kArmVirtLayout{.ram_base = 0x4000'0000,
                                               .ram_max = 0x40'0000'0000ULL - 0x4000'0000,
                                               .ecam_base = 0x40'1000'0000ULL,
                                               .ecam_size = 0x1000'0000,
                                               .mmio_base = 0x1000'0000,
                                               .mmio_end = 0x3EFF'0000,
                                               .port_io = false};

/// QOM type name of the host bridge at the root of `m`'s PCI bus, the first
/// element of an absolute bus= path: "q35-pcihost" or "gpex-pcihost".
[[nodiscard]] std::string_view host_bridge_name(MachineType m) noexcept;

/// The layout of `m`.
[[nodiscard]] const PlatformLayout& layout_of(MachineType m) noexcept;

/// The subsystem IDs QEMU gives every function that sets none of its own
/// (pci_set_default_subsystem_id): the platform functions of both machines.
inline constexpr std::uint16_t kQemuSubsystemVendor = 0x1AF4;
inline constexpr std::uint16_t kQemuSubsystem = 0x1100;

/// One function the platform puts on bus 0, and its address.
struct PlatformFunction {
  port::PciAddress address;
  std::shared_ptr<pci::PciDevice> function;
};

/// Freshly built platform functions of `m`, in address order
/// (q35_platform.hpp, virt_platform.hpp).
[[nodiscard]] std::vector<PlatformFunction> platform_functions(MachineType m);

}  // namespace vmsg::machine

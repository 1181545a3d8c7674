// PCI enumeration as a firmware-less qtest driver does it (amp-pci-device.md
// §9.2-§9.4): find a function on bus 0, size and assign its BARs, turn on
// memory decode and bus mastering, and walk its capability list. Written
// against port::Port only, so it runs unchanged on every target.
//
// Errors follow driver/errors.hpp: lookups return std::optional, a malformed
// function throws ProbeError, an exhausted BAR window throws OutOfSpace.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "vmsg/driver/guest_alloc.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::driver {

/// Type-0 header offsets and bits the helpers use. Kept here rather than
/// shared with the device model on purpose: a driver that reuses the model's
/// constants would also reuse its misreadings.
namespace pcireg {
inline constexpr std::uint16_t kVendorId = 0x00;
inline constexpr std::uint16_t kDeviceId = 0x02;
inline constexpr std::uint16_t kCommand = 0x04;
inline constexpr std::uint16_t kStatus = 0x06;
inline constexpr std::uint16_t kRevisionClass = 0x08;
inline constexpr std::uint16_t kHeaderType = 0x0E;
inline constexpr std::uint16_t kBar0 = 0x10;
inline constexpr std::uint16_t kCapPtr = 0x34;
inline constexpr std::uint16_t kCommandIo = 0x0001;
inline constexpr std::uint16_t kCommandMem = 0x0002;
inline constexpr std::uint16_t kCommandBusMaster = 0x0004;
inline constexpr std::uint16_t kStatusCapList = 0x0010;
inline constexpr std::uint8_t kHeaderMultiFunction = 0x80;
inline constexpr std::uint8_t kCapIdMsix = 0x11;
/// Capabilities live in 0x40..0xFF: 48 dwords, hence at most 48 of them
/// (Linux's PCI_FIND_CAP_TTL); a longer walk must revisit an offset.
inline constexpr unsigned kMaxCapabilities = 48;
}  // namespace pcireg

/// One BAR as sized (and, after probe_function, assigned). A 64-bit BAR is
/// described in its lower slot; the upper slot stays empty (size 0).
struct BarInfo {
  std::uint64_t base = 0;  ///< assigned address; 0 when unassigned (I/O BARs are never assigned)
  std::uint64_t size = 0;  ///< 0: not implemented
  bool prefetchable = false;
  bool is64 = false;
  bool io = false;
  [[nodiscard]] bool implemented() const noexcept { return size != 0; }
  friend bool operator==(const BarInfo&, const BarInfo&) = default;
};

/// One entry of the capability list.
struct Capability {
  std::uint8_t id = 0;
  std::uint8_t offset = 0;
  friend bool operator==(const Capability&, const Capability&) = default;
};

/// A function after probe_function: identity, BARs, capabilities.
struct ProbedFunction {
  port::PciAddress addr{};
  std::uint16_t vendor_id = 0;
  std::uint16_t device_id = 0;
  std::uint8_t revision = 0;
  std::uint32_t class_code = 0;  ///< base << 16 | sub-class << 8 | prog-if
  std::uint8_t header_type = 0;  ///< as read, multi-function bit included
  std::array<BarInfo, 6> bars{};
  std::vector<Capability> capabilities;
  /// Offset of the first capability with `id`, if listed.
  [[nodiscard]] std::optional<std::uint8_t> capability(std::uint8_t id) const;
};

/// Every present function on bus 0 (devices 0..31; functions 1..7 only when
/// function 0 has the multi-function bit), in address order. Reads only.
[[nodiscard]] std::vector<port::PciAddress> scan_bus0(port::Port& port);

/// The functions on bus 0 whose vendor/device IDs match, in address order.
[[nodiscard]] std::vector<port::PciAddress> find_functions(port::Port& port, std::uint16_t vendor,
                                                           std::uint16_t device);

/// Sizes all six BARs with the all-ones protocol: write 0xFFFFFFFF, read the
/// mask back, restore the original value. Memory and I/O decode are switched
/// off meanwhile (and Command restored after), so the half-written BAR never
/// decodes at 0xFFFFxxxx. Leaves the function exactly as found.
/// Throws ProbeError for an absent function, a non-type-0 header, a readback
/// that is not a valid size mask, reserved memory type 11b, or a 64-bit BAR in slot 5.
[[nodiscard]] std::array<BarInfo, 6> size_bars(port::Port& port, port::PciAddress fn);

/// The capability list from the pointer at 0x34 (empty when Status.CapList is
/// clear). Bounded and defensive: a pointer below 0x40 (into the header) or a
/// revisited offset (a loop; the only way past 48 entries) throws ProbeError. The low two
/// pointer bits are reserved and masked off, as the spec requires.
[[nodiscard]] std::vector<Capability> walk_capabilities(port::Port& port, port::PciAddress fn);

/// Offset of the first capability with `id`, or nullopt; ProbeError as walk_capabilities.
[[nodiscard]] std::optional<std::uint8_t> find_capability(port::Port& port, port::PciAddress fn, std::uint8_t id);

/// Brings a function up the way §9.3 does: size the BARs, assign every memory
/// BAR a naturally aligned address from `window` in BAR order (the order libqos
/// uses, so the q35 amp device lands at 0xE0000000/0xE0004000/0xE0008000), check
/// that each BAR latched its address, then OR MEM|BME into Command.
/// I/O BARs are sized and reported but not assigned. Throws ProbeError (see
/// size_bars; also a 32-bit BAR that would end above 4 GiB, or a BAR that does
/// not read back its address) and OutOfSpace.
[[nodiscard]] ProbedFunction probe_function(port::Port& port, port::PciAddress fn, BarWindowAllocator& window);

/// find_functions(...)[index] brought up with probe_function, or nullopt when
/// there is no such function.
[[nodiscard]] std::optional<ProbedFunction> probe(port::Port& port, std::uint16_t vendor, std::uint16_t device,
                                                  BarWindowAllocator& window, unsigned index = 0);

}  // namespace vmsg::driver

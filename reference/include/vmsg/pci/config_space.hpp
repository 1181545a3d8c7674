// A conventional PCI type-0 configuration header (256 bytes) with per-byte
// write masks: identity, Command/Status, six 32-bit memory BARs and a
// capability list. Nothing here knows about any particular device; capability
// owners (e.g. Msix) add their structure and write masks through the raw API.
//
// Access rules (config_read/config_write and ConfigSpace::read/write):
//   * A valid access has size 1, 2 or 4, is naturally aligned and lies inside
//     the 256-byte header. Writes change only the bits whose write mask is set.
//   * Anything else is ignored and reads as all-ones in its low `size` bytes
//     (all 32 bits when size is not 1, 2 or 4). That covers 256..4095 (a
//     conventional function has no extended space; QEMU returns ~0 there,
//     too), offsets past 4095, and unaligned or odd-sized accesses, which our
//     PciDevice contract excludes and which we treat like a master abort
//     rather than guess a byte lane mapping. Never undefined behaviour.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

namespace vmsg::pci {

/// Standard type-0 header offsets and bits used by the building blocks.
namespace cfg {
inline constexpr std::uint16_t kVendorId = 0x00;
inline constexpr std::uint16_t kDeviceId = 0x02;
inline constexpr std::uint16_t kCommand = 0x04;
inline constexpr std::uint16_t kStatus = 0x06;
inline constexpr std::uint16_t kRevision = 0x08;
inline constexpr std::uint16_t kClassCode = 0x09;  ///< 3 bytes: prog-if, sub-class, base class
inline constexpr std::uint16_t kCacheLineSize = 0x0C;
inline constexpr std::uint16_t kHeaderType = 0x0E;
inline constexpr std::uint16_t kBar0 = 0x10;
inline constexpr std::uint16_t kSubsystemVendorId = 0x2C;
inline constexpr std::uint16_t kSubsystemId = 0x2E;
inline constexpr std::uint16_t kExpansionRom = 0x30;
inline constexpr std::uint16_t kCapabilityPointer = 0x34;
inline constexpr std::uint16_t kInterruptLine = 0x3C;
inline constexpr std::uint16_t kInterruptPin = 0x3D;
inline constexpr std::uint16_t kFirstCapability = 0x40;

inline constexpr std::uint16_t kCommandMemory = 0x0002;       ///< MEM: decode memory BARs
inline constexpr std::uint16_t kCommandBusMaster = 0x0004;    ///< BME: may issue DMA and MSI writes
inline constexpr std::uint16_t kCommandIntxDisable = 0x0400;  ///< INTx disable
/// The Command bits a function implements; all others read 0.
inline constexpr std::uint16_t kCommandWritable = kCommandMemory | kCommandBusMaster | kCommandIntxDisable;
inline constexpr std::uint16_t kStatusCapList = 0x0010;
inline constexpr std::uint8_t kHeaderTypeMultiFunction = 0x80;  ///< functions 1..7 may exist

inline constexpr std::uint32_t kBarPrefetchable = 0x8;  ///< bit 3 of a memory BAR

inline constexpr std::uint16_t kHeaderSize = 256;     ///< conventional config space
inline constexpr std::uint16_t kExtendedSize = 4096;  ///< PCIe config space (not implemented here)
inline constexpr unsigned kNumBars = 6;
}  // namespace cfg

/// Read-only identity registers, fixed at construction.
struct PciIdentity {
  std::uint16_t vendor_id = 0;
  std::uint16_t device_id = 0;
  std::uint8_t revision = 0;
  std::uint32_t class_code = 0;  ///< 24 bits: base class << 16 | sub-class << 8 | prog-if
  std::uint16_t subsystem_vendor_id = 0;
  std::uint16_t subsystem_id = 0;
};

/// One BAR as the function implements it. Only 32-bit memory BARs exist here
/// (all this project's devices need); size 0 means "not implemented": the
/// BAR reads 0 and ignores writes.
struct BarSpec {
  std::uint32_t size = 0;     ///< 0, or a power of two in [16, 2 GiB]
  bool prefetchable = false;  ///< sets bit 3, which reads back even before assignment
};

/// The six BAR descriptions of a type-0 function, index = BAR number.
using BarSpecs = std::array<BarSpec, cfg::kNumBars>;

/// A type-0 configuration header with per-byte write masks.
///
/// Writable by software: Command (MEM, BME, INTx-disable), the address bits of
/// implemented BARs (the low log2(size) bits read 0, which is the sizing
/// protocol: all-ones reads back ~(size-1) | flags), Cache Line Size and
/// Interrupt Line (plain scratch bytes, writable in QEMU too), and whatever a
/// capability owner opens with set_write_mask(). Status is read-only (no error
/// bits are ever raised, so there is nothing to write-1-to-clear); its
/// Capabilities List bit is set once a capability exists.
///
/// Not copyable or movable: capability owners (Msix) and observers refer to
/// one particular header, and a copy would silently split that state.
class ConfigSpace {
 public:
  /// Called after a config write or reset changed the Command register, with
  /// the old and new values. Devices use it to learn that MEM or BME turned on/off.
  using CommandObserver = std::function<void(std::uint16_t old_command, std::uint16_t new_command)>;

  /// Builds the reset-state header. Throws vmsg::ConfigError for a class code
  /// wider than 24 bits or a BAR size that is not 0 or a power of two in [16, 2^31].
  ConfigSpace(const PciIdentity& identity, const BarSpecs& bars);
  ConfigSpace(const ConfigSpace&) = delete;
  ConfigSpace& operator=(const ConfigSpace&) = delete;
  ~ConfigSpace() = default;

  /// A software config read (see the file comment for which accesses are valid).
  [[nodiscard]] std::uint32_t read(std::uint16_t offset, unsigned size) const noexcept;
  /// A software config write through the write masks. Fires the command
  /// observer when the Command value changed.
  void write(std::uint16_t offset, unsigned size, std::uint32_t value);

  /// True when a (offset, size) pair is a valid config access as defined above.
  [[nodiscard]] static bool valid_access(std::uint16_t offset, unsigned size) noexcept;

  /// Appends a capability of `length` bytes (>= 2: ID and next pointer) at the
  /// next free dword-aligned offset from 0x40 upwards, links it at the end of
  /// the list (0x34 points at the first one), sets Status.CapList and returns
  /// its offset. Its body reads 0 and is read-only until the owner fills it
  /// with raw_write() and opens bits with set_write_mask(). Throws
  /// vmsg::ConfigError when it does not fit below 256. (QEMU prepends instead;
  /// with one capability, as on the amp device, the two agree.)
  std::uint8_t add_capability(std::uint8_t id, std::uint8_t length);
  /// Offset of the first capability with this ID, walking the list from 0x34.
  [[nodiscard]] std::optional<std::uint8_t> find_capability(std::uint8_t id) const noexcept;

  /// Device-side access that bypasses write masks and never fires the
  /// observer: for capability owners and the device's own read-only fields.
  /// Requires a valid access (asserts; invalid ones are ignored / read 0).
  void raw_write(std::uint16_t offset, unsigned size, std::uint32_t value) noexcept;
  [[nodiscard]] std::uint32_t raw_read(std::uint16_t offset, unsigned size) const noexcept;
  /// Sets which bits software may write in the `size` bytes at `offset`.
  void set_write_mask(std::uint16_t offset, unsigned size, std::uint32_t mask) noexcept;
  [[nodiscard]] std::uint32_t write_mask(std::uint16_t offset, unsigned size) const noexcept;

  /// PCI reset: every writable bit returns to 0 (Command, BAR addresses,
  /// scratch bytes, capability control bits); read-only bits keep their value.
  /// Fires the observer if Command changed.
  void reset();

  [[nodiscard]] std::uint16_t command() const noexcept;
  [[nodiscard]] std::uint16_t status() const noexcept;
  [[nodiscard]] bool memory_enabled() const noexcept;
  [[nodiscard]] bool bus_master() const noexcept;
  [[nodiscard]] bool intx_disabled() const noexcept;

  /// The BAR as the function implements it (size 0 = unimplemented, also for bar >= 6).
  [[nodiscard]] BarSpec bar_spec(unsigned bar) const noexcept;
  /// The address currently programmed in BAR `bar`: the register without its
  /// flag bits, hence already aligned to the BAR size. 0 for unimplemented
  /// BARs and bar >= 6. After sizing (all-ones written) this is ~(size-1).
  [[nodiscard]] std::uint32_t bar_address(unsigned bar) const noexcept;

  /// Installs (or, with an empty function, removes) the Command observer.
  void set_command_observer(CommandObserver observer);

  /// Accesses that were not valid and therefore ignored (diagnostics).
  [[nodiscard]] std::uint64_t ignored_accesses() const noexcept { return ignored_; }

  /// Counts every change of the bytes (write, raw_write, reset): equal
  /// generations mean an identical header, so decoders may cache.
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_; }
  /// The same number, watched in place (PciDevice::decode_generation).
  [[nodiscard]] const std::uint64_t* generation_counter() const noexcept { return &generation_; }

  /// The software-visible bytes at one instant (write masks and the
  /// capability layout are fixed at construction). A value.
  struct State {
    std::array<std::uint8_t, cfg::kHeaderSize> bytes{};
    std::uint64_t ignored = 0;
  };
  [[nodiscard]] State save() const noexcept { return {bytes_, ignored_}; }
  /// Puts the bytes back without firing the Command observer (the owner
  /// restores what depends on Command itself). When they differ the
  /// generation moves on rather than back, so a decoder never mistakes the
  /// restored header for one it cached after the save; when they do not, it
  /// stays, and so do the decoders' caches.
  void restore(const State& s) noexcept {
    if (bytes_ != s.bytes) {
      bytes_ = s.bytes;
      ++generation_;
    }
    ignored_ = s.ignored;
  }

 private:
  void notify_command(std::uint16_t old_command);

  std::array<std::uint8_t, cfg::kHeaderSize> bytes_{};
  std::array<std::uint8_t, cfg::kHeaderSize> wmask_{};
  BarSpecs bars_{};
  std::uint16_t next_free_ = cfg::kFirstCapability;
  std::uint8_t last_cap_ = 0;  // 0 = no capability yet
  std::uint64_t generation_ = 0;
  CommandObserver observer_;
  // mutable: read() is logically const but still counts rejected accesses.
  mutable std::uint64_t ignored_ = 0;
};

}  // namespace vmsg::pci

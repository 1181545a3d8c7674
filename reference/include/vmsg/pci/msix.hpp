// MSI-X for one function: the capability in config space, the vector table
// and the Pending Bit Array, all in one BAR that holds nothing else (QEMU's
// msix_init_exclusive_bar layout).
//
// Layout in the BAR: table at 0 (16 bytes per entry: address low, address
// high, data, vector control), PBA at 0x800 (one bit per vector, 64-bit
// words). For more than 128 vectors the table would run into 0x800, so the
// PBA moves to N*16, exactly as QEMU does; the BAR must be at least
// Msix::required_bar_size(N) bytes (4 KiB for N <= 128).
//
// Delivery rules (notify and every state change re-check them):
//   a vector is blocked when MSI-X is disabled, the function is masked, its
//   entry is masked, Bus Master Enable is off, or no DmaSpace is attached.
//   A blocked notify sets the vector's PBA bit and writes nothing; an
//   unblocked one is a DmaSpace::msi_write(entry address, entry data).
//   Pending vectors are delivered, lowest first, and their PBA bits cleared
//   as soon as nothing blocks them: on entry unmask, function unmask, enable,
//   BME turning on and attach.
//
// BME choice: QEMU sends an MSI-X write with BME off into a disabled
// bus-master address space, where it is silently lost. We hold it pending
// instead so nothing is lost and a driver that sets BME late still sees it;
// a conformance check that wants to observe the QEMU loss must not rely on
// this model for that case.
#pragma once

#include <cstdint>
#include <vector>

#include "vmsg/pci/config_space.hpp"
#include "vmsg/pci/dma.hpp"

namespace vmsg::pci {

/// MSI-X register layout constants.
namespace msix {
inline constexpr std::uint8_t kCapabilityId = 0x11;
inline constexpr std::uint8_t kCapabilityLength = 12;
inline constexpr std::uint16_t kControlOffset = 2;  ///< Message Control, from the capability
inline constexpr std::uint16_t kTableOffset = 4;    ///< Table Offset/BIR dword
inline constexpr std::uint16_t kPbaOffset = 8;      ///< PBA Offset/BIR dword
inline constexpr std::uint16_t kControlEnable = 0x8000;
inline constexpr std::uint16_t kControlFunctionMask = 0x4000;
inline constexpr std::uint16_t kControlTableSizeMask = 0x07FF;
inline constexpr std::uint32_t kEntrySize = 16;
inline constexpr std::uint32_t kEntryAddrLo = 0;
inline constexpr std::uint32_t kEntryAddrHi = 4;
inline constexpr std::uint32_t kEntryData = 8;
inline constexpr std::uint32_t kEntryVectorControl = 12;
inline constexpr std::uint32_t kVectorControlMasked = 0x1;
inline constexpr unsigned kMaxVectors = 2048;
inline constexpr std::uint32_t kDefaultPbaOffset = 0x800;
}  // namespace msix

/// One table entry as software programmed it.
struct MsixEntry {
  std::uint64_t address = 0;
  std::uint32_t data = 0;
  std::uint32_t vector_control = msix::kVectorControlMasked;  ///< bit 0 = masked; other bits kept as written
  [[nodiscard]] bool masked() const noexcept { return (vector_control & msix::kVectorControlMasked) != 0; }
  friend bool operator==(const MsixEntry&, const MsixEntry&) = default;
};

/// Counters for tests and diagnostics.
struct MsixStats {
  std::uint64_t delivered = 0;         ///< msi_write calls that landed
  std::uint64_t lost = 0;              ///< msi_write calls the DmaSpace refused (no RAM there)
  std::uint64_t set_pending = 0;       ///< notifies held in the PBA (repeats coalesce into one bit)
  std::uint64_t out_of_range = 0;      ///< notifies of a vector >= N (ignored)
  std::uint64_t ignored_accesses = 0;  ///< table/PBA MMIO of a bad width or alignment, or PBA writes
};

/// MSI-X capability, table and PBA of one function.
///
/// Holds a reference to the function's ConfigSpace: Message Control lives
/// there (so config reads need no routing), and so does Bus Master Enable.
/// The owner must tell it about changes it cannot see: config_written() after
/// every config write, update() after Command changes (PciFunction does both).
/// Not copyable or movable (it refers to its ConfigSpace).
class Msix {
 public:
  /// Adds the capability to `config` (Message Control = vectors-1, Table
  /// Offset/BIR = bir, PBA Offset/BIR = pba_offset | bir; only Enable and
  /// Function Mask writable) with every entry masked. Throws vmsg::ConfigError
  /// when vectors is not in 1..2048, bir > 5, the BAR is not implemented or
  /// smaller than required_bar_size(vectors), or the capability does not fit.
  Msix(ConfigSpace& config, unsigned vectors, unsigned bir);
  Msix(const Msix&) = delete;
  Msix& operator=(const Msix&) = delete;
  ~Msix() = default;

  /// Where the PBA starts in the BAR for `vectors` entries (0x800 up to 128).
  [[nodiscard]] static std::uint32_t pba_offset_for(unsigned vectors) noexcept;
  /// Smallest BAR that holds table and PBA: a power of two, at least 4 KiB.
  [[nodiscard]] static std::uint32_t required_bar_size(unsigned vectors) noexcept;

  /// Where MSI writes go. Until attached every vector counts as blocked.
  /// Delivers whatever is pending and unblocked.
  void attach(DmaSpace& dma);

  /// The device raises `vector` (see the file comment for blocked/pending).
  void notify(unsigned vector);

  /// Table/PBA access at `offset` inside the MSI-X BAR. Only naturally aligned
  /// 4- and 8-byte accesses are valid (an 8-byte one acts as two 4-byte ones,
  /// low dword first); others read 0 and ignore writes, as QEMU's
  /// msix_table_mmio_ops does. Offsets outside table and PBA read 0; the PBA
  /// is read-only.
  [[nodiscard]] std::uint64_t mmio_read(std::uint64_t offset, unsigned size);
  void mmio_write(std::uint64_t offset, unsigned size, std::uint64_t value);

  /// Call after any config write: if it touched Message Control, re-evaluates
  /// and delivers newly unblocked pending vectors.
  void config_written(std::uint16_t offset, unsigned size);
  /// Re-evaluates everything (e.g. after BME changed) and delivers pending
  /// vectors that are no longer blocked.
  void update();

  /// Fault mode "msix-ignores-mask": when on, neither the entry's mask bit
  /// nor Function Mask holds a vector back; a notify is written at once (or
  /// kept pending only for the other blocking reasons). Off by default.
  void set_ignore_mask(bool on) noexcept { ignore_mask_ = on; }
  [[nodiscard]] bool ignores_mask() const noexcept { return ignore_mask_; }

  /// PCI reset: all entries zeroed and masked, PBA cleared. Message Control
  /// bits are reset with the ConfigSpace.
  void reset();

  [[nodiscard]] unsigned vectors() const noexcept { return vectors_; }
  [[nodiscard]] unsigned bir() const noexcept { return bir_; }
  [[nodiscard]] std::uint8_t capability_offset() const noexcept { return cap_; }
  [[nodiscard]] std::uint32_t pba_offset() const noexcept { return pba_offset_; }
  [[nodiscard]] bool enabled() const noexcept;
  [[nodiscard]] bool function_masked() const noexcept;
  /// Entry `vector` as programmed; a default (masked, zero) entry when out of range.
  [[nodiscard]] MsixEntry entry(unsigned vector) const noexcept;
  [[nodiscard]] bool pending(unsigned vector) const noexcept;
  /// The PBA's first word (bit v: vector v pending, for v < 64), for an
  /// observer that reads every vector's bit around each access (fuzz_device).
  [[nodiscard]] std::uint64_t pending_word() const noexcept { return pba_.empty() ? 0 : pba_.front(); }
  [[nodiscard]] const MsixStats& stats() const noexcept { return stats_; }
  /// Counters back to zero (a PCI reset keeps them; a power-on reset does not).
  void reset_stats() noexcept { stats_ = {}; }

  /// Table, PBA and counters at one instant (Message Control lives in the
  /// ConfigSpace, saved with it). A value.
  struct State {
    std::vector<MsixEntry> table;
    std::vector<std::uint64_t> pba;
    MsixStats stats;
  };
  [[nodiscard]] State save() const { return {table_, pba_, stats_}; }
  /// Puts table, PBA and counters back, delivering nothing (a restore is not
  /// an unmask). Throws vmsg::SnapshotError (nothing changed) for a state of
  /// another vector count.
  void restore(const State& s);

 private:
  [[nodiscard]] std::uint16_t control() const noexcept;
  [[nodiscard]] bool function_blocked() const noexcept;
  /// Whether the entry's own mask holds `vector` back (never in the fault mode).
  [[nodiscard]] bool entry_blocked(unsigned vector) const noexcept;
  [[nodiscard]] std::uint32_t read32(std::uint64_t offset) const noexcept;
  void write32(std::uint64_t offset, std::uint32_t value);
  void set_pending_bit(unsigned vector, bool on) noexcept;
  void deliver(unsigned vector);
  void deliver_unblocked();

  ConfigSpace& config_;
  DmaSpace* dma_ = nullptr;
  unsigned vectors_;
  unsigned bir_;
  std::uint32_t pba_offset_;
  std::uint8_t cap_ = 0;
  std::vector<MsixEntry> table_;
  std::vector<std::uint64_t> pba_;  // one bit per vector, 64 per word, as the PBA is laid out
  MsixStats stats_;
  bool ignore_mask_ = false;
};

}  // namespace vmsg::pci

// The in-process machine: a q35- or arm-virt-shaped target behind the port
// interface.
//
// Layout, as a qtest client sees the machine (amp-pci-device.md §9;
// platform.hpp has the numbers):
//                q35                          arm virt
//   RAM          0x0000_0000 ..               0x4000_0000 ..   (default 128 MiB)
//   ECAM         0xB000_0000 .. +256 MiB      0x40_1000_0000 .. +256 MiB
//   BAR window   0xE000_0000 .. 0xFEBF_FFFF   0x1000_0000 .. 0x3EFE_FFFF
// ECAM: bus<<20 | dev<<15 | fn<<12 | reg. Drivers allocate RAM from 1 MiB
// into RAM up, as libqos does. Devices sit on bus 0, beside the platform's
// own functions (q35: 00:00.0, 00:1f.0/2/3; virt: the gpex host bridge at
// 00:00.0), which every Machine has from construction, as every QEMU has.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmsg/machine/guest_ram.hpp"
#include "vmsg/machine/platform.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/pci/pci_device.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::machine {

/// Construction parameters of a Machine.
struct MachineConfig {
  /// Bytes of RAM from the machine's RAM base. Must exceed the 1 MiB reserved
  /// below the driver area and fit below the next region (PlatformLayout::ram_max:
  /// the ECAM window on q35, which keeps low RAM below it).
  std::uint64_t ram_size = 128ULL << 20;
  MachineType type = MachineType::Q35;
};

/// One MSI that landed in RAM: what the device wrote, and when (virtual time).
struct MsiRecord {
  std::uint64_t addr = 0;
  std::uint32_t data = 0;
  std::uint64_t time_ns = 0;
  port::PciAddress source{};  ///< the function whose DmaSpace carried it
  friend bool operator==(const MsiRecord&, const MsiRecord&) = default;
};

/// Counters a test can assert on; the port itself has no way to report these.
struct MachineStats {
  std::uint64_t unbacked_reads = 0;       ///< mmio_read with nothing (or not one region) behind it
  std::uint64_t unbacked_writes = 0;      ///< mmio_write likewise
  std::uint64_t unbacked_bulk_bytes = 0;  ///< mem_read/mem_write bytes with nothing behind them
  std::uint64_t dma_faults = 0;           ///< dma_read/dma_write not entirely inside RAM
  std::uint64_t stray_msis = 0;           ///< msi_write outside RAM (dropped)
  std::uint64_t msis = 0;                 ///< msi_write delivered into RAM
  friend bool operator==(const MachineStats&, const MachineStats&) = default;
};

/// The reference target: guest RAM, an ECAM window and PCI functions on bus 0,
/// laid out as one machine type (MachineConfig::type),
/// driven through port::Port exactly as QEMU is driven over qtest.
///
/// Routing of one MMIO access, first match wins: RAM, then ECAM, then the
/// memory BARs of the plugged functions (in PciAddress order, BAR 0..5). BAR
/// decode (PciDevice::bar_mapping) is cached only while every device reports
/// the same decode generation, and asked afresh otherwise, so Command.MEM and
/// BAR reprogramming take effect immediately, whoever made them.
/// An access that does not lie entirely inside one region is unbacked: reads
/// return 0, writes are dropped, and MachineStats counts it.
///
/// Not thread-safe. Devices may call back into the machine (DMA, MSI) from
/// inside bar_write/advance_time; that is the normal, synchronous path.
///
/// A device that reports a fatal condition (pci::DmaSpace::report_fatal)
/// dies as a QEMU process would, but never takes the host program with it:
/// the port access during which it happened throws PortError with the
/// report, and so does every later access that reaches a device (config
/// space of a plugged function, a BAR, a time step), until reset(). RAM and
/// unbacked addresses answer as before, as through LibPort, whose RAM is the
/// host's own.
class Machine final : public port::Port {
 public:
  // The q35 layout (kQ35Layout), for callers that only ever build q35
  // machines (LibPort, the fuzz harnesses); layout() has the machine's own.
  static constexpr std::uint64_t kEcamBase = kQ35Layout.ecam_base;
  static constexpr std::uint64_t kEcamSize = kQ35Layout.ecam_size;  ///< 256 buses x 1 MiB
  static constexpr std::uint64_t kMmioBase = kQ35Layout.mmio_base;
  static constexpr std::uint64_t kMmioEnd = kQ35Layout.mmio_end;  ///< exclusive: the IOAPIC starts here on q35
  static constexpr std::uint64_t kDriverRamOffset = 0x10'0000;  ///< RAM below this offset is not the driver's
  static constexpr std::uint64_t kDriverRamBase = kQ35Layout.ram_base + kDriverRamOffset;
  static constexpr std::uint16_t kConfigSpaceSize = 0x1000;

  /// Throws vmsg::ConfigError for a RAM size outside (1 MiB, layout ram_max].
  explicit Machine(MachineConfig config = {});
  ~Machine() override;
  // Devices hold references to the machine's bus-master objects: pinned in place.
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;
  Machine(Machine&&) = delete;
  Machine& operator=(Machine&&) = delete;

  /// Puts `device` at `where` (bus 0, device 0..31, function 0..7) and attaches
  /// it to its own DmaSpace. Throws vmsg::ConfigError for a null device, an
  /// address out of range, or an occupied slot (the chipset's included, as
  /// QEMU refuses `addr=00.0`).
  void plug(port::PciAddress where, std::shared_ptr<pci::PciDevice> device);

  /// The device at `where`, or null.
  [[nodiscard]] std::shared_ptr<pci::PciDevice> device(port::PciAddress where) const;

  // port::Port ---------------------------------------------------------------
  /// Config sizes 1, 2, 4 (else PortError); offset + size must stay within
  /// 4 KiB (else PortError). An unaligned access is split into byte accesses,
  /// because PciDevice only takes naturally aligned ones.
  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override;
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override;
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override;
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override;
  /// Bulk transfer: RAM by copy; BAR (and ECAM) ranges as naturally aligned
  /// accesses of up to 8 (ECAM: 4) bytes, the same split QEMU's memory core
  /// makes for a qtest `read`/`write`; unbacked bytes read 0.
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override;
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override;
  /// Advances the clock first, then every device in PciAddress order, so an
  /// MSI a device raises from its timers is stamped with the new time.
  void advance_time(std::uint64_t ns) override;
  [[nodiscard]] port::AddressMap address_map() const override;

  // In-process inspection (not part of the port) ------------------------------
  [[nodiscard]] MachineType type() const noexcept { return type_; }
  [[nodiscard]] const PlatformLayout& layout() const noexcept { return layout_; }
  /// Guest-physical address of RAM byte 0: ram() is indexed from here
  /// (0 on q35, so there ram() offsets are guest addresses).
  [[nodiscard]] std::uint64_t ram_base() const noexcept { return layout_.ram_base; }
  [[nodiscard]] GuestRam& ram() noexcept { return ram_; }
  [[nodiscard]] const GuestRam& ram() const noexcept { return ram_; }
  [[nodiscard]] std::uint64_t now_ns() const noexcept { return now_ns_; }
  [[nodiscard]] const MachineStats& stats() const noexcept { return stats_; }
  void reset_stats() noexcept { stats_ = {}; }
  [[nodiscard]] const std::vector<MsiRecord>& msi_log() const noexcept { return msi_log_; }
  void clear_msi_log() noexcept { msi_log_.clear(); }
  /// The first fatal report a device made (pci::DmaSpace::report_fatal), or
  /// empty while every device is alive. A qtest server prints it and exits.
  [[nodiscard]] const std::string& crash_report() const noexcept { return crash_report_; }
  /// Machine-owned state back to power-on: RAM zeroed (only the pages written
  /// since the last reset, GuestRam::clear), clock 0, stats and MSI log empty,
  /// no crash report.
  /// Plugged devices stay plugged and are not touched: resetting a device is
  /// its owner's job (target::ReferenceTarget::reset does both).
  void reset() noexcept;
  /// Machine-owned state at one instant (RAM by dirty pages, clock, stats, MSI
  /// log, crash report): what save() takes and restore() puts back. Devices
  /// are not in it (their owner saves them; the platform's own functions
  /// hold no state). A value.
  struct State {
    GuestRam::Snapshot ram;
    std::uint64_t now_ns = 0;
    MachineStats stats;
    std::vector<MsiRecord> msi_log;
    std::string crash_report;
    port::PciAddress crashed_device{};
  };
  /// Saves the machine-owned state; the RAM marks this instant, so restoring
  /// it copies back only the pages written since (GuestRam::save).
  [[nodiscard]] State save();
  /// Puts the machine-owned state back. Throws vmsg::SnapshotError (nothing
  /// changed) for a state saved by another machine.
  void restore(const State& s);
  /// The bus-master view handed to the function at `where` (ConfigError if none).
  [[nodiscard]] pci::DmaSpace& dma_space(port::PciAddress where);

 private:
  class BusMaster;
  friend class BusMaster;

  struct Slot {
    std::shared_ptr<pci::PciDevice> device;
    std::unique_ptr<BusMaster> bus_master;
  };

  enum class RegionKind { kNone, kRam, kEcam, kBar };
  /// A decoded region at one instant; `device`/`bar` only for kBar.
  struct Region {
    RegionKind kind = RegionKind::kNone;
    std::uint64_t base = 0;
    std::uint64_t size = 0;
    pci::PciDevice* device = nullptr;
    unsigned bar = 0;
  };

  [[nodiscard]] Region region_at(std::uint64_t addr) const;
  /// The mapped BARs of every slot, rebuilt when a device's decode generation moved.
  [[nodiscard]] const std::vector<Region>& bar_regions() const;
  /// Walks [addr, addr+n) region by region for mem_read/mem_write: on_gap(done,
  /// len) for unbacked bytes (also past a wrap of the address space),
  /// on_ram(addr, done, len) for RAM, on_piece(region, addr, done, size) for
  /// one naturally aligned MMIO piece. `done` is the offset into the transfer.
  /// on_bulk(region, addr, done, len) is offered the rest of a BAR first and
  /// returns whether the device took it in one copy (plain memory).
  template <typename OnGap, typename OnRam, typename OnBulk, typename OnPiece>
  void walk_bulk(std::uint64_t addr, std::uint64_t n, OnGap on_gap, OnRam on_ram, OnBulk on_bulk, OnPiece on_piece);
  /// Base of the nearest region above `addr`, if any (bounds an unbacked gap).
  [[nodiscard]] std::optional<std::uint64_t> next_region_start(std::uint64_t addr) const;
  [[nodiscard]] pci::PciDevice* find(port::PciAddress fn) const;
  /// The function and register an ECAM address selects.
  [[nodiscard]] std::pair<port::PciAddress, std::uint16_t> ecam_decode(std::uint64_t addr) const noexcept;
  [[nodiscard]] bool ecam_access_ok(std::uint64_t addr, unsigned size) const noexcept;
  [[nodiscard]] std::uint64_t region_read(const Region& r, std::uint64_t addr, unsigned size);
  void region_write(const Region& r, std::uint64_t addr, unsigned size, std::uint64_t value);

  /// Offset into ram_ of guest-physical `addr`; nullopt below RAM (the
  /// GuestRam calls check the upper end).
  [[nodiscard]] std::optional<std::uint64_t> ram_offset(std::uint64_t addr) const noexcept;
  bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out);
  bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data);
  bool msi_write(port::PciAddress source, std::uint64_t addr, std::uint32_t data);
  void device_fatal(port::PciAddress source, std::string_view report);
  /// Throws PortError once a device has crashed (crash_report() not empty);
  /// called around every access that reaches a device.
  void check_alive() const;

  MachineType type_;
  PlatformLayout layout_;
  GuestRam ram_;
  std::map<port::PciAddress, Slot> slots_;
  std::uint64_t now_ns_ = 0;
  MachineStats stats_;
  std::vector<MsiRecord> msi_log_;
  std::string crash_report_;
  port::PciAddress crashed_device_{};
  /// A device's decode counter and the value the cache was built at.
  struct Watch {
    const std::uint64_t* counter;
    std::uint64_t seen;
  };
  // Decode cache (logically const, hence mutable): valid while every slot's
  // counter holds the value it was built at; never used when one has none.
  mutable std::vector<Region> bar_regions_;
  mutable std::vector<Watch> watched_;
  mutable bool decode_valid_ = false;
};

}  // namespace vmsg::machine

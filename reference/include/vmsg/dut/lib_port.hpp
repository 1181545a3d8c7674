// LibPort: the port interface over a device-under-test shared library
// (vmsg_dut.h). The host half of a machine: it owns guest RAM and the address
// map, the library owns the PCI function(s).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vmsg/dut/library.hpp"
#include "vmsg/machine/guest_ram.hpp"
#include "vmsg/machine/machine.hpp"
#include "vmsg/machine/q35_platform.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::dut {

/// The library's create() refused the configuration string (a PortError
/// whose what() carries the library's message): a topology, device or fault
/// it does not build, as opposed to a library that broke a rule.
class ConfigRefused final : public PortError {
 public:
  using PortError::PortError;
};

/// Choices of a LibPort.
struct LibPortOptions {
  std::string config;                      ///< the configuration string (vmsg_dut.h); "" = library default
  std::uint64_t ram_size = 128ULL << 20;   ///< guest RAM from address 0, as machine::MachineConfig
};

/// port::Port over a DUT library, with the in-process machine's address map
/// (machine/machine.hpp): RAM at 0, ECAM at 0xB0000000, BARs from 0xE0000000.
///
/// q35's chipset functions (machine/q35_platform.hpp) are the host's, as on
/// the Machine: their config space is answered here and never asked of the
/// library, and a library that puts a function at one of their addresses is
/// refused at construction (PortError), as QEMU refuses `addr=00.0`.
///
/// Routing of one access, first match wins: RAM and ECAM here (ECAM becomes
/// config_read/config_write of the library); every other address goes to the
/// library's mmio_read/mmio_write, which answers VMSG_DUT_UNMAPPED when no BAR
/// of its own decodes it. Unbacked accesses read 0 and drop writes, counted
/// as in machine::MachineStats. Bulk transfers outside RAM go to the library
/// in one call when it offers the ABI 1.2 bulk entries and the range is plain
/// BAR memory; otherwise they are split into the naturally aligned pieces of
/// at most 8 (ECAM: 4) bytes the Machine uses.
///
/// Errors: a library that cannot be loaded or refuses the configuration, and
/// any failing status of a call, throw vmsg::PortError with the library's own
/// message. Not thread-safe.
class LibPort final : public port::Port {
 public:
  /// Loads `path` and creates one instance. Throws PortError (load, version,
  /// create, a function on a chipset address) or ConfigError (RAM size
  /// outside (1 MiB, 0xB0000000]).
  explicit LibPort(const std::string& path, LibPortOptions options = {});
  /// Creates an instance from an already loaded library.
  LibPort(std::shared_ptr<Library> library, LibPortOptions options);
  ~LibPort() override;

  /// A power cycle with configuration `config`: the instance is destroyed and
  /// a new one created (the ABI has no reset; this is the one a vendor's
  /// device implements), and the host side is back to construction state:
  /// RAM zeroed (only pages written since the last clear), clock 0, stats,
  /// MSI log, log lines and violations empty. The library stays loaded and the
  /// RAM allocated, which is what makes this cheaper than a new LibPort.
  /// Throws PortError as the constructor does; the port then has no instance
  /// and every access throws PortError until a recreate() succeeds.
  void recreate(std::string config);
  /// Powers the device off until the next recreate(): the instance is
  /// destroyed now and the host side's logs emptied (every access throws
  /// PortError meanwhile). For a caller that power-cycles per run (fuzz_diff):
  /// what a run made is freed within it, not at the next run's recreate().
  void release() noexcept;
  // The library holds a pointer to this object as callback context.
  LibPort(const LibPort&) = delete;
  LibPort& operator=(const LibPort&) = delete;

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override;
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override;
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override;
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override;
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override;
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override;
  /// Advances the host clock first, then the library (MSIs it raises are
  /// stamped with the new time, as on the Machine).
  void advance_time(std::uint64_t ns) override;
  [[nodiscard]] port::AddressMap address_map() const override;

  // Host-side inspection (not part of the port) -------------------------------
  [[nodiscard]] const Library& library() const noexcept { return *library_; }
  [[nodiscard]] const LibPortOptions& options() const noexcept { return options_; }
  [[nodiscard]] machine::GuestRam& ram() noexcept { return ram_; }
  [[nodiscard]] std::uint64_t now_ns() const noexcept { return now_ns_; }
  [[nodiscard]] const machine::MachineStats& stats() const noexcept { return stats_; }
  void reset_stats() noexcept { stats_ = {}; }
  [[nodiscard]] const std::vector<machine::MsiRecord>& msi_log() const noexcept { return msi_log_; }
  void clear_msi_log() noexcept { msi_log_.clear(); }
  // Optional capabilities (vmsg_dut.h ABI 1.1) -----------------------------------
  /// True when the library offers stimulus().
  [[nodiscard]] bool has_stimulus() const noexcept { return library_->stimulus_fn() != nullptr; }
  /// Runs one stimulus action, e.g. "config-change fifo=0 dev=1". False when
  /// the library answers VMSG_DUT_UNSUPPORTED. Throws PortError when the
  /// capability is absent or the call fails.
  bool stimulus(const std::string& action);
  /// True when the library offers violations().
  [[nodiscard]] bool has_violations() const noexcept { return library_->violations_fn() != nullptr; }
  /// Every violation line (vmsg_dut.h format, without the newline) fetched
  /// from the library since the last take/clear, oldest first. Fetching
  /// clears them in the library; the port keeps them until take or clear.
  /// Throws PortError when the capability is absent or the call fails.
  const std::vector<std::string>& peek_violations();
  /// As peek_violations(), and forgets them.
  std::vector<std::string> take_violations();
  /// Drops the lines held here and, through the explicit clear, in the library.
  void clear_violations();

  /// Lines the library sent through the log callback ("LEVEL: text"), oldest first, at most 1000.
  [[nodiscard]] const std::vector<std::string>& log() const noexcept { return log_; }

 private:
  struct Host;  // the C callbacks
  friend struct Host;

  /// Creates the instance from options_ (constructor and recreate()).
  void create_instance();
  /// The live instance; PortError after a failed recreate().
  [[nodiscard]] vmsg_dut* instance() const;
  /// Throws PortError for a failing status of `what`.
  void check(int status, const std::string& what);
  /// One naturally aligned config access: a chipset function, else the library's.
  std::uint32_t lib_config_read(port::PciAddress fn, std::uint16_t offset, unsigned size);
  void lib_config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value);
  /// One access outside RAM: ECAM here, everything else to the library; false when unbacked.
  bool outer_read(std::uint64_t addr, unsigned size, std::uint64_t& value);
  bool outer_write(std::uint64_t addr, unsigned size, std::uint64_t value);
  /// The rest of a bulk transfer outside RAM in one library call (ABI 1.2);
  /// false when the library has no such entry or declines (the caller then
  /// goes piece by piece).
  bool outer_bulk_read(std::uint64_t addr, std::span<std::uint8_t> out);
  bool outer_bulk_write(std::uint64_t addr, std::span<const std::uint8_t> data);
  /// Moves the library's pending violation lines into violations_.
  void fetch_violations();

  /// The chipset function at `fn`, or null.
  [[nodiscard]] pci::PciDevice* platform_function(port::PciAddress fn) const;

  std::shared_ptr<Library> library_;
  LibPortOptions options_;
  std::vector<machine::PlatformFunction> platform_ = machine::q35_platform();
  machine::GuestRam ram_;
  vmsg_dut* dut_ = nullptr;
  std::uint64_t now_ns_ = 0;
  machine::MachineStats stats_;
  std::vector<machine::MsiRecord> msi_log_;
  std::vector<std::string> log_;
  std::vector<std::string> violations_;  // fetched, not yet taken
};

}  // namespace vmsg::dut

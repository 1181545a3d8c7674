// PciFunction: a ready-made PciDevice made of a ConfigSpace and an optional
// Msix, so a concrete device only supplies its own BAR registers.
//
// Composition (template method): a device derives from PciFunction and
// overrides the protected hooks. PciFunction keeps the routing final so a
// device cannot bypass it by accident:
//   config_read/config_write -> ConfigSpace (+ Msix::config_written);
//                               Command changes -> Msix::update, then on_command_changed
//   bar_read/bar_write       -> MSI-X BAR to Msix; other implemented BARs, with
//                               the access inside the BAR and size 1/2/4/8, to
//                               on_bar_read/on_bar_write; everything else reads
//                               0 / is ignored without reaching the device
//   attach                   -> stores the DmaSpace, gives it to Msix, on_attach
//   advance_time             -> no-op unless overridden
// The machine only routes accesses it decoded through bar_mapping(), so
// bar_read/bar_write do not re-check memory decoding.
//
//   class AmpPci final : public pci::PciFunction {
//    public:
//     AmpPci() : PciFunction(make_spec()) {}
//    protected:
//     std::uint64_t on_bar_read(unsigned bar, std::uint64_t off, unsigned size) override;
//     void on_bar_write(unsigned bar, std::uint64_t off, unsigned size, std::uint64_t v) override;
//   };
//   ... raise FIFO q's interrupt: notify(q);
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "vmsg/pci/config_space.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/pci/msix.hpp"
#include "vmsg/pci/pci_device.hpp"

namespace vmsg::pci {

/// MSI-X request of a function: `vectors` entries in the exclusive BAR `bar`.
struct MsixSpec {
  unsigned vectors = 1;
  unsigned bar = 0;
};

/// Everything needed to build a PciFunction.
struct FunctionSpec {
  PciIdentity identity;
  BarSpecs bars{};
  std::optional<MsixSpec> msix;  ///< nullopt: no MSI-X capability
};

/// A PCI function's generic part; see the file comment for how a device
/// composes it. Not copyable or movable (its parts refer to each other).
class PciFunction : public PciDevice {
 public:
  /// Throws vmsg::ConfigError for an invalid identity, BAR set or MSI-X
  /// request (see ConfigSpace and Msix constructors).
  explicit PciFunction(const FunctionSpec& spec);
  PciFunction(const PciFunction&) = delete;
  PciFunction& operator=(const PciFunction&) = delete;
  ~PciFunction() override = default;

  void attach(DmaSpace& dma) final;
  [[nodiscard]] std::uint32_t config_read(std::uint16_t offset, unsigned size) final;
  void config_write(std::uint16_t offset, unsigned size, std::uint32_t value) final;
  /// {address, size} only when memory decoding is on and the BAR holds a
  /// usable address: non-zero and, as in QEMU's pci_bar_address(), not
  /// reaching 0xFFFFFFFF (so a BAR left at its all-ones sizing value is not
  /// decoded even with MEM on). Callers ask at every access, so the answers
  /// are kept while the config generation holds the value they were taken at.
  [[nodiscard]] std::optional<BarMapping> bar_mapping(unsigned bar) const final;
  /// The config space's write generation: BAR decode depends on nothing else.
  [[nodiscard]] const std::uint64_t* decode_generation() const noexcept final { return config_.generation_counter(); }
  /// Forwards to on_bar_read_bulk/on_bar_write_bulk for a device-owned BAR
  /// (not the MSI-X BAR) when the range lies inside it.
  bool bar_read_bulk(unsigned bar, std::uint64_t offset, std::span<std::uint8_t> out) final;
  bool bar_write_bulk(unsigned bar, std::uint64_t offset, std::span<const std::uint8_t> data) final;
  [[nodiscard]] std::uint64_t bar_read(unsigned bar, std::uint64_t offset, unsigned size) final;
  void bar_write(unsigned bar, std::uint64_t offset, unsigned size, std::uint64_t value) final;
  void advance_time(std::uint64_t ns) override;

  /// Raises MSI-X vector `vector`; ignored (and counted by Msix) when out of
  /// range, a no-op without MSI-X.
  void notify(unsigned vector);
  /// PCI-level reset of config space and MSI-X; device-specific state is the
  /// derived class's business.
  void reset();

  /// Config space and MSI-X at one instant; device-specific state is the
  /// derived class's business. A value.
  struct PciState {
    ConfigSpace::State config;
    std::optional<Msix::State> msix;
  };
  [[nodiscard]] PciState save_pci() const;
  /// Puts config space and MSI-X back without firing on_command_changed or
  /// delivering anything. Throws vmsg::SnapshotError (nothing changed) when
  /// the state's MSI-X does not fit this function's.
  void restore_pci(const PciState& s);

  [[nodiscard]] ConfigSpace& config() noexcept { return config_; }
  [[nodiscard]] const ConfigSpace& config() const noexcept { return config_; }
  /// nullptr when the function has no MSI-X.
  [[nodiscard]] Msix* msix() noexcept { return msix_ ? &*msix_ : nullptr; }
  [[nodiscard]] const Msix* msix() const noexcept { return msix_ ? &*msix_ : nullptr; }
  /// nullptr until attached.
  [[nodiscard]] DmaSpace* dma() const noexcept { return dma_; }

 protected:
  /// An access to a device-owned BAR: bar implemented and not the MSI-X BAR,
  /// size 1, 2, 4 or 8, offset + size <= BAR size. Alignment is not checked:
  /// what an unaligned register access does is the device's to define.
  [[nodiscard]] virtual std::uint64_t on_bar_read(unsigned bar, std::uint64_t offset, unsigned size);
  virtual void on_bar_write(unsigned bar, std::uint64_t offset, unsigned size, std::uint64_t value);
  /// Bulk access to a device-owned BAR, range already checked; false (the
  /// default) unless the range is plain memory (see PciDevice::bar_read_bulk).
  virtual bool on_bar_read_bulk(unsigned bar, std::uint64_t offset, std::span<std::uint8_t> out);
  virtual bool on_bar_write_bulk(unsigned bar, std::uint64_t offset, std::span<const std::uint8_t> data);
  /// Command changed by a config write or reset (after Msix has re-evaluated).
  virtual void on_command_changed(std::uint16_t old_command, std::uint16_t new_command);
  /// Called by attach() after the DmaSpace is stored and handed to Msix.
  virtual void on_attach(DmaSpace& dma);

 private:
  /// bar_mapping()'s rule, from config space as it is now.
  [[nodiscard]] std::optional<BarMapping> decode_bar(unsigned bar) const;
  /// [offset, offset + size) lies inside BAR `bar` (an unimplemented BAR has size 0).
  [[nodiscard]] bool inside_bar(unsigned bar, std::uint64_t offset, std::uint64_t size) const noexcept;
  [[nodiscard]] bool device_access_ok(unsigned bar, std::uint64_t offset, unsigned size) const noexcept;
  [[nodiscard]] bool device_bulk_ok(unsigned bar, std::uint64_t offset, std::size_t size) const noexcept;

  ConfigSpace config_;
  std::optional<Msix> msix_;
  DmaSpace* dma_ = nullptr;
  // bar_mapping()'s answers (logically const), valid at config generation mappings_at_.
  mutable std::array<std::optional<BarMapping>, cfg::kNumBars> mappings_{};
  mutable std::uint64_t mappings_at_ = 0;
  mutable bool mappings_valid_ = false;
};

}  // namespace vmsg::pci

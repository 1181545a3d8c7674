// The virtio-msg-amp-pci PCI function (amp-pci-device.md §2-§5, §7): BAR0
// registers with one doorbell per FIFO, BAR1 FIFO RAM (16 KiB per FIFO), BAR2
// MSI-X with one vector per FIFO, and one virtio-msg bus per FIFO.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vmsg/amp/fifo_channel.hpp"
#include "vmsg/amp/registers.hpp"
#include "vmsg/bus/bus.hpp"
#include "vmsg/common/faults.hpp"
#include "vmsg/pci/function.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::amp {

/// PCI identity of QEMU's device (amp-pci-device.md §2; AMP-002).
namespace ident {
inline constexpr std::uint16_t kVendorId = 0x10EE;
inline constexpr std::uint16_t kDeviceId = 0x9039;
inline constexpr std::uint8_t kRevision = 0x01;
inline constexpr std::uint32_t kClassCode = 0x088000;  // system peripheral, other
inline constexpr std::uint16_t kSubsystemVendorId = 0x1AF4;
inline constexpr std::uint16_t kSubsystemId = 0x1100;
}  // namespace ident

/// BAR numbers and sizes (amp-pci-device.md §3).
namespace bars {
inline constexpr unsigned kRegisters = 0;
inline constexpr unsigned kFifoRam = 1;
inline constexpr unsigned kMsix = 2;
inline constexpr std::uint64_t kMsixSize = 0x1000;
}  // namespace bars

/// Construction parameters of the device.
struct AmpConfig {
  /// FIFOs (bus instances). QEMU can build 1, 2, 4 or 8: BAR1 is num_fifos ×
  /// 16 KiB and must be a power of two. Anything else is refused.
  unsigned num_fifos = 1;
  wire::Profile profile = wire::Profile::pr28();
  ChannelOptions channel{};
  bus::BusOptions bus{};
  /// Fault modes (off = conforming). The device applies the ones it owns
  /// (registers, MSI-X, bus mastering, rings) and hands the set on to every
  /// FIFO's channel and Bus (merged into bus.faults).
  fault::FaultSet faults{};
};

/// Counters of BAR0 accesses the device ignored, by reason.
struct RegisterStats {
  std::uint64_t doorbells = 0;
  std::uint64_t read_only_writes = 0;
  std::uint64_t no_such_fifo = 0;
  std::uint64_t bad_width = 0;
  std::uint64_t unaligned = 0;
};

/// The amp-pci device. Not copyable or movable.
class AmpPciDevice final : public pci::PciFunction {
 public:
  /// Throws vmsg::ConfigError for a num_fifos QEMU cannot build (0, 3, 5, 6, 7, > 8)
  /// or an unusable profile/channel configuration.
  explicit AmpPciDevice(const AmpConfig& config = {});
  ~AmpPciDevice() override;

  [[nodiscard]] unsigned num_fifos() const noexcept { return static_cast<unsigned>(channels_.size()); }
  /// The bus of FIFO `fifo` (plug endpoints here). Throws std::out_of_range.
  [[nodiscard]] bus::Bus& bus(unsigned fifo) { return channel(fifo).bus(); }
  /// Plugs a device behind FIFO `fifo` at `dev_num`: hands it the function's
  /// bus-master memory view, then plugs it into that FIFO's bus.
  void plug(unsigned fifo, std::uint16_t dev_num, bus::Endpoint& endpoint);
  /// Guest memory as devices behind this function reach it: DMA works only
  /// while the function is attached to a machine and Bus Master Enable is set.
  [[nodiscard]] pci::DmaSpace& bus_master() noexcept;
  [[nodiscard]] FifoChannel& channel(unsigned fifo);
  [[nodiscard]] const FifoChannel& channel(unsigned fifo) const;
  [[nodiscard]] const RegisterStats& register_stats() const noexcept { return reg_stats_; }
  [[nodiscard]] const AmpConfig& config_params() const noexcept { return config_; }

  void advance_time(std::uint64_t ns) override;

  /// Power-on reset of the whole function: config space and MSI-X
  /// (PciFunction::reset), FIFO RAM zeroed, channels and buses back to
  /// power-on (FifoChannel::reset), register counters cleared. The buses come
  /// back empty: endpoints must be plugged again (plug()). The bus-master
  /// attachment to the machine is kept.
  void reset();

  /// The whole function at one instant: config space, MSI-X, FIFO RAM,
  /// channels and buses (with their plug maps), register counters. Not the
  /// endpoints' own state, nor the bus-master attachment. A value.
  struct State {
    const AmpPciDevice* owner = nullptr;
    PciState pci;
    std::vector<std::uint8_t> bar1;
    std::vector<FifoChannel::State> channels;
    RegisterStats reg_stats;
  };
  [[nodiscard]] State save() const;
  /// Puts the function back as saved. With `plugs`, the saved endpoints go
  /// back into their bus slots (Bus::restore) after getting this function's
  /// memory view; without, the buses keep their present plugs. Throws
  /// vmsg::SnapshotError (nothing changed) for another device's state.
  void restore(const State& s, bool plugs = true);

 protected:
  std::uint64_t on_bar_read(unsigned bar, std::uint64_t offset, unsigned size) override;
  void on_bar_write(unsigned bar, std::uint64_t offset, unsigned size, std::uint64_t value) override;
  /// BAR1 is plain RAM: one copy. BAR0 (registers) is never bulk.
  bool on_bar_read_bulk(unsigned bar, std::uint64_t offset, std::span<std::uint8_t> out) override;
  bool on_bar_write_bulk(unsigned bar, std::uint64_t offset, std::span<const std::uint8_t> data) override;
  void on_command_changed(std::uint16_t old_command, std::uint16_t new_command) override;

 private:
  class BusMasterDma;

  void register_write(std::uint64_t offset, unsigned size, std::uint64_t value);
  /// Builds the channels, once, at construction: reset and restore work in
  /// place, so saved bus states keep naming live buses.
  void make_channels();

  AmpConfig config_;
  Registers regs_;
  std::unique_ptr<BusMasterDma> bus_master_;
  std::size_t bar1_size_;
  std::unique_ptr<std::uint8_t[]> bar1_;  // FIFO RAM, zero at start
  std::vector<std::unique_ptr<FifoChannel>> channels_;
  RegisterStats reg_stats_{};
};

}  // namespace vmsg::amp

// Bring-up of a virtio-msg-amp-pci function through a port: find it, size and
// assign its BARs, enable memory decoding and bus mastering, point one MSI-X
// vector per FIFO at a word in guest RAM, and hand out a FifoLink per FIFO.
// The same steps a qtest script or a firmware-less guest performs
// (amp-pci-device.md §9.2-§9.4).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "vmsg/driver/fifo_link.hpp"
#include "vmsg/driver/guest_alloc.hpp"
#include "vmsg/driver/msix_setup.hpp"
#include "vmsg/driver/pci_probe.hpp"
#include "vmsg/port/port.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::driver {

/// PCI identity the driver binds to.
inline constexpr std::uint16_t kAmpVendorId = 0x10EE;
inline constexpr std::uint16_t kAmpDeviceId = 0x9039;

/// Choices of AmpDriver::open.
struct AmpDriverOptions {
  unsigned index = 0;                ///< which matching function (0 = first)
  bool use_msix = true;              ///< false: polling only, MSI-X left disabled
  std::uint32_t msi_data = 0x12345678;  ///< data word of FIFO q's vector is msi_data + q
  wire::Profile profile = wire::Profile::pr28();
};

/// An opened amp-pci function with one link per FIFO.
class AmpDriver {
 public:
  /// Throws ProbeError when no such function exists or its layout is
  /// unusable (BAR1 not a multiple of 16 KiB, MSI-X table too small, ...).
  static AmpDriver open(port::Port& port, GuestAllocator& ram, BarWindowAllocator& window,
                        const AmpDriverOptions& options = {});

  [[nodiscard]] unsigned num_fifos() const noexcept { return static_cast<unsigned>(links_.size()); }
  /// Throws std::out_of_range for fifo >= num_fifos().
  [[nodiscard]] FifoLink& fifo(unsigned fifo);
  [[nodiscard]] const ProbedFunction& function() const noexcept { return function_; }
  [[nodiscard]] const std::optional<MsixInfo>& msix() const noexcept { return msix_; }
  [[nodiscard]] std::uint64_t bar0() const noexcept { return function_.bars[0].base; }
  [[nodiscard]] std::uint64_t bar1() const noexcept { return function_.bars[1].base; }
  [[nodiscard]] std::uint64_t bar2() const noexcept { return function_.bars[2].base; }

 private:
  AmpDriver(ProbedFunction f, std::optional<MsixInfo> m, std::vector<FifoLink> links)
      : function_(std::move(f)), msix_(std::move(m)), links_(std::move(links)) {}

  ProbedFunction function_;
  std::optional<MsixInfo> msix_;
  std::vector<FifoLink> links_;
};

}  // namespace vmsg::driver

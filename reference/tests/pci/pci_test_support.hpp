// Shared fixtures for the pci tests: the amp-pci identity and a DmaSpace that
// records MSI writes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vmsg/pci/config_space.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/pci/function.hpp"

namespace vmsg::pci::test {

/// The identity QEMU's virtio-msg-amp-pci reports (amp-pci-device.md §2).
inline PciIdentity amp_identity() {
  return PciIdentity{.vendor_id = 0x10EE,
                     .device_id = 0x9039,
                     .revision = 0x01,
                     .class_code = 0x088000,
                     .subsystem_vendor_id = 0x1AF4,
                     .subsystem_id = 0x1100};
}

/// BAR0 16 KiB registers, BAR1 16 KiB x fifos prefetchable, BAR2 4 KiB MSI-X (§3).
inline BarSpecs amp_bars(unsigned fifos) {
  BarSpecs b{};
  b[0] = {0x4000, false};
  b[1] = {0x4000u * fifos, true};
  b[2] = {0x1000, false};
  return b;
}

/// The amp function spec: one MSI-X vector per FIFO in BAR2.
inline FunctionSpec amp_spec(unsigned fifos) {
  return FunctionSpec{amp_identity(), amp_bars(fifos), MsixSpec{fifos, 2}};
}

/// One recorded MSI write.
struct MsiWrite {
  std::uint64_t addr = 0;
  std::uint32_t data = 0;
  friend bool operator==(const MsiWrite&, const MsiWrite&) = default;
};

/// Records MSI writes; refuses them when `accept` is false (no RAM there).
class FakeDma final : public DmaSpace {
 public:
  bool dma_read(std::uint64_t /*addr*/, std::span<std::uint8_t> /*out*/) override { return false; }
  bool dma_write(std::uint64_t /*addr*/, std::span<const std::uint8_t> /*data*/) override { return false; }
  bool msi_write(std::uint64_t addr, std::uint32_t data) override {
    writes.push_back({addr, data});
    return accept;
  }
  std::vector<MsiWrite> writes;
  bool accept = true;
};

}  // namespace vmsg::pci::test

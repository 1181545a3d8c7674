// Msix fault mode "msix-ignores-mask": masked vectors are written instead of
// held in the PBA. The other blocking reasons (disabled, BME off) still hold.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "pci/pci_test_support.hpp"
#include "vmsg/pci/function.hpp"
#include "vmsg/pci/msix.hpp"

namespace vmsg::pci {
namespace {

constexpr unsigned kBar = 2;

struct Fn {
  explicit Fn(bool ignore_mask) : fn(test::amp_spec(2)) {
    fn.attach(dma);
    fn.msix()->set_ignore_mask(ignore_mask);
    fn.config_write(0x04, 2, 0x0006);
    fn.config_write(0x42, 2, 0x8000);
    for (unsigned v = 0; v < 2; ++v) {
      fn.bar_write(kBar, 16ULL * v, 4, 0x100000 + 4ULL * v);
      fn.bar_write(kBar, 16ULL * v + 8, 4, 0x40 + v);
      fn.bar_write(kBar, 16ULL * v + 12, 4, v == 0 ? 1u : 0u);  // vector 0 masked
    }
  }
  test::FakeDma dma;
  PciFunction fn;
};

TEST(MsixFaults, IgnoreMaskOffHoldsMaskedVectors) {
  Fn f(false);
  f.fn.notify(0);
  EXPECT_TRUE(f.dma.writes.empty());
  EXPECT_TRUE(f.fn.msix()->pending(0));
  f.fn.config_write(0x42, 2, 0xC000);  // function mask
  f.fn.notify(1);
  EXPECT_TRUE(f.dma.writes.empty());
  EXPECT_TRUE(f.fn.msix()->pending(1));
}

TEST(MsixFaults, IgnoreMaskOnWritesMaskedVectors) {
  Fn f(true);
  f.fn.notify(0);
  EXPECT_EQ(f.dma.writes, (std::vector<test::MsiWrite>{{0x100000, 0x40}}));
  EXPECT_FALSE(f.fn.msix()->pending(0));
  f.fn.config_write(0x42, 2, 0xC000);
  f.fn.notify(1);
  EXPECT_EQ(f.dma.writes.size(), 2u);
  EXPECT_FALSE(f.fn.msix()->pending(1));
}

TEST(MsixFaults, IgnoreMaskOnStillHonoursEnableAndBusMaster) {
  Fn f(true);
  f.fn.config_write(0x04, 2, 0x0002);  // BME off
  f.fn.notify(0);
  EXPECT_TRUE(f.dma.writes.empty());
  EXPECT_TRUE(f.fn.msix()->pending(0));
  f.fn.config_write(0x04, 2, 0x0006);  // BME on: released although the entry is masked
  EXPECT_EQ(f.dma.writes.size(), 1u);
  f.fn.config_write(0x42, 2, 0x0000);  // MSI-X disabled
  f.fn.notify(1);
  EXPECT_EQ(f.dma.writes.size(), 1u);
}

}  // namespace
}  // namespace vmsg::pci

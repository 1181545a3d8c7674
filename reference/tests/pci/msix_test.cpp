// Msix: capability layout, table/PBA MMIO, delivery and every way a vector is
// held pending and later released (qemu-observed.md §5, amp-pci-device.md §7).
#include "vmsg/pci/msix.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "pci/pci_test_support.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/pci/function.hpp"

namespace vmsg::pci {
namespace {

using test::FakeDma;
using test::MsiWrite;

constexpr std::uint64_t kMsiAddr = 0x100000;
constexpr std::uint32_t kMsiData = 0x12345678;
constexpr unsigned kBar = 2;

/// An amp-like function driven only through config and BAR2 accesses, as a driver would.
class MsixTest : public ::testing::Test {
 protected:
  void make(unsigned vectors) {
    fn = std::make_unique<PciFunction>(test::amp_spec(vectors));
    fn->attach(dma);
  }
  void command(std::uint16_t v) { fn->config_write(0x04, 2, v); }
  void control(std::uint16_t v) { fn->config_write(0x42, 2, v); }
  void program(unsigned v, std::uint64_t addr, std::uint32_t data, bool masked) {
    const std::uint64_t e = std::uint64_t{v} * 16;
    fn->bar_write(kBar, e + 0, 4, addr & 0xFFFFFFFFu);
    fn->bar_write(kBar, e + 4, 4, addr >> 32);
    fn->bar_write(kBar, e + 8, 4, data);
    fn->bar_write(kBar, e + 12, 4, masked ? 1u : 0u);
  }
  void set_mask(unsigned v, bool masked) { fn->bar_write(kBar, std::uint64_t{v} * 16 + 12, 4, masked ? 1u : 0u); }
  std::uint64_t pba() { return fn->bar_read(kBar, 0x800, 4); }
  /// Enabled, unmasked function with MEM and BME on: everything but the entry.
  void ready() {
    command(0x0006);
    control(0x8000);
  }
  const MsixStats& stats() { return fn->msix()->stats(); }

  FakeDma dma;
  std::unique_ptr<PciFunction> fn;
};

TEST_F(MsixTest, CapabilityLayoutOneVector) {
  make(1);
  EXPECT_EQ(fn->config_read(0x40, 4), 0x00000011u);
  EXPECT_EQ(fn->config_read(0x42, 2), 0x0000u);
  EXPECT_EQ(fn->config_read(0x44, 4), 0x00000002u);
  EXPECT_EQ(fn->config_read(0x48, 4), 0x00000802u);
  EXPECT_EQ(fn->msix()->capability_offset(), 0x40u);
  EXPECT_EQ(fn->config().find_capability(0x11), 0x40u);
}

TEST_F(MsixTest, CapabilityLayoutTwoVectors) {
  make(2);
  EXPECT_EQ(fn->config_read(0x40, 4), 0x00010011u);
  EXPECT_EQ(fn->config_read(0x42, 2), 0x0001u);
}

TEST_F(MsixTest, MessageControlWritableBits) {
  make(2);
  control(0x8000);
  EXPECT_EQ(fn->config_read(0x40, 4), 0x80010011u);
  EXPECT_TRUE(fn->msix()->enabled());
  EXPECT_FALSE(fn->msix()->function_masked());
  fn->config_write(0x40, 4, 0xFFFFFFFF);  // ID, next and table size are read-only
  EXPECT_EQ(fn->config_read(0x40, 4), 0xC0010011u);
  EXPECT_TRUE(fn->msix()->function_masked());
  fn->config_write(0x43, 1, 0x00);
  EXPECT_EQ(fn->config_read(0x42, 2), 0x0001u);
  fn->config_write(0x44, 4, 0xFFFFFFFF);
  fn->config_write(0x48, 4, 0);
  EXPECT_EQ(fn->config_read(0x44, 4), 0x00000002u);
  EXPECT_EQ(fn->config_read(0x48, 4), 0x00000802u);
}

TEST_F(MsixTest, EntriesResetMasked) {
  make(2);
  for (unsigned v = 0; v < 2; ++v) {
    EXPECT_EQ(fn->bar_read(kBar, v * 16u + 12, 4), 1u);
    EXPECT_EQ(fn->bar_read(kBar, v * 16u + 0, 4), 0u);
    EXPECT_EQ(fn->bar_read(kBar, v * 16u + 8, 4), 0u);
    EXPECT_TRUE(fn->msix()->entry(v).masked());
  }
  EXPECT_EQ(pba(), 0u);
}

TEST_F(MsixTest, DeliveredWithExactAddressAndData) {
  make(1);
  ready();
  program(0, kMsiAddr, kMsiData, false);
  // Table bytes as qemu-observed.md §3 dumps them: 00001000 00000000 78563412 00000000.
  EXPECT_EQ(fn->bar_read(kBar, 0, 4), 0x00100000u);
  EXPECT_EQ(fn->bar_read(kBar, 4, 4), 0u);
  EXPECT_EQ(fn->bar_read(kBar, 8, 4), 0x12345678u);
  EXPECT_EQ(fn->bar_read(kBar, 12, 4), 0u);
  EXPECT_EQ(pba(), 0u);
  fn->notify(0);
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{kMsiAddr, kMsiData}));
  EXPECT_EQ(stats().delivered, 1u);
  EXPECT_EQ(stats().set_pending, 0u);
  fn->notify(0);  // no coalescing: one write per notify
  EXPECT_EQ(dma.writes.size(), 2u);
}

TEST_F(MsixTest, SixtyFourBitAddress) {
  make(1);
  ready();
  program(0, 0x1'0000'2004u, 7, false);
  fn->notify(0);
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{0x1'0000'2004u, 7}));
}

TEST_F(MsixTest, MaskedEntryPendsThenUnmaskDelivers) {
  make(1);
  ready();
  program(0, kMsiAddr, kMsiData, true);
  fn->notify(0);
  EXPECT_TRUE(dma.writes.empty());
  EXPECT_EQ(pba(), 0x1u);
  EXPECT_TRUE(fn->msix()->pending(0));
  EXPECT_EQ(stats().set_pending, 1u);
  set_mask(0, false);
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{kMsiAddr, kMsiData}));
  EXPECT_EQ(pba(), 0u);
  EXPECT_EQ(stats().delivered, 1u);
}

TEST_F(MsixTest, RepeatedNotifiesCoalesceInPba) {
  make(1);
  ready();
  program(0, kMsiAddr, kMsiData, true);
  fn->notify(0);
  fn->notify(0);
  fn->notify(0);
  EXPECT_EQ(stats().set_pending, 3u);
  set_mask(0, false);
  EXPECT_EQ(dma.writes.size(), 1u);
}

TEST_F(MsixTest, UnmaskUsesCurrentEntryContents) {
  make(1);
  ready();
  program(0, kMsiAddr, kMsiData, true);
  fn->notify(0);
  fn->bar_write(kBar, 8, 4, 0xCAFE);  // reprogram data while pending
  EXPECT_TRUE(dma.writes.empty());
  set_mask(0, false);
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{kMsiAddr, 0xCAFE}));
}

TEST_F(MsixTest, FunctionMaskHoldsUntilCleared) {
  make(1);
  command(0x0006);
  control(0xC000);
  program(0, kMsiAddr, kMsiData, false);
  fn->notify(0);
  EXPECT_TRUE(dma.writes.empty());
  EXPECT_EQ(pba(), 0x1u);
  control(0x8000);
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{kMsiAddr, kMsiData}));
  EXPECT_EQ(pba(), 0u);
}

TEST_F(MsixTest, DisabledHoldsUntilEnabled) {
  make(1);
  command(0x0006);
  program(0, kMsiAddr, kMsiData, false);
  fn->notify(0);
  EXPECT_TRUE(dma.writes.empty());
  EXPECT_EQ(pba(), 0x1u);
  fn->config_write(0x43, 1, 0x80);  // byte write of the Enable bit
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(pba(), 0u);
}

TEST_F(MsixTest, EnableWithFunctionMaskStillHolds) {
  make(1);
  command(0x0006);
  program(0, kMsiAddr, kMsiData, false);
  fn->notify(0);
  control(0xC000);
  EXPECT_TRUE(dma.writes.empty());
  control(0x8000);
  EXPECT_EQ(dma.writes.size(), 1u);
}

TEST_F(MsixTest, BusMasterOffPendsThenBmeDelivers) {
  make(1);
  command(0x0002);  // MEM only
  control(0x8000);
  program(0, kMsiAddr, kMsiData, false);
  fn->notify(0);
  EXPECT_TRUE(dma.writes.empty());
  EXPECT_EQ(pba(), 0x1u);
  command(0x0006);
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{kMsiAddr, kMsiData}));
  EXPECT_EQ(pba(), 0u);
}

TEST_F(MsixTest, VectorsAreIndependent) {
  make(2);
  ready();
  program(0, 0x1000, 0xA0, true);
  program(1, 0x2000, 0xB1, true);
  fn->notify(1);
  EXPECT_EQ(pba(), 0x2u);
  set_mask(0, false);  // nothing pending on 0
  EXPECT_TRUE(dma.writes.empty());
  set_mask(1, false);
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{0x2000, 0xB1}));
  fn->notify(0);
  ASSERT_EQ(dma.writes.size(), 2u);
  EXPECT_EQ(dma.writes[1], (MsiWrite{0x1000, 0xA0}));
}

TEST_F(MsixTest, PendingReleasedLowestFirst) {
  make(2);
  command(0x0006);
  program(0, 0x1000, 0xA0, false);
  program(1, 0x2000, 0xB1, false);
  fn->notify(1);
  fn->notify(0);
  EXPECT_EQ(pba(), 0x3u);
  control(0x8000);
  ASSERT_EQ(dma.writes.size(), 2u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{0x1000, 0xA0}));
  EXPECT_EQ(dma.writes[1], (MsiWrite{0x2000, 0xB1}));
  EXPECT_EQ(pba(), 0u);
}

TEST_F(MsixTest, VectorOutOfRangeIgnored) {
  make(1);
  ready();
  program(0, kMsiAddr, kMsiData, false);
  fn->notify(1);
  fn->notify(5000);
  EXPECT_TRUE(dma.writes.empty());
  EXPECT_EQ(pba(), 0u);
  EXPECT_EQ(stats().out_of_range, 2u);
  EXPECT_EQ(stats().set_pending, 0u);
  EXPECT_FALSE(fn->msix()->pending(1));
  EXPECT_TRUE(fn->msix()->entry(1).masked());  // default entry
}

TEST_F(MsixTest, TableAccessWidths) {
  make(1);
  program(0, 0x1122334455667788u, 0x99AABBCC, true);
  // 1- and 2-byte accesses read 0 and are ignored.
  EXPECT_EQ(fn->bar_read(kBar, 0, 1), 0u);
  EXPECT_EQ(fn->bar_read(kBar, 8, 2), 0u);
  fn->bar_write(kBar, 0, 1, 0xFF);
  fn->bar_write(kBar, 8, 2, 0xFFFF);
  fn->bar_write(kBar, 12, 1, 0);  // would unmask
  // Unaligned 4- and 8-byte accesses likewise.
  EXPECT_EQ(fn->bar_read(kBar, 2, 4), 0u);
  EXPECT_EQ(fn->bar_read(kBar, 4, 8), 0u);
  fn->bar_write(kBar, 2, 4, 0);
  fn->bar_write(kBar, 4, 8, 0);
  EXPECT_EQ(stats().ignored_accesses, 9u);
  EXPECT_EQ(fn->msix()->entry(0), (MsixEntry{0x1122334455667788u, 0x99AABBCC, 1}));
  // 8-byte accesses work, low dword at the lower offset.
  EXPECT_EQ(fn->bar_read(kBar, 0, 8), 0x1122334455667788u);
  EXPECT_EQ(fn->bar_read(kBar, 8, 8), 0x0000000199AABBCCu);
  fn->bar_write(kBar, 0, 8, 0x00000000FEE00000u);
  EXPECT_EQ(fn->bar_read(kBar, 0, 4), 0xFEE00000u);
  EXPECT_EQ(fn->bar_read(kBar, 4, 4), 0u);
}

TEST_F(MsixTest, EightByteWriteOfDataAndControlDeliversNewData) {
  make(1);
  ready();
  program(0, kMsiAddr, kMsiData, true);
  fn->notify(0);
  fn->bar_write(kBar, 8, 8, 0x00000000'0000BEEFu);  // data first, then unmask
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{kMsiAddr, 0xBEEF}));
}

TEST_F(MsixTest, PbaIsReadOnly) {
  make(1);
  ready();
  program(0, kMsiAddr, kMsiData, true);
  fn->notify(0);
  fn->bar_write(kBar, 0x800, 4, 0);
  fn->bar_write(kBar, 0x800, 8, 0);
  EXPECT_EQ(pba(), 1u);
  EXPECT_EQ(fn->bar_read(kBar, 0x800, 8), 1u);
  EXPECT_EQ(fn->bar_read(kBar, 0x804, 4), 0u);
  EXPECT_EQ(fn->bar_read(kBar, 0x800, 1), 0u);  // byte reads of the PBA are invalid too
}

TEST_F(MsixTest, GapsReadZero) {
  make(1);
  program(0, kMsiAddr, kMsiData, false);
  EXPECT_EQ(fn->bar_read(kBar, 0x10, 4), 0u);   // past the single entry
  EXPECT_EQ(fn->bar_read(kBar, 0x808, 4), 0u);  // past the 8-byte PBA
  EXPECT_EQ(fn->bar_read(kBar, 0xFFC, 4), 0u);
  fn->bar_write(kBar, 0x10, 4, 0xFFFFFFFF);
  EXPECT_EQ(fn->bar_read(kBar, 0x10, 4), 0u);
  EXPECT_EQ(fn->bar_read(kBar, 0x1000, 4), 0u);  // outside the BAR: not routed
}

TEST_F(MsixTest, RefusedWriteCountsAsLost) {
  make(1);
  ready();
  program(0, 0xDEAD0000, 1, false);
  dma.accept = false;
  fn->notify(0);
  EXPECT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(stats().delivered, 0u);
  EXPECT_EQ(stats().lost, 1u);
  EXPECT_EQ(pba(), 0u);  // gone, not pending: the write was issued
}

TEST_F(MsixTest, ResetMasksEntriesAndClearsPba) {
  make(1);
  ready();
  program(0, kMsiAddr, kMsiData, true);
  fn->notify(0);
  fn->reset();
  EXPECT_EQ(fn->config_read(0x40, 4), 0x00000011u);
  EXPECT_EQ(fn->config_read(0x04, 2), 0u);
  EXPECT_EQ(fn->msix()->entry(0), MsixEntry{});
  EXPECT_EQ(pba(), 0u);
  EXPECT_TRUE(dma.writes.empty());
}

// Msix on its own, without PciFunction, to pin down attach and the sizes.
TEST(MsixStandalone, HeldUntilAttached) {
  BarSpecs bars{};
  bars[4] = {0x1000, false};
  ConfigSpace cfg(test::amp_identity(), bars);
  Msix m(cfg, 1, 4);
  EXPECT_EQ(cfg.read(0x44, 4), 0x00000004u);
  EXPECT_EQ(cfg.read(0x48, 4), 0x00000804u);
  cfg.write(0x04, 2, 0x0006);
  m.update();
  cfg.write(0x42, 2, 0x8000);
  m.config_written(0x42, 2);
  m.mmio_write(0, 8, kMsiAddr);
  m.mmio_write(8, 8, kMsiData);  // data, unmasked
  EXPECT_EQ(m.pending_word(), 0u);
  m.notify(0);
  EXPECT_TRUE(m.pending(0));
  EXPECT_EQ(m.pending_word(), 1u);  // bit v for vector v, as pending(v)
  FakeDma dma;
  m.attach(dma);
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{kMsiAddr, kMsiData}));
  EXPECT_FALSE(m.pending(0));
  EXPECT_EQ(m.pending_word(), 0u);
}

TEST(MsixStandalone, LayoutForManyVectors) {
  EXPECT_EQ(Msix::pba_offset_for(1), 0x800u);
  EXPECT_EQ(Msix::required_bar_size(1), 0x1000u);
  EXPECT_EQ(Msix::pba_offset_for(128), 0x800u);
  EXPECT_EQ(Msix::required_bar_size(128), 0x1000u);
  EXPECT_EQ(Msix::pba_offset_for(129), 0x810u);
  EXPECT_EQ(Msix::required_bar_size(129), 0x1000u);  // PBA 0x810..0x828 still fits
  EXPECT_EQ(Msix::pba_offset_for(256), 0x1000u);
  EXPECT_EQ(Msix::required_bar_size(256), 0x2000u);
  EXPECT_EQ(Msix::pba_offset_for(2048), 0x8000u);
  EXPECT_EQ(Msix::required_bar_size(2048), 0x10000u);

  BarSpecs bars{};
  bars[0] = {0x10000, false};
  ConfigSpace cfg(test::amp_identity(), bars);
  Msix m(cfg, 2048, 0);
  EXPECT_EQ(cfg.read(0x40, 4), 0x07FF0011u);
  EXPECT_EQ(cfg.read(0x48, 4), 0x00008000u);
  m.notify(2047);  // disabled: pending
  EXPECT_EQ(m.mmio_read(0x8000 + 31 * 8 + 4, 4), 0x80000000u);
  EXPECT_EQ(m.mmio_read(0x8000 + 31 * 8, 8), 0x8000000000000000u);
  EXPECT_EQ(m.mmio_read(0x7FF0 + 12, 4), 1u);  // last entry, masked
  FakeDma dma;
  m.attach(dma);
  cfg.write(0x04, 2, 0x0004);
  cfg.write(0x42, 2, 0x8000);
  m.config_written(0x42, 2);
  m.mmio_write(0x7FF0, 4, 0x3000);
  m.mmio_write(0x7FF0 + 8, 4, 0x77);
  EXPECT_TRUE(dma.writes.empty());
  m.mmio_write(0x7FF0 + 12, 4, 0);
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{0x3000, 0x77}));
  EXPECT_EQ(m.mmio_read(0x8000 + 31 * 8, 8), 0u);
}

TEST(MsixStandalone, InvalidRequestsThrow) {
  BarSpecs bars{};
  bars[2] = {0x1000, false};
  bars[3] = {0x800, false};
  ConfigSpace cfg(test::amp_identity(), bars);
  EXPECT_THROW(Msix(cfg, 0, 2), ConfigError);
  EXPECT_THROW(Msix(cfg, 2049, 2), ConfigError);
  EXPECT_THROW(Msix(cfg, 1, 6), ConfigError);
  EXPECT_THROW(Msix(cfg, 1, 0), ConfigError);    // BAR not implemented
  EXPECT_THROW(Msix(cfg, 1, 3), ConfigError);    // BAR smaller than 4 KiB
  EXPECT_THROW(Msix(cfg, 256, 2), ConfigError);  // needs 8 KiB
  EXPECT_EQ(cfg.find_capability(0x11), std::nullopt);  // failed attempts left no capability
}

}  // namespace
}  // namespace vmsg::pci

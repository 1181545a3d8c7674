// PciFunction: the whole config dump of qemu-observed.md §2, BAR decoding,
// routing of BAR accesses and the device hooks.
#include "vmsg/pci/function.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "pci/pci_test_support.hpp"

namespace vmsg::pci {
namespace {

using test::FakeDma;
using test::MsiWrite;

/// Expected dword at every config offset 0x00..0xFC; unlisted ones are 0.
void expect_dump(PciFunction& fn, const std::map<std::uint16_t, std::uint32_t>& nonzero) {
  for (std::uint16_t off = 0; off < 0x100; off = static_cast<std::uint16_t>(off + 4)) {
    const auto it = nonzero.find(off);
    const std::uint32_t want = it == nonzero.end() ? 0u : it->second;
    EXPECT_EQ(fn.config_read(off, 4), want) << "config dword 0x" << std::hex << off;
  }
}

TEST(PciFunction, QemuConfigDumpOneFifo) {
  PciFunction fn(test::amp_spec(1));
  expect_dump(fn, {{0x00, 0x903910EE},
                   {0x04, 0x00100000},
                   {0x08, 0x08800001},
                   {0x14, 0x00000008},
                   {0x2C, 0x11001AF4},
                   {0x34, 0x00000040},
                   {0x40, 0x00000011},
                   {0x44, 0x00000002},
                   {0x48, 0x00000802}});
  EXPECT_EQ(fn.config_read(0x04, 2), 0x0000u);  // Command
  EXPECT_EQ(fn.config_read(0x06, 2), 0x0010u);  // Status: capability list
  EXPECT_EQ(fn.config_read(0x0E, 1), 0x00u);    // header type
  EXPECT_EQ(fn.config_read(0x34, 1), 0x40u);
  EXPECT_EQ(fn.config_read(0x40, 1), 0x11u);    // MSI-X ID
  EXPECT_EQ(fn.config_read(0x41, 1), 0x00u);    // next: none
  EXPECT_EQ(fn.config_read(0x42, 2), 0x0000u);  // Message Control
}

TEST(PciFunction, QemuConfigDumpTwoFifos) {
  PciFunction fn(test::amp_spec(2));
  expect_dump(fn, {{0x00, 0x903910EE},
                   {0x04, 0x00100000},
                   {0x08, 0x08800001},
                   {0x14, 0x00000008},
                   {0x2C, 0x11001AF4},
                   {0x34, 0x00000040},
                   {0x40, 0x00010011},
                   {0x44, 0x00000002},
                   {0x48, 0x00000802}});
  EXPECT_EQ(fn.config_read(0x42, 2), 0x0001u);
}

TEST(PciFunction, BarSizingReadbacks) {
  for (unsigned fifos : {1u, 2u}) {
    PciFunction fn(test::amp_spec(fifos));
    for (std::uint16_t off = 0x10; off <= 0x24; off = static_cast<std::uint16_t>(off + 4)) {
      fn.config_write(off, 4, 0xFFFFFFFF);
    }
    EXPECT_EQ(fn.config_read(0x10, 4), 0xFFFFC000u);
    EXPECT_EQ(fn.config_read(0x14, 4), fifos == 1 ? 0xFFFFC008u : 0xFFFF8008u);
    EXPECT_EQ(fn.config_read(0x18, 4), 0xFFFFF000u);
    EXPECT_EQ(fn.config_read(0x1C, 4), 0u);
    EXPECT_EQ(fn.config_read(0x20, 4), 0u);
    EXPECT_EQ(fn.config_read(0x24, 4), 0u);
  }
}

TEST(PciFunction, EnablingMsixReadsBack) {
  PciFunction fn(test::amp_spec(1));
  fn.config_write(0x42, 2, 0x8000);
  EXPECT_EQ(fn.config_read(0x40, 4), 0x80000011u);
}

TEST(PciFunction, SubwordConfigAccesses) {
  PciFunction fn(test::amp_spec(1));
  EXPECT_EQ(fn.config_read(0x00, 2), 0x10EEu);
  EXPECT_EQ(fn.config_read(0x02, 2), 0x9039u);
  EXPECT_EQ(fn.config_read(0x08, 1), 0x01u);
  EXPECT_EQ(fn.config_read(0x0B, 1), 0x08u);
  EXPECT_EQ(fn.config_read(0x06, 1), 0x10u);
  EXPECT_EQ(fn.config_read(0x4A, 2), 0u);
  EXPECT_EQ(fn.config_read(0x48, 2), 0x0802u);
  fn.config_write(0x04, 1, 0x06);
  EXPECT_EQ(fn.config_read(0x04, 4), 0x00100006u);
  fn.config_write(0x43, 1, 0xC0);
  EXPECT_EQ(fn.config_read(0x42, 2), 0xC000u);
}

TEST(PciFunction, InvalidConfigAccesses) {
  PciFunction fn(test::amp_spec(1));
  EXPECT_EQ(fn.config_read(0x41, 2), 0xFFFFu);
  EXPECT_EQ(fn.config_read(0x42, 4), 0xFFFFFFFFu);
  EXPECT_EQ(fn.config_read(0x100, 4), 0xFFFFFFFFu);
  EXPECT_EQ(fn.config_read(0x100, 2), 0xFFFFu);
  EXPECT_EQ(fn.config_read(0xFFF, 1), 0xFFu);
  fn.config_write(0x41, 2, 0xFFFF);      // unaligned over Message Control: ignored
  fn.config_write(0x142, 2, 0x8000);     // an alias it is not
  fn.config_write(0x03, 2, 0xFFFF);
  EXPECT_EQ(fn.config_read(0x40, 4), 0x00000011u);
  EXPECT_FALSE(fn.msix()->enabled());
  EXPECT_EQ(fn.config_read(0x04, 4), 0x00100000u);
}

TEST(PciFunction, BarMapping) {
  PciFunction fn(test::amp_spec(1));
  for (unsigned b = 0; b < 8; ++b) EXPECT_EQ(fn.bar_mapping(b), std::nullopt) << b;
  fn.config_write(0x10, 4, 0xE0000000);
  fn.config_write(0x14, 4, 0xE0004000);
  fn.config_write(0x18, 4, 0xE0008000);
  EXPECT_EQ(fn.bar_mapping(0), std::nullopt);  // MEM still off
  fn.config_write(0x04, 2, 0x0002);
  auto m0 = fn.bar_mapping(0);
  auto m1 = fn.bar_mapping(1);
  auto m2 = fn.bar_mapping(2);
  ASSERT_TRUE(m0 && m1 && m2);
  EXPECT_EQ(m0->base, 0xE0000000u);
  EXPECT_EQ(m0->size, 0x4000u);
  EXPECT_EQ(m1->base, 0xE0004000u);
  EXPECT_EQ(m1->size, 0x4000u);
  EXPECT_EQ(m2->base, 0xE0008000u);
  EXPECT_EQ(m2->size, 0x1000u);
  for (unsigned b = 3; b < 8; ++b) EXPECT_EQ(fn.bar_mapping(b), std::nullopt) << b;
  // Sizing with MEM on: the all-ones value is not decoded.
  fn.config_write(0x10, 4, 0xFFFFFFFF);
  EXPECT_EQ(fn.bar_mapping(0), std::nullopt);
  // Just below the top of 4 GiB is still fine.
  fn.config_write(0x10, 4, 0xFFFF8000);
  ASSERT_TRUE(fn.bar_mapping(0));
  EXPECT_EQ(fn.bar_mapping(0)->base, 0xFFFF8000u);
  fn.config_write(0x14, 4, 0);
  EXPECT_EQ(fn.bar_mapping(1), std::nullopt);  // unassigned
  fn.config_write(0x04, 2, 0x0000);
  EXPECT_EQ(fn.bar_mapping(2), std::nullopt);
}

/// A device built the intended way: derive, override the hooks.
class RecordingDevice final : public PciFunction {
 public:
  struct Access {
    bool write = false;
    unsigned bar = 0;
    std::uint64_t offset = 0;
    unsigned size = 0;
    std::uint64_t value = 0;
    friend bool operator==(const Access&, const Access&) = default;
  };
  explicit RecordingDevice(const FunctionSpec& spec) : PciFunction(spec) {}

  std::vector<Access> accesses;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> commands;
  std::vector<std::size_t> msi_writes_seen_at_command;  // MSI writes already issued when the hook ran
  FakeDma* dma_seen = nullptr;
  FakeDma* fake = nullptr;
  std::uint64_t ticks = 0;

  void advance_time(std::uint64_t ns) override { ticks += ns; }

 protected:
  std::uint64_t on_bar_read(unsigned bar, std::uint64_t offset, unsigned size) override {
    accesses.push_back({false, bar, offset, size, 0});
    return 0xA5A5;
  }
  void on_bar_write(unsigned bar, std::uint64_t offset, unsigned size, std::uint64_t value) override {
    accesses.push_back({true, bar, offset, size, value});
  }
  /// Takes bulk copies on BAR1 only, recorded with value 0xB (bulk).
  bool on_bar_read_bulk(unsigned bar, std::uint64_t offset, std::span<std::uint8_t> out) override {
    accesses.push_back({false, bar, offset, static_cast<unsigned>(out.size()), 0xB});
    return bar == 1;
  }
  bool on_bar_write_bulk(unsigned bar, std::uint64_t offset, std::span<const std::uint8_t> data) override {
    accesses.push_back({true, bar, offset, static_cast<unsigned>(data.size()), 0xB});
    return bar == 1;
  }
  void on_command_changed(std::uint16_t old_command, std::uint16_t new_command) override {
    commands.emplace_back(old_command, new_command);
    msi_writes_seen_at_command.push_back(fake ? fake->writes.size() : 0);
  }
  void on_attach(DmaSpace& dma) override { dma_seen = dynamic_cast<FakeDma*>(&dma); }
};

TEST(PciFunction, DecodeGenerationMovesWithEveryConfigChangeOnly) {
  RecordingDevice dev(test::amp_spec(1));
  const std::uint64_t* counter = dev.decode_generation();
  ASSERT_NE(counter, nullptr);
  const std::uint64_t g0 = *counter;
  (void)dev.config_read(0x10, 4);
  (void)dev.bar_read(0, 0, 4);
  dev.bar_write(0, 0, 4, 1);
  std::array<std::uint8_t, 8> bytes{};
  (void)dev.bar_read_bulk(1, 0, bytes);
  (void)dev.bar_write_bulk(1, 0, bytes);
  EXPECT_EQ(*counter, g0);  // reads and BAR traffic leave decode alone
  dev.config_write(0x10, 4, 0xE000'0000);
  const std::uint64_t g1 = *counter;
  EXPECT_NE(g1, g0);
  dev.config_write(0x3C, 1, 0x0B);  // any write counts, even one decode ignores
  EXPECT_NE(*counter, g1);
  const std::uint64_t g2 = *counter;
  dev.reset();
  EXPECT_NE(*counter, g2);
  EXPECT_EQ(dev.decode_generation(), counter);  // the same counter for the device's life
  EXPECT_FALSE(dev.decode_fixed());              // its BARs move: the host must watch the counter
}

TEST(PciFunction, DeviceBarAccessesReachHooks) {
  RecordingDevice dev(test::amp_spec(1));
  using A = RecordingDevice::Access;
  EXPECT_EQ(dev.bar_read(0, 0x0, 4), 0xA5A5u);
  dev.bar_write(0, 0x21, 1, 0x1);           // sub-word and unaligned: the device decides
  dev.bar_write(0, 0x3FF8, 8, 0x1234);      // last qword of BAR0
  dev.bar_write(1, 0x3FFF, 1, 0xFF);        // last byte of BAR1
  EXPECT_EQ(dev.bar_read(1, 0x10, 2), 0xA5A5u);
  const std::vector<A> want{{false, 0, 0x0, 4, 0},
                            {true, 0, 0x21, 1, 0x1},
                            {true, 0, 0x3FF8, 8, 0x1234},
                            {true, 1, 0x3FFF, 1, 0xFF},
                            {false, 1, 0x10, 2, 0}};
  EXPECT_EQ(dev.accesses, want);
}

TEST(PciFunction, InvalidBarAccessesNeverReachDevice) {
  RecordingDevice dev(test::amp_spec(1));
  EXPECT_EQ(dev.bar_read(0, 0x3FFC, 8), 0u);  // crosses the end
  EXPECT_EQ(dev.bar_read(0, 0x4000, 1), 0u);
  EXPECT_EQ(dev.bar_read(0, 0xFFFFFFFFFFFFFFFFu, 1), 0u);
  EXPECT_EQ(dev.bar_read(0, 0, 3), 0u);
  EXPECT_EQ(dev.bar_read(0, 0, 16), 0u);
  EXPECT_EQ(dev.bar_read(3, 0, 4), 0u);  // unimplemented
  EXPECT_EQ(dev.bar_read(6, 0, 4), 0u);
  dev.bar_write(0, 0xFFFFFFFFFFFFFFF8u, 8, 1);
  dev.bar_write(5, 0, 4, 1);
  dev.bar_write(1, 0, 0, 1);
  EXPECT_TRUE(dev.accesses.empty());
}

TEST(PciFunction, BulkReachesTheDeviceOnlyInsideADeviceBar) {
  RecordingDevice dev(test::amp_spec(1));
  using A = RecordingDevice::Access;
  std::array<std::uint8_t, 64> slot{};
  EXPECT_TRUE(dev.bar_write_bulk(1, 0x3FC0, slot));        // the last 64 bytes of BAR1
  EXPECT_TRUE(dev.bar_read_bulk(1, 0, slot));
  EXPECT_FALSE(dev.bar_write_bulk(0, 0, slot));            // the device declines: registers
  EXPECT_FALSE(dev.bar_write_bulk(1, 0x3FC1, slot));       // crosses the end
  EXPECT_FALSE(dev.bar_read_bulk(1, 0xFFFFFFFFFFFFFFF0u, slot));
  EXPECT_FALSE(dev.bar_read_bulk(2, 0, slot));             // MSI-X BAR: never the device's
  EXPECT_FALSE(dev.bar_read_bulk(3, 0, slot));             // unimplemented
  const std::vector<A> want{{true, 1, 0x3FC0, 64, 0xB}, {false, 1, 0, 64, 0xB}, {true, 0, 0, 64, 0xB}};
  EXPECT_EQ(dev.accesses, want);
}

TEST(PciFunction, MsixBarGoesToMsixNotDevice) {
  RecordingDevice dev(test::amp_spec(1));
  dev.bar_write(2, 0, 4, 0x100000);
  EXPECT_EQ(dev.bar_read(2, 0, 4), 0x100000u);
  EXPECT_EQ(dev.bar_read(2, 12, 4), 1u);
  EXPECT_EQ(dev.bar_read(2, 0, 2), 0u);  // MSI-X width rules, not the device's
  EXPECT_TRUE(dev.accesses.empty());
}

TEST(PciFunction, CommandHookRunsAfterMsixReleasedPending) {
  RecordingDevice dev(test::amp_spec(1));
  FakeDma dma;
  dev.fake = &dma;
  dev.attach(dma);
  EXPECT_EQ(dev.dma_seen, &dma);
  EXPECT_EQ(dev.dma(), &dma);
  dev.config_write(0x42, 2, 0x8000);
  dev.bar_write(2, 0, 4, 0x100000);
  dev.bar_write(2, 8, 4, 0x12345678);
  dev.bar_write(2, 12, 4, 0);
  dev.config_write(0x04, 2, 0x0002);
  dev.notify(0);
  EXPECT_TRUE(dma.writes.empty());
  dev.config_write(0x04, 2, 0x0006);
  ASSERT_EQ(dma.writes.size(), 1u);
  EXPECT_EQ(dma.writes[0], (MsiWrite{0x100000, 0x12345678}));
  using P = std::pair<std::uint16_t, std::uint16_t>;
  EXPECT_EQ(dev.commands, (std::vector<P>{{0x0000, 0x0002}, {0x0002, 0x0006}}));
  EXPECT_EQ(dev.msi_writes_seen_at_command, (std::vector<std::size_t>{0, 1}));
  dev.config_write(0x04, 2, 0x0006);  // unchanged: no hook
  EXPECT_EQ(dev.commands.size(), 2u);
  dev.reset();
  ASSERT_EQ(dev.commands.size(), 3u);
  EXPECT_EQ(dev.commands[2], (P{0x0006, 0x0000}));
}

TEST(PciFunction, AdvanceTimeOverridable) {
  RecordingDevice dev(test::amp_spec(1));
  PciDevice& as_device = dev;
  as_device.advance_time(5);
  as_device.advance_time(7);
  EXPECT_EQ(dev.ticks, 12u);
  PciFunction plain(test::amp_spec(1));
  plain.advance_time(1);  // default: nothing to do
}

TEST(PciFunction, WithoutMsix) {
  FunctionSpec spec{test::amp_identity(), test::amp_bars(1), std::nullopt};
  PciFunction fn(spec);
  FakeDma dma;
  fn.attach(dma);
  EXPECT_EQ(fn.msix(), nullptr);
  EXPECT_EQ(fn.config_read(0x04, 4), 0u);  // no capability: Status 0
  EXPECT_EQ(fn.config_read(0x34, 4), 0u);
  EXPECT_EQ(fn.config_read(0x40, 4), 0u);
  fn.notify(0);
  EXPECT_TRUE(dma.writes.empty());
  EXPECT_EQ(fn.bar_read(2, 0, 4), 0u);  // BAR2 is a plain device BAR now (default hook)
}

TEST(PciFunction, ResetRestoresPowerOnState) {
  PciFunction fn(test::amp_spec(2));
  fn.config_write(0x04, 2, 0x0006);
  fn.config_write(0x10, 4, 0xE0000000);
  fn.config_write(0x14, 4, 0xE0008000);
  fn.config_write(0x42, 2, 0xC000);
  fn.bar_write(2, 16, 8, 0x2000);
  fn.bar_write(2, 28, 4, 0);
  fn.reset();
  expect_dump(fn, {{0x00, 0x903910EE},
                   {0x04, 0x00100000},
                   {0x08, 0x08800001},
                   {0x14, 0x00000008},
                   {0x2C, 0x11001AF4},
                   {0x34, 0x00000040},
                   {0x40, 0x00010011},
                   {0x44, 0x00000002},
                   {0x48, 0x00000802}});
  EXPECT_EQ(fn.msix()->entry(1), MsixEntry{});
}

}  // namespace
}  // namespace vmsg::pci

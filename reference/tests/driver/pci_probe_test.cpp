#include "vmsg/driver/pci_probe.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "driver/fake_port.hpp"
#include "vmsg/driver/errors.hpp"

namespace vmsg::driver {
namespace {

using testing::FakeBarSpec;
using testing::FakeFunction;
using testing::FakePort;

constexpr port::PciAddress kAmp{0, 4, 0};

/// The amp device's shape: BAR0 16 KiB, BAR1 16 KiB prefetchable, BAR2 4 KiB,
/// MSI-X (2 entries) at 0x40 with table at BAR2+0 and PBA at BAR2+0x800.
std::shared_ptr<FakeFunction> make_amp(std::uint16_t device_id = 0x9039) {
  auto f = std::make_shared<FakeFunction>(
      0x10EE, device_id,
      std::array<FakeBarSpec, 6>{FakeBarSpec{0x4000}, FakeBarSpec{0x4000, true}, FakeBarSpec{0x1000}, FakeBarSpec{},
                                 FakeBarSpec{}, FakeBarSpec{}});
  f->add_msix(0x40, 2, 2, 0, 0x800);
  return f;
}

std::shared_ptr<FakeFunction> make_plain(std::array<FakeBarSpec, 6> bars = {}) {
  return std::make_shared<FakeFunction>(0x1234, 0x0001, bars);
}

// --- enumeration ---------------------------------------------------------------------------

TEST(PciScan, FindsFunctionZeroAndMultiFunctionSiblingsOnly) {
  FakePort port;
  port.plug({0, 4, 0}, make_plain());
  port.plug({0, 4, 3}, make_plain());  // fn 0 is single-function: not scanned
  auto mf = make_plain();
  mf->raw()[FakeFunction::kHeaderType] = 0x80;
  port.plug({0, 7, 0}, mf);
  port.plug({0, 7, 2}, make_plain());
  port.plug({0, 9, 1}, make_plain());  // no function 0: device absent
  port.plug({0, 31, 0}, make_plain());
  const std::vector<port::PciAddress> expected{{0, 4, 0}, {0, 7, 0}, {0, 7, 2}, {0, 31, 0}};
  EXPECT_EQ(scan_bus0(port), expected);
}

TEST(PciScan, FindFunctionsMatchesVendorAndDevice) {
  FakePort port;
  port.plug({0, 2, 0}, make_plain());
  port.plug({0, 4, 0}, make_amp());
  port.plug({0, 5, 0}, make_amp(0x9038));
  port.plug({0, 6, 0}, make_amp());
  EXPECT_EQ(find_functions(port, 0x10EE, 0x9039), (std::vector<port::PciAddress>{{0, 4, 0}, {0, 6, 0}}));
  EXPECT_TRUE(find_functions(port, 0x10EE, 0x1111).empty());
}

// --- BAR sizing ------------------------------------------------------------------------------

TEST(PciSizeBars, SizesTheAmpBarsAndRestoresEverything) {
  FakePort port;
  auto amp = make_amp();
  port.plug(kAmp, amp);
  port.config_write(kAmp, 0x10, 4, 0xC000'0000);  // pre-existing assignment to be restored
  port.config_write(kAmp, 0x04, 2, 0x0006);
  const std::array<BarInfo, 6> bars = size_bars(port, kAmp);
  EXPECT_EQ(bars[0], (BarInfo{0, 0x4000, false, false, false}));
  EXPECT_EQ(bars[1], (BarInfo{0, 0x4000, true, false, false}));
  EXPECT_EQ(bars[2], (BarInfo{0, 0x1000, false, false, false}));
  for (unsigned i = 3; i < 6; ++i) {
    EXPECT_FALSE(bars[i].implemented()) << i;
  }
  EXPECT_EQ(amp->bar_register(0), 0xC000'0000U);
  EXPECT_EQ(amp->bar_register(1), 0x8U);
  EXPECT_EQ(amp->bar_register(2), 0x0U);
  EXPECT_EQ(amp->command(), 0x0006U);
}

TEST(PciSizeBars, DecodeIsOffWhileABarHoldsAllOnes) {
  FakePort port;
  auto amp = make_amp();
  port.plug(kAmp, amp);
  port.config_write(kAmp, 0x04, 2, 0x0006);
  amp->config_log.clear();
  (void)size_bars(port, kAmp);
  bool mem_on = true;
  bool probed = false;
  for (const auto& w : amp->config_log) {
    if (w.offset == 0x04) {
      mem_on = (w.value & 0x2) != 0;
    } else if (w.value == 0xFFFF'FFFFU) {
      probed = true;
      EXPECT_FALSE(mem_on) << "all-ones written to 0x" << std::hex << w.offset << " with MEM on";
    }
  }
  EXPECT_TRUE(probed);
  EXPECT_TRUE(mem_on);  // Command written back last
}

TEST(PciSizeBars, Reports64BitAndIoBars) {
  FakePort port;
  auto f = make_plain({FakeBarSpec{0x100, false, false, true}, FakeBarSpec{},
                       FakeBarSpec{8ULL << 30, true, true}, FakeBarSpec{}, FakeBarSpec{0x2000, false, true},
                       FakeBarSpec{}});
  port.plug(kAmp, f);
  const auto bars = size_bars(port, kAmp);
  EXPECT_EQ(bars[0], (BarInfo{0, 0x100, false, false, true}));
  EXPECT_EQ(bars[2], (BarInfo{0, 8ULL << 30, true, true, false}));
  EXPECT_FALSE(bars[3].implemented());  // upper half of BAR2
  EXPECT_EQ(bars[4], (BarInfo{0, 0x2000, false, true, false}));
  EXPECT_FALSE(bars[5].implemented());
}

TEST(PciSizeBars, NonContiguousMaskIsAProbeErrorAndCommandIsRestored) {
  FakePort port;
  auto f = make_plain({FakeBarSpec{0x3000}});  // readback 0xFFFFD000: not a size mask
  port.plug(kAmp, f);
  port.config_write(kAmp, 0x04, 2, 0x0002);
  EXPECT_THROW((void)size_bars(port, kAmp), ProbeError);
  EXPECT_EQ(f->command(), 0x0002U);
}

TEST(PciSizeBars, SixtyFourBitBarInSlotFiveIsAProbeError) {
  FakePort port;
  port.plug(kAmp, make_plain({FakeBarSpec{}, FakeBarSpec{}, FakeBarSpec{}, FakeBarSpec{}, FakeBarSpec{},
                              FakeBarSpec{0x1000, false, true}}));
  EXPECT_THROW((void)size_bars(port, kAmp), ProbeError);
}

TEST(PciSizeBars, AbsentOrBridgeFunctionIsAProbeError) {
  FakePort port;
  EXPECT_THROW((void)size_bars(port, kAmp), ProbeError);
  auto bridge = make_plain();
  bridge->raw()[FakeFunction::kHeaderType] = 0x01;
  port.plug(kAmp, bridge);
  EXPECT_THROW((void)size_bars(port, kAmp), ProbeError);
}

// --- probe: size + assign + enable ------------------------------------------------------------

TEST(PciProbe, BringsUpTheAmpDeviceAsLibqosDoes) {
  FakePort port;
  auto amp = make_amp();
  port.plug(kAmp, amp);
  BarWindowAllocator window(port.address_map());
  const std::optional<ProbedFunction> f = probe(port, 0x10EE, 0x9039, window);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->addr, kAmp);
  EXPECT_EQ(f->vendor_id, 0x10EEU);
  EXPECT_EQ(f->device_id, 0x9039U);
  EXPECT_EQ(f->revision, 0x01U);
  EXPECT_EQ(f->class_code, 0x088000U);
  EXPECT_EQ(f->header_type, 0U);
  EXPECT_EQ(f->bars[0], (BarInfo{0xE000'0000, 0x4000, false, false, false}));
  EXPECT_EQ(f->bars[1], (BarInfo{0xE000'4000, 0x4000, true, false, false}));
  EXPECT_EQ(f->bars[2], (BarInfo{0xE000'8000, 0x1000, false, false, false}));
  EXPECT_EQ(f->capabilities, (std::vector<Capability>{{0x11, 0x40}}));
  EXPECT_EQ(f->capability(0x11), std::optional<std::uint8_t>{0x40});
  EXPECT_FALSE(f->capability(0x05).has_value());
  // The device itself: addresses latched, MEM|BME on, BARs decode.
  EXPECT_EQ(amp->bar_register(0), 0xE000'0000U);
  EXPECT_EQ(amp->bar_register(1), 0xE000'4008U);
  EXPECT_EQ(amp->bar_register(2), 0xE000'8000U);
  EXPECT_EQ(amp->command(), 0x0006U);
  port.mmio_write(0xE000'4000 + 0x1000, 4, 7);
  EXPECT_EQ(amp->load_bar(1, 0x1000, 4), 7U);
  EXPECT_EQ(port.unbacked, 0U);
}

TEST(PciProbe, SecondMatchAndNoMatch) {
  FakePort port;
  port.plug({0, 4, 0}, make_amp());
  port.plug({0, 6, 0}, make_amp());
  BarWindowAllocator window(port.address_map());
  const auto second = probe(port, 0x10EE, 0x9039, window, 1);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->addr, (port::PciAddress{0, 6, 0}));
  EXPECT_EQ(second->bars[0].base, 0xE000'0000U);
  EXPECT_FALSE(probe(port, 0x10EE, 0x9039, window, 2).has_value());
  EXPECT_FALSE(probe(port, 0x1AF4, 0x1000, window).has_value());
}

TEST(PciProbe, SixtyFourBitBarGoesAboveFourGiBAndThirtyTwoBitCannot) {
  FakePort port({0x10'0000, 0x10'0000, 0x1'0000'0000ULL, 1ULL << 36});
  auto f = make_plain({FakeBarSpec{8ULL << 30, true, true}});
  port.plug(kAmp, f);
  BarWindowAllocator window(port.address_map());
  const ProbedFunction p = probe_function(port, kAmp, window);
  EXPECT_EQ(p.bars[0].base, 0x2'0000'0000ULL);
  EXPECT_EQ(f->bar_register(0), 0xCU);  // prefetchable 64-bit, low address bits zero
  EXPECT_EQ(f->bar_register(1), 0x2U);

  FakePort port32({0x10'0000, 0x10'0000, 0x1'0000'0000ULL, 1ULL << 36});
  port32.plug(kAmp, make_plain({FakeBarSpec{0x1000}}));
  BarWindowAllocator window32(port32.address_map());
  EXPECT_THROW((void)probe_function(port32, kAmp, window32), ProbeError);
}

TEST(PciProbe, BarThatDoesNotLatchIsAProbeError) {
  FakePort port;
  auto f = make_amp();
  f->latch_bars = false;
  port.plug(kAmp, f);
  BarWindowAllocator window(port.address_map());
  EXPECT_THROW((void)probe_function(port, kAmp, window), ProbeError);
}

TEST(PciProbe, WindowTooSmallIsOutOfSpace) {
  FakePort port({0x10'0000, 0x10'0000, 0xE000'0000, 0x8000});
  port.plug(kAmp, make_amp());
  BarWindowAllocator window(port.address_map());
  EXPECT_THROW((void)probe_function(port, kAmp, window), OutOfSpace);  // BAR2 does not fit
}

TEST(PciProbe, IoBarIsSizedButNotAssigned) {
  FakePort port;
  auto f = make_plain({FakeBarSpec{0x100, false, false, true}, FakeBarSpec{0x1000}});
  port.plug(kAmp, f);
  BarWindowAllocator window(port.address_map());
  const ProbedFunction p = probe_function(port, kAmp, window);
  EXPECT_EQ(p.bars[0], (BarInfo{0, 0x100, false, false, true}));
  EXPECT_EQ(p.bars[1].base, 0xE000'0000U);
  EXPECT_EQ(f->command() & 0x1U, 0U);
}

// --- capability walk -------------------------------------------------------------------------

/// Links capabilities (id, offset) in order and sets Status.CapList.
void link_caps(FakeFunction& f, const std::vector<Capability>& caps) {
  auto& raw = f.raw();
  raw[FakeFunction::kStatus] = 0x10;
  raw[FakeFunction::kCapPtr] = caps.empty() ? 0 : caps.front().offset;
  for (std::size_t i = 0; i < caps.size(); ++i) {
    raw[caps[i].offset] = caps[i].id;
    raw[caps[i].offset + 1U] = i + 1 < caps.size() ? caps[i + 1].offset : 0;
  }
}

TEST(PciCapabilities, WalksTheListInOrder) {
  FakePort port;
  auto f = make_plain();
  const std::vector<Capability> caps{{0x01, 0x40}, {0x09, 0x80}, {0x11, 0x50}};
  link_caps(*f, caps);
  port.plug(kAmp, f);
  EXPECT_EQ(walk_capabilities(port, kAmp), caps);
  EXPECT_EQ(find_capability(port, kAmp, 0x11), std::optional<std::uint8_t>{0x50});
  EXPECT_EQ(find_capability(port, kAmp, 0x09), std::optional<std::uint8_t>{0x80});
  EXPECT_FALSE(find_capability(port, kAmp, 0x10).has_value());
}

TEST(PciCapabilities, ReservedPointerBitsAreMasked) {
  FakePort port;
  auto f = make_plain();
  link_caps(*f, {{0x11, 0x40}, {0x05, 0x48}});
  f->raw()[FakeFunction::kCapPtr] = 0x43;
  f->raw()[0x41] = 0x4A;
  port.plug(kAmp, f);
  EXPECT_EQ(walk_capabilities(port, kAmp), (std::vector<Capability>{{0x11, 0x40}, {0x05, 0x48}}));
}

TEST(PciCapabilities, NoCapListBitMeansNoCapabilities) {
  FakePort port;
  auto f = make_plain();
  link_caps(*f, {{0x11, 0x40}});
  f->raw()[FakeFunction::kStatus] = 0;
  port.plug(kAmp, f);
  EXPECT_TRUE(walk_capabilities(port, kAmp).empty());
  EXPECT_FALSE(find_capability(port, kAmp, 0x11).has_value());
}

TEST(PciCapabilities, LoopIsAProbeError) {
  FakePort port;
  auto f = make_plain();
  link_caps(*f, {{0x01, 0x40}, {0x09, 0x50}});
  f->raw()[0x51] = 0x40;  // back to the first
  port.plug(kAmp, f);
  EXPECT_THROW((void)walk_capabilities(port, kAmp), ProbeError);
  EXPECT_THROW((void)find_capability(port, kAmp, 0x11), ProbeError);
}

TEST(PciCapabilities, SelfLoopIsAProbeError) {
  FakePort port;
  auto f = make_plain();
  link_caps(*f, {{0x01, 0x40}});
  f->raw()[0x41] = 0x40;
  port.plug(kAmp, f);
  EXPECT_THROW((void)walk_capabilities(port, kAmp), ProbeError);
}

TEST(PciCapabilities, PointerIntoTheHeaderIsAProbeError) {
  FakePort port;
  auto f = make_plain();
  link_caps(*f, {{0x01, 0x40}});
  f->raw()[0x41] = 0x10;
  port.plug(kAmp, f);
  EXPECT_THROW((void)walk_capabilities(port, kAmp), ProbeError);
}

TEST(PciCapabilities, FullFortyEightEntryListIsAccepted) {
  FakePort port;
  auto f = make_plain();
  std::vector<Capability> caps;
  for (unsigned off = 0xFC; off >= 0x40; off -= 4) {  // every dword, walked downwards
    caps.push_back({static_cast<std::uint8_t>(0x80 + caps.size()), static_cast<std::uint8_t>(off)});
  }
  ASSERT_EQ(caps.size(), pcireg::kMaxCapabilities);
  link_caps(*f, caps);
  port.plug(kAmp, f);
  EXPECT_EQ(walk_capabilities(port, kAmp), caps);
  EXPECT_EQ(find_capability(port, kAmp, 0x80 + 47), std::optional<std::uint8_t>{0x40});
}

TEST(PciCapabilities, AbsentFunctionIsAProbeError) {
  FakePort port;
  EXPECT_THROW((void)walk_capabilities(port, kAmp), ProbeError);
}

}  // namespace
}  // namespace vmsg::driver

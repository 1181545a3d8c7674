#include "vmsg/driver/msix_setup.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "driver/fake_port.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/driver/errors.hpp"

namespace vmsg::driver {
namespace {

using testing::BarAccess;
using testing::FakeBarSpec;
using testing::FakeFunction;
using testing::FakePort;

constexpr port::PciAddress kAmp{0, 4, 0};
constexpr std::uint64_t kBar2 = 0xE000'8000;

std::shared_ptr<FakeFunction> make_amp(std::uint16_t vectors = 2) {
  auto f = std::make_shared<FakeFunction>(
      0x10EE, 0x9039,
      std::array<FakeBarSpec, 6>{FakeBarSpec{0x4000}, FakeBarSpec{0x4000, true}, FakeBarSpec{0x1000}, FakeBarSpec{},
                                 FakeBarSpec{}, FakeBarSpec{}});
  f->add_msix(0x40, vectors, 2, 0, 0x800);
  return f;
}

/// An amp-shaped function probed on a fake port.
struct Rig {
  FakePort port;
  std::shared_ptr<FakeFunction> amp;
  ProbedFunction f;
  explicit Rig(std::shared_ptr<FakeFunction> dev = make_amp()) : amp(std::move(dev)) {
    port.plug(kAmp, amp);
    BarWindowAllocator window(port.address_map());
    f = probe_function(port, kAmp, window);
  }
};

TEST(Msix, InfoResolvesTableAndPbaToGuestAddresses) {
  Rig r;
  const MsixInfo m = msix_info(r.port, r.f);
  EXPECT_EQ(m.fn, kAmp);
  EXPECT_EQ(m.cap, 0x40U);
  EXPECT_EQ(m.table_size, 2U);
  EXPECT_EQ(m.table_bar, 2U);
  EXPECT_EQ(m.table_offset, 0U);
  EXPECT_EQ(m.pba_bar, 2U);
  EXPECT_EQ(m.pba_offset, 0x800U);
  EXPECT_EQ(m.table_addr, kBar2);
  EXPECT_EQ(m.pba_addr, kBar2 + 0x800);
}

TEST(Msix, EnableSetsEnableAndClearsFunctionMask) {
  Rig r;
  r.amp->raw()[0x43] = 0x40;  // Function Mask set, Enable clear
  const MsixInfo m = msix_info(r.port, r.f);
  msix_enable(r.port, m);
  EXPECT_EQ(r.port.config_read(kAmp, 0x42, 2), 0x8001U);  // table size bits preserved
  EXPECT_EQ(r.port.config_read(kAmp, 0x40, 4), 0x8001'0011U);
  msix_set_function_mask(r.port, m, true);
  EXPECT_EQ(r.port.config_read(kAmp, 0x42, 2), 0xC001U);
  msix_set_function_mask(r.port, m, false);
  msix_disable(r.port, m);
  EXPECT_EQ(r.port.config_read(kAmp, 0x42, 2), 0x0001U);
}

TEST(Msix, ProgramWritesTheEntryWhileMaskedThenUnmasks) {
  Rig r;
  const MsixInfo m = msix_info(r.port, r.f);
  r.amp->accesses.clear();
  msix_program(r.port, m, 1, 0x1'0010'0040ULL, 0x12345678);
  EXPECT_EQ(r.amp->load_bar(2, 16, 4), 0x0010'0040U);
  EXPECT_EQ(r.amp->load_bar(2, 20, 4), 0x1U);
  EXPECT_EQ(r.amp->load_bar(2, 24, 4), 0x12345678U);
  EXPECT_EQ(r.amp->load_bar(2, 28, 4), 0U);
  EXPECT_EQ(r.amp->load_bar(2, 12, 4), 1U);  // entry 0 untouched, still masked
  const std::vector<BarAccess> expected{
      {2, 28, 4, false, 1},          {2, 28, 4, true, 1},  // mask (already masked at reset)
      {2, 16, 4, true, 0x0010'0040}, {2, 20, 4, true, 1}, {2, 24, 4, true, 0x12345678},
      {2, 28, 4, false, 1},          {2, 28, 4, true, 0},  // unmask
  };
  EXPECT_EQ(r.amp->accesses, expected);
  EXPECT_EQ(msix_vector_control(r.port, m, 1), 0U);
  msix_set_masked(r.port, m, 1, true);
  EXPECT_EQ(msix_vector_control(r.port, m, 1), 1U);
}

TEST(Msix, EntryOutOfRangeIsAConfigError) {
  Rig r;
  const MsixInfo m = msix_info(r.port, r.f);
  EXPECT_THROW(msix_program(r.port, m, 2, 0x10'0000, 1), ConfigError);
  EXPECT_THROW((void)msix_pending(r.port, m, 2), ConfigError);
  EXPECT_THROW(msix_set_masked(r.port, m, 5, true), ConfigError);
}

TEST(Msix, PendingBitsComeFromThePba) {
  Rig r(make_amp(40));
  const MsixInfo m = msix_info(r.port, r.f);
  r.amp->store_bar(2, 0x800, 4, 0x2);
  r.amp->store_bar(2, 0x804, 4, 0x80);  // entry 39
  EXPECT_FALSE(msix_pending(r.port, m, 0));
  EXPECT_TRUE(msix_pending(r.port, m, 1));
  EXPECT_FALSE(msix_pending(r.port, m, 38));
  EXPECT_TRUE(msix_pending(r.port, m, 39));
}

TEST(Msix, SetupVectorAllocatesClearsProgramsAndObserves) {
  Rig r;
  const MsixInfo m = msix_info(r.port, r.f);
  GuestAllocator ram(r.port.address_map());
  r.port.mmio_write(0x10'0000, 4, 0xFFFF'FFFF);  // stale garbage where the word will go
  const MsiTarget t = msix_setup_vector(r.port, m, 0, ram, 0xA5A5'0001);
  EXPECT_EQ(t.addr, 0x10'0000U);
  EXPECT_EQ(t.data, 0xA5A5'0001U);
  EXPECT_EQ(msi_word(r.port, t), 0U);
  EXPECT_FALSE(msi_fired(r.port, t));
  EXPECT_EQ(r.amp->load_bar(2, 0, 4), 0x10'0000U);
  EXPECT_EQ(r.amp->load_bar(2, 8, 4), 0xA5A5'0001U);
  EXPECT_EQ(msix_vector_control(r.port, m, 0), 0U);

  ASSERT_TRUE(r.amp->dma()->msi_write(t.addr, t.data));  // the device raises the vector
  EXPECT_TRUE(msi_fired(r.port, t));
  EXPECT_TRUE(take_msi(r.port, t));
  EXPECT_EQ(msi_word(r.port, t), 0U);
  EXPECT_FALSE(take_msi(r.port, t));

  r.port.mmio_write(t.addr, 4, 0x1234);  // something else: not this vector's data
  EXPECT_FALSE(take_msi(r.port, t));
  EXPECT_EQ(msi_word(r.port, t), 0x1234U);
  clear_msi(r.port, t);
  EXPECT_EQ(msi_word(r.port, t), 0U);
}

TEST(Msix, DataWordZeroIsAConfigError) {
  Rig r;
  const MsixInfo m = msix_info(r.port, r.f);
  GuestAllocator ram(r.port.address_map());
  EXPECT_THROW((void)msix_setup_vector(r.port, m, 0, ram, 0), ConfigError);
  EXPECT_THROW((void)msix_setup_vector(r.port, m, 9, ram, 1), ConfigError);
  EXPECT_EQ(ram.pool().used(), 0U);
}

TEST(Msix, MissingCapabilityIsAProbeError) {
  FakePort port;
  auto plain = std::make_shared<FakeFunction>(0x10EE, 0x9039, std::array<FakeBarSpec, 6>{FakeBarSpec{0x1000}});
  port.plug(kAmp, plain);
  BarWindowAllocator window(port.address_map());
  const ProbedFunction f = probe_function(port, kAmp, window);
  EXPECT_THROW((void)msix_info(port, f), ProbeError);
}

TEST(Msix, TableInAnUnassignedOrMissingBarIsAProbeError) {
  Rig r;
  ProbedFunction unassigned = r.f;
  unassigned.bars[2].base = 0;
  EXPECT_THROW((void)msix_info(r.port, unassigned), ProbeError);

  r.amp->raw()[0x44] = 0x03;  // table BIR 3: not implemented
  EXPECT_THROW((void)msix_info(r.port, r.f), ProbeError);
  r.amp->raw()[0x44] = 0x07;  // BIR 7: reserved
  EXPECT_THROW((void)msix_info(r.port, r.f), ProbeError);
}

TEST(Msix, TableOrPbaOutsideItsBarIsAProbeError) {
  Rig r;
  r.amp->raw()[0x45] = 0x0F;  // table at BAR2 + 0xFF0: 2 entries end at 0x1010 > 4 KiB
  r.amp->raw()[0x44] = 0xF2;
  EXPECT_THROW((void)msix_info(r.port, r.f), ProbeError);
  r.amp->raw()[0x45] = 0x0F;
  r.amp->raw()[0x44] = 0xE2;  // table at BAR2 + 0xFE0: 2 entries end exactly at 4 KiB
  EXPECT_NO_THROW((void)msix_info(r.port, r.f));
  r.amp->raw()[0x49] = 0x10;  // PBA at BAR2 + 0x1000: past the end
  EXPECT_THROW((void)msix_info(r.port, r.f), ProbeError);
}

}  // namespace
}  // namespace vmsg::driver

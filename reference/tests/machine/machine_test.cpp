#include "vmsg/machine/machine.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "machine/fake_function.hpp"
#include "pci/pci_test_support.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/pci/function.hpp"

namespace vmsg::machine {
namespace {

using testing::BarAccess;
using testing::FakeBarSpec;
using testing::FakeFunction;

constexpr port::PciAddress kSlot4{0, 4, 0};
constexpr std::uint64_t kRamSize = 128ULL << 20;
constexpr std::uint64_t kBar0 = 0xE000'0000;
constexpr std::uint64_t kBar2 = 0xE000'4000;

std::uint64_t ecam(port::PciAddress fn, std::uint16_t reg) {
  return Machine::kEcamBase | std::uint64_t{fn.bus} << 20 | std::uint64_t{fn.device} << 15 |
         std::uint64_t{fn.function} << 12 | reg;
}

/// A device with a 16 KiB BAR0, an unimplemented BAR1 and a 4 KiB BAR2.
std::shared_ptr<FakeFunction> make_fake() {
  return std::make_shared<FakeFunction>(0x10EE, 0x9039,
                                        std::array<FakeBarSpec, 6>{FakeBarSpec{0x4000}, FakeBarSpec{},
                                                                   FakeBarSpec{0x1000}, FakeBarSpec{},
                                                                   FakeBarSpec{}, FakeBarSpec{}});
}

/// A machine with make_fake() at 00:04.0, BAR0/BAR2 assigned and MEM on.
struct Rig {
  Machine m;
  std::shared_ptr<FakeFunction> dev = make_fake();
  Rig() {
    m.plug(kSlot4, dev);
    m.config_write(kSlot4, 0x10, 4, static_cast<std::uint32_t>(kBar0));
    m.config_write(kSlot4, 0x18, 4, static_cast<std::uint32_t>(kBar2));
    m.config_write(kSlot4, 0x04, 2, 0x0006);
  }
};

// --- construction and layout ---------------------------------------------------------

TEST(Machine, AddressMapIsQ35AsLibqosSeesIt) {
  Machine m;
  const port::AddressMap map = m.address_map();
  EXPECT_EQ(map.ram_base, 0x10'0000U);
  EXPECT_EQ(map.ram_size, kRamSize - 0x10'0000U);
  EXPECT_EQ(map.mmio_base, 0xE000'0000U);
  EXPECT_EQ(map.mmio_size, 0xFEC0'0000U - 0xE000'0000U);
  EXPECT_EQ(m.ram().size(), kRamSize);
}

TEST(Machine, RamSizeIsConfigurableWithinLowMemory) {
  Machine m(MachineConfig{256ULL << 20});
  EXPECT_EQ(m.address_map().ram_size, (256ULL << 20) - 0x10'0000U);
  EXPECT_THROW(Machine(MachineConfig{0x10'0000}), ConfigError);
  EXPECT_THROW(Machine(MachineConfig{Machine::kEcamBase + 1}), ConfigError);
}

// --- RAM through the port --------------------------------------------------------------

TEST(Machine, RamMmioAllWidthsAreLittleEndian) {
  Machine m;
  const std::uint64_t v = 0x0807060504030201ULL;
  for (unsigned size : {1U, 2U, 4U, 8U}) {
    const std::uint64_t addr = 0x20'0000 + 16ULL * size;
    m.mmio_write(addr, size, v);
    std::array<std::uint8_t, 8> bytes{};
    m.mem_read(addr, bytes);
    for (unsigned i = 0; i < 8; ++i) {
      EXPECT_EQ(unsigned{bytes[i]}, i < size ? i + 1 : 0U) << "size " << size << " byte " << i;
    }
    const std::uint64_t mask = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
    EXPECT_EQ(m.mmio_read(addr, size), v & mask);
  }
  EXPECT_EQ(m.mmio_read(0x20'0000 + 128 + 1, 2), 0x0302U);  // unaligned RAM access is fine
  EXPECT_EQ(m.stats(), MachineStats{});
}

TEST(Machine, MmioWriteIsMaskedToItsSize) {
  Machine m;
  m.mmio_write(0x20'0000, 8, ~0ULL);
  m.mmio_write(0x20'0000, 2, 0x1234'5678ULL);
  EXPECT_EQ(m.mmio_read(0x20'0000, 8), 0xFFFF'FFFF'FFFF'5678ULL);
}

TEST(Machine, BulkRamRoundTrip) {
  Machine m;
  std::vector<std::uint8_t> data(10000);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<std::uint8_t>(i * 7);
  }
  m.mem_write(0x30'0003, data);
  std::vector<std::uint8_t> back(data.size());
  m.mem_read(0x30'0003, back);
  EXPECT_EQ(back, data);
  EXPECT_EQ(m.mmio_read(0x30'0003, 1), data[0]);
}

TEST(Machine, BadSizesThrowPortError) {
  Machine m;
  for (unsigned size : {0U, 3U, 5U, 6U, 7U, 16U}) {
    EXPECT_THROW((void)m.mmio_read(0x1000, size), PortError) << size;
    EXPECT_THROW(m.mmio_write(0x1000, size, 0), PortError) << size;
  }
  for (unsigned size : {0U, 3U, 8U}) {
    EXPECT_THROW((void)m.config_read(kSlot4, 0, size), PortError) << size;
    EXPECT_THROW(m.config_write(kSlot4, 0, size, 0), PortError) << size;
  }
  EXPECT_THROW((void)m.config_read(kSlot4, 0xFFE, 4), PortError);
  EXPECT_NO_THROW((void)m.config_read(kSlot4, 0xFFC, 4));
}

// --- unbacked ---------------------------------------------------------------------------

TEST(Machine, UnbackedMmioReadsZeroAndIsCounted) {
  Machine m;
  EXPECT_EQ(m.mmio_read(0x9000'0000, 4), 0U);  // between RAM and ECAM
  EXPECT_EQ(m.mmio_read(kBar0, 8), 0U);        // BAR window, nothing assigned
  m.mmio_write(0x9000'0000, 4, 0xDEAD);
  EXPECT_EQ(m.stats().unbacked_reads, 2U);
  EXPECT_EQ(m.stats().unbacked_writes, 1U);
  EXPECT_EQ(m.mmio_read(0x9000'0000, 4), 0U);
}

TEST(Machine, AccessStraddlingRamEndIsUnbacked) {
  Machine m;
  m.mmio_write(kRamSize - 8, 8, 0x1111'1111'1111'1111ULL);
  m.mmio_write(kRamSize - 4, 8, ~0ULL);  // half in RAM: dropped entirely
  EXPECT_EQ(m.mmio_read(kRamSize - 8, 8), 0x1111'1111'1111'1111ULL);
  EXPECT_EQ(m.mmio_read(kRamSize - 2, 4), 0U);
  EXPECT_EQ(m.stats().unbacked_writes, 1U);
  EXPECT_EQ(m.stats().unbacked_reads, 1U);
}

TEST(Machine, BulkStraddlingRamEndCopiesTheRamPartOnly) {
  Machine m;
  const std::array<std::uint8_t, 8> data{1, 2, 3, 4, 5, 6, 7, 8};
  m.mem_write(kRamSize - 4, data);
  EXPECT_EQ(m.stats().unbacked_bulk_bytes, 4U);
  std::array<std::uint8_t, 8> back{};
  back.fill(0xEE);
  m.mem_read(kRamSize - 4, back);
  EXPECT_EQ(back, (std::array<std::uint8_t, 8>{1, 2, 3, 4, 0, 0, 0, 0}));
  EXPECT_EQ(m.stats().unbacked_bulk_bytes, 8U);
}

TEST(Machine, AccessWrappingTheAddressSpaceIsUnbacked) {
  Machine m;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(m.mmio_read(kMax - 3, 8), 0U);
  EXPECT_EQ(m.stats().unbacked_reads, 1U);
  std::array<std::uint8_t, 8> out{};
  out.fill(0xEE);
  m.mem_read(kMax - 3, out);
  EXPECT_EQ(out, (std::array<std::uint8_t, 8>{}));
  EXPECT_EQ(m.stats().unbacked_bulk_bytes, 8U);
  m.mem_write(kMax - 3, out);
  EXPECT_EQ(m.stats().unbacked_bulk_bytes, 16U);
}

// --- plugging and config space ------------------------------------------------------------

TEST(Machine, PlugAttachesOnceAndRefusesBadSlots) {
  Machine m;
  auto dev = make_fake();
  m.plug(kSlot4, dev);
  EXPECT_EQ(dev->attach_calls, 1U);
  ASSERT_NE(dev->dma(), nullptr);
  EXPECT_EQ(dev->dma(), &m.dma_space(kSlot4));
  EXPECT_EQ(m.device(kSlot4), dev);
  EXPECT_EQ(m.device({0, 5, 0}), nullptr);
  EXPECT_THROW(m.plug(kSlot4, make_fake()), ConfigError);
  EXPECT_THROW(m.plug({1, 0, 0}, make_fake()), ConfigError);
  EXPECT_THROW(m.plug({0, 32, 0}, make_fake()), ConfigError);
  EXPECT_THROW(m.plug({0, 0, 8}, make_fake()), ConfigError);
  EXPECT_THROW(m.plug({0, 6, 0}, nullptr), ConfigError);
  EXPECT_THROW((void)m.dma_space({0, 5, 0}), ConfigError);
  EXPECT_EQ(dev->attach_calls, 1U);
}

TEST(Machine, AbsentFunctionReadsAllOnesMaskedToSize) {
  Machine m;
  m.plug(kSlot4, make_fake());
  for (port::PciAddress fn : {port::PciAddress{0, 3, 0}, port::PciAddress{0, 4, 1}, port::PciAddress{1, 4, 0}}) {
    EXPECT_EQ(m.config_read(fn, 0, 4), 0xFFFF'FFFFU);
    EXPECT_EQ(m.config_read(fn, 2, 2), 0xFFFFU);
    EXPECT_EQ(m.config_read(fn, 0x0E, 1), 0xFFU);
    m.config_write(fn, 0x04, 2, 0x6);  // goes nowhere
  }
  EXPECT_EQ(m.config_read(kSlot4, 0, 4), 0x9039'10EEU);
}

TEST(Machine, Q35ChipsetFunctionsAnswerABus0Scan) {
  // The dwords Debian's QEMU 7.2 answers on q35 for 0x00, 0x08, 0x0C and 0x2C.
  struct Expect {
    port::PciAddress fn;
    std::uint32_t id, class_rev, header;
  };
  const Expect chipset[] = {{{0, 0x00, 0}, 0x29C0'8086U, 0x0600'0000U, 0x0000'0000U},
                            {{0, 0x1F, 0}, 0x2918'8086U, 0x0601'0002U, 0x0080'0000U},
                            {{0, 0x1F, 2}, 0x2922'8086U, 0x0106'0102U, 0x0080'0000U},
                            {{0, 0x1F, 3}, 0x2930'8086U, 0x0C05'0002U, 0x0080'0000U}};
  Machine m;
  for (const Expect& e : chipset) {
    EXPECT_EQ(m.config_read(e.fn, 0x00, 4), e.id);
    EXPECT_EQ(m.config_read(e.fn, 0x08, 4), e.class_rev);
    EXPECT_EQ(m.config_read(e.fn, 0x0C, 4), e.header);
    EXPECT_EQ(m.config_read(e.fn, 0x2C, 4), 0x1100'1AF4U);
    EXPECT_EQ(m.mmio_read(ecam(e.fn, 0), 4), e.id);  // through ECAM alike
    m.config_write(e.fn, 0x04, 2, 0x0006);           // read-only: nothing sticks
    EXPECT_EQ(m.config_read(e.fn, 0x04, 2), 0U);
    ASSERT_NE(m.device(e.fn), nullptr);
    EXPECT_THROW(m.plug(e.fn, make_fake()), ConfigError);  // QEMU refuses addr=00.0 too
  }
  EXPECT_EQ(m.config_read({0, 0x1F, 1}, 0, 4), 0xFFFF'FFFFU);  // the gaps stay empty
  EXPECT_EQ(m.stats(), MachineStats{});
}

TEST(Machine, UnalignedConfigAccessIsSplitIntoBytes) {
  Machine m;
  auto dev = make_fake();
  m.plug(kSlot4, dev);
  const std::uint64_t before = dev->config_reads;
  EXPECT_EQ(m.config_read(kSlot4, 1, 2), 0x3910U);  // bytes 1..2 of 0x903910EE
  EXPECT_EQ(dev->config_reads - before, 2U);
  m.config_write(kSlot4, 0x03, 2, 0x0600);  // byte 3 (device ID, read-only) and byte 4 (Command)
  ASSERT_EQ(dev->config_log.size(), 2U);
  EXPECT_EQ(dev->config_log[1].offset, 0x04U);
  EXPECT_EQ(dev->config_log[1].size, 1U);
  EXPECT_EQ(dev->command(), 0x0006U);
}

TEST(Machine, EcamAccessEqualsPortConfigAccess) {
  Rig r;
  for (std::uint16_t reg = 0; reg < 0x40; reg = static_cast<std::uint16_t>(reg + 4)) {
    EXPECT_EQ(r.m.mmio_read(ecam(kSlot4, reg), 4), r.m.config_read(kSlot4, reg, 4)) << reg;
    EXPECT_EQ(r.m.mmio_read(ecam(kSlot4, reg), 2), r.m.config_read(kSlot4, reg, 2)) << reg;
    EXPECT_EQ(r.m.mmio_read(ecam(kSlot4, static_cast<std::uint16_t>(reg + 3)), 1),
              r.m.config_read(kSlot4, static_cast<std::uint16_t>(reg + 3), 1))
        << reg;
  }
  EXPECT_EQ(r.m.mmio_read(ecam(kSlot4, 0x10), 4), kBar0);
  EXPECT_EQ(r.m.mmio_read(ecam({0, 5, 0}, 0), 4), 0xFFFF'FFFFU);
  EXPECT_EQ(r.m.mmio_read(ecam({2, 4, 0}, 0), 2), 0xFFFFU);

  r.m.mmio_write(ecam(kSlot4, 0x04), 2, 0x0002);  // clear BME through ECAM
  EXPECT_EQ(r.dev->command(), 0x0002U);
  EXPECT_EQ(r.m.config_read(kSlot4, 0x04, 2), 0x0002U);
  EXPECT_EQ(r.m.stats(), MachineStats{});
}

TEST(Machine, EcamQwordOrCrossFunctionAccessIsUnbacked) {
  Rig r;
  EXPECT_EQ(r.m.mmio_read(ecam(kSlot4, 0), 8), 0U);
  EXPECT_EQ(r.m.mmio_read(ecam(kSlot4, 0xFFE), 4), 0U);
  r.m.mmio_write(ecam(kSlot4, 0x04), 8, 0);
  EXPECT_EQ(r.m.stats().unbacked_reads, 2U);
  EXPECT_EQ(r.m.stats().unbacked_writes, 1U);
  EXPECT_EQ(r.dev->command(), 0x0006U);
}

TEST(Machine, BulkOverEcamUsesConfigAccesses) {
  Rig r;
  std::array<std::uint8_t, 8> out{};
  r.m.mem_read(ecam(kSlot4, 0), out);
  EXPECT_EQ(out, (std::array<std::uint8_t, 8>{0xEE, 0x10, 0x39, 0x90, 0x06, 0x00, 0x00, 0x00}));
}

// --- BAR decode --------------------------------------------------------------------------

TEST(Machine, BarAccessReachesDeviceAtOffset) {
  Rig r;
  r.m.mmio_write(kBar0 + 0x20, 4, 1);
  r.m.mmio_write(kBar2 + 8, 2, 0xABCD'1234);  // masked to the access size
  r.dev->store_bar(0, 0x00, 4, 0x0000'0001);
  EXPECT_EQ(r.m.mmio_read(kBar0, 4), 1U);
  EXPECT_EQ(r.dev->accesses, (std::vector<BarAccess>{{0, 0x20, 4, true, 1},
                                                      {2, 8, 2, true, 0x1234},
                                                      {0, 0x00, 4, false, 1}}));
  EXPECT_EQ(r.m.stats(), MachineStats{});
}

TEST(Machine, BarDecodeFollowsCommandMem) {
  Machine m;
  auto dev = make_fake();
  m.plug(kSlot4, dev);
  m.config_write(kSlot4, 0x10, 4, static_cast<std::uint32_t>(kBar0));
  (void)m.mmio_read(kBar0, 4);  // MEM off: nothing decodes
  EXPECT_TRUE(dev->accesses.empty());
  EXPECT_EQ(m.stats().unbacked_reads, 1U);

  m.config_write(kSlot4, 0x04, 2, 0x0002);
  (void)m.mmio_read(kBar0 + 4, 4);
  ASSERT_EQ(dev->accesses.size(), 1U);
  EXPECT_EQ(dev->accesses[0].offset, 4U);

  m.config_write(kSlot4, 0x04, 2, 0x0000);
  (void)m.mmio_read(kBar0 + 4, 4);
  EXPECT_EQ(dev->accesses.size(), 1U);
  EXPECT_EQ(m.stats().unbacked_reads, 2U);
}

TEST(Machine, BarDecodeFollowsReprogramming) {
  Rig r;
  r.m.config_write(kSlot4, 0x10, 4, 0xE001'0000);
  (void)r.m.mmio_read(kBar0 + 0x10, 4);
  EXPECT_TRUE(r.dev->accesses.empty());
  EXPECT_EQ(r.m.stats().unbacked_reads, 1U);
  (void)r.m.mmio_read(0xE001'0010, 4);
  ASSERT_EQ(r.dev->accesses.size(), 1U);
  EXPECT_EQ(r.dev->accesses[0], (BarAccess{0, 0x10, 4, false, 0}));
}

TEST(Machine, UncachedBarDecodeFollowsChangesTheMachineDidNotSee) {
  // The device changes its own state without the machine seeing a config
  // write (as a device reset would): decode must still follow. FakeFunction
  // reports no decode generation, so the machine asks it at every access.
  Rig r;
  r.dev->config_write(0x10, 4, 0xE002'0000);
  (void)r.m.mmio_read(0xE002'0004, 4);
  ASSERT_EQ(r.dev->accesses.size(), 1U);
  EXPECT_EQ(r.dev->accesses[0].offset, 4U);
  r.dev->config_write(0x04, 2, 0);
  (void)r.m.mmio_read(0xE002'0004, 4);
  EXPECT_EQ(r.dev->accesses.size(), 1U);
}

/// A real PciFunction: it reports a decode generation, so the machine caches its decode.
class PlainFunction final : public pci::PciFunction {
 public:
  PlainFunction() : PciFunction(pci::test::amp_spec(1)) {}
  std::vector<std::uint64_t> reads;

 protected:
  std::uint64_t on_bar_read(unsigned /*bar*/, std::uint64_t offset, unsigned /*size*/) override {
    reads.push_back(offset);
    return 0;
  }
};

TEST(Machine, CachedBarDecodeFollowsChangesTheMachineDidNotSee) {
  Machine m;
  auto dev = std::make_shared<PlainFunction>();
  m.plug(kSlot4, dev);
  ASSERT_NE(dev->decode_generation(), nullptr);
  m.config_write(kSlot4, 0x10, 4, 0xE002'0000);
  m.config_write(kSlot4, 0x04, 2, 0x0002);
  (void)m.mmio_read(0xE002'0004, 4);  // decoded, and the decode cached
  ASSERT_EQ(dev->reads.size(), 1U);
  dev->config_write(0x10, 4, 0xE003'0000);  // moved behind the machine's back
  (void)m.mmio_read(0xE002'0004, 4);
  EXPECT_EQ(dev->reads.size(), 1U);
  (void)m.mmio_read(0xE003'0008, 4);
  ASSERT_EQ(dev->reads.size(), 2U);
  EXPECT_EQ(dev->reads[1], 8U);
  dev->reset();  // BARs and MEM back to power-on: nothing decodes
  (void)m.mmio_read(0xE003'0008, 4);
  EXPECT_EQ(dev->reads.size(), 2U);
  EXPECT_EQ(m.stats().unbacked_reads, 2U);
}

TEST(Machine, FixedFunctionsStayOutOfTheCheckAndMovesAreStillSeen) {
  // The machine's own chipset functions (fixed decode, not watched per
  // access) beside a real function whose moves must still be followed.
  Machine m;
  ASSERT_EQ(m.config_read({0, 0, 0}, 0x00, 2), 0x8086U);  // the host bridge is there
  auto dev = std::make_shared<PlainFunction>();
  m.plug(kSlot4, dev);
  m.config_write(kSlot4, 0x10, 4, 0xE002'0000);
  m.config_write(kSlot4, 0x04, 2, 0x0002);
  (void)m.mmio_read(0xE002'0004, 4);
  ASSERT_EQ(dev->reads.size(), 1U);
  dev->config_write(0x10, 4, 0xE004'0000);  // moved behind the machine's back
  (void)m.mmio_read(0xE004'000C, 4);
  ASSERT_EQ(dev->reads.size(), 2U);
  EXPECT_EQ(dev->reads[1], 0xCU);
  (void)m.mmio_read(0xE002'0004, 4);  // the old window is gone
  EXPECT_EQ(dev->reads.size(), 2U);
  EXPECT_EQ(m.stats().unbacked_reads, 1U);
}

TEST(Machine, RamShadowsABarPlacedOverIt) {
  Rig r;
  r.m.config_write(kSlot4, 0x18, 4, 0x0010'0000);  // BAR2 into RAM
  r.m.mmio_write(0x0010'0000, 4, 0x55);
  EXPECT_TRUE(r.dev->accesses.empty());
  EXPECT_EQ(r.m.ram().load(0x0010'0000, 4), 0x55U);
}

TEST(Machine, AccessStraddlingBarEndIsUnbacked) {
  Rig r;
  EXPECT_EQ(r.m.mmio_read(kBar2 + 0xFFC, 8), 0U);
  r.m.mmio_write(kBar2 + 0xFFE, 4, 1);
  EXPECT_TRUE(r.dev->accesses.empty());
  EXPECT_EQ(r.m.stats().unbacked_reads, 1U);
  EXPECT_EQ(r.m.stats().unbacked_writes, 1U);
  // kBar0 + 16 KiB == kBar2: adjacent BARs are still two regions.
  (void)r.m.mmio_read(kBar0 + 0x3FFC, 8);
  EXPECT_TRUE(r.dev->accesses.empty());
  EXPECT_EQ(r.m.stats().unbacked_reads, 2U);
}

TEST(Machine, BulkWriteOverBarDecomposesIntoAlignedAccesses) {
  Rig r;
  std::array<std::uint8_t, 20> data{};
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<std::uint8_t>(0x10 + i);
  }
  r.m.mem_write(kBar0 + 3, data);
  const std::vector<BarAccess> expected{
      {0, 3, 1, true, 0x10},
      {0, 4, 4, true, 0x14131211},
      {0, 8, 8, true, 0x1C1B1A1918171615ULL},
      {0, 16, 4, true, 0x201F1E1D},
      {0, 20, 2, true, 0x2221},
      {0, 22, 1, true, 0x23},
  };
  EXPECT_EQ(r.dev->accesses, expected);
  EXPECT_EQ(r.m.stats(), MachineStats{});
}

TEST(Machine, BulkReadOverBarDecomposesIntoAlignedAccesses) {
  Rig r;
  for (unsigned i = 0; i < 32; ++i) {
    r.dev->store_bar(0, i, 1, 0xA0 + i);
  }
  std::array<std::uint8_t, 13> out{};
  r.m.mem_read(kBar0 + 6, out);
  for (unsigned i = 0; i < out.size(); ++i) {
    EXPECT_EQ(unsigned{out[i]}, 0xA6 + i) << i;
  }
  ASSERT_EQ(r.dev->accesses.size(), 4U);  // 2 @6, 8 @8, 2 @16, 1 @18
  EXPECT_EQ(r.dev->accesses[0], (BarAccess{0, 6, 2, false, 0xA7A6}));
  EXPECT_EQ(r.dev->accesses[1].offset, 8U);
  EXPECT_EQ(r.dev->accesses[1].size, 8U);
  EXPECT_EQ(r.dev->accesses[2], (BarAccess{0, 16, 2, false, 0xB1B0}));
  EXPECT_EQ(r.dev->accesses[3], (BarAccess{0, 18, 1, false, 0xB2}));
}

TEST(Machine, BulkAcrossAdjacentBarsSplitsAtTheBoundary) {
  Rig r;
  const std::array<std::uint8_t, 8> data{1, 2, 3, 4, 5, 6, 7, 8};
  r.m.mem_write(kBar2 - 4, data);
  EXPECT_EQ(r.dev->accesses, (std::vector<BarAccess>{{0, 0x3FFC, 4, true, 0x04030201}, {2, 0, 4, true, 0x08070605}}));
}

TEST(Machine, BulkOverPlainMemoryBarIsOneCopyAndRegistersStayPieces) {
  Rig r;
  r.dev->bulk_bar = 2;
  std::array<std::uint8_t, 12> data{};
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(0x40 + i);
  r.m.mem_write(kBar2 - 4, data);  // 4 bytes of BAR0 (registers), then 8 of BAR2
  EXPECT_EQ(r.dev->accesses, (std::vector<BarAccess>{{0, 0x3FFC, 4, true, 0x43424140}}));
  EXPECT_EQ(r.dev->bulk, (std::vector<BarAccess>{{2, 0, 8, true, 0}}));
  EXPECT_EQ(r.dev->load_bar(2, 0, 8), 0x4B4A494847464544ULL);
  std::array<std::uint8_t, 12> back{};
  r.m.mem_read(kBar2 - 4, back);
  EXPECT_EQ(back, data);
  EXPECT_EQ(r.dev->bulk.back(), (BarAccess{2, 0, 8, false, 0}));
  EXPECT_EQ(r.m.stats(), MachineStats{});
}

TEST(Machine, BulkOverGapBeforeBarReadsZeroThenBar) {
  Rig r;
  r.dev->store_bar(0, 0, 8, 0x8877665544332211ULL);
  std::array<std::uint8_t, 16> out{};
  out.fill(0xEE);
  r.m.mem_read(kBar0 - 8, out);
  EXPECT_EQ(out, (std::array<std::uint8_t, 16>{0, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                               0x88}));
  EXPECT_EQ(r.m.stats().unbacked_bulk_bytes, 8U);
  EXPECT_EQ(r.dev->accesses.size(), 1U);
}

// --- bus master ----------------------------------------------------------------------------

TEST(Machine, DmaInsideRamSucceeds) {
  Rig r;
  pci::DmaSpace& dma = *r.dev->dma();
  const std::array<std::uint8_t, 4> data{9, 8, 7, 6};
  ASSERT_TRUE(dma.dma_write(0x40'0000, data));
  EXPECT_EQ(r.m.mmio_read(0x40'0000, 4), 0x06070809U);
  std::array<std::uint8_t, 4> back{};
  ASSERT_TRUE(dma.dma_read(0x40'0000, back));
  EXPECT_EQ(back, data);
  ASSERT_TRUE(dma.dma_write(kRamSize - 4, data));  // last bytes of RAM
  EXPECT_EQ(r.m.stats().dma_faults, 0U);
}

TEST(Machine, DmaOutsideRamFailsTouchingNothing) {
  Rig r;
  pci::DmaSpace& dma = *r.dev->dma();
  r.m.mmio_write(kRamSize - 4, 4, 0x01020304);
  const std::array<std::uint8_t, 8> data{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  EXPECT_FALSE(dma.dma_write(kRamSize - 4, data));  // straddles RAM end
  EXPECT_EQ(r.m.mmio_read(kRamSize - 4, 4), 0x01020304U);
  EXPECT_FALSE(dma.dma_write(kBar0, data));  // no peer-to-peer into BARs
  EXPECT_TRUE(r.dev->accesses.empty());
  std::array<std::uint8_t, 8> out{};
  out.fill(0x5A);
  EXPECT_FALSE(dma.dma_read(0x9000'0000, out));
  EXPECT_EQ(out, (std::array<std::uint8_t, 8>{0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A}));
  EXPECT_EQ(r.m.stats().dma_faults, 3U);
}

TEST(Machine, DeviceMayDmaFromInsideABarWrite) {
  // The synchronous doorbell path: a NOTIFY write makes the device DMA at once.
  Rig r;
  r.dev->on_bar_write = [&](unsigned, std::uint64_t, std::uint64_t value) {
    const std::array<std::uint8_t, 1> b{static_cast<std::uint8_t>(value)};
    ASSERT_TRUE(r.dev->dma()->dma_write(0x50'0000, b));
  };
  r.m.mmio_write(kBar0 + 0x20, 4, 0x7E);
  EXPECT_EQ(r.m.mmio_read(0x50'0000, 1), 0x7EU);
}

TEST(Machine, MsiLandsInRamAndIsLogged) {
  Rig r;
  pci::DmaSpace& dma = *r.dev->dma();
  ASSERT_TRUE(dma.msi_write(0x10'0000, 0x12345678));
  std::array<std::uint8_t, 4> bytes{};
  r.m.mem_read(0x10'0000, bytes);
  EXPECT_EQ(bytes, (std::array<std::uint8_t, 4>{0x78, 0x56, 0x34, 0x12}));
  r.m.advance_time(500);
  ASSERT_TRUE(dma.msi_write(0x10'0010, 0xCAFE));
  EXPECT_EQ(r.m.msi_log(), (std::vector<MsiRecord>{{0x10'0000, 0x12345678, 0, kSlot4}, {0x10'0010, 0xCAFE, 500, kSlot4}}));
  EXPECT_EQ(r.m.stats().msis, 2U);
  r.m.clear_msi_log();
  EXPECT_TRUE(r.m.msi_log().empty());
}

TEST(Machine, MsiOutsideRamIsStray) {
  Rig r;
  pci::DmaSpace& dma = *r.dev->dma();
  EXPECT_FALSE(dma.msi_write(0xFEE0'0000, 1));   // the x86 APIC window: no RAM here
  EXPECT_FALSE(dma.msi_write(kRamSize - 2, 1));  // straddles RAM end
  EXPECT_EQ(r.m.mmio_read(kRamSize - 4, 4), 0U);
  EXPECT_TRUE(r.m.msi_log().empty());
  EXPECT_EQ(r.m.stats().stray_msis, 2U);
  EXPECT_EQ(r.m.stats().msis, 0U);
}

// --- time -------------------------------------------------------------------------------

TEST(Machine, AdvanceTimeReachesEveryDevice) {
  Machine m;
  auto a = make_fake();
  auto b = make_fake();
  m.plug(kSlot4, a);
  m.plug({0, 7, 0}, b);
  m.advance_time(100);
  m.advance_time(250);
  EXPECT_EQ(m.now_ns(), 350U);
  EXPECT_EQ(a->elapsed_ns, 350U);
  EXPECT_EQ(b->elapsed_ns, 350U);
  EXPECT_EQ(a->advance_calls, 2U);
  EXPECT_EQ(b->advance_calls, 2U);
}

TEST(Machine, AClockStepPastTheTopIsRefusedAndAdvancesNothing) {
  Machine m;
  auto a = make_fake();
  m.plug(kSlot4, a);
  m.advance_time(UINT64_MAX - 10);
  EXPECT_THROW(m.advance_time(11), PortError);
  EXPECT_EQ(m.now_ns(), UINT64_MAX - 10);
  EXPECT_EQ(a->elapsed_ns, UINT64_MAX - 10);
  EXPECT_EQ(a->advance_calls, 1U);
  m.advance_time(10);  // up to the top exactly is fine
  EXPECT_EQ(m.now_ns(), UINT64_MAX);
  EXPECT_THROW(m.advance_time(1), PortError);
  m.advance_time(0);
  EXPECT_EQ(m.now_ns(), UINT64_MAX);
}

TEST(Machine, MsiFromATimerIsStampedWithTheNewTime) {
  Rig r;
  r.dev->on_advance = [&](std::uint64_t) { (void)r.dev->dma()->msi_write(0x10'0000, 7); };
  r.m.advance_time(1000);
  ASSERT_EQ(r.m.msi_log().size(), 1U);
  EXPECT_EQ(r.m.msi_log()[0].time_ns, 1000U);
}

TEST(Machine, ResetStatsClearsCounters) {
  Machine m;
  (void)m.mmio_read(0x9000'0000, 4);
  EXPECT_NE(m.stats(), MachineStats{});
  m.reset_stats();
  EXPECT_EQ(m.stats(), MachineStats{});
}

}  // namespace
}  // namespace vmsg::machine

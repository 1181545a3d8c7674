// The machine as arm virt: RAM from 1 GiB, the high ECAM, the gpex host
// bridge alone on bus 0, BARs in the 32-bit window, and DMA/MSI that land in
// RAM only at RAM's own addresses (amp-pci-device.md §9.2-9.4).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "machine/fake_function.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/machine/machine.hpp"
#include "vmsg/machine/virt_platform.hpp"

namespace vmsg::machine {
namespace {

using testing::FakeBarSpec;
using testing::FakeFunction;

constexpr port::PciAddress kSlot4{0, 4, 0};
constexpr std::uint64_t kRam = 0x4000'0000;
constexpr std::uint64_t kEcam = 0x40'1000'0000ULL;
constexpr std::uint64_t kWindow = 0x1000'0000;

Machine virt(std::uint64_t ram = 128ULL << 20) { return Machine(MachineConfig{.ram_size = ram, .type = MachineType::ArmVirt}); }

std::uint64_t ecam(port::PciAddress fn, std::uint16_t reg) {
  return kEcam | std::uint64_t{fn.bus} << 20 | std::uint64_t{fn.device} << 15 | std::uint64_t{fn.function} << 12 | reg;
}

TEST(VirtMachine, AddressMapIsVirtAsLibqosGenericPcihostSeesIt) {
  Machine m = virt();
  EXPECT_EQ(m.type(), MachineType::ArmVirt);
  EXPECT_EQ(m.ram_base(), kRam);
  const port::AddressMap map = m.address_map();
  EXPECT_EQ(map.ram_base, kRam + 0x10'0000);
  EXPECT_EQ(map.ram_size, (128ULL << 20) - 0x10'0000);
  EXPECT_EQ(map.mmio_base, kWindow);
  EXPECT_EQ(map.mmio_size, 0x3EFF'0000ULL - kWindow);
}

TEST(VirtMachine, RamLimitsAreVirtsNotQ35s) {
  // 4 GiB does not fit below q35's ECAM but does on virt (up to 255 GiB).
  EXPECT_NO_THROW((void)virt(4ULL << 30));
  EXPECT_THROW(Machine(MachineConfig{.ram_size = 4ULL << 30}), ConfigError);
  EXPECT_THROW((void)virt(kArmVirtLayout.ram_max + 1), ConfigError);
  EXPECT_THROW((void)virt(0x10'0000), ConfigError);
}

TEST(VirtMachine, GpexHostBridgeIsTheOnlyPlatformFunction) {
  Machine m = virt();
  // As QEMU 7.2 answered through ECAM (qemu_virt_pci_test.cpp compares them live).
  EXPECT_EQ(m.config_read({0, 0, 0}, 0x00, 4), 0x0008'1B36U);
  EXPECT_EQ(m.config_read({0, 0, 0}, 0x08, 4), 0x0600'0000U);
  EXPECT_EQ(m.config_read({0, 0, 0}, 0x0C, 4), 0U);  // header type 0, single function
  EXPECT_EQ(m.config_read({0, 0, 0}, 0x2C, 4), 0x1100'1AF4U);
  EXPECT_EQ(m.config_read({0, 0, 0}, 0x100, 4), 0xFFFF'FFFFU);  // conventional: no extended space
  for (const port::PciAddress fn : {port::PciAddress{0, 0x1F, 0}, port::PciAddress{0, 0x1F, 2}, port::PciAddress{0, 0x1F, 3}}) {
    EXPECT_EQ(m.config_read(fn, 0, 4), 0xFFFF'FFFFU) << "no ICH9 function on virt";
  }
  EXPECT_EQ(virt_platform().size(), 1U);
  EXPECT_THROW(m.plug({0, 0, 0}, std::make_shared<FakeFunction>(1, 2, std::array<FakeBarSpec, 6>{})), ConfigError);
  EXPECT_NO_THROW(m.plug({0, 0x1F, 0}, std::make_shared<FakeFunction>(1, 2, std::array<FakeBarSpec, 6>{})));
}

TEST(VirtMachine, EcamIsAtTheHighBaseAndQ35sIsUnbacked) {
  Machine m = virt();
  m.plug(kSlot4, std::make_shared<FakeFunction>(0x10EE, 0x9039, std::array<FakeBarSpec, 6>{}));
  EXPECT_EQ(m.mmio_read(ecam({0, 0, 0}, 0), 4), 0x0008'1B36U);
  EXPECT_EQ(m.mmio_read(ecam(kSlot4, 0), 4), 0x9039'10EEU);
  EXPECT_EQ(m.mmio_read(ecam(kSlot4, 2), 2), 0x9039U);
  m.mmio_write(ecam(kSlot4, 0x04), 2, 0x0006);
  EXPECT_EQ(m.config_read(kSlot4, 0x04, 2), 0x0006U);
  EXPECT_EQ(m.mmio_read(ecam({1, 0, 0}, 0), 4), 0xFFFF'FFFFU);  // another bus: master abort
  m.reset_stats();
  EXPECT_EQ(m.mmio_read(Machine::kEcamBase + (4U << 15), 4), 0U);  // q35's ECAM is nothing here
  EXPECT_EQ(m.stats().unbacked_reads, 1U);
}

TEST(VirtMachine, RamIsReachedAtItsOwnAddressesOnly) {
  Machine m = virt();
  m.mmio_write(kRam + 0x10'0000, 4, 0x1234'5678);
  EXPECT_EQ(m.ram().load(0x10'0000, 4), 0x1234'5678U);  // ram() is indexed from ram_base()
  EXPECT_EQ(m.mmio_read(kRam + 0x10'0000, 4), 0x1234'5678U);
  EXPECT_EQ(m.stats(), MachineStats{});
  EXPECT_EQ(m.mmio_read(0x10'0000, 4), 0U);  // where q35's RAM would be
  EXPECT_EQ(m.mmio_read(kRam + (128ULL << 20), 4), 0U);  // past the end
  EXPECT_EQ(m.stats().unbacked_reads, 2U);
  // A bulk read that starts below RAM reads zeroes up to RAM, then RAM.
  std::array<std::uint8_t, 8> bytes{};
  m.mem_write(kRam, std::array<std::uint8_t, 4>{1, 2, 3, 4});
  m.mem_read(kRam - 4, bytes);
  EXPECT_EQ(bytes, (std::array<std::uint8_t, 8>{0, 0, 0, 0, 1, 2, 3, 4}));
  EXPECT_EQ(m.stats().unbacked_bulk_bytes, 4U);
}

TEST(VirtMachine, BarsDecodeInTheVirtWindow) {
  Machine m = virt();
  auto dev = std::make_shared<FakeFunction>(
      0x10EE, 0x9039, std::array<FakeBarSpec, 6>{FakeBarSpec{0x4000}, FakeBarSpec{}, FakeBarSpec{}, FakeBarSpec{}, FakeBarSpec{}, FakeBarSpec{}});
  m.plug(kSlot4, dev);
  m.mmio_write(ecam(kSlot4, 0x10), 4, kWindow);
  m.mmio_write(ecam(kSlot4, 0x04), 2, 0x0006);
  m.mmio_write(kWindow + 0x20, 4, 0xCAFE);
  EXPECT_EQ(m.mmio_read(kWindow + 0x20, 4), 0xCAFEU);
  ASSERT_FALSE(dev->accesses.empty());
  EXPECT_EQ(dev->accesses.front().offset, 0x20U);
}

TEST(VirtMachine, DmaAndMsiLandInRamAtGuestPhysicalAddresses) {
  Machine m = virt();
  m.plug(kSlot4, std::make_shared<FakeFunction>(0x10EE, 0x9039, std::array<FakeBarSpec, 6>{}));
  pci::DmaSpace& dma = m.dma_space(kSlot4);
  EXPECT_TRUE(dma.msi_write(kRam + 0x20'0000, 0x5A5A'0001));
  EXPECT_EQ(m.mmio_read(kRam + 0x20'0000, 4), 0x5A5A'0001U);
  ASSERT_EQ(m.msi_log().size(), 1U);
  EXPECT_EQ(m.msi_log()[0].addr, kRam + 0x20'0000);
  EXPECT_EQ(m.msi_log()[0].source, kSlot4);
  // Below RAM (where q35 has it) and past its end: stray, dropped.
  EXPECT_FALSE(dma.msi_write(0x20'0000, 1));
  EXPECT_FALSE(dma.msi_write(kRam + (128ULL << 20), 1));
  EXPECT_EQ(m.stats().stray_msis, 2U);
  std::array<std::uint8_t, 4> buf{9, 8, 7, 6};
  EXPECT_TRUE(dma.dma_write(kRam + 0x30'0000, buf));
  std::array<std::uint8_t, 4> back{};
  EXPECT_TRUE(dma.dma_read(kRam + 0x30'0000, back));
  EXPECT_EQ(back, buf);
  EXPECT_FALSE(dma.dma_read(kRam - 2, back));  // straddles the start of RAM
  EXPECT_EQ(m.stats().dma_faults, 1U);
}

TEST(VirtMachine, MachineTypeNames) {
  EXPECT_EQ(machine_type_named("virt"), MachineType::ArmVirt);
  EXPECT_EQ(machine_type_named("virt-7.2"), MachineType::ArmVirt);
  EXPECT_EQ(machine_type_named("q35"), MachineType::Q35);
  EXPECT_EQ(machine_type_named("pc-q35-7.2"), MachineType::Q35);
  EXPECT_EQ(machine_type_named("pc"), std::nullopt);
  EXPECT_EQ(machine_type_named("virtual"), std::nullopt);
  EXPECT_EQ(to_string(MachineType::ArmVirt), "virt");
  EXPECT_EQ(host_bridge_name(MachineType::ArmVirt), "gpex-pcihost");
  EXPECT_EQ(host_bridge_name(MachineType::Q35), "q35-pcihost");
}

}  // namespace
}  // namespace vmsg::machine

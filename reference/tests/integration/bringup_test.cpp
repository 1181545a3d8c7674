// Enumerate, size and assign BARs, enable MSI-X to RAM — all through the port.
#include <gtest/gtest.h>

#include "rig.hpp"
#include "vmsg/driver/pci_probe.hpp"
#include "vmsg/common/errors.hpp"

namespace vmsg::test {
namespace {

TEST(Bringup, DriverFindsSizesAndAssignsLikeLibqos) {
  Rig rig;
  const auto& f = rig.drv->function();
  EXPECT_EQ(f.addr, Rig::kAddr);
  EXPECT_EQ(f.vendor_id, 0x10EE);
  EXPECT_EQ(f.device_id, 0x9039);
  EXPECT_EQ(f.revision, 1);
  EXPECT_EQ(f.class_code, 0x088000u);
  EXPECT_EQ(f.bars[0].base, 0xE0000000u);
  EXPECT_EQ(f.bars[0].size, 0x4000u);
  EXPECT_EQ(f.bars[1].base, 0xE0004000u);
  EXPECT_EQ(f.bars[1].size, 0x4000u);
  EXPECT_TRUE(f.bars[1].prefetchable);
  EXPECT_EQ(f.bars[2].base, 0xE0008000u);
  EXPECT_EQ(f.bars[2].size, 0x1000u);
  EXPECT_EQ(rig.drv->num_fifos(), 1u);
  ASSERT_TRUE(rig.drv->msix().has_value());
  EXPECT_EQ(rig.drv->msix()->cap, 0x40);
  EXPECT_EQ(rig.drv->msix()->table_size, 1);
  // MSI-X enabled, function not masked (dword 0x40 = 0x80000011 as observed).
  EXPECT_EQ(rig.machine.config_read(Rig::kAddr, 0x40, 4), 0x80000011u);
  EXPECT_EQ(rig.machine.config_read(Rig::kAddr, 0x04, 2) & 0x6u, 0x6u);
}

TEST(Bringup, Bus0ScanSeesTheChipsetButOnlyTheAmpFunctionMatches) {
  Rig rig(RigSpec{.open_driver = false});
  const std::vector<port::PciAddress> found = driver::scan_bus0(rig.machine);
  // q35's order: host bridge, the device, then the ICH9 functions of 00:1f.
  EXPECT_EQ(found, (std::vector<port::PciAddress>{{0, 0, 0}, Rig::kAddr, {0, 0x1F, 0}, {0, 0x1F, 2}, {0, 0x1F, 3}}));
  EXPECT_EQ(driver::find_functions(rig.machine, 0x10EE, 0x9039), std::vector<port::PciAddress>{Rig::kAddr});
  EXPECT_EQ(driver::find_functions(rig.machine, 0x8086, 0x29C0), (std::vector<port::PciAddress>{{0, 0, 0}}));
  auto drv = driver::AmpDriver::open(rig.machine, rig.ram, rig.window);
  EXPECT_EQ(drv.function().addr, Rig::kAddr);
  EXPECT_EQ(drv.bar0(), 0xE0000000u);  // the chipset takes no BAR space
}

TEST(Bringup, TheAmpFunctionCannotTakeAChipsetAddress) {
  for (port::PciAddress a : {port::PciAddress{0, 0, 0}, port::PciAddress{0, 0x1F, 2}}) {
    target::ReferenceSpec s = Rig::make_spec({});
    s.address = a;
    EXPECT_THROW(target::ReferenceTarget{s}, ConfigError);
  }
  target::ReferenceSpec s = Rig::make_spec({});
  s.address = {0, 0x1F, 1};  // a gap in 00:1f is free, as on QEMU
  EXPECT_NO_THROW(target::ReferenceTarget{s});
}

TEST(Bringup, RegistersReadThroughThePort) {
  Rig rig;
  const std::uint64_t bar0 = rig.drv->bar0();
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 0x00, 4), 1u);
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 0x04, 4), 0u);
  EXPECT_EQ(rig.machine.mmio_read(bar0 + 0x3FFC, 4), 0u);
}

TEST(Bringup, EightFifosGiveEightVectorsAnd128KiBOfRam) {
  Rig rig(RigSpec{.amp = {.num_fifos = 8}});
  EXPECT_EQ(rig.drv->num_fifos(), 8u);
  EXPECT_EQ(rig.drv->function().bars[1].size, 8u * 0x4000u);
  EXPECT_EQ(rig.drv->msix()->table_size, 8);
  EXPECT_EQ(rig.drv->bar1() % (8u * 0x4000u), 0u);  // naturally aligned
}

TEST(Bringup, UnbuildableFifoCountsAreRefusedWithAClearError) {
  for (unsigned n : {0u, 3u, 5u, 6u, 7u, 9u, 16u, 0xFFFFFFFFu}) {
    try {
      amp::AmpPciDevice d(amp::AmpConfig{.num_fifos = n});
      FAIL() << "num_fifos=" << n << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("num_fifos=" + std::to_string(n)), std::string::npos) << e.what();
    }
  }
  for (unsigned n : {1u, 2u, 4u, 8u}) EXPECT_NO_THROW(amp::AmpPciDevice(amp::AmpConfig{.num_fifos = n}));
}

TEST(Bringup, NoDeviceBehindTheBusStillAnswersBusMessages) {
  // QEMU segfaults here (bug 1, D34); the reference answers.
  Rig rig(RigSpec{.devices = {{}}});
  auto r = rig.link().request(ping(0xdeadbeef));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(std::get<wire::PingResp>(r->body).data, 0xdeadbeefu);
  auto d = rig.link().request(wire::Message{.body = wire::GetDevicesReq{0, 32}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<wire::GetDevicesResp>(d->body).bitmap, (std::vector<std::uint8_t>{0, 0, 0, 0}));
}

}  // namespace
}  // namespace vmsg::test

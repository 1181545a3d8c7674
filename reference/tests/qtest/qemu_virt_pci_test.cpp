// The REAL Debian qemu-system-aarch64 (package qemu-system-arm) on arm virt
// over qtest: proves QtestPort's ArmVirt layout against QEMU's gpex host
// bridge - ECAM at 0x4010000000, BARs from 0x10000000, MSI-X into RAM at
// 1 GiB - and that the reference's virt machine answers the same probes.
// The device is a virtio-blk-pci driven as in qemu_pci_test.cpp
// (virtio_blk_pci.hpp); Debian's QEMU 7.2 has no amp device. Skipped when
// the binary is absent.
#include <gtest/gtest.h>

#include <filesystem>

#include "qtest/virt_launch.hpp"
#include "qtest/virtio_blk_pci.hpp"
#include "vmsg/driver/pci_probe.hpp"
#include "vmsg/machine/machine.hpp"
#include "vmsg/machine/virt_platform.hpp"
#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qtest_port.hpp"

namespace vmsg::qtest {
namespace {

constexpr const char* kQemu = "/usr/bin/qemu-system-aarch64";

QemuLaunch virt(const std::vector<std::string>& devices) { return virt_launch(kQemu, devices); }

class RealQemuVirt : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kQemu)) {
      GTEST_SKIP() << kQemu << " not installed (Debian package qemu-system-arm); the arm virt check needs it";
    }
  }
};

TEST_F(RealQemuVirt, EcamProbeFindsTheGpexBridgeAsTheReferenceHasIt) {
  QemuProcess p = QemuProcess::start(virt({}));
  QtestPort qemu(p.take_fd(), virt_options());
  machine::Machine ref(machine::MachineConfig{.type = machine::MachineType::ArmVirt});
  // Same functions on bus 0 (the bridge alone), and the same identity dwords.
  const std::vector<port::PciAddress> found = driver::scan_bus0(qemu);
  EXPECT_EQ(found, driver::scan_bus0(ref));
  ASSERT_EQ(found.size(), machine::virt_platform().size());
  for (const machine::PlatformFunction& f : machine::virt_platform()) {
    for (const std::uint16_t reg : {std::uint16_t{0x00}, std::uint16_t{0x08}, std::uint16_t{0x0C}, std::uint16_t{0x2C},
                                    std::uint16_t{0x34}, std::uint16_t{0x100}}) {
      EXPECT_EQ(qemu.config_read(f.address, reg, 4), ref.config_read(f.address, reg, 4))
          << int{f.address.device} << "." << int{f.address.function} << " reg " << reg;
    }
  }
  EXPECT_EQ(qemu.config_read({0, 0, 0}, 0, 4), 0x0008'1B36U);
  // RAM starts at 1 GiB: the driver's first byte is writable.
  const port::AddressMap map = qemu.address_map();
  qemu.mmio_write(map.ram_base, 4, 0x600D'F00D);
  EXPECT_EQ(qemu.mmio_read(map.ram_base, 4), 0x600D'F00DU);
  EXPECT_TRUE(p.alive()) << p.stderr_text();
}

TEST_F(RealQemuVirt, PortIoReachesNoConfigSpaceAsTheReferenceServerAnswers) {
  // virt has no I/O space: QEMU's qtest answers port reads all-ones and drops
  // writes (server_virt_test.cpp holds vmsg-ref-qtest to the same answers).
  QemuProcess p = QemuProcess::start(virt({}));
  QtestPort qemu(p.take_fd(), virt_options());
  qemu.port_out(0xCF8, 4, 0x8000'0000);
  EXPECT_EQ(qemu.port_in(0xCFC, 4), 0xFFFF'FFFFU);
  EXPECT_EQ(qemu.port_in(0xCF8, 4), 0xFFFF'FFFFU);
  EXPECT_EQ(qemu.port_in(0xCFC, 1), 0xFFU);
  qemu.port_out(0xCF8, 4, 0x8000'0004);
  qemu.port_out(0xCFC, 2, 0x0006);
  EXPECT_EQ(qemu.config_read({0, 0, 0}, 0x04, 2), 0U);  // the write reached nothing
}

TEST_F(RealQemuVirt, VirtioPciBarsInTheVirtWindowAndMsixLandsInRam) {
  QemuProcess proc = QemuProcess::start(virt(
      {"-blockdev", "driver=null-co,node-name=d0,read-zeroes=on", "-device",
       "virtio-blk-pci,drive=d0,serial=" + std::string(blk_pci::kSerial) + ",addr=05.0,disable-legacy=on"}));
  QtestPort port(proc.take_fd(), virt_options());
  EXPECT_EQ(port.address_map().mmio_base, 0x1000'0000U);
  EXPECT_EQ(port.address_map().ram_base, 0x4010'0000U);
  blk_pci::expect_get_id_raises_msix(port, {0, 5, 0});
  EXPECT_TRUE(proc.alive()) << proc.stderr_text();
}

}  // namespace
}  // namespace vmsg::qtest

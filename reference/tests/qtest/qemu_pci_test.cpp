// The REAL Debian QEMU over qtest: proves QtestPort, QemuProcess and the
// driver's PCI/MSI-X code against QEMU's own PCI core, with a standard
// virtio-pci device (the amp device is not in Debian's QEMU).
//
// Device: virtio-blk-pci (modern only) on a null block node, driven to an
// MSI-X interrupt by virtio_blk_pci.hpp. Skipped when the binary is absent.
// qemu_virt_pci_test.cpp does the same on arm virt.
#include <gtest/gtest.h>

#include <filesystem>

#include "qtest/virtio_blk_pci.hpp"
#include "vmsg/driver/pci_probe.hpp"
#include "vmsg/machine/machine.hpp"
#include "vmsg/machine/q35_platform.hpp"
#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qtest_port.hpp"

namespace vmsg::qtest {
namespace {

constexpr const char* kQemu = "/usr/bin/qemu-system-x86_64";

class RealQemu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kQemu)) GTEST_SKIP() << kQemu << " not installed; the real-QEMU check needs it";
  }
};

TEST_F(RealQemu, AccelProbeAndDeviceHelp) {
  EXPECT_TRUE(binary_has_device(kQemu, "virtio-blk-pci"));
  EXPECT_FALSE(binary_has_device(kQemu, "no-such-device-xyz"));
  // Debian's build has no qtest accelerator; Auto must then choose the -S fallback.
  const bool has_qtest = binary_has_accel(kQemu, "qtest");
  EXPECT_TRUE(binary_has_accel(kQemu, "tcg"));
  QemuLaunch l;
  l.binary = kQemu;
  l.args = {"-M", "q35"};
  QemuProcess p = QemuProcess::start(l);
  EXPECT_EQ(p.accel(), has_qtest ? AccelMode::Qtest : AccelMode::StoppedTcg);
  QtestPort port(p.take_fd());
  // q35's host bridge at 00:00.0, through CF8/CFC.
  EXPECT_EQ(port.config_read({0, 0, 0}, 0, 4), 0x29C08086u);
  EXPECT_EQ(port.config_read({0, 0, 0}, 2, 2), 0x29C0u);
  EXPECT_EQ(port.config_read({0, 9, 0}, 0, 4), 0xFFFFFFFFu);  // empty slot
  // Unknown commands are FAIL, not a broken connection.
  Command c;
  c.op = Op::Endianness;
  EXPECT_EQ(port.command(c).words, (std::vector<std::string>{"little"}));
  port.advance_time(1000);
  EXPECT_EQ(port.clock_supported(), has_qtest);
  EXPECT_TRUE(p.alive());
}

TEST_F(RealQemu, Q35ChipsetReadsLikeTheReferenceMachine) {
  QemuLaunch l;
  l.binary = kQemu;
  l.args = {"-M", "q35"};
  QemuProcess p = QemuProcess::start(l);
  QtestPort qemu(p.take_fd());
  machine::Machine ref;
  // Same functions on bus 0, and the same identity dwords in each: IDs,
  // class/revision, header type, subsystem. (QEMU's functions have more -
  // AHCI's BARs and capabilities, writable Command - which nothing probes.)
  const std::vector<port::PciAddress> found = driver::scan_bus0(qemu);
  EXPECT_EQ(found, driver::scan_bus0(ref));
  ASSERT_EQ(found.size(), machine::q35_platform().size());
  for (const machine::PlatformFunction& f : machine::q35_platform()) {
    for (const std::uint16_t reg : {std::uint16_t{0x00}, std::uint16_t{0x08}, std::uint16_t{0x0C}, std::uint16_t{0x2C}}) {
      EXPECT_EQ(qemu.config_read(f.address, reg, 4), ref.config_read(f.address, reg, 4))
          << int{f.address.device} << "." << int{f.address.function} << " reg " << reg;
    }
  }
}

TEST_F(RealQemu, VirtioPciMsixLandsInGuestRam) {
  QemuLaunch l;
  l.binary = kQemu;
  l.args = {"-M", "q35", "-blockdev", "driver=null-co,node-name=d0,read-zeroes=on", "-device",
            "virtio-blk-pci,drive=d0,serial=" + std::string(blk_pci::kSerial) + ",addr=05.0,disable-legacy=on"};
  QemuProcess proc = QemuProcess::start(l);
  QtestPort port(proc.take_fd());
  blk_pci::expect_get_id_raises_msix(port, {0, 5, 0});
  EXPECT_TRUE(proc.alive()) << proc.stderr_text();
}

}  // namespace
}  // namespace vmsg::qtest

// End to end on arm virt: vmsg-ref-qtest started with `-M virt` and the seed
// document's bus path, driven through QtestPort (MachineType::ArmVirt) by the
// ordinary driver stack: ECAM enumeration, BARs from 0x10000000, MSI-X into
// RAM at 1 GiB (amp-pci-device.md §8.2, §9).
#include <gtest/gtest.h>

#include "qtest/virt_launch.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/driver/pci_probe.hpp"
#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qtest_port.hpp"

#ifndef VMSG_REF_QTEST_BIN
#error "VMSG_REF_QTEST_BIN must name the vmsg-ref-qtest binary (set by reference/tools/CMakeLists.txt)"
#endif

namespace vmsg::qtest {
namespace {

const std::string kBin = VMSG_REF_QTEST_BIN;
// The seed document's example (amp-pci-device.md §8.2), amp device by type name.
const std::string kSeedBus = "bus=/gpex-pcihost/pcie.0/virtio-msg-amp-pci/fifo0/virtio-msg/bus0/virtio-msg-dev";
constexpr std::uint64_t kVirtRam = 0x4000'0000;
constexpr std::uint64_t kVirtWindow = 0x1000'0000;

QemuLaunch launch(const std::vector<std::string>& args) { return virt_launch(kBin, args); }

struct VirtSession {
  explicit VirtSession(const std::vector<std::string>& args)
      : proc(QemuProcess::start(launch(args))),
        port(proc.take_fd(), virt_options()),
        ram(port.address_map()),
        window(port.address_map()) {}
  QemuProcess proc;
  QtestPort port;
  driver::GuestAllocator ram;
  driver::BarWindowAllocator window;
};

TEST(RefQtestVirtE2e, MachineHelpListsBothMachines) {
  const auto out = run_capture(kBin, {"-M", "help"});
  ASSERT_TRUE(out.has_value());
  EXPECT_NE(out->find("\nq35 "), std::string::npos) << *out;
  EXPECT_NE(out->find("\nvirt "), std::string::npos) << *out;
}

TEST(RefQtestVirtE2e, SeedCommandLineEnumeratesThroughEcam) {
  VirtSession s({"-device", "virtio-msg-amp-pci", "-object", "rng-builtin,id=r0", "-device",
                 "virtio-rng-device,rng=r0," + kSeedBus});
  EXPECT_EQ(s.proc.accel(), AccelMode::Qtest);
  // The gpex host bridge and the amp device, nothing of q35's.
  EXPECT_EQ(driver::scan_bus0(s.port), (std::vector<port::PciAddress>{{0, 0, 0}, {0, 4, 0}}));
  EXPECT_EQ(s.port.config_read({0, 0, 0}, 0, 4), 0x0008'1B36U);
  EXPECT_EQ(s.port.config_read({0, 4, 0}, 0, 4), 0x9039'10EEU);
  // The client reads config space with readl at the ECAM address, as libqos does.
  EXPECT_EQ(s.port.mmio_read(0x40'1002'0008ULL, 4), 0x0880'0001U);
  // Extended config space exists through ECAM; the conventional device has none.
  EXPECT_EQ(s.port.config_read({0, 4, 0}, 0x100, 4), 0xFFFF'FFFFU);
  // Port I/O is answered, but reaches nothing, as on QEMU's virt.
  s.port.port_out(0xCF8, 4, 0x8000'2000);
  EXPECT_EQ(s.port.port_in(0xCFC, 4), 0xFFFF'FFFFU);
}

TEST(RefQtestVirtE2e, BarsFromTheVirtWindowAndMsiXIntoRamAtOneGib) {
  VirtSession s({"-device", "virtio-msg-amp-pci", "-object", "rng-builtin,id=r0", "-device",
                 "virtio-rng-device,rng=r0," + kSeedBus});
  driver::AmpDriver amp = driver::AmpDriver::open(s.port, s.ram, s.window);
  EXPECT_EQ(amp.function().addr, (port::PciAddress{0, 4, 0}));
  // libqos generic-pcihost order: from 0x10000000, each BAR aligned to its size.
  EXPECT_EQ(amp.bar0(), kVirtWindow);
  EXPECT_EQ(amp.bar1(), kVirtWindow + 0x4000);
  EXPECT_EQ(amp.bar2(), kVirtWindow + 0x8000);
  EXPECT_EQ(s.port.config_read({0, 4, 0}, 0x10, 4), kVirtWindow);
  // MSI-X entry 0 points into virt's RAM, past libqos' first MiB.
  const std::uint64_t msi_addr = s.port.mmio_read(amp.bar2(), 8);
  const auto msi_data = static_cast<std::uint32_t>(s.port.mmio_read(amp.bar2() + 8, 4));
  EXPECT_GE(msi_addr, kVirtRam + 0x10'0000);
  EXPECT_LT(msi_addr, kVirtRam + (128ULL << 20));
  EXPECT_EQ(s.port.mmio_read(msi_addr, 4), 0U);

  driver::FifoLink& link = amp.fifo(0);
  auto pong = link.request(wire::Message{0, 7, 0, wire::PingReq{0xFEEDF00D}});
  ASSERT_TRUE(pong.ok()) << to_string(pong.error());
  ASSERT_TRUE(std::holds_alternative<wire::PingResp>(pong->body));
  EXPECT_EQ(std::get<wire::PingResp>(pong->body).data, 0xFEEDF00DU);
  EXPECT_EQ(s.port.mmio_read(msi_addr, 4), msi_data);  // the device's MSI-X write, seen over qtest
  EXPECT_TRUE(link.take_msi());

  auto devs = link.request(wire::Message{0, 8, 0, wire::GetDevicesReq{0, 32}});
  ASSERT_TRUE(devs.ok()) << to_string(devs.error());
  ASSERT_TRUE(std::holds_alternative<wire::GetDevicesResp>(devs->body));
  EXPECT_EQ(static_cast<unsigned>(std::get<wire::GetDevicesResp>(devs->body).bitmap[0]) & 1U, 1U);  // bus0
  EXPECT_TRUE(s.proc.alive());
}

TEST(RefQtestVirtE2e, Q35BusPathOnVirtFailsToStartWithTheToolsMessage) {
  try {
    (void)QemuProcess::start(launch({"-device", "virtio-msg-amp-pci,id=amp0", "-device",
                                          "virtio-rng-device,bus=/q35-pcihost/pcie.0/amp0/fifo0/virtio-msg/bus0"}));
    FAIL() << "started";
  } catch (const PortError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("exit code 1"), std::string::npos) << what;
    EXPECT_NE(what.find("no such bus on the virt machine"), std::string::npos) << what;
  }
}

TEST(RefQtestVirtE2e, VirtRamSizeBeyondQ35sLimitStarts) {
  // -m 4G: more than fits below q35's ECAM, fine on virt.
  VirtSession s({"-m", "4G"});
  s.port.mmio_write(kVirtRam + (4ULL << 30) - 4, 4, 0xA5A5'A5A5);
  EXPECT_EQ(s.port.mmio_read(kVirtRam + (4ULL << 30) - 4, 4), 0xA5A5'A5A5U);
}

}  // namespace
}  // namespace vmsg::qtest

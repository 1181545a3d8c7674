// vmsg-ref-qtest built for REV1-2026 (-device virtio-msg-amp-pci,profile=rev1-2026),
// driven over qtest by a driver speaking REV1 layouts.
#include <gtest/gtest.h>

#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qtest_port.hpp"

#ifndef VMSG_REF_QTEST_BIN
#error "VMSG_REF_QTEST_BIN must name the vmsg-ref-qtest binary (set by reference/tools/CMakeLists.txt)"
#endif

namespace vmsg::qtest {
namespace {

TEST(RefQtestRev1E2e, AmpPropertySelectsTheRev1Device) {
  QemuLaunch l;
  l.binary = VMSG_REF_QTEST_BIN;
  l.args = {"-M", "q35", "-device", "virtio-msg-amp-pci,id=amp0,profile=rev1-2026", "-device",
            "virtio-rng-device,bus=/q35-pcihost/pcie.0/amp0/fifo0/virtio-msg/bus0/virtio-msg-dev"};
  QemuProcess proc = QemuProcess::start(l);
  QtestPort port(proc.take_fd());
  driver::GuestAllocator ram(port.address_map());
  driver::BarWindowAllocator window(port.address_map());
  driver::AmpDriver amp = driver::AmpDriver::open(port, ram, window, {.profile = wire::Profile::rev1()});
  driver::FifoLink& link = amp.fifo(0);

  auto info = link.request(wire::Message{0, 0x0101, 0, wire::GetDeviceInfoReq{}});  // device number 0
  ASSERT_TRUE(info.ok()) << to_string(info.error());
  ASSERT_TRUE(std::holds_alternative<wire::GetDeviceInfoResp>(info->body));
  EXPECT_EQ(std::get<wire::GetDeviceInfoResp>(info->body).num_feature_blocks, 2u);  // the 52-byte layout decoded
  EXPECT_EQ(info->token, 0x0101);

  auto devs = link.request(wire::Message{0, 0x0202, 0, wire::GetDevicesReq{0, 0}});
  ASSERT_TRUE(devs.ok()) << to_string(devs.error());
  const auto& w = std::get<wire::GetDevicesResp>(devs->body);
  EXPECT_EQ(w.count, std::optional<std::uint16_t>{0});  // count 0: an empty, terminal window
  EXPECT_TRUE(w.bitmap.empty());
  EXPECT_EQ(w.next_offset, 0u);
  EXPECT_TRUE(proc.alive());
}

}  // namespace
}  // namespace vmsg::qtest

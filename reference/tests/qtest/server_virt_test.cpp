// The qtest server over an arm virt reference machine, line by line: config
// space through ECAM, RAM at 1 GiB, and port I/O answered as QEMU's qtest
// answers it on virt (all-ones, writes dropped: no I/O space, so CF8/CFC
// reach nothing).
#include <gtest/gtest.h>

#include "vmsg/qtest/ref_args.hpp"
#include "vmsg/qtest/server.hpp"
#include "vmsg/target/reference_target.hpp"

namespace vmsg::qtest {
namespace {

struct VirtRig {
  VirtRig()
      : target(make_spec(parse_ref_args(std::vector<std::string>{
            "-M", "virt", "-qtest", "unix:/unused", "-device", "virtio-msg-amp-pci,addr=04.0", "-device",
            "virtio-rng-device,bus=/gpex-pcihost/pcie.0/virtio-msg-amp-pci/fifo0/virtio-msg/bus0/virtio-msg-dev"}))),
        server(target.machine()) {}
  target::ReferenceTarget target;
  Server server;
};

TEST(QtestServerVirt, ConfigSpaceThroughEcam) {
  VirtRig r;
  ASSERT_EQ(r.target.machine().type(), machine::MachineType::ArmVirt);
  EXPECT_EQ(r.server.handle("readl 0x4010000000"), "OK 0x0000000000081b36\n");  // gpex host bridge
  EXPECT_EQ(r.server.handle("readl 0x4010020000"), "OK 0x00000000903910ee\n");  // 00:04.0
  EXPECT_EQ(r.server.handle("readw 0x4010020002"), "OK 0x0000000000009039\n");
  EXPECT_EQ(r.server.handle("readl 0x4010020008"), "OK 0x0000000008800001\n");
  EXPECT_EQ(r.server.handle("readl 0x4010028000"), "OK 0x00000000ffffffff\n");   // 00:05.0: empty
  EXPECT_EQ(r.server.handle("readl 0x40100f8000"), "OK 0x00000000ffffffff\n");   // 00:1f.0: no ICH9 here
  EXPECT_EQ(r.server.handle("writew 0x4010020004 0x6"), "OK\n");
  EXPECT_EQ(r.server.handle("readw 0x4010020004"), "OK 0x0000000000000006\n");
  // BAR0 placed at the bottom of virt's window decodes there.
  EXPECT_EQ(r.server.handle("writel 0x4010020010 0x10000000"), "OK\n");
  EXPECT_EQ(r.server.handle("readl 0x4010020010"), "OK 0x0000000010000000\n");
  EXPECT_EQ(r.server.handle("readl 0x10000000"), "OK 0x0000000000000001\n");  // VERSION
  EXPECT_EQ(r.server.handle("readl 0xb0020000"), "OK 0x0000000000000000\n");  // q35's ECAM: nothing
}

TEST(QtestServerVirt, PortIoReachesNothingAsOnQemu) {
  VirtRig r;
  // What QEMU 7.2's qtest answered on -M virt (qemu_virt_pci_test.cpp checks it live).
  EXPECT_EQ(r.server.handle("outl 0xcf8 0x80002000"), "OK\n");
  EXPECT_EQ(r.server.handle("inl 0xcfc"), "OK 0xffffffff\n");
  EXPECT_EQ(r.server.handle("inl 0xcf8"), "OK 0xffffffff\n");
  EXPECT_EQ(r.server.handle("inw 0xcfe"), "OK 0xffff\n");
  EXPECT_EQ(r.server.handle("inb 0xcfc"), "OK 0x00ff\n");
  // ...and the write went nowhere: Command through CF8/CFC is not the device's.
  EXPECT_EQ(r.server.handle("outl 0xcf8 0x80002004"), "OK\n");
  EXPECT_EQ(r.server.handle("outw 0xcfc 0x6"), "OK\n");
  EXPECT_EQ(r.server.handle("readw 0x4010020004"), "OK 0x0000000000000000\n");
  EXPECT_EQ(r.server.stats().failed, 0U);
}

TEST(QtestServerVirt, RamIsAtOneGibAndMsiXLandsThere) {
  VirtRig r;
  EXPECT_EQ(r.server.handle("writel 0x40100000 0x12345678"), "OK\n");
  EXPECT_EQ(r.server.handle("readl 0x40100000"), "OK 0x0000000012345678\n");
  EXPECT_EQ(r.server.handle("b64read 0x40100000 4"), "OK eFY0Eg==\n");
  EXPECT_EQ(r.server.handle("readl 0x100000"), "OK 0x0000000000000000\n");  // q35's RAM: nothing
  // The device's bus master writes RAM at guest-physical addresses.
  ASSERT_TRUE(r.target.machine().dma_space({0, 4, 0}).msi_write(0x40200000, 0xABCD0001));
  EXPECT_EQ(r.server.handle("readl 0x40200000"), "OK 0x00000000abcd0001\n");
}

TEST(QtestServerVirt, BareVirtMachineHasTheHostBridge) {
  machine::Machine bare(machine::MachineConfig{.type = machine::MachineType::ArmVirt});
  Server s(bare);
  EXPECT_EQ(s.handle("readl 0x4010000000"), "OK 0x0000000000081b36\n");
  EXPECT_EQ(s.handle("inl 0xcfc"), "OK 0xffffffff\n");
}

}  // namespace
}  // namespace vmsg::qtest

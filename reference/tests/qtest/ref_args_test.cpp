// vmsg-ref-qtest's QEMU-like command line: what it accepts, where devices
// land (bus paths, the dev_num 31 default), and clear errors for the rest.
#include <gtest/gtest.h>

#include "vmsg/common/errors.hpp"
#include "vmsg/qtest/ref_args.hpp"
#include "vmsg/transport/device_transport.hpp"

namespace vmsg::qtest {
namespace {

RefArgs parse(std::vector<std::string> v) { return parse_ref_args(v); }

const std::string kBus0 = "bus=/q35-pcihost/pcie.0/amp0/fifo0/virtio-msg/bus0/virtio-msg-dev";

TEST(RefArgs, TheObservedQemuCommandLineIsAccepted) {
  // qemu-observed.md §1, verbatim apart from the socket paths (no -qmp).
  const RefArgs a = parse({"-M", "q35", "-accel", "qtest", "-nodefaults", "-display", "none", "-qtest", "unix:/tmp/s",
                           "-qtest-log", "/dev/null", "-device", "virtio-msg-amp-pci,id=amp0,addr=04.0", "-object",
                           "rng-builtin,id=r0", "-device", "virtio-rng-device,rng=r0," + kBus0});
  EXPECT_EQ(a.qtest_socket, "/tmp/s");
  EXPECT_TRUE(a.has_amp);
  EXPECT_EQ(a.amp_id, "amp0");
  EXPECT_EQ(a.amp_address, (port::PciAddress{0, 4, 0}));
  ASSERT_EQ(a.devices.size(), 1u);
  EXPECT_EQ(a.devices[0].kind, "virtio-rng-device");
  EXPECT_EQ(a.devices[0].fifo, 0u);
  EXPECT_EQ(a.devices[0].dev_num, 0u);
  EXPECT_TRUE(a.devices[0].props.empty());
}

TEST(RefArgs, QmpSocketAndBlkDriveNames) {
  const std::vector<std::string> args{"-qtest", "unix:/s", "-qmp", "unix:/tmp/q.sock,server=on,wait=off", "-device",
                                      "virtio-msg-amp-pci", "-device", "virtio-blk-device,drive=disk3,capacity=1M"};
  const RefArgs a = parse_ref_args(args);
  EXPECT_EQ(a.qmp_socket, "/tmp/q.sock");
  ASSERT_EQ(a.devices.size(), 1u);
  EXPECT_EQ(a.devices[0].drive, "disk3");
  EXPECT_EQ(a.devices[0].props.count("drive"), 0u);
  const std::vector<std::string> bad{"-qtest", "unix:/s", "-qmp", "unix:/q,server=off"};
  EXPECT_THROW((void)parse_ref_args(bad), ConfigError);
}

TEST(RefArgs, BusPathsByTypeNameOrIdAndOnOtherFifos) {
  const RefArgs a = parse({"-qtest", "unix:/s", "-S", "-machine", "q35,accel=tcg", "-device",
                           "virtio-msg-amp-pci,num-fifos=2,addr=1f.3", "-device",
                           "virtio-blk-device,capacity=4M,bus=/q35-pcihost/pcie.0/virtio-msg-amp-pci/fifo1/virtio-msg/bus7/virtio-msg-dev",
                           "-device", "virtio-balloon-device,bus=virtio-msg-amp-pci/fifo0/virtio-msg/bus3/virtio-msg-dev/bus"});
  EXPECT_EQ(a.num_fifos, 2u);
  EXPECT_EQ(a.amp_address, (port::PciAddress{0, 0x1F, 3}));
  ASSERT_EQ(a.devices.size(), 2u);
  EXPECT_EQ(a.devices[0].fifo, 1u);
  EXPECT_EQ(a.devices[0].dev_num, 7u);
  EXPECT_EQ(a.devices[0].props.at("capacity"), "4M");
  EXPECT_EQ(a.devices[1].fifo, 0u);
  EXPECT_EQ(a.devices[1].dev_num, 3u);
}

TEST(RefArgs, WithoutBusDevicesTakeSlot31Downwards) {
  // qemu-observed.md §1: without bus= QEMU put virtio-rng-device on bus31.
  const RefArgs a = parse({"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device", "virtio-rng-device",
                           "-device", "virtio-rng-device,seed=5"});
  ASSERT_EQ(a.devices.size(), 2u);
  EXPECT_EQ(a.devices[0].dev_num, 31u);
  EXPECT_EQ(a.devices[1].dev_num, 30u);
  EXPECT_EQ(a.devices[1].props.at("seed"), "5");
}

TEST(RefArgs, MemorySizeAndFaults) {
  const RefArgs a = parse({"-qtest", "unix:/s", "-m", "256M", "--fault", "no-get-shm-response,duplicate-response",
                           "--fault", "max-message-48"});
  EXPECT_EQ(a.ram_bytes, 256ULL << 20);
  EXPECT_TRUE(a.faults.has(fault::Fault::NoGetShmResponse));
  EXPECT_TRUE(a.faults.has(fault::Fault::DuplicateResponse));
  EXPECT_TRUE(a.faults.has(fault::Fault::MaxMessage48));
  EXPECT_FALSE(a.faults.has(fault::Fault::StaleSlotBytes));
  EXPECT_EQ(parse({"-qtest", "unix:/s", "-m", "64"}).ram_bytes, 64ULL << 20);
}

TEST(RefArgs, AFaultSetNameExpandsToItsMembers) {
  const RefArgs a = parse({"-qtest", "unix:/s", "--fault", "qemu-v2", "--fault", "duplicate-response"});
  fault::FaultSet want = fault::FaultSet::parse_list("qemu-v2");
  want.set(fault::Fault::DuplicateResponse);
  EXPECT_EQ(a.faults, want);
  EXPECT_TRUE(a.faults.has(fault::Fault::CurSizeReportsMax));
  // make_spec hands the whole set to the amp device and to every transport.
  const RefArgs with_dev = parse({"-qtest", "unix:/s", "--fault", "qemu-v2", "-device", "virtio-msg-amp-pci",
                                  "-device", "virtio-rng-device"});
  EXPECT_EQ(make_spec(with_dev).amp.faults, fault::FaultSet::parse_list("qemu-v2"));
}

TEST(RefArgs, HelpRequests) {
  EXPECT_TRUE(parse({"-device", "help"}).list_devices);
  EXPECT_TRUE(parse({"-accel", "help"}).list_accels);
  EXPECT_NE(device_help().find("name \"virtio-msg-amp-pci\""), std::string::npos);
  EXPECT_NE(device_help().find("name \"virtio-rng-device\""), std::string::npos);
}

class RefArgsRejects : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(RefArgsRejects, WithAConfigErrorNamingTheProblem) {
  try {
    (void)parse(GetParam());
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("vmsg-ref-qtest:"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Bad, RefArgsRejects,
    ::testing::Values(
        std::vector<std::string>{},                                                  // no -qtest
        std::vector<std::string>{"-qtest", "tcp:localhost:4444"},                    // not unix:
        std::vector<std::string>{"-qtest"},                                          // missing value
        std::vector<std::string>{"-qtest", "unix:/s", "-M", "pc"},                   // machine not modelled
        std::vector<std::string>{"-qtest", "unix:/s", "-M", "virt,gic-version=3"},   // machine property
        std::vector<std::string>{"-qtest", "unix:/s", "-cpu"},                       // missing value
        std::vector<std::string>{"-qtest", "unix:/s", "-M", "virt", "-device", "virtio-msg-amp-pci", "-device",
                                 "virtio-rng-device,bus=/q35-pcihost/pcie.0/virtio-msg-amp-pci/fifo0/virtio-msg/bus0"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device",
                                 "virtio-rng-device,bus=/gpex-pcihost/pcie.0/virtio-msg-amp-pci/fifo0/virtio-msg/bus0"},
        std::vector<std::string>{"-qtest", "unix:/s", "-qmp", "tcp:localhost:4444"},  // QMP only on a unix socket
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-net-device"},  // unknown device
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-rng-device"},  // no amp device yet
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,num-fifos=3"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,num-fifos=9"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,num-fifos=0"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,addr=20.0"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,multifunction=on"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device", "virtio-msg-amp-pci"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device",
                                 "virtio-rng-device,bus=/q35-pcihost/pcie.0/virtio-msg-amp-pci/fifo1/virtio-msg/bus0"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device",
                                 "virtio-rng-device,bus=/q35-pcihost/pcie.0/virtio-msg-amp-pci/fifo0/virtio-msg/bus32"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device",
                                 "virtio-rng-device,bus=/q35-pcihost/pcie.0/other/fifo0/virtio-msg/bus0"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device",
                                 "virtio-rng-device,bus=/q35-pcihost/pcie.0"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device",
                                 "virtio-rng-device,bus=virtio-msg-amp-pci/fifo0/virtio-msg/bus0/junk"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device",
                                 "virtio-rng-device,rng=nope"},
        std::vector<std::string>{"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device",
                                 "virtio-rng-device,bus=virtio-msg-amp-pci/fifo0/virtio-msg/bus0", "-device",
                                 "virtio-rng-device,bus=virtio-msg-amp-pci/fifo0/virtio-msg/bus0"},
        std::vector<std::string>{"-qtest", "unix:/s", "-object", "memory-backend-ram,id=m"},
        std::vector<std::string>{"-qtest", "unix:/s", "-m", "0"},
        std::vector<std::string>{"-qtest", "unix:/s", "-m", "lots"}));

TEST(RefArgs, VirtMachineWithTheSeedBusPath) {
  // amp-pci-device.md §8.2's arm virt example; -M may come after the devices.
  const RefArgs a = parse({"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device",
                           "virtio-rng-device,bus=/gpex-pcihost/pcie.0/virtio-msg-amp-pci/fifo0/virtio-msg/bus0/virtio-msg-dev",
                           "-machine", "virt,accel=qtest", "-cpu", "max"});
  EXPECT_EQ(a.machine, machine::MachineType::ArmVirt);
  ASSERT_EQ(a.devices.size(), 1u);
  EXPECT_EQ(a.devices[0].dev_num, 0u);
  EXPECT_EQ(make_spec(a).machine, machine::MachineType::ArmVirt);
  EXPECT_EQ(parse({"-qtest", "unix:/s", "-M", "virt-7.2"}).machine, machine::MachineType::ArmVirt);
  EXPECT_EQ(parse({"-qtest", "unix:/s", "-M", "type=pc-q35-8.0"}).machine, machine::MachineType::Q35);
  EXPECT_EQ(parse({"-qtest", "unix:/s"}).machine, machine::MachineType::Q35);  // QEMU's x86 default here
  // Relative paths and ids name no host bridge: fine on either machine.
  EXPECT_NO_THROW((void)parse({"-qtest", "unix:/s", "-M", "virt", "-device", "virtio-msg-amp-pci,id=amp0", "-device",
                               "virtio-rng-device,bus=amp0/fifo0/virtio-msg/bus1"}));
}

TEST(RefArgs, MachineHelpNeedsNoSocketAndListsBothMachines) {
  const RefArgs a = parse({"-M", "help"});
  EXPECT_TRUE(a.list_machines);
  const std::string help = machine_help();
  EXPECT_EQ(help.rfind("Supported machines are:\n", 0), 0u) << help;
  EXPECT_NE(help.find("\nq35 "), std::string::npos) << help;
  EXPECT_NE(help.find("\nvirt "), std::string::npos) << help;
}

TEST(RefArgs, UnknownFaultIsAConfigError) {
  EXPECT_THROW((void)parse({"-qtest", "unix:/s", "--fault", "no-such-fault"}), ConfigError);
}

TEST(RefArgs, MakeSpecBuildsTheDevicesAndRefusesBadProperties) {
  const RefArgs a = parse({"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,num-fifos=4", "-device",
                           "virtio-blk-device,capacity=1M,bus=virtio-msg-amp-pci/fifo3/virtio-msg/bus9"});
  const target::ReferenceSpec s = make_spec(a);
  EXPECT_EQ(s.amp.num_fifos, 4u);
  ASSERT_EQ(s.devices.size(), 1u);
  EXPECT_EQ(s.devices[0].fifo, 3u);
  EXPECT_EQ(s.devices[0].dev_num, 9u);
  EXPECT_NE(s.devices[0].endpoint, nullptr);
  const RefArgs bad = parse({"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device", "virtio-blk-device,colour=red"});
  EXPECT_THROW((void)make_spec(bad), ConfigError);
}

TEST(RefArgs, QueueSizeReachesTheDevice) {
  // The qtest target's "ref" dialect passes queue-size through as written.
  const RefArgs a = parse({"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=amp0", "-device",
                           "virtio-rng-device,queue-size=8," + kBus0});
  const target::ReferenceSpec s = make_spec(a);
  ASSERT_EQ(s.devices.size(), 1u);
  auto* t = dynamic_cast<transport::DeviceTransport*>(s.devices[0].endpoint.get());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->backend().max_queue_size(0), 8u);
  const RefArgs bad = parse({"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci", "-device",
                             "virtio-rng-device,queue-size=12"});
  EXPECT_THROW((void)make_spec(bad), ConfigError);
}

}  // namespace
}  // namespace vmsg::qtest

namespace vmsg::qtest {
namespace {

TEST(RefArgs, Rev1ProfileAndStrictnessAreAmpProperties) {
  const RefArgs a = parse({"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=amp0,profile=rev1-2026,strict-config-generation=on",
                           "-device", "virtio-rng-device," + kBus0});
  EXPECT_EQ(a.profile, wire::Profile::rev1());
  EXPECT_TRUE(a.strict_config_generation);
  const target::ReferenceSpec s = make_spec(a);
  EXPECT_EQ(s.amp.profile, wire::Profile::rev1());
  EXPECT_TRUE(s.amp.bus.strict_config_generation);
  ASSERT_EQ(s.devices.size(), 1u);
  const auto* dt = dynamic_cast<const transport::DeviceTransport*>(s.devices[0].endpoint.get());
  ASSERT_NE(dt, nullptr);
  EXPECT_EQ(dt->options().layout, wire::Layout::Rev1);
  EXPECT_TRUE(dt->options().strict_config_generation);
  EXPECT_NO_THROW(target::ReferenceTarget{s});
}

TEST(RefArgs, Pr28StaysTheDefaultProfile) {
  const RefArgs a = parse({"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=amp0,profile=pr28", "-device",
                           "virtio-rng-device," + kBus0});
  EXPECT_EQ(a.profile, wire::Profile::pr28());
  EXPECT_FALSE(a.strict_config_generation);
  const RefArgs b = parse({"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,strict-config-generation=off"});
  EXPECT_EQ(b.profile, wire::Profile::pr28());
  const target::ReferenceSpec s = make_spec(parse({"-qtest", "unix:/s", "-device", "virtio-msg-amp-pci,id=amp0", "-device",
                                                   "virtio-rng-device," + kBus0}));
  const auto* dt = dynamic_cast<const transport::DeviceTransport*>(s.devices.at(0).endpoint.get());
  ASSERT_NE(dt, nullptr);
  EXPECT_EQ(dt->options().layout, wire::Layout::Pr28);
}

TEST(RefArgs, BadProfileValuesAreConfigErrorsNamingTheChoices) {
  for (const char* amp : {"virtio-msg-amp-pci,profile=rev2", "virtio-msg-amp-pci,profile=",
                          "virtio-msg-amp-pci,strict-config-generation=maybe"}) {
    try {
      (void)parse({"-qtest", "unix:/s", "-device", amp});
      ADD_FAILURE() << "accepted " << amp;
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_TRUE(what.find("rev1-2026") != std::string::npos || what.find("on nor off") != std::string::npos)
          << what;
    }
  }
}

}  // namespace
}  // namespace vmsg::qtest

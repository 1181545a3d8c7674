// The reference built as a DUT library, driven through LibPort with the
// ordinary driver stack: bring-up, bus messages, faults, bad configurations.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>

#include "dut_test_paths.h"
#include "vmsg/common/errors.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/dut/lib_port.hpp"

namespace vmsg::dut {
namespace {

constexpr const char* kTopology =
    "num-fifos=2 device=virtio-rng-device,fifo=0,dev=1 device=virtio-blk-device,fifo=0,dev=2,capacity=1M "
    "device=virtio-balloon-device,fifo=1,dev=1";

/// LibPort + driver opened on it.
struct LibRig {
  explicit LibRig(const std::string& config)
      : port(VMSG_REF_DUT_PATH, {.config = config, .ram_size = 16ULL << 20}),
        ram(port.address_map()),
        window(port.address_map()),
        drv(driver::AmpDriver::open(port, ram, window)) {}
  LibPort port;
  driver::GuestAllocator ram;
  driver::BarWindowAllocator window;
  driver::AmpDriver drv;
};

wire::Message bus_msg(wire::Body body) { return wire::Message{.dev_num = 0, .token = 0, .reserved_type_bits = 0, .body = std::move(body)}; }

TEST(RefLib, BringsUpTheAmpFunctionWithTheDriver) {
  LibRig rig(kTopology);
  EXPECT_EQ(rig.drv.num_fifos(), 2u);
  EXPECT_EQ(rig.port.config_read({0, 4, 0}, 0, 2), 0x10EEu);
  EXPECT_EQ(rig.port.config_read({0, 4, 0}, 2, 2), 0x9039u);
  ASSERT_TRUE(rig.drv.msix().has_value());
  EXPECT_GE(rig.drv.bar0(), 0xE000'0000u);
}

TEST(RefLib, AnswersPingWithAnInterrupt) {
  LibRig rig(kTopology);
  for (unsigned q = 0; q < 2; ++q) {
    auto r = rig.drv.fifo(q).request(bus_msg(wire::PingReq{0xC0FFEE00u + q}));
    ASSERT_TRUE(r.ok()) << driver::to_string(r.error());
    const auto* resp = std::get_if<wire::PingResp>(&r->body);
    ASSERT_NE(resp, nullptr);
    EXPECT_EQ(resp->data, 0xC0FFEE00u + q);
  }
  // The responses were announced by MSI-X writes that landed in host RAM.
  EXPECT_GE(rig.port.msi_log().size(), 2u);
  EXPECT_EQ(rig.port.stats().msis, rig.port.msi_log().size());
  for (const auto& m : rig.port.msi_log()) EXPECT_EQ(m.source, (port::PciAddress{0, 4, 0}));
}

TEST(RefLib, AClockStepPastTheTopIsRefusedBeforeTheLibrarySeesIt) {
  LibRig rig(kTopology);
  rig.port.advance_time(UINT64_MAX - 5);
  EXPECT_THROW(rig.port.advance_time(6), PortError);
  EXPECT_EQ(rig.port.now_ns(), UINT64_MAX - 5);
  // The device is still there and answers.
  auto r = rig.drv.fifo(0).request(bus_msg(wire::PingReq{7}));
  ASSERT_TRUE(r.ok()) << driver::to_string(r.error());
}

TEST(RefLib, GetDevicesListsTheConfiguredDevices) {
  LibRig rig(kTopology);
  auto r0 = rig.drv.fifo(0).request(bus_msg(wire::GetDevicesReq{0, 32}));
  ASSERT_TRUE(r0.ok()) << driver::to_string(r0.error());
  const auto* d0 = std::get_if<wire::GetDevicesResp>(&r0->body);
  ASSERT_NE(d0, nullptr);
  ASSERT_FALSE(d0->bitmap.empty());
  EXPECT_EQ(d0->bitmap[0], 0x06u);  // devices 1 and 2
  auto r1 = rig.drv.fifo(1).request(bus_msg(wire::GetDevicesReq{0, 32}));
  ASSERT_TRUE(r1.ok());
  const auto* d1 = std::get_if<wire::GetDevicesResp>(&r1->body);
  ASSERT_NE(d1, nullptr);
  ASSERT_FALSE(d1->bitmap.empty());
  EXPECT_EQ(d1->bitmap[0], 0x02u);  // device 1
}

TEST(RefLib, AConfigNamingNoTopologyBuildsTheDefaultTopology) {
  // ref.toml's topology: FIFO 0 has devices 1 and 2, FIFO 1 device 1.
  for (const char* config : {"", "profile=pr28", " fault=lose-on-full-ring "}) {
    LibRig rig(config);
    EXPECT_EQ(rig.drv.num_fifos(), 2u) << config;
    auto r0 = rig.drv.fifo(0).request(bus_msg(wire::GetDevicesReq{0, 32}));
    ASSERT_TRUE(r0.ok()) << config;
    const auto* d0 = std::get_if<wire::GetDevicesResp>(&r0->body);
    ASSERT_NE(d0, nullptr);
    ASSERT_FALSE(d0->bitmap.empty());
    EXPECT_EQ(d0->bitmap[0], 0x06u) << config;
  }
}

TEST(RefLib, NumFifosAloneIsThatManyFifosWithNoDevices) {
  LibRig rig("num-fifos=1");
  EXPECT_EQ(rig.drv.num_fifos(), 1u);
  auto r = rig.drv.fifo(0).request(bus_msg(wire::GetDevicesReq{0, 32}));
  ASSERT_TRUE(r.ok());
  const auto* d = std::get_if<wire::GetDevicesResp>(&r->body);
  ASSERT_NE(d, nullptr);
  for (std::uint8_t b : d->bitmap) EXPECT_EQ(b, 0u);
}

TEST(RefLib, TheHostAnswersQ35sChipsetAndRefusesALibraryFunctionThere) {
  LibPort p(VMSG_REF_DUT_PATH, {.config = "", .ram_size = 16ULL << 20});
  EXPECT_EQ(p.config_read({0, 0, 0}, 0, 4), 0x29C0'8086u);
  EXPECT_EQ(p.config_read({0, 0x1F, 0}, 0x0E, 1), 0x80u);
  EXPECT_EQ(p.config_read({0, 0x1F, 3}, 1, 2), 0x3080u);  // unaligned: split like the Machine
  EXPECT_EQ(p.mmio_read(0xB000'0000u + (0x1Fu << 15) + (2u << 12), 4), 0x2922'8086u);
  for (const char* config : {"addr=00.0", "addr=1f.2"}) {
    try {
      LibPort bad(VMSG_REF_DUT_PATH, {.config = config, .ram_size = 16ULL << 20});
      ADD_FAILURE() << config << " was accepted";
    } catch (const PortError& e) {
      EXPECT_NE(std::string(e.what()).find("chipset"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(LibPort(VMSG_REF_DUT_PATH, {.config = "addr=1f.1", .ram_size = 16ULL << 20}));
}

TEST(RefLib, AbsentFunctionsAndUnassignedAddresses) {
  LibPort p(VMSG_REF_DUT_PATH, {.config = "addr=06.0", .ram_size = 16ULL << 20});
  EXPECT_EQ(p.config_read({0, 4, 0}, 0, 4), 0xFFFF'FFFFu);
  EXPECT_EQ(p.config_read({0, 6, 0}, 0, 2), 0x10EEu);
  // Also through ECAM, as on the in-process machine.
  EXPECT_EQ(p.mmio_read(0xB000'0000u + (6u << 15), 2), 0x10EEu);
  EXPECT_EQ(p.mmio_read(0xB000'0000u + (5u << 15), 4), 0xFFFF'FFFFu);
  // No BAR assigned yet: the window is unbacked.
  EXPECT_EQ(p.mmio_read(0xE000'0000u, 4), 0u);
  EXPECT_EQ(p.stats().unbacked_reads, 1u);
  std::vector<std::uint8_t> buf(24, 0xAA);
  p.mem_read(0xE000'0004u, buf);
  for (std::uint8_t b : buf) EXPECT_EQ(b, 0u);
  EXPECT_EQ(p.stats().unbacked_bulk_bytes, 24u);
}

TEST(RefLib, FaultsReachTheDevice) {
  // max-message-48 drops transport messages over 48 bytes but leaves PING alone.
  LibRig rig("fault=max-message-48 device=virtio-rng-device,fifo=0,dev=1");
  auto r = rig.drv.fifo(0).request(bus_msg(wire::PingReq{7}));
  EXPECT_TRUE(r.ok());
}

TEST(RefLib, ACrashedDeviceFailsEveryCallButNotTheHost) {
  // asan-reset-vqueue-overflow: the device dies, the library (in the host's
  // process) reports it on this and every later access.
  LibRig rig("fault=asan-reset-vqueue-overflow device=virtio-rng-device,fifo=0,dev=1");
  auto reset_vq = [](std::uint32_t index) { return wire::Message{1, 3, 0, wire::ResetVqueueReq{index}}; };
  EXPECT_TRUE(rig.drv.fifo(0).request(reset_vq(1023)).ok());
  try {
    (void)rig.drv.fifo(0).request(reset_vq(1024));
    FAIL() << "no PortError";
  } catch (const PortError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("device crashed: "), std::string::npos) << what;
    EXPECT_NE(what.find("SUMMARY: AddressSanitizer: heap-buffer-overflow"), std::string::npos) << what;
  }
  EXPECT_THROW((void)rig.port.mmio_read(rig.drv.bar0(), 4), PortError);
  EXPECT_THROW((void)rig.port.config_read({0, 4, 0}, 0, 4), PortError);
  EXPECT_THROW(rig.port.advance_time(1), PortError);
  EXPECT_EQ(rig.port.mmio_read(0xF000'0000, 4), 0u);  // unbacked: the library is not involved, as on the Machine
}

TEST(RefLib, RefusedConfigurationsCarryTheReason) {
  for (const auto& [config, reason] : std::vector<std::pair<std::string, std::string>>{
           {"num-fifos=3", "3"},
           {"device=virtio-gpu-device,fifo=0,dev=1", "virtio-gpu-device"},
           {"device=virtio-rng-device,fifo=1,dev=1", "FIFO"},
           {"fault=not-a-fault", "not-a-fault"},
           {"profile=pr99", "pr99"},
           {"colour=blue", "colour"},
           {"device=virtio-blk-device,fifo=0,dev=1,capacity=lots", "capacity"}}) {
    try {
      LibPort p(VMSG_REF_DUT_PATH, {.config = config, .ram_size = 4ULL << 20});
      ADD_FAILURE() << "accepted: " << config;
    } catch (const PortError& e) {
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << config << ": " << e.what();
    }
  }
}

TEST(RefLib, InstancesAreIndependent) {
  LibRig a("device=virtio-rng-device,fifo=0,dev=1");
  LibRig b("device=virtio-rng-device,fifo=0,dev=3");
  auto ra = a.drv.fifo(0).request(bus_msg(wire::GetDevicesReq{0, 32}));
  auto rb = b.drv.fifo(0).request(bus_msg(wire::GetDevicesReq{0, 32}));
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(std::get<wire::GetDevicesResp>(ra->body).bitmap[0], 0x02u);
  EXPECT_EQ(std::get<wire::GetDevicesResp>(rb->body).bitmap[0], 0x08u);
}

}  // namespace
}  // namespace vmsg::dut

namespace vmsg::dut {
namespace {

// ---- REV1-2026 -------------------------------------------------------------------------

/// LibPort + driver speaking REV1 layouts.
struct Rev1Rig {
  explicit Rev1Rig(const std::string& config)
      : port(VMSG_REF_DUT_PATH, {.config = config, .ram_size = 16ULL << 20}),
        ram(port.address_map()),
        window(port.address_map()),
        drv(driver::AmpDriver::open(port, ram, window, {.profile = wire::Profile::rev1()})) {}
  template <typename Resp>
  Resp ask(std::uint16_t dev_num, wire::Body body) {
    auto r = drv.fifo(0).request(wire::Message{.dev_num = dev_num, .token = 0, .reserved_type_bits = 0,
                                               .body = std::move(body)});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : driver::to_string(r.error()));
    const Resp* resp = r.ok() ? std::get_if<Resp>(&r->body) : nullptr;
    EXPECT_NE(resp, nullptr);
    return resp != nullptr ? *resp : Resp{};
  }
  LibPort port;
  driver::GuestAllocator ram;
  driver::BarWindowAllocator window;
  driver::AmpDriver drv;
};

TEST(RefLib, RecreateIsAPowerCycleWithTheNewConfiguration) {
  LibPort port(VMSG_REF_DUT_PATH, {.config = kTopology, .ram_size = 16ULL << 20});
  {
    driver::GuestAllocator ram(port.address_map());
    driver::BarWindowAllocator window(port.address_map());
    auto drv = driver::AmpDriver::open(port, ram, window);
    ASSERT_TRUE(drv.fifo(1).request(bus_msg(wire::PingReq{1})).ok());
  }
  port.mem_write(0x1000, std::array<std::uint8_t, 4>{1, 2, 3, 4});
  port.advance_time(5000);
  ASSERT_FALSE(port.msi_log().empty());
  port.recreate("num-fifos=1");
  EXPECT_EQ(port.now_ns(), 0u);
  EXPECT_TRUE(port.msi_log().empty());
  EXPECT_EQ(port.stats(), machine::MachineStats{});
  EXPECT_EQ(port.ram().load(0x1000, 4), std::optional<std::uint64_t>{0});  // RAM zeroed
  EXPECT_EQ(port.options().config, "num-fifos=1");
  EXPECT_EQ(port.config_read({0, 4, 0}, 0x04, 2), 0u);  // a fresh function: Command 0, BARs unassigned
  driver::GuestAllocator ram(port.address_map());
  driver::BarWindowAllocator window(port.address_map());
  auto drv = driver::AmpDriver::open(port, ram, window);
  EXPECT_EQ(drv.num_fifos(), 1u);
  EXPECT_TRUE(drv.fifo(0).request(bus_msg(wire::PingReq{2})).ok());
}

TEST(RefLib, AFailedRecreateLeavesAPortThatRefusesEveryAccess) {
  LibPort port(VMSG_REF_DUT_PATH, {.config = kTopology, .ram_size = 16ULL << 20});
  EXPECT_THROW(port.recreate("num-fifos=3"), PortError);
  EXPECT_THROW((void)port.config_read({0, 4, 0}, 0, 2), PortError);
  EXPECT_THROW((void)port.mmio_read(0xE000'0000, 4), PortError);
  EXPECT_THROW(port.advance_time(1), PortError);
  EXPECT_EQ(port.config_read({0, 0, 0}, 0, 2), 0x8086u);  // the host's chipset still answers
  port.recreate("num-fifos=2");  // and a good configuration brings it back
  EXPECT_EQ(port.config_read({0, 4, 0}, 0, 2), 0x10EEu);
}

TEST(RefLib, ReleasedPortRefusesAccessesUntilRecreated) {
  LibPort port(VMSG_REF_DUT_PATH, {.config = kTopology, .ram_size = 16ULL << 20});
  EXPECT_EQ(port.config_read({0, 4, 0}, 0, 2), 0x10EEu);
  port.release();  // powered off: the instance is gone now, not at the next recreate()
  EXPECT_TRUE(port.msi_log().empty());
  EXPECT_THROW((void)port.config_read({0, 4, 0}, 0, 2), PortError);
  EXPECT_THROW(port.advance_time(1), PortError);
  EXPECT_EQ(port.config_read({0, 0, 0}, 0, 2), 0x8086u);  // the host's chipset still answers
  port.release();  // twice is harmless
  port.recreate("num-fifos=2");
  EXPECT_EQ(port.config_read({0, 4, 0}, 0, 2), 0x10EEu);
}

TEST(RefLib, Rev1ProfileBuildsADeviceThatAnswersInRev1Layouts) {
  Rev1Rig rig("profile=rev1-2026 device=virtio-rng-device,fifo=0,dev=0");
  const auto info = rig.ask<wire::GetDeviceInfoResp>(0, wire::GetDeviceInfoReq{});  // device number 0 (REV1 L649-652)
  EXPECT_EQ(info.device_id, 4u);
  EXPECT_EQ(info.num_feature_blocks, 2u);
  EXPECT_EQ(info.num_feature_bits, 0u);
  const auto devices = rig.ask<wire::GetDevicesResp>(0, wire::GetDevicesReq{0, 3});  // unaligned count
  EXPECT_EQ(devices.count, std::optional<std::uint16_t>{3});
  EXPECT_EQ(devices.bitmap, (std::vector<std::uint8_t>{0x01}));
  EXPECT_EQ(devices.next_offset, 0u);
  const auto shm = rig.ask<wire::GetShmResp>(0, wire::GetShmReq{9});
  EXPECT_EQ(shm.length, 0u);
}

TEST(RefLib, Rev1StrictConfigGenerationIsAConfigurationChoice) {
  for (const bool strict : {false, true}) {
    Rev1Rig rig(std::string("profile=rev1-2026 device=virtio-balloon-device,fifo=0,dev=1") +
                (strict ? " strict-config-generation=on" : ""));
    const auto cfg = rig.ask<wire::GetConfigResp>(1, wire::GetConfigReq{.offset = 4, .length = 4});
    // `actual` (offset 4) is the driver's to write; send a generation that is not the current one.
    const auto w = rig.ask<wire::SetConfigResp>(
        1, wire::SetConfigReq{.generation = cfg.generation + 1, .offset = 4, .data = {1, 0, 0, 0}});
    EXPECT_EQ(w.length, strict ? 0u : 4u) << strict;  // REV1 L431-434 / L459-461
  }
}

TEST(RefLib, UnknownProfilesAreRefusedNamingBothKnownOnes) {
  try {
    LibPort p(VMSG_REF_DUT_PATH, {.config = "profile=rev2", .ram_size = 4ULL << 20});
    ADD_FAILURE() << "accepted";
  } catch (const PortError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("pr28"), std::string::npos) << what;
    EXPECT_NE(what.find("rev1-2026"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace vmsg::dut

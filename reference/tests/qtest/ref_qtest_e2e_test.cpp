// End to end: vmsg-ref-qtest launched as the "QEMU" binary by QemuProcess,
// driven through QtestPort by the ordinary driver stack (amp-pci-device.md §9).
#include <gtest/gtest.h>

#include <csignal>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "vmsg/common/errors.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qtest_port.hpp"

#ifndef VMSG_REF_QTEST_BIN
#error "VMSG_REF_QTEST_BIN must name the vmsg-ref-qtest binary (set by reference/tools/CMakeLists.txt)"
#endif

namespace vmsg::qtest {
namespace {

using namespace std::chrono_literals;

const std::string kBin = VMSG_REF_QTEST_BIN;

std::string bus_path(unsigned fifo, unsigned dev) {
  return "bus=/q35-pcihost/pcie.0/amp0/fifo" + std::to_string(fifo) + "/virtio-msg/bus" + std::to_string(dev) +
         "/virtio-msg-dev";
}

QemuLaunch launch(std::vector<std::string> args) {
  QemuLaunch l;
  l.binary = kBin;
  l.args = {"-M", "q35"};
  l.args.insert(l.args.end(), args.begin(), args.end());
  return l;
}

/// The tool, its port, and the opened amp driver.
struct Session {
  explicit Session(std::vector<std::string> args)
      : proc(QemuProcess::start(launch(std::move(args)))),
        port(proc.take_fd()),
        ram(port.address_map()),
        window(port.address_map()),
        amp(driver::AmpDriver::open(port, ram, window)) {}
  QemuProcess proc;
  QtestPort port;
  driver::GuestAllocator ram;
  driver::BarWindowAllocator window;
  driver::AmpDriver amp;
};

std::vector<unsigned> present(const wire::GetDevicesResp& r) {
  std::vector<unsigned> out;
  for (std::size_t i = 0; i < r.bitmap.size() * 8; ++i) {
    if (((static_cast<unsigned>(r.bitmap[i / 8]) >> (i % 8)) & 1U) != 0U) out.push_back(static_cast<unsigned>(r.offset + i));
  }
  return out;
}

TEST(RefQtestE2e, AutoAccelPicksQtestAndTheToolAnswersHelp) {
  EXPECT_TRUE(binary_has_accel(kBin, "qtest"));
  EXPECT_TRUE(binary_has_device(kBin, "virtio-msg-amp-pci"));
  EXPECT_FALSE(binary_has_device(kBin, "virtio-net-device"));
  EXPECT_FALSE(binary_has_device("/nonexistent/qemu", "virtio-msg-amp-pci"));
}

TEST(RefQtestE2e, OpenPingAndGetDevices) {
  Session s({"-device", "virtio-msg-amp-pci,id=amp0,addr=04.0", "-object", "rng-builtin,id=r0", "-device",
             "virtio-rng-device,rng=r0," + bus_path(0, 0), "-device", "virtio-blk-device,capacity=1M," + bus_path(0, 5),
             "-device", "virtio-balloon-device"});
  EXPECT_EQ(s.proc.accel(), AccelMode::Qtest);
  EXPECT_EQ(s.amp.function().addr, (port::PciAddress{0, 4, 0}));
  EXPECT_EQ(s.amp.bar0(), 0xE0000000u);
  ASSERT_EQ(s.amp.num_fifos(), 1u);
  driver::FifoLink& link = s.amp.fifo(0);

  auto pong = link.request(wire::Message{0, 7, 0, wire::PingReq{0xDEADBEEF}});
  ASSERT_TRUE(pong.ok()) << to_string(pong.error());
  ASSERT_TRUE(std::holds_alternative<wire::PingResp>(pong->body));
  EXPECT_EQ(std::get<wire::PingResp>(pong->body).data, 0xDEADBEEFu);
  EXPECT_TRUE(link.take_msi());  // the MSI-X word landed in guest RAM, seen over qtest

  auto devs = link.request(wire::Message{0, 8, 0, wire::GetDevicesReq{0, 32}});
  ASSERT_TRUE(devs.ok()) << to_string(devs.error());
  ASSERT_TRUE(std::holds_alternative<wire::GetDevicesResp>(devs->body));
  // rng on bus0, blk on bus5, and the balloon without bus= on bus31 (as QEMU places it).
  EXPECT_EQ(present(std::get<wire::GetDevicesResp>(devs->body)), (std::vector<unsigned>{0, 5, 31}));
  EXPECT_TRUE(s.proc.alive());
}

TEST(RefQtestE2e, TwoFifosEachWithItsOwnDevices) {
  Session s({"-device", "virtio-msg-amp-pci,id=amp0,num-fifos=2", "-device", "virtio-rng-device," + bus_path(1, 0),
             "-device", "virtio-rng-device," + bus_path(0, 3)});
  ASSERT_EQ(s.amp.num_fifos(), 2u);
  for (unsigned f = 0; f < 2; ++f) {
    auto r = s.amp.fifo(f).request(wire::Message{0, 1, 0, wire::GetDevicesReq{0, 32}});
    ASSERT_TRUE(r.ok()) << "fifo " << f;
    EXPECT_EQ(present(std::get<wire::GetDevicesResp>(r->body)), (std::vector<unsigned>{f == 0 ? 3U : 0U}));
  }
}

TEST(RefQtestE2e, BulkMemoryRoundTripAcrossManyChunks) {
  Session s({"-device", "virtio-msg-amp-pci,id=amp0", "-device", "virtio-rng-device"});
  std::vector<std::uint8_t> data(200'000);
  std::iota(data.begin(), data.end(), std::uint8_t{3});
  const std::uint64_t at = s.ram.alloc(data.size());
  s.port.mem_write(at, data);
  std::vector<std::uint8_t> back(data.size());
  s.port.mem_read(at, back);
  EXPECT_EQ(back, data);
  // The FIFO window is RAM-like too: a bulk write into BAR1 reads back word by word.
  const std::array<std::uint8_t, 8> slot{1, 2, 3, 4, 5, 6, 7, 8};
  s.port.mem_write(s.amp.bar1() + 0x1080, slot);
  EXPECT_EQ(s.port.mmio_read(s.amp.bar1() + 0x1080, 8), 0x0807060504030201u);
  s.port.advance_time(1000);
  EXPECT_TRUE(s.port.clock_supported());
  EXPECT_EQ(s.port.clock_now_ns(), 1000u);
}

TEST(RefQtestE2e, FaultOptionReachesTheDevice) {
  // max-message-48 drops transport messages over 48 bytes (QEMU D1/D2); with
  // it on the tool still starts and answers bus traffic.
  Session s({"--fault", "max-message-48", "-device", "virtio-msg-amp-pci,id=amp0", "-device", "virtio-rng-device"});
  auto pong = s.amp.fifo(0).request(wire::Message{0, 1, 0, wire::PingReq{1}});
  EXPECT_TRUE(pong.ok());
}

TEST(RefQtestE2e, CrashFaultPrintsASanitizerReportAndExitsWithStatus1) {
  // asan-reset-vqueue-overflow: the tool dies like an AddressSanitizer build
  // of QEMU on RESET_VQUEUE 1024; the client sees the peer go away.
  Session s({"--fault", "asan-reset-vqueue-overflow", "-device", "virtio-msg-amp-pci,id=amp0", "-device",
             "virtio-rng-device," + bus_path(0, 1)});
  const auto below = s.amp.fifo(0).request(wire::Message{1, 1, 0, wire::ResetVqueueReq{1023}});
  EXPECT_TRUE(below.ok());  // inside QEMU's queue array: answered
  EXPECT_THROW((void)s.amp.fifo(0).request(wire::Message{1, 2, 0, wire::ResetVqueueReq{1024}}), PortError);
  const auto st = s.proc.wait_exit(5s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, (ExitStatus{false, 1}));
  const std::string err = s.proc.stderr_text();
  EXPECT_NE(err.find("==ERROR: AddressSanitizer: heap-buffer-overflow"), std::string::npos) << err;
  EXPECT_NE(err.find("SUMMARY: AddressSanitizer: heap-buffer-overflow ../hw/virtio/virtio.c:2059 in __virtio_queue_reset"),
            std::string::npos)
      << err;
}

TEST(RefQtestE2e, CrashFaultOffAnswersResetVqueue1024) {
  Session s({"-device", "virtio-msg-amp-pci,id=amp0", "-device", "virtio-rng-device," + bus_path(0, 1)});
  EXPECT_TRUE(s.amp.fifo(0).request(wire::Message{1, 2, 0, wire::ResetVqueueReq{1024}}).ok());
  EXPECT_TRUE(s.proc.alive());
  EXPECT_EQ(s.proc.stderr_text().find("Sanitizer"), std::string::npos);
}

TEST(RefQtestE2e, BadCommandLineFailsToStartWithTheToolsMessage) {
  try {
    (void)QemuProcess::start(launch({"-device", "virtio-msg-amp-pci,num-fifos=3"}));
    FAIL() << "started";
  } catch (const PortError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("exit code 1"), std::string::npos) << what;
    EXPECT_NE(what.find("unsupported number of FIFOs (3)"), std::string::npos) << what;
  }
}

TEST(RefQtestE2e, MissingBinaryAndSilentBinaryAreTypedErrors) {
  QemuLaunch l = launch({});
  l.binary = "/nonexistent/qemu-system-x86_64";
  l.accel = AccelMode::Qtest;
  EXPECT_THROW((void)QemuProcess::start(l), PortError);
  // sh refuses QEMU's options and exits at once: "ended before connecting".
  QemuLaunch sh;
  sh.binary = "/bin/sh";
  sh.accel = AccelMode::Qtest;
  EXPECT_THROW((void)QemuProcess::start(sh), PortError);
}

TEST(RefQtestE2e, BinaryThatNeverConnectsTimesOutAndIsKilled) {
  const auto script = std::filesystem::temp_directory_path() / ("vmsg-qtest-silent-" + std::to_string(::getpid()) + ".sh");
  {
    std::ofstream out(script);
    out << "#!/bin/sh\nexec sleep 30\n";
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  QemuLaunch l;
  l.binary = script.string();
  l.accel = AccelMode::Qtest;
  l.connect_timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    (void)QemuProcess::start(l);
    FAIL() << "started";
  } catch (const PortError& e) {
    EXPECT_NE(std::string(e.what()).find("did not connect within 300 ms"), std::string::npos) << e.what();
  }
  // Killed, not waited for: well under sleep's 30 s.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  std::filesystem::remove(script);
}

TEST(RefQtestE2e, KilledTargetIsADeadPeerAndTheExitStatusIsKept) {
  Session s({"-device", "virtio-msg-amp-pci,id=amp0", "-device", "virtio-rng-device"});
  const ExitStatus st = s.proc.kill();
  EXPECT_TRUE(st.signaled);
  EXPECT_EQ(st.code, SIGKILL);
  EXPECT_FALSE(s.proc.alive());
  try {
    (void)s.port.mmio_read(s.amp.bar0(), 4);
    FAIL() << "no PortError";
  } catch (const PortError& e) {
    EXPECT_NE(std::string(e.what()).find("readl 0xe0000000"), std::string::npos) << e.what();
  }
}

TEST(RefQtestE2e, ClosingTheSocketEndsTheToolCleanly) {
  QemuProcess p = QemuProcess::start(launch({"-device", "virtio-msg-amp-pci"}));
  {
    QtestPort port(p.take_fd());
    EXPECT_EQ(port.config_read({0, 4, 0}, 0, 4), 0x903910EEu);
  }  // the port closes the socket
  const auto st = p.wait_exit(5s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, (ExitStatus{false, 0}));
}

TEST(RefQtestE2e, ProcessCleansUpItsTempDir) {
  std::string dir;
  {
    QemuProcess p = QemuProcess::start(launch({"-device", "virtio-msg-amp-pci"}));
    // argv carries "-qtest unix:DIR/qtest.sock"
    const auto& argv = p.argv();
    const auto it = std::find(argv.begin(), argv.end(), "-qtest");
    ASSERT_NE(it, argv.end());
    dir = std::filesystem::path((it + 1)->substr(5)).parent_path().string();
    EXPECT_TRUE(std::filesystem::exists(dir));
    EXPECT_TRUE(p.alive());
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace vmsg::qtest

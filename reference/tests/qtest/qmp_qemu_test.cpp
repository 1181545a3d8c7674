// QmpClient against the REAL Debian QEMU: the greeting, negotiation, a query,
// QMP's error class for an unknown command, the device-side commands the
// qemu target uses (balloon, block_resize) on standard virtio-pci devices,
// and quit. Skipped when the binary is absent.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qmp_client.hpp"

namespace vmsg::qtest {
namespace {

using namespace std::chrono_literals;

constexpr const char* kQemu = "/usr/bin/qemu-system-x86_64";

class RealQemuQmp : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kQemu)) GTEST_SKIP() << kQemu << " not installed; the real-QEMU check needs it";
  }
};

TEST_F(RealQemuQmp, GreetingQueryErrorAndQuit) {
  QemuLaunch l;
  l.binary = kQemu;
  l.qmp = true;
  l.args = {"-M", "q35"};
  QemuProcess p = QemuProcess::start(l);
  QmpClient& c = p.qmp();
  const json::Value* version = c.greeting().find("version");
  ASSERT_NE(version, nullptr);
  ASSERT_NE(version->find("qemu"), nullptr);
  EXPECT_NE(version->find("qemu")->find("major")->as_int(), nullptr);
  const json::Value st = c.execute("query-status");
  ASSERT_NE(st.find("status"), nullptr);
  EXPECT_NE(st.find("running")->as_bool(), nullptr);
  try {
    c.execute("no-such-command-xyz");
    FAIL() << "no QmpError";
  } catch (const QmpError& e) {
    EXPECT_EQ(e.error_class(), "CommandNotFound");
    EXPECT_NE(e.desc().find("no-such-command-xyz"), std::string::npos);
  }
  try {
    c.execute("balloon", {{"value", std::int64_t{64} << 20}});
    FAIL() << "balloon without a balloon device";
  } catch (const QmpError& e) {
    EXPECT_EQ(e.error_class(), "DeviceNotActive");
  }
  EXPECT_EQ(c.execute("quit"), json::Value(json::Object{}));
  const auto ended = p.wait_exit(10s);
  ASSERT_TRUE(ended.has_value());
  EXPECT_FALSE(ended->signaled);
}

TEST_F(RealQemuQmp, BalloonAndBlockResizeOnVirtioPciDevices) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("vmsg-qmp-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path img = dir / "disk0.raw";
  { std::ofstream(img, std::ios::binary).put('\0'); }
  std::filesystem::resize_file(img, 1 << 20);
  QemuLaunch l;
  l.binary = kQemu;
  l.qmp = true;
  l.args = {"-M", "q35", "-m", "128M", "-device", "virtio-balloon-pci", "-blockdev",
            "driver=file,node-name=file0,filename=" + img.string(), "-blockdev",
            "driver=raw,node-name=disk0,file=file0", "-device", "virtio-blk-pci,drive=disk0"};
  {
    QemuProcess p = QemuProcess::start(l);
    QmpClient& c = p.qmp();
    EXPECT_EQ(c.execute("balloon", {{"value", std::int64_t{96} << 20}}), json::Value(json::Object{}));
    EXPECT_EQ(c.execute("block_resize", {{"node-name", "disk0"}, {"size", std::int64_t{2} << 20}}),
              json::Value(json::Object{}));
    EXPECT_EQ(std::filesystem::file_size(img), 2u << 20);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vmsg::qtest

// The REAL Debian QEMU over qtest: proves QtestPort, QemuProcess and the
// driver's PCI/MSI-X code against QEMU's own PCI core, with a standard
// virtio-pci device (the amp device is not in Debian's QEMU).
//
// Device: virtio-blk-pci (modern only) on a null block node. The interrupt is
// made the way a driver gets one: queue 0 bound to MSI-X vector 0, one
// VIRTIO_BLK_T_GET_ID request posted and notified. GET_ID completes inside
// the notify write, with no block I/O, and works while the machine is stopped
// (-S fallback; virtio-rng would not: it refuses to fill buffers unless the VM
// runs). Skipped when the binary is absent.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <thread>
#include <tuple>

#include "vmsg/common/le.hpp"
#include "vmsg/driver/msix_setup.hpp"
#include "vmsg/driver/pci_probe.hpp"
#include "vmsg/machine/machine.hpp"
#include "vmsg/machine/q35_platform.hpp"
#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qtest_port.hpp"

namespace vmsg::qtest {
namespace {

using namespace std::chrono_literals;

constexpr const char* kQemu = "/usr/bin/qemu-system-x86_64";
constexpr std::uint16_t kVirtioVendor = 0x1AF4;
constexpr std::uint16_t kVirtioBlkModern = 0x1042;

// virtio-pci (virtio 1.x §4.1.4) capability and common-config layout.
constexpr std::uint8_t kCapVendor = 0x09;
constexpr std::uint8_t kCfgCommon = 1;
constexpr std::uint8_t kCfgNotify = 2;
namespace common {
constexpr std::uint64_t kDeviceFeatureSelect = 0x00;
constexpr std::uint64_t kDeviceFeature = 0x04;
constexpr std::uint64_t kDriverFeatureSelect = 0x08;
constexpr std::uint64_t kDriverFeature = 0x0C;
constexpr std::uint64_t kStatus = 0x14;
constexpr std::uint64_t kQueueSelect = 0x16;
constexpr std::uint64_t kQueueSize = 0x18;
constexpr std::uint64_t kQueueMsixVector = 0x1A;
constexpr std::uint64_t kQueueEnable = 0x1C;
constexpr std::uint64_t kQueueNotifyOff = 0x1E;
constexpr std::uint64_t kQueueDesc = 0x20;
constexpr std::uint64_t kQueueDriver = 0x28;
constexpr std::uint64_t kQueueDevice = 0x30;
}  // namespace common
constexpr std::uint32_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8;

/// Where a virtio-pci structure lives, resolved to a guest address.
struct VirtioCap {
  std::uint64_t addr = 0;
  std::uint32_t notify_multiplier = 0;
};

std::optional<VirtioCap> find_virtio_cap(port::Port& port, const driver::ProbedFunction& f, std::uint8_t type) {
  for (const driver::Capability& c : f.capabilities) {
    if (c.id != kCapVendor || port.config_read(f.addr, static_cast<std::uint16_t>(c.offset + 3), 1) != type) continue;
    const unsigned bar = port.config_read(f.addr, static_cast<std::uint16_t>(c.offset + 4), 1);
    const std::uint32_t off = port.config_read(f.addr, static_cast<std::uint16_t>(c.offset + 8), 4);
    if (bar >= 6 || !f.bars[bar].implemented()) return std::nullopt;
    VirtioCap v{f.bars[bar].base + off, 0};
    if (type == kCfgNotify) v.notify_multiplier = port.config_read(f.addr, static_cast<std::uint16_t>(c.offset + 16), 4);
    return v;
  }
  return std::nullopt;
}

void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) { le::store16(b, at, v); }
void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) { le::store32(b, at, v); }
void put64(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v) { le::store64(b, at, v); }

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
            "virtio-blk-pci,drive=d0,serial=vmsg-qtest,addr=05.0,disable-legacy=on"};
  QemuProcess proc = QemuProcess::start(l);
  QtestPort port(proc.take_fd());
  driver::GuestAllocator ram(port.address_map());
  driver::BarWindowAllocator window(port.address_map());

  // Enumerate, size and assign BARs through the driver code, exactly as for the amp device.
  const std::vector<port::PciAddress> all = driver::scan_bus0(port);
  EXPECT_NE(std::find(all.begin(), all.end(), port::PciAddress{0, 5, 0}), all.end());
  auto f = driver::probe(port, kVirtioVendor, kVirtioBlkModern, window);
  ASSERT_TRUE(f.has_value()) << "virtio-blk-pci not found";
  EXPECT_EQ(f->addr, (port::PciAddress{0, 5, 0}));
  EXPECT_EQ(f->bars[1].size, 0x1000u);  // MSI-X table BAR
  EXPECT_EQ(f->bars[4].size, 0x4000u);  // modern virtio structures
  EXPECT_TRUE(f->bars[4].is64);
  EXPECT_EQ(port.config_read(f->addr, driver::pcireg::kCommand, 2) & 0x6U, 0x6U);

  // MSI-X vector 0 -> a word in guest RAM.
  const driver::MsixInfo mx = driver::msix_info(port, *f);
  driver::msix_enable(port, mx);
  const driver::MsiTarget msi = driver::msix_setup_vector(port, mx, 0, ram, 0x5A5A0001);
  EXPECT_EQ(driver::msi_word(port, msi), 0u);

  const auto cfg = find_virtio_cap(port, *f, kCfgCommon);
  const auto notify = find_virtio_cap(port, *f, kCfgNotify);
  ASSERT_TRUE(cfg && notify);
  const std::uint64_t cc = cfg->addr;

  // Virtio 1.x initialisation (§3.1.1), VERSION_1 only.
  port.mmio_write(cc + common::kStatus, 1, 0);
  port.mmio_write(cc + common::kStatus, 1, kAck);
  port.mmio_write(cc + common::kStatus, 1, kAck | kDriver);
  port.mmio_write(cc + common::kDeviceFeatureSelect, 4, 1);
  ASSERT_NE(port.mmio_read(cc + common::kDeviceFeature, 4) & 1U, 0U) << "no VIRTIO_F_VERSION_1";
  port.mmio_write(cc + common::kDriverFeatureSelect, 4, 0);
  port.mmio_write(cc + common::kDriverFeature, 4, 0);
  port.mmio_write(cc + common::kDriverFeatureSelect, 4, 1);
  port.mmio_write(cc + common::kDriverFeature, 4, 1);
  port.mmio_write(cc + common::kStatus, 1, kAck | kDriver | kFeaturesOk);
  ASSERT_EQ(port.mmio_read(cc + common::kStatus, 1), kAck | kDriver | kFeaturesOk);

  // Queue 0: 8 entries, bound to MSI-X vector 0.
  constexpr std::uint16_t kQ = 8;
  port.mmio_write(cc + common::kQueueSelect, 2, 0);
  ASSERT_GE(port.mmio_read(cc + common::kQueueSize, 2), kQ);
  port.mmio_write(cc + common::kQueueSize, 2, kQ);
  port.mmio_write(cc + common::kQueueMsixVector, 2, 0);
  ASSERT_EQ(port.mmio_read(cc + common::kQueueMsixVector, 2), 0u) << "vector not accepted";
  const std::uint64_t desc = ram.alloc(16 * kQ, 4096);
  const std::uint64_t avail = ram.alloc(6 + 2 * kQ, 4096);
  const std::uint64_t used = ram.alloc(6 + 8 * kQ, 4096);
  for (auto [reg, a] : {std::pair{common::kQueueDesc, desc}, {common::kQueueDriver, avail}, {common::kQueueDevice, used}}) {
    port.mmio_write(cc + reg, 4, a & 0xFFFFFFFFU);
    port.mmio_write(cc + reg + 4, 4, a >> 32);
  }
  const auto notify_off = port.mmio_read(cc + common::kQueueNotifyOff, 2);
  port.mmio_write(cc + common::kQueueEnable, 2, 1);
  port.mmio_write(cc + common::kStatus, 1, kAck | kDriver | kFeaturesOk | kDriverOk);

  // One GET_ID request: header (out), 20-byte id (in), status byte (in).
  const std::uint64_t hdr = ram.alloc(16);
  const std::uint64_t id = ram.alloc(20);
  const std::uint64_t status = ram.alloc(1);
  std::vector<std::uint8_t> h(16, 0);
  put32(h, 0, 8);  // VIRTIO_BLK_T_GET_ID
  port.mem_write(hdr, h);
  port.mmio_write(status, 1, 0xFF);
  std::vector<std::uint8_t> d(16 * 3, 0);
  const std::array<std::tuple<std::uint64_t, std::uint32_t, std::uint16_t>, 3> chain{
      {{hdr, 16, 1}, {id, 20, 1 | 2}, {status, 1, 2}}};  // NEXT = 1, WRITE = 2
  for (std::size_t i = 0; i < chain.size(); ++i) {
    put64(d, 16 * i, std::get<0>(chain[i]));
    put32(d, 16 * i + 8, std::get<1>(chain[i]));
    put16(d, 16 * i + 12, std::get<2>(chain[i]));
    put16(d, 16 * i + 14, static_cast<std::uint16_t>(i + 1));
  }
  port.mem_write(desc, d);
  std::vector<std::uint8_t> av(6, 0);
  put16(av, 2, 1);  // idx 1, ring[0] = descriptor 0
  port.mem_write(avail, av);

  ASSERT_FALSE(driver::msi_fired(port, msi)) << "MSI before the notify";
  port.mmio_write(notify->addr + notify_off * notify->notify_multiplier, 2, 0);

  bool fired = false;
  for (int i = 0; i < 200 && !fired; ++i) {
    fired = driver::msi_fired(port, msi);
    if (!fired) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(fired) << "MSI-X data word never reached guest RAM; word = " << driver::msi_word(port, msi);
  EXPECT_EQ(port.mmio_read(used + 2, 2), 1u);  // used.idx
  EXPECT_EQ(port.mmio_read(status, 1), 0u);    // VIRTIO_BLK_S_OK
  std::array<std::uint8_t, 20> serial{};
  port.mem_read(id, serial);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(serial.data()), 10), "vmsg-qtest");  // NOLINT: bytes as text
  EXPECT_FALSE(driver::msix_pending(port, mx, 0));
  EXPECT_TRUE(proc.alive()) << proc.stderr_text();
}

}  // namespace
}  // namespace vmsg::qtest

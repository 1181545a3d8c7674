// Drives a modern virtio-blk-pci of a real QEMU through any port the way a
// driver gets an interrupt from it: probe and BAR assignment by the driver
// code, queue 0 bound to MSI-X vector 0, one VIRTIO_BLK_T_GET_ID request
// posted and notified, and the MSI-X data word awaited in guest RAM. GET_ID
// completes inside the notify write, with no block I/O, and works while the
// machine is stopped (-S fallback; virtio-rng would not: it refuses to fill
// buffers unless the VM runs). Shared by the q35 and arm virt checks
// (qemu_pci_test.cpp, qemu_virt_pci_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "vmsg/common/le.hpp"
#include "vmsg/driver/msix_setup.hpp"
#include "vmsg/driver/pci_probe.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::qtest::blk_pci {

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

inline std::optional<VirtioCap> find_virtio_cap(port::Port& port, const driver::ProbedFunction& f, std::uint8_t type) {
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

inline void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) { le::store16(b, at, v); }
inline void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) { le::store32(b, at, v); }
inline void put64(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v) { le::store64(b, at, v); }

/// The serial the command line gives the disk (serial=...): GET_ID returns it.
inline constexpr const char* kSerial = "vmsg-qtest";

/// Runs the whole exchange against the virtio-blk-pci expected at `at`
/// (started with serial=kSerial, disable-legacy=on) and checks every step
/// with gtest assertions: BARs inside the port's window, the MSI target in
/// its RAM, the data word there after the notify, GET_ID's answer.
inline void expect_get_id_raises_msix(port::Port& port, port::PciAddress at) {
  using namespace std::chrono_literals;
  driver::GuestAllocator ram(port.address_map());
  driver::BarWindowAllocator window(port.address_map());

  // Enumerate, size and assign BARs through the driver code, exactly as for the amp device.
  const std::vector<port::PciAddress> all = driver::scan_bus0(port);
  EXPECT_NE(std::find(all.begin(), all.end(), at), all.end());
  auto f = driver::probe(port, kVirtioVendor, kVirtioBlkModern, window);
  ASSERT_TRUE(f.has_value()) << "virtio-blk-pci not found";
  EXPECT_EQ(f->addr, at);
  const port::AddressMap map = port.address_map();
  for (const unsigned bar : {1U, 4U}) {  // inside the machine's BAR window
    EXPECT_GE(f->bars[bar].base, map.mmio_base) << "BAR" << bar;
    EXPECT_LE(f->bars[bar].base + f->bars[bar].size, map.mmio_base + map.mmio_size) << "BAR" << bar;
  }
  EXPECT_EQ(f->bars[1].size, 0x1000u);  // MSI-X table BAR
  EXPECT_EQ(f->bars[4].size, 0x4000u);  // modern virtio structures
  EXPECT_TRUE(f->bars[4].is64);
  EXPECT_EQ(port.config_read(f->addr, driver::pcireg::kCommand, 2) & 0x6U, 0x6U);

  // MSI-X vector 0 -> a word in guest RAM.
  const driver::MsixInfo mx = driver::msix_info(port, *f);
  driver::msix_enable(port, mx);
  const driver::MsiTarget msi = driver::msix_setup_vector(port, mx, 0, ram, 0x5A5A0001);
  EXPECT_GE(msi.addr, map.ram_base);  // a word in the machine's RAM
  EXPECT_LT(msi.addr, map.ram_base + map.ram_size);
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
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(serial.data()), std::char_traits<char>::length(kSerial)), kSerial);  // NOLINT: bytes as text
  EXPECT_FALSE(driver::msix_pending(port, mx, 0));
}

}  // namespace vmsg::qtest::blk_pci

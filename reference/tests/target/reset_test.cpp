// ReferenceTarget::reset(): a reset target must be indistinguishable from a
// freshly built one. Both are driven through the same raw-port script (BAR
// assignment, MSI-X, bus and transport requests on every FIFO, RAM traffic,
// time) and everything the port and the machine let an observer see is
// recorded and compared: every value read, the MSI log, the machine stats.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "target/trace.hpp"
#include "vmsg/amp/amp_device.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/minimal_endpoint.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::target {
namespace {

constexpr port::PciAddress kFn{0, 4, 0};
constexpr std::uint64_t kBar0 = 0xE000'0000;
constexpr std::uint64_t kBar1 = 0xE010'0000;
constexpr std::uint64_t kBar2 = 0xE020'0000;
constexpr std::uint64_t kMsiBase = 0x30'0000;

std::vector<DeviceSlot> minimal_devices(unsigned fifos, std::vector<std::uint16_t> nums) {
  std::vector<DeviceSlot> d;
  for (unsigned q = 0; q < fifos; ++q) {
    for (std::uint16_t n : nums) {
      d.push_back({q, n, std::make_shared<transport::MinimalEndpoint>(transport::MinimalIdentity{.device_id = 7u + n})});
    }
  }
  return d;
}

ReferenceSpec spec_for(unsigned fifos) {
  ReferenceSpec s;
  s.amp.num_fifos = fifos;
  s.ram_size = 4ULL << 20;
  s.devices = minimal_devices(fifos, {0, 3});
  return s;
}

using Trace = testing::PortTrace;

/// Posts `m` into FIFO q's driver queue at the head the device expects and rings.
void post(port::Port& p, unsigned q, const wire::Message& m, Trace& t) {
  const std::uint64_t dq = kBar1 + fifo::queue_offset(q, fifo::QueueKind::Driver);
  const auto head = static_cast<std::uint32_t>(p.mmio_read(dq + fifo::kHeadOffset, 4));
  t.reads.push_back(head);
  std::vector<std::uint8_t> slot(fifo::kSlotSize, 0);
  const auto frame = wire::encode(m, wire::Profile::pr28()).value();
  std::copy(frame.begin(), frame.end(), slot.begin());
  p.mem_write(dq + fifo::slot_offset(head % fifo::kSlotCount), slot);
  p.mmio_write(dq + fifo::kHeadOffset, 4, fifo::next_index(head % fifo::kSlotCount));
  p.mmio_write(kBar0 + amp::reg::notify(q), 4, 1);
}

/// Reads FIFO q's device queue indices and every slot, as a driver looking.
void look(port::Port& p, unsigned q, Trace& t) {
  const std::uint64_t vq = kBar1 + fifo::queue_offset(q, fifo::QueueKind::Device);
  t.reads.push_back(p.mmio_read(vq + fifo::kHeadOffset, 4));
  t.reads.push_back(p.mmio_read(vq + fifo::kTailOffset, 4));
  std::vector<std::uint8_t> q_bytes(fifo::kQueueSize);
  p.mem_read(vq, q_bytes);
  t.reads.insert(t.reads.end(), q_bytes.begin(), q_bytes.end());
}

/// The script: bring-up by hand, then traffic. `salt` varies values so a
/// "dirtying" run leaves different state behind than the measured run.
Trace drive(ReferenceTarget& t, std::uint32_t salt) {
  Trace tr;
  port::Port& p = t.port();
  const unsigned nf = t.device().num_fifos();
  for (std::uint16_t off = 0; off < 0x40; off += 4) tr.reads.push_back(p.config_read(kFn, off, 4));
  for (unsigned k = 0; k < 3; ++k) {
    const auto reg = static_cast<std::uint16_t>(0x10 + 4 * k);
    p.config_write(kFn, reg, 4, 0xFFFF'FFFF);
    tr.reads.push_back(p.config_read(kFn, reg, 4));
  }
  p.config_write(kFn, 0x10, 4, static_cast<std::uint32_t>(kBar0));
  p.config_write(kFn, 0x14, 4, static_cast<std::uint32_t>(kBar1));
  p.config_write(kFn, 0x18, 4, static_cast<std::uint32_t>(kBar2));
  p.config_write(kFn, 0x04, 2, 0x0006);  // MEM | BME
  const std::uint16_t cap = t.device().msix()->capability_offset();
  tr.reads.push_back(p.config_read(kFn, static_cast<std::uint16_t>(cap + 2), 2));
  p.config_write(kFn, static_cast<std::uint16_t>(cap + 2), 2, 0x8000);
  for (unsigned v = 0; v < nf; ++v) {
    const std::uint64_t e = kBar2 + 16u * v;
    p.mmio_write(e, 4, kMsiBase + 4u * v);
    p.mmio_write(e + 4, 4, 0);
    p.mmio_write(e + 8, 4, 0x100u + v + salt);
    p.mmio_write(e + 12, 4, 0);
  }
  // Guest RAM: a few scattered writes (one in the last page), read back.
  const std::uint64_t last = t.machine().ram().size() - 8;
  for (std::uint64_t a : {std::uint64_t{0x1000}, std::uint64_t{0x12'3456}, last}) {
    tr.reads.push_back(p.mmio_read(a, 8));
    p.mmio_write(a, 8, 0x0102'0304'0506'0708ULL ^ salt);
  }
  for (unsigned q = 0; q < nf; ++q) {
    post(p, q, {.dev_num = 0, .token = static_cast<std::uint16_t>(0x10 + q), .reserved_type_bits = 0, .body = wire::PingReq{0xABCD'0000u + salt}},
         tr);
    post(p, q, {.dev_num = 3, .token = 0x20, .reserved_type_bits = 0, .body = wire::GetDeviceInfoReq{}}, tr);
    post(p, q, {.dev_num = 0, .token = 0x21, .reserved_type_bits = 0, .body = wire::GetDevicesReq{.offset = 0, .count = 32}}, tr);
    post(p, q, {.dev_num = 9, .token = 0x22, .reserved_type_bits = 0, .body = wire::GetDeviceInfoReq{}}, tr);  // nobody there: dropped
  }
  p.advance_time(1'000 + salt);
  for (unsigned q = 0; q < nf; ++q) look(p, q, tr);
  std::vector<std::uint8_t> msi_page(4096);
  p.mem_read(kMsiBase, msi_page);
  tr.reads.insert(tr.reads.end(), msi_page.begin(), msi_page.end());
  tr.msis = t.machine().msi_log();
  tr.stats = t.machine().stats();
  tr.now = t.machine().now_ns();
  for (unsigned q = 0; q < nf; ++q) {
    tr.reads.push_back(t.device().channel(q).stats().frames_placed);
    tr.reads.push_back(t.device().channel(q).bus().stats().frames_received);
  }
  tr.reads.push_back(t.device().msix()->stats().delivered);
  tr.reads.push_back(t.device().register_stats().doorbells);
  return tr;
}

void expect_same(const Trace& a, const Trace& b) { testing::expect_same_port(a, b); }

class ResetTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(ResetTest, ResetTargetMatchesFreshOne) {
  const unsigned nf = GetParam();
  ReferenceTarget fresh(spec_for(nf));
  const Trace want = drive(fresh, 0);
  ASSERT_FALSE(want.msis.empty());  // the script really raised interrupts

  ReferenceTarget reused(spec_for(nf));
  const Trace dirty = drive(reused, 0x55);
  ASSERT_NE(dirty.reads, want.reads);  // the dirtying run left different state
  reused.reset(minimal_devices(nf, {0, 3}));
  expect_same(drive(reused, 0), want);
  // And again: reset is repeatable.
  reused.reset(minimal_devices(nf, {0, 3}));
  expect_same(drive(reused, 0), want);
}

INSTANTIATE_TEST_SUITE_P(Fifos, ResetTest, ::testing::Values(1u, 2u, 4u, 8u));

TEST(Reset, LeavesNoRamBehind) {
  ReferenceTarget t(spec_for(1));
  const std::uint64_t size = t.machine().ram().size();
  for (std::uint64_t a : {std::uint64_t{0}, std::uint64_t{4095}, std::uint64_t{4096}, size / 2 + 17, size - 1}) {
    t.port().mmio_write(a, 1, 0xA5);
  }
  std::vector<std::uint8_t> big(64 * 1024, 0x5A);
  t.port().mem_write(size - big.size(), big);
  t.reset();
  std::vector<std::uint8_t> all(static_cast<std::size_t>(size));
  ASSERT_TRUE(t.machine().ram().read(0, all));
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], 0) << "RAM byte " << i << " survived reset";
}

TEST(Reset, NewDeviceListTakesEffect) {
  ReferenceTarget t(spec_for(1));
  Trace with03 = drive(t, 0);
  t.reset(minimal_devices(1, {0, 9}));
  Trace with09 = drive(t, 0);
  EXPECT_NE(with03.reads, with09.reads);  // GET_DEVICES bitmap and device 9's answer differ
  ReferenceTarget fresh([] {
    ReferenceSpec s = spec_for(1);
    s.devices = minimal_devices(1, {0, 9});
    return s;
  }());
  expect_same(drive(fresh, 0), with09);
}

TEST(Reset, InvalidDeviceListLeavesTargetUntouched) {
  ReferenceTarget t(spec_for(2));
  (void)drive(t, 0);
  const auto msis = t.machine().msi_log().size();
  EXPECT_THROW(t.reset(minimal_devices(4, {0})), ConfigError);      // FIFO 2 does not exist
  EXPECT_THROW(t.reset(minimal_devices(1, {5, 5})), ConfigError);   // taken twice
  EXPECT_THROW(t.reset(minimal_devices(1, {32})), ConfigError);     // out of range
  EXPECT_THROW(t.reset({{0, 1, nullptr}}), ConfigError);
  EXPECT_EQ(t.machine().msi_log().size(), msis);
  EXPECT_EQ(t.spec().devices.size(), 4u);
}

}  // namespace
}  // namespace vmsg::target

// Message traffic through the whole machine: PING volume with ring wrap and
// one MSI per response, device enumeration, several independent FIFOs.
#include <gtest/gtest.h>

#include <array>
#include <bit>

#include "rig.hpp"

namespace vmsg::test {
namespace {

TEST(FifoTraffic, TenThousandPingsWrapTheRingsWithOneMsiEach) {
  Rig rig;
  auto& link = rig.link();
  const auto msis_before = rig.machine.stats().msis;
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    const auto data = 0x9E3779B9u * i;  // distinct, not sequential
    auto r = link.request(ping(data, static_cast<std::uint16_t>(i)));
    ASSERT_TRUE(r.ok()) << "ping " << i << ": " << to_string(r.error());
    ASSERT_EQ(std::get<wire::PingResp>(r->body).data, data) << i;
    ASSERT_TRUE(link.take_msi()) << "no MSI for response " << i;
  }
  EXPECT_EQ(rig.machine.stats().msis - msis_before, 10'000u);
  EXPECT_TRUE(link.events().empty());
  // 10,000 messages went round a 62-slot ring: both rings wrapped many times.
  const auto& ch = rig.device.channel(0);
  EXPECT_EQ(ch.stats().frames_consumed, 10'000u);
  EXPECT_EQ(ch.stats().frames_placed, 10'000u);
  EXPECT_EQ(ch.rx_stats().pops % 62, 10'000u % 62);
  EXPECT_EQ(ch.stats().frames_deferred, 0u);
}

TEST(FifoTraffic, BulkTransfersOverFifoRamEqualNarrowAccesses) {
  // BAR1 takes a bulk transfer in one copy; it must read and write exactly
  // the bytes single MMIO accesses of every width would, at any alignment.
  Rig rig;
  const std::uint64_t bar1 = rig.drv->bar1();
  std::array<std::uint8_t, 100> data{};
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(0x5A ^ (i * 7));
  rig.machine.mem_write(bar1 + 0x1003, data);
  for (std::size_t i = 0; i < data.size(); ++i) {
    ASSERT_EQ(rig.machine.mmio_read(bar1 + 0x1003 + i, 1), data[i]) << i;
  }
  rig.machine.mmio_write(bar1 + 0x1008, 8, 0x0102030405060708ULL);
  rig.machine.mmio_write(bar1 + 0x1011, 2, 0xBEEF);
  std::array<std::uint8_t, 24> back{};
  rig.machine.mem_read(bar1 + 0x1007, back);
  EXPECT_EQ(back[0], data[4]);
  for (unsigned i = 0; i < 8; ++i) EXPECT_EQ(back[1 + i], 8 - i) << i;
  EXPECT_EQ(back[10], 0xEF);
  EXPECT_EQ(back[11], 0xBE);
  EXPECT_EQ(back[12], data[0x13 - 3]);
  EXPECT_EQ(rig.machine.stats().unbacked_bulk_bytes, 0u);
}

TEST(FifoTraffic, EveryMsiGoesToTheProgrammedAddressWithItsData) {
  Rig rig;
  rig.machine.clear_msi_log();
  ASSERT_TRUE(rig.link().request(ping(1)).ok());
  ASSERT_EQ(rig.machine.msi_log().size(), 1u);
  EXPECT_EQ(rig.machine.msi_log()[0].addr, rig.link().config().msi->addr);
  EXPECT_EQ(rig.machine.msi_log()[0].data, rig.link().config().msi->data);
}

std::vector<std::uint16_t> present_from(const wire::GetDevicesResp& r) {
  std::vector<std::uint16_t> out;
  for (std::size_t byte = 0; byte < r.bitmap.size(); ++byte) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      if ((static_cast<unsigned>(r.bitmap[byte]) >> bit) & 1u) out.push_back(static_cast<std::uint16_t>(r.offset + byte * 8 + bit));
    }
  }
  return out;
}

TEST(FifoTraffic, GetDevicesShowsExactlyTheOccupiedNumbers) {
  const std::vector<std::uint16_t> occupied{0, 2, 5, 17, 31};
  Rig rig(RigSpec{.devices = {occupied}});
  auto r = rig.link().request(wire::Message{.body = wire::GetDevicesReq{0, 32}});
  ASSERT_TRUE(r.ok());
  const auto& g = std::get<wire::GetDevicesResp>(r->body);
  EXPECT_EQ(present_from(g), occupied);
  EXPECT_EQ(g.next_offset, 0u);  // nothing beyond the window
  // Walking in windows of 8 visits the same set and terminates (QEMU bug 15).
  std::vector<std::uint16_t> walked;
  std::uint16_t off = 0;
  for (int guard = 0; guard < 16; ++guard) {
    auto w = rig.link().request(wire::Message{.body = wire::GetDevicesReq{off, 8}});
    ASSERT_TRUE(w.ok());
    const auto& wr = std::get<wire::GetDevicesResp>(w->body);
    for (auto n : present_from(wr)) walked.push_back(n);
    if (wr.next_offset == 0) break;
    ASSERT_GE(wr.next_offset, off + 8);
    off = wr.next_offset;
  }
  EXPECT_EQ(walked, occupied);
  // Each listed number answers GET_DEVICE_INFO; an unlisted one gets nothing.
  for (auto n : occupied) {
    auto info = rig.link().request(to_dev(n, wire::GetDeviceInfoReq{}));
    ASSERT_TRUE(info.ok()) << n;
    EXPECT_EQ(std::get<wire::GetDeviceInfoResp>(info->body).device_id, 100u + n);
    EXPECT_EQ(info->dev_num, n);
  }
  auto absent = rig.link().request(to_dev(1, wire::GetDeviceInfoReq{}));
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error(), driver::LinkError::NoResponse);
}

TEST(FifoTraffic, FourFifosAreIndependent) {
  Rig rig(RigSpec{.amp = {.num_fifos = 4}, .devices = {{0}, {1, 2}, {}, {31}}});
  ASSERT_EQ(rig.drv->num_fifos(), 4u);
  const std::vector<std::vector<std::uint16_t>> expect{{0}, {1, 2}, {}, {31}};
  for (unsigned q = 0; q < 4; ++q) {
    for (unsigned k = 0; k < 4; ++k) (void)rig.link(k).take_msi();
    auto r = rig.link(q).request(wire::Message{.body = wire::GetDevicesReq{0, 32}});
    ASSERT_TRUE(r.ok()) << q;
    EXPECT_EQ(present_from(std::get<wire::GetDevicesResp>(r->body)), expect[q]) << q;
    // Only this FIFO's vector fired, and nothing appeared on the other FIFOs.
    for (unsigned k = 0; k < 4; ++k) {
      EXPECT_EQ(rig.link(k).take_msi(), k == q) << "fifo " << q << " vector " << k;
      if (k != q) {
        EXPECT_EQ(rig.link(k).waiting(), 0u);
      }
    }
  }
  // Interleaved PINGs: queued on all four, rung in reverse order, each answered on its own FIFO.
  for (unsigned q = 0; q < 4; ++q) ASSERT_TRUE(rig.link(q).send(ping(0xF1F0u + q)).ok());
  for (unsigned q = 4; q-- > 0;) rig.link(q).ring();
  for (unsigned q = 0; q < 4; ++q) {
    auto m = rig.link(q).receive();
    ASSERT_TRUE(m && m->ok()) << q;
    EXPECT_EQ(std::get<wire::PingResp>(m->value().body).data, 0xF1F0u + q);
    EXPECT_FALSE(rig.link(q).receive().has_value());
  }
  // Device 0 on FIFO 0 and device 31 on FIFO 3 are distinct devices.
  auto a = rig.link(0).request(to_dev(0, wire::GetDeviceInfoReq{}));
  auto b = rig.link(3).request(to_dev(31, wire::GetDeviceInfoReq{}));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(std::get<wire::GetDeviceInfoResp>(a->body).device_id, 100u);
  EXPECT_EQ(std::get<wire::GetDeviceInfoResp>(b->body).device_id, 100u + 3 * 32 + 31);
  EXPECT_FALSE(rig.link(1).request(to_dev(31, wire::GetDeviceInfoReq{})).ok());
}

TEST(FifoTraffic, ResponsesKeepRequestOrderAcrossDevices) {
  Rig rig(RigSpec{.devices = {{0, 1}}});
  auto& l = rig.link();
  ASSERT_TRUE(l.send(to_dev(1, wire::GetDeviceStatusReq{}, 1)).ok());
  ASSERT_TRUE(l.send(ping(7, 2)).ok());
  ASSERT_TRUE(l.send(to_dev(0, wire::GetDeviceInfoReq{}, 3)).ok());
  l.ring();
  std::vector<std::uint16_t> tokens;
  while (auto m = l.receive()) {
    ASSERT_TRUE(m->ok());
    tokens.push_back(m->value().token);  // the reference echoes tokens (D36)
  }
  EXPECT_EQ(tokens, (std::vector<std::uint16_t>{1, 2, 3}));
}

}  // namespace
}  // namespace vmsg::test

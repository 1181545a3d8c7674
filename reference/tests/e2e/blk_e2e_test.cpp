// virtio-blk end to end: header/data/status chains through the whole stack,
// every byte verified on both the driver and the medium side.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "e2e/e2e_rig.hpp"
#include "vmsg/driver/blk_driver.hpp"

namespace vmsg::e2e {
namespace {

using driver::describe;
using driver::VirtioErrc;

constexpr std::size_t kFourMiB = 4U << 20;

struct BlkRig {
  explicit BlkRig(devices::BlkOptions o = blk_options(16384), driver::BlkDriverOptions d = {})
      : dev(make_device<devices::BlkBackend>(o)), rig({{0, 0, dev}}), t(rig.bus(), 0), blk(t, rig.ram, d) {}
  devices::BlkBackend& backend() { return e2e::backend<devices::BlkBackend>(dev); }
  std::shared_ptr<transport::DeviceTransport> dev;
  Rig rig;
  driver::TransportDriver t;
  driver::BlkDriver blk;
};

TEST(BlkE2e, FourMebibytesWrittenAndReadBackByteForByte) {
  BlkRig r;
  auto init = r.blk.init();
  ASSERT_TRUE(init.ok()) << describe(init.error());
  EXPECT_EQ(r.blk.capacity(), 16384u);
  EXPECT_TRUE(r.t.has_feature(devices::blk::kFeatFlush));
  const std::uint64_t sector = 1000;  // not a multiple of the request size
  const auto data = pattern(kFourMiB, 1);
  auto w = r.blk.write(sector, data);
  ASSERT_TRUE(w.ok()) << describe(w.error());
  ASSERT_TRUE(r.blk.flush().ok());
  // The medium holds exactly the data, and nothing around it changed.
  const auto disk = r.backend().disk();
  const std::size_t at = sector * 512;
  EXPECT_TRUE(std::equal(data.begin(), data.end(), disk.begin() + static_cast<std::ptrdiff_t>(at)));
  EXPECT_TRUE(std::all_of(disk.begin(), disk.begin() + static_cast<std::ptrdiff_t>(at), [](auto b) { return b == 0; }));
  EXPECT_TRUE(std::all_of(disk.begin() + static_cast<std::ptrdiff_t>(at + kFourMiB), disk.end(),
                          [](auto b) { return b == 0; }));
  std::vector<std::uint8_t> back(kFourMiB, 0xEE);
  auto rd = r.blk.read(sector, back);
  ASSERT_TRUE(rd.ok()) << describe(rd.error());
  EXPECT_TRUE(back == data) << "read-back differs";
  // 64 KiB per request, 16 in flight.
  EXPECT_EQ(r.backend().stats().writes, 64u);
  EXPECT_EQ(r.backend().stats().reads, 64u);
  EXPECT_EQ(r.backend().stats().flushes, 1u);
  EXPECT_EQ(r.backend().stats().bytes_written, kFourMiB);
  EXPECT_EQ(r.backend().stats().bytes_read, kFourMiB);
  EXPECT_EQ(r.blk.stats().max_in_flight, 16u);
  EXPECT_EQ(r.t.stats().used_events, r.dev->stats().event_used_sent);
  EXPECT_EQ(r.dev->stats().queue_errors, 0u);
}

TEST(BlkE2e, GetIdReturnsTheSerial) {
  BlkRig r(blk_options(64, "e2e-serial-0042"));
  ASSERT_TRUE(r.blk.init().ok());
  auto id = r.blk.get_id();
  ASSERT_TRUE(id.ok()) << describe(id.error());
  EXPECT_EQ(*id, "e2e-serial-0042");
  BlkRig full(blk_options(64, "ABCDEFGHIJKLMNOPQRST"));  // 20 bytes, no NUL
  ASSERT_TRUE(full.blk.init().ok());
  auto full_id = full.blk.get_id();
  ASSERT_TRUE(full_id.ok()) << describe(full_id.error());
  EXPECT_EQ(*full_id, "ABCDEFGHIJKLMNOPQRST");
}

TEST(BlkE2e, ABadSectorReadIsIoErrorThroughTheWholeStack) {
  BlkRig r(blk_options(64), driver::BlkDriverOptions{.bounds_check = false});
  ASSERT_TRUE(r.blk.init().ok());
  std::vector<std::uint8_t> buf(1024, 0xEE);
  auto rd = r.blk.read(63, buf);  // the second sector lies past the end
  ASSERT_FALSE(rd.ok());
  EXPECT_EQ(errc(rd), VirtioErrc::IoError);
  EXPECT_NE(rd.error().message.find("IN sector 63"), std::string::npos) << rd.error().message;
  EXPECT_EQ(r.backend().stats().errors, 1u);
  EXPECT_TRUE(std::all_of(buf.begin(), buf.end(), [](auto b) { return b == 0xEE; }));  // nothing copied
  // The device is not broken by it: the next request works.
  EXPECT_FALSE(r.t.needs_reset());
  std::vector<std::uint8_t> ok(512);
  EXPECT_TRUE(r.blk.read(63, ok).ok());
}

TEST(BlkE2e, TheDriverRefusesOutOfRangeTransfersWithoutSendingThem) {
  BlkRig r(blk_options(64));
  ASSERT_TRUE(r.blk.init().ok());
  const auto avail_before = r.dev->stats().event_avail;
  std::vector<std::uint8_t> buf(1024);
  auto rd = r.blk.read(63, buf);
  ASSERT_FALSE(rd.ok());
  EXPECT_EQ(errc(rd), VirtioErrc::OutOfRange);
  std::vector<std::uint8_t> odd(100);
  EXPECT_EQ(errc(r.blk.read(0, odd)), VirtioErrc::BadRequest);
  EXPECT_EQ(r.dev->stats().event_avail, avail_before);
  EXPECT_EQ(r.backend().stats().errors, 0u);
}

TEST(BlkE2e, AnUnknownRequestTypeIsUnsupported) {
  BlkRig r(blk_options(64));
  ASSERT_TRUE(r.blk.init().ok());
  auto x = r.blk.execute(driver::BlkRequest{.type = 0x7F, .sector = 0, .out = {}, .in_len = 0});
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(errc(x), VirtioErrc::Unsupported);
  EXPECT_EQ(r.backend().stats().unsupported, 1u);
}

TEST(BlkE2e, AReadOnlyDeviceRefusesWrites) {
  BlkRig r(blk_options(64, "vmsg-blk", true));
  ASSERT_TRUE(r.blk.init().ok());
  EXPECT_TRUE(r.blk.read_only());
  const auto data = pattern(512, 3);
  EXPECT_EQ(errc(r.blk.write(0, data)), VirtioErrc::Unsupported);  // not even sent
  EXPECT_EQ(r.backend().stats().errors, 0u);
  // Sent anyway as a raw request, the device answers IOERR.
  auto x = r.blk.execute(driver::BlkRequest{.type = driver::vblk::kTypeOut, .sector = 0, .out = data, .in_len = 0});
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(errc(x), VirtioErrc::IoError);
  EXPECT_EQ(r.backend().stats().errors, 1u);
  EXPECT_TRUE(std::all_of(r.backend().disk().begin(), r.backend().disk().end(), [](auto b) { return b == 0; }));
}

}  // namespace
}  // namespace vmsg::e2e

// BlkDriver against a scripted peer: transfers when init() did not complete.
#include "vmsg/driver/blk_driver.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "driver/virtio_peer.hpp"

namespace vmsg::driver {
namespace {

using testing::errc;
using testing::FakeVirtio;
using testing::PeerRig;
using vfeature::bit;

constexpr std::uint16_t kDev = 2;

/// A block device whose size_max (1 byte) x seg_max (1) cannot hold a sector.
FakeVirtio tiny_segments() {
  FakeVirtio d;
  d.device_id = BlkDriver::kDeviceId;
  const std::uint64_t offered = bit(vfeature::kVersion1) | bit(vblk::kFeatSizeMax) | bit(vblk::kFeatSegMax);
  d.offered = {static_cast<std::uint32_t>(offered), static_cast<std::uint32_t>(offered >> 32)};
  d.config.assign(24, 0);
  d.config[0] = 16;  // capacity: 16 sectors
  d.config[8] = 1;   // size_max
  d.config[12] = 1;  // seg_max
  return d;
}

struct Rig : PeerRig {
  explicit Rig(FakeVirtio dev) { peer.devices[kDev] = std::move(dev); }
  TransportDriver t{bus, kDev};
  GuestAllocator ram{port.address_map()};
};

// Found by fuzz_driver: init() refused the device after storing a request
// size of 0, and read() then split the transfer into 0-byte pieces forever.
TEST(BlkDriver, ATransferAfterARefusedInitIsNotReadyInsteadOfLoopingForever) {
  Rig r(tiny_segments());
  BlkDriver blk(r.t, r.ram);
  EXPECT_EQ(errc(blk.init()), VirtioErrc::BadResponse);
  std::vector<std::uint8_t> buf(512);
  EXPECT_EQ(errc(blk.read(0, buf)), VirtioErrc::NotReady);
  EXPECT_EQ(errc(blk.write(0, buf)), VirtioErrc::NotReady);
}

TEST(BlkDriver, ATransferBeforeInitWithoutBoundsCheckIsNotReady) {
  Rig r(tiny_segments());
  BlkDriverOptions o;
  o.bounds_check = false;
  BlkDriver blk(r.t, r.ram, o);
  std::vector<std::uint8_t> buf(1024);
  EXPECT_EQ(errc(blk.read(0, buf)), VirtioErrc::NotReady);
  EXPECT_EQ(errc(blk.read(0, std::span<std::uint8_t>())), VirtioErrc::NotReady);  // nothing to split, no queue either
}

}  // namespace
}  // namespace vmsg::driver

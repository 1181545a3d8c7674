// Fault modes of the bus (BusOptions::faults): each scenario runs with the
// fault off (the conforming bus) and on (QEMU's behaviour).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "bus/bus_test_support.hpp"
#include "vmsg/bus/bus.hpp"
#include "vmsg/common/faults.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::bus::test {
namespace {

using fault::Fault;
using fault::FaultSet;

/// A bus with a FakeDevice at 1 and at 5, and a scripted device at 9.
struct Rig {
  explicit Rig(FaultSet faults) : bus(wire::Profile::pr28(), sink, BusOptions{.announce_hotplug = false, .faults = faults}) {
    bus.plug(1, one);
    bus.plug(5, five);
    bus.plug(9, scripted);
  }
  /// Feeds `frame` and returns what the bus sent because of it.
  std::vector<Bytes> feed(const Bytes& frame) {
    sink.frames.clear();
    bus.receive(frame);
    return sink.frames;
  }
  RecordingSink sink;
  FakeDevice one{11};
  FakeDevice five{55};
  ScriptedDevice scripted;
  Bus bus;
};

FaultSet with(Fault f) { return FaultSet{}.set(f); }

Bytes encoded(const wire::Message& m) { return wire::encode(m, wire::Profile::pr28()).value(); }

std::uint16_t le16(const Bytes& b, std::size_t off) { return static_cast<std::uint16_t>(b.at(off) | (b.at(off + 1) << 8)); }

// ---- echo-reserved-type-bits ---------------------------------------------------

TEST(BusFaults, EchoReservedTypeBitsOffSendsZeroBits) {
  Rig r({});
  auto t = r.feed(get_device_info(1, 7, 0x04));  // reserved bit 2 set in a transport request
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0][0], 0x01);
  auto b = r.feed(ping(3, 0, 0x06));  // and in a bus request
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0][0], 0x03);
}

TEST(BusFaults, EchoReservedTypeBitsOnCopiesRequestBits) {
  Rig r(with(Fault::EchoReservedTypeBits));
  auto t = r.feed(get_device_info(1, 7, 0x84));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0][0], 0x85);
  auto b = r.feed(ping(3, 0, 0x06));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0][0], 0x07);
  // Events correlate with no request: still zero.
  r.one.post(msg(wire::EventUsed{0}, 1));
  ASSERT_EQ(r.sink.frames.size(), 2u);
  EXPECT_EQ(r.sink.frames[1][0], 0x00);
}

// ---- answer-empty-slot ---------------------------------------------------------

TEST(BusFaults, AnswerEmptySlotOffDropsRequestsForEmptySlots) {
  Rig r({});
  EXPECT_TRUE(r.feed(get_device_info(3, 0x42)).empty());
  EXPECT_EQ(r.bus.stats().dropped_no_device, 1u);
}

TEST(BusFaults, AnswerEmptySlotOnAnswersWithZeros) {
  Rig r(with(Fault::AnswerEmptySlot));
  auto f = r.feed(get_device_info(3, 0x42));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0][0], 0x01);
  EXPECT_EQ(f[0][1], 0x02);
  EXPECT_EQ(frame_dev(f[0]), 3);
  EXPECT_EQ(frame_token(f[0]), 0x42);
  ASSERT_EQ(frame_size(f[0]), 32);
  for (std::size_t i = 8; i < 32; ++i) EXPECT_EQ(f[0][i], 0) << "byte " << i;
  // As in QEMU, SET_DEVICE_STATUS for an empty slot stays unanswered.
  EXPECT_TRUE(r.feed(encoded(msg(wire::SetDeviceStatusReq{1}, 3))).empty());
}

TEST(BusFaults, AnswerEmptySlotOnStillDropsNumbersPastTheSlots) {
  // QEMU has 32 slots per FIFO and drops dev_num 32 and up (D10).
  Rig r(with(Fault::AnswerEmptySlot));
  EXPECT_TRUE(r.feed(get_device_info(32, 0x42)).empty());
  EXPECT_TRUE(r.feed(get_device_info(0xFFFF, 0x43)).empty());
  EXPECT_EQ(r.bus.stats().dropped_no_device, 2u);
}

// ---- get-devices-unaligned -----------------------------------------------------

TEST(BusFaults, GetDevicesUnalignedOffDropsUnalignedAndEndsWalk) {
  Rig r({});
  EXPECT_TRUE(r.feed(get_devices(4, 4)).empty());
  auto f = r.feed(get_devices(0, 32));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(le16(f[0], 12), 0);  // no device at or above 32
}

TEST(BusFaults, GetDevicesUnalignedOnAnswersAndNeverEnds) {
  Rig r(with(Fault::GetDevicesUnaligned));
  auto f = r.feed(get_devices(4, 4, 9));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0][0], 0x03);
  EXPECT_EQ(frame_token(f[0]), 9);
  ASSERT_EQ(frame_size(f[0]), 15);  // 14 + ceil(4 / 8)
  EXPECT_EQ(le16(f[0], 8), 4);
  EXPECT_EQ(le16(f[0], 10), 4);
  EXPECT_EQ(le16(f[0], 12), 8);
  EXPECT_EQ(f[0][14], 0x02);  // device 5 is bit 1 of the window at 4
  auto end = r.feed(get_devices(0, 32));
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(le16(end[0], 12), 32);  // bug 15: never 0
  auto past = r.feed(get_devices(32, 8));
  ASSERT_EQ(past.size(), 1u);
  EXPECT_EQ(le16(past[0], 10), 0);
  EXPECT_EQ(le16(past[0], 12), 32);  // points at itself again
}

// ---- answer-bus-responses ------------------------------------------------------

TEST(BusFaults, AnswerBusResponsesOffDropsThem) {
  Rig r({});
  EXPECT_TRUE(r.feed(ping(0xCAFE, 0, 0x03)).empty());
  EXPECT_EQ(r.bus.stats().dropped_response_from_driver, 1u);
}

TEST(BusFaults, AnswerBusResponsesOnAnswersThem) {
  Rig r(with(Fault::AnswerBusResponses));
  auto f = r.feed(ping(0xCAFE, 0, 0x03));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0][0], 0x03);
  EXPECT_EQ(f[0][1], 0x03);
  EXPECT_EQ(le16(f[0], 8), 0xCAFE);
  auto g = r.feed(slot(0x03, 0x02, 0, 0, 12, {0, 0, 8, 0}));  // GET_DEVICES with RESPONSE
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0][14], 0x22);  // devices 1 and 5
  EXPECT_EQ(r.bus.stats().frames_received, 2u);
}

// ---- no-size-check -------------------------------------------------------------

TEST(BusFaults, NoSizeCheckOffDropsOverlongFrames) {
  Rig r({});
  EXPECT_TRUE(r.feed(slot(0x02, 0x03, 0, 0, 20, {1, 2, 3, 4})).empty());  // PING claiming 20 bytes
  EXPECT_TRUE(r.feed(get_device_info(1, 0, 0x00)).size() == 1u);
  EXPECT_TRUE(r.feed(slot(0x00, 0x02, 1, 0, 16)).empty());  // GET_DEVICE_INFO claiming 16
  EXPECT_EQ(r.bus.stats().decode_drops(wire::DecodeError::SizeMismatch), 2u);
}

TEST(BusFaults, NoSizeCheckOnAcceptsOverlongFrames) {
  Rig r(with(Fault::NoSizeCheck));
  auto p = r.feed(slot(0x02, 0x03, 0, 0, 20, {1, 2, 3, 4}));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(le16(p[0], 8), 0x0201);
  auto i = r.feed(slot(0x00, 0x02, 1, 0, 16));
  ASSERT_EQ(i.size(), 1u);
  EXPECT_EQ(i[0][8], 11);  // FakeDevice 11 answered
  // A frame shorter than its message is still refused.
  EXPECT_TRUE(r.feed(slot(0x02, 0x03, 0, 0, 10, {1, 2})).empty());
}

// ---- max-message-48 ------------------------------------------------------------

/// SET_DRIVER_FEATURES with `blocks` words (16 + 4n bytes) to the scripted device,
/// which answers every request with a GET_CONFIG response of `data` bytes.
std::pair<int, std::vector<Bytes>> long_messages(Rig& r, std::size_t blocks, std::size_t data) {
  r.scripted.calls = 0;
  r.scripted.on_request = [data](const wire::Message& m, Outbox& out) {
    (void)m;
    out.post(msg(wire::GetConfigResp{.generation = 0, .offset = 0, .data = std::vector<std::uint8_t>(data, 1)}, 9));
  };
  auto f = r.feed(encoded(msg(wire::SetDriverFeaturesReq{.block_index = 0, .features = std::vector<std::uint32_t>(blocks, 0)}, 9)));
  return {r.scripted.calls, f};
}

TEST(BusFaults, MaxMessage48OffCarriesUpTo64Bytes) {
  Rig r({});
  auto [calls, frames] = long_messages(r, 9, 40);  // 52-byte request, 60-byte response
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frame_size(frames[0]), 60);
}

TEST(BusFaults, MaxMessage48OnDropsLongerMessages) {
  Rig r(with(Fault::MaxMessage48));
  auto [calls, frames] = long_messages(r, 9, 4);
  EXPECT_EQ(calls, 0);  // the 52-byte request never reaches the device
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(r.bus.stats().dropped_by_fault, 1u);
  auto [calls2, frames2] = long_messages(r, 8, 40);  // 48-byte request passes, 60-byte response does not
  EXPECT_EQ(calls2, 1);
  EXPECT_TRUE(frames2.empty());
  EXPECT_EQ(r.bus.stats().suppressed_by_fault, 1u);
  auto [calls3, frames3] = long_messages(r, 8, 28);  // 48-byte response fits
  EXPECT_EQ(calls3, 1);
  EXPECT_EQ(frames3.size(), 1u);
}

}  // namespace
}  // namespace vmsg::bus::test

// Bus messages answered by the bus itself: PING (VMSG-BUS-047) and
// GET_DEVICES (VMSG-BUS-042..046, G13, G14; QEMU deviations D12-D14, D34).
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "bus/bus_test_support.hpp"
#include "vmsg/bus/bus.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::bus::test {
namespace {

using wire::DecodeError;

/// The exact GET_DEVICES response frame: type 0x03, id 0x02, dev_num 0.
Bytes get_devices_resp(std::uint16_t token, std::uint16_t offset, std::uint16_t count,
                       std::uint16_t next, const Bytes& bitmap) {
  const auto size = static_cast<std::uint16_t>(14 + bitmap.size());
  // Built with push_back: gcc 12 -O2 reports false -Warray-bounds and
  // -Wnull-dereference for the insert- and index-based versions.
  Bytes b;
  b.reserve(size);
  b.push_back(0x03);  // bus response, reserved bits zero
  b.push_back(0x02);  // GET_DEVICES
  for (std::uint16_t v : {std::uint16_t{0}, token, size, offset, count, next}) {  // dev_num 0 first
    b.push_back(static_cast<std::uint8_t>(v));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  for (std::uint8_t v : bitmap) b.push_back(v);
  return b;
}

/// `head` followed by zero bytes up to `total` bytes.
Bytes padded(std::initializer_list<std::uint8_t> head, std::size_t total) {
  Bytes b(head);
  b.resize(total, 0);
  return b;
}

/// A bus with FakeDevices at `devs`.
struct Fixture {
  explicit Fixture(const std::set<std::uint16_t>& devs, wire::Profile p = wire::Profile::pr28())
      : bus(p, sink), devices(devs.size()) {
    std::size_t i = 0;
    for (std::uint16_t d : devs) bus.plug(d, devices[i++]);
  }
  RecordingSink sink;
  Bus bus;
  std::vector<FakeDevice> devices;
};

// ---- PING --------------------------------------------------------------------

TEST(BusPing, EchoesDataAndTokenWithTypeExactly0x03) {
  Fixture f({});
  f.bus.receive(ping(0xDEADBEEF, 0x1234));
  ASSERT_EQ(f.sink.frames.size(), 1u);
  EXPECT_EQ(f.sink.frames[0],
            (Bytes{0x03, 0x03, 0x00, 0x00, 0x34, 0x12, 0x0C, 0x00, 0xEF, 0xBE, 0xAD, 0xDE}));
  EXPECT_EQ(f.bus.stats().bus_requests_answered, 1u);
  EXPECT_EQ(f.bus.stats().responses_sent, 1u);
  EXPECT_EQ(f.bus.stats().frames_received, 1u);
}

TEST(BusPing, EchoesEdgeValues) {
  Fixture f({1});
  const std::uint32_t values[] = {0u, 1u, 0x80000000u, 0xFFFFFFFFu, 0x01020304u};
  std::uint16_t token = 0xFFFF;
  for (std::uint32_t v : values) {
    f.sink.frames.clear();
    f.bus.receive(ping(v, token));
    ASSERT_EQ(f.sink.frames.size(), 1u) << v;
    EXPECT_EQ(f.sink.frames[0], (Bytes{0x03, 0x03, 0x00, 0x00, static_cast<std::uint8_t>(token),
                                       static_cast<std::uint8_t>(token >> 8), 0x0C, 0x00,
                                       static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8),
                                       static_cast<std::uint8_t>(v >> 16),
                                       static_cast<std::uint8_t>(v >> 24)}))
        << v;
    token = static_cast<std::uint16_t>(token - 0x1111);
  }
  EXPECT_TRUE(f.devices[0].received.empty());  // bus messages never reach a device
}

TEST(BusPing, ReservedTypeBitsIgnoredOnReceiveAndZeroInResponse) {
  // VMSG-BUS-022/023, D15: 0xFE reads as 0x02 (bus request), answered with 0x03.
  for (std::uint8_t type : {std::uint8_t{0xFE}, std::uint8_t{0x06}, std::uint8_t{0x82}}) {
    Fixture f({});
    f.bus.receive(ping(0x11223344, 7, type));
    ASSERT_EQ(f.sink.frames.size(), 1u) << int{type};
    EXPECT_EQ(f.sink.frames[0],
              (Bytes{0x03, 0x03, 0x00, 0x00, 0x07, 0x00, 0x0C, 0x00, 0x44, 0x33, 0x22, 0x11}));
  }
}

TEST(BusPing, NonZeroDevNumIsIgnoredAndAnsweredWithZero) {
  // VMSG-BUS-020: bus messages are sent with dev_num 0 whatever the request said.
  Fixture f({5});
  f.bus.receive(ping(9, 1, 0x02, 5));
  ASSERT_EQ(f.sink.frames.size(), 1u);
  EXPECT_EQ(frame_dev(f.sink.frames[0]), 0u);
  EXPECT_TRUE(f.devices[0].received.empty());
}

TEST(BusPing, WrongSizeDroppedUnlikeQemu) {
  // D14: QEMU answers a PING with msg_size 8; the reference discards it.
  Fixture f({});
  Bytes p8 = ping(1);
  p8[6] = 8;
  Bytes p16 = ping(1);
  p16[6] = 16;
  f.bus.receive(p8);
  f.bus.receive(p16);
  EXPECT_TRUE(f.sink.frames.empty());
  EXPECT_EQ(f.bus.stats().decode_drops(DecodeError::SizeMismatch), 2u);
  EXPECT_EQ(f.bus.stats().bus_requests_answered, 0u);
}

TEST(BusPing, ResponseFromDriverDroppedUnlikeQemu) {
  // D13: a PING with the RESPONSE bit is not a request; QEMU answers it again.
  Fixture f({});
  f.bus.receive(ping(1, 0, 0x03));
  f.bus.receive(ping(1, 0, 0xFF));  // reserved bits do not change that
  f.bus.receive(slot(0x03, 0x02, 0, 0, 14, {0, 0, 0, 0, 0, 0}));  // GET_DEVICES response, count 0
  EXPECT_TRUE(f.sink.frames.empty());
  EXPECT_EQ(f.bus.stats().dropped_response_from_driver, 3u);
  EXPECT_EQ(f.bus.stats().dropped(), 3u);
}

TEST(BusEventDevice, FromDriverDropped) {
  Fixture f({0});
  f.bus.receive(slot(0x02, 0x40, 0, 0, 12, {0, 0, 1, 0}));
  EXPECT_TRUE(f.sink.frames.empty());
  EXPECT_EQ(f.bus.stats().dropped_wrong_direction_event, 1u);
  EXPECT_TRUE(f.devices[0].received.empty());
}

TEST(BusMessages, UnknownBusIdsDroppedAsMalformed) {
  // Reserved and implementation-defined bus IDs are unsupported (VMSG-BUS-016/017).
  Fixture f({0});
  f.bus.receive(slot(0x02, 0x00, 0, 0, 8));
  f.bus.receive(slot(0x02, 0x04, 0, 0, 8));
  f.bus.receive(slot(0x02, 0x80, 0, 0, 8));
  f.bus.receive(slot(0x02, 0xC0, 0, 0, 8));
  EXPECT_TRUE(f.sink.frames.empty());
  EXPECT_EQ(f.bus.stats().decode_drops(DecodeError::UnknownMessageId), 4u);
  EXPECT_EQ(f.bus.stats().dropped(), 4u);
}

// ---- GET_DEVICES ---------------------------------------------------------------

struct WindowCase {
  std::uint16_t offset;
  std::uint16_t count;
  std::uint16_t resp_count;
  std::uint16_t next;
  Bytes bitmap;
};

void check_windows(const std::set<std::uint16_t>& devs, const std::vector<WindowCase>& cases) {
  Fixture f(devs);
  std::uint16_t token = 0x100;
  for (const WindowCase& c : cases) {
    SCOPED_TRACE("offset " + std::to_string(c.offset) + " count " + std::to_string(c.count));
    ASSERT_EQ(c.bitmap.size(), c.resp_count / 8u) << "bad test case";
    f.sink.frames.clear();
    f.bus.receive(get_devices(c.offset, c.count, token));
    ASSERT_EQ(f.sink.frames.size(), 1u);
    EXPECT_EQ(f.sink.frames[0], get_devices_resp(token, c.offset, c.resp_count, c.next, c.bitmap));
    ++token;
  }
  EXPECT_EQ(f.bus.stats().bus_requests_answered, cases.size());
  EXPECT_EQ(f.bus.stats().dropped(), 0u);
}

TEST(BusGetDevices, SpecExampleDevices0_2_5) {
  check_windows({0, 2, 5}, {
                               {0, 32, 32, 0, {0x25, 0x00, 0x00, 0x00}},
                               {0, 16, 16, 0, {0x25, 0x00}},  // L1560-1563 bitmap
                               {0, 8, 8, 0, {0x25}},
                               {8, 8, 8, 0, {0x00}},
                               {24, 8, 8, 0, {0x00}},
                               {32, 8, 8, 0, {0x00}},
                               {0, 0, 0, 0, {}},
                               {8, 0, 0, 0, {}},
                               {0, 0xFFF8, 400, 0, padded({0x25}, 50)},
                               {0xFFF8, 8, 8, 0, {0x00}},
                           });
}

TEST(BusGetDevices, OnlyDevice31) {
  check_windows({31}, {
                          {0, 32, 32, 0, {0x00, 0x00, 0x00, 0x80}},
                          {0, 8, 8, 8, {0x00}},
                          {8, 8, 8, 16, {0x00}},
                          {16, 8, 8, 24, {0x00}},
                          {24, 8, 8, 0, {0x80}},
                          {24, 16, 16, 0, {0x80, 0x00}},
                          {32, 8, 8, 0, {0x00}},
                          {0, 0, 0, 0, {}},
                          {16, 0, 0, 16, {}},  // empty window below the device: continue at its end
                          {0, 0xFFF8, 400, 0, padded({0x00, 0x00, 0x00, 0x80}, 50)},
                          {0xFFF8, 8, 8, 0, {0x00}},
                      });
}

TEST(BusGetDevices, NoDevicesStillAnswers) {
  // D34: QEMU crashes on a FIFO without devices; a bus with none answers.
  check_windows({}, {
                        {0, 32, 32, 0, {0x00, 0x00, 0x00, 0x00}},
                        {0, 8, 8, 0, {0x00}},
                        {8, 8, 8, 0, {0x00}},
                        {24, 8, 8, 0, {0x00}},
                        {32, 8, 8, 0, {0x00}},
                        {0, 0, 0, 0, {}},
                        {0, 0xFFF8, 400, 0, Bytes(50, 0x00)},
                        {0xFFF8, 8, 8, 0, {0x00}},
                    });
}

TEST(BusGetDevices, All32Devices) {
  std::set<std::uint16_t> all;
  for (std::uint16_t d = 0; d < kMaxDevices; ++d) all.insert(d);
  check_windows(all, {
                         {0, 32, 32, 0, {0xFF, 0xFF, 0xFF, 0xFF}},
                         {0, 8, 8, 8, {0xFF}},
                         {8, 8, 8, 16, {0xFF}},
                         {8, 16, 16, 24, {0xFF, 0xFF}},
                         {24, 8, 8, 0, {0xFF}},
                         {32, 8, 8, 0, {0x00}},
                         {0, 0, 0, 0, {}},
                         {16, 0, 0, 16, {}},
                         {0, 0xFFF8, 400, 0, padded({0xFF, 0xFF, 0xFF, 0xFF}, 50)},
                         {0xFFF8, 8, 8, 0, {0x00}},
                     });
}

TEST(BusGetDevices, UnalignedDroppedUnlikeQemu) {
  // VMSG-BUS-042 / G13 / D12: enforced by discarding, there is no error reply.
  Fixture f({0, 1});
  f.bus.receive(get_devices(0, 4));
  f.bus.receive(get_devices(4, 8));
  f.bus.receive(get_devices(1, 8));
  f.bus.receive(get_devices(0, 0xFFFF));
  f.bus.receive(get_devices(0xFFFF, 8));
  EXPECT_TRUE(f.sink.frames.empty());
  EXPECT_EQ(f.bus.stats().decode_drops(DecodeError::BadAlignment), 5u);
  EXPECT_EQ(f.bus.stats().bus_requests_answered, 0u);
}

TEST(BusGetDevices, WrongSizeDropped) {
  Fixture f({0});
  Bytes g = get_devices(0, 8);
  g[6] = 8;
  f.bus.receive(g);
  EXPECT_TRUE(f.sink.frames.empty());
  EXPECT_EQ(f.bus.stats().decode_drops(DecodeError::SizeMismatch), 1u);
}

TEST(BusGetDevices, WalkWithNextOffsetTerminates) {
  // Bug 15: QEMU never returns next_offset 0, so a driver loop never ends.
  Fixture f({3, 9, 31});
  std::set<std::uint16_t> found;
  std::uint16_t offset = 0;
  int queries = 0;
  do {
    f.sink.frames.clear();
    f.bus.receive(get_devices(offset, 8));
    ASSERT_EQ(f.sink.frames.size(), 1u);
    const Bytes& r = f.sink.frames[0];
    ASSERT_EQ(r.size(), 15u);
    for (unsigned n = 0; n < 8; ++n) {
      if ((static_cast<unsigned>(r[14]) >> n) & 1u) found.insert(static_cast<std::uint16_t>(offset + n));
    }
    offset = static_cast<std::uint16_t>(r[12] | (r[13] << 8));
    ++queries;
  } while (offset != 0 && queries < 100);
  EXPECT_EQ(queries, 4);
  EXPECT_EQ(found, (std::set<std::uint16_t>{3, 9, 31}));
}

TEST(BusGetDevices, CountReducedToBusMaximum) {
  // VMSG-BUS-045/046: reduced only by the message size; 14 + count/8 <= max.
  struct Case {
    std::uint32_t max;
    std::uint16_t offset;
    std::uint16_t count;
    std::uint16_t resp_count;
  };
  const Case cases[] = {
      {44, 0, 0xFFF8, 240},       {48, 0, 0xFFF8, 272},       {64, 0, 0xFFF8, 400},
      {64, 0, 400, 400},          {64, 0, 408, 400},          {264, 0, 0xFFF8, 2000},
      {264, 0x100, 1000, 1000},   {65535, 0, 0xFFF8, 0xFFF8}, {65535, 0x100, 0xFFF8, 0xFF00},
      {65535, 0xFFF0, 0xFFF8, 16}, {64, 0xFFF0, 0xFFF8, 16},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("max " + std::to_string(c.max) + " offset " + std::to_string(c.offset));
    Fixture f({31}, wire::Profile::pr28(c.max));
    f.bus.receive(get_devices(c.offset, c.count, 0x55));
    ASSERT_EQ(f.sink.frames.size(), 1u);
    Bytes bitmap(c.resp_count / 8u, 0);
    std::uint16_t next = 0;
    if (c.offset == 0) {
      bitmap[3] = 0x80;
    }
    EXPECT_EQ(f.sink.frames[0], get_devices_resp(0x55, c.offset, c.resp_count, next, bitmap));
    EXPECT_LE(f.sink.frames[0].size(), c.max);
  }
}

TEST(BusGetDevices, MaxCountFollowsProfile) {
  RecordingSink sink;
  EXPECT_EQ(Bus(wire::Profile::pr28(44), sink).max_get_devices_count(), 240u);
  EXPECT_EQ(Bus(wire::Profile::pr28(64), sink).max_get_devices_count(), 400u);
  EXPECT_EQ(Bus(wire::Profile::pr28(65535), sink).max_get_devices_count(), 0xFFF8u);
}

TEST(BusGetDevices, ReflectsPlugAndUnplug) {
  Fixture f({});
  FakeDevice a;
  FakeDevice b;
  f.bus.plug(12, a);
  f.bus.plug(1, b);
  f.bus.receive(get_devices(0, 16, 1));
  f.bus.unplug(12);
  f.bus.receive(get_devices(0, 16, 2));
  ASSERT_EQ(f.sink.frames.size(), 2u);
  EXPECT_EQ(f.sink.frames[0], get_devices_resp(1, 0, 16, 0, {0x02, 0x10}));
  EXPECT_EQ(f.sink.frames[1], get_devices_resp(2, 0, 16, 0, {0x02, 0x00}));
}

}  // namespace
}  // namespace vmsg::bus::test

// The bus under REV1-2026: size range, token copying, GET_DEVICES windows,
// EVENT_DEVICE ADDED, device number 0, message-ID handling, transport
// feature bits, and the bus-side REV1 fault modes. Frames are built and read
// byte by byte (bus_test_support.hpp), so the REV1 layouts are pinned here
// independently of the codec.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

#include "bus/bus_test_support.hpp"
#include "vmsg/bus/bus.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/common/faults.hpp"
#include "vmsg/wire/constants.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::bus::test {
namespace {

/// A REV1 GET_DEVICES response, fields read from the frame.
struct Window {
  std::uint16_t token = 0;
  std::uint16_t offset = 0;
  std::uint16_t next_offset = 0;
  std::uint16_t count = 0;
  Bytes bitmap;
};

std::uint16_t le16(const Bytes& f, std::size_t at) { return static_cast<std::uint16_t>(f.at(at) | (f.at(at + 1) << 8)); }

/// Parses a REV1 GET_DEVICES response (offset, next_offset, count, bitmap; REV1 L1937-1942),
/// checking the header and that msg_size is exactly 14 + (count + 7) / 8.
Window window(const Bytes& f) {
  EXPECT_EQ(f.at(0), 0x03);
  EXPECT_EQ(f.at(1), 0x02);
  EXPECT_EQ(frame_dev(f), 0);
  Window w{frame_token(f), le16(f, 8), le16(f, 10), le16(f, 12), {}};
  EXPECT_EQ(frame_size(f), 14u + (w.count + 7u) / 8u);
  EXPECT_EQ(f.size(), frame_size(f));
  w.bitmap.assign(f.begin() + 14, f.end());
  return w;
}

struct Rev1Bus {
  explicit Rev1Bus(const std::set<std::uint16_t>& devs, BusOptions o = {}) : bus(wire::Profile::rev1(), sink, o) {
    devices.reserve(devs.size());
    for (std::uint16_t d : devs) {
      devices.emplace_back();
      (void)d;
    }
    std::size_t i = 0;
    for (std::uint16_t d : devs) bus.plug(d, devices[i++]);
  }
  /// One GET_DEVICES round trip; the single response as a Window.
  Window ask(std::uint16_t offset, std::uint16_t count, std::uint16_t token = 0x0BAD) {
    sink.frames.clear();
    bus.receive(get_devices(offset, count, token));
    EXPECT_EQ(sink.frames.size(), 1u);
    return sink.frames.empty() ? Window{} : window(sink.frames.front());
  }
  RecordingSink sink;
  Bus bus;
  std::vector<FakeDevice> devices;
};

// ---- size range ----------------------------------------------------------------

TEST(BusRev1, MaximumMessageSizeAtLeast52) {
  RecordingSink sink;
  EXPECT_THROW(Bus(wire::Profile::rev1(51), sink), ConfigError);  // REV1 L274-275
  EXPECT_THROW(Bus(wire::Profile::rev1(44), sink), ConfigError);
  EXPECT_NO_THROW(Bus(wire::Profile::rev1(52), sink));
  EXPECT_NO_THROW(Bus(wire::Profile::rev1(65535), sink));
  EXPECT_THROW(Bus(wire::Profile::rev1(65536), sink), ConfigError);
  EXPECT_NO_THROW(Bus(wire::Profile::pr28(44), sink));  // PR28 keeps its own floor
}

// ---- token -----------------------------------------------------------------------

TEST(BusRev1, BusResponsesAndTransportResponsesCopyTheToken) {
  Rev1Bus b({0});
  b.bus.receive(ping(7, 0xBEEF));
  b.bus.receive(get_devices(0, 8, 0xCAFE));
  b.bus.receive(get_device_status(0, 0x1234));
  ASSERT_EQ(b.sink.frames.size(), 3u);
  EXPECT_EQ(frame_token(b.sink.frames[0]), 0xBEEF);  // REV1 L692-694, bus responses included
  EXPECT_EQ(frame_token(b.sink.frames[1]), 0xCAFE);
  EXPECT_EQ(frame_token(b.sink.frames[2]), 0x1234);
}

TEST(BusRev1, FaultTokenNotCopiedZeroesEveryResponseToken) {
  BusOptions o;
  o.faults.set(fault::Fault::Rev1TokenNotCopied);
  Rev1Bus b({0}, o);
  b.bus.receive(ping(7, 0xBEEF));
  b.bus.receive(get_devices(0, 8, 0xCAFE));
  b.bus.receive(get_device_status(0, 0x1234));
  ASSERT_EQ(b.sink.frames.size(), 3u);
  for (const Bytes& f : b.sink.frames) EXPECT_EQ(frame_token(f), 0);
}

TEST(BusRev1, FaultTokenNotCopiedDoesNothingUnderPr28) {
  RecordingSink sink;
  BusOptions o;
  o.faults.set(fault::Fault::Rev1TokenNotCopied);
  Bus bus(wire::Profile::pr28(), sink, o);
  bus.receive(ping(7, 0xBEEF));
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(frame_token(sink.frames[0]), 0xBEEF);
}

// ---- GET_DEVICES -------------------------------------------------------------------

TEST(BusRev1GetDevices, CountZeroIsAnEmptyTerminalWindow) {
  Rev1Bus b({0, 3, 31});
  for (const std::uint16_t offset : std::vector<std::uint16_t>{0, 1, 3, 31, 32, 0xFFFF}) {
    const Window w = b.ask(offset, 0);  // REV1 L1979-1981
    EXPECT_EQ(w.offset, offset);
    EXPECT_EQ(w.count, 0);
    EXPECT_TRUE(w.bitmap.empty());
    // An empty window cannot point past its offset (L1990-1992), so it ends the walk.
    EXPECT_EQ(w.next_offset, 0) << offset;
  }
}

TEST(BusRev1GetDevices, UnalignedWindowsAreAnsweredWithUnusedBitsZero) {
  Rev1Bus b({0, 2, 6, 7});
  const Window w = b.ask(0, 5);  // no alignment under REV1
  EXPECT_EQ(w.token, 0x0BAD);
  EXPECT_EQ(w.count, 5);
  EXPECT_EQ(w.bitmap, (Bytes{0x05}));  // devices 0 and 2; 6 and 7 lie outside (L1985-1987)
  EXPECT_EQ(w.next_offset, 5);         // devices remain beyond: above the request offset
  const Window rest = b.ask(w.next_offset, 3);
  EXPECT_EQ(rest.offset, 5);
  EXPECT_EQ(rest.count, 3);
  EXPECT_EQ(rest.bitmap, (Bytes{0x06}));  // 6 and 7 at bits 1 and 2
  EXPECT_EQ(rest.next_offset, 0);         // nothing past 7: terminal (L1988-1989)
}

TEST(BusRev1GetDevices, OddOffsetsAndDeviceZero) {
  Rev1Bus b({0, 9, 31});
  Window w = b.ask(1, 9);
  EXPECT_EQ(w.count, 9);
  EXPECT_EQ(w.bitmap, (Bytes{0x00, 0x01}));  // device 9 = bit 8 of the window
  EXPECT_EQ(w.next_offset, 10);
  w = b.ask(0, 1);
  EXPECT_EQ(w.bitmap, (Bytes{0x01}));  // device number 0 is an ordinary device (L649-652)
  EXPECT_EQ(w.next_offset, 1);
}

TEST(BusRev1GetDevices, WalkVisitsEveryDeviceAndEnds) {
  const std::set<std::uint16_t> present{0, 1, 5, 8, 17, 30, 31};
  Rev1Bus b(present);
  for (const std::uint16_t step : std::vector<std::uint16_t>{1, 3, 7, 8, 13, 400}) {
    std::set<std::uint16_t> seen;
    std::uint32_t offset = 0;
    for (int rounds = 0; rounds < 100; ++rounds) {
      const Window w = b.ask(static_cast<std::uint16_t>(offset), step);
      EXPECT_LE(w.count, step);  // L1982-1984
      for (unsigned n = 0; n < w.count; ++n) {
        if ((w.bitmap.at(n / 8) >> (n % 8)) & 1) seen.insert(static_cast<std::uint16_t>(offset + n));
      }
      if (w.next_offset == 0) break;
      EXPECT_GT(w.next_offset, offset);  // L1990-1992
      offset = w.next_offset;
    }
    EXPECT_EQ(seen, present) << "step " << step;
  }
}

TEST(BusRev1GetDevices, WindowsAtTheEndOfTheNumberSpace) {
  Rev1Bus b({31});
  Window w = b.ask(0xFFFF, 10);  // one number left: count reduced to 1, never above the request
  EXPECT_EQ(w.count, 1);
  EXPECT_EQ(w.bitmap, (Bytes{0x00}));
  EXPECT_EQ(w.next_offset, 0);
  w = b.ask(0xFFFA, 100);
  EXPECT_EQ(w.count, 6);
  EXPECT_EQ(w.bitmap, (Bytes{0x00}));
  EXPECT_EQ(w.next_offset, 0);
  w = b.ask(0xFFFF, 1);
  EXPECT_EQ(w.count, 1);
  EXPECT_EQ(w.next_offset, 0);
}

TEST(BusRev1GetDevices, LargeWindowsAreCutToTheMessageSize) {
  Rev1Bus b({3});
  EXPECT_EQ(b.bus.max_get_devices_count(), 400u);  // (64 - 14) * 8
  Window w = b.ask(0, 0xFFFF);
  EXPECT_EQ(w.count, 400);
  EXPECT_EQ(w.bitmap.size(), 50u);
  EXPECT_EQ(w.bitmap[0], 0x08);
  EXPECT_EQ(w.next_offset, 0);  // nothing at or beyond 400
  Rev1Bus c({31});
  w = c.ask(0, 401);
  EXPECT_EQ(w.count, 400);
  EXPECT_EQ(w.next_offset, 0);
  w = c.ask(20, 401);
  EXPECT_EQ(w.count, 400);
  EXPECT_EQ(w.bitmap[1], 0x08);  // device 31 = bit 11 of the window
}

TEST(BusRev1GetDevices, WindowCutShortByMessageSizePointsAboveTheOffset) {
  RecordingSink sink;
  Bus bus(wire::Profile::rev1(52), sink);  // (52 - 14) * 8 = 304 slots per answer
  FakeDevice dev;
  bus.plug(31, dev);
  ASSERT_EQ(bus.max_get_devices_count(), 304u);
  bus.receive(get_devices(0, 20));
  ASSERT_EQ(sink.frames.size(), 1u);
  const Window w = window(sink.frames[0]);
  EXPECT_EQ(w.count, 20);
  EXPECT_EQ(w.next_offset, 20);
}

TEST(BusRev1GetDevices, Pr28StillAlignsAndCountsInBytes) {
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  EXPECT_EQ(bus.max_get_devices_count(), 400u);
  bus.receive(get_devices(0, 5));  // unaligned: dropped under PR28 (G13)
  EXPECT_TRUE(sink.frames.empty());
}

// ---- EVENT_DEVICE, IDs, transport features ----------------------------------------------

TEST(BusRev1, HotplugAnnouncesAdded) {
  RecordingSink sink;
  Bus bus(wire::Profile::rev1(), sink, BusOptions{.announce_hotplug = true});
  FakeDevice dev;
  bus.plug(0, dev);
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0], (Bytes{0x02, 0x40, 0, 0, 0, 0, 12, 0, 0, 0, 0x01, 0x00}));  // ADDED (REV1 L2046)
  EXPECT_EQ(wire::bus_state::kAdded, wire::bus_state::kReady);
}

TEST(BusRev1, DeviceNumberZeroIsATransportTarget) {
  Rev1Bus b({0});
  b.bus.receive(get_device_status(0, 9));
  ASSERT_EQ(b.sink.frames.size(), 1u);
  EXPECT_EQ(frame_dev(b.sink.frames[0]), 0);
  EXPECT_EQ(b.sink.frames[0].at(0), 0x01);  // a transport response, not a bus one
  ASSERT_EQ(b.devices[0].received.size(), 1u);
  EXPECT_EQ(b.bus.stats().dropped_no_device, 0u);
}

TEST(BusRev1, UnknownIdsAreDroppedWithoutTraffic) {
  Rev1Bus b({1});
  b.bus.receive(slot(0x00, 0x0D, 1, 1, 8));  // unassigned transport ID
  b.bus.receive(slot(0x00, 0x82, 1, 2, 8));  // implementation-defined transport ID (bit 7)
  b.bus.receive(slot(0x02, 0x05, 0, 3, 8));  // unassigned bus ID
  b.bus.receive(slot(0x02, 0x81, 0, 4, 8));  // implementation-defined bus ID
  b.bus.receive(slot(0x02, 0x03, 0, 5, 9, {1, 2, 3, 4}));  // malformed bus header: msg_size wrong for PING
  EXPECT_TRUE(b.sink.frames.empty());      // REV1 L545-551: discarded, no traffic
  EXPECT_TRUE(b.devices[0].received.empty());
}

TEST(BusRev1, TransportFeatureBitsFollowTheStrictOption) {
  RecordingSink sink;
  EXPECT_EQ(Bus(wire::Profile::rev1(), sink).transport_features(), 0u);  // baseline by default
  EXPECT_EQ(Bus(wire::Profile::rev1(), sink, BusOptions{.strict_config_generation = true}).transport_features(),
            wire::transport_feature::kStrictConfigGeneration);
  // PR28 has no transport feature bits at all.
  EXPECT_EQ(Bus(wire::Profile::pr28(), sink, BusOptions{.strict_config_generation = true}).transport_features(), 0u);
}

// ---- GET_SHM layout fault ------------------------------------------------------------------

TEST(BusRev1, GetShmAnswersIn32BytesAndTheFaultIn20) {
  for (bool faulty : {false, true}) {
    BusOptions o;
    if (faulty) o.faults.set(fault::Fault::Rev1ShmPr28Layout);
    Rev1Bus b({2}, o);
    b.bus.receive(slot(0x00, 0x0C, 2, 0x77, 12, {5, 0, 0, 0}));
    ASSERT_EQ(b.sink.frames.size(), 1u) << faulty;
    const Bytes& f = b.sink.frames[0];
    EXPECT_EQ(frame_size(f), faulty ? 20u : 32u);  // REV1 L1760-1765 vs PR28's layout
    EXPECT_EQ(f.size(), frame_size(f));
    EXPECT_EQ(frame_token(f), 0x77);
  }
}

TEST(BusRev1, GetShmLayoutFaultDoesNothingUnderPr28) {
  RecordingSink sink;
  BusOptions o;
  o.faults.set(fault::Fault::Rev1ShmPr28Layout);
  Bus bus(wire::Profile::pr28(), sink, o);
  FakeDevice dev;
  bus.plug(2, dev);
  bus.receive(slot(0x00, 0x0C, 2, 0x77, 12, {5, 0, 0, 0}));
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(frame_size(sink.frames[0]), 20u);
}

}  // namespace
}  // namespace vmsg::bus::test

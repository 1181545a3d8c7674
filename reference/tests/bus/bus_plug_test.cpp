// Device numbers, plug/unplug, hotplug announcements (VMSG-BUS-012/037/038),
// construction limits (VMSG-BUS-008) and time forwarding.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>

#include "bus/bus_test_support.hpp"
#include "vmsg/bus/bus.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::bus::test {
namespace {

TEST(BusConstruct, RejectsMaximaOutsideTheSpecRange) {
  RecordingSink sink;
  EXPECT_THROW(Bus(wire::Profile::pr28(0), sink), ConfigError);
  EXPECT_THROW(Bus(wire::Profile::pr28(43), sink), ConfigError);
  EXPECT_THROW(Bus(wire::Profile::pr28(65536), sink), ConfigError);
  EXPECT_NO_THROW(Bus(wire::Profile::pr28(44), sink));
  EXPECT_NO_THROW(Bus(wire::Profile::pr28(65535), sink));
  Bus b(wire::Profile::pr28(), sink);
  EXPECT_EQ(b.profile(), wire::Profile::pr28(64));
  EXPECT_FALSE(b.options().announce_hotplug);
  EXPECT_EQ(b.device_count(), 0u);
  EXPECT_EQ(b.stats(), BusStats{});
}

TEST(BusPlug, AttachGetsDevNumAndAWorkingOutbox) {
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  FakeDevice a;
  FakeDevice b;
  bus.plug(0, a);
  bus.plug(31, b);
  EXPECT_EQ(a.attach_calls, 1);
  EXPECT_EQ(a.dev_num(), 0u);
  EXPECT_EQ(b.dev_num(), 31u);
  EXPECT_TRUE(bus.present(0));
  EXPECT_TRUE(bus.present(31));
  EXPECT_FALSE(bus.present(1));
  EXPECT_FALSE(bus.present(32));
  EXPECT_FALSE(bus.present(0xFFFF));
  EXPECT_EQ(bus.device_count(), 2u);
  b.post(msg(wire::EventUsed{3}, 31));
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(frame_dev(sink.frames[0]), 31u);
}

TEST(BusPlug, RejectsBadNumbersAndDoubleUse) {
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  FakeDevice a;
  FakeDevice b;
  EXPECT_THROW(bus.plug(32, a), ConfigError);
  EXPECT_THROW(bus.plug(0xFFFF, a), ConfigError);
  EXPECT_EQ(a.attach_calls, 0);
  bus.plug(7, a);
  EXPECT_THROW(bus.plug(7, b), ConfigError);
  EXPECT_EQ(b.attach_calls, 0);
  bus.receive(get_device_status(7, 1));
  EXPECT_EQ(a.received.size(), 1u);  // the first device still owns the number
  EXPECT_TRUE(b.received.empty());
  EXPECT_THROW(bus.unplug(8), ConfigError);
  EXPECT_THROW(bus.unplug(32), ConfigError);
  bus.unplug(7);
  EXPECT_THROW(bus.unplug(7), ConfigError);
  EXPECT_EQ(bus.device_count(), 0u);
}

TEST(BusPlug, AllThirtyTwoNumbersUsable) {
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  std::vector<FakeDevice> devs(kMaxDevices);
  for (std::uint16_t d = 0; d < kMaxDevices; ++d) bus.plug(d, devs[d]);
  EXPECT_EQ(bus.device_count(), 32u);
  for (std::uint16_t d = 0; d < kMaxDevices; ++d) bus.receive(get_device_status(d, d));
  ASSERT_EQ(sink.frames.size(), 32u);
  for (std::uint16_t d = 0; d < kMaxDevices; ++d) {
    EXPECT_EQ(devs[d].received.size(), 1u);
    EXPECT_EQ(frame_dev(sink.frames[d]), d);
  }
}

TEST(BusPlug, ThrowingAttachLeavesNumberFree) {
  struct Refuses : ScriptedDevice {
    void attach(std::uint16_t, Outbox& out) override {
      kept = &out;
      throw std::runtime_error("no");
    }
    Outbox* kept = nullptr;
  } bad;
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  EXPECT_THROW(bus.plug(3, bad), std::runtime_error);
  EXPECT_FALSE(bus.present(3));
  EXPECT_EQ(bus.device_count(), 0u);
  FakeDevice good;
  bus.plug(3, good);
  EXPECT_TRUE(bus.present(3));
  // The outbox of the failed plug is dead: it cannot speak for device 3.
  ASSERT_NE(bad.kept, nullptr);
  bad.kept->post(msg(wire::EventUsed{0}, 3));
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().posts_after_unplug, 1u);
}

TEST(BusPlug, EndpointMayPostFromAttach) {
  struct Eager : FakeDevice {
    void attach(std::uint16_t dev_num, Outbox& out) override {
      FakeDevice::attach(dev_num, out);
      out.post(msg(wire::EventUsed{0}, dev_num));
    }
  } eager;
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  bus.plug(2, eager);
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0][1], 0x42);
  EXPECT_EQ(bus.stats().endpoint_faults(), 0u);
}

TEST(BusPlug, StaleOutboxDiscardsAfterUnplugEvenWhenNumberReused) {
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  ScriptedDevice old_dev;
  bus.plug(5, old_dev);
  Outbox& stale = old_dev.outbox();
  bus.unplug(5);
  stale.post(msg(wire::EventUsed{0}, 5));
  ScriptedDevice new_dev;
  bus.plug(5, new_dev);
  EXPECT_NE(&new_dev.outbox(), &stale);
  stale.post(msg(wire::EventUsed{0}, 5));
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().posts_after_unplug, 2u);
  new_dev.outbox().post(msg(wire::EventUsed{0}, 5));
  EXPECT_EQ(sink.frames.size(), 1u);
}

TEST(BusHotplug, SilentByDefault) {
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  FakeDevice d;
  bus.plug(5, d);
  bus.unplug(5);
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().events_sent, 0u);
}

TEST(BusHotplug, AnnouncesReadyAndRemovedWhenEnabled) {
  // VMSG-BUS-037/038: bus event, type 0x02, dev_num 0, token 0, 12 bytes.
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink, BusOptions{.announce_hotplug = true});
  FakeDevice d;
  FakeDevice e;
  bus.plug(5, d);
  bus.plug(31, e);
  bus.unplug(5);
  ASSERT_EQ(sink.frames.size(), 3u);
  EXPECT_EQ(sink.frames[0], (Bytes{0x02, 0x40, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x05, 0x00, 0x01, 0x00}));
  EXPECT_EQ(sink.frames[1], (Bytes{0x02, 0x40, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x1F, 0x00, 0x01, 0x00}));
  EXPECT_EQ(sink.frames[2], (Bytes{0x02, 0x40, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x05, 0x00, 0x02, 0x00}));
  EXPECT_EQ(bus.stats().events_sent, 3u);
  EXPECT_EQ(bus.stats().responses_sent, 0u);
}

TEST(BusHotplug, NoAnnouncementForFailedPlug) {
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink, BusOptions{.announce_hotplug = true});
  FakeDevice d;
  FakeDevice e;
  bus.plug(1, d);
  sink.frames.clear();
  EXPECT_THROW(bus.plug(1, e), ConfigError);
  EXPECT_THROW(bus.plug(40, e), ConfigError);
  EXPECT_THROW(bus.unplug(2), ConfigError);
  EXPECT_TRUE(sink.frames.empty());
}

TEST(BusTime, AdvanceTimeReachesEveryPluggedEndpoint) {
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  FakeDevice a;
  FakeDevice b;
  FakeDevice gone;
  bus.plug(0, a);
  bus.plug(17, b);
  bus.plug(3, gone);
  bus.unplug(3);
  bus.advance_time(250);
  bus.advance_time(1);
  EXPECT_EQ(a.time_ns, 251u);
  EXPECT_EQ(b.time_ns, 251u);
  EXPECT_EQ(gone.time_ns, 0u);
}

TEST(BusTime, EventsPostedFromAdvanceTimeAreSent) {
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  ScriptedDevice d;
  d.on_time = [](std::uint64_t ns, Outbox& o) {
    o.post(msg(wire::EventUsed{static_cast<std::uint32_t>(ns)}, 9));
  };
  bus.plug(9, d);
  bus.advance_time(2);
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0], (Bytes{0x00, 0x42, 0x09, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x02, 0, 0, 0}));
}

TEST(BusStatsTest, ResetClearsCounters) {
  RecordingSink sink;
  Bus bus(wire::Profile::pr28(), sink);
  bus.receive(ping(1));
  bus.receive(get_device_info(3));
  EXPECT_NE(bus.stats(), BusStats{});
  bus.reset_stats();
  EXPECT_EQ(bus.stats(), BusStats{});
}

}  // namespace
}  // namespace vmsg::bus::test

// BusDriver: events of several devices on one FIFO reach the driver of the
// device they concern, in arrival order, whoever was polling at the time.
#include "vmsg/driver/bus_driver.hpp"

#include <gtest/gtest.h>

#include "driver/virtio_peer.hpp"
#include "vmsg/driver/transport_driver.hpp"

namespace vmsg::driver {
namespace {

using testing::PeerRig;

wire::Message to(std::uint16_t dev, wire::Body b) { return wire::Message{.dev_num = dev, .body = std::move(b)}; }

TEST(BusDriver, EventsParkedDuringARequestAreFiledPerDeviceInOrder) {
  PeerRig r;
  r.peer.devices[1] = {};
  r.peer.devices[2] = {};
  r.peer.handler = [&](const wire::Message& m) {
    // Other devices' events arrive while device 2's answer is awaited.
    r.peer.push(to(1, wire::EventConfig{0, 5, 0, 0, {}}));
    r.peer.push(to(2, wire::EventUsed{0}));
    r.peer.push(to(1, wire::EventUsed{3}));
    return std::vector<wire::Message>{to(m.dev_num, r.peer.devices[m.dev_num].handle(m.body).at(0))};
  };
  auto resp = r.bus.request(to(2, wire::GetDeviceStatusReq{}));
  ASSERT_TRUE(resp.ok());
  EXPECT_TRUE(std::holds_alternative<wire::GetDeviceStatusResp>(resp->body));
  EXPECT_TRUE(r.link.events().empty());  // nothing left parked in the link
  EXPECT_TRUE(r.bus.has_events(1));
  const auto e1 = r.bus.take_events(1);
  ASSERT_EQ(e1.size(), 2u);
  EXPECT_EQ(std::get<wire::EventConfig>(e1[0].body).generation, 5u);
  EXPECT_EQ(std::get<wire::EventUsed>(e1[1].body).vq_index, 3u);
  const auto e2 = r.bus.take_events(2);
  ASSERT_EQ(e2.size(), 1u);
  EXPECT_EQ(std::get<wire::EventUsed>(e2[0].body).vq_index, 0u);
  EXPECT_TRUE(r.bus.take_events(1).empty());
  EXPECT_FALSE(r.bus.has_events(1));
  EXPECT_EQ(r.bus.stats().events_filed, 3u);
}

TEST(BusDriver, ADuplicateAnswerIsDroppedNotTakenForTheNextResponse) {
  PeerRig r;
  r.peer.devices[1] = {};
  r.peer.handler = [&](const wire::Message& m) {
    // Every request answered twice, and an event behind the duplicate.
    auto once = to(m.dev_num, r.peer.devices[m.dev_num].handle(m.body).at(0));
    return std::vector<wire::Message>{once, once, to(1, wire::EventUsed{7})};
  };
  auto first = r.bus.request(to(1, wire::SetDeviceStatusReq{0}));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(r.link.stray_responses(), 0u);
  auto second = r.bus.request(to(1, wire::SetDeviceStatusReq{1}));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(std::get<wire::SetDeviceStatusResp>(second->body).status, 1u);  // not the stale 0
  EXPECT_EQ(r.link.stray_responses(), 1u);
  r.bus.pump();
  EXPECT_EQ(r.bus.take_events(1).size(), 2u);  // the events behind both duplicates survive
}

TEST(BusDriver, PumpFilesBusEventsByTheDeviceTheyNameAndDropsTheRest) {
  PeerRig r;
  r.peer.push(wire::Message{.dev_num = 0, .body = wire::EventDevice{5, wire::bus_state::kRemoved}});
  r.peer.push(to(1, wire::GetDeviceStatusResp{3}));  // a response nobody asked for
  const std::uint8_t junk[8] = {0x00, 0x42, 1, 0, 0, 0, 9, 0};  // EVENT_USED with msg_size 9
  r.peer.push_raw(junk);
  r.peer.push(to(4, wire::EventUsed{1}));
  EXPECT_EQ(r.bus.pump(), 4u);
  EXPECT_EQ(r.bus.stats().stray_frames, 1u);
  EXPECT_EQ(r.bus.stats().malformed, 1u);
  const auto e5 = r.bus.take_events(5);
  ASSERT_EQ(e5.size(), 1u);
  EXPECT_EQ(std::get<wire::EventDevice>(e5[0].body).state, wire::bus_state::kRemoved);
  EXPECT_TRUE(r.bus.take_events(0).empty());
  EXPECT_EQ(r.bus.take_events(4).size(), 1u);
  r.bus.discard_events(4);
  EXPECT_EQ(r.bus.pump(), 0u);
}

TEST(BusDriver, SendEventPostsAndRingsWithoutWaiting) {
  PeerRig r;
  const auto before = r.port.now;
  auto s = r.bus.send_event(to(1, wire::EventAvail{2, 0}));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 16u);
  EXPECT_EQ(r.port.doorbells, 1u);
  EXPECT_EQ(r.port.now, before);
  ASSERT_EQ(r.peer.received.size(), 1u);
  EXPECT_EQ(std::get<wire::EventAvail>(r.peer.received[0].body), (wire::EventAvail{2, 0}));
}

TEST(BusDriver, SendEventWaitsForRoomInAFullDriverQueue) {
  PeerRig r;
  r.port.on_notify = [](unsigned) {};  // a device that drains only when time passes
  for (int i = 0; i < 61; ++i) ASSERT_TRUE(r.link.send(wire::Message{.body = wire::PingReq{1}}).ok());
  r.port.on_time = [&] { r.peer.drain(); };
  auto s = r.bus.send_event(to(1, wire::EventAvail{0, 0}));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(r.bus.stats().full_retries, 1u);
  r.peer.drain();
  EXPECT_EQ(r.peer.received.size(), 62u);
  EXPECT_TRUE(std::holds_alternative<wire::EventAvail>(r.peer.received.back().body));
}

TEST(BusDriver, ADeviceThatNeverDrainsGivesQueueFullAfterTheBudget) {
  PeerRig r;
  r.port.on_notify = [](unsigned) {};
  for (int i = 0; i < 61; ++i) ASSERT_TRUE(r.link.send(wire::Message{.body = wire::PingReq{1}}).ok());
  auto s = r.bus.send_event(to(1, wire::EventAvail{0, 0}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), LinkError::QueueFull);
  EXPECT_EQ(r.bus.stats().full_retries, r.link.config().max_polls);
}

TEST(BusDriver, TwoTransportDriversOnOneBusDoNotStealEachOthersEvents) {
  PeerRig r;
  r.peer.devices[1] = {};
  r.peer.devices[2] = {};
  r.peer.handler = [&](const wire::Message& m) {
    if (m.dev_num == 1 && std::holds_alternative<wire::GetDeviceStatusReq>(m.body)) {
      r.peer.push(to(2, wire::EventConfig{0, 99, 0, 0, {}}));
    }
    return std::vector<wire::Message>{to(m.dev_num, r.peer.devices[m.dev_num].handle(m.body).at(0))};
  };
  TransportDriver t1(r.bus, 1);
  TransportDriver t2(r.bus, 2);
  ASSERT_TRUE(t1.get_status().ok());
  EXPECT_EQ(t1.stats().config_events, 0u);
  EXPECT_EQ(t2.generation(), 0u);  // not applied until device 2's driver looks
  ASSERT_TRUE(t2.poll().ok());
  EXPECT_EQ(t2.generation(), 99u);
  EXPECT_EQ(t2.stats().config_events, 1u);
  // The next request of device 2's driver applies its events first as well.
  r.peer.handler = [&](const wire::Message& m) {
    if (m.dev_num == 1) r.peer.push(to(2, wire::EventConfig{0, 100, 0, 0, {}}));
    return std::vector<wire::Message>{to(m.dev_num, r.peer.devices[m.dev_num].handle(m.body).at(0))};
  };
  ASSERT_TRUE(t1.get_status().ok());
  ASSERT_TRUE(t2.get_status().ok());
  EXPECT_EQ(t2.generation(), 100u);
}

}  // namespace
}  // namespace vmsg::driver

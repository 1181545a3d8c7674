// Device->driver path: stamping of what endpoints post, and how endpoint
// bugs are counted (VMSG-BUS-020/021/022/028, VMSG-DEV-001/015/018, D36).
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "bus/bus_test_support.hpp"
#include "vmsg/bus/bus.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::bus::test {
namespace {

class BusEndpoint : public ::testing::Test {
 protected:
  BusEndpoint() : bus(wire::Profile::pr28(), sink) { bus.plug(4, dev); }

  /// Sends GET_DEVICE_STATUS to device 4 and lets `script` answer it.
  void request(const ScriptedDevice::Script& script, std::uint16_t token = 0x0A0B) {
    dev.on_request = script;
    bus.receive(get_device_status(4, token));
  }

  RecordingSink sink;
  Bus bus;
  ScriptedDevice dev;
};

const wire::Message kStatusResp = msg(wire::GetDeviceStatusResp{0x0F}, 4);

TEST_F(BusEndpoint, ResponseEchoesRequestTokenWhateverTheEndpointSays) {
  // D36: the bus owns the token; the endpoint's value is overwritten.
  request([](const wire::Message&, Outbox& o) { o.post(msg(wire::GetDeviceStatusResp{0x0F}, 4, 0x9999)); },
          0x0A0B);
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0], (Bytes{0x01, 0x07, 0x04, 0x00, 0x0B, 0x0A, 0x0C, 0x00, 0x0F, 0, 0, 0}));
  EXPECT_EQ(bus.stats().endpoint_faults(), 0u);
}

TEST_F(BusEndpoint, ReservedTypeBitsZeroedInPostedMessages) {
  request([](const wire::Message&, Outbox& o) { o.post(msg(wire::GetDeviceStatusResp{1}, 4, 0, 0xFC)); });
  dev.outbox().post(msg(wire::EventUsed{2}, 4, 0, 0x80));
  ASSERT_EQ(sink.frames.size(), 2u);
  EXPECT_EQ(sink.frames[0][0], 0x01);
  EXPECT_EQ(sink.frames[1][0], 0x00);
}

TEST_F(BusEndpoint, EventsCarryTokenZeroAndOwnDevNum) {
  dev.outbox().post(msg(wire::EventUsed{7}, 4, 0x7777));
  wire::EventConfig ec;
  ec.device_status = 0x0F;
  ec.generation = 3;
  ec.offset = 2;
  ec.length = 2;
  ec.data = {0xAA, 0xBB};
  dev.outbox().post(msg(ec, 4, 1));
  ASSERT_EQ(sink.frames.size(), 2u);
  EXPECT_EQ(sink.frames[0], (Bytes{0x00, 0x42, 0x04, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x07, 0, 0, 0}));
  EXPECT_EQ(sink.frames[1], (Bytes{0x00, 0x40, 0x04, 0x00, 0x00, 0x00, 0x1A, 0x00,  // header, 26 bytes
                                   0x0F, 0, 0, 0, 0x03, 0, 0, 0, 0x02, 0, 0, 0, 0x02, 0, 0, 0, 0xAA, 0xBB}));
  EXPECT_EQ(bus.stats().events_sent, 2u);
  EXPECT_EQ(bus.stats().endpoint_faults(), 0u);
}

TEST_F(BusEndpoint, AnswersTwiceBothDeliveredExtraCounted) {
  request([](const wire::Message&, Outbox& o) {
    o.post(kStatusResp);
    o.post(kStatusResp);
  });
  ASSERT_EQ(sink.frames.size(), 2u);
  EXPECT_EQ(sink.frames[0], sink.frames[1]);
  EXPECT_EQ(frame_token(sink.frames[1]), 0x0A0Bu);
  EXPECT_EQ(bus.stats().extra_responses, 1u);
  EXPECT_EQ(bus.stats().missing_responses, 0u);
  EXPECT_EQ(bus.stats().responses_sent, 2u);
}

TEST_F(BusEndpoint, AnswersThreeTimesCountsTwoExtra) {
  request([](const wire::Message&, Outbox& o) {
    for (int i = 0; i < 3; ++i) o.post(kStatusResp);
  });
  EXPECT_EQ(sink.frames.size(), 3u);
  EXPECT_EQ(bus.stats().extra_responses, 2u);
}

TEST_F(BusEndpoint, NeverAnswersCountedMissing) {
  request([](const wire::Message&, Outbox&) {});
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(dev.calls, 1);
  EXPECT_EQ(bus.stats().missing_responses, 1u);
  EXPECT_EQ(bus.stats().extra_responses, 0u);
  EXPECT_EQ(bus.stats().endpoint_faults(), 1u);
}

TEST_F(BusEndpoint, EventInsteadOfResponseIsMissing) {
  request([](const wire::Message&, Outbox& o) { o.post(msg(wire::EventUsed{0}, 4)); });
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0][1], 0x42);
  EXPECT_EQ(bus.stats().missing_responses, 1u);
  EXPECT_EQ(bus.stats().events_sent, 1u);
}

TEST_F(BusEndpoint, TooLargeMessageNotSentAndCounted) {
  // VMSG-DEV-001: GET_CONFIG response with 45 data bytes is 65 > 64.
  request([](const wire::Message&, Outbox& o) {
    wire::GetConfigResp r;
    r.data.assign(45, 0x5A);
    o.post(msg(r, 4));
  });
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().unencodable, 1u);
  EXPECT_EQ(bus.stats().missing_responses, 0u);  // it was posted; see BusStats::unencodable
  EXPECT_EQ(bus.stats().responses_sent, 0u);

  // 44 data bytes is exactly 64: sent.
  request([](const wire::Message&, Outbox& o) {
    wire::GetConfigResp r;
    r.data.assign(44, 0x5A);
    o.post(msg(r, 4));
  });
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0].size(), 64u);
  EXPECT_EQ(bus.stats().unencodable, 1u);
}

TEST_F(BusEndpoint, TooLargeEventNotSent) {
  wire::EventConfig ec;
  ec.length = 41;
  ec.data.assign(41, 1);  // 24 + 41 = 65
  dev.outbox().post(msg(ec, 4));
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().unencodable, 1u);
  EXPECT_EQ(bus.stats().events_sent, 0u);
}

TEST_F(BusEndpoint, InconsistentMessageNotSent) {
  request([](const wire::Message&, Outbox& o) {
    wire::SetConfigResp r;
    r.length = 4;
    r.data = {1, 2};  // neither empty nor `length` bytes
    o.post(msg(r, 4));
  });
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().unencodable, 1u);
}

TEST_F(BusEndpoint, WrongDevNumRestampedAndCounted) {
  // VMSG-DEV-018: the device must use its own number; the bus knows it.
  request([](const wire::Message&, Outbox& o) { o.post(msg(wire::GetDeviceStatusResp{0x0F}, 9)); });
  dev.outbox().post(msg(wire::EventUsed{1}, 0));
  ASSERT_EQ(sink.frames.size(), 2u);
  EXPECT_EQ(frame_dev(sink.frames[0]), 4u);
  EXPECT_EQ(frame_dev(sink.frames[1]), 4u);
  EXPECT_EQ(bus.stats().wrong_dev_num, 2u);
  EXPECT_EQ(bus.stats().responses_sent, 1u);
}

TEST_F(BusEndpoint, MismatchedResponseKindDeliveredAndCounted) {
  request([](const wire::Message&, Outbox& o) { o.post(msg(wire::GetDeviceInfoResp{}, 4)); });
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0][1], 0x02);
  EXPECT_EQ(bus.stats().mismatched_responses, 1u);
  EXPECT_EQ(bus.stats().missing_responses, 0u);
}

TEST_F(BusEndpoint, InvalidPostsNotSent) {
  request([](const wire::Message&, Outbox& o) {
    o.post(msg(wire::GetDeviceInfoReq{}, 4));      // a request
    o.post(msg(wire::EventAvail{0, 0}, 4));        // driver->device event
    o.post(msg(wire::PingReq{1}, 0));              // bus messages belong to the bus
    o.post(msg(wire::PingResp{1}, 0));
    o.post(msg(wire::GetDevicesResp{}, 0));
    o.post(msg(wire::EventDevice{4, 1}, 0));
  });
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().invalid_posts, 6u);
  EXPECT_EQ(bus.stats().missing_responses, 1u);
  EXPECT_EQ(bus.stats().endpoint_faults(), 7u);
}

TEST_F(BusEndpoint, ResponseOutsideARequestIsUnsolicited) {
  dev.outbox().post(kStatusResp);  // nothing in flight
  dev.on_time = [](std::uint64_t, Outbox& o) { o.post(kStatusResp); };
  bus.advance_time(1000);
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().unsolicited_responses, 2u);
  EXPECT_EQ(bus.stats().responses_sent, 0u);
}

TEST_F(BusEndpoint, ResponseWhileHandlingAnEventIsUnsolicited) {
  dev.on_request = [](const wire::Message&, Outbox& o) { o.post(kStatusResp); };
  bus.receive(event_avail(4, 0));
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().unsolicited_responses, 1u);
  EXPECT_EQ(bus.stats().missing_responses, 0u);
}

TEST_F(BusEndpoint, ResponseAfterReturningIsUnsolicited) {
  request([](const wire::Message&, Outbox& o) { o.post(kStatusResp); });
  dev.outbox().post(kStatusResp);  // a late second answer
  EXPECT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(bus.stats().unsolicited_responses, 1u);
  EXPECT_EQ(bus.stats().extra_responses, 0u);
}

TEST_F(BusEndpoint, ResponsesToAnotherDevicesRequestAreUnsolicited) {
  // Device 5 posts while device 4 handles a request: in-flight state is per device.
  ScriptedDevice other;
  bus.plug(5, other);
  request([&other](const wire::Message&, Outbox& o) {
    other.outbox().post(msg(wire::GetDeviceStatusResp{0}, 5));
    o.post(kStatusResp);
  });
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(frame_dev(sink.frames[0]), 4u);
  EXPECT_EQ(bus.stats().unsolicited_responses, 1u);
}

TEST_F(BusEndpoint, ThrowingEndpointLeavesNoRequestInFlight) {
  dev.on_request = [](const wire::Message&, Outbox&) { throw std::runtime_error("device bug"); };
  EXPECT_THROW(bus.receive(get_device_status(4, 1)), std::runtime_error);
  dev.outbox().post(kStatusResp);
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().unsolicited_responses, 1u);
}

TEST_F(BusEndpoint, ExactlyOneResponsePerRequestForAWellBehavedDevice) {
  FakeDevice good;
  bus.plug(6, good);
  for (std::uint16_t t = 0; t < 50; ++t) {
    bus.receive(get_device_info(6, t));
    bus.receive(get_device_status(6, t));
  }
  ASSERT_EQ(sink.frames.size(), 100u);
  EXPECT_EQ(bus.stats().responses_sent, 100u);
  EXPECT_EQ(bus.stats().endpoint_faults(), 0u);
}

}  // namespace
}  // namespace vmsg::bus::test

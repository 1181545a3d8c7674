// Driver->device routing: what is forwarded to an endpoint and what is
// dropped without traffic (VMSG-BUS-002, -013, -016/017, -019, -023; G11, G12).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "bus/bus_test_support.hpp"
#include "vmsg/bus/bus.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::bus::test {
namespace {

using wire::DecodeError;

class BusRouting : public ::testing::Test {
 protected:
  BusRouting() : bus(wire::Profile::pr28(), sink) {
    bus.plug(2, dev2);
    bus.plug(0, dev0);
  }
  RecordingSink sink;
  Bus bus;
  FakeDevice dev2{0x12};
  FakeDevice dev0{0x03};
};

TEST_F(BusRouting, RequestForwardedAndAnsweredWithExactBytes) {
  bus.receive(get_device_info(2, 0xBEEF));
  ASSERT_EQ(dev2.received.size(), 1u);
  EXPECT_EQ(dev2.received[0], msg(wire::GetDeviceInfoReq{}, 2, 0xBEEF));
  EXPECT_TRUE(dev0.received.empty());
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0], (Bytes{0x01, 0x02, 0x02, 0x00, 0xEF, 0xBE, 0x20, 0x00,  // header
                                   0x12, 0x00, 0x00, 0x00,                          // device_id
                                   0xF4, 0x1A, 0x00, 0x00,                          // vendor_id
                                   0x40, 0x00, 0x00, 0x00,                          // num_feature_bits
                                   0x08, 0x00, 0x00, 0x00,                          // config_size
                                   0x02, 0x00, 0x00, 0x00,                          // max_virtqueues
                                   0x00, 0x00, 0x00, 0x00}));                       // admin vq
  const BusStats& s = bus.stats();
  EXPECT_EQ(s.frames_received, 1u);
  EXPECT_EQ(s.forwarded_requests, 1u);
  EXPECT_EQ(s.responses_sent, 1u);
  EXPECT_EQ(s.dropped(), 0u);
  EXPECT_EQ(s.endpoint_faults(), 0u);
}

TEST_F(BusRouting, DeviceZeroIsAValidTarget) {
  // Q6: device number 0 is a transport target (QEMU uses slot 0).
  bus.receive(get_device_status(0, 3));
  ASSERT_EQ(dev0.received.size(), 1u);
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0], (Bytes{0x01, 0x07, 0x00, 0x00, 0x03, 0x00, 0x0C, 0x00, 0, 0, 0, 0}));
}

TEST_F(BusRouting, NoDeviceDroppedWithoutTraffic) {
  // VMSG-BUS-013, G11, D9 (QEMU answers 7 request types for empty slots), D10.
  bus.receive(get_device_info(1));
  bus.receive(get_device_info(31));
  bus.receive(get_device_info(32));
  bus.receive(get_device_info(0x0100));
  bus.receive(get_device_info(0xFFFF));
  bus.receive(get_device_status(3));
  bus.receive(event_avail(4, 0));
  bus.receive(slot(0x00, 0x0C, 5, 0, 12));  // GET_SHM
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_TRUE(dev0.received.empty());
  EXPECT_TRUE(dev2.received.empty());
  EXPECT_EQ(bus.stats().dropped_no_device, 8u);
  EXPECT_EQ(bus.stats().dropped(), 8u);
  EXPECT_EQ(bus.stats().forwarded_requests + bus.stats().forwarded_events, 0u);
}

TEST_F(BusRouting, UnpluggedDeviceNoLongerReached) {
  bus.receive(get_device_info(2, 1));
  bus.unplug(2);
  bus.receive(get_device_info(2, 2));
  EXPECT_EQ(dev2.received.size(), 1u);
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(frame_token(sink.frames[0]), 1u);
  EXPECT_EQ(bus.stats().dropped_no_device, 1u);
}

TEST_F(BusRouting, TransportResponsesFromDriverDropped) {
  // G12: nothing on the device side asked for a response.
  bus.receive(slot(0x01, 0x07, 2, 0, 12, {1, 0, 0, 0}));   // GET_DEVICE_STATUS response
  bus.receive(slot(0x01, 0x08, 0, 0, 12, {1, 0, 0, 0}));   // SET_DEVICE_STATUS response
  bus.receive(slot(0x01, 0x0A, 2, 0, 8));                  // SET_VQUEUE response
  bus.receive(slot(0xFD, 0x02, 2, 0, 32));                 // GET_DEVICE_INFO response, reserved bits
  bus.receive(slot(0x01, 0x0B, 7, 0, 8));                  // for an absent device: still "response"
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_TRUE(dev0.received.empty());
  EXPECT_TRUE(dev2.received.empty());
  EXPECT_EQ(bus.stats().dropped_response_from_driver, 5u);
  EXPECT_EQ(bus.stats().dropped(), 5u);
}

TEST_F(BusRouting, DeviceEventsFromDriverDropped) {
  bus.receive(slot(0x00, 0x40, 2, 0, 24));              // EVENT_CONFIG, no data
  bus.receive(slot(0x00, 0x42, 2, 0, 12, {0, 0, 0, 0})); // EVENT_USED
  bus.receive(slot(0x00, 0x42, 0, 0, 12, {1, 0, 0, 0}));
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_TRUE(dev0.received.empty());
  EXPECT_TRUE(dev2.received.empty());
  EXPECT_EQ(bus.stats().dropped_wrong_direction_event, 3u);
  EXPECT_EQ(bus.stats().dropped(), 3u);
}

TEST_F(BusRouting, EventAvailForwardedButNeverAnswered) {
  // VMSG-BUS-019/033: EVENT_AVAIL reaches the device; the only traffic is the
  // device's own EVENT_USED, with token 0 although the event carried one.
  bus.receive(event_avail(2, 0x01020304, 0x5555));
  ASSERT_EQ(dev2.received.size(), 1u);
  EXPECT_EQ(dev2.received[0], msg(wire::EventAvail{0x01020304, 0}, 2, 0x5555));
  ASSERT_EQ(sink.frames.size(), 1u);
  EXPECT_EQ(sink.frames[0], (Bytes{0x00, 0x42, 0x02, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x04, 0x03, 0x02, 0x01}));
  const BusStats& s = bus.stats();
  EXPECT_EQ(s.forwarded_events, 1u);
  EXPECT_EQ(s.forwarded_requests, 0u);
  EXPECT_EQ(s.events_sent, 1u);
  EXPECT_EQ(s.responses_sent, 0u);
  EXPECT_EQ(s.missing_responses, 0u);
}

TEST_F(BusRouting, EventAvailNotAnsweredBySilentDevice) {
  ScriptedDevice quiet;
  bus.plug(9, quiet);
  bus.receive(event_avail(9, 0, 1));
  EXPECT_EQ(quiet.calls, 1);
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().missing_responses, 0u);  // events need no response
}

TEST_F(BusRouting, ReservedTypeBitsIgnoredAndZeroInResponse) {
  // VMSG-BUS-023 / VMSG-BUS-022 / D15: 0xFC reads as 0x00; the response type is exactly 0x01.
  bus.receive(get_device_info(2, 9, 0xFC));
  bus.receive(get_device_info(2, 10, 0x04));
  bus.receive(get_device_info(2, 11, 0x80));
  ASSERT_EQ(dev2.received.size(), 3u);
  // Forwarded unchanged; the endpoint ignores them (VMSG-DEV-016).
  EXPECT_EQ(dev2.received[0].reserved_type_bits, 0xFC);
  ASSERT_EQ(sink.frames.size(), 3u);
  for (const Bytes& f : sink.frames) {
    EXPECT_EQ(f[0], 0x01);
    EXPECT_EQ(f[1], 0x02);
  }
  EXPECT_EQ(frame_token(sink.frames[2]), 11u);
}

TEST_F(BusRouting, BadMsgSizeDroppedAndCountedByKind) {
  // msg_size 0 and 7: below the header. 65 and 65535: beyond the 64-byte bus.
  bus.receive(slot(0x00, 0x02, 2, 0, 0));
  bus.receive(slot(0x00, 0x02, 2, 0, 7));
  Bytes big(128, 0);  // a buffer that really holds 65 bytes: only the bus maximum is broken
  big[1] = 0x02;
  big[2] = 2;
  big[6] = 65;
  bus.receive(big);
  big[6] = 0xFF;
  big[7] = 0xFF;
  bus.receive(big);
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_TRUE(dev2.received.empty());
  const BusStats& s = bus.stats();
  EXPECT_EQ(s.decode_drops(DecodeError::SizeBelowHeader), 2u);
  EXPECT_EQ(s.decode_drops(DecodeError::SizeExceedsBusMax), 2u);
  EXPECT_EQ(s.dropped(), 4u);
}

TEST_F(BusRouting, MsgSizeBeyondTheSlotDropped) {
  // A 64-byte slot claiming 65 or 65535 bytes breaks the bus maximum first.
  bus.receive(slot(0x00, 0x02, 2, 0, 65));
  bus.receive(slot(0x00, 0x02, 2, 0, 0xFFFF));
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_TRUE(dev2.received.empty());
  EXPECT_EQ(bus.stats().decode_drops(DecodeError::SizeExceedsBusMax), 2u);
  EXPECT_EQ(bus.stats().decode_drops(), 2u);
}

TEST_F(BusRouting, TruncatedFrameDropped) {
  // msg_size within the maximum but more than the bytes given.
  Bytes f = get_device_status(2);
  f[6] = 12;
  f[8] = 1;
  f[1] = 0x08;  // SET_DEVICE_STATUS, 12 bytes
  f.resize(11);
  bus.receive(f);
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_TRUE(dev2.received.empty());
  EXPECT_EQ(bus.stats().decode_drops(DecodeError::SizeExceedsBuffer), 1u);
  EXPECT_EQ(bus.stats().dropped(), 1u);
}

TEST_F(BusRouting, ShortFramesDropped) {
  bus.receive(std::span<const std::uint8_t>{});
  const Bytes seven = {0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x08};
  bus.receive(seven);
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_EQ(bus.stats().decode_drops(DecodeError::ShortBuffer), 2u);
  EXPECT_EQ(bus.stats().frames_received, 2u);
}

TEST_F(BusRouting, SizeMismatchAndUnknownIdsDropped) {
  bus.receive(slot(0x00, 0x02, 2, 0, 12));  // GET_DEVICE_INFO is 8 bytes
  bus.receive(slot(0x00, 0x07, 2, 0, 64));  // GET_DEVICE_STATUS is 8 bytes (D16)
  bus.receive(slot(0x00, 0x00, 2, 0, 8));   // reserved ID
  bus.receive(slot(0x00, 0x0D, 2, 0, 8));   // beyond GET_SHM
  bus.receive(slot(0x00, 0x80, 2, 0, 8));   // implementation-defined request
  bus.receive(slot(0x00, 0x43, 2, 0, 8));   // unassigned event
  bus.receive(slot(0x01, 0x41, 2, 0, 16));  // RESPONSE bit on an event ID
  EXPECT_TRUE(sink.frames.empty());
  EXPECT_TRUE(dev2.received.empty());
  const BusStats& s = bus.stats();
  EXPECT_EQ(s.decode_drops(DecodeError::SizeMismatch), 2u);
  EXPECT_EQ(s.decode_drops(DecodeError::UnknownMessageId), 4u);
  EXPECT_EQ(s.decode_drops(DecodeError::ResponseToEvent), 1u);
  EXPECT_EQ(s.dropped(), 7u);
}

TEST_F(BusRouting, ResponsesKeepRequestOrderPerDevice) {
  // VMSG-BUS-027: interleaved requests to two devices come back in order.
  const std::uint16_t devs[] = {2, 0, 0, 2, 0, 2, 2};
  std::uint16_t token = 40;
  for (std::uint16_t d : devs) bus.receive(get_device_status(d, token++));
  ASSERT_EQ(sink.frames.size(), 7u);
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(frame_dev(sink.frames[i]), devs[i]);
    EXPECT_EQ(frame_token(sink.frames[i]), 40u + i);
  }
}

TEST_F(BusRouting, StatsBalance) {
  bus.receive(get_device_info(2));
  bus.receive(event_avail(0, 1));
  bus.receive(ping(1));
  bus.receive(get_devices(0, 8));
  bus.receive(get_device_info(5));
  bus.receive(slot(0x00, 0x02, 2, 0, 3));
  bus.receive(slot(0x01, 0x02, 2, 0, 32));
  const BusStats& s = bus.stats();
  EXPECT_EQ(s.frames_received, 7u);
  EXPECT_EQ(s.forwarded_requests, 1u);
  EXPECT_EQ(s.forwarded_events, 1u);
  EXPECT_EQ(s.bus_requests_answered, 2u);
  EXPECT_EQ(s.dropped(), 3u);
  EXPECT_EQ(s.frames_received,
            s.forwarded_requests + s.forwarded_events + s.bus_requests_answered + s.dropped());
  EXPECT_EQ(s.responses_sent, 3u);
  EXPECT_EQ(s.events_sent, 1u);
  EXPECT_EQ(sink.frames.size(), 4u);
}

}  // namespace
}  // namespace vmsg::bus::test

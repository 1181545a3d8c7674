// A DeviceTransport behind a REV1-2026 bus: frames on the wire, as a driver
// sees them (sizes, tokens, device number 0, one response per request).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "bus/bus_test_support.hpp"
#include "transport_test_support.hpp"
#include "vmsg/bus/bus.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::transport::test {
namespace {

using bus::test::frame_dev;
using bus::test::frame_size;
using bus::test::frame_token;
using bus::test::RecordingSink;
using bus::test::slot;

struct Rev1Wire {
  explicit Rev1Wire(bus::BusOptions o = {}, fault::FaultSet transport_faults = {})
      : b(wire::Profile::rev1(), sink, o),
        t(std::make_unique<FakeBackend>(), options_for_bus(wire::Profile::rev1(), o, transport_faults)) {
    b.plug(0, t);
  }
  /// One request frame in, exactly one response frame out.
  bus::test::Bytes round_trip(const bus::test::Bytes& frame) {
    sink.frames.clear();
    b.receive(frame);
    EXPECT_EQ(sink.frames.size(), 1u);
    return sink.frames.empty() ? bus::test::Bytes{} : sink.frames.front();
  }
  RecordingSink sink;
  bus::Bus b;
  DeviceTransport t;
};

TEST(Rev1BusTransport, DeviceZeroAnswersEveryRequestOnceWithItsToken) {
  Rev1Wire w;
  const bus::test::Bytes info = w.round_trip(slot(0x00, 0x02, 0, 0x1111, 8));
  EXPECT_EQ(frame_size(info), 52u);  // REV1 L1258-1267
  EXPECT_EQ(frame_dev(info), 0u);
  EXPECT_EQ(frame_token(info), 0x1111);
  const bus::test::Bytes shm = w.round_trip(slot(0x00, 0x0C, 0, 0x2222, 12, {1, 0, 0, 0}));
  EXPECT_EQ(frame_size(shm), 32u);
  EXPECT_EQ(frame_token(shm), 0x2222);
  // SET_VQUEUE with a reserved state op: changes nothing, still answered (REV1 L1677-1680).
  const bus::test::Bytes sv = w.round_trip(slot(0x00, 0x0A, 0, 0x3333, 48, {0, 0, 0, 0, 3, 0, 0, 0, 8}));
  EXPECT_EQ(frame_size(sv), 8u);
  EXPECT_EQ(frame_token(sv), 0x3333);
  // RESET_VQUEUE out of range and without RING_RESET: still answered (REV1 L1734-1740).
  const bus::test::Bytes rv = w.round_trip(slot(0x00, 0x0B, 0, 0x4444, 12, {0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(frame_size(rv), 8u);
  EXPECT_EQ(w.b.stats().missing_responses, 0u);
  EXPECT_EQ(w.b.stats().extra_responses, 0u);
  EXPECT_EQ(w.b.stats().unencodable, 0u);
}

TEST(Rev1BusTransport, TokenFaultZeroesTransportResponses) {
  bus::BusOptions o;
  o.faults.set(fault::Fault::Rev1TokenNotCopied);
  Rev1Wire w(o);
  EXPECT_EQ(frame_token(w.round_trip(slot(0x00, 0x07, 0, 0x1234, 8))), 0u);
}

TEST(Rev1BusTransport, StrictBusMakesStrictTransports) {
  bus::BusOptions o;
  o.strict_config_generation = true;
  Rev1Wire w(o);
  EXPECT_TRUE(w.t.options().strict_config_generation);
  // SET_CONFIG generation 0x77 (stale), offset 16, one byte.
  const bus::test::Bytes r = w.round_trip(slot(0x00, 0x06, 0, 1, 21, {0x77, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0xAB}));
  EXPECT_EQ(frame_size(r), 20u);  // length 0, no data: refused
  Rev1Wire baseline;
  const bus::test::Bytes a =
      baseline.round_trip(slot(0x00, 0x06, 0, 1, 21, {0x77, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0xAB}));
  EXPECT_EQ(frame_size(a), 21u);  // applied and echoed
}

}  // namespace
}  // namespace vmsg::transport::test

// Kind facts of every Body alternative: msg_id, ID space, direction, type byte, name.
#include <gtest/gtest.h>

#include <set>
#include <string_view>

#include "vmsg/wire/messages.hpp"
#include "wire/wire_test_support.hpp"

namespace vmsg::wire {
namespace {

struct Expected {
  std::uint8_t id;
  bool bus;
  bool response;
  bool event;
  std::uint8_t type;
  std::string_view name;
};

// Indexed like Body (and like test::sample_messages()); ID tables of virtio-msg.md §4.1 and §5.
constexpr Expected kExpected[] = {
    {0x02, false, false, false, 0x00, "GET_DEVICE_INFO"},
    {0x02, false, true, false, 0x01, "GET_DEVICE_INFO response"},
    {0x03, false, false, false, 0x00, "GET_DEVICE_FEATURES"},
    {0x03, false, true, false, 0x01, "GET_DEVICE_FEATURES response"},
    {0x04, false, false, false, 0x00, "SET_DRIVER_FEATURES"},
    {0x04, false, true, false, 0x01, "SET_DRIVER_FEATURES response"},
    {0x05, false, false, false, 0x00, "GET_CONFIG"},
    {0x05, false, true, false, 0x01, "GET_CONFIG response"},
    {0x06, false, false, false, 0x00, "SET_CONFIG"},
    {0x06, false, true, false, 0x01, "SET_CONFIG response"},
    {0x07, false, false, false, 0x00, "GET_DEVICE_STATUS"},
    {0x07, false, true, false, 0x01, "GET_DEVICE_STATUS response"},
    {0x08, false, false, false, 0x00, "SET_DEVICE_STATUS"},
    {0x08, false, true, false, 0x01, "SET_DEVICE_STATUS response"},
    {0x09, false, false, false, 0x00, "GET_VQUEUE"},
    {0x09, false, true, false, 0x01, "GET_VQUEUE response"},
    {0x0A, false, false, false, 0x00, "SET_VQUEUE"},
    {0x0A, false, true, false, 0x01, "SET_VQUEUE response"},
    {0x0B, false, false, false, 0x00, "RESET_VQUEUE"},
    {0x0B, false, true, false, 0x01, "RESET_VQUEUE response"},
    {0x0C, false, false, false, 0x00, "GET_SHM"},
    {0x0C, false, true, false, 0x01, "GET_SHM response"},
    {0x40, false, false, true, 0x00, "EVENT_CONFIG"},
    {0x41, false, false, true, 0x00, "EVENT_AVAIL"},
    {0x42, false, false, true, 0x00, "EVENT_USED"},
    {0x02, true, false, false, 0x02, "GET_DEVICES"},
    {0x02, true, true, false, 0x03, "GET_DEVICES response"},
    {0x03, true, false, false, 0x02, "PING"},
    {0x03, true, true, false, 0x03, "PING response"},
    {0x40, true, false, true, 0x02, "EVENT_DEVICE"},
};
static_assert(std::size(kExpected) == std::variant_size_v<Body>);

TEST(Messages, SamplesCoverEveryBodyAlternativeInOrder) {
  const auto samples = test::sample_messages();
  ASSERT_EQ(samples.size(), std::variant_size_v<Body>);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(samples[i].body.index(), i);
  }
}

TEST(Messages, KindFactsMatchTheIdTables) {
  const auto samples = test::sample_messages();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const Body& b = samples[i].body;
    const Expected& e = kExpected[i];
    SCOPED_TRACE(e.name);
    EXPECT_EQ(msg_id(b), e.id);
    EXPECT_EQ(is_bus(b), e.bus);
    EXPECT_EQ(is_response(b), e.response);
    EXPECT_EQ(is_event(b), e.event);
    EXPECT_EQ(type_byte(b), e.type);
    EXPECT_EQ(name(b), e.name);
  }
}

TEST(Messages, NamesAreUnique) {
  std::set<std::string_view> names;
  for (const Message& m : test::sample_messages()) names.insert(name(m.body));
  EXPECT_EQ(names.size(), std::variant_size_v<Body>);
}

TEST(Messages, KindFactsDoNotDependOnFieldValues) {
  // Default-constructed bodies give the same answers as the filled samples.
  EXPECT_EQ(msg_id(Body{EventUsed{}}), 0x42);
  EXPECT_EQ(type_byte(Body{PingResp{}}), 0x03);
  EXPECT_EQ(name(Body{SetConfigResp{}}), "SET_CONFIG response");
}

}  // namespace
}  // namespace vmsg::wire

// enumerate_devices against a scripted bus: REV1 windows of any count, count
// 0, the terminal next_offset 0, and the guards against a bus whose windows
// never end; the PR28 form of the same walk.
#include "vmsg/driver/device_enumeration.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "driver/virtio_peer.hpp"

namespace vmsg::driver {
namespace {

using testing::errc;
using testing::PeerRig;
using Devices = std::vector<std::uint16_t>;

/// A bus answering GET_DEVICES with `answer(request)`; records the requests.
struct Rig : PeerRig {
  using Answer = std::function<wire::GetDevicesResp(const wire::GetDevicesReq&)>;
  Rig(const wire::Profile& profile, Answer a) : PeerRig(profile), answer(std::move(a)) {
    peer.handler = [this](const wire::Message& m) {
      const auto* req = std::get_if<wire::GetDevicesReq>(&m.body);
      if (req == nullptr) return std::vector<wire::Message>{};
      asked.push_back(*req);
      dev_nums.push_back(m.dev_num);
      return std::vector<wire::Message>{{.dev_num = 0, .body = answer(*req)}};
    };
  }
  Answer answer;
  std::vector<wire::GetDevicesReq> asked;
  std::vector<std::uint16_t> dev_nums;
};

/// A REV1 window [offset, offset + count) of the device set `present`.
wire::GetDevicesResp rev1_window(std::uint16_t offset, std::uint16_t count, std::uint16_t next,
                                 const Devices& present) {
  wire::GetDevicesResp r{offset, next, std::vector<std::uint8_t>((count + 7U) / 8U, 0), count};
  for (std::uint16_t d : present) {
    if (d < offset || d >= offset + count) continue;
    const auto i = static_cast<std::size_t>(d - offset);
    r.bitmap[i / 8] |= static_cast<std::uint8_t>(1U << (i % 8));
  }
  return r;
}

TEST(DeviceEnumeration, Rev1OneShortWindowEndsWithNextOffsetZero) {
  Rig r(wire::Profile::rev1(), [](const wire::GetDevicesReq& q) { return rev1_window(q.offset, 10, 0, {0, 3, 9}); });
  auto e = enumerate_devices(r.bus);
  ASSERT_TRUE(e.ok()) << describe(e.error());
  EXPECT_EQ(e->devices, (Devices{0, 3, 9}));
  EXPECT_EQ(e->windows, 1u);
  ASSERT_EQ(r.asked.size(), 1u);
  EXPECT_EQ(r.asked[0], (wire::GetDevicesReq{0, 400}));  // (64 - 14) * 8 slots fit the AMP slot
  EXPECT_EQ(r.dev_nums, (std::vector<std::uint16_t>{0}));  // bus messages carry dev_num 0
}

TEST(DeviceEnumeration, Rev1WindowsOfAnyCountAreFollowedToTheEnd) {
  Rig r(wire::Profile::rev1(), [](const wire::GetDevicesReq& q) {
    if (q.offset >= 10) return rev1_window(q.offset, 0, 0, {});  // count 0: valid, and terminal here
    return rev1_window(q.offset, q.count, static_cast<std::uint16_t>(q.offset + q.count), {1, 4, 7});
  });
  auto e = enumerate_devices(r.bus, EnumerationOptions{.window = 5});
  ASSERT_TRUE(e.ok()) << describe(e.error());
  EXPECT_EQ(e->devices, (Devices{1, 4, 7}));
  EXPECT_EQ(r.asked, (std::vector<wire::GetDevicesReq>{{0, 5}, {5, 5}, {10, 5}}));
}

TEST(DeviceEnumeration, ANextOffsetThatDoesNotAdvanceIsStuck) {
  // The first window points at 8, and so does the window at 8: no progress.
  Rig r(wire::Profile::rev1(), [](const wire::GetDevicesReq& q) { return rev1_window(q.offset, 8, 8, {2}); });
  auto e = enumerate_devices(r.bus, EnumerationOptions{.window = 8});
  ASSERT_EQ(errc(e), VirtioErrc::EnumerationStuck);
  EXPECT_NE(e.error().message.find("does not advance"), std::string::npos) << describe(e.error());
  EXPECT_EQ(r.asked, (std::vector<wire::GetDevicesReq>{{0, 8}, {8, 8}}));
}

TEST(DeviceEnumeration, WindowsThatNeverEndAreBounded) {
  // Each window advances by one: legal step by step, endless in effect.
  Rig r(wire::Profile::rev1(),
        [](const wire::GetDevicesReq& q) { return rev1_window(q.offset, 1, static_cast<std::uint16_t>(q.offset + 1), {}); });
  auto e = enumerate_devices(r.bus, EnumerationOptions{.window = 1, .max_windows = 20});
  ASSERT_EQ(errc(e), VirtioErrc::EnumerationStuck);
  EXPECT_EQ(r.asked.size(), 20u);
}

TEST(DeviceEnumeration, AnAnswerWithMoreSlotsThanAskedOrAnotherOffsetIsBad) {
  Rig more(wire::Profile::rev1(), [](const wire::GetDevicesReq& q) { return rev1_window(q.offset, 16, 0, {}); });
  EXPECT_EQ(errc(enumerate_devices(more.bus, EnumerationOptions{.window = 8})), VirtioErrc::BadResponse);
  Rig moved(wire::Profile::rev1(), [](const wire::GetDevicesReq&) { return rev1_window(8, 8, 0, {}); });
  EXPECT_EQ(errc(enumerate_devices(moved.bus)), VirtioErrc::BadResponse);
}

TEST(DeviceEnumeration, NoAnswerIsNoResponse) {
  PeerRig r(wire::Profile::rev1());
  r.peer.handler = [](const wire::Message&) { return std::vector<wire::Message>{}; };
  EXPECT_EQ(errc(enumerate_devices(r.bus)), VirtioErrc::NoResponse);
}

TEST(DeviceEnumeration, Pr28WindowsAreAlignedAndCountedByTheBitmap) {
  Rig r(wire::Profile::pr28(), [](const wire::GetDevicesReq& q) {
    wire::GetDevicesResp w{q.offset, 0, std::vector<std::uint8_t>(q.count / 8, 0), std::nullopt};
    w.bitmap[0] = 0x05;  // devices 0 and 2
    return w;
  });
  auto e = enumerate_devices(r.bus, EnumerationOptions{.window = 13});  // rounded down to 8
  ASSERT_TRUE(e.ok()) << describe(e.error());
  EXPECT_EQ(e->devices, (Devices{0, 2}));
  EXPECT_EQ(r.asked, (std::vector<wire::GetDevicesReq>{{0, 8}}));
}

}  // namespace
}  // namespace vmsg::driver

// check_driver_frame on a REV1 bus: the same frame checks report R1-* IDs,
// GET_DEVICES windows of any count are fine, and a bus message must carry
// dev_num 0. Each rule both broken and kept.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bus/bus_test_support.hpp"
#include "vmsg/bus/driver_frame_rules.hpp"

namespace vmsg::bus::test {
namespace {

/// Records the rule IDs reported.
class RuleIds final : public DriverRuleSink {
 public:
  void driver_rule(std::string_view rule, std::uint16_t, std::string_view, std::string_view) override {
    ids.emplace_back(rule);
  }
  std::vector<std::string> ids;
};

using Ids = std::vector<std::string>;

/// A REV1 bus with a device at 1, and the IDs one frame breaks.
struct Rev1Frames {
  Rev1Frames() { bus.plug(1, device); }
  Ids check(const Bytes& frame) {
    RuleIds sink;
    check_driver_frame(sink, frame, bus);
    return sink.ids;
  }
  RecordingSink out;
  FakeDevice device;  // before the bus: it must outlive its plugging
  Bus bus{wire::Profile::rev1(), out};
};

constexpr std::uint8_t kBusType = 0x02;
constexpr std::uint8_t kGetDevices = 0x02;
constexpr std::uint8_t kPing = 0x03;
constexpr std::uint8_t kGetDeviceStatus = 0x07;

TEST(DriverFrameRulesRev1, AWellFormedFrameBreaksNothing) {
  Rev1Frames f;
  EXPECT_EQ(f.check(slot(0x00, kGetDeviceStatus, 1, 0, 8)), Ids{});
  EXPECT_EQ(f.check(slot(kBusType, kPing, 0, 0, 12, {1, 0, 0, 0})), Ids{});
  // REV1 GET_DEVICES: any count, 0 included (no PR28 alignment rule).
  EXPECT_EQ(f.check(slot(kBusType, kGetDevices, 0, 0, 12, {3, 0, 5, 0})), Ids{});
  EXPECT_EQ(f.check(slot(kBusType, kGetDevices, 0, 0, 12, {0, 0, 0, 0})), Ids{});
}

TEST(DriverFrameRulesRev1, ReservedTypeBitsBreakR1Drv018) {
  Rev1Frames f;
  EXPECT_EQ(f.check(slot(0x04, kGetDeviceStatus, 1, 0, 8)), Ids{"R1-DRV-018"});
}

TEST(DriverFrameRulesRev1, AWrongMsgSizeBreaksR1Drv020) {
  Rev1Frames f;
  EXPECT_EQ(f.check(slot(0x00, kGetDeviceStatus, 1, 0, 12)), Ids{"R1-DRV-020"});
  EXPECT_EQ(f.check(slot(0x00, kGetDeviceStatus, 1, 0, 4)), Ids{"R1-DRV-020"});
}

TEST(DriverFrameRulesRev1, AMsgSizeAboveTheBusMaximumBreaksR1Drv021) {
  Rev1Frames f;
  EXPECT_EQ(f.check(slot(0x00, kGetDeviceStatus, 1, 0, 65)), Ids{"R1-DRV-021"});
}

TEST(DriverFrameRulesRev1, ATransportMessageForAnEmptyNumberBreaksR1Drv022) {
  Rev1Frames f;
  EXPECT_EQ(f.check(slot(0x00, kGetDeviceStatus, 7, 0, 8)), Ids{"R1-DRV-022"});
}

TEST(DriverFrameRulesRev1, ABusMessageWithANonZeroDevNumBreaksR1Gen001) {
  Rev1Frames f;
  EXPECT_EQ(f.check(slot(kBusType, kGetDevices, 3, 0, 12, {0, 0, 8, 0})), Ids{"R1-GEN-001"});
  EXPECT_EQ(f.check(slot(kBusType, kPing, 1, 0, 12, {1, 0, 0, 0})), Ids{"R1-GEN-001"});
}

TEST(DriverFrameRulesRev1, ATransportReplyFromTheDriverBreaksR1Drv014) {
  Rev1Frames f;
  EXPECT_EQ(f.check(slot(0x01, kGetDeviceStatus, 1, 0, 12, {0, 0, 0, 0})), Ids{"R1-DRV-014"});
  // Judged on the header: a reply to an unknown message does not decode either.
  EXPECT_EQ(f.check(slot(0x01, 0x3E, 1, 0, 8)), Ids{"R1-DRV-014"});
  // A bus message with the RESPONSE bit is a different matter (no driver rule).
  EXPECT_EQ(f.check(slot(kBusType | 0x01, kPing, 0, 0, 12, {1, 0, 0, 0})), Ids{});
}

TEST(DriverFrameRulesRev1, Pr28HasNoRuleForADriverReply) {
  RecordingSink out;
  FakeDevice device;
  Bus bus{wire::Profile::pr28(), out};
  bus.plug(1, device);
  RuleIds sink;
  check_driver_frame(sink, slot(0x01, kGetDeviceStatus, 1, 0, 12, {0, 0, 0, 0}), bus);
  EXPECT_EQ(sink.ids, Ids{});
}

TEST(DriverFrameRulesRev1, Pr28BusesKeepTheirIds) {
  RecordingSink out;
  Bus bus{wire::Profile::pr28(), out};
  RuleIds sink;
  check_driver_frame(sink, slot(kBusType | 0x04, kGetDevices, 3, 0, 12, {3, 0, 5, 0}), bus);
  // Type bits, then the alignment failure; PR28 has no dev_num rule for bus messages.
  EXPECT_EQ(sink.ids, (Ids{"VMSG-DRV-009", "VMSG-BUS-042"}));
}

}  // namespace
}  // namespace vmsg::bus::test

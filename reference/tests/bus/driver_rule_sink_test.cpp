// bus::report and DriverRuleSink::wants_detail: a sink that reads details
// gets the text, one that does not gets the same rules with empty details,
// and the text is then never built. Checked on report() itself and on the
// frame checks (check_driver_frame) and AMP register rules that use it.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "bus/bus_test_support.hpp"
#include "vmsg/bus/driver_frame_rules.hpp"
#include "vmsg/bus/driver_rule_sink.hpp"

namespace vmsg::bus::test {
namespace {

/// Keeps (rule, detail) of every report; reads details or not, as built.
class Recorder final : public DriverRuleSink {
 public:
  explicit Recorder(bool wants) : wants_(wants) {}
  void driver_rule(std::string_view rule, std::uint16_t, std::string_view, std::string_view detail) override {
    seen.emplace_back(std::string(rule), std::string(detail));
  }
  [[nodiscard]] bool wants_detail() const noexcept override { return wants_; }
  std::vector<std::pair<std::string, std::string>> seen;

 private:
  bool wants_;
};

TEST(DriverRuleSink, DetailIsBuiltOnlyForASinkThatReadsIt) {
  int built = 0;
  const auto make = [&built] {
    ++built;
    return std::string("what went wrong");
  };
  Recorder reads(true);
  report(reads, "VMSG-DRV-009", 1, "frame", make);
  EXPECT_EQ(built, 1);
  ASSERT_EQ(reads.seen.size(), 1u);
  EXPECT_EQ(reads.seen[0].second, "what went wrong");

  Recorder counts(false);
  report(counts, "VMSG-DRV-009", 1, "frame", make);
  EXPECT_EQ(built, 1);  // not called again
  ASSERT_EQ(counts.seen.size(), 1u);
  EXPECT_EQ(counts.seen[0].first, "VMSG-DRV-009");
  EXPECT_TRUE(counts.seen[0].second.empty());
}

TEST(DriverRuleSink, TheDefaultSinkReadsDetails) {
  struct Plain final : DriverRuleSink {
    void driver_rule(std::string_view, std::uint16_t, std::string_view, std::string_view) override {}
  } plain;
  EXPECT_TRUE(plain.wants_detail());
}

/// Frames that break the frame checks' rules, one each (PR28 bus, device at 1).
struct Pr28Frames {
  Pr28Frames() { bus.plug(1, device); }
  RecordingSink out;
  FakeDevice device;  // before the bus: it must outlive its plugging
  Bus bus{wire::Profile::pr28(), out};
};

TEST(DriverRuleSink, FrameChecksReportTheSameRulesWithOrWithoutDetails) {
  Pr28Frames f;
  constexpr std::uint8_t kGetDeviceStatus = 0x07;
  const std::vector<Bytes> frames = {
      slot(0x04, kGetDeviceStatus, 1, 0, 8),   // reserved type bits
      slot(0x00, kGetDeviceStatus, 1, 0, 12),  // msg_size wrong for the message
      slot(0x00, kGetDeviceStatus, 9, 0, 8),   // no device at 9
  };
  for (const Bytes& frame : frames) {
    Recorder reads(true);
    Recorder counts(false);
    check_driver_frame(reads, frame, f.bus);
    check_driver_frame(counts, frame, f.bus);
    ASSERT_FALSE(reads.seen.empty());
    ASSERT_EQ(reads.seen.size(), counts.seen.size());
    for (std::size_t i = 0; i < reads.seen.size(); ++i) {
      EXPECT_EQ(reads.seen[i].first, counts.seen[i].first);
      EXPECT_FALSE(reads.seen[i].second.empty()) << reads.seen[i].first;
      EXPECT_TRUE(counts.seen[i].second.empty()) << counts.seen[i].first;
    }
  }
}

}  // namespace
}  // namespace vmsg::bus::test

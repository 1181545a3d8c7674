// The optional ABI 1.1 entries (stimulus, violations): absent in an older or
// a NULL table, paged and bounded in LibPort, implemented by the reference.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dut_test_paths.h"
#include "vmsg/common/errors.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/dut/lib_port.hpp"

namespace vmsg::dut {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(DutCapabilities, OlderMinorLoadsAndItsTailIsNeverRead) {
  // The fake's table says 1.0 but has non-NULL entries past its struct_size.
  LibPort p(VMSG_FAKE_DUT_OLDMINOR, {.config = "", .ram_size = 4ULL << 20});
  EXPECT_EQ(p.library().api().abi_minor, 0u);
  EXPECT_FALSE(p.has_stimulus());
  EXPECT_FALSE(p.has_violations());
  EXPECT_THROW(p.stimulus("config-change dev=1"), PortError);
  EXPECT_THROW((void)p.peek_violations(), PortError);
}

TEST(DutCapabilities, NullEntriesAreAbsent) {
  LibPort p(VMSG_FAKE_DUT_MISBEHAVE, {.config = "", .ram_size = 4ULL << 20});
  EXPECT_FALSE(p.has_stimulus());
  EXPECT_FALSE(p.has_violations());
  EXPECT_THROW(p.clear_violations(), PortError);
}

TEST(DutCapabilities, StimulusStatusesMapToResultOrError) {
  LibPort p(VMSG_FAKE_DUT_EXT, {.config = "", .ram_size = 4ULL << 20});
  ASSERT_TRUE(p.has_stimulus());
  EXPECT_TRUE(p.stimulus("config-change fifo=0 dev=1"));
  EXPECT_FALSE(p.stimulus("nope"));
  try {
    p.stimulus("boom");
    FAIL() << "a failing stimulus must throw";
  } catch (const PortError& e) {
    EXPECT_TRUE(contains(e.what(), "stimulus(boom)")) << e.what();
  }
}

TEST(DutCapabilities, ViolationLinesArePagedKeptAndTaken) {
  LibPort p(VMSG_FAKE_DUT_EXT, {.config = "", .ram_size = 4ULL << 20});
  ASSERT_TRUE(p.has_violations());
  const std::vector<std::string> want = {"VMSG-DRV-014 dev=1 SET_VQUEUE: reserved 1", "VMSG-DRV-009 dev=0 frame: type 0x80",
                                         "no-newline-cut-line"};
  EXPECT_EQ(p.peek_violations(), want);  // three MORE/OK rounds
  EXPECT_EQ(p.peek_violations(), want);  // kept by the port though read from the library
  EXPECT_EQ(p.take_violations(), want);
  EXPECT_TRUE(p.take_violations().empty());
}

TEST(DutCapabilities, EndlessMoreIsAnErrorNotAHang) {
  LibPort p(VMSG_FAKE_DUT_EXT, {.config = "endless", .ram_size = 4ULL << 20});
  try {
    (void)p.peek_violations();
    FAIL() << "endless MORE must throw";
  } catch (const PortError& e) {
    EXPECT_TRUE(contains(e.what(), "MORE")) << e.what();
  }
}

/// The reference library with the driver opened on it.
struct RefRig {
  explicit RefRig(const std::string& config)
      : port(VMSG_REF_DUT_PATH, {.config = config, .ram_size = 16ULL << 20}),
        ram(port.address_map()),
        window(port.address_map()),
        drv(driver::AmpDriver::open(port, ram, window)) {}
  LibPort port;
  driver::GuestAllocator ram;
  driver::BarWindowAllocator window;
  driver::AmpDriver drv;
};

constexpr const char* kTopology =
    "num-fifos=2 device=virtio-rng-device,fifo=0,dev=1 device=virtio-balloon-device,fifo=1,dev=1";

TEST(RefLibCapabilities, RecordsDriverRuleViolationsAndClearsThem) {
  RefRig rig(kTopology);
  ASSERT_TRUE(rig.port.has_violations());
  EXPECT_TRUE(rig.port.peek_violations().empty());
  // A SET_VQUEUE with a non-zero reserved word breaks VMSG-DRV-014.
  (void)rig.drv.fifo(0).request(wire::Message{.dev_num = 1, .token = 0, .reserved_type_bits = 0,
                                              .body = wire::SetVqueueReq{.index = 0, .flags = 1, .size = 8}});
  const auto lines = rig.port.take_violations();
  bool found = false;
  for (const std::string& l : lines) found = found || l.rfind("VMSG-DRV-014 dev=1 ", 0) == 0;
  EXPECT_TRUE(found) << (lines.empty() ? "no lines" : lines.front());
  EXPECT_TRUE(rig.port.take_violations().empty());  // cleared on read

  (void)rig.drv.fifo(0).request(wire::Message{.dev_num = 1, .token = 0, .reserved_type_bits = 0,
                                              .body = wire::SetVqueueReq{.index = 0, .flags = 1, .size = 8}});
  rig.port.clear_violations();
  EXPECT_TRUE(rig.port.peek_violations().empty());  // the explicit clear reached the library
}

TEST(RefLibCapabilities, ConfigChangeOnlyWhereTheDeviceHasOne) {
  RefRig rig(kTopology);
  ASSERT_TRUE(rig.port.has_stimulus());
  const auto msis = rig.port.stats().msis;
  EXPECT_TRUE(rig.port.stimulus("config-change fifo=1 dev=1"));  // the balloon
  EXPECT_GT(rig.port.stats().msis, msis);                         // EVENT_CONFIG went out on FIFO 1
  EXPECT_FALSE(rig.port.stimulus("config-change fifo=0 dev=1"));  // rng: nothing to change
  EXPECT_FALSE(rig.port.stimulus("self-destruct dev=1"));         // unknown verb
  EXPECT_THROW(rig.port.stimulus("config-change fifo=0 dev=9"), PortError);
  EXPECT_THROW(rig.port.stimulus("config-change fifo=x dev=1"), PortError);
  EXPECT_THROW(rig.port.stimulus(""), PortError);
}

}  // namespace
}  // namespace vmsg::dut

// The configuration grammar shared by every DUT library (vmsg_dut.h).
#include <gtest/gtest.h>

#include "vmsg/common/errors.hpp"
#include "vmsg/dut/config.hpp"

namespace vmsg::dut {
namespace {

TEST(DutConfig, EmptyStringIsTheDefault) {
  const DutConfig c = parse_config("");
  EXPECT_EQ(c, DutConfig{});
  EXPECT_EQ(c.num_fifos, 1u);
  EXPECT_EQ(c.address, (port::PciAddress{0, 4, 0}));
  EXPECT_TRUE(c.devices.empty());
}

TEST(DutConfig, TheReferenceReadsNoTopologyAsItsDefault) {
  const DutConfig def = parse_config(kReferenceDefaultTopology);
  ASSERT_EQ(def.num_fifos, 2u);
  ASSERT_EQ(def.devices.size(), 3u);
  for (const char* text : {"", "   ", "profile=rev1-2026", "fault=answer-empty-slot addr=05.0"}) {
    const DutConfig c = parse_reference_config(text);
    const DutConfig plain = parse_config(text);
    EXPECT_EQ(c.num_fifos, def.num_fifos) << text;
    EXPECT_EQ(c.devices, def.devices) << text;
    // Everything but the topology is the text's own.
    EXPECT_EQ(c.profile, plain.profile) << text;
    EXPECT_EQ(c.address, plain.address) << text;
    EXPECT_EQ(c.faults, plain.faults) << text;
  }
  // Naming either half of the topology opts out of the default entirely.
  EXPECT_EQ(parse_reference_config("num-fifos=1"), parse_config("num-fifos=1"));
  EXPECT_TRUE(parse_reference_config("num-fifos=1").devices.empty());
  EXPECT_EQ(parse_reference_config("device=virtio-rng-device,fifo=0,dev=3"),
            parse_config("device=virtio-rng-device,fifo=0,dev=3"));
  EXPECT_THROW((void)parse_reference_config("bogus=1"), ConfigError);
}

TEST(DutConfig, ParsesEveryKey) {
  const DutConfig c = parse_config(
      "num-fifos=2  addr=05.1 device=virtio-rng-device,fifo=0,dev=1,seed=0x10 "
      "device=virtio-blk-device,fifo=1,dev=31,capacity=1M fault=lose-on-full-ring fault=duplicate-response");
  EXPECT_EQ(c.num_fifos, 2u);
  EXPECT_EQ(c.address, (port::PciAddress{0, 5, 1}));
  ASSERT_EQ(c.devices.size(), 2u);
  EXPECT_EQ(c.devices[0].kind, "virtio-rng-device");
  EXPECT_EQ(c.devices[0].fifo, 0u);
  EXPECT_EQ(c.devices[0].dev_num, 1u);
  EXPECT_EQ(c.devices[0].props.at("seed"), "0x10");
  EXPECT_EQ(c.devices[1].dev_num, 31u);
  EXPECT_EQ(c.devices[1].props.at("capacity"), "1M");
  EXPECT_TRUE(c.faults.has(fault::Fault::LoseOnFullRing));
  EXPECT_TRUE(c.faults.has(fault::Fault::DuplicateResponse));
  EXPECT_FALSE(c.faults.has(fault::Fault::NoSizeCheck));
}

TEST(DutConfig, FormatRoundTrips) {
  const DutConfig c = parse_config(
      "num-fifos=4 device=virtio-balloon-device,fifo=3,dev=7 device=virtio-blk-device,fifo=0,dev=2,read_only=on "
      "fault=no-size-check,max-message-48");
  const std::string text = format_config(c);
  EXPECT_EQ(parse_config(text), c) << text;
  EXPECT_NE(text.find("fault=no-size-check,max-message-48"), std::string::npos) << text;
}

TEST(DutConfig, AFaultSetExpandsAndWritesBackAsItsMembers) {
  const DutConfig c = parse_config("device=virtio-rng-device,fifo=0,dev=1 fault=qemu-v2 fault=duplicate-response");
  fault::FaultSet want = fault::FaultSet::parse_list("qemu-v2");
  want.set(fault::Fault::DuplicateResponse);
  EXPECT_EQ(c.faults, want);
  const std::string text = format_config(c);
  EXPECT_EQ(text.find("qemu-v2"), std::string::npos) << text;  // the members, not the set name
  EXPECT_EQ(parse_config(text), c) << text;
}

TEST(DutConfig, RefusesWhatItCannotUse) {
  for (const char* bad : {"bogus=1", "num-fifos=x", "num-fifos", "=3", "addr=20.0", "addr=04.8",
                          "device=virtio-rng-device,fifo=0", "device=virtio-rng-device,dev=1",
                          "device=virtio-rng-device,fifo=0,dev=32", "device=,fifo=0,dev=1",
                          "device=virtio-rng-device,fifo=0,dev=1 device=virtio-blk-device,fifo=0,dev=1",
                          "device=virtio-rng-device,fifo=0,dev=1,seed=1,seed=2", "fault=no-such-fault",
                          "profile="}) {
    EXPECT_THROW((void)parse_config(bad), ConfigError) << bad;
  }
}

TEST(DutConfig, StrictConfigGenerationIsOnOffAndWrittenOnlyWhenOn) {
  EXPECT_FALSE(parse_config("").strict_config_generation);
  const DutConfig on = parse_config("profile=rev1-2026 strict-config-generation=on");
  EXPECT_TRUE(on.strict_config_generation);
  EXPECT_EQ(on.profile, "rev1-2026");
  const std::string text = format_config(on);
  EXPECT_NE(text.find("strict-config-generation=on"), std::string::npos) << text;
  EXPECT_EQ(parse_config(text), on);
  const DutConfig off = parse_config("strict-config-generation=off");
  EXPECT_FALSE(off.strict_config_generation);
  EXPECT_EQ(format_config(off).find("strict"), std::string::npos);  // the default string is unchanged
  for (const char* bad : {"strict-config-generation=yes", "strict-config-generation=", "strict-config-generation"}) {
    EXPECT_THROW((void)parse_config(bad), ConfigError) << bad;
  }
}

TEST(DutConfig, ErrorNamesTheToken) {
  try {
    (void)parse_config("num-fifos=1 colour=blue");
    FAIL() << "accepted an unknown key";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("colour"), std::string::npos) << e.what();
  }
}

TEST(DutConfig, FormatRefusesUnwritableValues) {
  DutConfig c;
  c.devices.push_back({"virtio-blk-device", 0, 1, {{"serial", "a b"}}});
  EXPECT_THROW((void)format_config(c), ConfigError);
}

TEST(DutConfig, FormatRefusesWhatWouldNotReadBack) {
  // Each of these used to be written silently and parsed to something else
  // (or not at all); the round trip is the contract.
  const auto refuses = [](auto change) {
    DutConfig c;
    c.devices.push_back({"virtio-rng-device", 0, 1, {}});
    change(c);
    EXPECT_THROW((void)format_config(c), ConfigError);
  };
  refuses([](DutConfig& c) { c.address.bus = 1; });
  refuses([](DutConfig& c) { c.address.device = 40; });
  refuses([](DutConfig& c) { c.profile = ""; });
  refuses([](DutConfig& c) { c.devices[0].dev_num = 32; });
  refuses([](DutConfig& c) { c.devices.push_back(c.devices[0]); });
  refuses([](DutConfig& c) { c.devices[0].props["fifo"] = "0"; });
  DutConfig ok;
  ok.devices.push_back({"virtio-rng-device", 0, 1, {}});
  EXPECT_EQ(parse_config(format_config(ok)), ok);
}

}  // namespace
}  // namespace vmsg::dut

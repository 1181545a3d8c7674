// Loads the out-of-tree vendor example (examples/vendor-dut) through LibPort
// and brings it up with the ordinary driver: an empty bus when the config
// lists no device, the rng at device number 1 by default. The library path is argv[1]
// (tests/dut/vendor/build_and_load.cmake builds it first).
#include <gtest/gtest.h>

#include <string>

#include "vmsg/common/errors.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/dut/lib_port.hpp"

namespace {

std::string& library_path() {
  static std::string path;  // set once from argv before any test runs
  return path;
}

vmsg::wire::Message bus_msg(vmsg::wire::Body body) {
  return vmsg::wire::Message{.dev_num = 0, .token = 0x55, .reserved_type_bits = 0, .body = std::move(body)};
}

TEST(VendorExample, AnswersPingAndAnEmptyGetDevices) {
  ASSERT_FALSE(library_path().empty()) << "usage: vmsg_dut_vendor_test LIBRARY.so";
  vmsg::dut::LibPort port(library_path(), {.config = "num-fifos=1", .ram_size = 8ULL << 20});
  EXPECT_NE(port.library().name().find("vendor"), std::string::npos);
  vmsg::driver::GuestAllocator ram(port.address_map());
  vmsg::driver::BarWindowAllocator window(port.address_map());
  auto drv = vmsg::driver::AmpDriver::open(port, ram, window);
  ASSERT_EQ(drv.num_fifos(), 1u);

  auto ping = drv.fifo(0).request(bus_msg(vmsg::wire::PingReq{0xFEEDF00Du}));
  ASSERT_TRUE(ping.ok()) << vmsg::driver::to_string(ping.error());
  ASSERT_TRUE(std::holds_alternative<vmsg::wire::PingResp>(ping->body));
  EXPECT_EQ(std::get<vmsg::wire::PingResp>(ping->body).data, 0xFEEDF00Du);
  EXPECT_EQ(port.stats().msis, 1u);  // the response was announced through MSI-X

  auto devs = drv.fifo(0).request(bus_msg(vmsg::wire::GetDevicesReq{0, 32}));
  ASSERT_TRUE(devs.ok()) << vmsg::driver::to_string(devs.error());
  const auto& d = std::get<vmsg::wire::GetDevicesResp>(devs->body);
  EXPECT_EQ(d.next_offset, 0u);
  for (std::uint8_t b : d.bitmap) EXPECT_EQ(b, 0u);
}

TEST(VendorExample, DefaultTopologyHasAnRngAtDeviceNumber1) {
  ASSERT_FALSE(library_path().empty());
  vmsg::dut::LibPort port(library_path(), {.config = "", .ram_size = 8ULL << 20});
  vmsg::driver::GuestAllocator ram(port.address_map());
  vmsg::driver::BarWindowAllocator window(port.address_map());
  auto drv = vmsg::driver::AmpDriver::open(port, ram, window);

  auto devs = drv.fifo(0).request(bus_msg(vmsg::wire::GetDevicesReq{0, 32}));
  ASSERT_TRUE(devs.ok()) << vmsg::driver::to_string(devs.error());
  const auto& d = std::get<vmsg::wire::GetDevicesResp>(devs->body);
  ASSERT_EQ(d.bitmap.size(), 4u);
  EXPECT_EQ(d.bitmap[0], 0x02u);  // device number 1 only
  EXPECT_EQ(d.next_offset, 0u);

  auto info = drv.fifo(0).request(
      vmsg::wire::Message{.dev_num = 1, .token = 7, .reserved_type_bits = 0, .body = vmsg::wire::GetDeviceInfoReq{}});
  ASSERT_TRUE(info.ok()) << vmsg::driver::to_string(info.error());
  EXPECT_EQ(info->dev_num, 1u);
  EXPECT_EQ(std::get<vmsg::wire::GetDeviceInfoResp>(info->body).device_id, 4u);  // entropy
}

TEST(VendorExample, RefusesWhatItCannotBuild) {
  ASSERT_FALSE(library_path().empty());
  for (const char* config : {"device=virtio-blk-device,fifo=0,dev=2", "num-fifos=2", "fault=drop-responses",
                             "device=virtio-rng-device,fifo=0,dev=1 device=virtio-rng-device,fifo=0,dev=2"}) {
    EXPECT_THROW(vmsg::dut::LibPort(library_path(), {.config = config}), vmsg::PortError) << config;
  }
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc > 1) library_path() = argv[1];
  return RUN_ALL_TESTS();
}

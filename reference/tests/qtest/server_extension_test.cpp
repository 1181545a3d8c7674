// vmsg-ref-qtest's extension commands (vmsg_stimulus, vmsg_violations) over
// RefExtensions, and the QEMU-like answer of a server without them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/qtest/protocol.hpp"
#include "vmsg/qtest/ref_args.hpp"
#include "vmsg/qtest/ref_extensions.hpp"
#include "vmsg/qtest/server.hpp"
#include "vmsg/target/reference_target.hpp"

namespace vmsg::qtest {
namespace {

RefArgs args() {
  return parse_ref_args(std::vector<std::string>{"-qtest", "unix:/unused", "-device", "virtio-msg-amp-pci,addr=04.0",
                                                 "-device", "virtio-rng-device", "-device", "virtio-balloon-device"});
}

struct ExtRig {
  ExtRig() : target(ext.instrument(make_spec(args()))), server(target.machine(), &ext) {}
  RefExtensions ext;
  target::ReferenceTarget target;
  Server server;
};

/// The text a "OK B64" reply carries ("" for a bare OK).
std::string ok_text(const std::string& reply) {
  EXPECT_EQ(reply.rfind("OK", 0), 0u) << reply;
  if (reply.size() <= 4) return "";
  const auto bytes = base64_decode(reply.substr(3, reply.size() - 4));
  if (!bytes.ok()) return "<bad base64>";
  return std::string(bytes.value().begin(), bytes.value().end());
}

TEST(QtestServerExtensions, WithoutExtensionsTheyAreUnknownAsOnQemu) {
  target::ReferenceTarget t(make_spec(args()));
  Server s(t.machine());
  EXPECT_EQ(s.handle("vmsg_violations").rfind("FAIL", 0), 0u);
  EXPECT_EQ(s.handle("vmsg_stimulus config-change dev=1").rfind("FAIL", 0), 0u);
}

TEST(QtestServerExtensions, StimulusProbeActAndRefuse) {
  ExtRig r;
  EXPECT_EQ(r.server.handle("vmsg_stimulus"), "OK config-change\n");
  // Devices without bus= sit at 31 downwards: rng 31, balloon 30.
  EXPECT_EQ(r.server.handle("vmsg_stimulus config-change fifo=0 dev=30"), "OK\n");
  EXPECT_EQ(r.server.handle("vmsg_stimulus config-change fifo=0 dev=31").rfind("FAIL unsupported", 0), 0u);
  EXPECT_EQ(r.server.handle("vmsg_stimulus config-change fifo=0 dev=7").rfind("ERR", 0), 0u);
  EXPECT_EQ(r.server.handle("vmsg_stimulus config-change dev=x").rfind("ERR", 0), 0u);
  EXPECT_EQ(r.server.handle("vmsg_bogus").rfind("FAIL", 0), 0u);
}

TEST(QtestServerExtensions, ViolationsAreBase64LinesClearedOnRead) {
  ExtRig r;
  EXPECT_EQ(r.server.handle("vmsg_violations"), "OK\n");
  driver::GuestAllocator ram(r.target.port().address_map());
  driver::BarWindowAllocator window(r.target.port().address_map());
  auto drv = driver::AmpDriver::open(r.target.port(), ram, window);
  (void)drv.fifo(0).request(wire::Message{.dev_num = 31, .token = 0, .reserved_type_bits = 0,
                                          .body = wire::SetVqueueReq{.index = 0, .flags = 1, .size = 8}});
  const std::string text = ok_text(r.server.handle("vmsg_violations"));
  EXPECT_NE(text.find("VMSG-DRV-014 dev=31 "), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(r.server.handle("vmsg_violations"), "OK\n");
  EXPECT_EQ(r.server.handle("vmsg_violations now").rfind("ERR", 0), 0u);
}

}  // namespace
}  // namespace vmsg::qtest

// The same operation sequence against the in-process ReferenceTarget and
// against libvmsg_ref_dut.so through LibPort: every port call must return the
// same values (registers, ring slots, response bytes, DMA'd data), and the
// MSI writes must be the same, in the same order, at the same times.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>

#include "dut/recording_port.hpp"
#include "dut_test_paths.h"
#include "vmsg/devices/factory.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/driver/bus_driver.hpp"
#include "vmsg/driver/rng_driver.hpp"
#include "vmsg/driver/transport_driver.hpp"
#include "vmsg/dut/config.hpp"
#include "vmsg/dut/lib_port.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/device_transport.hpp"

namespace vmsg::dut {
namespace {

constexpr std::uint64_t kRam = 16ULL << 20;

/// The in-process target built from the same configuration string.
std::unique_ptr<target::ReferenceTarget> in_process(const std::string& config) {
  const DutConfig c = parse_config(config);
  target::ReferenceSpec s;
  s.amp.num_fifos = c.num_fifos;
  s.amp.faults = c.faults;
  s.ram_size = kRam;
  s.address = c.address;
  for (const DutDevice& d : c.devices) {
    transport::TransportOptions o;
    o.faults = c.faults;
    s.devices.push_back({d.fifo, d.dev_num,
                         std::make_shared<transport::DeviceTransport>(devices::make_backend(d.kind, d.props), o)});
  }
  return std::make_unique<target::ReferenceTarget>(s);
}

wire::Message msg(std::uint16_t dev, wire::Body body) {
  return wire::Message{.dev_num = dev, .token = 0, .reserved_type_bits = 0, .body = std::move(body)};
}

/// Everything a scenario observed beyond the port log.
struct Observed {
  std::vector<std::string> notes;
};

/// Drives a port the way a conformance test would.
void scenario(port::Port& p, Observed& out) {
  const port::PciAddress fn{0, 4, 0};
  // Raw config space, aligned and not, and an absent function.
  for (std::uint16_t off = 0; off < 0x100; off = static_cast<std::uint16_t>(off + 4)) (void)p.config_read(fn, off, 4);
  (void)p.config_read(fn, 3, 2);
  (void)p.config_read({0, 9, 0}, 0, 4);

  driver::GuestAllocator ram(p.address_map());
  driver::BarWindowAllocator window(p.address_map());
  driver::AmpDriver drv = driver::AmpDriver::open(p, ram, window);

  // BAR0 registers at every width, an ignored 8-byte NOTIFY write, an unbacked access.
  for (unsigned size : {1u, 2u, 4u, 8u}) {
    for (std::uint64_t off = 0; off < 0x20; off += size) (void)p.mmio_read(drv.bar0() + off, size);
  }
  p.mmio_write(drv.bar0() + 0x10, 8, 1);
  (void)p.mmio_read(0xF000'0000, 4);

  for (unsigned q = 0; q < drv.num_fifos(); ++q) {
    driver::FifoLink& link = drv.fifo(q);
    auto ping = link.request(msg(0, wire::PingReq{0x1234'0000u + q}));
    out.notes.push_back(ping.ok() ? wire::to_string(*ping) : "ping failed");
    auto devs = link.request(msg(0, wire::GetDevicesReq{0, 32}));
    out.notes.push_back(devs.ok() ? wire::to_string(*devs) : "get_devices failed");
    // A malformed frame: whatever the device does with it, both must do the same.
    const std::uint8_t junk[12] = {0x7F, 0x01, 0x00, 0x0C, 0xFF, 0xFF, 0, 0, 1, 2, 3, 4};
    (void)link.post(junk);
    link.ring();
    p.advance_time(1'000'000);
    while (auto slot = link.poll()) out.notes.push_back("slot type " + std::to_string((*slot)[1]));
  }

  // virtio-rng end to end: DMA into host RAM through the host callbacks.
  driver::BusDriver bus(drv.fifo(0));
  driver::TransportDriver t(bus, 1);
  driver::RngDriver rng(t, ram);
  auto init = rng.init();
  out.notes.push_back(init.ok() ? "rng init ok" : driver::describe(init.error()));
  auto bytes = rng.read(4096);
  out.notes.push_back(bytes.ok() ? "rng " + std::to_string(bytes->size()) : driver::describe(bytes.error()));
}

void expect_same(const std::string& config) {
  SCOPED_TRACE(config);
  auto ref = in_process(config);
  LibPort lib(VMSG_REF_DUT_PATH, {.config = config, .ram_size = kRam});
  test::RecordingPort rec_ref(ref->port());
  test::RecordingPort rec_lib(lib);
  Observed obs_ref;
  Observed obs_lib;
  scenario(rec_ref, obs_ref);
  scenario(rec_lib, obs_lib);

  ASSERT_GT(rec_ref.log().size(), 300u);
  ASSERT_EQ(rec_ref.log().size(), rec_lib.log().size());
  for (std::size_t i = 0; i < rec_ref.log().size(); ++i) {
    ASSERT_EQ(rec_ref.log()[i], rec_lib.log()[i]) << "port call " << i;
  }
  EXPECT_EQ(obs_ref.notes, obs_lib.notes);
  EXPECT_NE(std::find(obs_lib.notes.begin(), obs_lib.notes.end(), "rng 4096"), obs_lib.notes.end());
  ASSERT_FALSE(ref->machine().msi_log().empty());
  EXPECT_EQ(ref->machine().msi_log(), lib.msi_log());
  EXPECT_EQ(ref->machine().stats(), lib.stats());
  EXPECT_EQ(ref->machine().now_ns(), lib.now_ns());
}

TEST(RefLibEquivalence, DefaultTopologyBehavesLikeTheInProcessTarget) {
  expect_same(
      "num-fifos=2 device=virtio-rng-device,fifo=0,dev=1 device=virtio-blk-device,fifo=0,dev=2,capacity=1M "
      "device=virtio-balloon-device,fifo=1,dev=1");
}

TEST(RefLibEquivalence, FaultyDeviceBehavesLikeTheInProcessFaultyDevice) {
  expect_same("device=virtio-rng-device,fifo=0,dev=1 fault=stale-slot-bytes,echo-reserved-type-bits,notify-any-width");
}

TEST(RefLibEquivalence, TheComparisonNoticesADifferentDevice) {
  // Guards the test itself: a different configuration on one side must show.
  auto ref = in_process("device=virtio-rng-device,fifo=0,dev=1");
  LibPort lib(VMSG_REF_DUT_PATH, {.config = "device=virtio-rng-device,fifo=0,dev=1,seed=99", .ram_size = kRam});
  test::RecordingPort rec_ref(ref->port());
  test::RecordingPort rec_lib(lib);
  Observed a;
  Observed b;
  scenario(rec_ref, a);
  scenario(rec_lib, b);
  EXPECT_NE(rec_ref.log(), rec_lib.log());
}

}  // namespace
}  // namespace vmsg::dut

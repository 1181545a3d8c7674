// The rng and blk drivers against devices shaped like QEMU's: a small queue
// maximum (virtio-rng: 8), and GET_VQUEUE reporting that maximum as cur_size
// before the queue is programmed (fault cur-size-reports-max). Strict driver
// versus tolerant driver.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "e2e/e2e_rig.hpp"
#include "vmsg/driver/blk_driver.hpp"
#include "vmsg/driver/rng_driver.hpp"
#include "vmsg/transport/forwarding_backend.hpp"

namespace vmsg::e2e {
namespace {

using driver::describe;
using driver::VirtioErrc;

constexpr std::uint64_t kSeed = 0x5EED'0008;

/// A backend whose queue maxima are capped at `cap`: the reference devices
/// offer 256, QEMU's virtio-rng 8. Everything else is the wrapped backend's.
class CappedQueues final : public transport::ForwardingBackend {
 public:
  CappedQueues(std::shared_ptr<transport::Backend> inner, std::uint32_t cap)
      : ForwardingBackend(std::move(inner)), cap_(cap) {}
  [[nodiscard]] std::uint32_t max_queue_size(unsigned q) const override {
    return std::min(ForwardingBackend::max_queue_size(q), cap_);
  }

 private:
  std::uint32_t cap_;
};

std::shared_ptr<transport::DeviceTransport> capped(std::shared_ptr<transport::Backend> b, std::uint32_t cap,
                                                   fault::FaultSet faults = {}) {
  return std::make_shared<transport::DeviceTransport>(std::make_unique<CappedQueues>(std::move(b), cap),
                                                      transport::TransportOptions{.faults = faults});
}

std::vector<std::uint8_t> stream(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  devices::ByteStream(kSeed).fill(v);
  return v;
}

// ---- a queue maximum of 8 --------------------------------------------------------

TEST(SmallQueueE2e, RngOnAnEightEntryQueueReadsTheStream) {
  auto dev = capped(std::make_shared<devices::RngBackend>(kSeed), 8);
  Rig rig({{0, 0, dev}});
  driver::TransportDriver t(rig.bus(), 0);
  // 16 buffers of 1000 bytes wanted, 64 ring entries wanted: the device allows 8.
  driver::RngDriver rng(t, rig.ram, driver::RngDriverOptions{.queue_size = 64, .buffer_size = 1000, .buffers = 16});
  auto init = rng.init();
  ASSERT_TRUE(init.ok()) << describe(init.error());
  ASSERT_NE(t.queue(0), nullptr);
  EXPECT_EQ(t.queue(0)->size(), 8u);
  EXPECT_EQ(dev->configured_queue(0)->layout().size, 8u);
  auto bytes = rng.read(40'000);  // 40 buffers' worth: several rounds of at most 8
  ASSERT_TRUE(bytes.ok()) << describe(bytes.error());
  EXPECT_TRUE(*bytes == stream(40'000));
  EXPECT_EQ(rng.stats().buffers_used, 40u);
  EXPECT_EQ(dev->stats().queue_errors, 0u);
  EXPECT_TRUE(t.deviations().empty());
}

TEST(SmallQueueE2e, BlkOnAnEightEntryQueueWritesAndReadsBack) {
  auto medium = std::make_shared<devices::BlkBackend>(blk_options(4096));
  auto dev = capped(medium, 8);
  Rig rig({{0, 0, dev}});
  driver::TransportDriver t(rig.bus(), 0);
  driver::BlkDriver blk(t, rig.ram);  // 128 entries and 16 slots wanted
  auto init = blk.init();
  ASSERT_TRUE(init.ok()) << describe(init.error());
  EXPECT_EQ(t.queue(0)->size(), 8u);
  const auto data = pattern(1U << 20, 8);
  auto w = blk.write(100, data);
  ASSERT_TRUE(w.ok()) << describe(w.error());
  std::vector<std::uint8_t> back(data.size(), 0xEE);
  auto rd = blk.read(100, back);
  ASSERT_TRUE(rd.ok()) << describe(rd.error());
  EXPECT_TRUE(back == data) << "read-back differs";
  const auto disk = medium->disk();
  EXPECT_TRUE(std::equal(data.begin(), data.end(), disk.begin() + 100 * 512));
  EXPECT_LE(blk.stats().max_in_flight, 8u);
  EXPECT_GT(blk.stats().max_in_flight, 1u);  // still several at once
  EXPECT_EQ(dev->stats().queue_errors, 0u);
}

// ---- cur-size-reports-max: strict and tolerant ----------------------------------------

fault::FaultSet cur_size_fault() { return fault::FaultSet{}.set(fault::Fault::CurSizeReportsMax); }

TEST(SmallQueueE2e, StrictDriverStopsAtANonZeroCurSize) {
  auto dev = capped(std::make_shared<devices::RngBackend>(kSeed), 8, cur_size_fault());
  Rig rig({{0, 0, dev}});
  driver::TransportDriver t(rig.bus(), 0);
  driver::RngDriver rng(t, rig.ram);
  auto init = rng.init();
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.error().code, VirtioErrc::QueueInUse);
  EXPECT_EQ(dev->configured_queue(0), nullptr);  // nothing was programmed
  EXPECT_TRUE(t.deviations().empty());
}

TEST(SmallQueueE2e, TolerantDriverBringsRngUpAndNotesOneDeviation) {
  auto dev = capped(std::make_shared<devices::RngBackend>(kSeed), 8, cur_size_fault());
  Rig rig({{0, 0, dev}});
  driver::TransportDriver t(rig.bus(), 0, driver::TransportDriverOptions{.tolerate_deviations = true});
  driver::RngDriver rng(t, rig.ram);
  auto init = rng.init();
  ASSERT_TRUE(init.ok()) << describe(init.error());
  auto bytes = rng.read(10'000);
  ASSERT_TRUE(bytes.ok()) << describe(bytes.error());
  EXPECT_TRUE(*bytes == stream(10'000));
  ASSERT_EQ(t.deviations().size(), 1u);
  EXPECT_EQ(t.deviations()[0].requirement, "VMSG-DEV-055");
  EXPECT_NE(t.deviations()[0].detail.find("queue 0: cur_size 8"), std::string::npos) << t.deviations()[0].detail;
}

TEST(SmallQueueE2e, TolerantDriverNotesOneDeviationPerQueue) {
  auto dev = make_faulty_device<devices::BalloonBackend>(cur_size_fault(), 0);
  Rig rig({{0, 2, dev}});
  driver::TransportDriver t(rig.bus(), 2, driver::TransportDriverOptions{.tolerate_deviations = true});
  ASSERT_TRUE(t.init(driver::vfeature::bit(driver::vfeature::kVersion1)).ok());
  ASSERT_TRUE(t.setup_queue(0, 16, rig.ram).ok());
  ASSERT_TRUE(t.setup_queue(1, 16, rig.ram).ok());
  ASSERT_TRUE(t.driver_ok().ok());
  ASSERT_EQ(t.deviations().size(), 2u);
  for (const driver::Deviation& d : t.deviations()) EXPECT_EQ(d.requirement, "VMSG-DEV-055");
  EXPECT_NE(t.deviations()[0].detail.find("queue 0"), std::string::npos);
  EXPECT_NE(t.deviations()[1].detail.find("queue 1"), std::string::npos);
}

}  // namespace
}  // namespace vmsg::e2e

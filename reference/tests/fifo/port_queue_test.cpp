// driver::PortQueueMemory through a fake port whose BAR1 is a byte vector:
// the driver end runs over the port, the device end over the same bytes via
// SharedQueueMemory, as in the in-process machine.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "vmsg/common/errors.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/driver/port_queue.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/fifo/shared_memory.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg {
namespace {

using fifo::kSlotSize;
using fifo::PushResult;
using fifo::QueueKind;
using fifo::Slot;

// A port with one FIFO window of BAR1 RAM at kBar1 and nothing else. Any
// access outside that window fails the test; MMIO must be 4 bytes, aligned.
class FakePort final : public port::Port {
 public:
  static constexpr std::uint64_t kBar1 = 0xE000'0000;

  std::vector<std::uint8_t> bar1 = std::vector<std::uint8_t>(fifo::kWindowSize);

  struct Access {
    char kind;  // 'r'/'w' = mmio read/write, 'R'/'W' = mem read/write
    std::uint64_t addr;
    std::uint64_t size_or_value;
    friend bool operator==(const Access&, const Access&) = default;
  };
  std::vector<Access> log;

  std::uint32_t config_read(port::PciAddress, std::uint16_t, unsigned) override { return 0xFFFFFFFF; }
  void config_write(port::PciAddress, std::uint16_t, unsigned, std::uint32_t) override {}

  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    log.push_back({'r', addr, size});
    if (!mmio_ok(addr, size)) return 0;
    return le::load32(bar1, addr - kBar1);
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    log.push_back({'w', addr, value});
    if (mmio_ok(addr, size)) le::store32(bar1, addr - kBar1, static_cast<std::uint32_t>(value));
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    log.push_back({'R', addr, out.size()});
    if (!in_window(addr, out.size())) return;
    std::copy_n(bar1.begin() + static_cast<std::ptrdiff_t>(addr - kBar1), out.size(), out.begin());
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    log.push_back({'W', addr, data.size()});
    if (!in_window(addr, data.size())) return;
    std::copy(data.begin(), data.end(), bar1.begin() + static_cast<std::ptrdiff_t>(addr - kBar1));
  }
  void advance_time(std::uint64_t) override {}
  [[nodiscard]] port::AddressMap address_map() const override { return {}; }

 private:
  bool in_window(std::uint64_t addr, std::size_t len) {
    if (addr < kBar1 || addr - kBar1 > bar1.size() || len > bar1.size() - (addr - kBar1)) {
      ADD_FAILURE() << "access outside BAR1 at " << std::hex << addr;
      return false;
    }
    return true;
  }
  bool mmio_ok(std::uint64_t addr, unsigned size) {
    if (size != 4) throw PortError("fake port: only 4-byte MMIO");
    if (addr % 4 != 0) {
      ADD_FAILURE() << "misaligned MMIO at " << std::hex << addr;
      return false;
    }
    return in_window(addr, 4);
  }
};

std::vector<std::uint8_t> make_msg(std::uint32_t seq, std::size_t len) {
  std::vector<std::uint8_t> m(len);
  for (std::size_t i = 0; i < len; ++i) m[i] = static_cast<std::uint8_t>(seq * 5u + i + 1u);
  return m;
}

TEST(PortQueueMemory, RejectsMisalignedBase) {
  FakePort port;
  EXPECT_THROW(driver::PortQueueMemory(port, FakePort::kBar1 + 2), ConfigError);
  EXPECT_NO_THROW(driver::PortQueueMemory(port, FakePort::kBar1 + 4));
  EXPECT_EQ(driver::PortQueueMemory::at(port, FakePort::kBar1, 3, QueueKind::Device).base(),
            FakePort::kBar1 + 0xE000);
}

// The §9.5 "send one message" recipe, access by access.
TEST(PortQueueMemory, DriverSendUsesSection95Accesses) {
  FakePort port;
  constexpr std::uint64_t w = FakePort::kBar1;
  fifo::RingProducer drv(driver::PortQueueMemory::at(port, w, 0, QueueKind::Driver));
  ASSERT_EQ(drv.push(make_msg(0, 20)), PushResult::Ok);
  const std::vector<FakePort::Access> want{
      {'r', w + 0x1040, 4},       // read the device's tail
      {'W', w + 0x1080, 64},      // slot 0, zero-padded to 64 bytes
      {'w', w + 0x1000, 1},       // writel head = 1
  };
  EXPECT_EQ(port.log, want);
  EXPECT_EQ(port.bar1[0x1000], 1);
  EXPECT_EQ(port.bar1[0x1001], 0);
}

TEST(PortQueueMemory, DriverToDeviceThroughPort) {
  FakePort port;
  fifo::RingProducer drv(driver::PortQueueMemory::at(port, FakePort::kBar1, 0, QueueKind::Driver));
  fifo::RingConsumer dev(fifo::SharedQueueMemory::in_bar(port.bar1, 0, QueueKind::Driver));
  Slot out{};
  for (std::uint32_t round = 0; round < 3; ++round) {
    for (std::uint32_t i = 0; i < fifo::kUsableSlots; ++i) {
      ASSERT_EQ(drv.push(make_msg(round * 100 + i, 1 + i % kSlotSize)), PushResult::Ok);
    }
    EXPECT_EQ(drv.push(make_msg(0, 1)), PushResult::Full);
    EXPECT_EQ(dev.available(), fifo::kUsableSlots);
    for (std::uint32_t i = 0; i < fifo::kUsableSlots; ++i) {
      ASSERT_TRUE(dev.pop(out));
      Slot want{};
      const auto m = make_msg(round * 100 + i, 1 + i % kSlotSize);
      std::copy(m.begin(), m.end(), want.begin());
      ASSERT_EQ(out, want) << "round " << round << " message " << i;
    }
    EXPECT_FALSE(dev.pop(out));
  }
  EXPECT_EQ(drv.stats().pushes, 3u * fifo::kUsableSlots);
  EXPECT_EQ(le::load32(port.bar1, 0x1000), (3u * fifo::kUsableSlots) % fifo::kSlotCount);
}

TEST(PortQueueMemory, DeviceToDriverThroughPort) {
  FakePort port;
  fifo::RingProducer dev(fifo::SharedQueueMemory::in_bar(port.bar1, 0, QueueKind::Device));
  fifo::RingConsumer drv(driver::PortQueueMemory::at(port, FakePort::kBar1, 0, QueueKind::Device));
  Slot out{};
  std::uint32_t sent = 0;
  std::uint32_t got = 0;
  while (got < 500) {
    for (int k = 0; k < 7 && dev.push(make_msg(sent, 48)) == PushResult::Ok; ++k) ++sent;
    for (int k = 0; k < 5 && drv.pop(out); ++k) {
      const auto m = make_msg(got, 48);
      ASSERT_TRUE(std::equal(m.begin(), m.end(), out.begin())) << got;
      for (std::size_t i = 48; i < kSlotSize; ++i) ASSERT_EQ(out[i], 0u);
      ++got;
    }
  }
  port.log.clear();
  ASSERT_TRUE(drv.pop(out));
  const std::uint64_t q = FakePort::kBar1 + 0x2000;
  const std::uint32_t t = got % fifo::kSlotCount;
  const std::vector<FakePort::Access> want{
      {'r', q + 0x00, 4},
      {'R', q + 0x80 + 64u * t, 64},
      {'w', q + 0x40, (t + 1) % fifo::kSlotCount},
  };
  EXPECT_EQ(port.log, want);
}

}  // namespace
}  // namespace vmsg

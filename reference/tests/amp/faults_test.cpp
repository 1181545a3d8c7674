// Fault modes the amp device implements itself (rings, MSI-X, registers, bus
// mastering), plus one bus fault to show AmpConfig::faults reaches the Bus.
// Each test runs the same scenario with the fault off (conforming) and on.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "vmsg/amp/amp_device.hpp"
#include "vmsg/common/faults.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::amp {
namespace {

using fault::Fault;
using fault::FaultSet;

constexpr std::uint64_t kRamBase = 0x10000;
constexpr std::uint64_t kMsiBase = 0xFEE00000;

/// Guest RAM for DMA plus a record of MSI writes.
class FakeDma final : public pci::DmaSpace {
 public:
  bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    if (addr < kRamBase || addr - kRamBase + out.size() > ram.size()) return false;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = ram[addr - kRamBase + i];
    return true;
  }
  bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    if (addr < kRamBase || addr - kRamBase + data.size() > ram.size()) return false;
    for (std::size_t i = 0; i < data.size(); ++i) ram[addr - kRamBase + i] = data[i];
    return true;
  }
  bool msi_write(std::uint64_t addr, std::uint32_t data) override {
    msis.push_back({addr, data});
    return true;
  }
  void report_fatal(std::string_view report) override { fatal.emplace_back(report); }
  std::vector<std::uint8_t> ram = std::vector<std::uint8_t>(0x1000, 0);
  std::vector<std::pair<std::uint64_t, std::uint32_t>> msis;
  std::vector<std::string> fatal;
};

/// One queue of the device's BAR1, reached through bar_read/bar_write as a
/// driver would reach it over MMIO.
class BarQueue {
 public:
  BarQueue(AmpPciDevice& dev, unsigned fifo, fifo::QueueKind kind)
      : dev_(&dev), base_(fifo::queue_offset(fifo, kind)) {}
  std::uint32_t load_index(std::uint32_t off) { return static_cast<std::uint32_t>(dev_->bar_read(1, base_ + off, 4)); }
  void store_index(std::uint32_t off, std::uint32_t v) { dev_->bar_write(1, base_ + off, 4, v); }
  void read_bytes(std::uint32_t off, std::span<std::uint8_t> out) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(dev_->bar_read(1, base_ + off + i, 1));
  }
  void write_bytes(std::uint32_t off, std::span<const std::uint8_t> in) {
    for (std::size_t i = 0; i < in.size(); ++i) dev_->bar_write(1, base_ + off + i, 1, in[i]);
  }

 private:
  AmpPciDevice* dev_;
  std::uint64_t base_;
};

AmpConfig config(FaultSet faults, unsigned fifos) {
  AmpConfig c;
  c.num_fifos = fifos;
  c.faults = faults;
  return c;
}

/// The device attached to FakeDma with MEM|BME on, MSI-X enabled and every
/// vector unmasked, and driver-side ring ends for every FIFO.
struct Amp {
  explicit Amp(FaultSet faults, unsigned fifos = 1) : dev(config(faults, fifos)) {
    dev.attach(dma);
    dev.config_write(0x04, 2, 0x0006);
    cap = dev.msix()->capability_offset();
    dev.config_write(static_cast<std::uint16_t>(cap + 2), 2, 0x8000);
    for (unsigned v = 0; v < fifos; ++v) {
      dev.bar_write(2, 16ULL * v, 4, kMsiBase + 4ULL * v);
      dev.bar_write(2, 16ULL * v + 8, 4, 0x100 + v);
      dev.bar_write(2, 16ULL * v + 12, 4, 0);  // unmask
    }
    for (unsigned q = 0; q < fifos; ++q) {
      to_dev.emplace_back(BarQueue(dev, q, fifo::QueueKind::Driver));
      from_dev.emplace_back(BarQueue(dev, q, fifo::QueueKind::Device));
    }
  }
  void send(const std::vector<std::uint8_t>& frame, unsigned q = 0) {
    ASSERT_EQ(to_dev.at(q).push(frame), fifo::PushResult::Ok);
  }
  void ping(std::uint32_t data, unsigned q = 0) {
    send(wire::encode(wire::Message{.body = wire::PingReq{data}}, wire::Profile::pr28()).value(), q);
  }
  void notify(unsigned q = 0) { dev.bar_write(0, 0x20 + 4ULL * q, 4, 1); }
  std::vector<fifo::Slot> drain(unsigned q = 0) {
    std::vector<fifo::Slot> out;
    fifo::Slot s;
    while (from_dev.at(q).pop(s)) out.push_back(s);
    return out;
  }
  std::vector<std::uint32_t> pings(unsigned q = 0) {
    std::vector<std::uint32_t> out;
    for (const fifo::Slot& s : drain(q)) {
      auto m = wire::decode(s, wire::Profile::pr28());
      EXPECT_TRUE(m.ok());
      if (!m.ok()) continue;
      const auto* p = std::get_if<wire::PingResp>(&m->body);
      EXPECT_NE(p, nullptr);
      if (p != nullptr) out.push_back(p->data);
    }
    return out;
  }

  FakeDma dma;
  AmpPciDevice dev;
  std::uint8_t cap = 0;
  std::vector<fifo::RingProducer<BarQueue>> to_dev;
  std::vector<fifo::RingConsumer<BarQueue>> from_dev;
};

FaultSet with(Fault f) { return FaultSet{}.set(f); }

std::vector<std::uint32_t> iota(std::uint32_t from, std::uint32_t to) {
  std::vector<std::uint32_t> v;
  for (std::uint32_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

// ---- lose-on-full-ring ---------------------------------------------------------

/// bug 10 scenario: fill the device queue, queue 10 more, drain, ring again.
std::vector<std::uint32_t> overfill(Amp& a) {
  for (std::uint32_t i = 0; i < 61; ++i) a.ping(i);
  a.notify();  // 61 responses: the device queue is full
  for (std::uint32_t i = 61; i < 71; ++i) a.ping(i);
  a.notify();  // 10 responses find no room
  std::vector<std::uint32_t> got = a.pings();
  a.notify();  // room again
  for (std::uint32_t d : a.pings()) got.push_back(d);
  return got;
}

TEST(AmpFaults, LoseOnFullRingOffKeepsEveryResponse) {
  Amp a({});
  EXPECT_EQ(overfill(a), iota(0, 71));
  EXPECT_EQ(a.dma.msis.size(), 71u);
}

TEST(AmpFaults, LoseOnFullRingOnLosesResponsesSilently) {
  Amp a(with(Fault::LoseOnFullRing));
  EXPECT_EQ(overfill(a), iota(0, 61));
  EXPECT_EQ(a.dma.msis.size(), 61u);  // one per stored response, none for the lost 10 (qemu-observed.md §5)
  EXPECT_EQ(a.dev.channel(0).stats().overflow_drops, 10u);
}

// ---- stale-slot-bytes ----------------------------------------------------------

fifo::Slot ping_into_dirty_slot(Amp& a) {
  const std::uint64_t slot0 = fifo::queue_offset(0, fifo::QueueKind::Device) + fifo::slot_offset(0);
  for (unsigned i = 0; i < fifo::kSlotSize; ++i) a.dev.bar_write(1, slot0 + i, 1, 0xAA);
  a.ping(0x12345678);
  a.notify();
  auto slots = a.drain();
  EXPECT_EQ(slots.size(), 1u);
  return slots.empty() ? fifo::Slot{} : slots.front();
}

TEST(AmpFaults, StaleSlotBytesOffZeroPadsTheSlot) {
  Amp a({});
  const fifo::Slot s = ping_into_dirty_slot(a);
  for (std::size_t i = 12; i < s.size(); ++i) EXPECT_EQ(s[i], 0) << "byte " << i;
}

TEST(AmpFaults, StaleSlotBytesOnLeavesOldBytes) {
  Amp a(with(Fault::StaleSlotBytes));
  const fifo::Slot s = ping_into_dirty_slot(a);
  EXPECT_EQ(s[8], 0x78);  // the message itself is intact
  for (std::size_t i = 12; i < s.size(); ++i) EXPECT_EQ(s[i], 0xAA) << "byte " << i;
}

// ---- trust-shared-own-index ----------------------------------------------------

std::vector<std::uint32_t> rewind_device_tail(Amp& a) {
  a.ping(7);
  a.notify();
  EXPECT_EQ(a.pings(), std::vector<std::uint32_t>{7});
  // A misbehaving driver rewinds the index only the device may write (AMP-010).
  BarQueue(a.dev, 0, fifo::QueueKind::Driver).store_index(fifo::kTailOffset, 0);
  a.notify();
  return a.pings();
}

TEST(AmpFaults, TrustSharedOwnIndexOffIgnoresTheScribble) {
  Amp a({});
  EXPECT_TRUE(rewind_device_tail(a).empty());
}

TEST(AmpFaults, TrustSharedOwnIndexOnReplaysTheRequest) {
  Amp a(with(Fault::TrustSharedOwnIndex));
  EXPECT_EQ(rewind_device_tail(a), std::vector<std::uint32_t>{7});
}

// ---- msix-ignores-mask ---------------------------------------------------------

TEST(AmpFaults, MsixIgnoresMaskOffHoldsMaskedVectorPending) {
  for (bool function_mask : {false, true}) {
    Amp a({});
    if (function_mask) {
      a.dev.config_write(static_cast<std::uint16_t>(a.cap + 2), 2, 0xC000);
    } else {
      a.dev.bar_write(2, 12, 4, 1);
    }
    a.ping(1);
    a.notify();
    EXPECT_TRUE(a.dma.msis.empty()) << "function_mask=" << function_mask;
    EXPECT_TRUE(a.dev.msix()->pending(0));
  }
}

TEST(AmpFaults, MsixIgnoresMaskOnWritesMaskedVector) {
  for (bool function_mask : {false, true}) {
    Amp a(with(Fault::MsixIgnoresMask));
    if (function_mask) {
      a.dev.config_write(static_cast<std::uint16_t>(a.cap + 2), 2, 0xC000);
    } else {
      a.dev.bar_write(2, 12, 4, 1);
    }
    a.ping(1);
    a.notify();
    ASSERT_EQ(a.dma.msis.size(), 1u) << "function_mask=" << function_mask;
    EXPECT_EQ(a.dma.msis[0].first, kMsiBase);
    EXPECT_FALSE(a.dev.msix()->pending(0));
  }
}

// ---- ignore-bus-master ---------------------------------------------------------

bool dma_with_bme_clear(Amp& a) {
  a.dev.config_write(0x04, 2, 0x0002);  // MEM only
  std::array<std::uint8_t, 4> buf{};
  const bool read = a.dev.bus_master().dma_read(kRamBase, buf);
  const bool write = a.dev.bus_master().dma_write(kRamBase, buf);
  EXPECT_EQ(read, write);
  return read;
}

TEST(AmpFaults, IgnoreBusMasterOffRefusesDma) {
  Amp a({});
  EXPECT_FALSE(dma_with_bme_clear(a));
  a.dev.config_write(0x04, 2, 0x0006);
  std::array<std::uint8_t, 4> buf{};
  EXPECT_TRUE(a.dev.bus_master().dma_read(kRamBase, buf));  // and BME on allows it
}

TEST(AmpFaults, IgnoreBusMasterOnAllowsDma) {
  Amp a(with(Fault::IgnoreBusMaster));
  EXPECT_TRUE(dma_with_bme_clear(a));
}

// A device's fatal report (asan-reset-vqueue-overflow, raised by its
// transports) is no bus cycle: it reaches the host with BME clear too.
TEST(AmpFaults, FatalReportReachesTheHostWhateverBusMasterEnableSays) {
  Amp a({});
  a.dev.config_write(0x04, 2, 0x0002);  // MEM only
  a.dev.bus_master().report_fatal("boom");
  EXPECT_EQ(a.dma.fatal, std::vector<std::string>{"boom"});
  AmpPciDevice unattached(config({}, 1));
  unattached.bus_master().report_fatal("nobody hears it");  // no host yet: nothing to tell, no crash
}

// ---- notify-any-width ----------------------------------------------------------

/// PINGs queued on both FIFOs; returns how many FIFOs answered after `ring`.
template <typename Ring>
unsigned fifos_rung(Amp& a, Ring ring) {
  a.ping(10, 0);
  a.ping(11, 1);
  ring();
  return static_cast<unsigned>(!a.pings(0).empty()) + static_cast<unsigned>(!a.pings(1).empty());
}

TEST(AmpFaults, NotifyAnyWidthOffOnlyDwordWritesRing) {
  Amp a({}, 2);
  EXPECT_EQ(fifos_rung(a, [&] { a.dev.bar_write(0, 0x20, 8, 1); }), 0u);
  EXPECT_EQ(fifos_rung(a, [&] { a.dev.bar_write(0, 0x25, 1, 1); }), 0u);
  EXPECT_EQ(fifos_rung(a, [&] { a.dev.bar_write(0, 0x22, 2, 1); }), 0u);
  EXPECT_EQ(a.dev.register_stats().bad_width, 3u);
  // A proper write to NOTIFY1 then rings FIFO1 (FIFO0's three PINGs wait).
  a.dev.bar_write(0, 0x24, 4, 1);
  EXPECT_EQ(a.pings(1), (std::vector<std::uint32_t>{11, 11, 11}));
}

TEST(AmpFaults, NotifyAnyWidthOnSubwordAndQwordWritesRing) {
  Amp a(with(Fault::NotifyAnyWidth), 2);
  EXPECT_EQ(fifos_rung(a, [&] { a.dev.bar_write(0, 0x20, 8, 0xDEAD); }), 2u);  // both FIFOs
  a.ping(12, 1);
  a.dev.bar_write(0, 0x25, 1, 0);  // byte inside NOTIFY1
  EXPECT_EQ(a.pings(1), std::vector<std::uint32_t>{12});
  a.ping(13, 0);
  a.dev.bar_write(0, 0x22, 2, 0);  // halfword inside NOTIFY0
  EXPECT_EQ(a.pings(0), std::vector<std::uint32_t>{13});
}

// ---- the set reaches the bus ---------------------------------------------------

std::uint8_t ping_response_type(Amp& a) {
  auto f = wire::encode(wire::Message{.body = wire::PingReq{5}}, wire::Profile::pr28()).value();
  f[0] = static_cast<std::uint8_t>(f[0] | 0x24);  // reserved type bits 2 and 5
  a.send(f);
  a.notify();
  auto slots = a.drain();
  EXPECT_EQ(slots.size(), 1u);
  return slots.empty() ? 0 : slots.front()[0];
}

TEST(AmpFaults, AmpConfigFaultsReachTheBus) {
  Amp off({});
  EXPECT_EQ(ping_response_type(off), 0x03);
  Amp on(with(Fault::EchoReservedTypeBits));
  EXPECT_EQ(ping_response_type(on), 0x27);
  EXPECT_TRUE(on.dev.bus(0).options().faults.has(Fault::EchoReservedTypeBits));
}

}  // namespace
}  // namespace vmsg::amp

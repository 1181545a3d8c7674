// ReferenceTarget::save/restore: a target restored from a snapshot taken right
// after the driver's bring-up must be indistinguishable from a freshly built
// target brought up by the same driver. Both run the same deterministic,
// varied stream of port operations (config reads and writes, MMIO of every
// width into every region, bulk transfers into BAR1 FIFO RAM and RAM,
// messages posted and rung, device queues polled, time steps, MSI-X
// reprogramming, and virtio sessions that configure virtqueues and hand
// buffers to rng, blk and balloon backends), and everything an observer can
// see is compared: every value read, the MSI log, the machine stats, the
// clock, all of guest RAM, and the device-side counters.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "target/trace.hpp"
#include "vmsg/amp/amp_device.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/devices/balloon.hpp"
#include "vmsg/devices/blk.hpp"
#include "vmsg/devices/rng.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/driver/guest_alloc.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/transport/minimal_endpoint.hpp"
#include "vmsg/transport/stimulus_endpoint.hpp"
#include "vmsg/transport/validating_endpoint.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::target {
namespace {

constexpr port::PciAddress kFn{0, 4, 0};
constexpr std::uint64_t kRamSize = 2ULL << 20;
/// Where the virtio sessions keep rings and buffers: 16 KiB per device number.
constexpr std::uint64_t kVirtioArea = 0x1C'0000;

enum class Kind : std::uint8_t { Minimal, Rng, Blk, Balloon };

/// One device of the test target.
struct Placement {
  unsigned fifo;
  std::uint16_t dev_num;
  Kind kind;
};

std::vector<Placement> placements(unsigned nf) {
  return {{0, 0, Kind::Minimal}, {0, 1, Kind::Rng}, {nf - 1, 2, Kind::Blk}, {nf / 2, 3, Kind::Balloon}};
}

std::shared_ptr<bus::Endpoint> make_endpoint(Kind k, std::uint16_t dev_num) {
  switch (k) {
    case Kind::Minimal:
      return std::make_shared<transport::MinimalEndpoint>(transport::MinimalIdentity{.device_id = 7u + dev_num});
    case Kind::Rng:
      return std::make_shared<transport::DeviceTransport>(std::make_unique<devices::RngBackend>());
    case Kind::Blk: {
      devices::BlkOptions o;
      o.capacity_sectors = 64;
      return std::make_shared<transport::DeviceTransport>(std::make_unique<devices::BlkBackend>(o));
    }
    case Kind::Balloon: {
      // Behind both decorators, so their state is covered too.
      auto dt = std::make_shared<transport::DeviceTransport>(std::make_unique<devices::BalloonBackend>(16));
      return std::make_shared<transport::ValidatingEndpoint>(std::make_shared<transport::StimulusEndpoint>(dt),
                                                             std::make_shared<transport::DriverRuleLog>());
    }
  }
  return nullptr;
}

std::vector<DeviceSlot> make_devices(unsigned nf) {
  std::vector<DeviceSlot> d;
  for (const Placement& p : placements(nf)) d.push_back({p.fifo, p.dev_num, make_endpoint(p.kind, p.dev_num)});
  return d;
}

ReferenceSpec spec_for(unsigned nf) {
  ReferenceSpec s;
  s.amp.num_fifos = nf;
  s.ram_size = kRamSize;
  s.address = kFn;
  s.devices = make_devices(nf);
  return s;
}

driver::AmpDriver bring_up(ReferenceTarget& t) {
  driver::GuestAllocator ram(t.port().address_map());
  driver::BarWindowAllocator window(t.port().address_map());
  return driver::AmpDriver::open(t.port(), ram, window);
}

/// Everything an observer of the port, the machine and the device sees.
struct Trace : testing::PortTrace {
  std::vector<std::uint8_t> ram;
  std::vector<std::uint64_t> counters;
  std::vector<std::string> rules;  ///< driver rules the validator logged during the stream
};

/// The validating endpoint in front of the balloon, and the transport behind it.
transport::ValidatingEndpoint& validator(const ReferenceTarget& t) {
  return dynamic_cast<transport::ValidatingEndpoint&>(*t.spec().devices[3].endpoint);
}
transport::DeviceTransport& balloon_transport(const ReferenceTarget& t) {
  auto& stim = dynamic_cast<transport::StimulusEndpoint&>(validator(t).inner());
  return dynamic_cast<transport::DeviceTransport&>(stim.inner());
}

void expect_same(const Trace& a, const Trace& b) {
  testing::expect_same_port(a, b);
  ASSERT_EQ(a.ram.size(), b.ram.size());
  for (std::size_t i = 0; i < a.ram.size(); ++i) ASSERT_EQ(a.ram[i], b.ram[i]) << "RAM byte " << i;
  EXPECT_EQ(a.counters, b.counters);
  EXPECT_EQ(a.rules, b.rules);
}

/// splitmix64: the stream generator's only source of choices.
class Choices {
 public:
  explicit Choices(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E37'79B9'7F4A'7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBULL;
    return z ^ (z >> 31);
  }
  unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }

 private:
  std::uint64_t s_;
};

/// Drives one target with the stream of `seed`, recording what it sees.
class Stream {
 public:
  Stream(ReferenceTarget& t, const driver::AmpDriver& drv, std::uint64_t seed)
      : t_(t),
        p_(t.port()),
        c_(seed),
        nf_(t.device().num_fifos()),
        places_(placements(nf_)),
        rules_before_(validator(t).log()->size()) {
    for (unsigned k = 0; k < 3; ++k) bar_[k] = drv.function().bars[k].base;
  }

  Trace run(unsigned ops) {
    for (unsigned i = 0; i < ops; ++i) step();
    Trace& tr = tr_;
    tr.msis = t_.machine().msi_log();
    tr.stats = t_.machine().stats();
    tr.now = t_.machine().now_ns();
    tr.ram.resize(static_cast<std::size_t>(t_.machine().ram().size()));
    EXPECT_TRUE(t_.machine().ram().read(0, tr.ram));
    amp::AmpPciDevice& dev = t_.device();
    for (unsigned q = 0; q < nf_; ++q) {
      const auto& cs = dev.channel(q).stats();
      const auto& bs = dev.channel(q).bus().stats();
      tr.counters.insert(tr.counters.end(), {cs.doorbells, cs.frames_consumed, cs.frames_placed, cs.frames_deferred,
                                             cs.resyncs, dev.channel(q).pending(), bs.frames_received,
                                             bs.responses_sent, bs.events_sent, bs.dropped()});
    }
    tr.counters.push_back(dev.msix()->stats().delivered);
    tr.counters.push_back(dev.msix()->stats().set_pending);
    tr.counters.push_back(dev.register_stats().doorbells);
    for (const DeviceSlot& d : t_.spec().devices) {
      const auto* dt = dynamic_cast<const transport::DeviceTransport*>(d.endpoint.get());
      if (d.endpoint.get() == &validator(t_)) dt = &balloon_transport(t_);
      if (dt != nullptr) {
        tr.counters.insert(tr.counters.end(), {dt->status(), dt->generation(), dt->driver_features(),
                                               dt->stats().requests, dt->stats().event_used_sent,
                                               dt->stats().queue_errors});
      }
    }
    const auto& v = validator(t_).log()->violations();
    for (std::size_t i = rules_before_; i < v.size(); ++i) tr.rules.push_back(v[i].rule);
    return tr;
  }

 private:
  void read(std::uint64_t v) { tr_.reads.push_back(v); }

  /// An address in one of the regions an access can reach (or none).
  std::uint64_t somewhere(unsigned size) {
    const std::uint64_t align = ~std::uint64_t{size - 1};
    switch (c_.below(6)) {
      case 0: return bar_[0] + (c_.below(0x40) & align);
      case 1: return bar_[1] + (c_.below(static_cast<unsigned>(nf_ * fifo::kWindowSize)) & align);
      case 2: return bar_[2] + (c_.below(0x40) & align);
      case 3: return kVirtioArea + (c_.below(0x10000) & align);
      case 4: return 0x10'0000 + (c_.below(0x1000) & align);  // where the driver put its MSI words
      default: return 0xD000'0000 + c_.below(0x100);           // nothing there
    }
  }

  void step() {
    switch (c_.below(12)) {
      case 0: {
        const unsigned size = 1u << c_.below(3);
        read(p_.config_read(kFn, static_cast<std::uint16_t>(c_.below(0x100) & ~(size - 1)), size));
        break;
      }
      case 1: config_write(); break;
      case 2: {
        const unsigned size = 1u << c_.below(4);
        read(p_.mmio_read(somewhere(size), size));
        break;
      }
      case 3: {
        const unsigned size = 1u << c_.below(4);
        std::uint64_t a = somewhere(size);
        if (c_.below(3) == 0) a = bar_[0] + amp::reg::notify(c_.below(nf_));  // a doorbell, maybe of a bad width
        p_.mmio_write(a, size, c_.next());
        break;
      }
      case 4: bulk(); break;
      case 5:
      case 6: post_random(); break;
      case 7: poll(c_.below(nf_)); break;
      case 8: p_.advance_time(c_.below(3) == 0 ? 0 : 1 + c_.below(1'000'000)); break;
      case 9: msix_entry(); break;
      default: virtio(); break;
    }
  }

  void config_write() {
    const std::uint16_t cap = t_.device().msix()->capability_offset();
    switch (c_.below(5)) {
      case 0: p_.config_write(kFn, 0x04, 2, 0x0006 | (c_.below(4) == 0 ? 0x400u : 0u)); break;  // MEM|BME (+INTx off)
      case 1: p_.config_write(kFn, 0x04, 2, c_.below(8)); break;  // anything, MEM/BME off included
      case 2: p_.config_write(kFn, static_cast<std::uint16_t>(cap + 2), 2, c_.below(2) == 0 ? 0x8000 : 0xC000); break;
      case 3: p_.config_write(kFn, 0x0C, 1, c_.below(256)); break;
      default: {  // a BAR back to where the driver put it (decode moves and returns)
        const unsigned k = c_.below(3);
        p_.config_write(kFn, static_cast<std::uint16_t>(0x10 + 4 * k), 4, 0xFFFF'FFFF);
        read(p_.config_read(kFn, static_cast<std::uint16_t>(0x10 + 4 * k), 4));
        p_.config_write(kFn, static_cast<std::uint16_t>(0x10 + 4 * k), 4, static_cast<std::uint32_t>(bar_[k]));
        break;
      }
    }
  }

  void bulk() {
    std::vector<std::uint8_t> b(1 + c_.below(192));
    const bool fifo_ram = c_.below(3) != 0;
    const std::uint64_t a = fifo_ram ? bar_[1] + c_.below(static_cast<unsigned>(nf_ * fifo::kWindowSize - b.size()))
                                     : kVirtioArea + c_.below(0x10000);
    if (c_.below(2) == 0) {
      for (auto& x : b) x = static_cast<std::uint8_t>(c_.next());
      p_.mem_write(a, b);
    } else {
      p_.mem_read(a, b);
      tr_.reads.insert(tr_.reads.end(), b.begin(), b.end());
    }
  }

  void msix_entry() {
    const std::uint64_t e = bar_[2] + 16u * c_.below(nf_);
    switch (c_.below(3)) {
      case 0: p_.mmio_write(e + 12, 4, c_.below(2)); break;  // mask / unmask
      case 1: p_.mmio_write(e + 8, 4, static_cast<std::uint32_t>(c_.next())); break;
      default: p_.mmio_write(e, 4, 0x10'0800 + 4u * c_.below(64)); break;
    }
  }

  /// Posts `m` into FIFO q's driver queue where the device expects it, and rings.
  void post(unsigned q, const wire::Message& m) {
    const std::uint64_t dq = bar_[1] + fifo::queue_offset(q, fifo::QueueKind::Driver);
    const auto head = static_cast<std::uint32_t>(p_.mmio_read(dq + fifo::kHeadOffset, 4)) % fifo::kSlotCount;
    read(head);
    std::vector<std::uint8_t> slot(fifo::kSlotSize, 0);
    const auto frame = wire::encode(m, wire::Profile::pr28()).value();
    std::copy(frame.begin(), frame.end(), slot.begin());
    p_.mem_write(dq + fifo::slot_offset(head), slot);
    p_.mmio_write(dq + fifo::kHeadOffset, 4, fifo::next_index(head));
    if (c_.below(8) != 0) p_.mmio_write(bar_[0] + amp::reg::notify(q), 4, 1);
  }

  /// Reads what the device queue of FIFO q holds and consumes it, as a driver.
  void poll(unsigned q) {
    const std::uint64_t vq = bar_[1] + fifo::queue_offset(q, fifo::QueueKind::Device);
    const auto head = static_cast<std::uint32_t>(p_.mmio_read(vq + fifo::kHeadOffset, 4));
    const auto tail = static_cast<std::uint32_t>(p_.mmio_read(vq + fifo::kTailOffset, 4));
    read(head);
    read(tail);
    std::vector<std::uint8_t> all(fifo::kQueueSize);
    p_.mem_read(vq, all);
    tr_.reads.insert(tr_.reads.end(), all.begin(), all.end());
    p_.mmio_write(vq + fifo::kTailOffset, 4, head % fifo::kSlotCount);
  }

  std::uint16_t token() { return static_cast<std::uint16_t>(c_.next()); }

  void post_random() {
    const unsigned q = c_.below(nf_);
    const auto dev = static_cast<std::uint16_t>(c_.below(5));  // 4 is never plugged
    wire::Body body;
    switch (c_.below(9)) {
      case 0: body = wire::PingReq{static_cast<std::uint32_t>(c_.next())}; break;
      case 1: body = wire::GetDevicesReq{.offset = 0, .count = 32}; break;
      case 2: body = wire::GetDeviceInfoReq{}; break;
      case 3: body = wire::GetDeviceFeaturesReq{.block_index = 0, .num_blocks = 2}; break;
      case 4: body = wire::GetDeviceStatusReq{}; break;
      case 5: body = wire::GetConfigReq{.offset = c_.below(8), .length = 4}; break;
      case 6: body = wire::GetVqueueReq{.index = c_.below(2)}; break;
      case 7: body = wire::SetDeviceStatusReq{.status = c_.below(2) == 0 ? 0u : c_.below(16)}; break;
      default: body = wire::EventAvail{.vq_index = c_.below(2), .next_offset = 0}; break;
    }
    post(q, {.dev_num = dev, .token = token(), .reserved_type_bits = 0, .body = body});
  }

  /// One step of a virtio session with a transport device: bring-up and
  /// queue setup (the first time), then a buffer made available and notified.
  void virtio() {
    const Placement& d = places_[1 + c_.below(3)];
    const std::uint64_t base = kVirtioArea + 0x4000u * d.dev_num;
    const std::uint64_t desc = base;
    const std::uint64_t avail = base + 0x1000;
    const std::uint64_t used = base + 0x2000;
    const std::uint64_t buf = base + 0x3000;
    auto send = [&](wire::Body b) { post(d.fifo, {.dev_num = d.dev_num, .token = token(), .reserved_type_bits = 0, .body = b}); };
    namespace st = wire::status;
    if (c_.below(6) == 0) {  // (re)negotiate and configure the queue
      send(wire::SetDeviceStatusReq{0});
      send(wire::SetDeviceStatusReq{st::kAcknowledge | st::kDriver});
      send(wire::SetDriverFeaturesReq{.block_index = 0, .features = {0, 1}});  // VERSION_1
      send(wire::SetDeviceStatusReq{st::kAcknowledge | st::kDriver | st::kFeaturesOk});
      send(wire::SetVqueueReq{.index = 0, .flags = 0, .size = 8, .reserved = 0, .desc_addr = desc,
                              .driver_addr = avail, .device_addr = used});
      send(wire::SetDeviceStatusReq{st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk});
      avail_idx_[d.dev_num] = 0;
      for (std::uint64_t a = avail; a < avail + 0x40; a += 8) p_.mmio_write(a, 8, 0);
      for (std::uint64_t a = used; a < used + 0x80; a += 8) p_.mmio_write(a, 8, 0);
    }
    // A chain at descriptor 0..2, as the device type wants it.
    constexpr std::uint16_t kNext = 1;
    constexpr std::uint16_t kWrite = 2;
    auto put_desc = [&](unsigned i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags, std::uint16_t next) {
      p_.mmio_write(desc + 16u * i, 8, addr);
      p_.mmio_write(desc + 16u * i + 8, 4, len);
      p_.mmio_write(desc + 16u * i + 12, 2, flags);
      p_.mmio_write(desc + 16u * i + 14, 2, next);
    };
    switch (d.dev_num) {
      case 1: put_desc(0, buf, 16 + c_.below(48), kWrite, 0); break;  // rng: entropy into buf
      case 2: {                                                    // blk: OUT or IN of one sector
        const std::uint32_t type = c_.below(2);
        p_.mmio_write(buf, 4, type);
        p_.mmio_write(buf + 4, 4, 0);
        p_.mmio_write(buf + 8, 8, c_.below(64));
        p_.mmio_write(buf + 0x200, 8, c_.next());
        put_desc(0, buf, 16, kNext, 1);
        put_desc(1, buf + 0x200, 512, static_cast<std::uint16_t>(kNext | (type == 0 ? kWrite : 0)), 2);
        put_desc(2, buf + 0x600, 1, kWrite, 0);
        break;
      }
      default:  // balloon: two PFNs to inflate
        p_.mmio_write(buf, 4, c_.below(1024));
        p_.mmio_write(buf + 4, 4, c_.below(1024));
        put_desc(0, buf, 8, 0, 0);
        break;
    }
    std::uint16_t& idx = avail_idx_[d.dev_num];
    p_.mmio_write(avail + 4 + 2u * (idx % 8), 2, 0);
    ++idx;
    p_.mmio_write(avail + 2, 2, idx);
    send(wire::EventAvail{.vq_index = 0, .next_offset = 0});
  }

  ReferenceTarget& t_;
  port::Port& p_;
  Choices c_;
  unsigned nf_;
  std::vector<Placement> places_;
  std::array<std::uint64_t, 3> bar_{};
  std::array<std::uint16_t, 8> avail_idx_{};
  std::size_t rules_before_;  ///< the log is the caller's: it is not restored
  Trace tr_;
};

constexpr unsigned kOps = 400;

class SnapshotTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(SnapshotTest, RestoredTargetMatchesFreshOne) {
  const unsigned nf = GetParam();
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ReferenceTarget fresh(spec_for(nf));
    const driver::AmpDriver fresh_drv = bring_up(fresh);
    const Trace want = Stream(fresh, fresh_drv, seed).run(kOps);

    ReferenceTarget reused(spec_for(nf));
    const driver::AmpDriver drv = bring_up(reused);
    const auto endpoints = reused.spec().devices;
    const ReferenceTarget::Snapshot snap = reused.save();
    const Trace dirty = Stream(reused, drv, seed + 1000).run(kOps);
    ASSERT_NE(dirty.reads, want.reads);  // the dirtying run left other state behind
    reused.restore(snap);
    expect_same(Stream(reused, drv, seed).run(kOps), want);
    // Repeatable, and the same endpoint objects stay plugged.
    reused.restore(snap);
    expect_same(Stream(reused, drv, seed).run(kOps), want);
    ASSERT_EQ(reused.spec().devices.size(), endpoints.size());
    for (std::size_t i = 0; i < endpoints.size(); ++i) EXPECT_EQ(reused.spec().devices[i].endpoint, endpoints[i].endpoint);
  }
}

TEST_P(SnapshotTest, StreamsExerciseTheBackends) {
  // The equivalence above means something only if the streams reach the
  // virtqueues and backends: check they do.
  const unsigned nf = GetParam();
  ReferenceTarget t(spec_for(nf));
  const driver::AmpDriver drv = bring_up(t);
  (void)Stream(t, drv, 3).run(kOps);
  const auto& d = t.spec().devices;
  const auto& rng = dynamic_cast<devices::RngBackend&>(dynamic_cast<transport::DeviceTransport&>(*d[1].endpoint).backend());
  const auto& blk = dynamic_cast<devices::BlkBackend&>(dynamic_cast<transport::DeviceTransport&>(*d[2].endpoint).backend());
  const auto& bal = dynamic_cast<devices::BalloonBackend&>(balloon_transport(t).backend());
  EXPECT_GT(rng.bytes_generated(), 0u);
  EXPECT_GT(blk.stats().writes + blk.stats().reads, 0u);
  EXPECT_GT(bal.stats().inflated_pfns, 0u);
  EXPECT_FALSE(t.machine().msi_log().empty());
  EXPECT_GT(validator(t).log()->size(), 0u);  // the stream breaks driver rules the validator's model judges
}

TEST_P(SnapshotTest, RestoreWithNewDevicesMatchesFreshBuild) {
  const unsigned nf = GetParam();
  for (std::uint64_t seed = 7; seed <= 9; ++seed) {
    ReferenceTarget fresh(spec_for(nf));
    const driver::AmpDriver fresh_drv = bring_up(fresh);
    const Trace want = Stream(fresh, fresh_drv, seed).run(kOps);

    ReferenceTarget reused(spec_for(nf));
    const driver::AmpDriver drv = bring_up(reused);
    const ReferenceTarget::Snapshot snap = reused.save(SnapshotScope::WithoutEndpoints);
    EXPECT_THROW(reused.restore(snap), SnapshotError);  // no endpoint states to put back
    (void)Stream(reused, drv, seed + 1000).run(kOps);
    if (seed == 8) {
      // Endpoints dropped before the next restore plugs new ones (fuzz_device
      // and fuzz_diff do this when an input ends): gone at once, same result.
      reused.restore(snap, make_devices(nf));  // endpoints that only the target holds
      const std::weak_ptr<bus::Endpoint> old = reused.spec().devices.front().endpoint;
      reused.unplug_devices();
      EXPECT_TRUE(reused.spec().devices.empty());
      EXPECT_TRUE(old.expired());
    }
    reused.restore(snap, make_devices(nf));
    expect_same(Stream(reused, drv, seed).run(kOps), want);
  }
}

INSTANTIATE_TEST_SUITE_P(Fifos, SnapshotTest, ::testing::Values(1u, 2u, 4u));

TEST(Snapshot, RestoreAfterResetAndOlderSnapshots) {
  ReferenceTarget fresh(spec_for(2));
  const driver::AmpDriver fresh_drv = bring_up(fresh);
  const Trace want = Stream(fresh, fresh_drv, 42).run(kOps);

  ReferenceTarget t(spec_for(2));
  const driver::AmpDriver drv = bring_up(t);
  const ReferenceTarget::Snapshot early = t.save();
  (void)Stream(t, drv, 5).run(kOps);
  const ReferenceTarget::Snapshot later = t.save();  // moves the RAM mark away from `early`
  (void)Stream(t, drv, 6).run(kOps);
  t.restore(early);  // not the mark: every page dirty since the last clear is compared
  expect_same(Stream(t, drv, 42).run(kOps), want);
  t.reset(make_devices(2));  // other endpoints, buses rebuilt in place
  (void)Stream(t, drv, 8).run(50);
  t.restore(early);
  expect_same(Stream(t, drv, 42).run(kOps), want);
  t.restore(later);
  t.restore(early);
  expect_same(Stream(t, drv, 42).run(kOps), want);
}

TEST(Snapshot, ForeignSnapshotIsRefused) {
  ReferenceTarget a(spec_for(2));
  ReferenceTarget b(spec_for(2));
  (void)bring_up(a);
  const driver::AmpDriver drv_b = bring_up(b);
  const ReferenceTarget::Snapshot from_a = a.save();
  (void)Stream(b, drv_b, 11).run(100);
  const auto msis = b.machine().msi_log();
  const auto now = b.machine().now_ns();
  EXPECT_THROW(b.restore(from_a), SnapshotError);
  EXPECT_THROW(b.restore(from_a, make_devices(2)), SnapshotError);
  EXPECT_THROW(b.restore(ReferenceTarget::Snapshot{}), SnapshotError);
  EXPECT_EQ(b.machine().msi_log(), msis);
  EXPECT_EQ(b.machine().now_ns(), now);
  // Another spec altogether (more FIFOs) is refused the same way.
  ReferenceTarget c(spec_for(4));
  EXPECT_THROW(c.restore(from_a), SnapshotError);
  // A SnapshotError is a ConfigError, for callers that handle only those.
  EXPECT_THROW(c.restore(from_a), ConfigError);
}

TEST(Snapshot, SnapshotWithTrafficNeedsItsOwnEndpoints) {
  ReferenceTarget t(spec_for(1));
  const driver::AmpDriver drv = bring_up(t);
  (void)Stream(t, drv, 12).run(100);
  const ReferenceTarget::Snapshot busy = t.save();
  EXPECT_THROW(t.restore(busy, make_devices(1)), SnapshotError);
  EXPECT_NO_THROW(t.restore(busy));
}

/// An endpoint that keeps state but does not implement save_state.
class Opaque final : public bus::Endpoint {
 public:
  void attach(std::uint16_t, bus::Outbox&) override {}
  void receive(const wire::Message&) override {}
};

/// A backend that does not implement save_state.
class OpaqueBackend final : public transport::Backend {
 public:
  std::uint32_t device_id() const override { return 99; }
  std::uint64_t device_features() const override { return 0; }
  unsigned num_queues() const override { return 0; }
  std::uint32_t max_queue_size(unsigned) const override { return 0; }
  std::uint32_t config_size() const override { return 0; }
  void read_config(std::uint32_t, std::span<std::uint8_t>) const override {}
  bool write_config(std::uint32_t, std::span<const std::uint8_t>) override { return false; }
  void reset() override {}
  virtqueue::Status process(unsigned, virtqueue::SplitQueue&) override { return std::nullopt; }
};

TEST(Snapshot, EndpointThatCannotSaveMakesSaveFail) {
  for (auto ep : {std::shared_ptr<bus::Endpoint>(std::make_shared<Opaque>()),
                  std::shared_ptr<bus::Endpoint>(
                      std::make_shared<transport::DeviceTransport>(std::make_unique<OpaqueBackend>()))}) {
    ReferenceSpec s = spec_for(1);
    s.devices.push_back({0, 9, ep});
    ReferenceTarget t(s);
    const driver::AmpDriver drv = bring_up(t);
    const ReferenceTarget::Snapshot before = t.save(SnapshotScope::WithoutEndpoints);
    (void)Stream(t, drv, 13).run(50);
    const auto msis = t.machine().msi_log();
    EXPECT_THROW((void)t.save(), SnapshotError);
    EXPECT_EQ(t.machine().msi_log(), msis);
    // The refused save left the RAM mark alone: the older snapshot still restores.
    std::vector<DeviceSlot> again = make_devices(1);
    again.push_back({0, 9, ep});
    EXPECT_THROW(t.restore(before), SnapshotError);
    EXPECT_NO_THROW(t.restore(before, again));
    EXPECT_TRUE(t.machine().msi_log().empty());
  }
}

TEST(Snapshot, EndpointStateRefusesOtherObjects) {
  transport::MinimalEndpoint a;
  transport::MinimalEndpoint b;
  transport::DeviceTransport rng(std::make_unique<devices::RngBackend>());
  const snapshot::Handle sa = a.save_state();
  EXPECT_NO_THROW(a.restore_state(sa));
  EXPECT_THROW(b.restore_state(sa), SnapshotError);
  EXPECT_THROW(rng.restore_state(sa), SnapshotError);
  EXPECT_THROW(a.restore_state(rng.save_state()), SnapshotError);
  EXPECT_THROW(a.restore_state(nullptr), SnapshotError);
}

TEST(Snapshot, GuestRamRestoresByDirtyPage) {
  machine::GuestRam ram(64 * 4096);
  ASSERT_TRUE(ram.store(5 * 4096 + 3, 8, 0x1122334455667788ULL));
  const machine::GuestRam::Snapshot s1 = ram.save();
  EXPECT_EQ(s1.bytes(), 4096u);  // one page was ever written
  ASSERT_TRUE(ram.store(5 * 4096 + 3, 1, 0xFF));
  ASSERT_TRUE(ram.store(63 * 4096, 4, 0xDEADBEEF));
  const machine::GuestRam::Snapshot s2 = ram.save();
  ASSERT_TRUE(ram.store(7 * 4096, 4, 1));
  ram.restore(s1);  // not the mark
  EXPECT_EQ(ram.load(5 * 4096 + 3, 8), 0x1122334455667788ULL);
  EXPECT_EQ(ram.load(63 * 4096, 4), 0u);
  EXPECT_EQ(ram.load(7 * 4096, 4), 0u);
  ram.restore(s2);
  EXPECT_EQ(ram.load(5 * 4096 + 3, 1), 0xFFu);
  EXPECT_EQ(ram.load(63 * 4096, 4), 0xDEADBEEFu);
  ram.clear();
  ram.restore(s2);
  EXPECT_EQ(ram.load(63 * 4096, 4), 0xDEADBEEFu);
  machine::GuestRam other(64 * 4096);
  EXPECT_THROW(other.restore(s2), SnapshotError);
}

}  // namespace
}  // namespace vmsg::target

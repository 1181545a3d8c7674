#include "harness/driver_harness.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/check.hpp"
#include "harness/driver_device.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/driver/blk_driver.hpp"
#include "vmsg/driver/bus_driver.hpp"
#include "vmsg/driver/fifo_link.hpp"
#include "vmsg/driver/guest_alloc.hpp"
#include "vmsg/driver/rng_driver.hpp"
#include "vmsg/driver/transport_driver.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::fuzz {

namespace {

namespace ops = driver_ops;
namespace drv = vmsg::driver;
using ops::Kind;

// ---- the machine the drivers see ------------------------------------------------
constexpr std::uint64_t kRamSize = 0x40000;   ///< guest RAM at 0
constexpr std::uint64_t kRamBase = 0x1000;    ///< first byte the driver may allocate
constexpr std::uint64_t kReserve = 0x4000;    ///< allocating calls run only with this much left
constexpr std::uint64_t kBar0 = 0xE000'0000;  ///< doorbells
constexpr std::uint64_t kBar0Size = 0x1000;
constexpr std::uint64_t kNotify = kBar0 + 0x20;  ///< NOTIFY of FIFO 0
constexpr std::uint64_t kBar1 = 0xE001'0000;     ///< FIFO 0 window
constexpr std::uint64_t kPortBudget = 200'000;   ///< port accesses per driver call (oracle b)
constexpr std::uint64_t kRingPacked = std::uint64_t{1} << 34;
constexpr std::uint64_t kNotificationData = std::uint64_t{1} << 38;
constexpr std::uint64_t kNotifConfigData = std::uint64_t{1} << 39;
constexpr std::uint64_t kRingReset = std::uint64_t{1} << 40;
constexpr std::uint64_t kEventIdx = std::uint64_t{1} << 29;
constexpr std::uint64_t kVersion1 = std::uint64_t{1} << 32;

bool within(std::uint64_t addr, std::uint64_t len, std::uint64_t lo, std::uint64_t hi) {
  return addr >= lo && addr <= hi && len <= hi - addr;
}

}  // namespace

// ---------------------------------------------------------------------------
// The port the drivers run on, and oracles (b) and (c).
class DriverPort final : public port::Port {
 public:
  DriverPort() : ram_(kRamSize, 0), bar1_(fifo::kWindowSize, 0) {}

  void attach(ScriptedDevice& dev, const drv::GuestAllocator& alloc) {
    dev_ = &dev;
    alloc_ = &alloc;
  }
  void begin_call() { accesses_ = 0; }
  std::span<std::uint8_t> ram() noexcept { return ram_; }
  std::span<std::uint8_t> bar1() noexcept { return bar1_; }

  std::uint32_t config_read(port::PciAddress, std::uint16_t, unsigned) override {
    VMSG_FUZZ_CHECK(false, "a virtio driver read PCI config space");
    return 0;
  }
  void config_write(port::PciAddress, std::uint16_t, unsigned, std::uint32_t) override {
    VMSG_FUZZ_CHECK(false, "a virtio driver wrote PCI config space");
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    VMSG_FUZZ_CHECK(size <= 8, "MMIO read wider than 8 bytes");
    std::array<std::uint8_t, 8> b{};
    mem_read(addr, std::span(b).first(size));
    return le::load64(b, 0);
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    VMSG_FUZZ_CHECK(size <= 8, "MMIO write wider than 8 bytes");
    if (addr == kNotify && size == 4) {
      count();
      if (dev_ != nullptr) dev_->doorbell();
      return;
    }
    std::array<std::uint8_t, 8> b{};
    le::store64(b, 0, value);
    mem_write(addr, std::span<const std::uint8_t>(b).first(size));
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    count();
    std::span<std::uint8_t> src = place(addr, out.size(), false);
    std::copy(src.begin(), src.end(), out.begin());
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    count();
    std::span<std::uint8_t> dst = place(addr, data.size(), true);
    std::copy(data.begin(), data.end(), dst.begin());
  }
  void advance_time(std::uint64_t) override {
    count();
    if (dev_ != nullptr) dev_->tick();
  }
  [[nodiscard]] port::AddressMap address_map() const override {
    return port::AddressMap{kRamBase, kRamSize - kRamBase, kBar0, 0x1000'0000};
  }

 private:
  void count() {
    VMSG_FUZZ_CHECK(++accesses_ <= kPortBudget,
                    "one driver call made more than " + std::to_string(kPortBudget) + " port accesses");
  }

  /// Oracle (c): the bytes an access may touch, or an oracle failure.
  std::span<std::uint8_t> place(std::uint64_t addr, std::size_t len, bool write) {
    const std::uint64_t top = kRamBase + (alloc_ != nullptr ? alloc_->pool().used() : 0);
    if (within(addr, len, kRamBase, top)) return std::span(ram_).subspan(static_cast<std::size_t>(addr), len);
    if (addr >= kBar1 && within(addr, len, kBar1, kBar1 + fifo::kWindowSize)) {
      const auto off = static_cast<std::uint32_t>(addr - kBar1);
      constexpr std::uint32_t kDrvQ = fifo::kDriverQueueOffset;
      constexpr std::uint32_t kDevQ = fifo::kDeviceQueueOffset;
      const bool driver_queue = within(off, len, kDrvQ, kDrvQ + fifo::kQueueSize);
      const bool device_queue = within(off, len, kDevQ, kDevQ + fifo::kQueueSize);
      bool ok = driver_queue || device_queue;
      if (write) {
        ok = within(off, len, kDrvQ + fifo::kHeadOffset, kDrvQ + fifo::kHeadOffset + 4) ||
             within(off, len, kDrvQ + fifo::kSlotsOffset, kDrvQ + fifo::kQueueSize) ||
             within(off, len, kDevQ + fifo::kTailOffset, kDevQ + fifo::kTailOffset + 4);
      }
      VMSG_FUZZ_CHECK(ok, std::string("driver ") + (write ? "wrote" : "read") + " BAR1 offset " +
                              std::to_string(off) + " +" + std::to_string(len) + " outside its queue fields");
      return std::span(bar1_).subspan(off, len);
    }
    VMSG_FUZZ_CHECK(false, std::string("driver ") + (write ? "wrote" : "read") + " " + std::to_string(len) +
                               " bytes at " + std::to_string(addr) + ": not allocated guest RAM (allocated up to " +
                               std::to_string(top) + ") nor a FIFO queue" +
                               (addr >= kBar0 && addr < kBar0 + kBar0Size ? " (BAR0 other than NOTIFY)" : ""));
    return {};
  }

  std::vector<std::uint8_t> ram_;
  std::vector<std::uint8_t> bar1_;
  ScriptedDevice* dev_ = nullptr;
  const drv::GuestAllocator* alloc_ = nullptr;
  std::uint64_t accesses_ = 0;
};

// ---------------------------------------------------------------------------
namespace {

drv::FifoLinkConfig link_config(const ops::Setup& s) {
  drv::FifoLinkConfig c;
  c.profile = s.profile.wire();  // PR28 or REV1, as the input's prefix chose
  c.bar0 = kBar0;
  c.bar1 = kBar1;
  c.fifo = 0;
  c.max_polls = 4;
  c.poll_step_ns = 1000;
  return c;
}

drv::TransportDriverOptions transport_options(const ops::Setup& s) {
  drv::TransportDriverOptions o;
  o.strict_config_generation = s.profile.strict_config_generation;  // REV1 only; PR28 always tracks it
  o.config_read_retries = 3;
  o.config_write_retries = 2;
  o.wait_polls = 4;
  o.wait_step_ns = 1000;
  return o;
}

drv::RngDriverOptions rng_options(const ops::Setup& s) {
  drv::RngDriverOptions o;
  o.queue_size = 1U << s.queue_log2;
  o.buffer_size = s.rng_buffer;
  o.buffers = s.rng_buffers;
  o.event_idx = s.event_idx;
  o.no_interrupt = s.no_interrupt;
  o.max_empty_rounds = 2;
  return o;
}

drv::BlkDriverOptions blk_options(const ops::Setup& s) {
  drv::BlkDriverOptions o;
  o.queue_size = 1U << s.queue_log2;
  o.slots = s.slots;
  o.max_request_bytes = std::uint32_t{s.request_sectors} * drv::vblk::kSectorSize;
  o.event_idx = s.event_idx;
  o.no_interrupt = s.no_interrupt;
  return o;
}

/// Codes a driver returns before sending anything when the caller asks for
/// something the current state does not allow.
bool caller_side(drv::VirtioErrc c) {
  using E = drv::VirtioErrc;
  return c == E::NotReady || c == E::OutOfRange || c == E::BadRequest || c == E::BadQueueSize || c == E::Unsupported;
}

}  // namespace

/// What the harness knows about the driver while the device behaved.
enum class Phase : std::uint8_t { Reset, FeaturesOk, Live };

struct DriverHarness::Impl {
  explicit Impl(const ops::Setup& s)
      : setup(s),
        dev(s, port.ram(), port.bar1()),
        ram(port.address_map()),
        link(port, link_config(s)),
        bus(link),
        t(bus, ops::kDevNum, transport_options(s)),
        rng(t, ram, rng_options(s)),
        blk(t, ram, blk_options(s)) {
    port.attach(dev, ram);
  }

  void run(const ops::Op& op);
  void call(const ops::Op& op);
  void device_action(const ops::Op& op);
  template <typename R>
  void settle(const char* what, bool proper, const R& r);

  [[nodiscard]] bool clean() const { return known && !dev.fired(); }
  [[nodiscard]] bool room() const { return ram.pool().remaining() >= kReserve; }
  [[nodiscard]] std::uint32_t qsize() const { return 1U << setup.queue_log2; }
  void forget_queues() {
    configured.clear();
    rng_ready = false;
    blk_ready = false;
  }
  [[nodiscard]] bool queue_ok(std::uint32_t size) const {
    return setup.max_queues >= 1 && setup.max_size >= size;
  }
  [[nodiscard]] std::uint64_t expect_negotiated(std::uint64_t wanted) const {
    // REV1 L895: a virtio-msg driver never accepts NOTIF_CONFIG_DATA either.
    const std::uint64_t never = kRingPacked | kNotificationData | (setup.profile.rev1 ? kNotifConfigData : 0);
    return offered_features(setup) & wanted & ~never;
  }
  [[nodiscard]] bool blk_sane(std::uint64_t neg) const {
    // Enough config for what init reads, a size_max that holds a sector, and
    // a ring that holds a request chain (header + <= 4 data + status).
    const auto& c = setup.config;
    if (c.size() < 8 || setup.queue_log2 < 3) return false;
    if ((neg & (std::uint64_t{1} << drv::vblk::kFeatSizeMax)) != 0) {
      if (c.size() < 12 || le::load32(c, 8) < drv::vblk::kSectorSize) return false;
    }
    if ((neg & (std::uint64_t{1} << drv::vblk::kFeatSegMax)) != 0 && c.size() < 16) return false;
    return true;
  }
  /// Capacity as the device's config states it (0 if the config is too short).
  [[nodiscard]] std::uint64_t capacity() const {
    return dev.config().size() >= 8 ? le::load64(dev.config(), 0) : 0;
  }
  /// `bytes` from `sector` is whole sectors inside capacity and medium.
  [[nodiscard]] bool whole_sectors_within(std::uint64_t sector, std::uint32_t bytes) const {
    return bytes % drv::vblk::kSectorSize == 0 &&
           sector + bytes / drv::vblk::kSectorSize <= std::min<std::uint64_t>(capacity(), ops::kDiskSectors);
  }

  ops::Setup setup;
  DriverPort port;
  ScriptedDevice dev;
  drv::GuestAllocator ram;
  drv::FifoLink link;
  drv::BusDriver bus;
  drv::TransportDriver t;
  drv::RngDriver rng;
  drv::BlkDriver blk;

  bool verbose = std::getenv("VMSG_FUZZ_VERBOSE") != nullptr;  ///< print every call's result
  bool known = true;  ///< the harness's model of the driver state is exact
  Phase phase = Phase::Reset;
  std::uint64_t negotiated = 0;
  std::map<std::uint32_t, bool> configured;  ///< queues set up (value unused)
  bool rng_ready = false;
  bool blk_ready = false;
  std::uint64_t exact = 0;
};

template <typename R>
void DriverHarness::Impl::settle(const char* what, bool proper, const R& r) {
  if (verbose) {
    std::fprintf(stderr, "driver: %-20s %s%s%s\n", what, clean() ? (proper ? "[must succeed] " : "[clean] ") : "",
                 r.ok() ? "ok" : drv::describe(r.error()).c_str(), "");
  }
  if (!r.ok()) {
    // Oracle (a): an error is one of the documented codes, with an account.
    VMSG_FUZZ_CHECK(drv::to_string(r.error().code) != "?" && !drv::describe(r.error()).empty(),
                    std::string(what) + " returned an error code outside VirtioErrc");
  }
  if (!clean()) return;
  if (proper) {
    VMSG_FUZZ_CHECK(r.ok(), std::string(what) + " failed against a well-behaved device: " +
                                (r.ok() ? std::string() : drv::describe(r.error())));
    ++exact;
  } else if (!r.ok() && !caller_side(r.error().code)) {
    known = false;  // something was exchanged and refused: the state is the driver's business now
  }
}

void DriverHarness::Impl::run(const ops::Op& op) {
  if (!ops::is_driver_call(op.kind)) {
    device_action(op);
    return;
  }
  port.begin_call();
  dev.begin_call(op.faults);
  try {
    call(op);
  } catch (const std::exception& e) {
    VMSG_FUZZ_CHECK(false, std::string("a driver call threw instead of returning a VirtioError: ") + e.what());
  } catch (...) {
    VMSG_FUZZ_CHECK(false, "a driver call threw a non-std exception");
  }
  dev.end_call();
}

void DriverHarness::Impl::device_action(const ops::Op& op) {
  dev.mark_fired();  // any device-side action ends the well-behaved stretch
  port.begin_call();
  switch (op.kind) {
    case Kind::Inject: {
      wire::Message m = op.message;
      if (!op.flag) m.dev_num = ops::kDevNum;
      dev.post(m);
      break;
    }
    case Kind::RawFrame:
      dev.push_raw(op.bytes);
      break;
    case Kind::Dma: {
      const std::uint64_t used = std::max<std::uint64_t>(ram.pool().used(), 1);
      dev.dma(op.flag ? op.offset : kRamBase + op.offset % used, op.bytes);
      break;
    }
    case Kind::RingWrite:
      dev.ring_write(op.queue, op.len, op.value);
      break;
    case Kind::ConfigChange:
      dev.config_change(op.offset, static_cast<std::uint8_t>(op.value), op.flag);
      break;
    case Kind::Time:
      bus.idle(op.value);
      break;
    default:
      break;
  }
}

void DriverHarness::Impl::call(const ops::Op& op) {
  switch (op.kind) {
    case Kind::GetInfo: {
      auto r = t.get_info();
      settle("get_info", true, r);
      if (clean() && r) {
        // PR28 counts feature bits, REV1 32-bit blocks (and leaves the bit count 0).
        const bool features_ok = setup.profile.rev1
                                     ? r->num_feature_blocks == (std::uint32_t{setup.feature_bits} + 31) / 32 &&
                                           r->num_feature_bits == 0
                                     : r->num_feature_bits == setup.feature_bits;
        VMSG_FUZZ_CHECK(r->device_id == device_id_of(setup) && features_ok &&
                            r->config_size == setup.config.size() && r->max_virtqueues == setup.max_queues,
                        "get_info returned other fields than the device sent");
      }
      break;
    }
    case Kind::GetStatus: {
      auto r = t.get_status();
      settle("get_status", true, r);
      if (clean() && r) VMSG_FUZZ_CHECK(*r == dev.status(), "get_status differs from the device's status");
      break;
    }
    case Kind::Reset: {
      auto r = t.reset();
      settle("reset", true, r);
      if (r) {
        phase = Phase::Reset;
        negotiated = 0;
        forget_queues();
      }
      break;
    }
    case Kind::Init: {
      auto r = t.init(op.value);
      settle("init", true, r);
      if (r) {
        if (clean()) {
          VMSG_FUZZ_CHECK(*r == expect_negotiated(op.value) && dev.negotiated() == *r,
                          "init negotiated other features than offered & wanted, or told the device otherwise");
        }
        phase = Phase::FeaturesOk;
        negotiated = *r;
        forget_queues();
      }
      break;
    }
    case Kind::DriverOk: {
      auto r = t.driver_ok();
      settle("driver_ok", phase == Phase::FeaturesOk, r);
      if (r) phase = Phase::Live;
      break;
    }
    case Kind::ReadConfig: {
      const auto& c = dev.config();
      if (op.flag) {
        const std::uint32_t width = op.len % 2 == 0 ? 4 : 8;
        const bool proper = std::uint64_t{op.offset} + width <= c.size();
        std::optional<std::uint64_t> got;
        if (width == 4) {
          auto r = t.read_config32(op.offset);
          settle("read_config32", proper, r);
          if (r) got = *r;
        } else {
          auto r = t.read_config64(op.offset);
          settle("read_config64", proper, r);
          if (r) got = *r;
        }
        if (clean() && got) {
          VMSG_FUZZ_CHECK(proper, "read_config32/64 beyond config_size succeeded");
          std::array<std::uint8_t, 8> want{};
          std::copy_n(c.begin() + op.offset, width, want.begin());
          VMSG_FUZZ_CHECK(*got == le::load64(want, 0), "read_config32/64 differs from the device's config");
        }
      } else {
        const bool proper = std::uint64_t{op.offset} + op.len <= c.size();
        auto r = t.read_config(op.offset, op.len);
        settle("read_config", proper, r);
        if (clean() && r) {
          VMSG_FUZZ_CHECK(proper, "read_config beyond config_size succeeded");
          VMSG_FUZZ_CHECK(r->size() == op.len && std::equal(r->begin(), r->end(), c.begin() + op.offset),
                          "read_config differs from the device's config");
        }
      }
      break;
    }
    case Kind::WriteConfig: {
      const bool proper = std::uint64_t{op.offset} + op.bytes.size() <= dev.config().size();
      auto r = t.write_config(op.offset, op.bytes);
      settle("write_config", proper, r);
      if (clean() && r) {
        VMSG_FUZZ_CHECK(proper, "write_config beyond config_size succeeded");
        VMSG_FUZZ_CHECK(std::equal(op.bytes.begin(), op.bytes.end(), dev.config().begin() + op.offset),
                        "write_config succeeded but the device holds other bytes");
      }
      break;
    }
    case Kind::RefreshConfig:
      settle("refresh_config", true, t.refresh_config());
      break;
    case Kind::SetupQueue: {
      if (!room()) break;
      const std::uint32_t size = op.len;
      const bool proper = phase != Phase::Reset && op.queue < setup.max_queues && configured.count(op.queue) == 0 &&
                          std::has_single_bit(size) && size <= setup.max_size;
      auto r = t.setup_queue(op.queue, size, ram, op.flag);
      settle("setup_queue", proper, r);
      if (r) configured[op.queue] = true;
      break;
    }
    case Kind::ResetQueue: {
      auto r = t.reset_queue(op.queue);
      settle("reset_queue", (negotiated & kRingReset) != 0, r);
      if (r) {
        configured.erase(op.queue);
        if (op.queue == 0) rng_ready = blk_ready = false;
      }
      break;
    }
    case Kind::Kick:
    case Kind::Notify: {
      const bool proper = phase == Phase::Live && configured.count(op.queue) != 0;
      auto r = op.kind == Kind::Kick ? t.kick(op.queue) : t.notify(op.queue);
      settle("kick/notify", proper, r);
      break;
    }
    case Kind::Poll:
      settle("poll", true, t.poll());
      break;
    case Kind::TakeUsed: {
      drv::SplitQueueDriver* sq = t.queue(op.queue);
      const bool pending = sq != nullptr && sq->has_used();
      auto r = t.take_used(op.queue);
      settle("take_used", configured.count(op.queue) != 0, r);
      // The ring showed unreaped entries: taking them yields them or an error.
      VMSG_FUZZ_CHECK(!pending || !r || !r->empty(), "has_used() was true but take_used returned nothing");
      break;
    }
    case Kind::CachedConfig: {
      (void)t.config_stale();
      auto c = t.cached_config(op.offset, op.len);
      const auto& cfg = dev.config();
      if (clean() && c) {
        // While the device behaves, the cache never holds bytes it does not have.
        VMSG_FUZZ_CHECK(std::uint64_t{op.offset} + op.len <= cfg.size() && c->size() == op.len &&
                            std::equal(c->begin(), c->end(), cfg.begin() + op.offset),
                        "cached_config holds other bytes than the device's config");
      }
      break;
    }
    case Kind::BusEvents: {
      (void)bus.has_events(ops::kDevNum);
      VMSG_FUZZ_CHECK(link.waiting() < fifo::kSlotCount, "FifoLink::waiting() beyond the ring's capacity");
      if (op.flag) {
        bus.discard_events(ops::kDevNum);
        VMSG_FUZZ_CHECK(!bus.has_events(ops::kDevNum), "events left after discard_events");
      }
      break;
    }
    case Kind::WaitUsed:
      settle("wait_used", false, t.wait_used(op.queue));
      break;
    case Kind::RngInit: {
      if (!room()) break;
      const bool proper = setup.kind == ops::DevKind::Rng && queue_ok(qsize());
      auto r = rng.init();
      settle("rng init", proper, r);
      if (r) {
        phase = Phase::Live;
        negotiated = t.features();
        forget_queues();
        configured[0] = true;
        rng_ready = proper;
      }
      break;
    }
    case Kind::RngRead: {
      auto r = rng.read(op.len);
      settle("rng read", rng_ready, r);
      if (clean() && r) {
        const auto supplied = dev.rng_pending();
        VMSG_FUZZ_CHECK(supplied.size() >= r->size() && std::equal(r->begin(), r->end(), supplied.begin()),
                        "rng read returned other bytes than the device supplied, in its order");
        dev.rng_take(r->size());
      }
      break;
    }
    case Kind::BlkInit: {
      if (!room()) break;
      const std::uint64_t wanted = kVersion1 | (std::uint64_t{1} << drv::vblk::kFeatFlush) |
                                   (std::uint64_t{1} << drv::vblk::kFeatRo) |
                                   (std::uint64_t{1} << drv::vblk::kFeatBlkSize) |
                                   (std::uint64_t{1} << drv::vblk::kFeatSegMax) |
                                   (std::uint64_t{1} << drv::vblk::kFeatSizeMax) | (setup.event_idx ? kEventIdx : 0);
      const bool proper = setup.kind == ops::DevKind::Blk && queue_ok(qsize()) && blk_sane(expect_negotiated(wanted));
      auto r = blk.init();
      settle("blk init", proper, r);
      if (r) {
        phase = Phase::Live;
        negotiated = t.features();
        forget_queues();
        configured[0] = true;
        blk_ready = proper;
        if (clean()) VMSG_FUZZ_CHECK(blk.capacity() == capacity(), "blk capacity differs from config");
      }
      break;
    }
    case Kind::BlkRead: {
      std::vector<std::uint8_t> buf(op.len);
      const bool proper = blk_ready && whole_sectors_within(op.sector, op.len);
      const std::vector<std::uint8_t> want =
          proper ? std::vector<std::uint8_t>(dev.disk().begin() + static_cast<long>(op.sector * drv::vblk::kSectorSize),
                                             dev.disk().begin() + static_cast<long>(op.sector * drv::vblk::kSectorSize + buf.size()))
                 : std::vector<std::uint8_t>{};
      auto r = blk.read(op.sector, buf);
      settle("blk read", proper, r);
      if (clean() && r && proper) VMSG_FUZZ_CHECK(buf == want, "blk read returned other data than the medium holds");
      break;
    }
    case Kind::BlkWrite: {
      std::vector<std::uint8_t> data(op.len);
      for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = op.bytes.empty() ? static_cast<std::uint8_t>(i) : op.bytes[i % op.bytes.size()];
      }
      const bool proper = blk_ready && whole_sectors_within(op.sector, op.len) &&
                          (negotiated & (std::uint64_t{1} << drv::vblk::kFeatRo)) == 0;
      auto r = blk.write(op.sector, data);
      settle("blk write", proper, r);
      if (clean() && r && proper) {
        VMSG_FUZZ_CHECK(std::equal(data.begin(), data.end(),
                                   dev.disk().begin() + static_cast<long>(op.sector * drv::vblk::kSectorSize)),
                        "blk write succeeded but the medium holds other data");
      }
      break;
    }
    case Kind::BlkFlush:
      settle("blk flush", blk_ready && (negotiated & (std::uint64_t{1} << drv::vblk::kFeatFlush)) != 0, blk.flush());
      break;
    case Kind::BlkGetId: {
      auto r = blk.get_id();
      settle("blk get_id", blk_ready, r);
      if (clean() && r && blk_ready) VMSG_FUZZ_CHECK(*r == kBlkSerial, "blk get_id differs from the device's serial");
      break;
    }
    case Kind::BlkCapacity: {
      auto r = blk.refresh_capacity();
      settle("blk refresh_capacity", dev.config().size() >= 8, r);
      if (clean() && r) VMSG_FUZZ_CHECK(*r == capacity(), "blk capacity differs from config");
      break;
    }
    case Kind::BlkExecute: {
      drv::BlkRequest req;
      req.type = static_cast<std::uint32_t>(op.value);
      req.sector = op.sector;
      req.out = op.bytes;
      req.in_len = op.len;
      settle("blk execute", false, blk.execute(req));
      break;
    }
    default:
      break;
  }
}

DriverHarness::DriverHarness(const ops::Setup& setup) : impl_(std::make_unique<Impl>(setup)) {}
DriverHarness::~DriverHarness() = default;
void DriverHarness::run(const ops::Op& op) { impl_->run(op); }
std::uint64_t DriverHarness::exact_checks() const noexcept { return impl_->exact; }
bool DriverHarness::clean() const noexcept { return impl_->clean(); }

}  // namespace vmsg::fuzz

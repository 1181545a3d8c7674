#include "harness/device_harness.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "common/check.hpp"
#include "vmsg/amp/amp_device.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/driver/msix_setup.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/transport/minimal_endpoint.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::fuzz {

namespace {

using device_ops::Kind;
using device_ops::Region;

using device_ops::kCmdBme;
using device_ops::kCmdIntxDisable;
using device_ops::kCmdMem;
using device_ops::kMsixEnable;
constexpr std::uint32_t kPingBase = 0xF00D0000;
constexpr std::uint16_t kPingToken = 0x5A5A;

std::string hex(std::uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), digits[v & 0xF]);
    v >>= 4;
  } while (v != 0);
  return "0x" + s;
}

std::vector<target::DeviceSlot> make_devices(const device_ops::Setup& s) {
  const unsigned nf = device_ops::kFifoChoices[s.fifo_choice % 4];
  std::vector<target::DeviceSlot> devices;
  for (unsigned q = 0; q < nf; ++q) {
    for (unsigned i = 0; i < 8; ++i) {
      if (((unsigned{s.devices[q]}) >> i) & 1u) {
        devices.push_back({q, device_ops::kDevNums[i],
                           std::make_shared<transport::MinimalEndpoint>(
                               transport::MinimalIdentity{.device_id = 100u + q * 32u + device_ops::kDevNums[i]},
                               s.profile.layout())});
      }
    }
  }
  return devices;
}

/// The driver speaks the input's draft: its links encode, decode and judge in it.
driver::AmpDriverOptions driver_options(const device_ops::Setup& s) {
  driver::AmpDriverOptions o;
  o.profile = s.profile.wire();
  return o;
}

target::ReferenceSpec make_spec(const device_ops::Setup& s, bus::DriverRuleSink& rules) {
  target::ReferenceSpec spec;
  spec.amp.bus.rule_sink = &rules;
  // The input's draft for the whole function: codec, bus and configuration profile.
  spec.amp.profile = s.profile.wire();
  spec.amp.bus.strict_config_generation = s.profile.strict_config_generation;
  spec.amp.num_fifos = device_ops::kFifoChoices[s.fifo_choice % 4];
  spec.ram_size = DeviceHarness::kRamSize;
  spec.address = DeviceHarness::kAddr;
  spec.devices = make_devices(s);
  return spec;
}

}  // namespace

namespace {
/// The bare machine, with every write recorded (TargetPool's bring-up log).
class RecordingPort final : public port::Port {
 public:
  using Write = TargetPool::Entry::Write;
  RecordingPort(machine::Machine& m, std::vector<Write>& log) : m_(m), log_(log) {}
  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override {
    return m_.config_read(fn, offset, size);
  }
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override {
    if (recording) log_.push_back({Write::Kind::Config, offset, size, value, {}});
    m_.config_write(fn, offset, size, value);
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override { return m_.mmio_read(addr, size); }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    if (recording) log_.push_back({Write::Kind::Mmio, addr, size, value, {}});
    m_.mmio_write(addr, size, value);
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override { m_.mem_read(addr, out); }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    if (recording) log_.push_back({Write::Kind::Mem, addr, 0, 0, {data.begin(), data.end()}});
    m_.mem_write(addr, data);
  }
  void advance_time(std::uint64_t ns) override {
    if (recording) log_.push_back({Write::Kind::Time, 0, 0, ns, {}});
    m_.advance_time(ns);
  }
  [[nodiscard]] port::AddressMap address_map() const override { return m_.address_map(); }
  bool recording = true;

 private:
  machine::Machine& m_;
  std::vector<Write>& log_;
};
}  // namespace

ShadowRam::ShadowRam(std::uint64_t size)
    : bytes_(static_cast<std::size_t>((size + kLine - 1) / kLine * kLine)), used_(bytes_.size() / kLine) {}

bool ShadowRam::write(std::uint64_t addr, std::uint8_t value) {
  if (addr >= bytes_.size()) return false;
  const auto l = static_cast<std::uint32_t>(addr / kLine);
  if (!used_[l]) {
    used_[l] = true;
    lines_.push_back(l);
  }
  bytes_[static_cast<std::size_t>(addr)] = value;
  return true;
}

void ShadowRam::clear() {
  for (const std::uint32_t l : lines_) {
    std::fill_n(bytes_.begin() + static_cast<std::ptrdiff_t>(l * kLine), kLine, std::uint8_t{0});
    used_[l] = false;
  }
  lines_.clear();
}

bool RuleTally::row_is(std::size_t row, std::string_view rule) const noexcept {
  // By hand rather than operator==: memcmp goes through the sanitizers' hooks.
  const transport::DriverRuleInfo& r = known_[row];
  if (r.where == transport::RuleCheckPoint::Endpoint || r.rule.size() != rule.size()) return false;
  std::size_t i = 0;
  while (i < rule.size() && r.rule[i] == rule[i]) ++i;
  return i == rule.size();
}

bool RuleTally::listed(std::string_view rule) const noexcept {
  // The cache only says which row to try first; the text is always compared.
  std::uint16_t& hint = recent_[(reinterpret_cast<std::uintptr_t>(rule.data()) >> 4) % recent_.size()];
  if (hint != 0 && row_is(hint - 1u, rule)) return true;
  for (std::size_t row = 0; row < known_.size(); ++row) {
    if (row_is(row, rule)) {
      hint = static_cast<std::uint16_t>(row + 1);
      return true;
    }
  }
  return false;
}

void RuleTally::driver_rule(std::string_view rule, std::uint16_t /*dev_num*/, std::string_view /*kind*/,
                            std::string_view /*detail*/) {
  if (count_++ == 0) first_.assign(rule);
  if (unlisted_.empty() && !listed(rule)) unlisted_.assign(rule);
}

void RuleTally::clear() noexcept {
  count_ = 0;
  first_.clear();
  unlisted_.clear();
}

TargetPool::Entry& TargetPool::get(const device_ops::Setup& setup) {
  Entry& e = entries_[setup.profile.index() * 4 + setup.fifo_choice % 4];
  if (!e.target) {
    e.scratch = std::make_unique<HarnessScratch>(DeviceHarness::kRamSize, setup.profile.wire().layout);
    e.target = std::make_unique<target::ReferenceTarget>(make_spec(setup, e.scratch->rules));
    auto rec = std::make_unique<RecordingPort>(e.target->machine(), e.bringup);
    driver::GuestAllocator ram(rec->address_map());
    driver::BarWindowAllocator window(rec->address_map());
    e.driver.emplace(driver::AmpDriver::open(*rec, ram, window, driver_options(setup)));
    rec->recording = false;
    e.recorder = std::move(rec);
    e.snapshot = e.target->save(target::SnapshotScope::WithoutEndpoints);
    // The first input gets the same start as every later one: a restored target.
  }
  if (e.snapshot) {
    try {
      e.target->restore(*e.snapshot, make_devices(setup));
      return e;
    } catch (const SnapshotError&) {
      e.snapshot.reset();  // the bring-up reached a bus after all: replay from now on
    }
  }
  e.target->reset(make_devices(setup));
  machine::Machine& m = e.target->machine();
  for (const Entry::Write& w : e.bringup) {
    switch (w.kind) {
      case Entry::Write::Kind::Config:
        m.config_write(DeviceHarness::kAddr, static_cast<std::uint16_t>(w.addr), w.size, static_cast<std::uint32_t>(w.value));
        break;
      case Entry::Write::Kind::Mmio: m.mmio_write(w.addr, w.size, w.value); break;
      case Entry::Write::Kind::Mem: m.mem_write(w.addr, w.bytes); break;
      case Entry::Write::Kind::Time: m.advance_time(w.value); break;
    }
  }
  return e;
}

// ---------------------------------------------------------------------------
// The device's bus-master path, counted and checked (oracles (a) and (b)).
class DeviceHarness::Spy final : public pci::DmaSpace {
 public:
  Spy(DeviceHarness& h, pci::DmaSpace& inner) : h_(h), inner_(inner) {}
  bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    ++dma_reads;
    return inner_.dma_read(addr, out);
  }
  bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    ++dma_writes;
    return inner_.dma_write(addr, data);
  }
  bool msi_write(std::uint64_t addr, std::uint32_t data) override {
    ++msi_writes;
    h_.check_msi_write(addr, data);
    return inner_.msi_write(addr, data);
  }
  std::uint64_t dma_reads = 0;
  std::uint64_t dma_writes = 0;
  std::uint64_t msi_writes = 0;

 private:
  DeviceHarness& h_;
  pci::DmaSpace& inner_;
};

// ---------------------------------------------------------------------------
// The port everybody (driver helpers, links, the op stream) goes through.
class DeviceHarness::OraclePort final : public port::Port {
 public:
  explicit OraclePort(DeviceHarness& h) : h_(h), m_(h.target_->machine()) {}

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override {
    if (quiet_reads) return m_.config_read(fn, offset, size);
    const Snap s = h_.snap();
    const std::uint32_t v = m_.config_read(fn, offset, size);
    h_.after_access(s);
    return v;
  }
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override {
    const Snap s = h_.snap();
    m_.config_write(fn, offset, size, value);
    h_.after_access(s);
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    if (quiet_reads) return m_.mmio_read(addr, size);
    const Snap s = h_.snap();
    const std::uint64_t v = m_.mmio_read(addr, size);
    h_.after_access(s);
    return v;
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    const Snap s = h_.snap();
    std::array<std::uint8_t, 8> b{};
    for (unsigned i = 0; i < size && i < 8; ++i) b[i] = static_cast<std::uint8_t>(value >> (8 * i));
    h_.note_write(addr, std::span<const std::uint8_t>(b.data(), std::min(size, 8u)), true);
    h_.note_msix_write(addr, size);
    m_.mmio_write(addr, size, value);
    h_.after_access(s);
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    if (quiet_reads) return m_.mem_read(addr, out);
    const Snap s = h_.snap();
    m_.mem_read(addr, out);
    h_.after_access(s);
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    const Snap s = h_.snap();
    h_.note_write(addr, data, false);
    h_.note_msix_write(addr, data.size());
    m_.mem_write(addr, data);
    h_.after_access(s);
  }
  void advance_time(std::uint64_t ns) override {
    const Snap s = h_.snap();
    m_.advance_time(ns);
    h_.after_access(s);
  }
  [[nodiscard]] port::AddressMap address_map() const override { return m_.address_map(); }
  /// Reads skip the per-access oracles: set only while fresh links adopt
  /// ring indices, which the model answers without side effects.
  bool quiet_reads = false;

 private:
  DeviceHarness& h_;
  machine::Machine& m_;
};

namespace {
/// Marks the driver link's own BAR1 accesses for the duration of a scope.
class LinkScope {
 public:
  explicit LinkScope(bool& flag) : flag_(flag) { flag_ = true; }
  ~LinkScope() { flag_ = false; }
  LinkScope(const LinkScope&) = delete;
  LinkScope& operator=(const LinkScope&) = delete;

 private:
  bool& flag_;
};
}  // namespace

// ---------------------------------------------------------------------------

DeviceHarness::DeviceHarness(const device_ops::Setup& setup, TargetPool* pool)
    : setup_(setup),
      nf_(device_ops::kFifoChoices[setup.fifo_choice % 4]),
      profile_(setup.profile.wire()),
      own_scratch_(pool != nullptr ? nullptr : std::make_unique<HarnessScratch>(kRamSize, profile_.layout)),
      owned_(pool != nullptr ? nullptr
                             : std::make_unique<target::ReferenceTarget>(make_spec(setup, own_scratch_->rules))) {
  TargetPool::Entry* pooled = pool != nullptr ? &pool->get(setup) : nullptr;
  target_ = pooled != nullptr ? pooled->target.get() : owned_.get();
  scratch_ = pooled != nullptr ? pooled->scratch.get() : own_scratch_.get();
  scratch_->shadow.clear();
  for (auto& q : scratch_->expect) q.clear();

  for (unsigned q = 0; q < nf_; ++q) {
    for (unsigned i = 0; i < 8; ++i) {
      if ((unsigned{setup.devices[q]} >> i) & 1u) plugged_[q] |= std::uint32_t{1} << device_ops::kDevNums[i];
    }
  }
  // Reroute the function's bus-master path through the spy. attach() is the
  // PCI function's public hook; the machine's own DmaSpace stays behind it.
  auto& dev = target_->device();
  for (unsigned q = 0; q < nf_; ++q) {
    channels_.push_back(&dev.channel(q));
    channel_stats_[q] = &dev.channel(q).stats();
  }
  msi_log_ = &target_->machine().msi_log();
  msix_ = dev.msix();
  config_gen_ = dev.config().generation_counter();
  spy_ = std::make_unique<Spy>(*this, target_->machine().dma_space(kAddr));
  dev.attach(*spy_);
  port_ = std::make_unique<OraclePort>(*this);

  // Bring-up on the bare machine: it places no frame and raises no MSI (the
  // spy still checks that), and only writes zeros into zeroed RAM, which the
  // lazily zero-filled shadow already agrees with. Skipping the per-access
  // oracles here roughly halves the cost of an input.
  if (pooled != nullptr) {
    drv_ = &*pooled->driver;  // brought up again by the pool (replayed writes)
  } else {
    machine::Machine& bare = target_->machine();
    driver::GuestAllocator ram(bare.address_map());
    driver::BarWindowAllocator window(bare.address_map());
    own_drv_.emplace(driver::AmpDriver::open(bare, ram, window, driver_options(setup)));
    drv_ = &*own_drv_;
  }
  VMSG_FUZZ_CHECK(drv_->num_fifos() == nf_, "driver found " + std::to_string(drv_->num_fifos()) + " FIFOs");
  // (The log is emptied when each input ends, so this is the bring-up's own record.)
  VMSG_FUZZ_CHECK(scratch_->rules.empty(), "the reference driver's bring-up broke a driver rule");
  for (unsigned k = 0; k < 3; ++k) {
    bar_base_[k] = drv_->function().bars[k].base;
    bar_size_[k] = drv_->function().bars[k].size;
  }
  links_.reserve(nf_);
  port_->quiet_reads = true;
  for (unsigned q = 0; q < nf_; ++q) {
    // Cached device indices: one oracle-checked port read fewer per message;
    // the device sees a driver that reads its index only when it must.
    driver::FifoLinkConfig c = drv_->fifo(q).config();
    c.cache_peer_index = true;
    links_.emplace_back(*port_, c);
  }
  port_->quiet_reads = false;
  tracked_.fill(true);
}

DeviceHarness::~DeviceHarness() {
  scratch_->rules.clear();
  // A pooled target outlives the spy: give the function its machine path back.
  target_->device().attach(target_->machine().dma_space(kAddr));
  // And its endpoints go with this input, not at the next restore: libFuzzer
  // runs an input a second time (and a leak check) whenever it allocated more
  // than it freed, which a larger device set than the previous input's did.
  if (owned_ == nullptr) target_->unplug_devices();
}

// ---- oracle hooks -----------------------------------------------------------

bool DeviceHarness::function_blocked() const {
  return !msix_->enabled() || msix_->function_masked() || !target_->device().config().bus_master();
}

DeviceHarness::Snap DeviceHarness::snap() const {
  // blocked() depends on config space (Enable, Function Mask, BME) and the
  // table's mask bits only: recomputed when the config generation moved or a
  // write may have reached the MSI-X BAR (note_msix_write).
  const std::uint64_t gen = *config_gen_;
  if (!blocked_valid_ || gen != blocked_gen_) {
    const bool all = function_blocked();
    for (unsigned v = 0; v < nf_; ++v) blocked_[v] = all || msix_->entry(v).masked();
    blocked_gen_ = gen;
    blocked_valid_ = true;
  }
  Snap s;
  const std::uint64_t pba = msix_->pending_word();  // nf_ <= 8 vectors, all in the first word
  for (unsigned v = 0; v < nf_; ++v) {
    s.placed[v] = channel_stats_[v]->frames_placed;
    s.pending[v] = ((pba >> v) & 1u) != 0;
    s.blocked[v] = blocked_[v];
  }
  s.msi_writes = spy_->msi_writes;
  return s;
}

void DeviceHarness::note_msix_write(std::uint64_t addr, std::uint64_t n) {
  const auto& m = mapping(msix_->bir());
  if (!m || n == 0) return;
  const std::uint64_t end = addr + n < addr ? ~std::uint64_t{0} : addr + n;
  if (addr < m->base + m->size && end > m->base) blocked_valid_ = false;
}

void DeviceHarness::check_msi_write(std::uint64_t addr, std::uint32_t data) const {
  const amp::AmpPciDevice& dev = target_->device();
  const pci::Msix& m = *dev.msix();
  VMSG_FUZZ_CHECK(m.enabled() && !m.function_masked() && dev.config().bus_master(),
                  "MSI written while MSI-X is disabled, function-masked or BME is off");
  bool matches = false;
  for (unsigned v = 0; v < nf_; ++v) {
    const pci::MsixEntry e = m.entry(v);
    matches = matches || (!e.masked() && e.address == addr && e.data == data);
  }
  VMSG_FUZZ_CHECK(matches, "MSI " + hex(addr) + " <- " + hex(data) + " matches no unmasked table entry");
}

void DeviceHarness::check_msi(const Snap& b, const Snap& a) {
  std::uint64_t placed = 0;
  bool exact = true;
  for (unsigned v = 0; v < nf_; ++v) {
    const std::uint64_t k = a.placed[v] - b.placed[v];
    placed += k;
    if (k != 0 && a.blocked[v] != b.blocked[v]) exact = false;
  }
  const std::uint64_t writes = a.msi_writes - b.msi_writes;
  if (!exact) {
    ++ambiguous_;
    VMSG_FUZZ_CHECK(writes <= placed + nf_, "more MSI writes than frames placed plus pending bits");
    return;
  }
  std::uint64_t want = 0;
  for (unsigned v = 0; v < nf_; ++v) {
    const std::uint64_t k = a.placed[v] - b.placed[v];
    const auto vs = [v] { return "vector " + std::to_string(v) + ": "; };
    if (!a.blocked[v]) want += k;
    if (b.pending[v] && !a.pending[v]) ++want;
    if (k != 0 && a.blocked[v]) VMSG_FUZZ_CHECK(a.pending[v], vs() + "frame placed while blocked, but no pending bit");
    if (!b.pending[v] && a.pending[v]) {
      VMSG_FUZZ_CHECK(k != 0 && a.blocked[v], vs() + "pending bit set without a blocked interrupt");
    }
    if (!a.blocked[v]) VMSG_FUZZ_CHECK(!a.pending[v], vs() + "deliverable but left pending");
  }
  VMSG_FUZZ_CHECK(writes == want, "MSI writes " + std::to_string(writes) + " during one access, expected " +
                                      std::to_string(want) + " (frames placed " + std::to_string(placed) + ")");
}

void DeviceHarness::check_counters() const {
  for (unsigned q = 0; q < nf_; ++q) {
    const amp::FifoChannel& ch = *channels_[q];
    const bus::BusStats& bs = ch.bus().stats();
    const amp::ChannelStats& cs = ch.stats();
    const auto f = [q] { return "FIFO " + std::to_string(q) + ": "; };
    VMSG_FUZZ_CHECK(bs.endpoint_faults() == 0, f() + "endpoint contract violated (missing/extra/unsolicited response)");
    VMSG_FUZZ_CHECK(bs.frames_received == cs.frames_consumed, f() + "frames consumed != frames the bus received");
    VMSG_FUZZ_CHECK(bs.frames_received ==
                        bs.forwarded_requests + bs.forwarded_events + bs.bus_requests_answered + bs.dropped(),
                    f() + "a received frame was neither forwarded, answered nor dropped");
    VMSG_FUZZ_CHECK(bs.responses_sent == bs.forwarded_requests + bs.bus_requests_answered,
                    f() + "responses sent != requests forwarded or answered");
    VMSG_FUZZ_CHECK(bs.events_sent == 0, f() + "an event was sent, none can be");
    VMSG_FUZZ_CHECK(cs.overflow_drops == 0 && cs.events_coalesced == 0, f() + "a device->driver frame was lost");
    VMSG_FUZZ_CHECK(cs.frames_placed + ch.pending() == bs.responses_sent + bs.events_sent,
                    f() + "frames placed + pending != frames the bus emitted");
    VMSG_FUZZ_CHECK(ch.tx_stats().pushes == cs.frames_placed && ch.rx_stats().pops == cs.frames_consumed,
                    f() + "ring counters disagree with the channel");
    VMSG_FUZZ_CHECK(ch.pending() <= amp::ChannelOptions{}.pending_capacity, f() + "pending queue over capacity");
  }
}

void DeviceHarness::after_access(const Snap& before) {
  check_msi(before, snap());
  // Landed MSIs are the device's only RAM writes: apply them to the shadow, in order.
  const auto& log = *msi_log_;
  for (; msi_seen_ < log.size(); ++msi_seen_) {
    const auto& r = log[msi_seen_];
    std::array<std::uint8_t, 4> b{};
    for (unsigned i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(r.data >> (8 * i));
    for (unsigned i = 0; i < 4; ++i) {
      VMSG_FUZZ_CHECK(scratch_->shadow.write(r.addr + i, b[i]), "an MSI landed outside RAM: " + hex(r.addr));
    }
  }
}

void DeviceHarness::note_write(std::uint64_t addr, std::span<const std::uint8_t> data, bool single) {
  const std::uint64_t n = data.size();
  if (n == 0) return;
  // RAM: a single access lands only when entirely inside RAM; a bulk one lands
  // wherever it overlaps RAM (RAM decodes first, from address 0).
  const auto& ram = target_->machine().ram();
  std::uint64_t len = 0;
  if (single) {
    len = ram.contains(addr, n) ? n : 0;
  } else if (addr < ram.size()) {
    len = std::min(n, ram.size() - addr);
  }
  for (std::uint64_t i = 0; i < len; ++i) (void)scratch_->shadow.write(addr + i, data[static_cast<std::size_t>(i)]);
  // BAR1: anything but the driver link writing there untracks the FIFOs it touches.
  if (in_link_) return;
  const auto& m = mapping(amp::bars::kFifoRam);
  if (!m) return;
  const std::uint64_t end = addr + n < addr ? ~std::uint64_t{0} : addr + n;  // saturate at the top
  const std::uint64_t lo = std::max(addr, m->base);
  const std::uint64_t hi = std::min(end, m->base + m->size);
  for (unsigned q = 0; q < nf_ && lo < hi; ++q) {
    const std::uint64_t wlo = m->base + std::uint64_t{q} * fifo::kWindowSize;
    if (lo < wlo + fifo::kWindowSize && hi > wlo) untrack(q);
  }
}

void DeviceHarness::untrack(unsigned q) {
  tracked_[q] = false;
  touched_[q] = true;
  scratch_->expect[q].clear();
}

// ---- operations -----------------------------------------------------------------

std::uint64_t DeviceHarness::resolve(Region r, std::uint64_t raw) const {
  switch (r) {
    case Region::Bar0:
    case Region::Bar1:
    case Region::Bar2: {
      const auto k = static_cast<unsigned>(r);
      const auto& m = mapping(k);
      const std::uint64_t base = m ? m->base : bar_base_[k];
      return base + raw % (bar_size_[k] + 16);  // a little past the end, too
    }
    case Region::Ram:
      return raw % (kRamSize + 16);
    case Region::Ecam:
      return machine::Machine::kEcamBase + (std::uint64_t{kAddr.device} << 15) + raw % 0x1010;
    case Region::Absolute:
    case Region::kCount:
      break;
  }
  return raw;
}

void DeviceHarness::refresh_decode() const {
  const std::uint64_t gen = *config_gen_;
  if (maps_valid_ && gen == maps_gen_) return;
  const amp::AmpPciDevice& dev = target_->device();
  for (unsigned k = 0; k < maps_.size(); ++k) maps_[k] = dev.bar_mapping(k);
  sane_ = dev.config().memory_enabled();
  for (unsigned k = 0; k < 2; ++k) sane_ = sane_ && maps_[k] && maps_[k]->base == bar_base_[k];
  maps_gen_ = gen;
  maps_valid_ = true;
}

const std::optional<pci::BarMapping>& DeviceHarness::mapping(unsigned k) const {
  refresh_decode();
  return maps_.at(k);
}

bool DeviceHarness::sane() const {
  refresh_decode();
  return sane_;
}

void DeviceHarness::note_reach(const device_ops::Op& op, std::uint64_t addr, std::uint64_t n) {
  switch (op.kind) {
    case Kind::ConfigWrite:
    case Kind::SetCommand:
    case Kind::MoveBar:
    case Kind::MsixMask:
    case Kind::MsixControl:
    case Kind::Reinit:
      device_wide_ = true;
      break;
    case Kind::MmioWrite:
    case Kind::BulkWrite: {
      // Plain RAM reaches no FIFO; BAR1 reaches the windows it overlaps
      // (note_write untracks them); anything else may act on the function.
      if (n == 0 || target_->machine().ram().contains(addr, n)) break;
      clean_ = false;  // a register, slot or index written by hand may break a rule
      const auto& m = mapping(amp::bars::kFifoRam);
      if (m && addr >= m->base && addr - m->base <= m->size && n <= m->size - (addr - m->base)) break;
      device_wide_ = true;
      break;
    }
    case Kind::PostMessage:
    case Kind::PostRaw:
    case Kind::Burst:
    case Kind::Poll:
      touched_[op.fifo % nf_] = true;
      break;
    case Kind::Doorbell: {
      const unsigned q = op.fifo % (nf_ + 1);
      if (q < nf_) {
        touched_[q] = true;
      } else {
        device_wide_ = true;
      }
      break;
    }
    default:
      break;  // reads and time steps change nothing a PING depends on; reached() has a backstop
  }
}

bool DeviceHarness::reached(unsigned q) const {
  if (device_wide_ || touched_[q]) return true;
  const amp::ChannelStats& cs = channels_[q]->stats();
  return cs.doorbells != 0 || cs.frames_consumed != 0 || cs.frames_placed != 0 || channels_[q]->pending() != 0;
}

void DeviceHarness::run(const device_ops::Op& op) {
  port::Port& p = *port_;
  switch (op.kind) {
    case Kind::ConfigRead:
    case Kind::ConfigWrite: {
      const unsigned w = device_ops::kConfigWidths[op.width % 3];
      const std::uint16_t off = device_ops::config_offset(op, target_->device().msix()->capability_offset(), w);
      if (op.kind == Kind::ConfigRead) {
        (void)p.config_read(kAddr, off, w);
      } else {
        p.config_write(kAddr, off, w, static_cast<std::uint32_t>(op.value));
      }
      break;
    }
    case Kind::MmioRead:
      (void)p.mmio_read(resolve(op.region, op.offset), device_ops::kWidths[op.width % 4]);
      break;
    case Kind::MmioWrite: {
      const std::uint64_t a = resolve(op.region, op.offset);
      const unsigned w = device_ops::kWidths[op.width % 4];
      note_reach(op, a, w);
      p.mmio_write(a, w, op.value);
      break;
    }
    case Kind::BulkRead: {
      std::vector<std::uint8_t> buf(std::min<std::uint64_t>(op.value, device_ops::kMaxBulk));
      p.mem_read(resolve(op.region, op.offset), buf);
      break;
    }
    case Kind::BulkWrite: {
      const std::size_t n = std::min(op.bytes.size(), device_ops::kMaxBulk);
      const std::uint64_t a = resolve(op.region, op.offset);
      note_reach(op, a, n);
      p.mem_write(a, std::span<const std::uint8_t>(op.bytes.data(), n));
      break;
    }
    case Kind::PostMessage: {
      std::array<std::uint8_t, fifo::kSlotSize> buf{};
      auto n = wire::encode(op.message, profile_, buf);
      if (!n.ok()) break;
      const std::span<const std::uint8_t> frame(buf.data(), n.value());
      if (post(op.fifo % nf_, frame, op.flag) && !frame_clean(op.fifo % nf_, frame)) clean_ = false;
      break;
    }
    case Kind::PostRaw:
      if (post(op.fifo % nf_, op.bytes, op.flag) && !frame_clean(op.fifo % nf_, op.bytes)) clean_ = false;
      break;
    case Kind::Burst: {
      std::array<std::uint8_t, fifo::kSlotSize> buf{};
      auto n = wire::encode(op.message, profile_, buf);
      if (!n.ok()) break;
      const std::span<const std::uint8_t> frame(buf.data(), n.value());
      const unsigned q = op.fifo % nf_;
      if (!frame_clean(q, frame)) clean_ = false;
      for (unsigned i = 0; i < op.count; ++i) {
        // Full: let the device take what is there, then try once more.
        if (!post(q, frame, false) && !post(q, frame, true)) break;
      }
      if (sane()) {
        LinkScope scope(in_link_);
        links_[q].ring();
      }
      break;
    }
    case Kind::Doorbell: {
      const auto& m = mapping(amp::bars::kRegisters);
      const std::uint64_t base = m ? m->base : bar_base_[0];
      p.mmio_write(base + amp::reg::notify(op.fifo % (nf_ + 1)), 4, 1);
      break;
    }
    case Kind::AdvanceTime:
      p.advance_time(op.value);
      break;
    case Kind::Poll:
      poll(op.fifo % nf_, op.count);
      break;
    case Kind::MsixMask:
      // The mask write goes to where bring-up found the table. With a BAR
      // moved since, that address may decode to another register (an entry's
      // control word can land on a NOTIFY register, written 0 or 1), which
      // breaks the register rules (AMP-005) by the driver's own doing.
      if (!sane()) clean_ = false;
      [[fallthrough]];
    case Kind::SetCommand:
    case Kind::MoveBar:
    case Kind::MsixControl:
      (void)device_ops::apply_function_op(p, {kAddr, bar_base_, drv_->msix()->table_addr,
                                              target_->device().msix()->capability_offset(),
                                              machine::Machine::kMmioBase}, op);
      break;
    case Kind::Reinit:
      // A re-init costs a few hundred accesses; more than a couple per input
      // only slows the run (finish() does one anyway when needed).
      if (reinits_ < kMaxReinits) {
        ++reinits_;
        reinit();
      }
      break;
    case Kind::kCount:
      break;
  }
  if (op.kind != Kind::MmioWrite && op.kind != Kind::BulkWrite) note_reach(op, 0, 0);
  check_counters();
}

std::optional<DeviceHarness::Expect> DeviceHarness::expect_for(unsigned q, std::span<const std::uint8_t> slot) const {
  // The bus rules of bus.hpp, restated: what answer (if any) this frame gets.
  auto d = wire::decode(slot, profile_);
  if (!d) return std::nullopt;
  const wire::Message& m = d.value();
  Expect e;
  e.bus = wire::is_bus(m.body);
  e.msg_id = wire::msg_id(m.body);
  e.token = m.token;
  if (e.bus) {
    if (const auto* p = std::get_if<wire::PingReq>(&m.body)) {
      e.ping = p->data;
      return e;
    }
    if (const auto* g = std::get_if<wire::GetDevicesReq>(&m.body)) {
      e.get_devices = *g;
      return e;
    }
    return std::nullopt;  // responses and EVENT_DEVICE from the driver: dropped
  }
  if (wire::is_response(m.body) || wire::is_event(m.body)) return std::nullopt;  // dropped, or EVENT_AVAIL (never answered)
  if (m.dev_num >= 32 || ((plugged_[q] >> m.dev_num) & 1u) == 0) return std::nullopt;  // no such device
  e.dev_num = m.dev_num;
  return e;
}

bool DeviceHarness::frame_clean(unsigned q, std::span<const std::uint8_t> frame) const {
  const auto h = wire::peek_header(frame);
  if (!h || h->reserved_bits() != 0) return false;
  const auto d = wire::decode(frame, profile_);
  if (!d) return false;
  // The link zero-pads past the frame, but the frame's own bytes after
  // msg_size are slot padding too (AMP-015).
  const auto pad = frame.subspan(std::min<std::size_t>(h->msg_size, frame.size()));
  if (std::any_of(pad.begin(), pad.end(), [](std::uint8_t x) { return x != 0; })) return false;
  const wire::Body& b = d.value().body;
  const bool to_device = !wire::is_bus(b) && !wire::is_response(b) && !std::holds_alternative<wire::EventConfig>(b) &&
                         !std::holds_alternative<wire::EventUsed>(b);
  // REV1: bus messages carry dev_num 0 (R1-GEN-001); PR28 has no driver rule for it.
  if (profile_.layout == wire::Layout::Rev1 && wire::is_bus(b) && d.value().dev_num != 0) return false;
  // REV1: a driver never replies to a device message (R1-DRV-014).
  if (profile_.layout == wire::Layout::Rev1 && h->is_response() && !h->is_bus()) return false;
  return !to_device || (d.value().dev_num < 32 && ((plugged_[q] >> d.value().dev_num) & 1u) != 0);
}

void DeviceHarness::check_rules() const {
  const RuleTally& rules = scratch_->rules;
  VMSG_FUZZ_CHECK(rules.unlisted().empty(),
                  "device reported " + rules.unlisted() + ", not a bus or register rule of the catalogue");
  VMSG_FUZZ_CHECK(!clean_ || rules.empty(), "a clean driver stream was reported for " + rules.first());
}

bool DeviceHarness::post(unsigned q, std::span<const std::uint8_t> frame, bool ring) {
  if (!sane()) return false;  // the link only knows the layout it set up
  LinkScope scope(in_link_);
  const fifo::PushResult r = links_[q].post(frame);
  if (r == fifo::PushResult::Ok && tracked_[q]) {
    std::array<std::uint8_t, fifo::kSlotSize> slot{};  // the link zero-pads the slot
    std::copy(frame.begin(), frame.end(), slot.begin());
    if (auto e = expect_for(q, slot)) scratch_->expect[q].push(*e);
  }
  if (ring) links_[q].ring();
  return r == fifo::PushResult::Ok;
}

void DeviceHarness::poll(unsigned q, unsigned max) {
  if (!sane()) return;
  LinkScope scope(in_link_);
  for (unsigned i = 0; i < max; ++i) {
    auto s = links_[q].poll();
    if (!s) return;
    check_frame(q, *s);
  }
}

void DeviceHarness::check_frame(unsigned q, std::span<const std::uint8_t> slot) {
  if (!tracked_[q]) return;
  const auto f = [q] { return "FIFO " + std::to_string(q) + ": "; };
  auto d = wire::decode(slot, profile_, wire::DecodeOptions{.strict_type_bits = true});
  VMSG_FUZZ_CHECK(d.ok(), f() + "device sent a malformed frame: " + (d.ok() ? "" : wire::describe(d.error())));
  const wire::Message& m = d.value();
  // AMP-015: the device writes the whole slot, zeros after the message.
  const std::size_t size = static_cast<std::size_t>(slot[6] | (slot[7] << 8));
  VMSG_FUZZ_CHECK(std::all_of(slot.begin() + static_cast<std::ptrdiff_t>(size), slot.end(),
                              [](std::uint8_t b) { return b == 0; }),
                  f() + "stale bytes after msg_size in a device-queue slot (AMP-015)");
  VMSG_FUZZ_CHECK(wire::is_response(m.body), f() + "device sent a non-response: " + std::string(wire::name(m.body)));
  VMSG_FUZZ_CHECK(!scratch_->expect[q].empty(), f() + "response " + std::string(wire::name(m.body)) + " token " +
                                           std::to_string(m.token) + " answers no outstanding request");
  const Expect e = scratch_->expect[q].pop();
  VMSG_FUZZ_CHECK(wire::is_bus(m.body) == e.bus && wire::msg_id(m.body) == e.msg_id,
                  f() + "response " + std::string(wire::name(m.body)) + " out of order, expected msg_id " +
                      std::to_string(e.msg_id));
  VMSG_FUZZ_CHECK(m.token == e.token, f() + "token not echoed");
  VMSG_FUZZ_CHECK(m.dev_num == (e.bus ? 0 : e.dev_num), f() + "wrong dev_num in response");
  if (e.ping) {
    VMSG_FUZZ_CHECK(std::get<wire::PingResp>(m.body).data == *e.ping, f() + "PING data not echoed");
  }
  if (e.get_devices) {
    // VMSG-BUS-043..046 for the 64-byte bus: window reduced only to fit, bits = plugged devices.
    // REV1 (L1945-1992): any count, 0 included; `count` on the wire, (count + 7) / 8 bitmap
    // bytes with the bits past count zero; an empty window is the last one.
    const bool rev1 = profile_.layout == wire::Layout::Rev1;
    const auto& r = std::get<wire::GetDevicesResp>(m.body);
    const std::uint32_t off = e.get_devices->offset;
    const std::uint32_t cnt = std::min<std::uint32_t>({e.get_devices->count, (64u - 14u) * 8u, 0x10000u - off});
    if (rev1) {
      VMSG_FUZZ_CHECK(r.offset == off && r.count == cnt && r.bitmap.size() == (cnt + 7) / 8,
                      f() + "GET_DEVICES window not echoed");
      for (std::uint32_t n = cnt; n < r.bitmap.size() * 8; ++n) {
        VMSG_FUZZ_CHECK(((unsigned{r.bitmap[n / 8]} >> (n % 8)) & 1u) == 0, f() + "GET_DEVICES bit past count set");
      }
    } else {
      VMSG_FUZZ_CHECK(r.offset == off && r.bitmap.size() * 8 == cnt, f() + "GET_DEVICES window not echoed");
    }
    bool more = false;
    for (std::uint32_t d2 = 0; d2 < 32; ++d2) {
      const bool present = ((plugged_[q] >> d2) & 1u) != 0;
      if (d2 < off) continue;
      if (d2 - off < cnt) {
        const bool bit = ((unsigned{r.bitmap[(d2 - off) / 8]} >> ((d2 - off) % 8)) & 1u) != 0;
        VMSG_FUZZ_CHECK(bit == present, f() + "GET_DEVICES bit for device " + std::to_string(d2) + " wrong");
      } else {
        more = more || present;
      }
    }
    for (std::uint32_t n = 0; n < cnt; ++n) {
      const bool bit = ((unsigned{r.bitmap[n / 8]} >> (n % 8)) & 1u) != 0;
      if (off + n >= 32) VMSG_FUZZ_CHECK(!bit, f() + "GET_DEVICES reports a device number >= 32");
    }
    if (rev1 && cnt == 0) more = false;  // REV1 L1988-1992: a non-final next_offset lies above offset
    VMSG_FUZZ_CHECK(r.next_offset == (more ? off + cnt : 0u), f() + "GET_DEVICES next_offset wrong");
  }
}

// ---- restore sequence ------------------------------------------------------------

bool DeviceHarness::pristine() const {
  const amp::AmpPciDevice& dev = target_->device();
  if (!sane() || function_blocked() || (dev.config().command() & kCmdIntxDisable) != 0) return false;
  const auto& m2 = mapping(2);
  if (!m2 || m2->base != bar_base_[2]) return false;
  for (unsigned q = 0; q < nf_; ++q) {
    if (!vector_intact(q)) return false;
  }
  return true;
}

bool DeviceHarness::vector_intact(unsigned q) const {
  const pci::MsixEntry e = msix_->entry(q);
  const auto& t = *links_[q].config().msi;
  return !e.masked() && e.address == t.addr && e.data == t.data;
}

void DeviceHarness::restore_layout() {
  if (pristine()) return;  // nothing to restore; skip the accesses
  device_wide_ = true;
  port::Port& p = *port_;
  p.config_write(kAddr, 0x04, 2, 0);
  for (unsigned k = 0; k < 3; ++k) {
    p.config_write(kAddr, static_cast<std::uint16_t>(0x10 + 4 * k), 4, static_cast<std::uint32_t>(bar_base_[k]));
  }
  p.config_write(kAddr, 0x04, 2, kCmdMem | kCmdBme);
  const auto& info = *drv_->msix();
  p.config_write(kAddr, static_cast<std::uint16_t>(info.cap + 2), 2, kMsixEnable);
  for (unsigned q = 0; q < nf_; ++q) {
    // Only the vectors the input changed: rewriting an intact, unmasked entry
    // is seven oracle-checked accesses that restore nothing.
    if (vector_intact(q)) continue;
    const auto& t = *links_[q].config().msi;
    driver::msix_program(p, info, q, t.addr, t.data);
  }
  VMSG_FUZZ_CHECK(sane(), "layout not sane after restoring BARs and Command");
}

void DeviceHarness::quiesce() {
  // Let every tracked FIFO finish: ring, give time, consume, until nothing moves.
  port::Port& p = *port_;
  std::array<bool, 8> live{};
  bool any = false;
  for (unsigned q = 0; q < nf_; ++q) any = (live[q] = reached(q)) || any;
  for (unsigned round = 0; any && round < 64; ++round) {
    for (unsigned q = 0; q < nf_; ++q) {
      if (!live[q]) continue;
      LinkScope scope(in_link_);
      links_[q].ring();
    }
    p.advance_time(100'000);
    bool idle = true;
    for (unsigned q = 0; q < nf_; ++q) {
      if (!live[q]) continue;
      LinkScope scope(in_link_);
      while (auto s = links_[q].poll()) {
        check_frame(q, *s);
        idle = false;
      }
      // Observed on the bare machine: these reads are the harness looking, not the driver.
      machine::Machine& bare = target_->machine();
      const std::uint64_t dq = bar_base_[1] + fifo::queue_offset(q, fifo::QueueKind::Driver);
      if (channels_[q]->pending() != 0 ||
          bare.mmio_read(dq + fifo::kHeadOffset, 4) != bare.mmio_read(dq + fifo::kTailOffset, 4)) {
        idle = false;
      }
    }
    if (idle) break;
  }
  for (unsigned q = 0; q < nf_; ++q) {
    if (!tracked_[q]) continue;
    VMSG_FUZZ_CHECK(scratch_->expect[q].empty(), "FIFO " + std::to_string(q) + ": " + std::to_string(scratch_->expect[q].size()) +
                                            " request(s) never answered");
  }
}

void DeviceHarness::reinit() {
  // What a driver does to start over (amp-pci-device.md D33): sane layout,
  // zeroed ring indices, MEM off->on so the device re-adopts them, fresh links.
  device_wide_ = true;
  for (unsigned q = 0; q < nf_; ++q) untrack(q);
  restore_layout();
  port::Port& p = *port_;
  for (unsigned q = 0; q < nf_; ++q) {
    for (auto kind : {fifo::QueueKind::Driver, fifo::QueueKind::Device}) {
      const std::uint64_t base = bar_base_[1] + fifo::queue_offset(q, kind);
      p.mmio_write(base + fifo::kHeadOffset, 4, 0);
      p.mmio_write(base + fifo::kTailOffset, 4, 0);
    }
  }
  p.config_write(kAddr, 0x04, 2, kCmdBme);
  p.config_write(kAddr, 0x04, 2, kCmdMem | kCmdBme);
  std::vector<driver::FifoLinkConfig> cfgs;
  for (const auto& l : links_) cfgs.push_back(l.config());
  links_.clear();
  for (const auto& c : cfgs) links_.emplace_back(p, c);
  // Frames the device still holds for the old rings come out now; drop them.
  bool drained = false;
  for (unsigned round = 0; round < 64 && !drained; ++round) {
    p.advance_time(1'000);
    drained = true;
    for (unsigned q = 0; q < nf_; ++q) {
      LinkScope scope(in_link_);
      while (links_[q].poll()) drained = false;
      if (channels_[q]->pending() != 0) drained = false;
    }
  }
  VMSG_FUZZ_CHECK(drained, "device wedged: its pending frames never drained into a consumed ring");
  tracked_.fill(true);
}

void DeviceHarness::ping_all() {
  for (unsigned q = 0; q < nf_; ++q) {
    if (!reached(q)) continue;
    const wire::Message ping{.dev_num = 0, .token = kPingToken, .reserved_type_bits = 0,
                             .body = wire::PingReq{kPingBase + q}};
    const auto frame = wire::encode(ping, profile_).value();
    {
      LinkScope scope(in_link_);
      VMSG_FUZZ_CHECK(links_[q].post(frame) == fifo::PushResult::Ok, "PING could not be posted after re-init");
    }
    scratch_->expect[q].push(*expect_for(q, frame));
    {
      LinkScope scope(in_link_);
      links_[q].ring();
    }
    for (unsigned round = 0; round < 8 && !scratch_->expect[q].empty(); ++round) {
      poll(q, fifo::kSlotCount);
      if (!scratch_->expect[q].empty()) port_->advance_time(100'000);
    }
    VMSG_FUZZ_CHECK(scratch_->expect[q].empty(), "device wedged: FIFO " + std::to_string(q) + " never answered PING");
  }
}

void DeviceHarness::final_checks() {
  const amp::AmpPciDevice& dev = target_->device();
  const pci::MsixStats& ms = dev.msix()->stats();
  const machine::MachineStats& mst = target_->machine().stats();
  VMSG_FUZZ_CHECK(spy_->dma_reads == 0 && spy_->dma_writes == 0, "a device without virtqueues did DMA");
  VMSG_FUZZ_CHECK(spy_->msi_writes == ms.delivered + ms.lost, "MSI writes != Msix delivered + lost");
  VMSG_FUZZ_CHECK(mst.msis == ms.delivered && mst.stray_msis == ms.lost, "machine MSI counters != Msix counters");
  VMSG_FUZZ_CHECK(ms.out_of_range == 0, "device raised a vector it does not have");
  // Every RAM page anyone wrote holds exactly what the port writes and MSIs put there.
  std::array<std::uint8_t, ShadowRam::kLine> line{};
  for (const std::uint32_t l : scratch_->shadow.lines()) {
    const std::uint64_t at = std::uint64_t{l} * ShadowRam::kLine;
    VMSG_FUZZ_CHECK(target_->machine().ram().read(at, line), "shadow line outside RAM");
    const auto want = scratch_->shadow.line(l);
    const auto diff = std::mismatch(want.begin(), want.end(), line.begin());
    VMSG_FUZZ_CHECK(diff.first == want.end(), "RAM at " + hex(at + static_cast<std::uint64_t>(diff.first - want.begin())) +
                                                  " was written by something other than the driver or an MSI");
  }
}

void DeviceHarness::finish() {
  restore_layout();
  quiesce();
  check_counters();
  // Rings only need re-initialising when something but the link wrote them.
  if (std::find(tracked_.begin(), tracked_.begin() + nf_, false) != tracked_.begin() + nf_) reinit();
  const std::size_t reports = scratch_->rules.size();
  ping_all();
  VMSG_FUZZ_CHECK(scratch_->rules.size() == reports, "the final PINGs were reported as breaking a driver rule");
  check_counters();
  final_checks();
  check_rules();
}

}  // namespace vmsg::fuzz

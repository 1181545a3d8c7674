#include "harness/diff_runner.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "vmsg/amp/amp_device.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/dut/config.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/transport/validating_endpoint.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::fuzz {

namespace {

using device_ops::Kind;
using device_ops::Region;

using device_ops::kCmdBme;
using device_ops::kCmdMem;

struct Placed {
  std::string kind;
  unsigned fifo;
  std::uint16_t dev_num;
};

/// The devices of `s` after reduction and de-duplication (both sides use this).
std::vector<Placed> placed(const diff_ops::Setup& s) {
  const unsigned nf = device_ops::kFifoChoices[s.fifo_choice % 4];
  std::vector<Placed> out;
  std::set<std::pair<unsigned, unsigned>> taken;
  for (std::size_t i = 0; i < std::min<std::size_t>(s.count, diff_ops::kMaxDevices); ++i) {
    const auto& d = s.devices[i];
    const unsigned fifo = d.fifo % nf;
    const unsigned num = d.dev_num % 32u;
    if (!taken.insert({fifo, num}).second) continue;
    out.push_back({diff_ops::kKinds[d.kind % diff_ops::kKindCount], fifo, static_cast<std::uint16_t>(num)});
  }
  return out;
}

devices::DeviceProps props_for(const std::string& kind) {
  devices::DeviceProps p;
  if (kind == "virtio-blk-device") p["capacity"] = "16K";
  return p;
}

/// The amp function of `s`: FIFOs, fault, and the input's draft.
amp::AmpConfig spec_amp(const diff_ops::Setup& s, bus::DriverRuleSink* rules) {
  amp::AmpConfig a;
  a.num_fifos = device_ops::kFifoChoices[s.fifo_choice % 4];
  a.faults = diff_ops::faults(s);
  a.bus.rule_sink = rules;
  a.profile = s.profile.wire();
  a.bus.strict_config_generation = s.profile.strict_config_generation;
  return a;
}

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

std::vector<target::DeviceSlot> DiffRunner::devices(const diff_ops::Setup& s,
                                                    const std::shared_ptr<transport::DriverRuleLog>& rules) {
  std::vector<target::DeviceSlot> out;
  // As the library assembles them (ref_dut.cpp): transports and validators in the function's draft.
  const amp::AmpConfig amp = spec_amp(s, nullptr);
  const transport::TransportOptions o = transport::options_for_bus(amp.profile, amp.bus, diff_ops::faults(s));
  const transport::ValidationProfile vp{amp.profile.layout, amp.bus.strict_config_generation};
  for (const Placed& p : placed(s)) {
    auto dt = std::make_shared<transport::DeviceTransport>(devices::make_backend(p.kind, props_for(p.kind)), o);
    dt->set_driver_rule_sink(rules);  // the backend's driver rules, as the library reports them
    out.push_back({p.fifo, p.dev_num, std::make_shared<transport::ValidatingEndpoint>(std::move(dt), rules, vp)});
  }
  return out;
}

target::ReferenceSpec DiffRunner::spec(const diff_ops::Setup& s,
                                       const std::shared_ptr<transport::DriverRuleLog>& rules) {
  target::ReferenceSpec spec;
  spec.amp = spec_amp(s, rules.get());
  spec.ram_size = kRamSize;
  spec.address = kAddr;
  spec.devices = devices(s, rules);
  return spec;
}

std::string DiffRunner::config(const diff_ops::Setup& s, const fault::FaultSet& lib_faults) {
  dut::DutConfig c;
  c.num_fifos = device_ops::kFifoChoices[s.fifo_choice % 4];
  c.address = kAddr;
  c.faults = diff_ops::faults(s);
  c.profile = std::string(s.profile.wire().name());
  c.strict_config_generation = s.profile.strict_config_generation;
  for (const fault::FaultInfo& f : fault::all_faults()) {
    if (lib_faults.has(f.fault)) c.faults.set(f.fault);
  }
  for (const Placed& p : placed(s)) c.devices.push_back({p.kind, p.fifo, p.dev_num, props_for(p.kind)});
  return dut::format_config(c);
}

// ---------------------------------------------------------------------------
/// The reference side of every access: the machine itself (live), the machine
/// with each access recorded (the first bring-up), or the record played back
/// (later bring-ups, the target being restored past them already).
class DiffRunner::RefPort final : public port::Port {
 public:
  enum class Mode : std::uint8_t { Live, Record, Replay };
  using Access = BringupRecord::Access;

  RefPort(machine::Machine& m, BringupRecord* record)
      : m_(m), record_(record), mode_(record == nullptr ? Mode::Live
                                      : record->accesses.empty() ? Mode::Record
                                                                 : Mode::Replay) {}
  [[nodiscard]] Mode mode() const noexcept { return mode_; }
  /// The bring-up is over: every later access goes to the machine.
  void go_live() {
    if (mode_ == Mode::Replay && next_ != record_->accesses.size()) {
      throw std::logic_error("diff: the bring-up made fewer accesses than recorded");
    }
    mode_ = Mode::Live;
  }
  /// The access just made (Record: to complete; Replay: to compare against).
  [[nodiscard]] Access& last() { return mode_ == Mode::Record ? record_->accesses.back() : record_->accesses[next_ - 1]; }

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override {
    return static_cast<std::uint32_t>(scalar(0, offset, [&] { return m_.config_read(fn, offset, size); }));
  }
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override {
    (void)scalar(1, offset, [&] { return m_.config_write(fn, offset, size, value), std::uint64_t{0}; });
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    return scalar(2, addr, [&] { return m_.mmio_read(addr, size); });
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    (void)scalar(3, addr, [&] { return m_.mmio_write(addr, size, value), std::uint64_t{0}; });
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    if (mode_ == Mode::Live) return m_.mem_read(addr, out);
    if (mode_ == Mode::Replay) {
      const Access& x = take(4, addr);
      if (x.bytes.size() != out.size()) throw std::logic_error("diff: the bring-up read another length than recorded");
      std::copy(x.bytes.begin(), x.bytes.end(), out.begin());
      return;
    }
    (void)scalar(4, addr, [&] { return m_.mem_read(addr, out), std::uint64_t{0}; });
    record_->accesses.back().bytes.assign(out.begin(), out.end());
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    (void)scalar(5, addr, [&] { return m_.mem_write(addr, data), std::uint64_t{0}; });
  }
  void advance_time(std::uint64_t ns) override {
    (void)scalar(6, ns, [&] { return m_.advance_time(ns), std::uint64_t{0}; });
  }
  [[nodiscard]] port::AddressMap address_map() const override { return m_.address_map(); }

 private:
  /// The next recorded access, which must be of this kind and address.
  const Access& take(std::uint8_t kind, std::uint64_t addr) {
    if (next_ >= record_->accesses.size() || record_->accesses[next_].kind != kind ||
        record_->accesses[next_].addr != addr) {
      throw std::logic_error("diff: the bring-up took another path than the recorded one");
    }
    const Access& x = record_->accesses[next_++];
    if (!x.error.empty()) throw PortError(x.error);
    return x;
  }
  template <typename F>
  std::uint64_t scalar(std::uint8_t kind, std::uint64_t addr, F f) {
    if (mode_ == Mode::Live) return f();
    if (mode_ == Mode::Replay) return take(kind, addr).value;
    Access& x = record_->accesses.emplace_back();
    x.kind = kind;
    x.addr = addr;
    try {
      const std::uint64_t v = f();
      record_->accesses.back().value = v;
      return v;
    } catch (const std::exception& e) {
      record_->accesses.back().error = *e.what() != '\0' ? e.what() : "exception";
      throw;
    }
  }

  machine::Machine& m_;
  BringupRecord* record_;
  Mode mode_;
  std::size_t next_ = 0;
};

/// Every access to both sides; reads compared, then the aftermath.
class DiffRunner::DiffPort final : public port::Port {
 public:
  DiffPort(DiffRunner& r, port::Port& a, dut::LibPort& b) : r_(r), a_(a), b_(b) {}

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override {
    std::uint32_t va = 0;
    std::uint32_t vb = 0;
    both([&] { va = a_.config_read(fn, offset, size); }, [&] { vb = b_.config_read(fn, offset, size); },
         [&] { return "config_read " + hex(offset) + "/" + std::to_string(size); });
    if (va != vb) r_.diverge("config_read " + hex(offset) + "/" + std::to_string(size) + ": reference " + hex(va) +
                             ", library " + hex(vb));
    return va;
  }
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override {
    both([&] { a_.config_write(fn, offset, size, value); }, [&] { b_.config_write(fn, offset, size, value); },
         [&] { return "config_write " + hex(offset) + "/" + std::to_string(size) + " <- " + hex(value); });
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    std::uint64_t va = 0;
    std::uint64_t vb = 0;
    both([&] { va = a_.mmio_read(addr, size); }, [&] { vb = b_.mmio_read(addr, size); },
         [&] { return "mmio_read " + hex(addr) + "/" + std::to_string(size); });
    if (va != vb) r_.diverge("mmio_read " + hex(addr) + "/" + std::to_string(size) + ": reference " + hex(va) +
                             ", library " + hex(vb));
    return va;
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    both([&] { a_.mmio_write(addr, size, value); }, [&] { b_.mmio_write(addr, size, value); },
         [&] { return "mmio_write " + hex(addr) + "/" + std::to_string(size) + " <- " + hex(value); });
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    // The library side's copy: on the stack for slots and other small reads
    // (most of them), so a poll allocates nothing.
    std::array<std::uint8_t, 256> small{};
    std::vector<std::uint8_t> large;
    if (out.size() > small.size()) large.resize(out.size());
    const std::span<std::uint8_t> other =
        out.size() <= small.size() ? std::span<std::uint8_t>(small).first(out.size()) : std::span<std::uint8_t>(large);
    both([&] { a_.mem_read(addr, out); }, [&] { b_.mem_read(addr, other); },
         [&] { return "mem_read " + hex(addr) + " len " + std::to_string(out.size()); });
    if (out.empty() || std::memcmp(out.data(), other.data(), out.size()) == 0) return;
    const auto d = std::mismatch(out.begin(), out.end(), other.begin());
    if (d.first != out.end()) {
      const auto at = static_cast<std::uint64_t>(d.first - out.begin());
      r_.diverge("mem_read " + hex(addr) + " len " + std::to_string(out.size()) + ": byte " + hex(addr + at) +
                 " reference " + hex(*d.first) + ", library " + hex(*d.second));
    }
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    both([&] { a_.mem_write(addr, data); }, [&] { b_.mem_write(addr, data); },
         [&] { return "mem_write " + hex(addr) + " len " + std::to_string(data.size()); });
  }
  void advance_time(std::uint64_t ns) override {
    both([&] { a_.advance_time(ns); }, [&] { b_.advance_time(ns); }, [&] { return "advance_time " + std::to_string(ns); });
  }
  [[nodiscard]] port::AddressMap address_map() const override { return a_.address_map(); }

 private:
  /// Runs one access on both sides: both must succeed or both throw. The
  /// description is built only for a report (eagerly, it cost most of a run).
  template <typename FA, typename FB, typename What>
  void both(FA fa, FB fb, What what) {
    ++r_.access_;
    std::string ea;
    std::string eb;
    try {
      fa();
    } catch (const std::exception& e) {
      ea = e.what();
      if (ea.empty()) ea = "exception";
    }
    try {
      fb();
    } catch (const std::exception& e) {
      eb = e.what();
      if (eb.empty()) eb = "exception";
    }
    if (ea.empty() != eb.empty()) {
      r_.diverge(what() + ": reference " + (ea.empty() ? "ok" : "threw '" + ea + "'") + ", library " +
                 (eb.empty() ? "ok" : "threw '" + eb + "'"));
    }
    r_.compare_after_access();
  }

  DiffRunner& r_;
  port::Port& a_;
  dut::LibPort& b_;
};

// ---------------------------------------------------------------------------

DiffRunner::DiffRunner(const diff_ops::Setup& s, target::ReferenceTarget& ref, transport::DriverRuleLog& rules,
                       std::shared_ptr<dut::Library> lib, const fault::FaultSet& lib_faults, bool report_only,
                       BringupRecord* bringup)
    : nf_(device_ops::kFifoChoices[s.fifo_choice % 4]),
      report_only_(report_only),
      profile_(s.profile.wire()),
      ref_(ref),
      rules_(rules),
      own_lib_(std::make_unique<dut::LibPort>(std::move(lib),
                                              dut::LibPortOptions{.config = config(s, lib_faults), .ram_size = kRamSize})),
      lib_(own_lib_.get()),
      ref_port_(std::make_unique<RefPort>(ref.machine(), bringup)),
      port_(std::make_unique<DiffPort>(*this, *ref_port_, *lib_)) {
  bring_up();
}

DiffRunner::DiffRunner(const diff_ops::Setup& s, target::ReferenceTarget& ref, transport::DriverRuleLog& rules,
                       dut::LibPort& lib, const fault::FaultSet& lib_faults, bool report_only, BringupRecord* bringup)
    : nf_(device_ops::kFifoChoices[s.fifo_choice % 4]),
      report_only_(report_only),
      profile_(s.profile.wire()),
      ref_(ref),
      rules_(rules),
      lib_(&lib) {
  if (lib.ram().size() != kRamSize) diverge("the kept library port's RAM is not kRamSize");
  lib.recreate(config(s, lib_faults));
  ref_port_ = std::make_unique<RefPort>(ref.machine(), bringup);
  port_ = std::make_unique<DiffPort>(*this, *ref_port_, *lib_);
  bring_up();
}

void DiffRunner::bring_up() {
  const port::AddressMap am = ref_.machine().address_map();
  const port::AddressMap bm = lib_->address_map();
  if (am.ram_base != bm.ram_base || am.ram_size != bm.ram_size || am.mmio_base != bm.mmio_base ||
      am.mmio_size != bm.mmio_size) {
    diverge("address maps differ");
  }
  driver::GuestAllocator ram(am);
  driver::BarWindowAllocator window(am);
  driver::AmpDriverOptions opts;
  opts.profile = profile_;  // the driver speaks the draft both sides were built in
  drv_.emplace(driver::AmpDriver::open(*port_, ram, window, opts));
  ref_port_->go_live();
  for (unsigned k = 0; k < 3; ++k) {
    bar_base_[k] = drv_->function().bars[k].base;
    bar_size_[k] = drv_->function().bars[k].size;
  }
}

DiffRunner::~DiffRunner() = default;

void DiffRunner::diverge(const std::string& what) const {
  std::fprintf(stderr, "==vmsg-diff== first divergence at op %zu, access %llu: %s\n", op_index_,
               static_cast<unsigned long long>(access_), what.c_str());
  if (report_only_) throw Divergence{what};
  std::abort();
}

void DiffRunner::compare_after_access() {
  // Replaying the bring-up, the reference's log already holds the whole
  // bring-up's MSIs (it only grows): the record says how many were there.
  const RefPort::Mode mode = ref_port_->mode();
  if (mode == RefPort::Mode::Record) {
    ref_port_->last().msis = ref_.machine().msi_log().size();
    ref_port_->last().stats = ref_.machine().stats();
  }
  const auto& la = ref_.machine().msi_log();
  const std::size_t na = mode == RefPort::Mode::Replay ? ref_port_->last().msis : la.size();
  const auto& lb = lib_->msi_log();
  if (na != lb.size()) {
    diverge("MSIs landed: reference " + std::to_string(na) + ", library " + std::to_string(lb.size()));
  }
  for (; msi_seen_ < na; ++msi_seen_) {
    const auto& x = la[msi_seen_];
    const auto& y = lb[msi_seen_];
    if (x.addr != y.addr || x.data != y.data || x.time_ns != y.time_ns) {
      diverge("MSI #" + std::to_string(msi_seen_) + ": reference " + hex(x.addr) + " <- " + hex(x.data) + " @" +
              std::to_string(x.time_ns) + ", library " + hex(y.addr) + " <- " + hex(y.data) + " @" +
              std::to_string(y.time_ns));
    }
  }
  const machine::MachineStats& sa = mode == RefPort::Mode::Replay ? ref_port_->last().stats : ref_.machine().stats();
  const machine::MachineStats& sb = lib_->stats();
  if (!(sa == sb)) {
    diverge("machine counters: reference unbacked r/w/bulk " + std::to_string(sa.unbacked_reads) + "/" +
            std::to_string(sa.unbacked_writes) + "/" + std::to_string(sa.unbacked_bulk_bytes) + " dma_faults " +
            std::to_string(sa.dma_faults) + " stray " + std::to_string(sa.stray_msis) + ", library " +
            std::to_string(sb.unbacked_reads) + "/" + std::to_string(sb.unbacked_writes) + "/" +
            std::to_string(sb.unbacked_bulk_bytes) + " dma_faults " + std::to_string(sb.dma_faults) + " stray " +
            std::to_string(sb.stray_msis));
  }
}

bool DiffRunner::sane() const {
  const amp::AmpPciDevice& dev = ref_.device();
  if (!dev.config().memory_enabled()) return false;
  for (unsigned k = 0; k < 2; ++k) {
    const auto m = dev.bar_mapping(k);
    if (!m || m->base != bar_base_[k]) return false;
  }
  return true;
}

std::uint64_t DiffRunner::resolve(Region r, std::uint64_t raw) const {
  switch (r) {
    case Region::Bar0:
    case Region::Bar1:
    case Region::Bar2: {
      const auto k = static_cast<unsigned>(r);
      const auto m = ref_.device().bar_mapping(k);
      return (m ? m->base : bar_base_[k]) + raw % (bar_size_[k] + 16);
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

void DiffRunner::run(const device_ops::Op& op) {
  ++op_index_;
  port::Port& p = *port_;
  switch (op.kind) {
    case Kind::ConfigRead:
    case Kind::ConfigWrite: {
      const unsigned w = device_ops::kConfigWidths[op.width % 3];
      const std::uint16_t off = device_ops::config_offset(op, ref_.device().msix()->capability_offset(), w);
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
    case Kind::MmioWrite:
      p.mmio_write(resolve(op.region, op.offset), device_ops::kWidths[op.width % 4], op.value);
      break;
    case Kind::BulkRead: {
      std::vector<std::uint8_t> buf(std::min<std::uint64_t>(op.value, device_ops::kMaxBulk));
      p.mem_read(resolve(op.region, op.offset), buf);
      break;
    }
    case Kind::BulkWrite:
      p.mem_write(resolve(op.region, op.offset),
                  std::span<const std::uint8_t>(op.bytes.data(), std::min(op.bytes.size(), device_ops::kMaxBulk)));
      break;
    case Kind::PostMessage:
    case Kind::Burst: {
      std::array<std::uint8_t, fifo::kSlotSize> buf{};
      auto n = wire::encode(op.message, profile_, buf);
      if (!n.ok() || !sane()) break;
      driver::FifoLink& l = drv_->fifo(op.fifo % nf_);
      const std::span<const std::uint8_t> frame(buf.data(), n.value());
      const unsigned copies = op.kind == Kind::Burst ? op.count : 1u;
      for (unsigned i = 0; i < copies; ++i) {
        if (l.post(frame) != fifo::PushResult::Ok) {
          l.ring();
          if (l.post(frame) != fifo::PushResult::Ok) break;
        }
      }
      if (op.flag || op.kind == Kind::Burst) l.ring();
      break;
    }
    case Kind::PostRaw:
      if (!sane()) break;
      (void)drv_->fifo(op.fifo % nf_).post(op.bytes);
      if (op.flag) drv_->fifo(op.fifo % nf_).ring();
      break;
    case Kind::Doorbell: {
      const auto m = ref_.device().bar_mapping(amp::bars::kRegisters);
      p.mmio_write((m ? m->base : bar_base_[0]) + amp::reg::notify(op.fifo % (nf_ + 1)), 4, 1);
      break;
    }
    case Kind::AdvanceTime:
      p.advance_time(op.value);
      break;
    case Kind::Poll:
      if (!sane()) break;
      for (unsigned i = 0; i < op.count; ++i) {
        if (!drv_->fifo(op.fifo % nf_).poll()) break;
      }
      break;
    case Kind::SetCommand:
    case Kind::MoveBar:
    case Kind::MsixMask:
    case Kind::MsixControl:
      (void)device_ops::apply_function_op(p, {kAddr, bar_base_, drv_->msix()->table_addr,
                                              ref_.device().msix()->capability_offset(),
                                              machine::Machine::kMmioBase}, op);
      break;
    case Kind::Reinit:
      // Layout back as the driver set it; both sides see the same writes.
      p.config_write(kAddr, 0x04, 2, 0);
      for (unsigned k = 0; k < 3; ++k) {
        p.config_write(kAddr, static_cast<std::uint16_t>(0x10 + 4 * k), 4, static_cast<std::uint32_t>(bar_base_[k]));
      }
      p.config_write(kAddr, 0x04, 2, kCmdMem | kCmdBme);
      break;
    case Kind::kCount:
      break;
  }
}

void DiffRunner::finish() {
  ++op_index_;
  port_->advance_time(1'000'000);
  // Guest RAM, page by page: DMA and MSIs must have left the same bytes. Both
  // RAMs were all zeros when this input's bring-up began (Machine::reset,
  // LibPort::recreate), so a page neither side wrote since still is, on both:
  // only the pages either side wrote are compared. memcmp first; the
  // byte-wise search only runs to name the first difference.
  constexpr std::uint64_t kPage = machine::GuestRam::kDirtyPage;
  const machine::GuestRam& ra = ref_.machine().ram();
  const machine::GuestRam& rb = lib_->ram();
  std::array<std::uint8_t, kPage> a{};
  std::array<std::uint8_t, kPage> b{};
  for (std::uint64_t at = 0; at < kRamSize; at += kPage) {
    if (!ra.page_written(at / kPage) && !rb.page_written(at / kPage)) continue;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kPage, kRamSize - at));
    (void)ra.read(at, std::span<std::uint8_t>(a.data(), n));
    (void)rb.read(at, std::span<std::uint8_t>(b.data(), n));
    if (std::memcmp(a.data(), b.data(), n) == 0) continue;
    const auto d = std::mismatch(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin());
    diverge("guest RAM at " + hex(at + static_cast<std::uint64_t>(d.first - a.begin())) + ": reference " +
            hex(*d.first) + ", library " + hex(*d.second));
  }
  compare_rules();
}

void DiffRunner::compare_rules() {
  // The library reports one line per violation, "RULE dev=N KIND: DETAIL"
  // (vmsg_dut.h); rule and device number are compared, in order.
  if (!lib_->has_violations()) return;
  const std::vector<std::string> lines = lib_->take_violations();
  const auto got = rules_.violations();
  for (std::size_t i = 0; i < std::max(lines.size(), got.size()); ++i) {
    std::string a = "(none)";
    std::string b = "(none)";
    if (i < got.size()) a = got[i].rule + " dev=" + std::to_string(got[i].dev_num);
    if (i < lines.size()) {
      const std::size_t sp = lines[i].find(' ');
      const std::size_t sp2 = sp == std::string::npos ? sp : lines[i].find(' ', sp + 1);
      b = lines[i].substr(0, sp2);
    }
    if (a != b) diverge("driver rule #" + std::to_string(i) + ": reference " + a + ", library " + b);
  }
}

}  // namespace vmsg::fuzz

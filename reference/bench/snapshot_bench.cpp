// What it costs to get a brought-up target back after an input: a fresh build
// and bring-up, reset() and a fresh bring-up, reset() and a replay of the
// bring-up's port writes (fuzz_device's old way), and restoring the snapshot
// taken after bring-up (with the saved endpoints, or with fresh ones as the
// fuzzers do). Every iteration first dirties the target with one PING round
// trip (slot, indices, MSI into RAM), as the shortest input would.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/driver/fifo_link.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/minimal_endpoint.hpp"

namespace {

using vmsg::target::ReferenceSpec;
using vmsg::target::ReferenceTarget;

std::vector<vmsg::target::DeviceSlot> devices() {
  return {{0, 0, std::make_shared<vmsg::transport::MinimalEndpoint>()}};
}

ReferenceSpec spec() {
  ReferenceSpec s;
  s.ram_size = (1ULL << 20) + 0x1000;  // fuzz_device's RAM
  s.devices = devices();
  return s;
}

vmsg::driver::AmpDriver bring_up(vmsg::port::Port& p) {
  vmsg::driver::GuestAllocator ram(p.address_map());
  vmsg::driver::BarWindowAllocator window(p.address_map());
  return vmsg::driver::AmpDriver::open(p, ram, window);
}

/// One PING round trip over a fresh link (a link keeps ring indices of its
/// own, which a reset or restore of the target rewinds), as fuzz_device does.
void ping(benchmark::State& state, vmsg::port::Port& p, vmsg::driver::AmpDriver& drv) {
  vmsg::driver::FifoLink link(p, drv.fifo(0).config());
  auto r = link.request(vmsg::wire::Message{.body = vmsg::wire::PingReq{1}});
  if (!r.ok() || !link.take_msi()) state.SkipWithError("ping failed");
}

/// The port writes a bring-up made, for replaying them.
class Recorder final : public vmsg::port::Port {
 public:
  struct Write {
    int kind;
    std::uint64_t addr;
    unsigned size;
    std::uint64_t value;
    std::vector<std::uint8_t> bytes;
  };
  explicit Recorder(vmsg::port::Port& p) : p_(p) {}
  std::uint32_t config_read(vmsg::port::PciAddress fn, std::uint16_t o, unsigned s) override {
    return p_.config_read(fn, o, s);
  }
  void config_write(vmsg::port::PciAddress fn, std::uint16_t o, unsigned s, std::uint32_t v) override {
    log.push_back({0, o, s, v, {}});
    fn_ = fn;
    p_.config_write(fn, o, s, v);
  }
  std::uint64_t mmio_read(std::uint64_t a, unsigned s) override { return p_.mmio_read(a, s); }
  void mmio_write(std::uint64_t a, unsigned s, std::uint64_t v) override {
    log.push_back({1, a, s, v, {}});
    p_.mmio_write(a, s, v);
  }
  void mem_read(std::uint64_t a, std::span<std::uint8_t> out) override { p_.mem_read(a, out); }
  void mem_write(std::uint64_t a, std::span<const std::uint8_t> d) override {
    log.push_back({2, a, 0, 0, {d.begin(), d.end()}});
    p_.mem_write(a, d);
  }
  void advance_time(std::uint64_t ns) override {
    log.push_back({3, 0, 0, ns, {}});
    p_.advance_time(ns);
  }
  [[nodiscard]] vmsg::port::AddressMap address_map() const override { return p_.address_map(); }

  void replay(vmsg::port::Port& p) const {
    for (const Write& w : log) {
      switch (w.kind) {
        case 0: p.config_write(fn_, static_cast<std::uint16_t>(w.addr), w.size, static_cast<std::uint32_t>(w.value)); break;
        case 1: p.mmio_write(w.addr, w.size, w.value); break;
        case 2: p.mem_write(w.addr, w.bytes); break;
        default: p.advance_time(w.value); break;
      }
    }
  }
  std::vector<Write> log;

 private:
  vmsg::port::Port& p_;
  vmsg::port::PciAddress fn_{};
};

void BM_BuildAndBringUp(benchmark::State& state) {
  for (auto _ : state) {
    ReferenceTarget t(spec());
    auto drv = bring_up(t.port());
    ping(state, t.port(), drv);
  }
}
BENCHMARK(BM_BuildAndBringUp);

void BM_ResetAndBringUp(benchmark::State& state) {
  ReferenceTarget t(spec());
  for (auto _ : state) {
    t.reset(devices());
    auto drv = bring_up(t.port());
    ping(state, t.port(), drv);
  }
}
BENCHMARK(BM_ResetAndBringUp);

void BM_ResetAndReplay(benchmark::State& state) {
  ReferenceTarget t(spec());
  Recorder rec(t.port());
  auto drv = bring_up(rec);
  for (auto _ : state) {
    ping(state, t.port(), drv);
    t.reset(devices());
    rec.replay(t.port());
  }
}
BENCHMARK(BM_ResetAndReplay);

void BM_Restore(benchmark::State& state) {
  ReferenceTarget t(spec());
  auto drv = bring_up(t.port());
  const ReferenceTarget::Snapshot snap = t.save();
  for (auto _ : state) {
    ping(state, t.port(), drv);
    t.restore(snap);
  }
}
BENCHMARK(BM_Restore);

void BM_RestoreWithNewDevices(benchmark::State& state) {
  ReferenceTarget t(spec());
  auto drv = bring_up(t.port());
  const ReferenceTarget::Snapshot snap = t.save(vmsg::target::SnapshotScope::WithoutEndpoints);
  for (auto _ : state) {
    ping(state, t.port(), drv);
    t.restore(snap, devices());
  }
}
BENCHMARK(BM_RestoreWithNewDevices);

void BM_PingOnly(benchmark::State& state) {
  // The PING each iteration above includes, for subtraction.
  ReferenceTarget t(spec());
  auto drv = bring_up(t.port());
  for (auto _ : state) ping(state, t.port(), drv);
}
BENCHMARK(BM_PingOnly);

}  // namespace

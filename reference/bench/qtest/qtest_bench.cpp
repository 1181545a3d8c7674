// Port operations per second over qtest: one readl/writel at a time (each
// waits for its reply) and pipelined batches (QtestPort::transact), against
// vmsg-ref-qtest and against Debian's QEMU (q35 with a virtio-rng-pci device,
// reading guest RAM). The QEMU benchmarks are skipped when the binary is absent.
// Also PING exchanges through the driver (FifoLink::request, one batched
// round trip each) against vmsg-ref-qtest: the C++ ceiling of
// reference/bench/qtest/ping_rate.py, which does the same from Python.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qtest_port.hpp"

namespace {

using vmsg::qtest::Command;
using vmsg::qtest::Op;
using vmsg::qtest::QemuLaunch;
using vmsg::qtest::QemuProcess;
using vmsg::qtest::QtestPort;

constexpr const char* kDebianQemu = "/usr/bin/qemu-system-x86_64";
constexpr std::uint64_t kRamAddr = 0x100000;  // 1 MiB: plain guest RAM on both

/// A launched target with its port; kept for the whole benchmark.
struct Session {
  QemuProcess proc;
  QtestPort port;
  explicit Session(QemuLaunch l) : proc(QemuProcess::start(l)), port(proc.take_fd()) {}
};

std::unique_ptr<Session> launch(benchmark::State& state, bool real_qemu) {
  QemuLaunch l;
  if (real_qemu) {
    if (!std::filesystem::exists(kDebianQemu)) {
      state.SkipWithError("qemu-system-x86_64 not installed");
      return nullptr;
    }
    l.binary = kDebianQemu;
    l.args = {"-M", "q35", "-m", "128M", "-nodefaults", "-display", "none", "-device", "virtio-rng-pci,addr=05.0"};
  } else {
    l.binary = VMSG_REF_QTEST_BIN;
    l.args = {"-M", "q35", "-device", "virtio-msg-amp-pci,addr=04.0"};
  }
  return std::make_unique<Session>(l);
}

void BM_QtestReadl(benchmark::State& state, bool real_qemu) {
  auto s = launch(state, real_qemu);
  if (!s) return;
  for (auto _ : state) benchmark::DoNotOptimize(s->port.mmio_read(kRamAddr, 4));
  state.SetItemsProcessed(state.iterations());
}

void BM_QtestWritelPipelined(benchmark::State& state, bool real_qemu) {
  auto s = launch(state, real_qemu);
  if (!s) return;
  std::vector<Command> batch(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].op = Op::WriteL;
    batch[i].addr = kRamAddr + 4 * i;
    batch[i].value = i;
  }
  for (auto _ : state) benchmark::DoNotOptimize(s->port.transact(batch));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_QtestBulkRead64K(benchmark::State& state, bool real_qemu) {
  auto s = launch(state, real_qemu);
  if (!s) return;
  std::vector<std::uint8_t> buf(64 * 1024);
  for (auto _ : state) s->port.mem_read(kRamAddr, buf);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(buf.size()));
}

void BM_QtestPingExchange(benchmark::State& state) {
  auto s = launch(state, false);
  vmsg::driver::GuestAllocator ram(s->port.address_map());
  vmsg::driver::BarWindowAllocator window(s->port.address_map());
  auto amp = vmsg::driver::AmpDriver::open(s->port, ram, window);
  auto& link = amp.fifo(0);
  std::uint32_t n = 0;
  for (auto _ : state) {
    auto r = link.request(vmsg::wire::Message{.body = vmsg::wire::PingReq{n++}});
    if (!r.ok()) state.SkipWithError("ping failed");
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_QtestReadl, ref_qtest, false)->UseRealTime();
BENCHMARK(BM_QtestPingExchange)->UseRealTime();
BENCHMARK_CAPTURE(BM_QtestReadl, debian_qemu, true)->UseRealTime();
BENCHMARK_CAPTURE(BM_QtestWritelPipelined, ref_qtest, false)->Arg(64)->UseRealTime();
BENCHMARK_CAPTURE(BM_QtestWritelPipelined, debian_qemu, true)->Arg(64)->UseRealTime();
BENCHMARK_CAPTURE(BM_QtestBulkRead64K, ref_qtest, false)->UseRealTime();
BENCHMARK_CAPTURE(BM_QtestBulkRead64K, debian_qemu, true)->UseRealTime();

}  // namespace

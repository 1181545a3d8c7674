// Raw ring throughput: one producer and one consumer end over the same 4 KiB
// of shared memory, in one thread (the pure queue cost, no device around it).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "vmsg/fifo/ring.hpp"
#include "vmsg/fifo/shared_memory.hpp"

namespace {

void BM_RingPushPop(benchmark::State& state) {
  alignas(64) static thread_local std::array<std::uint8_t, vmsg::fifo::kQueueSize> queue{};
  vmsg::fifo::RingProducer<vmsg::fifo::SharedQueueMemory> tx{vmsg::fifo::SharedQueueMemory(queue)};
  vmsg::fifo::RingConsumer<vmsg::fifo::SharedQueueMemory> rx{vmsg::fifo::SharedQueueMemory(queue)};
  const auto batch = static_cast<unsigned>(state.range(0));
  std::vector<std::uint8_t> msg(12, 0x5A);
  vmsg::fifo::Slot slot;
  for (auto _ : state) {
    for (unsigned i = 0; i < batch; ++i) benchmark::DoNotOptimize(tx.push(msg));
    for (unsigned i = 0; i < batch; ++i) benchmark::DoNotOptimize(rx.pop(slot));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * batch);
}
BENCHMARK(BM_RingPushPop)->Arg(1)->Arg(61);

}  // namespace

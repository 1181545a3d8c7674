// virtio I/O end to end through the whole in-process machine: the driver
// stack (BlkDriver/RngDriver -> TransportDriver -> BusDriver -> FifoLink)
// against DeviceTransport + backends behind the amp FIFO, MSI-X on.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "vmsg/devices/blk.hpp"
#include "vmsg/devices/rng.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/driver/blk_driver.hpp"
#include "vmsg/driver/bus_driver.hpp"
#include "vmsg/driver/rng_driver.hpp"
#include "vmsg/driver/transport_driver.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/device_transport.hpp"

namespace {

/// Target with one device at FIFO 0, device 0, and the driver stack down to the transport.
struct Stack {
  explicit Stack(std::unique_ptr<vmsg::transport::Backend> backend)
      : target(spec(std::move(backend))),
        ram(target.port().address_map()),
        window(target.port().address_map()),
        amp(vmsg::driver::AmpDriver::open(target.port(), ram, window)),
        bus(amp.fifo(0)),
        transport(bus, 0) {}

  static vmsg::target::ReferenceSpec spec(std::unique_ptr<vmsg::transport::Backend> backend) {
    vmsg::target::ReferenceSpec s;
    s.ram_size = 64ULL << 20;
    s.devices.push_back({0, 0, std::make_shared<vmsg::transport::DeviceTransport>(std::move(backend))});
    return s;
  }

  vmsg::target::ReferenceTarget target;
  vmsg::driver::GuestAllocator ram;
  vmsg::driver::BarWindowAllocator window;
  vmsg::driver::AmpDriver amp;
  vmsg::driver::BusDriver bus;
  vmsg::driver::TransportDriver transport;
};

/// 4 KiB virtio-blk reads; the argument is how many are in flight at once.
void BM_BlkRead4K(benchmark::State& state) {
  const auto depth = static_cast<std::uint32_t>(state.range(0));
  vmsg::devices::BlkOptions o;
  o.capacity_sectors = 32768;  // 16 MiB
  Stack s(std::make_unique<vmsg::devices::BlkBackend>(o));
  vmsg::driver::BlkDriver blk(s.transport, s.ram,
                              vmsg::driver::BlkDriverOptions{.slots = depth, .max_request_bytes = 4096});
  if (!blk.init().ok()) {
    state.SkipWithError("blk init failed");
    return;
  }
  std::vector<std::uint8_t> buf(4096ULL * depth);
  std::uint64_t sector = 0;
  for (auto _ : state) {
    if (!blk.read(sector, buf).ok()) {
      state.SkipWithError("blk read failed");
      break;
    }
    sector = (sector + 8ULL * depth) % (o.capacity_sectors - 8ULL * depth);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * depth);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(buf.size()));
}
BENCHMARK(BM_BlkRead4K)->Arg(1)->Arg(16);

/// virtio-rng bytes per second, 64 KiB per read() in 4 KiB buffers.
void BM_RngThroughput(benchmark::State& state) {
  Stack s(std::make_unique<vmsg::devices::RngBackend>());
  vmsg::driver::RngDriver rng(s.transport, s.ram);
  if (!rng.init().ok()) {
    state.SkipWithError("rng init failed");
    return;
  }
  std::vector<std::uint8_t> buf(64 * 1024);
  for (auto _ : state) {
    if (!rng.read_into(buf).ok()) {
      state.SkipWithError("rng read failed");
      break;
    }
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(buf.size()));
}
BENCHMARK(BM_RngThroughput);

}  // namespace

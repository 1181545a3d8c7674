// PING round trips through the whole in-process machine: the driver encodes,
// writes the slot and index through the port, rings NOTIFY, the device drains,
// the bus answers, MSI-X writes RAM, the driver polls, decodes and checks the MSI.
#include <benchmark/benchmark.h>

#include <memory>

#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/minimal_endpoint.hpp"

namespace {

void BM_PingRoundTrip(benchmark::State& state) {
  vmsg::target::ReferenceSpec spec;
  spec.devices.push_back({0, 0, std::make_shared<vmsg::transport::MinimalEndpoint>()});
  vmsg::target::ReferenceTarget target(spec);
  vmsg::driver::GuestAllocator ram(target.port().address_map());
  vmsg::driver::BarWindowAllocator window(target.port().address_map());
  auto drv = vmsg::driver::AmpDriver::open(target.port(), ram, window);
  auto& link = drv.fifo(0);
  std::uint32_t n = 0;
  for (auto _ : state) {
    auto r = link.request(vmsg::wire::Message{.body = vmsg::wire::PingReq{n++}});
    if (!r.ok() || !link.take_msi()) state.SkipWithError("ping failed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_PingRoundTrip);

void BM_PingBatch61(benchmark::State& state) {
  // 61 requests per doorbell: the device drains a full driver queue at once.
  vmsg::target::ReferenceSpec spec;
  vmsg::target::ReferenceTarget target(spec);
  vmsg::driver::GuestAllocator ram(target.port().address_map());
  vmsg::driver::BarWindowAllocator window(target.port().address_map());
  auto drv = vmsg::driver::AmpDriver::open(target.port(), ram, window);
  auto& link = drv.fifo(0);
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < 61; ++i) (void)link.send(vmsg::wire::Message{.body = vmsg::wire::PingReq{i}});
    link.ring();
    unsigned got = 0;
    while (link.receive()) ++got;
    if (got != 61) state.SkipWithError("lost responses");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 61);
}
BENCHMARK(BM_PingBatch61);

}  // namespace

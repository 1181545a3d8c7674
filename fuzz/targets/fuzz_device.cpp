// fuzz_device: the whole reference target (machine + amp-pci device +
// MinimalEndpoints) under a structure-aware stream of driver operations:
// config and MMIO accesses of every width anywhere, bulk writes into BAR1 FIFO
// RAM and guest RAM, messages posted through the driver link, doorbells, time
// steps, Command/BAR/MSI-X reprogramming and re-initialisation.
//
// The input is Setup (FIFO count, plugged device numbers) followed by
// operations, both in harness/device_ops.hpp; a REV1 prefix
// (common/profile_prefix.hpp) runs device, bus and driver in REV1-2026. The oracles live in
// harness/device_harness.hpp: exact MSI accounting per access, memory
// ownership, exactly one answer per valid request, and no wedge (a PING on
// every FIFO after a driver-style restore).
//
// One target per FIFO count is kept across inputs and reset
// (ReferenceTarget::reset) rather than rebuilt: allocating and freeing the
// machine's RAM under ASan dominated the per-input cost.
#include <cstddef>
#include <cstdint>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/profile_prefix.hpp"
#include "common/stream_io.hpp"
#include "harness/device_harness.hpp"
#include "harness/device_ops.hpp"

namespace {
/// Bounds the work per input so a long input cannot time out the run.
constexpr std::size_t kMaxOps = 256;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const vmsg::fuzz::ProfileChoice profile = vmsg::fuzz::take_profile(data, size);
  FuzzedDataProvider fdp(data, size);
  vmsg::fuzz::FdpReader in(fdp);
  vmsg::fuzz::device_ops::Setup setup;
  vmsg::fuzz::device_ops::io_setup(in, setup);
  setup.profile = profile;
  // Function-local: libFuzzer gives no other place to keep state across inputs.
  static vmsg::fuzz::TargetPool pool;
  vmsg::fuzz::DeviceHarness h(setup, &pool);
  for (std::size_t i = 0; i < kMaxOps && in.more(); ++i) {
    vmsg::fuzz::device_ops::Op op;
    vmsg::fuzz::device_ops::io_op(in, op);
    h.run(op);
  }
  h.finish();
  return 0;
}

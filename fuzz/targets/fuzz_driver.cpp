// fuzz_driver: the reference virtio drivers (TransportDriver, the split-queue
// driver, RngDriver, BlkDriver) against a scripted device at the far end of
// their real AMP FIFO. The input picks driver calls and their arguments, and
// for each call a fault plan for the device (drop, duplicate, delay, wrong
// kind or device number, patched or garbage frames, events first, generation
// and status moves, wrong used ids/lengths/index jumps, blk status bytes);
// between calls the device may post anything, DMA into guest RAM, scribble
// on used rings and change its config.
//
// The input is Setup (device identity, features, config, driver tunables)
// followed by operations, both in harness/driver_ops.hpp. An input that
// starts with 'V' 'R' '1' FLAGS runs the drivers and the device in REV1-2026
// (FLAGS bit 0: strict configuration generation) and the stream follows the
// prefix; any other input is a PR28 stream (common/profile_prefix.hpp). The oracles live in
// harness/driver_harness.hpp: typed errors only, bounded port accesses per
// call, driver memory accesses only inside what it allocated and its FIFO
// fields, well-formed frames, and exact results while the device behaves.
#include <cstddef>
#include <cstdint>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/profile_prefix.hpp"
#include "common/stream_io.hpp"
#include "harness/driver_harness.hpp"
#include "harness/driver_ops.hpp"

namespace {
/// Bounds the work per input so a long input cannot time out the run.
constexpr std::size_t kMaxOps = 96;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const vmsg::fuzz::ProfileChoice profile = vmsg::fuzz::take_profile(data, size);
  FuzzedDataProvider fdp(data, size);
  vmsg::fuzz::FdpReader in(fdp);
  vmsg::fuzz::driver_ops::Setup setup;
  vmsg::fuzz::driver_ops::io_setup(in, setup);
  setup.profile = profile;
  vmsg::fuzz::DriverHarness h(setup);
  for (std::size_t i = 0; i < kMaxOps && in.more(); ++i) {
    vmsg::fuzz::driver_ops::Op op;
    vmsg::fuzz::driver_ops::io_op(in, op);
    h.run(op);
  }
  return 0;
}

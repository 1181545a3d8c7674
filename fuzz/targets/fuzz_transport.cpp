// fuzz_transport: the device side of the virtio-msg transport with a real
// backend (rng, blk or balloon) behind a bus, driven by a hostile driver that
// owns guest memory. The fuzzer brings the device up, places split rings and
// descriptor chains (direct and indirect) in guest RAM, makes buffers
// available and notifies, sends arbitrary transport messages, overwrites
// memory and lets time pass.
//
// The input is Setup (backend, offered ring features) followed by
// operations, both in harness/transport_ops.hpp; a REV1 prefix
// (common/profile_prefix.hpp) runs device, bus and validator in REV1-2026. The oracles live in
// harness/transport_harness.hpp: exactly one answer per valid request; device
// writes only into used rings and device-writable buffers the driver made
// available; NEEDS_RESET announced once per breakage and nothing used while
// it is set; used elements only for heads made available; no wedge (PING and
// GET_DEVICE_INFO answered at the end).
#include <cstddef>
#include <cstdint>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/profile_prefix.hpp"
#include "common/stream_io.hpp"
#include "harness/transport_harness.hpp"
#include "harness/transport_ops.hpp"

namespace {
/// Bounds the work per input so a long input cannot time out the run.
constexpr std::size_t kMaxOps = 256;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const vmsg::fuzz::ProfileChoice profile = vmsg::fuzz::take_profile(data, size);
  FuzzedDataProvider fdp(data, size);
  vmsg::fuzz::FdpReader in(fdp);
  vmsg::fuzz::transport_ops::Setup setup;
  vmsg::fuzz::transport_ops::io_setup(in, setup);
  setup.profile = profile;
  // Function-local: libFuzzer gives no other place to keep state across inputs.
  static vmsg::machine::GuestRam ram(vmsg::fuzz::transport_ops::kRamSize);
  vmsg::fuzz::TransportHarness h(setup, &ram);
  for (std::size_t i = 0; i < kMaxOps && in.more(); ++i) {
    vmsg::fuzz::transport_ops::Op op;
    vmsg::fuzz::transport_ops::io_op(in, op);
    h.run(op);
  }
  h.finish();
  return 0;
}

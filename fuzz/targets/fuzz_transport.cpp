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
// GET_DEVICE_INFO answered at the end). Harnesses are kept across inputs and
// an input's opening bring-up is taken from a memo when it was seen before
// (harness/transport_pool.hpp; tools/transport_memo_check.cpp proves that
// changes nothing).
#include <cstddef>
#include <cstdint>

#include "harness/transport_pool.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Function-local: libFuzzer gives no other place to keep state across
  // inputs. Harnesses are restored per input, bring-ups memoised
  // (harness/transport_pool.hpp).
  static vmsg::fuzz::TransportPool pool;
  (void)vmsg::fuzz::run_transport_input(data, size, &pool);
  return 0;
}

// vmsg_fuzz_floor: what libFuzzer can reach on this machine when an input does
// the least a device-stream target could ever do per input, with no oracle at
// all. It bounds fuzz_device's exec/s from above: any input that reaches a
// FIFO must end with a PING answered (fuzz_device oracle (d)), so its
// exec/s cannot beat the "ping" mode below, whatever the harness costs.
//
// Built like the fuzzers (ASan+UBSan+libFuzzer) by fuzz/build.sh but kept out
// of $OUT: it is a measurement, not a fuzzer. fuzz/floor.sh runs every mode.
// The mode comes from VMSG_FLOOR (libFuzzer owns the command line):
//   empty        nothing (libFuzzer's own loop and this binary's counters)
//   config       one config read of the device's vendor ID
//   ping         one PING posted, rung and its answer polled, on a target
//                brought up once (no reset between inputs)
//   reset-ping   fuzz_device's per-input reset (TargetPool: restore the
//                snapshot taken after bring-up, fresh endpoints), then the same PING
// The input's bytes are ignored on purpose: the point is a fixed minimum.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "harness/device_harness.hpp"
#include "harness/device_ops.hpp"
#include "vmsg/driver/fifo_link.hpp"
#include "vmsg/wire/codec.hpp"

namespace {

enum class Mode { Empty, Config, Ping, ResetPing };

Mode mode_from_env() {
  const char* v = std::getenv("VMSG_FLOOR");
  const std::string_view s = v != nullptr ? v : "ping";
  if (s == "empty") return Mode::Empty;
  if (s == "config") return Mode::Config;
  if (s == "ping") return Mode::Ping;
  if (s == "reset-ping") return Mode::ResetPing;
  throw std::invalid_argument("VMSG_FLOOR must be empty, config, ping or reset-ping");
}

/// One FIFO, one plugged device number 0: fuzz_device's smallest setup.
struct Floor {
  Floor() : mode(mode_from_env()), entry(&pool.get(setup)), link(entry->target->machine(), entry->driver->fifo(0).config()) {}
  Mode mode;
  vmsg::fuzz::device_ops::Setup setup{.fifo_choice = 0, .devices = {1}};
  vmsg::fuzz::TargetPool pool;
  vmsg::fuzz::TargetPool::Entry* entry;
  vmsg::driver::FifoLink link;  ///< kept across inputs (ping): a long-running driver's link

  /// One PING round trip; aborts (a finding) if the reference does not answer at once.
  static void ping(vmsg::driver::FifoLink& l) {
    const vmsg::wire::Message req{.dev_num = 0, .token = 1, .reserved_type_bits = 0, .body = vmsg::wire::PingReq{7}};
    const auto frame = vmsg::wire::encode(req, vmsg::wire::Profile::pr28()).value();
    if (l.post(frame) != vmsg::fifo::PushResult::Ok) std::abort();
    l.ring();
    if (!l.poll()) std::abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) {
  static Floor f;  // function-local: libFuzzer gives no other place for state across inputs
  switch (f.mode) {
    case Mode::Empty:
      break;
    case Mode::Config:
      (void)f.entry->target->machine().config_read(vmsg::fuzz::DeviceHarness::kAddr, 0, 2);
      break;
    case Mode::Ping:
      Floor::ping(f.link);
      break;
    case Mode::ResetPing: {
      vmsg::fuzz::TargetPool::Entry& e = f.pool.get(f.setup);  // what fuzz_device does per input
      vmsg::driver::FifoLink fresh(e.target->machine(), e.driver->fifo(0).config());
      Floor::ping(fresh);
      break;
    }
  }
  return 0;
}

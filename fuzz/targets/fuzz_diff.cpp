// fuzz_diff: the same operation stream against the in-process reference
// target and against the reference built as a DUT library
// (libvmsg_ref_dut.so) loaded through the C ABI, reporting the first
// divergence (harness/diff_runner.hpp). The input is diff_ops::Setup (FIFO
// count, virtio devices, a fault mode for both sides) followed by
// fuzz_device's operations; a REV1 prefix (common/profile_prefix.hpp) builds
// both sides in REV1-2026.
//
// Environment:
//   VMSG_DUT_LIB           the library to load; default: libvmsg_ref_dut.so
//                          next to this executable, else the build tree's
//   VMSG_DIFF_FAULT        fault modes (comma-separated names) applied to the
//                          library side only: the two sides then must diverge
//                          and the fuzzer's job is to find inputs that show it
//   VMSG_DIFF_REPORT_ONLY  1: print a divergence and go on with the next input
//                          instead of aborting (the CTest that proves the
//                          fault mode is found uses it)
// Oracle: no divergence (reads, MSIs, counters, final RAM, the driver rules
// each side's validating peer recorded); a divergence aborts. A library other
// than the reference (a vendor's, .clusterfuzzlite/build.sh) is compared on
// the setups it builds: one whose create() refuses an input's topology,
// devices, fault or profile skips that input. The reference must build them
// all (fuzz_dut_config's oracle as well).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/ref_dut_path.hpp"
#include "common/profile_prefix.hpp"
#include "common/stream_io.hpp"
#include "harness/diff_runner.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/dut/lib_port.hpp"

namespace {

constexpr std::size_t kMaxOps = 256;


/// One in-process target and the rule log its device and validators report to.
struct RefSide {
  std::shared_ptr<vmsg::transport::DriverRuleLog> rules = std::make_shared<vmsg::transport::DriverRuleLog>();
  std::unique_ptr<vmsg::target::ReferenceTarget> target;
  /// Right after the first bring-up, with what the reference showed during
  /// it; empty until then, and for good once the target refuses the restore.
  std::optional<vmsg::target::TargetSnapshot> snapshot;
  vmsg::fuzz::BringupRecord bringup;
};

/// What stays loaded across inputs: the library and one in-process target
/// per FIFO count, fault and profile (built on first use; fault mode and
/// profile are fixed when the device is built). Per input the target is
/// restored to its snapshot after bring-up with the input's fresh devices,
/// as in fuzz_device, and the library's bring-up is held against the
/// record of the reference's (DiffRunner, BringupRecord); should the
/// restore be refused, the target is reset and brought up live instead.
struct State {
  std::shared_ptr<vmsg::dut::Library> lib = vmsg::dut::Library::open(vmsg::fuzz::ref_dut_path());
  vmsg::fault::FaultSet faults =
      vmsg::fault::FaultSet::parse_list(std::getenv("VMSG_DIFF_FAULT") ? std::getenv("VMSG_DIFF_FAULT") : "");
  bool report_only = std::getenv("VMSG_DIFF_REPORT_ONLY") != nullptr &&
                     std::string(std::getenv("VMSG_DIFF_REPORT_ONLY")) == "1";
  std::map<std::tuple<unsigned, unsigned, unsigned>, RefSide> sides;
  /// The library side, power-cycled per input (LibPort::recreate) rather than
  /// built again: its guest RAM stays allocated, so ASan pays only for the
  /// pages an input wrote.
  std::unique_ptr<vmsg::dut::LibPort> lib_port;
  bool is_reference = lib->name().starts_with("vmsg-conform reference");
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Function-local: libFuzzer gives no other place to keep state across inputs.
  static State state;
  const vmsg::fuzz::ProfileChoice profile = vmsg::fuzz::take_profile(data, size);
  FuzzedDataProvider fdp(data, size);
  vmsg::fuzz::FdpReader in(fdp);
  vmsg::fuzz::diff_ops::Setup setup;
  vmsg::fuzz::diff_ops::io_setup(in, setup);
  setup.profile = profile;
  RefSide& side = state.sides[{setup.fifo_choice % 4u, setup.fault, setup.profile.index()}];
  side.rules->clear();
  enum class Start { Fresh, Restored, Reset };
  Start start = Start::Reset;
  if (!side.target) {
    side.target = std::make_unique<vmsg::target::ReferenceTarget>(vmsg::fuzz::DiffRunner::spec(setup, side.rules));
    start = Start::Fresh;
  } else if (side.snapshot) {
    try {
      side.target->restore(*side.snapshot, vmsg::fuzz::DiffRunner::devices(setup, side.rules));
      start = Start::Restored;
    } catch (const vmsg::SnapshotError&) {
      side.snapshot.reset();  // the bring-up reached a bus after all: live bring-ups from now on
    }
  }
  if (start == Start::Reset) side.target->reset(vmsg::fuzz::DiffRunner::devices(setup, side.rules));
  try {
    if (!state.lib_port) {
      state.lib_port = std::make_unique<vmsg::dut::LibPort>(
          state.lib, vmsg::dut::LibPortOptions{.config = vmsg::fuzz::DiffRunner::config(setup, state.faults),
                                               .ram_size = vmsg::fuzz::DiffRunner::kRamSize});
    }
    // Fresh: bring up live and record it. Restored: hold the library against the record. Reset: live.
    if (start == Start::Fresh) side.bringup.accesses.clear();
    vmsg::fuzz::DiffRunner r(setup, *side.target, *side.rules, *state.lib_port, state.faults, state.report_only,
                             start == Start::Reset ? nullptr : &side.bringup);
    if (start == Start::Fresh) side.snapshot = side.target->save(vmsg::target::SnapshotScope::WithoutEndpoints);
    for (std::size_t i = 0; i < kMaxOps && in.more(); ++i) {
      vmsg::fuzz::device_ops::Op op;
      vmsg::fuzz::device_ops::io_op(in, op);
      r.run(op);
    }
    r.finish();
  } catch (const vmsg::dut::ConfigRefused&) {
    if (state.is_reference) throw;
    // Not an input for this library. The reference side was not brought up:
    // the next input builds it afresh, as after a first bring-up that diverged.
    if (start == Start::Fresh) side.target.reset();
  } catch (const vmsg::fuzz::Divergence&) {
    // Reported already (report-only mode). A first bring-up that diverged
    // recorded nothing usable: the next input builds afresh.
    if (start == Start::Fresh && !side.snapshot) side.target.reset();
  }
  // What this input made goes now, not when the next input starts: libFuzzer
  // runs an input again (and looks for leaks) whenever it allocated more than
  // it freed. Both sides' rule logs, the reference side's validators and
  // endpoints, the library's instance.
  side.rules->clear();
  if (side.target) side.target->unplug_devices();
  if (state.lib_port) state.lib_port->release();
  return 0;
}

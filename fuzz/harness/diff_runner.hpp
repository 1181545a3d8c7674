// Differential execution: one operation stream (device_ops) against the
// in-process reference target and against the reference built as a DUT
// library and loaded through the C ABI (vmsg_dut.h, dut::LibPort). Every
// access goes to both sides through a DiffPort, which compares what an
// observer can see after each one: values read (config, MMIO, bulk), the MSIs
// that landed (address, data, time) and the machine counters; at the end the
// whole guest RAM. The first difference is reported with the operation and
// access that exposed it.
//
// Both sides run the same code behind different plumbing (ECAM and BAR
// decode in the host, DMA and MSI through callbacks), with the same fault mode
// when the input's Setup picks one, so any divergence is a bug in that
// plumbing or in the ABI. Both are built in the Setup's draft (PR28 or
// REV1-2026, the library through profile= and strict-config-generation=).
// Both sides also run the validating peer; the driver
// rules each recorded (rule and device number, in order) must agree too.
// With a fault mode on the library side only (VMSG_DIFF_FAULT) a divergence is
// expected: the fuzzer's job is then to find an input that exposes it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/device_ops.hpp"
#include "harness/diff_ops.hpp"
#include "vmsg/common/faults.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/dut/lib_port.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/driver_rules.hpp"

namespace vmsg::fuzz {

/// Thrown (report-only mode) or reported and aborted on (default) at the first divergence.
struct Divergence {
  std::string what;
};

class DiffRunner {
 public:
  static constexpr std::uint64_t kRamSize = (1ULL << 20) + 0x1000;
  static constexpr port::PciAddress kAddr{0, 4, 0};

  /// The in-process target's device list for `s`: fresh transports with the
  /// setup's fault, each behind a ValidatingEndpoint recording into `rules`
  /// (as the reference library assembles them).
  [[nodiscard]] static std::vector<target::DeviceSlot> devices(const diff_ops::Setup& s,
                                                               const std::shared_ptr<transport::DriverRuleLog>& rules);
  /// The in-process target for `s` (num_fifos, RAM size, fault, devices);
  /// `rules` must outlive the target (the device reports into it).
  [[nodiscard]] static target::ReferenceSpec spec(const diff_ops::Setup& s,
                                                  const std::shared_ptr<transport::DriverRuleLog>& rules);
  /// The library's configuration string for `s`: the setup's fault plus
  /// `lib_faults` on the library side.
  [[nodiscard]] static std::string config(const diff_ops::Setup& s, const fault::FaultSet& lib_faults);

  /// `ref` must be built (or reset) from spec(s, rules), with `rules` empty.
  /// Brings both sides up with the same driver sequence (already compared).
  /// `report_only`: divergences throw Divergence instead of aborting.
  DiffRunner(const diff_ops::Setup& s, target::ReferenceTarget& ref, transport::DriverRuleLog& rules,
             std::shared_ptr<dut::Library> lib, const fault::FaultSet& lib_faults, bool report_only);
  /// The same with a library port kept across inputs: it is power-cycled here
  /// (LibPort::recreate with config(s, lib_faults)), which keeps its RAM
  /// allocated; its RAM size must be kRamSize.
  DiffRunner(const diff_ops::Setup& s, target::ReferenceTarget& ref, transport::DriverRuleLog& rules,
             dut::LibPort& lib, const fault::FaultSet& lib_faults, bool report_only);
  ~DiffRunner();
  DiffRunner(const DiffRunner&) = delete;
  DiffRunner& operator=(const DiffRunner&) = delete;

  void run(const device_ops::Op& op);
  /// Drains, compares RAM and counters.
  void finish();

 private:
  class DiffPort;
  friend class DiffPort;

  /// Both sides' bring-up, once the library side exists.
  void bring_up();
  [[noreturn]] void diverge(const std::string& what) const;
  void compare_after_access();
  void compare_rules();
  [[nodiscard]] bool sane() const;
  [[nodiscard]] std::uint64_t resolve(device_ops::Region r, std::uint64_t raw) const;

  unsigned nf_;
  bool report_only_;
  wire::Profile profile_;  ///< the draft both sides (and the driver) speak
  target::ReferenceTarget& ref_;
  transport::DriverRuleLog& rules_;
  std::unique_ptr<dut::LibPort> own_lib_;  ///< null when the caller keeps the port
  dut::LibPort* lib_;
  std::unique_ptr<DiffPort> port_;
  std::optional<driver::AmpDriver> drv_;
  std::array<std::uint64_t, 3> bar_base_{};
  std::array<std::uint64_t, 3> bar_size_{};
  std::size_t msi_seen_ = 0;
  std::size_t op_index_ = 0;
  std::uint64_t access_ = 0;
};

}  // namespace vmsg::fuzz

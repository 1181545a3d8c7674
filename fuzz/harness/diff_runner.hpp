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

/// The reference side of one driver bring-up as the first input saw it: per
/// port access what it returned (value, bytes or error) and the MSI count and
/// machine counters after it. Later inputs restore the reference target to
/// the snapshot taken right after that bring-up and hold the library's
/// bring-up against this record, access by access: the same comparison,
/// since the reference's bring-up never reaches a bus (the restore checks
/// it) and so cannot depend on the input's devices.
struct BringupRecord {
  struct Access {
    std::uint8_t kind = 0;            ///< which port call, to catch a bring-up that took another path
    std::uint64_t addr = 0;
    std::uint64_t value = 0;          ///< what a scalar read returned
    std::vector<std::uint8_t> bytes;  ///< what mem_read returned
    std::string error;                ///< what the access threw; empty: nothing
    std::size_t msis = 0;             ///< MSI log length after the access
    machine::MachineStats stats;      ///< machine counters after the access
  };
  std::vector<Access> accesses;
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
  /// `bringup`: null or empty, `ref` is at power-on and is brought up live
  /// (an empty record is filled); holding a record, `ref` is already past the
  /// bring-up (restored) and only the library runs it, held against the record.
  DiffRunner(const diff_ops::Setup& s, target::ReferenceTarget& ref, transport::DriverRuleLog& rules,
             std::shared_ptr<dut::Library> lib, const fault::FaultSet& lib_faults, bool report_only,
             BringupRecord* bringup = nullptr);
  /// The same with a library port kept across inputs: it is power-cycled here
  /// (LibPort::recreate with config(s, lib_faults)), which keeps its RAM
  /// allocated; its RAM size must be kRamSize.
  DiffRunner(const diff_ops::Setup& s, target::ReferenceTarget& ref, transport::DriverRuleLog& rules,
             dut::LibPort& lib, const fault::FaultSet& lib_faults, bool report_only, BringupRecord* bringup = nullptr);
  ~DiffRunner();
  DiffRunner(const DiffRunner&) = delete;
  DiffRunner& operator=(const DiffRunner&) = delete;

  void run(const device_ops::Op& op);
  /// Drains, compares RAM and counters.
  void finish();

 private:
  class DiffPort;
  class RefPort;
  friend class DiffPort;
  friend class RefPort;

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
  std::unique_ptr<RefPort> ref_port_;  ///< the reference side of every access (live, recording or replaying)
  std::unique_ptr<DiffPort> port_;
  std::optional<driver::AmpDriver> drv_;
  std::array<std::uint64_t, 3> bar_base_{};
  std::array<std::uint64_t, 3> bar_size_{};
  std::size_t msi_seen_ = 0;
  std::size_t op_index_ = 0;
  std::uint64_t access_ = 0;
};

}  // namespace vmsg::fuzz

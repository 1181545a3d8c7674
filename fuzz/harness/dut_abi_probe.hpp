// Hostile calls on the C ABI of a DUT library instance, directly and through
// the host's LibPort, each checked against what vmsg_dut.h documents
// (oracle (d) of dut_config_check.hpp).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "harness/dut_config_ops.hpp"
#include "vmsg/dut/config.hpp"
#include "vmsg/dut/lib_port.hpp"
#include "vmsg/dut/library.hpp"
#include "vmsg_dut.h"

namespace vmsg::fuzz {

/// Host callbacks over a small RAM, for instances created directly through
/// the ABI (LibPort brings its own).
class AbiHost {
 public:
  AbiHost();
  [[nodiscard]] const vmsg_dut_host& host() const noexcept { return host_; }

 private:
  static int mem_read(void* ctx, std::uint64_t addr, void* buf, std::size_t len);
  static int mem_write(void* ctx, std::uint64_t addr, const void* buf, std::size_t len);
  static int msi_write(void* ctx, std::uint16_t rid, std::uint64_t addr, std::uint32_t data);

  std::vector<std::uint8_t> ram_;
  vmsg_dut_host host_{};
};

/// Direct ABI calls on one instance built from `config`.
class AbiProbe {
 public:
  AbiProbe(const dut::Library& lib, vmsg_dut* dut, const dut::DutConfig& config)
      : lib_(lib), api_(lib.api()), dut_(dut), config_(config) {}
  void call(const dut_config_ops::CallOp& op);

 private:
  void config_access(const dut_config_ops::CallOp& op);
  void mmio_access(const dut_config_ops::CallOp& op);
  /// The ABI 1.2 bulk entry for the same bytes as a single access that just
  /// returned `single` (reading `read_value`, or writing `written`): a
  /// documented status, never OK where the single access was unmapped, the
  /// same bytes when it reads; and NULL/empty buffers refused.
  void bulk_mirror(std::uint64_t addr, std::uint32_t size, bool write, std::uint64_t written, int single,
                   std::uint64_t read_value);
  void stimulus(const dut_config_ops::CallOp& op);
  void violations(const dut_config_ops::CallOp& op);
  /// A failing status must come with a message.
  void expect_message(int status, std::string_view what);

  const dut::Library& lib_;
  const vmsg_dut_api& api_;
  vmsg_dut* dut_;
  const dut::DutConfig& config_;
};

/// The same edges through LibPort: PortError exactly where it documents one.
void port_call(dut::LibPort& port, const dut::DutConfig& config, const dut_config_ops::CallOp& op);

/// One violations() line (without the newline) must read "RULE dev=N KIND: DETAIL"
/// with RULE from the driver-rule catalogue of `config`'s profile.
void check_violation_line(std::string_view line, const dut::DutConfig& config);

/// The address a call names.
[[nodiscard]] std::uint64_t call_address(const dut_config_ops::CallOp& op);

}  // namespace vmsg::fuzz

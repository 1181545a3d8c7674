// The checks of fuzz_dut_config: the DUT configuration grammar
// (dut/config.hpp), the backends it names (devices/factory.hpp), and the C
// ABI of the reference DUT library with the host side that loads it
// (dut/library.hpp, dut/lib_port.hpp).
//
// Oracles (each failure names what broke):
//  (a) Parse: any string gives a DutConfig or vmsg::ConfigError with a
//      message, never another exception.
//  (b) Round trip: for an accepted string s, format_config(parse_config(s))
//      never throws, parses back to the same DutConfig and is canonical
//      (formatting it again gives the same text); for a DutConfig built
//      field by field inside the grammar's domain, parse(format(c)) == c.
//  (c) Build: a parsed configuration either builds (amp function, every
//      backend, every transport) or fails with ConfigError; the library's
//      create() succeeds exactly when the in-process build does, and for a
//      string the grammar refuses it returns NULL with the parser's own
//      message. LibPort throws PortError exactly when create() fails.
//  (d) ABI edges: config/MMIO accesses with sizes 0/3/16, unaligned or
//      past-4-KiB offsets, NULL value pointers, other functions and addresses
//      at the top of the space get the status vmsg_dut.h documents (INVALID,
//      NO_FUNCTION, UNMAPPED) and a message with every failure; stimulus and
//      violations follow their documented contracts (NULL, malformed and
//      absent devices refused; buffer/size pairs; whole lines of
//      "RULE dev=N KIND: DETAIL" with catalogue rules; no byte written past
//      the size given); the host's LibPort refuses the same edges with
//      PortError and nothing else.
//  (e) Once per process: the loader refuses a missing file and a library
//      without the entry point; create() refuses missing host callbacks; every
//      entry refuses a NULL handle.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/dut_config_ops.hpp"
#include "vmsg/dut/config.hpp"
#include "vmsg/dut/library.hpp"

namespace vmsg::fuzz {

/// Runs the checks above; keeps the library loaded across inputs.
class DutConfigChecker {
 public:
  /// Loads the reference DUT from `library_path` and runs the once-per-process checks (e).
  explicit DutConfigChecker(const std::string& library_path);

  void run(const dut_config_ops::Input& in);

  /// The DutConfig `b` describes (inside the grammar's domain by construction).
  [[nodiscard]] static dut::DutConfig build(const dut_config_ops::Built& b);

 private:
  /// (a), (b) for a string; the config when the grammar accepts it.
  std::optional<dut::DutConfig> check_text(std::string_view text, std::string& error);
  /// (b) for a structured config; returns its text.
  std::string check_built(const dut::DutConfig& c);
  /// (c) and (d): create the library instance and the LibPort from `text`.
  void check_open(const std::string& text, const std::optional<dut::DutConfig>& parsed, const std::string& error,
                  const dut_config_ops::Input& in);
  void check_once();

  std::shared_ptr<dut::Library> lib_;
  std::vector<port::PciAddress> chipset_;  ///< q35's functions, whose addresses LibPort's host refuses
};

/// Why the reference cannot build `c` (ConfigError text), "" when it can, or
/// nullopt when building it would be too costly to try (a large RAM disk).
[[nodiscard]] std::optional<std::string> build_problem(const dut::DutConfig& c);

}  // namespace vmsg::fuzz

// The server side of qtest over the in-process machine: what vmsg-ref-qtest
// answers in QEMU's place. Pure line-in/line-out; the tool owns the socket.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vmsg/machine/machine.hpp"

namespace vmsg::qtest {

/// Counters of a Server.
struct ServerStats {
  std::uint64_t commands = 0;  ///< lines handled
  std::uint64_t failed = 0;    ///< lines answered FAIL or ERR
};

/// Target-side capabilities behind the server's extension commands, which
/// QEMU does not have (so a real QEMU answers them "FAIL Unknown command"):
///   vmsg_stimulus            -> "OK" plus the verbs it knows (a probe)
///   vmsg_stimulus ACTION...  -> "OK" done, "FAIL unsupported ..." when the
///                               target cannot, "ERR ..." when malformed
///                               (ACTION as vmsg_dut.h's stimulus entry)
///   vmsg_violations          -> "OK B64" (base64 of the violation lines,
///                               vmsg_dut.h format, "OK" alone when none);
///                               cleared on read
class ServerExtensions {
 public:
  virtual ~ServerExtensions() = default;
  /// The verbs stimulus() knows.
  [[nodiscard]] virtual std::vector<std::string> stimulus_verbs() const = 0;
  /// True when done, false when the target cannot; ConfigError when malformed.
  virtual bool stimulus(std::string_view action) = 0;
  /// The violation lines (no newline) since the last call, oldest first.
  virtual std::vector<std::string> take_violations() = 0;
};

/// Answers qtest commands against a machine, in QEMU's reply formats.
///
/// Port I/O on q35: CF8 holds the configuration address (32-bit accesses
/// only, as on a PC host bridge); CFC..CFF reach configuration space of bus 0
/// through Machine::config_read/config_write; every other port reads all-ones
/// and ignores writes. On arm virt, which has no I/O space, every port reads
/// all-ones and ignores writes, CF8/CFC included: what QEMU's qtest answers
/// there (its empty I/O address space), so configuration space is reached
/// through ECAM only. Unknown commands get "FAIL Unknown command '...'" like
/// QEMU; malformed arguments get "ERR ..." (QEMU would abort on an assert).
/// clock_step without an argument advances kDefaultStepNs (the machine has
/// no timer deadline to step to); a step that would take the clock past
/// 2^64-1 ns is answered ERR and leaves it alone. IRQ intercepts are accepted, but the
/// machine has no wired interrupt lines, so no IRQ line is ever sent.
class Server {
 public:
  static constexpr std::uint64_t kDefaultStepNs = 1'000'000;

  explicit Server(machine::Machine& machine) : machine_(&machine) {}
  /// With extension commands answered by `ext` (not owned; must outlive the server).
  Server(machine::Machine& machine, ServerExtensions* ext) : machine_(&machine), ext_(ext) {}

  /// The reply to one command line, newline included, never longer than
  /// kMaxLineBytes: a read whose reply would be is answered ERR.
  std::string handle(std::string_view line);
  [[nodiscard]] const ServerStats& stats() const noexcept { return stats_; }

 private:
  std::string dispatch(std::string_view line);
  /// The reply to a vmsg_* extension line (ext_ set).
  std::string extension(std::string_view name, std::string_view args);
  std::uint32_t port_read(std::uint64_t port, unsigned size);
  void port_write(std::uint64_t port, unsigned size, std::uint32_t value);

  machine::Machine* machine_;
  ServerExtensions* ext_ = nullptr;
  std::uint32_t cf8_ = 0;
  bool intercepted_ = false;
  ServerStats stats_;
};

}  // namespace vmsg::qtest

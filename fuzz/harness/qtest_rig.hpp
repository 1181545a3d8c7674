// What fuzz_qtest and its seed generator share: the reference machine behind
// the server, turning qtest_ops fields into lines and Commands, and a Server
// answering a socket from its own thread (the genuine peer of a QtestPort).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness/qtest_ops.hpp"
#include "vmsg/qtest/line_channel.hpp"
#include "vmsg/qtest/protocol.hpp"
#include "vmsg/qtest/ref_extensions.hpp"
#include "vmsg/qtest/server.hpp"
#include "vmsg/target/reference_target.hpp"

namespace vmsg::fuzz {

/// The vmsg-ref-qtest command line of the rig's machine (2 MiB RAM, one
/// FIFO, rng on bus0, a 16-sector blk on bus5, a balloon on bus31).
[[nodiscard]] std::vector<std::string> qtest_rig_args();

/// A reference target built from qtest_rig_args() the way vmsg-ref-qtest
/// builds it: devices behind validators, rules reported to the extensions.
/// Built fresh per input: the extensions' transports and rule log are state
/// that ReferenceTarget::reset() does not cover.
class QtestRig {
 public:
  QtestRig();
  [[nodiscard]] machine::Machine& machine() noexcept { return target_->machine(); }
  [[nodiscard]] qtest::RefExtensions& extensions() noexcept { return ext_; }

 private:
  qtest::RefExtensions ext_;  // declared first: the target reports into it
  std::unique_ptr<target::ReferenceTarget> target_;
};

/// The Command a Formatted op describes. Fields are taken as given, so the
/// result may be one format_command refuses (zero length, value too wide).
[[nodiscard]] qtest::Command formatted_command(const qtest_ops::ServerOp& op);
/// The word-level hostile line of a Hostile op (no newline).
[[nodiscard]] std::string hostile_line(const qtest_ops::ServerOp& op);
/// The extension line of an Extension op (no newline).
[[nodiscard]] std::string extension_line(const qtest_ops::ServerOp& op);
/// A byte string as text, cut at the first newline (one line stays one line).
[[nodiscard]] std::string one_line(const std::vector<std::uint8_t>& bytes);

/// Serves qtest lines on `fd` with a Server over `machine` from its own
/// thread until the client closes its end; optionally records every line
/// pair. The destructor joins, so the machine may be inspected afterwards.
class ServerThread {
 public:
  /// Takes ownership of `fd`. `ext` may be null (no extension commands).
  ServerThread(machine::Machine& machine, qtest::ServerExtensions* ext, int fd, bool record = false);
  ~ServerThread();
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;

  /// Waits for the client to close and returns what was served (command, reply incl. newline).
  std::vector<std::pair<std::string, std::string>> finish();
  [[nodiscard]] qtest::ServerStats stats();

 private:
  void run();

  qtest::Server server_;
  qtest::LineChannel chan_;  ///< handed over to the thread when it starts
  bool record_;
  std::vector<std::pair<std::string, std::string>> log_;
  std::thread thread_;
};

/// A connected AF_UNIX stream pair; throws std::runtime_error on failure.
[[nodiscard]] std::pair<int, int> socket_pair();

}  // namespace vmsg::fuzz

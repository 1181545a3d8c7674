// A QMP client: QEMU's monitor protocol over a unix socket, one JSON object
// per line (the line codec is json.hpp; this adds the session rules).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "vmsg/common/errors.hpp"
#include "vmsg/qtest/json.hpp"
#include "vmsg/qtest/line_channel.hpp"
#include "vmsg/qtest/qmp_server.hpp"

namespace vmsg::qtest {

/// The session itself broke: timeout, closed socket, an over-long line, a
/// line that is not JSON or not a QMP message, a reply to another command.
class QmpProtocolError : public PortError {
 public:
  using PortError::PortError;
};

/// One negotiated QMP session. Commands answered with an error throw
/// QmpError (class and desc as QMP gave them); anything else that goes wrong
/// throws QmpProtocolError. Asynchronous events are skipped (and counted).
class QmpClient {
 public:
  /// Takes ownership of a connected socket, reads the greeting and negotiates
  /// capabilities, each step waiting at most `timeout`.
  QmpClient(int fd, std::chrono::milliseconds timeout);
  /// Connects to the unix socket `path`, retrying until `timeout` while it
  /// does not exist or refuses (QEMU creates it a little after it starts).
  static QmpClient connect(const std::string& path, std::chrono::milliseconds timeout);

  /// Runs `command` with `args` (an object) and returns its `return` value.
  json::Value execute(std::string_view command, json::Object args = {});
  /// The greeting's "QMP" member.
  [[nodiscard]] const json::Value& greeting() const noexcept { return greeting_; }
  /// Events skipped so far.
  [[nodiscard]] std::uint64_t events_skipped() const noexcept { return events_; }
  void set_timeout(std::chrono::milliseconds t) noexcept { timeout_ = t; }

 private:
  /// The next non-event message, parsed.
  json::Value read_message(std::string_view waiting_for);

  LineChannel chan_;
  std::chrono::milliseconds timeout_;
  json::Value greeting_;
  std::int64_t next_id_ = 1;
  std::uint64_t events_ = 0;
};

}  // namespace vmsg::qtest

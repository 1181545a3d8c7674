// A connected stream socket carrying newline-terminated text lines, with
// deadlines: the transport under both the qtest client and the server.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace vmsg::qtest {

/// Owns a connected socket fd and reads whole lines from it. Not thread-safe.
///
/// Failures are reported, never thrown, so callers can name the command that
/// was waiting: read_line returns nullopt and sets `failure()`.
class LineChannel {
 public:
  /// Takes ownership of `fd` (closed by the destructor). -1 is an unusable channel.
  explicit LineChannel(int fd) noexcept : fd_(fd) {}
  ~LineChannel();
  LineChannel(const LineChannel&) = delete;
  LineChannel& operator=(const LineChannel&) = delete;
  LineChannel(LineChannel&& o) noexcept;
  LineChannel& operator=(LineChannel&& o) noexcept;

  /// What went wrong last.
  enum class Failure { None, Timeout, Closed, TooLong, Io };

  /// Writes all of `data` (no SIGPIPE). False on error (failure() says why).
  bool write_all(std::string_view data);
  /// The next line without its "\n", waiting at most `timeout`; nullopt on
  /// timeout, peer close, an over-long line or an I/O error.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// True when a whole line is already buffered, so read_line returns it
  /// without waiting (a server uses it to answer a pipelined batch in one write).
  [[nodiscard]] bool has_line() const noexcept { return buf_.find('\n') != std::string::npos; }
  [[nodiscard]] Failure failure() const noexcept { return failure_; }
  [[nodiscard]] std::string failure_text() const;
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
  std::string buf_;
  Failure failure_ = Failure::None;
  int errno_ = 0;
};

}  // namespace vmsg::qtest

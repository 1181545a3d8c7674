#include "vmsg/qtest/line_channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "vmsg/qtest/protocol.hpp"

namespace vmsg::qtest {

LineChannel::~LineChannel() {
  if (fd_ >= 0) ::close(fd_);
}

LineChannel::LineChannel(LineChannel&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), buf_(std::move(o.buf_)), failure_(o.failure_), errno_(o.errno_) {}

LineChannel& LineChannel::operator=(LineChannel&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    buf_ = std::move(o.buf_);
    failure_ = o.failure_;
    errno_ = o.errno_;
  }
  return *this;
}

bool LineChannel::write_all(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      errno_ = errno;
      failure_ = (errno == EPIPE || errno == ECONNRESET) ? Failure::Closed : Failure::Io;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<std::string> LineChannel::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t scanned = 0;
  for (;;) {
    const std::size_t nl = buf_.find('\n', scanned);
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    scanned = buf_.size();
    if (buf_.size() > kMaxLineBytes) {
      failure_ = Failure::TooLong;
      return std::nullopt;
    }
    // Rounded up, so the wait never ends before the deadline.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      failure_ = Failure::Timeout;
      return std::nullopt;
    }
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1'000'000)));
    if (r < 0) {
      if (errno == EINTR) continue;
      errno_ = errno;
      failure_ = Failure::Io;
      return std::nullopt;
    }
    if (r == 0) continue;  // deadline re-checked at the top
    std::array<char, 65536> chunk{};
    const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n == 0) {
      failure_ = Failure::Closed;
      return std::nullopt;
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      errno_ = errno;
      failure_ = errno == ECONNRESET ? Failure::Closed : Failure::Io;
      return std::nullopt;
    }
    buf_.append(chunk.data(), static_cast<std::size_t>(n));
  }
}

std::string LineChannel::failure_text() const {
  switch (failure_) {
    case Failure::None: return "no failure";
    case Failure::Timeout: return "timed out";
    case Failure::Closed: return "peer closed the connection";
    case Failure::TooLong: return "reply line too long";
    case Failure::Io: return std::string("I/O error: ") + std::strerror(errno_);
  }
  return "?";
}

}  // namespace vmsg::qtest

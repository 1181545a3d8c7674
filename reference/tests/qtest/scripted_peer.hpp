// A QtestPort on one end of a socketpair, the test playing the server on
// the other end with replies queued ahead: what the port sends is then
// exactly comparable text.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>

#include "vmsg/qtest/qtest_port.hpp"

namespace vmsg::qtest::testing {

/// Options with a short timeout: the scripted peer answers at once or never.
inline QtestPortOptions opts() {
  QtestPortOptions o;
  o.timeout = std::chrono::milliseconds(300);
  return o;
}

/// A QtestPort on one end of a socketpair; the test plays the server on the other.
struct Peer {
  explicit Peer(QtestPortOptions o = opts()) {
    std::array<int, 2> sv{};
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv.data()), 0);
    server = sv[1];
    port = std::make_unique<QtestPort>(sv[0], o);
  }
  ~Peer() {
    if (server >= 0) ::close(server);
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  /// Queues replies before the client asks (the socket buffers them).
  void reply(const std::string& text) const { ASSERT_EQ(::write(server, text.data(), text.size()), static_cast<ssize_t>(text.size())); }
  /// Everything the client has sent so far.
  [[nodiscard]] std::string sent() const {
    std::string out;
    for (;;) {
      pollfd p{server, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) return out;
      std::array<char, 4096> buf{};
      const ssize_t n = ::read(server, buf.data(), buf.size());
      if (n <= 0) return out;
      out.append(buf.data(), static_cast<std::size_t>(n));
    }
  }
  void hang_up() {
    ::close(server);
    server = -1;
  }

  int server = -1;
  std::unique_ptr<QtestPort> port;
};

}  // namespace vmsg::qtest::testing

// vmsg-ref-qtest's main: build the reference from QEMU-style arguments, connect
// to the client's socket, serve qtest lines (see ref_main.hpp).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "vmsg/qtest/ref_main.hpp"

#include "vmsg/common/errors.hpp"
#include "vmsg/machine/machine.hpp"
#include "vmsg/qtest/line_channel.hpp"
#include "vmsg/qtest/qmp_server.hpp"
#include "vmsg/qtest/ref_extensions.hpp"
#include "vmsg/qtest/ref_args.hpp"
#include "vmsg/qtest/server.hpp"
#include "vmsg/target/reference_target.hpp"

namespace vmsg::qtest {
namespace {

/// A unix stream socket at `path`, connected (`listen` false) or listening
/// (an old socket file replaced, as QEMU does); -1 with errno on failure.
int unix_socket(const std::string& path, bool listen) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (listen) ::unlink(path.c_str());
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes a sockaddr*
  const auto* addr = reinterpret_cast<const sockaddr*>(&sa);
  const bool ok = listen ? ::bind(fd, addr, sizeof(sa)) == 0 && ::listen(fd, 1) == 0 : ::connect(fd, addr, sizeof(sa)) == 0;
  if (!ok) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/// Exit status of a process whose device crashed: what an AddressSanitizer
/// build of QEMU exits with after its report.
constexpr int kCrashStatus = 1;

/// What draining a readable channel found.
enum class Drain { More, Closed, Broken, Quit, Crashed };

/// Answers every whole line `chan` has (it was just readable) with `answer`.
/// When `machine` is given and its device crashed on a line, the report goes
/// to stderr and that line gets no reply (the process then exits, as QEMU does).
template <typename Answer>
Drain drain(LineChannel& chan, Answer&& answer, const machine::Machine* machine = nullptr) {
  // Replies to a pipelined batch leave in one write: the client then wakes
  // once per batch instead of once per reply. A reply waits only while
  // another whole command is already buffered, so nothing waits on the
  // client, and only up to a few KiB: bulk replies go out as they come, so
  // the client decodes one while the next is made.
  constexpr std::size_t kHoldBytes = 4096;
  std::string replies;
  const auto flush = [&] {
    if (!replies.empty() && !chan.write_all(replies)) return false;
    replies.clear();
    return true;
  };
  const auto lost = [&] { return chan.failure() == LineChannel::Failure::Closed ? Drain::Closed : Drain::Broken; };
  // The first read may wait a moment for the rest of a line; later ones only
  // take lines already buffered.
  auto wait = std::chrono::milliseconds(1);
  for (;;) {
    auto line = chan.read_line(wait);
    wait = std::chrono::milliseconds(0);
    if (!line) {
      const Drain end = lost();
      if (chan.failure() == LineChannel::Failure::Timeout) return flush() ? Drain::More : lost();
      (void)flush();  // a half-closed peer may still read what it asked for
      return end;
    }
    auto [reply, quit] = answer(*line);
    if (machine != nullptr && !machine->crash_report().empty()) {
      (void)flush();  // the lines before the crash were answered, as in QEMU
      std::fputs(machine->crash_report().c_str(), stderr);
      std::fflush(stderr);
      return Drain::Crashed;
    }
    replies += reply;
    if (!quit && chan.has_line() && replies.size() < kHoldBytes) continue;
    if (!flush()) return lost();
    if (quit) return Drain::Quit;
  }
}

/// Serves the qtest connection and, when `qmp_listener` >= 0, one QMP
/// connection at a time, until the qtest client closes or QMP says quit.
int serve(Server& server, const machine::Machine& machine, int fd, int qmp_listener, QmpBackend* backend) {
  LineChannel chan(fd);
  std::optional<LineChannel> qmp_chan;
  std::optional<QmpServer> qmp;
  for (;;) {
    std::vector<pollfd> fds{{chan.fd(), POLLIN, 0}};
    if (qmp_chan) {
      fds.push_back({qmp_chan->fd(), POLLIN, 0});
    } else if (qmp_listener >= 0) {
      fds.push_back({qmp_listener, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return 2;
    }
    if (fds[0].revents != 0) {
      const Drain d = drain(chan, [&](const std::string& l) { return std::pair{server.handle(l), false}; }, &machine);
      if (d == Drain::Crashed) return kCrashStatus;
      if (d == Drain::Closed) return 0;
      if (d == Drain::Broken) return 2;
    }
    if (fds.size() < 2 || fds[1].revents == 0) continue;
    if (!qmp_chan) {
      const int c = ::accept4(qmp_listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      qmp_chan.emplace(c);
      qmp.emplace(backend);
      if (!qmp_chan->write_all(qmp->greeting())) qmp_chan.reset();
      continue;
    }
    const Drain d = drain(*qmp_chan, [&](const std::string& l) {
      std::string reply = qmp->handle(l);
      return std::pair{std::move(reply), qmp->quit_requested()};
    });
    if (d == Drain::Quit) return 0;
    if (d != Drain::More) qmp_chan.reset();  // the QMP client left; another may connect
  }
}

}  // namespace

int ref_qtest_main(const std::vector<std::string>& args) {
  vmsg::qtest::RefArgs parsed;
  // Declared before the target, which reports into it, so it outlives it.
  vmsg::qtest::RefExtensions extensions;
  std::unique_ptr<vmsg::target::ReferenceTarget> target;
  std::unique_ptr<vmsg::machine::Machine> bare;
  try {
    parsed = vmsg::qtest::parse_ref_args(args);
    if (parsed.list_devices || parsed.list_accels || parsed.list_machines) {
      if (parsed.list_machines) std::fputs(vmsg::qtest::machine_help().c_str(), stdout);
      if (parsed.list_accels) std::fputs("Accelerators supported in QEMU binary:\nqtest\n", stdout);
      if (parsed.list_devices) std::fputs(vmsg::qtest::device_help().c_str(), stdout);
      return 0;
    }
    if (parsed.has_amp) {
      target = std::make_unique<vmsg::target::ReferenceTarget>(extensions.instrument(vmsg::qtest::make_spec(parsed)));
    } else {
      bare = std::make_unique<vmsg::machine::Machine>(vmsg::machine::MachineConfig{.ram_size = parsed.ram_bytes, .type = parsed.machine});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  vmsg::machine::Machine& machine = target ? target->machine() : *bare;
  if (target) extensions.attach(*target, parsed);
  // QEMU creates the QMP socket (server=on,wait=off) before it connects to qtest.
  int qmp_listener = -1;
  if (!parsed.qmp_socket.empty()) {
    qmp_listener = unix_socket(parsed.qmp_socket, true);
    if (qmp_listener < 0) {
      std::fprintf(stderr, "vmsg-ref-qtest: cannot listen on %s: %s\n", parsed.qmp_socket.c_str(), std::strerror(errno));
      return 2;
    }
  }
  const int fd = unix_socket(parsed.qtest_socket, false);
  if (fd < 0) {
    std::fprintf(stderr, "vmsg-ref-qtest: cannot connect to %s: %s\n", parsed.qtest_socket.c_str(), std::strerror(errno));
    return 2;
  }
  // The extension commands (vmsg_stimulus, vmsg_violations) need the amp devices.
  vmsg::qtest::Server server(machine, target ? &extensions : nullptr);
  const int rc = serve(server, machine, fd, qmp_listener, target ? &extensions : nullptr);
  if (qmp_listener >= 0) {
    ::close(qmp_listener);
    ::unlink(parsed.qmp_socket.c_str());
  }
  return rc;
}

}  // namespace vmsg::qtest

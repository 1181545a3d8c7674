// vmsg-ref-qtest's main: build the reference from QEMU-style arguments, connect
// to the client's socket, serve qtest lines (see ref_main.hpp).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "vmsg/qtest/ref_main.hpp"

#include "vmsg/common/errors.hpp"
#include "vmsg/machine/machine.hpp"
#include "vmsg/qtest/line_channel.hpp"
#include "vmsg/qtest/ref_extensions.hpp"
#include "vmsg/qtest/ref_args.hpp"
#include "vmsg/qtest/server.hpp"
#include "vmsg/target/reference_target.hpp"

namespace vmsg::qtest {
namespace {

int connect_unix(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) return -1;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes a sockaddr*
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int serve(vmsg::qtest::Server& server, int fd) {
  vmsg::qtest::LineChannel chan(fd);
  for (;;) {
    auto line = chan.read_line(std::chrono::hours(24));
    if (!line) {
      if (chan.failure() == vmsg::qtest::LineChannel::Failure::Timeout) continue;
      return chan.failure() == vmsg::qtest::LineChannel::Failure::Closed ? 0 : 2;
    }
    if (!chan.write_all(server.handle(*line))) return chan.failure() == vmsg::qtest::LineChannel::Failure::Closed ? 0 : 2;
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
    if (parsed.list_devices || parsed.list_accels) {
      if (parsed.list_accels) std::fputs("Accelerators supported in QEMU binary:\nqtest\n", stdout);
      if (parsed.list_devices) std::fputs(vmsg::qtest::device_help().c_str(), stdout);
      return 0;
    }
    if (parsed.has_amp) {
      target = std::make_unique<vmsg::target::ReferenceTarget>(extensions.instrument(vmsg::qtest::make_spec(parsed)));
    } else {
      bare = std::make_unique<vmsg::machine::Machine>(vmsg::machine::MachineConfig{.ram_size = parsed.ram_bytes});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  vmsg::machine::Machine& machine = target ? target->machine() : *bare;
  const int fd = connect_unix(parsed.qtest_socket);
  if (fd < 0) {
    std::fprintf(stderr, "vmsg-ref-qtest: cannot connect to %s: %s\n", parsed.qtest_socket.c_str(), std::strerror(errno));
    return 2;
  }
  // The extension commands (vmsg_stimulus, vmsg_violations) need the amp devices.
  vmsg::qtest::Server server(machine, target ? &extensions : nullptr);
  return serve(server, fd);
}

}  // namespace vmsg::qtest

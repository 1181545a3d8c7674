#include "vmsg/qtest/qemu_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "vmsg/common/errors.hpp"
#include "vmsg/qtest/qmp_client.hpp"

extern char** environ;  // NOLINT: POSIX hands the environment over this way

namespace vmsg::qtest {
namespace {

/// Closes an fd on scope exit unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd) noexcept : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

ExitStatus decode_status(int st) {
  if (WIFSIGNALED(st)) return {true, WTERMSIG(st)};
  return {false, WIFEXITED(st) ? WEXITSTATUS(st) : -1};
}

/// posix_spawnp with stdin from /dev/null, stdout to `out_fd` (or /dev/null)
/// and stderr to `err_path` (or /dev/null). Returns the pid or -1 (errno set).
pid_t spawn(const std::vector<std::string>& argv, int out_fd, const std::string& err_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addopen(&fa, 2, err_path.empty() ? "/dev/null" : err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));  // NOLINT: exec API
  cargv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0].c_str(), &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  return pid;
}

std::string tail(const std::string& s, std::size_t n = 2000) { return s.size() > n ? "..." + s.substr(s.size() - n) : s; }

}  // namespace

std::string to_string(const ExitStatus& s) {
  return s.signaled ? "killed by signal " + std::to_string(s.code) : "exit code " + std::to_string(s.code);
}

QemuProcess::QemuProcess() = default;
QemuProcess::~QemuProcess() { cleanup(); }

QemuProcess::QemuProcess(QemuProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      fd_(std::exchange(o.fd_, -1)),
      accel_(o.accel_),
      dir_(std::exchange(o.dir_, {})),
      socket_path_(std::exchange(o.socket_path_, {})),
      stderr_path_(std::exchange(o.stderr_path_, {})),
      qmp_path_(std::exchange(o.qmp_path_, {})),
      qmp_timeout_(o.qmp_timeout_),
      qmp_(std::move(o.qmp_)),
      argv_(std::move(o.argv_)),
      status_(o.status_) {}

QemuProcess& QemuProcess::operator=(QemuProcess&& o) noexcept {
  if (this != &o) {
    cleanup();
    pid_ = std::exchange(o.pid_, -1);
    fd_ = std::exchange(o.fd_, -1);
    accel_ = o.accel_;
    dir_ = std::exchange(o.dir_, {});
    socket_path_ = std::exchange(o.socket_path_, {});
    stderr_path_ = std::exchange(o.stderr_path_, {});
    qmp_path_ = std::exchange(o.qmp_path_, {});
    qmp_timeout_ = o.qmp_timeout_;
    qmp_ = std::move(o.qmp_);
    argv_ = std::move(o.argv_);
    status_ = o.status_;
  }
  return *this;
}

bool QemuProcess::reap(bool block) noexcept {
  if (pid_ <= 0 || status_) return true;
  int st = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = decode_status(st);
    return true;
  }
  if (r < 0) {  // not our child any more (should not happen): treat as gone
    status_ = ExitStatus{false, -1};
    return true;
  }
  return false;
}

void QemuProcess::cleanup() noexcept {
  qmp_.reset();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (pid_ > 0 && !reap(false)) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  pid_ = -1;
  if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
  if (!stderr_path_.empty()) ::unlink(stderr_path_.c_str());
  if (!qmp_path_.empty()) ::unlink(qmp_path_.c_str());
  if (!dir_.empty()) ::rmdir(dir_.c_str());
  socket_path_.clear();
  stderr_path_.clear();
  qmp_path_.clear();
  dir_.clear();
}

int QemuProcess::take_fd() noexcept { return std::exchange(fd_, -1); }

bool QemuProcess::alive() { return !reap(false); }

std::optional<ExitStatus> QemuProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (reap(false)) return status_;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

ExitStatus QemuProcess::kill() {
  if (pid_ > 0 && !reap(false)) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  return status_.value_or(ExitStatus{false, -1});
}

QmpClient& QemuProcess::qmp() {
  if (qmp_path_.empty()) throw PortError("QMP: the process was launched without a QMP socket");
  if (!qmp_) {
    try {
      qmp_ = std::make_unique<QmpClient>(QmpClient::connect(qmp_path_, qmp_timeout_));
    } catch (const QmpProtocolError& e) {
      throw QmpProtocolError(std::string(e.what()) + "; stderr: " + tail(stderr_text()));
    }
  }
  return *qmp_;
}

std::string QemuProcess::stderr_text() const {
  if (stderr_path_.empty()) return {};
  std::ifstream in(stderr_path_, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

QemuProcess QemuProcess::start(const QemuLaunch& launch) {
  if (launch.binary.empty()) throw PortError("qtest: no binary to launch");
  QemuProcess p;  // owns everything from here, so every throw below cleans up
  p.accel_ = launch.accel;
  if (p.accel_ == AccelMode::Auto) {
    p.accel_ = binary_has_accel(launch.binary, "qtest") ? AccelMode::Qtest : AccelMode::StoppedTcg;
  }

  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr && *tmp != '\0' && std::strlen(tmp) < 60 ? tmp : "/tmp") +
                      "/vmsg-qtest-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    throw PortError(std::string("qtest: cannot create a temp dir: ") + std::strerror(errno));
  }
  p.dir_ = templ;
  p.socket_path_ = p.dir_ + "/qtest.sock";
  p.stderr_path_ = p.dir_ + "/stderr.txt";

  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (p.socket_path_.size() >= sizeof(sa.sun_path)) throw PortError("qtest: socket path too long: " + p.socket_path_);
  std::memcpy(sa.sun_path, p.socket_path_.c_str(), p.socket_path_.size() + 1);
  FdGuard listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.get() < 0) throw PortError(std::string("qtest: socket: ") + std::strerror(errno));
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes a sockaddr*
  if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0 ||
      ::listen(listener.get(), 1) != 0) {
    throw PortError("qtest: cannot listen on " + p.socket_path_ + ": " + std::strerror(errno));
  }

  p.argv_ = {launch.binary, "-qtest", "unix:" + p.socket_path_};
  if (launch.quiet_log) p.argv_.insert(p.argv_.end(), {"-qtest-log", "/dev/null"});
  if (p.accel_ == AccelMode::Qtest) {
    p.argv_.insert(p.argv_.end(), {"-accel", "qtest"});
  } else {
    p.argv_.insert(p.argv_.end(), {"-S", "-accel", "tcg"});
  }
  p.argv_.insert(p.argv_.end(), {"-display", "none", "-nodefaults"});
  if (launch.qmp) {
    p.qmp_path_ = p.dir_ + "/qmp.sock";
    p.qmp_timeout_ = launch.connect_timeout;
    p.argv_.insert(p.argv_.end(), {"-qmp", "unix:" + p.qmp_path_ + ",server=on,wait=off"});
  }
  p.argv_.insert(p.argv_.end(), launch.args.begin(), launch.args.end());

  p.pid_ = spawn(p.argv_, -1, p.stderr_path_);
  if (p.pid_ < 0) throw PortError("qtest: cannot start " + launch.binary + ": " + std::strerror(errno));

  const auto deadline = std::chrono::steady_clock::now() + launch.connect_timeout;
  for (;;) {
    pollfd pf{listener.get(), POLLIN, 0};
    const int r = ::poll(&pf, 1, 50);
    if (r > 0) {
      const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        p.fd_ = fd;
        break;
      }
      if (errno != EINTR && errno != EAGAIN) throw PortError(std::string("qtest: accept: ") + std::strerror(errno));
    }
    if (!p.alive()) {
      throw PortError("qtest: " + launch.binary + " ended before connecting (" + to_string(*p.status_) +
                      "); stderr: " + tail(p.stderr_text()));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw PortError("qtest: " + launch.binary + " did not connect within " +
                      std::to_string(launch.connect_timeout.count()) + " ms; stderr: " + tail(p.stderr_text()));
    }
  }
  // Connected: the socket file is no longer needed.
  ::unlink(p.socket_path_.c_str());
  p.socket_path_.clear();
  return p;
}

std::optional<std::string> run_capture(const std::string& binary, const std::vector<std::string>& args,
                                       std::chrono::milliseconds timeout) {
  std::array<int, 2> pipefd{-1, -1};
  if (::pipe2(pipefd.data(), O_CLOEXEC) != 0) return std::nullopt;
  FdGuard rd(pipefd[0]);
  FdGuard wr(pipefd[1]);
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = spawn(argv, wr.get(), "");
  ::close(wr.release());
  if (pid < 0) return std::nullopt;

  std::string out;
  bool ok = true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ok = false;
      break;
    }
    pollfd pf{rd.get(), POLLIN, 0};
    const int r = ::poll(&pf, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ok = false;
      break;
    }
    std::array<char, 4096> buf{};
    const ssize_t n = ::read(rd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  if (!ok) ::kill(pid, SIGKILL);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!ok) return std::nullopt;
  return out;
}

namespace {
bool lists_name(const std::string& text, const std::string& name, bool quoted) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (quoted) {
      // `-device help`: name "virtio-rng-pci", bus PCI, ...
      if (line.find("name \"" + name + "\"") != std::string::npos) return true;
    } else {
      while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
      if (line == name) return true;
    }
  }
  return false;
}
}  // namespace

bool binary_has_device(const std::string& binary, const std::string& device) {
  const auto out = run_capture(binary, {"-device", "help"});
  return out && lists_name(*out, device, true);
}

bool binary_has_accel(const std::string& binary, const std::string& accel) {
  const auto out = run_capture(binary, {"-accel", "help"});
  return out && lists_name(*out, accel, false);
}

}  // namespace vmsg::qtest

// QemuProcess: launches a QEMU-like binary under qtest and owns it.
//
// The client side of libqtest's launch: a private temp dir holding a
// listening unix socket, the binary started with `-qtest unix:SOCK`, and the
// connection it makes back to us (QEMU connects; amp-pci-device.md §9.1).
// Whatever happens, the destructor kills and reaps the process and removes
// the socket and the directory.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vmsg::qtest {

class QmpClient;

/// How the machine is kept from running guest code.
enum class AccelMode : std::uint8_t {
  Qtest,       ///< `-accel qtest` (QEMU's own choice under qtest; has clock_step)
  StoppedTcg,  ///< `-S -accel tcg`: for builds without the qtest accelerator (Debian's); no clock_step
  Auto,        ///< Qtest if `BINARY -accel help` lists it, else StoppedTcg
};

/// What to launch.
struct QemuLaunch {
  std::string binary;
  std::vector<std::string> args;  ///< machine and devices (-M, -device, -object, -m ...)
  AccelMode accel = AccelMode::Auto;
  /// How long the binary may take to connect to the qtest socket.
  std::chrono::milliseconds connect_timeout{15'000};
  /// Adds `-qtest-log /dev/null`: without it QEMU echoes every command to stderr.
  bool quiet_log = true;
  /// Adds `-qmp unix:DIR/qmp.sock,server=on,wait=off` (QemuProcess::qmp connects to it).
  bool qmp = false;
};

/// How a process ended.
struct ExitStatus {
  bool signaled = false;
  int code = 0;  ///< exit code, or the signal number when signaled
  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;
};
[[nodiscard]] std::string to_string(const ExitStatus& s);

/// One running QEMU (or vmsg-ref-qtest). Move-only.
class QemuProcess {
 public:
  /// Starts the binary and waits for its qtest connection. Throws
  /// vmsg::PortError when the binary cannot be started, exits or does not
  /// connect in time (the message carries the tail of its stderr). Nothing is
  /// left behind on failure.
  static QemuProcess start(const QemuLaunch& launch);

  ~QemuProcess();
  QemuProcess(QemuProcess&& o) noexcept;
  QemuProcess& operator=(QemuProcess&& o) noexcept;
  QemuProcess(const QemuProcess&) = delete;
  QemuProcess& operator=(const QemuProcess&) = delete;

  /// The connected qtest socket, handed over once (-1 afterwards).
  [[nodiscard]] int take_fd() noexcept;
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] AccelMode accel() const noexcept { return accel_; }
  /// The full command line used (argv[0] first).
  [[nodiscard]] const std::vector<std::string>& argv() const noexcept { return argv_; }

  /// True while the process has not exited (reaps it if it has).
  [[nodiscard]] bool alive();
  /// Waits up to `timeout` for the process to exit on its own.
  std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);
  /// Kills (SIGKILL) and reaps the process if still running; returns how it ended.
  ExitStatus kill();
  /// How it ended, once it has.
  [[nodiscard]] const std::optional<ExitStatus>& exit_status() const noexcept { return status_; }
  /// Everything the process wrote to stderr so far.
  [[nodiscard]] std::string stderr_text() const;
  /// The QMP session (launched with `qmp`), connected and negotiated on first
  /// use. Throws QmpProtocolError when it cannot be, PortError without `qmp`.
  QmpClient& qmp();
  /// The QMP socket path, empty without `qmp`.
  [[nodiscard]] const std::string& qmp_socket_path() const noexcept { return qmp_path_; }

 private:
  QemuProcess();
  void cleanup() noexcept;
  bool reap(bool block) noexcept;

  pid_t pid_ = -1;
  int fd_ = -1;
  AccelMode accel_ = AccelMode::Qtest;
  std::string dir_;
  std::string socket_path_;
  std::string stderr_path_;
  std::string qmp_path_;
  std::chrono::milliseconds qmp_timeout_{15'000};
  std::unique_ptr<QmpClient> qmp_;
  std::vector<std::string> argv_;
  std::optional<ExitStatus> status_;
};

/// Runs `binary ARGS...` with stdout captured (stdin and stderr to /dev/null)
/// and returns stdout, or nullopt if it cannot run or does not finish in time.
[[nodiscard]] std::optional<std::string> run_capture(const std::string& binary, const std::vector<std::string>& args,
                                                     std::chrono::milliseconds timeout = std::chrono::milliseconds{15'000});
/// Whether `binary -device help` lists a device named `device`.
[[nodiscard]] bool binary_has_device(const std::string& binary, const std::string& device);
/// Whether `binary -accel help` lists the accelerator `accel`.
[[nodiscard]] bool binary_has_accel(const std::string& binary, const std::string& accel);

}  // namespace vmsg::qtest

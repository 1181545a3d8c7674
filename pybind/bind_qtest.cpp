// vmsg::qtest: the qtest client (QtestPort, QemuProcess), QemuPort (a port
// that owns a launched QEMU and remembers the last commands, for crash
// reports), the binary probes, and the vmsg-ref-qtest server entry point so a
// pip install has the tool without CMake (vmsg_conform/refqtest.py).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/machine/machine.hpp"
#include "vmsg/qtest/address_map.hpp"
#include "vmsg/qtest/line_channel.hpp"
#include "vmsg/qtest/protocol.hpp"
#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qmp_client.hpp"
#include "vmsg/qtest/qtest_port.hpp"
#include "vmsg/qtest/ref_args.hpp"
#include "vmsg/qtest/ref_extensions.hpp"
#include "vmsg/qtest/ref_main.hpp"
#include "vmsg/qtest/server.hpp"
#include "vmsg/target/reference_target.hpp"

namespace vmsg::pyb {

namespace {

using namespace vmsg::qtest;
using std::chrono::milliseconds;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* width_suffix(unsigned size) {
  switch (size) {
    case 1: return "b";
    case 2: return "w";
    case 8: return "q";
    default: return "l";
  }
}

/// A QtestPort over a QEMU it launched itself. Keeps the last `history`
/// port operations as qtest command text (with the answers of reads), so a
/// test that kills QEMU can say what was sent last; the process handle stays
/// reachable for exit status and stderr.
class QemuPort final : public port::Port {
 public:
  QemuPort(const QemuLaunch& launch, QtestPortOptions options, std::size_t history)
      : proc_(QemuProcess::start(launch)), port_(proc_.take_fd(), options), limit_(history) {}

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override {
    const std::uint32_t v = port_.config_read(fn, offset, size);
    note(config_text(fn, offset, size, false, 0) + " -> " + hex(v));
    return v;
  }
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override {
    note(config_text(fn, offset, size, true, value));
    port_.config_write(fn, offset, size, value);
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    port::Access a = port::Access::mmio_read(addr, size);
    run({&a, 1});
    return a.value;
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    port::Access a = port::Access::mmio_write(addr, size, value);
    run({&a, 1});
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    port::Access a = port::Access::mem_read(addr, out);
    run({&a, 1});
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    port::Access a = port::Access::mem_write(addr, data);
    run({&a, 1});
  }
  void run(std::span<port::Access> batch) override {
    for (const port::Access& a : batch) note(access_text(a));
    port_.run(batch);
    // The batch's lines are the newest kept: add what the reads returned.
    std::size_t line = history_.size();
    for (std::size_t i = batch.size(); i-- > 0 && line-- > 0;) {
      if (batch[i].op == port::Access::Op::MmioRead) history_[line] += " -> " + hex(batch[i].value);
    }
  }
  std::uint64_t post(std::span<const port::Access> writes) override {
    for (const port::Access& a : writes) note(access_text(a) + " (posted)");
    return port_.post(writes);
  }
  [[nodiscard]] bool holding(std::uint64_t ticket) const noexcept override { return port_.holding(ticket); }
  [[nodiscard]] bool pipelines() const noexcept override { return port_.pipelines(); }
  void advance_time(std::uint64_t ns) override {
    note("clock_step " + std::to_string(ns));
    port_.advance_time(ns);
  }
  [[nodiscard]] port::AddressMap address_map() const override { return port_.address_map(); }

  QtestPort& qtest() noexcept { return port_; }
  QemuProcess& process() noexcept { return proc_; }
  [[nodiscard]] std::vector<std::string> history() const { return {history_.begin(), history_.end()}; }

 private:
  /// An MMIO or memory access as the qtest command that carries it (bulk
  /// transfers by their first chunk's form).
  static std::string access_text(const port::Access& a) {
    switch (a.op) {
      case port::Access::Op::MmioRead:
        return std::string("read") + width_suffix(a.size) + " " + hex(a.addr);
      case port::Access::Op::MmioWrite:
        return std::string("write") + width_suffix(a.size) + " " + hex(a.addr) + " " + hex(a.value);
      case port::Access::Op::MemRead:
        return "b64read " + hex(a.addr) + " " + hex(a.out.size());
      case port::Access::Op::MemWrite:
        return "b64write " + hex(a.addr) + " " + hex(a.in.size()) + " ...";
    }
    return "?";
  }

  /// Config accesses as the qtest lines QtestPort sends on q35 (CF8/CFC) or
  /// as the ECAM access on arm virt.
  std::string config_text(port::PciAddress fn, std::uint16_t offset, unsigned size, bool write,
                          std::uint32_t value) const {
    const std::string tail = write ? " " + hex(value) : std::string();
    if (port_.options().machine == MachineType::Q35) {
      const std::uint32_t cf8 = 0x8000'0000U | (std::uint32_t{fn.bus} << 16) | (std::uint32_t{fn.device} << 11) |
                                (std::uint32_t{fn.function} << 8) | (offset & 0xFCU);
      return "outl 0xcf8 " + hex(cf8) + "; " + (write ? "out" : "in") + width_suffix(size) + " " +
             hex(0xCFCU + (offset & 3U)) + tail;
    }
    const std::uint64_t at = layout_for(MachineType::ArmVirt).ecam_base + (std::uint64_t{fn.bus} << 20) +
                             (std::uint64_t{fn.device} << 15) + (std::uint64_t{fn.function} << 12) + offset;
    return std::string(write ? "write" : "read") + width_suffix(size) + " " + hex(at) + tail;
  }

  void note(std::string line) {
    if (limit_ == 0) {
      history_.assign(1, std::move(line));  // back() must stay valid for mmio_read
      return;
    }
    if (history_.size() >= limit_) history_.pop_front();
    history_.push_back(std::move(line));
  }

  QemuProcess proc_;
  QtestPort port_;
  std::size_t limit_;
  std::deque<std::string> history_;
};

py::object reply_object(const Reply& r) {
  const char* kind = r.kind == Reply::Kind::Ok ? "OK" : (r.kind == Reply::Kind::Fail ? "FAIL" : "ERR");
  std::string text = kind;
  if (r.kind == Reply::Kind::Ok) {
    for (const std::string& w : r.words) text += " " + w;
  } else if (!r.text.empty()) {
    text += " " + r.text;
  }
  return py::str(text);
}

}  // namespace

void bind_qtest(py::module_& m) {
  py::enum_<MachineType>(m, "MachineType", "machine layouts a qtest client knows")
      .value("Q35", MachineType::Q35)
      .value("ArmVirt", MachineType::ArmVirt);
  py::enum_<AccelMode>(m, "AccelMode", "how the machine is kept from running guest code")
      .value("Qtest", AccelMode::Qtest)
      .value("StoppedTcg", AccelMode::StoppedTcg)
      .value("Auto", AccelMode::Auto);

  bind_struct<ExitStatus>(m, "ExitStatus", "how a process ended", field("signaled", &ExitStatus::signaled),
                          field("code", &ExitStatus::code))
      .def("__str__", [](const ExitStatus& s) { return to_string(s); });

  py::class_<QemuLaunch>(m, "QemuLaunch", "what QemuProcess.start launches")
      .def(py::init([](std::string binary, std::vector<std::string> args, AccelMode accel, std::int64_t timeout_ms,
                       bool quiet_log, bool qmp) {
             QemuLaunch l;
             l.binary = std::move(binary);
             l.args = std::move(args);
             l.accel = accel;
             l.connect_timeout = milliseconds(timeout_ms);
             l.quiet_log = quiet_log;
             l.qmp = qmp;
             return l;
           }),
           py::arg("binary"), py::arg("args") = std::vector<std::string>{}, py::arg("accel") = AccelMode::Auto,
           py::arg("connect_timeout_ms") = 15'000, py::arg("quiet_log") = true, py::arg("qmp") = false)
      .def_readwrite("qmp", &QemuLaunch::qmp)
      .def_readwrite("binary", &QemuLaunch::binary)
      .def_readwrite("args", &QemuLaunch::args)
      .def_readwrite("accel", &QemuLaunch::accel)
      .def_readwrite("quiet_log", &QemuLaunch::quiet_log)
      .def_property(
          "connect_timeout_ms", [](const QemuLaunch& l) { return l.connect_timeout.count(); },
          [](QemuLaunch& l, std::int64_t ms) { l.connect_timeout = milliseconds(ms); });

  py::class_<QtestPortOptions>(m, "QtestPortOptions", "choices of a QtestPort")
      .def(py::init([](MachineType machine, std::uint64_t ram_bytes, std::int64_t timeout_ms, std::size_t chunk_bytes,
                       std::size_t window) {
             return QtestPortOptions{machine, ram_bytes, milliseconds(timeout_ms), chunk_bytes, window};
           }),
           py::arg("machine") = MachineType::Q35, py::arg("ram_bytes") = std::uint64_t{128} << 20,
           py::arg("timeout_ms") = 10'000, py::arg("chunk_bytes") = 16 * 1024, py::arg("window") = 64)
      .def_readwrite("machine", &QtestPortOptions::machine)
      .def_readwrite("ram_bytes", &QtestPortOptions::ram_bytes)
      .def_readwrite("chunk_bytes", &QtestPortOptions::chunk_bytes)
      .def_readwrite("window", &QtestPortOptions::window)
      .def_property(
          "timeout_ms", [](const QtestPortOptions& o) { return o.timeout.count(); },
          [](QtestPortOptions& o, std::int64_t ms) { o.timeout = milliseconds(ms); });

  // A process handle that is either owned (QemuProcess.start) or borrowed from
  // a QemuPort (keep_alive ties it to the port).
  py::class_<QemuProcess>(m, "QemuProcess", "one launched QEMU (or vmsg-ref-qtest); killed and reaped when dropped")
      .def_static(
          "start", [](const QemuLaunch& l) { return std::make_unique<QemuProcess>(QemuProcess::start(l)); },
          py::arg("launch"), "starts the binary and waits for its qtest connection (PortError on failure)")
      .def("take_fd", &QemuProcess::take_fd, "the connected qtest socket, handed over once (-1 afterwards)")
      .def_property_readonly("pid", &QemuProcess::pid)
      .def_property_readonly("accel", &QemuProcess::accel)
      .def_property_readonly("argv", &QemuProcess::argv)
      .def("alive", &QemuProcess::alive)
      .def(
          "wait_exit",
          [](QemuProcess& p, std::int64_t ms) {
            py::gil_scoped_release nogil;
            return p.wait_exit(milliseconds(ms));
          },
          py::arg("timeout_ms"))
      .def("kill", &QemuProcess::kill)
      .def_property_readonly("exit_status", [](const QemuProcess& p) { return p.exit_status(); })
      .def("stderr_text", &QemuProcess::stderr_text)
      .def_property_readonly("qmp_socket_path", &QemuProcess::qmp_socket_path)
      .def(
          "qmp_execute",
          [](QemuProcess& p, const std::string& command, const std::string& arguments_json) {
            // JSON text both ways keeps the binding small: Python has its own codec.
            json::Value args = json::parse(arguments_json);
            if (args.as_object() == nullptr) throw ConfigError("qmp_execute: arguments must be a JSON object");
            py::gil_scoped_release nogil;
            try {
              return json::dump(json::Object{{"return", p.qmp().execute(command, *args.as_object())}});
            } catch (const QmpError& e) {
              return json::dump(json::Object{{"error", json::Object{{"class", e.error_class()}, {"desc", e.desc()}}}});
            }
          },
          py::arg("command"), py::arg("arguments_json") = "{}",
          "runs a QMP command (connecting on first use); the reply as JSON text, {\"return\": ...} or "
          "{\"error\": {\"class\", \"desc\"}}; PortError when the session breaks");

  py::class_<QtestPort, port::Port>(m, "QtestPort", "the port over an already connected qtest socket")
      .def(py::init([](int fd, const QtestPortOptions& o) { return std::make_unique<QtestPort>(fd, o); }),
           py::arg("fd"), py::arg("options") = QtestPortOptions{})
      .def(
          "command",
          [](QtestPort& p, std::string_view line) {
            auto cmd = parse_command(line);
            if (!cmd.ok()) throw py::value_error("qtest command " + std::string(line) + ": " + cmd.error().detail);
            return reply_object(p.command(cmd.value()));
          },
          py::arg("line"), "sends one command line, returns the reply line (FAIL/ERR returned, not raised)")
      .def(
          "extension", [](QtestPort& p, std::string_view line) { return reply_object(p.extension(line)); },
          py::arg("line"), "sends one vmsg_* extension line, returns the reply line (QEMU answers FAIL)")
      .def("port_in", &QtestPort::port_in, py::arg("port"), py::arg("size"))
      .def("port_out", &QtestPort::port_out, py::arg("port"), py::arg("size"), py::arg("value"))
      .def("irq_events",
           [](const QtestPort& p) {
             py::list out;
             for (const IrqLine& i : p.irq_events()) out.append(py::make_tuple(i.raise, i.line));
             return out;
           })
      .def_property_readonly("clock_supported", &QtestPort::clock_supported)
      .def_property_readonly("clock_now_ns", &QtestPort::clock_now_ns)
      .def_property_readonly("broken", &QtestPort::broken);

  py::class_<QemuPort, port::Port>(m, "QemuPort",
                                   "a QtestPort over a QEMU it launches; remembers the last commands sent")
      .def(py::init([](const QemuLaunch& l, const QtestPortOptions& o, std::size_t history) {
             return std::make_unique<QemuPort>(l, o, history);
           }),
           py::arg("launch"), py::arg("options") = QtestPortOptions{}, py::arg("history") = 32)
      .def("qtest", &QemuPort::qtest, py::return_value_policy::reference_internal)
      .def("process", &QemuPort::process, py::return_value_policy::reference_internal)
      .def("history", &QemuPort::history, "the last port operations, as qtest commands with read answers");

  m.def(
      "run_capture",
      [](const std::string& binary, const std::vector<std::string>& args, std::int64_t timeout_ms) {
        py::gil_scoped_release nogil;
        return run_capture(binary, args, milliseconds(timeout_ms));
      },
      py::arg("binary"), py::arg("args"), py::arg("timeout_ms") = 15'000,
      "stdout of `binary ARGS...`, or None when it cannot run or does not finish in time");
  m.def(
      "binary_has_device",
      [](const std::string& b, const std::string& d) {
        py::gil_scoped_release nogil;
        return binary_has_device(b, d);
      },
      py::arg("binary"), py::arg("device"));
  m.def(
      "binary_has_accel",
      [](const std::string& b, const std::string& a) {
        py::gil_scoped_release nogil;
        return binary_has_accel(b, a);
      },
      py::arg("binary"), py::arg("accel"));
  m.def("device_help", &device_help, "what vmsg-ref-qtest prints for -device help");
  m.def(
      "ref_qtest_main",
      [](const std::vector<std::string>& args) {
        py::gil_scoped_release nogil;
        return ref_qtest_main(args);
      },
      py::arg("args"), "runs the vmsg-ref-qtest server (arguments after argv[0]); returns its exit status");
}

}  // namespace vmsg::pyb

"""The ``qemu`` and ``qtest`` targets: a device under test driven over QEMU's
qtest protocol (amp-pci-device.md §9).

``qemu[:DESCRIPTION.toml]``
    a QEMU system emulator with the ``virtio-msg-amp-pci`` device. The binary
    comes from ``--vmsg-qemu PATH`` (the plugin exports it as ``VMSG_QEMU``),
    else ``$VMSG_QEMU``, else ``qemu-system-x86_64`` on PATH. x86_64 binaries
    run the q35 machine, aarch64 ones ``virt``, unless ``--vmsg-machine``
    (``$VMSG_MACHINE``) names one. A binary without the device
    (Debian's QEMU 7.2) makes ``available()`` say so and every test skips.
``qemu`` / ``qtest`` with ``--vmsg-qemu-args ARGS`` (``$VMSG_QEMU_ARGS``)
    the user's own device options instead of a description: the process is
    started once with them and the topology learnt through the port
    (discovery.py); each test then starts it with the same options.
``qtest[:DESCRIPTION.toml]``
    the same client against vmsg-ref-qtest, the reference behind a qtest
    server: ``$VMSG_REF_QTEST``, else ``vmsg-ref-qtest`` on PATH, else this
    package's own server (``python -m vmsg_conform.refqtest``). It takes the
    reference fault modes. The server models q35 (the default) and arm
    ``virt``, chosen by ``--vmsg-machine`` (``$VMSG_MACHINE``) as for qemu.

Every test gets a fresh process. When QEMU dies during a test, the plugin
adds ``failure_context`` (exit signal, stderr tail, last commands) to the
failure, and closing the Dut raises :class:`QemuCrash` if nothing else failed.
A sanitizer report in the stderr of a process that ended (a QEMU built with
ASan, UBSan, ...) is quoted whole: the plugin names the crash after it.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

from .. import sanitizer
from ..dut import Stimulus
from .base import Target, TargetOpenError, split_faults
from .description import TargetDescription
from .qtest_cmdline import (AMP_DEVICE, MACHINES, MachineKind, block_node, build_args, disk_images,
                            machine_for_binary, machine_from_env, ram_of_args, user_command_line)
from .ref import DEFAULT_DESCRIPTION, profile_of

DEFAULT_QEMU = "qemu-system-x86_64"
#: The user's own device options (--vmsg-qemu-args; the plugin exports it here).
QEMU_ARGS_ENV = "VMSG_QEMU_ARGS"
HISTORY = 32
STDERR_TAIL = 2000
#: At most this much of a sanitizer report is quoted (its stacks, up to SUMMARY).
REPORT_LIMIT = 8000
#: Lines of stderr quoted before the report.
REPORT_CONTEXT = 4
#: A process that left a sanitizer report but is still running is about to
#: exit (the report comes first): how long to wait for it, in ms.
DYING_WAIT_MS = 2000


DEFAULT_RAM = 128 << 20
START_HINT = ("Run that command line by hand to see why it does not start; check the binary, the machine "
              "and the topology (description or --qemu-args).")


class QemuCrash(RuntimeError):
    """QEMU ended during a test (reported when the Dut is closed)."""


def _native():
    try:
        from .. import _vmsg  # noqa: PLC0415 (the module may be unbuilt)
    except ImportError as exc:
        return None, f"native module vmsg_conform._vmsg not built ({exc})"
    if not hasattr(_vmsg, "qtest"):
        return None, "native module has no qtest submodule (rebuild the bindings)"
    return _vmsg, None


def _which(binary: str) -> str | None:
    if os.sep in binary:
        p = Path(binary)
        return str(p) if p.is_file() and os.access(p, os.X_OK) else None
    return shutil.which(binary)


class QemuTarget(Target):
    """A QEMU binary (or a qtest server that behaves like one) per test."""

    kind = "qemu"
    opens_a_process = True
    dialect = "qemu"

    def __init__(self, description: TargetDescription | None = None, binary: str | None = None,
                 name: str | None = None, machine: MachineKind | None = None, history: int = HISTORY,
                 user_args: list[str] | None = None) -> None:
        """`user_args`: the user's device options (None: ``$VMSG_QEMU_ARGS``);
        with them and no description the topology is discovered."""
        if user_args is None and description is None:
            user_args = shlex.split(os.environ.get(QEMU_ARGS_ENV, ""))
        self.user_args = list(user_args or []) if description is None else []
        desc = description or (None if self.user_args else TargetDescription.from_toml(DEFAULT_DESCRIPTION))
        super().__init__(name or self.kind, desc)
        self._binary = binary
        self._machine = machine
        self.history = history
        self._probe: tuple[str | None, Any] | None = None  # (reason, accel), once per target

    def _discover(self) -> TargetDescription:
        from .discovery import discover_target  # noqa: PLC0415

        reason, accel = self._check()
        if reason:
            raise TargetOpenError(self.name, f"to start {self.binary()}", reason, "Check the binary.")
        try:
            args = self.command_line()
            ram = ram_of_args(self.user_args)
        except ValueError as exc:
            raise TargetOpenError(self.name, f"a command line from --qemu-args {shlex.join(self.user_args)}",
                                  str(exc), "Give only your device options (-device, -object, -blockdev, -m); "
                                            "the suite sets the machine and the qtest plumbing.") from None
        try:
            port = self._start(args, accel, ram or DEFAULT_RAM)
        except Exception as exc:  # noqa: BLE001 - whatever stopped the start is the answer
            raise TargetOpenError(self.name, f"to start {self.binary()} {shlex.join(args)}",
                                  f"{type(exc).__name__}: {exc}", START_HINT) from None
        try:
            found = discover_target(port, self.name, f"{self.binary()} {shlex.join(args)}")
        finally:
            port.process().kill()
        found.ram_size = ram
        return found

    def _start(self, args: list[str], accel: Any, ram: int):
        """A QemuPort over a freshly started process."""
        v, _ = _native()
        q = v.qtest
        launch = q.QemuLaunch(binary=_which(self.binary()) or self.binary(), args=args, accel=accel, qmp=True)
        options = q.QtestPortOptions(machine=getattr(q.MachineType, self.machine().native), ram_bytes=ram)
        return q.QemuPort(launch, options, self.history)

    def with_description(self, description: TargetDescription) -> "QemuTarget":
        """The same binary launched for another description (a topology variant)."""
        return type(self)(description, binary=self._binary, name=self.name, machine=self._machine,
                          history=self.history)

    # ---- the binary ---------------------------------------------------------------

    def binary(self) -> str:
        """The binary to launch (not yet checked)."""
        return self._binary or os.environ.get("VMSG_QEMU") or DEFAULT_QEMU

    def machine(self) -> MachineKind:
        """The machine passed in, else ``$VMSG_MACHINE``, else the binary's own
        (ValueError for an unknown ``$VMSG_MACHINE``)."""
        return self._machine or machine_from_env() or machine_for_binary(self.binary())

    def version(self) -> str | None:
        v, _ = _native()
        path = _which(self.binary())
        if v is None or path is None:
            return None
        out = v.qtest.run_capture(path, ["--version"], 5000)
        return out.strip().splitlines()[0] if out and out.strip() else None

    def _check(self) -> tuple[str | None, Any]:
        """(reason it cannot run, accel mode); probes the binary once."""
        if self._probe is not None:
            return self._probe
        v, reason = _native()
        if reason:
            self._probe = (reason, None)
            return self._probe
        binary = self.binary()
        path = _which(binary)
        if path is None:
            self._probe = (f"QEMU binary {binary!r} not found (pass --vmsg-qemu PATH or set VMSG_QEMU)", None)
            return self._probe
        help_text = v.qtest.run_capture(path, ["-device", "help"], 15000) or ""
        # with the user's own options the devices are theirs to name: only the amp device is ours
        kinds = [] if self.user_args else sorted({d.kind for d in self.description.devices})
        missing = [k for k in [AMP_DEVICE] + kinds
                   if f'name "{k}"' not in help_text]
        if missing:
            version = self.version() or "unknown version"
            hint = ("; Debian's QEMU 7.2 predates the virtio-msg series: build QEMU with it, "
                    "or use --vmsg-target qtest" if AMP_DEVICE in missing else "")
            self._probe = (f"{path} ({version}) has no {', '.join(missing)} device "
                           f"(`-device help` does not list it){hint}", None)
            return self._probe
        accel = v.qtest.AccelMode.Qtest if v.qtest.binary_has_accel(path, "qtest") else v.qtest.AccelMode.StoppedTcg
        self._probe = (None, accel)
        return self._probe

    def available(self) -> str | None:
        return self._check()[0]

    # ---- opening ------------------------------------------------------------------------

    def command_line(self, faults: Iterable[str] = (), disk_dir: str = "DISKDIR", profile: str | None = None) -> list[str]:
        """The arguments after the binary (QemuProcess adds -qtest, -accel, -display, -nodefaults).
        Disk images are named in `disk_dir` (a placeholder unless a run made one). `profile` is
        the run's; the description's device_profile, when set, decides vmsg-ref-qtest's draft."""
        if self.user_args:
            return user_command_line(self.user_args, self.machine(), self.dialect, split_faults(faults))
        desc = self.description
        return build_args(desc, self.machine(), self.dialect, split_faults(faults), disk_dir,
                          device_profile=desc.device_profile or profile or desc.profile)

    def _make_disks(self) -> str | None:
        """A fresh directory with the raw images the command line names (each
        test gets blank disks, as a fresh reference has), or None when the
        description has no virtio-blk device or the dialect needs none."""
        if self.user_args or self.dialect != "qemu" or not disk_images(self.description, ""):
            return None
        d = tempfile.mkdtemp(prefix="vmsg-qemu-disks-")
        for img in disk_images(self.description, d):
            with open(img.path, "wb") as f:
                f.truncate(img.size)  # sparse: reads zeroes, writes stick
        return d

    def open(self, faults: Iterable[str] = (), profile: str = "pr28"):
        from ..dut import Dut  # noqa: PLC0415

        v, reason = _native()
        if reason:
            raise RuntimeError(reason)
        name = profile or self.description.profile or "pr28"
        wprofile = profile_of(name)
        fault_names = split_faults(faults)
        reason, accel = self._check()
        if reason:
            raise RuntimeError(reason)
        disks = self._make_disks()
        args = self.command_line(fault_names, disks or "DISKDIR", name)
        try:
            port = self._start(args, accel, self.description.ram_size or DEFAULT_RAM)
        except BaseException:
            if disks:
                shutil.rmtree(disks, ignore_errors=True)
            raise
        state = {"reported": False}

        def on_close() -> None:
            proc = port.process()
            ended = None if proc.alive() else proc.exit_status
            proc.kill()
            if disks:
                shutil.rmtree(disks, ignore_errors=True)
            if ended is not None and not state["reported"]:
                raise QemuCrash(self._crash_text(port, ended))

        violations = _violations(port.qtest())
        stimulus = QmpStimulus(lambda cmd, a: _qmp(port.process(), cmd, a), self._stimulus_description())
        dut = Dut(port=port, description=self.description, profile=wprofile, target=self, faults=fault_names,
                  violations=violations, stimulus=stimulus, native=port, on_close=on_close)
        dut._qemu_state = state  # failure_context marks the crash as reported
        return dut

    def _stimulus_description(self) -> TargetDescription:
        """The description QMP stimuli work from. The block node names of the
        user's own virtio-blk devices are unknown, so with --vmsg-qemu-args
        their config-change tests skip rather than resize a wrong node."""
        desc = self.description
        if not self.user_args:
            return desc
        import dataclasses  # noqa: PLC0415
        return dataclasses.replace(desc, devices=[d for d in desc.devices if d.kind != "virtio-blk-device"])

    def probe(self, faults: Iterable[str] = (), profile: str = "pr28") -> None:
        """Starts the process once and closes it: one that cannot be started
        with this command line (or dies at once) is a TargetOpenError."""
        try:
            super().probe(faults=faults, profile=profile)
        except TargetOpenError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever stopped the start is the answer
            try:
                asked = f"to start {self.binary()} {shlex.join(self.command_line(faults, profile=profile))}"
            except Exception:  # noqa: BLE001 - the command line itself is what failed
                asked = f"to start {self.binary()} for {self.name}"
            raise TargetOpenError(self.name, asked, f"{type(exc).__name__}: {exc}", START_HINT) from None

    # ---- crash reports --------------------------------------------------------------------

    def _crash_text(self, port: Any, ended: Any) -> str:
        proc = port.process()
        lines = [f"{os.path.basename(self.binary())} ended during the test: {ended}",
                 "command line: " + shlex.join(proc.argv)]
        err = proc.stderr_text()
        report = sanitizer.parse(err)
        if report is not None:
            # whole, not a tail: the header and the first stack name the bug;
            # a few lines before it, which may say how it came about
            all_lines = err.splitlines()
            start, end = report.span
            quoted = "\n".join(all_lines[max(0, start - REPORT_CONTEXT):end])
            if len(quoted) > REPORT_LIMIT:
                quoted = quoted[:REPORT_LIMIT] + "\n[...]"
            lines += [f"sanitizer report: {report.signature}", "stderr (the report):"]
            lines += ["  " + ln for ln in quoted.splitlines()]
            err = "\n".join(all_lines[end:])
        if err.strip():
            tail = err[-STDERR_TAIL:]
            lines += ["stderr (tail)" + (" after the report:" if report is not None else ":")]
            lines += ["  " + ln for ln in tail.rstrip().splitlines()]
        hist = port.history()
        if hist:
            lines += [f"last {len(hist)} commands sent:"] + ["  " + h for h in hist]
        return "\n".join(lines)

    def failure_context(self, dut: Any) -> tuple[str | None, str] | None:
        """For a failed test: (headline when the process ended, details), or
        None when `dut` is not one of ours. Called by the plugin."""
        port = getattr(dut, "native", None)
        if port is None or not hasattr(port, "process"):
            return None
        proc = port.process()
        if proc.alive() and sanitizer.parse(proc.stderr_text()) is not None:
            proc.wait_exit(DYING_WAIT_MS)  # the connection may close a moment before the exit
        if proc.alive():
            hist = port.history()
            return None, "last commands sent:\n" + "\n".join("  " + h for h in hist[-16:])
        ended = proc.exit_status
        state = getattr(dut, "_qemu_state", None)
        if state is not None:
            state["reported"] = True
        return f"QEMU {ended}", self._crash_text(port, ended)

    def info(self) -> dict[str, Any]:
        info = super().info()
        info["binary"] = self.binary()
        info["machine"] = self.machine().name
        try:
            info["version"] = self.version()
            info["command_line"] = shlex.join(self.command_line())
        except Exception as exc:  # reports must still be written
            info["error"] = f"{type(exc).__name__}: {exc}"
        return info


class QtestTarget(QemuTarget):
    """vmsg-ref-qtest (the reference behind the qtest protocol) as the binary."""

    kind = "qtest"
    dialect = "ref"

    def binary(self) -> str:
        return self._binary or os.environ.get("VMSG_REF_QTEST") or shutil.which("vmsg-ref-qtest") or _python_server()

    def machine(self) -> MachineKind:
        # the server's binary name says nothing about a machine: q35 unless chosen
        return self._machine or machine_from_env() or MACHINES["q35"]

    def version(self) -> str | None:
        return "vmsg-ref-qtest (reference)"


_server_script: list[str] = []


def _python_server() -> str:
    """An executable that runs this package's server (`python -m
    vmsg_conform.refqtest`), for a checkout without the CMake-built tool.
    Written once per process into a private temp dir, removed at exit."""
    if _server_script:
        return _server_script[0]
    d = tempfile.mkdtemp(prefix="vmsg-refqtest-")
    path = os.path.join(d, "vmsg-ref-qtest")
    pkg_parent = str(Path(__file__).resolve().parent.parent.parent)
    with open(path, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\n"
                f"PYTHONPATH={shlex.quote(pkg_parent)}${{PYTHONPATH:+:$PYTHONPATH}} "
                f"exec {shlex.quote(sys.executable)} -m vmsg_conform.refqtest \"$@\"\n")
    os.chmod(path, stat.S_IRWXU)
    atexit.register(shutil.rmtree, d, True)
    _server_script.append(path)
    return path


def _description(arg: str | None) -> TargetDescription | None:
    return TargetDescription.from_toml(arg) if arg else None


def _violations(qt):
    """``dut.violations`` from the server's vendor extension command
    (reference/include/vmsg/qtest/server.hpp), or None when the server
    answers the probe with FAIL or ERR, as a real QEMU does."""
    import base64  # noqa: PLC0415
    from .lib import parse_violation_line  # noqa: PLC0415

    first = qt.extension("vmsg_violations")
    if first.split(" ", 1)[0] != "OK":
        return None
    seen: list[str] = []

    def take(reply: str) -> None:
        word = reply.split(" ", 1)[1].strip() if " " in reply else ""
        if word:
            seen.extend(base64.b64decode(word).decode("utf-8", "replace").splitlines())

    take(first)  # the server clears on read, so the history is kept here

    def violations() -> list:
        reply = qt.extension("vmsg_violations")
        if not reply.startswith("OK"):
            raise RuntimeError(f"qtest: vmsg_violations answered {reply!r}")
        take(reply)
        return [parse_violation_line(line) for line in seen]

    return violations


class QmpError(RuntimeError):
    """A QMP command answered with an error (QMP's ``class`` and ``desc``)."""

    def __init__(self, command: str, error_class: str, desc: str) -> None:
        super().__init__(f"QMP {command}: {error_class}: {desc}")
        self.error_class = error_class
        self.desc = desc


def _qmp(proc: Any, command: str, arguments: dict[str, Any]) -> Any:
    """Runs `command` on the process's QMP socket; its ``return`` value."""
    import json  # noqa: PLC0415

    reply = json.loads(proc.qmp_execute(command, json.dumps(arguments)))
    if "error" in reply:
        raise QmpError(command, reply["error"].get("class", "?"), reply["error"].get("desc", ""))
    return reply["return"]


PAGE = 4096
MIB = 1 << 20


def qmp_config_change(description: TargetDescription, dev_num: int, fifo: int, changes: int) -> tuple[str, dict] | None:
    """The QMP command that changes the configuration of the described device
    at (`fifo`, `dev_num`) from the device side, for the `changes`-th time
    (1 first), or None for a device kind QMP cannot change. Pure.

    virtio-balloon: ``balloon`` with a new memory target in bytes (page
    aligned), so num_pages moves by 1 MiB more each time; virtio-blk:
    ``block_resize`` of its block node to 1 MiB more than the last size."""
    for i, d in enumerate(description.devices):
        if d.fifo != fifo or d.dev_num != dev_num:
            continue
        props = d.props or {}
        if d.kind == "virtio-balloon-device":
            ram = description.ram_size or (128 << 20)
            pages = int(props.get("target", 0) or 0) + changes * (MIB // PAGE)
            value = ram - pages * PAGE
            if value <= 0:
                return None
            return "balloon", {"value": value}
        if d.kind == "virtio-blk-device":
            from .qtest_cmdline import capacity_bytes  # noqa: PLC0415
            size = capacity_bytes(props.get("capacity", "1M")) + changes * MIB
            return "block_resize", {"node-name": block_node(i), "size": size}
        return None
    return None


class QmpStimulus(Stimulus):
    """``dut.stimulus`` over QMP: the device-side changes QEMU itself can make
    (``balloon``, ``block_resize``); `run(command, arguments)` sends one."""

    def __init__(self, run, description: TargetDescription) -> None:
        self._run = run
        self._description = description
        self._changes: dict[tuple[int, int], int] = {}
        self.sent: list[tuple[str, dict]] = []  # for reports and self-tests

    def config_change(self, dev_num: int, fifo: int = 0) -> None:
        """A device-side configuration change (generation bump + EVENT_CONFIG)."""
        key = (int(fifo), int(dev_num))
        n = self._changes.get(key, 0) + 1
        cmd = qmp_config_change(self._description, key[1], key[0], n)
        if cmd is None:
            import pytest  # noqa: PLC0415
            pytest.skip(f"QMP cannot change the configuration of device {dev_num} on FIFO {fifo} "
                        "(only virtio-balloon and virtio-blk have a QMP command for it)")
        self._changes[key] = n
        self.sent.append(cmd)
        self._run(*cmd)


def make_qemu_target(arg: str | None) -> QemuTarget:
    """Factory of kind ``qemu`` (``arg``: optional description TOML)."""
    return QemuTarget(_description(arg), name=f"qemu:{arg}" if arg else "qemu")


def make_qtest_target(arg: str | None) -> QtestTarget:
    """Factory of kind ``qtest`` (``arg``: optional description TOML)."""
    return QtestTarget(_description(arg), name=f"qtest:{arg}" if arg else "qtest")

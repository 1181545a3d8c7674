"""Transcripts: every port operation of a run, in qtest command format, with
the answers the target gave, so a run can be replayed against any target.

The file looks like QEMU's ``-qtest-log``: ``[R] command`` lines (what the
target received) each followed by ``[S] reply`` (what it answered), plus
``#`` header lines. Configuration accesses are written the way a qtest
client makes them: on q35 ``outl 0xcf8 ADDRESS`` then ``inX``/``outX`` at
``0xcfc + (offset & 3)``; on arm virt a ``readX``/``writeX`` into the ECAM
window. Bulk memory uses ``b64read``/``b64write``; to keep files small, RAM
writes of one repeated byte become ``memset``, adjacent bulk writes are
merged, and reads longer than ``INLINE_READ`` bytes record a SHA-256 of the
data (``OK sha256:HEX``) instead of the data.

:class:`RecordingPort` records while delegating to another port;
:func:`replay` runs a transcript against a port and lists every answer that
differs from the recorded one. A file of bare qtest commands (no ``[R]``/
``[S]`` prefixes) also replays; its answers are then not compared.

:class:`DeviceScope` tells the device under test's steps (its config space,
its BARs as the transcript assigned them, guest RAM) from the platform's
(q35's chipset functions, empty slots, addresses nothing decodes): a
difference in the latter says nothing about the device, so replay and diff
report it apart. The ``# device:`` header names the device's function.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "vmsg-conform transcript 1"
INLINE_READ = 256
MAX_STEPS = 200_000
Q35_CF8, Q35_CFC = 0xCF8, 0xCFC
ARM_ECAM_BASE = 0x40_1000_0000
ECAM_SIZE = 256 << 20

READ_OPS = ("config_read", "mmio_read", "mem_read")
DEVICE_HEADER = "device"  # BB:DD.F of the function under test
CFG_BAR0, NUM_BARS = 0x10, 6
BAR_SIZING = 0xFFFF_FFFF
_W = {1: "b", 2: "w", 4: "l", 8: "q"}
_WIDTH = {v: k for k, v in _W.items()}


def _native():
    from . import _vmsg  # noqa: PLC0415
    return _vmsg


class TranscriptError(ValueError):
    """A transcript line that cannot be parsed (message names the line)."""


@dataclass
class Step:
    """One port operation and what the target answered.

    ``answer`` is an int (register reads), bytes or "sha256:HEX" (memory
    reads), None (writes, time), or an ``Error`` when the operation raised.
    """

    op: str                     # config_read/config_write/mmio_read/mmio_write/mem_read/mem_write/memset/advance_time
    addr: int = 0               # address, config offset, or ns for advance_time
    size: int = 0               # access width, or length of a bulk operation
    value: int | None = None    # written value (or memset byte)
    data: bytes | None = None   # mem_write payload
    fn: tuple[int, int, int] | None = None
    answer: Any = None
    line: int = 0               # line of the [R] command in the file (0 when recorded)

    def key(self) -> tuple:
        """What identifies the operation (without the answer)."""
        return (self.op, self.fn, self.addr, self.size, self.value, self.data)

    def describe(self, machine: str = "q35") -> str:
        return "; ".join(render_commands(self, machine))


@dataclass(frozen=True)
class Error:
    """An operation that raised instead of answering."""

    message: str

    def __str__(self) -> str:
        return f"ERR {self.message}"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_answer(data: bytes) -> bytes | str:
    """What a transcript keeps of a memory read: the data, or its digest."""
    return bytes(data) if len(data) <= INLINE_READ else _digest(bytes(data))


def answers_equal(recorded: Any, got: Any) -> bool:
    if isinstance(recorded, Error) or isinstance(got, Error):
        return isinstance(recorded, Error) and isinstance(got, Error)
    if isinstance(recorded, str) and isinstance(got, (bytes, bytearray)):
        return recorded == _digest(bytes(got))
    return recorded == got


def format_answer(answer: Any) -> str:
    """The [S] line text of an answer."""
    if isinstance(answer, Error):
        return str(answer)
    if answer is None:
        return "OK"
    if isinstance(answer, int):
        return f"OK 0x{answer:x}"
    if isinstance(answer, str):
        return f"OK {answer}"
    return "OK " + (base64.b64encode(bytes(answer)).decode() if answer else "")


def _cf8(fn: tuple[int, int, int], offset: int) -> int:
    bus, dev, func = fn
    return 0x8000_0000 | (bus << 16) | (dev << 11) | (func << 8) | (offset & 0xFC)


def render_commands(s: Step, machine: str = "q35") -> list[str]:
    """The qtest command lines of a step (two for a q35 config access)."""
    if s.op in ("config_read", "config_write"):
        w = _W.get(s.size, "l")
        if machine == "q35":
            io = f"in{w} 0x{Q35_CFC + (s.addr & 3):x}" if s.op == "config_read" else \
                f"out{w} 0x{Q35_CFC + (s.addr & 3):x} 0x{s.value:x}"
            return [f"outl 0x{Q35_CF8:x} 0x{_cf8(s.fn, s.addr):x}", io]
        bus, dev, func = s.fn
        at = ARM_ECAM_BASE + (bus << 20) + (dev << 15) + (func << 12) + s.addr
        return [f"read{w} 0x{at:x}" if s.op == "config_read" else f"write{w} 0x{at:x} 0x{s.value:x}"]
    if s.op == "mmio_read":
        return [f"read{_W[s.size]} 0x{s.addr:x}"]
    if s.op == "mmio_write":
        return [f"write{_W[s.size]} 0x{s.addr:x} 0x{s.value:x}"]
    if s.op == "mem_read":
        return [f"b64read 0x{s.addr:x} 0x{s.size:x}"]
    if s.op == "mem_write":
        return [f"b64write 0x{s.addr:x} 0x{s.size:x} {base64.b64encode(s.data or b'').decode()}"]
    if s.op == "memset":
        return [f"memset 0x{s.addr:x} 0x{s.size:x} 0x{s.value:02x}"]
    if s.op == "advance_time":
        return [f"clock_step {s.addr}"]
    raise ValueError(f"unknown step {s.op!r}")


def format_bdf(fn: tuple[int, int, int]) -> str:
    bus, dev, func = fn
    return f"{bus:02x}:{dev:02x}.{func:x}"


# ---- what belongs to the device under test ----------------------------------------------


@dataclass(frozen=True)
class DeviceScope:
    """The steps that show the device under test's behaviour.

    In scope: config accesses to its function ``fn``; MMIO and bulk accesses
    touching a window one of its memory BARs was assigned in the transcript
    (BAR0 registers, the FIFO rings in BAR1, MSI-X in BAR2), or guest RAM
    below ``ram_end`` (where it writes MSIs and DMA); clock steps. Out of
    scope (platform): other PCI functions and every other address.
    """

    fn: tuple[int, int, int]
    ram_end: int
    windows: tuple[tuple[int, int], ...] = ()  # (base, size) of each BAR assignment seen

    @classmethod
    def learn(cls, steps: list[Step], fn: tuple[int, int, int], ram_end: int) -> "DeviceScope":
        """The scope of a transcript: each BAR's size from its all-ones
        sizing read-back, its windows from the addresses written to it later.
        Every window a BAR ever had counts, so a device still answering at a
        moved BAR's old address is compared too."""
        fn = tuple(fn)
        written: dict[int, int] = {}
        sizes: dict[int, int] = {}
        windows: list[tuple[int, int]] = []
        for s in steps:
            if s.fn != fn or s.size != 4 or not CFG_BAR0 <= s.addr < CFG_BAR0 + 4 * NUM_BARS or s.addr % 4:
                continue
            bar = (s.addr - CFG_BAR0) // 4
            if s.op == "config_write" and s.value is not None:
                written[bar] = s.value
                base = s.value & ~0xF
                if s.value != BAR_SIZING and base and bar in sizes and (base, sizes[bar]) not in windows:
                    windows.append((base, sizes[bar]))
            elif (s.op == "config_read" and written.get(bar) == BAR_SIZING and isinstance(s.answer, int)
                  and not s.answer & 1 and s.answer & ~0xF):  # memory BAR with address bits
                sizes[bar] = (~(s.answer & ~0xF) + 1) & 0xFFFF_FFFF
        return cls(fn, ram_end, tuple(windows))

    def covers(self, step: Step) -> bool:
        if step.op in ("config_read", "config_write"):
            return step.fn == self.fn
        if step.op == "advance_time":
            return True
        end = step.addr + max(step.size, 1)
        return step.addr < self.ram_end or any(step.addr < b + n and b < end for b, n in self.windows)


def device_function(transcript: "Transcript", default: tuple[int, int, int]) -> tuple[int, int, int]:
    """The function under test named by the transcript's header, else `default`."""
    named = transcript.header.get(DEVICE_HEADER)
    if not named:
        return tuple(default)
    from .targets.description import parse_pci_address  # noqa: PLC0415 (light module, loaded on use)
    try:
        return parse_pci_address(named)
    except ValueError:
        raise TranscriptError(f"header '{DEVICE_HEADER}: {named}' is not BB:DD.F") from None


def ram_end(address_map: Any) -> int:
    """The first address above guest RAM, from a port's address map."""
    return address_map.ram_base + address_map.ram_size


# ---- the transcript ------------------------------------------------------------------------


@dataclass
class Transcript:
    """Header facts and the steps of one recorded run."""

    header: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    truncated: bool = False

    @property
    def machine(self) -> str:
        return self.header.get("machine", "q35")

    def to_text(self) -> str:
        out = [f"# {FORMAT}"]
        out += [f"# {k}: {v}" for k, v in self.header.items()]
        if self.truncated:
            out.append(f"# truncated: recording stopped after {MAX_STEPS} steps")
        for s in self.steps:
            cmds = render_commands(s, self.machine)
            for c in cmds[:-1]:  # the CF8 address write
                out += [f"[R] {c}", "[S] OK"]
            out += [f"[R] {cmds[-1]}", f"[S] {format_answer(s.answer)}"]
        return "\n".join(out) + "\n"

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.to_text(), encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | Path) -> "Transcript":
        return parse(Path(path).read_text(encoding="utf-8"))


_HEADER = re.compile(r"^#\s*([A-Za-z_][\w-]*):\s*(.*)$")


def _num(word: str, line: int) -> int:
    try:
        return int(word, 0)
    except ValueError:
        raise TranscriptError(f"line {line}: {word!r} is not a number") from None


def _parse_answer(text: str, op: str, line: int) -> Any:
    text = text.strip()
    if text.startswith(("ERR", "FAIL")):
        return Error(text.split(" ", 1)[1] if " " in text else text)
    if not text.startswith("OK"):
        raise TranscriptError(f"line {line}: reply {text!r} is neither OK, FAIL nor ERR")
    rest = text[2:].strip()
    if op in ("config_read", "mmio_read"):
        return _num(rest, line)
    if op == "mem_read":
        if rest.startswith("sha256:"):
            return rest
        try:
            return base64.b64decode(rest, validate=True)
        except ValueError:
            raise TranscriptError(f"line {line}: bad base64 in the b64read reply") from None
    return None


def _ecam_fn(addr: int) -> tuple[tuple[int, int, int], int] | None:
    off = addr - ARM_ECAM_BASE
    if not 0 <= off < ECAM_SIZE:
        return None
    return ((off >> 20) & 0xFF, (off >> 15) & 0x1F, (off >> 12) & 7), off & 0xFFF


def _parse_command(words: list[str], machine: str, cf8: int | None, line: int) -> Step | int:
    """A Step, or the new CF8 value for an `outl 0xcf8` line."""
    cmd = words[0]

    def need(n: int) -> None:
        if len(words) != n:
            raise TranscriptError(f"line {line}: {cmd} takes {n - 1} argument(s)")

    if cmd[:-1] in ("in", "out") and cmd[-1] in "bwl":
        width = _WIDTH[cmd[-1]]
        need(2 if cmd.startswith("in") else 3)
        port = _num(words[1], line)
        if port == Q35_CF8 and cmd == "outl":
            return _num(words[2], line)
        if Q35_CFC <= port < Q35_CFC + 4:
            if cf8 is None or not cf8 & 0x8000_0000:
                raise TranscriptError(f"line {line}: config data access without an enabled 0xcf8 address")
            fn = ((cf8 >> 16) & 0xFF, (cf8 >> 11) & 0x1F, (cf8 >> 8) & 7)
            offset = (cf8 & 0xFC) + (port - Q35_CFC)
            if cmd.startswith("in"):
                return Step("config_read", addr=offset, size=width, fn=fn, line=line)
            return Step("config_write", addr=offset, size=width, fn=fn, value=_num(words[2], line), line=line)
        raise TranscriptError(f"line {line}: port 0x{port:x} is not configuration space (only 0xcf8/0xcfc replay)")
    if cmd[:-1] in ("read", "write") and cmd[-1] in "bwlq":
        width = _WIDTH[cmd[-1]]
        need(2 if cmd.startswith("read") else 3)
        addr = _num(words[1], line)
        ecam = _ecam_fn(addr) if machine == "virt" else None
        if ecam is not None:
            fn, off = ecam
            if cmd.startswith("read"):
                return Step("config_read", addr=off, size=width, fn=fn, line=line)
            return Step("config_write", addr=off, size=width, fn=fn, value=_num(words[2], line), line=line)
        if cmd.startswith("read"):
            return Step("mmio_read", addr=addr, size=width, line=line)
        return Step("mmio_write", addr=addr, size=width, value=_num(words[2], line), line=line)
    if cmd == "b64read":
        need(3)
        return Step("mem_read", addr=_num(words[1], line), size=_num(words[2], line), line=line)
    if cmd == "b64write":
        need(4)
        try:
            data = base64.b64decode(words[3], validate=True)
        except ValueError:
            raise TranscriptError(f"line {line}: bad base64 payload") from None
        size = _num(words[2], line)
        if len(data) != size:
            raise TranscriptError(f"line {line}: payload is {len(data)} bytes, the command says {size}")
        return Step("mem_write", addr=_num(words[1], line), size=size, data=data, line=line)
    if cmd == "memset":
        need(4)
        return Step("memset", addr=_num(words[1], line), size=_num(words[2], line),
                    value=_num(words[3], line) & 0xFF, line=line)
    if cmd == "clock_step":
        return Step("advance_time", addr=_num(words[1], line) if len(words) > 1 else 0, line=line)
    raise TranscriptError(f"line {line}: command {cmd!r} cannot be replayed")


def parse(text: str) -> Transcript:
    """A Transcript from file text (raises TranscriptError naming the line)."""
    t = Transcript()
    cf8: int | None = None
    pending: Step | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            m = _HEADER.match(line)
            if m and m.group(1) not in ("truncated",):
                t.header[m.group(1)] = m.group(2)
            elif m:
                t.truncated = True
            continue
        if line.startswith("[S]"):
            if pending is not None:
                pending.answer = _parse_answer(line[3:], pending.op, n)
                pending = None
            continue
        cmd = line[3:].strip() if line.startswith("[R]") else line
        if not cmd:
            raise TranscriptError(f"line {n}: empty command")
        got = _parse_command(cmd.split(), t.machine, cf8, n)
        if isinstance(got, int):
            cf8 = got
            continue
        t.steps.append(got)
        pending = got
    return t


# ---- recording -------------------------------------------------------------------------------


def __getattr__(name: str) -> Any:
    # RecordingPort subclasses the native Port, so it is made on first use:
    # the rest of this module works without the native module.
    if name == "RecordingPort":
        return _recording_class()
    raise AttributeError(name)


def record_dut(dut: Any, header: dict[str, str]) -> Any:
    """Puts a recording port on `dut` and returns it. The header gets the
    device's function, and the recorder the target's machine (q35 unless the
    target names another), so the transcript replays and scopes by itself."""
    machine = getattr(dut.target, "machine", None)
    a = dut.pci_address
    header = dict(header, **{DEVICE_HEADER: format_bdf((a.bus, a.device, a.function))})
    dut.port = make_recording_port(dut.port, header, machine().name if callable(machine) else "q35")
    return dut.port


def make_recording_port(inner: Any, header: dict[str, str] | None = None, machine: str = "q35") -> Any:
    """A port that delegates to `inner` and records a Transcript of every
    operation (``.transcript``). Operations that raise are recorded with the
    error and re-raised."""
    cls = _recording_class()
    return cls(inner, header or {}, machine)


_cls_cache: list[type] = []


def _recording_class() -> type:
    if _cls_cache:
        return _cls_cache[0]
    v = _native()

    class _RecordingPort(v.port.Port):
        """Delegates to another port and records what it answered."""

        def __init__(self, inner: Any, header: dict[str, str], machine: str) -> None:
            super().__init__()
            self.inner = inner
            self.transcript = Transcript(header=dict(header, machine=machine))

        def _add(self, step: Step) -> Step:
            t = self.transcript
            if len(t.steps) >= MAX_STEPS:
                t.truncated = True
            else:
                t.steps.append(step)
            return step

        def _run(self, step: Step, call):
            try:
                result = call()
            except Exception as exc:
                step.answer = Error(f"{type(exc).__name__}: {exc}")
                self._add(step)
                raise
            return result

        def config_read(self, fn, offset, size):
            s = Step("config_read", addr=offset, size=size, fn=(fn.bus, fn.device, fn.function))
            s.answer = self._run(s, lambda: self.inner.config_read(fn, offset, size))
            self._add(s)
            return s.answer

        def config_write(self, fn, offset, size, value):
            s = Step("config_write", addr=offset, size=size, value=value, fn=(fn.bus, fn.device, fn.function))
            self._run(s, lambda: self.inner.config_write(fn, offset, size, value))
            self._add(s)

        def mmio_read(self, addr, size):
            s = Step("mmio_read", addr=addr, size=size)
            s.answer = self._run(s, lambda: self.inner.mmio_read(addr, size))
            self._add(s)
            return s.answer

        def mmio_write(self, addr, size, value):
            s = Step("mmio_write", addr=addr, size=size, value=value)
            self._run(s, lambda: self.inner.mmio_write(addr, size, value))
            self._add(s)

        def mem_read(self, addr, length):
            s = Step("mem_read", addr=addr, size=length)
            data = self._run(s, lambda: self.inner.mem_read(addr, length))
            s.answer = read_answer(data)
            self._add(s)
            return data

        def mem_write(self, addr, data):
            data = bytes(data)
            s = self._collapse(addr, data)
            self._run(s, lambda: self.inner.mem_write(addr, data))
            if s is not self._last():
                self._add(s)

        def advance_time(self, ns):
            s = Step("advance_time", addr=ns)
            self._run(s, lambda: self.inner.advance_time(ns))
            self._add(s)

        def address_map(self):
            return self.inner.address_map()

        def _last(self) -> Step | None:
            steps = self.transcript.steps
            return steps[-1] if steps else None

        def _collapse(self, addr: int, data: bytes) -> Step:
            """The step for a RAM write: a memset for one repeated byte,
            merged into the previous write when it continues it."""
            prev = self._last()
            uniform = len(data) > 8 and data.count(data[0]) == len(data)
            if prev is not None and prev.answer is None and prev.addr + prev.size == addr and data:
                if uniform and prev.op == "memset" and prev.value == data[0]:
                    prev.size += len(data)
                    return prev
                if not uniform and prev.op == "mem_write":
                    prev.data = (prev.data or b"") + data
                    prev.size += len(data)
                    return prev
            if uniform:
                return Step("memset", addr=addr, size=len(data), value=data[0])
            return Step("mem_write", addr=addr, size=len(data), data=data)

    _cls_cache.append(_RecordingPort)
    return _RecordingPort


# ---- replay ------------------------------------------------------------------------------------


@dataclass
class Mismatch:
    """A replayed step whose answer differs from the recorded one."""

    index: int
    step: Step
    recorded: Any
    got: Any
    platform: bool = False  # outside the DeviceScope: reported, not counted

    def describe(self, machine: str = "q35") -> str:
        where = f"line {self.step.line}" if self.step.line else f"step {self.index}"
        return (f"{where}: {self.step.describe(machine)}\n"
                f"    recorded: {format_answer(self.recorded)}\n"
                f"    got:      {format_answer(self.got)}")


def execute(port: Any, step: Step) -> Any:
    """Runs one step on `port`; returns its answer as a transcript keeps it."""
    v = _native()
    try:
        if step.op == "config_read":
            return port.config_read(v.port.PciAddress(*step.fn), step.addr, step.size)
        if step.op == "config_write":
            port.config_write(v.port.PciAddress(*step.fn), step.addr, step.size, step.value)
        elif step.op == "mmio_read":
            return port.mmio_read(step.addr, step.size)
        elif step.op == "mmio_write":
            port.mmio_write(step.addr, step.size, step.value)
        elif step.op == "mem_read":
            return read_answer(port.mem_read(step.addr, step.size))
        elif step.op == "mem_write":
            port.mem_write(step.addr, step.data or b"")
        elif step.op == "memset":
            port.mem_write(step.addr, bytes([step.value or 0]) * step.size)
        elif step.op == "advance_time":
            port.advance_time(step.addr)
        else:
            raise ValueError(f"unknown step {step.op!r}")
    except Exception as exc:  # the target refused: that is an answer too
        return Error(f"{type(exc).__name__}: {exc}")
    return None


def replay(transcript: Transcript, port: Any, stop_after: int | None = None,
           compare: bool = True, scope: DeviceScope | None = None) -> list[Mismatch]:
    """Runs every step on `port`; the steps whose answers differ. With a
    `scope`, those outside it are marked ``platform`` and neither count
    towards `stop_after` nor stop the replay. Stops after `stop_after`
    device mismatches, and at the first error of a device step the
    recording did not have (a broken connection makes everything after it
    meaningless; the next device step shows it)."""
    out: list[Mismatch] = []
    counted = 0
    for i, step in enumerate(transcript.steps):
        got = execute(port, step)
        recorded = step.answer
        if not compare or (recorded is None and (step.op in READ_OPS and not isinstance(got, Error))):
            continue  # a bare command file carries no answers to compare
        if not answers_equal(recorded, got):
            platform = scope is not None and not scope.covers(step)
            out.append(Mismatch(i, step, recorded, got, platform))
            if platform:
                continue
            counted += 1
            if isinstance(got, Error) or (stop_after is not None and counted >= stop_after):
                break
    return out


def safe_name(nodeid: str) -> str:
    """A file name for a test id."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")
    return (name[:150] or "test") + ".qtest"

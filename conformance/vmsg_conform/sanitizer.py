"""Sanitizer reports in a target's output: find them, and name each one.

A QEMU built with AddressSanitizer (or UBSan, LSan, TSan, MSan) that hits a
bug prints a report on stderr and exits; a plain build may survive the same
bug silently (qemu-observed.md §7, §9). The report says what went wrong far
better than "peer closed the connection", so the verdict message leads with
it and the root causes group crashes by it.

Everything here is pure text processing: :func:`parse_all` reads the reports
in a text, :func:`parse` the first one; :attr:`Report.signature` is the short
name ("AddressSanitizer: heap-buffer-overflow in __virtio_queue_reset
hw/virtio/virtio.c:2059") under which crashes are grouped. Lines that are no
part of a report (the program's own messages, interleaved or trailing) are
skipped, and a report cut short still gives what it has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

#: ``==PID==ERROR: AddressSanitizer: heap-buffer-overflow on address ...``;
#: MSan and TSan say WARNING, TSan has no ``==PID==`` but a ``(pid=N)`` tail.
_HEADER = re.compile(r"(?:==\d+==)?\s*(?:ERROR|WARNING): (?P<tool>[A-Za-z]+Sanitizer): (?P<what>.*)$")
#: ``SUMMARY: AddressSanitizer: heap-buffer-overflow ../hw/virtio/virtio.c:2059 in __virtio_queue_reset``
_SUMMARY = re.compile(r"SUMMARY: (?P<tool>[A-Za-z]+Sanitizer): (?P<what>.*)$")
#: UBSan: ``../hw/foo.c:12:5: runtime error: index 5 out of bounds ...``
_UBSAN = re.compile(r"(?P<loc>\S+?:\d+(?::\d+)?): runtime error: (?P<what>.*)$")
#: ``#3 0x55d0c1a2b3c4 in func file.c:12:5`` (ASan, MSan, LSan, UBSan),
#: ``#3 func file.c:12:5 (module+0x1f)`` (TSan), ``#3 0x7f.. (/lib/libc.so.6+0x29d90)``.
_FRAME = re.compile(r"^\s*#(?P<n>\d+)\s+(?:0x[0-9A-Fa-f]+\s+)?(?:in\s+)?(?P<rest>.*?)\s*$")
#: The location at the end of a frame: ``path:line[:col]`` or ``(module+0xoff)``,
#: optionally followed by TSan's ``(module+0xoff)``.
_FRAME_TAIL = re.compile(r"^(?P<func>.*?)\s*(?P<loc>\([^()\s]+\)|\S+:\d+(?::\d+)?)(?:\s+\([^()\s]+\))?$")
_BUILD_ID = re.compile(r"\s+\(BuildId: [0-9A-Fa-f]+\)$")
_LEAK_SUMMARY = re.compile(r"^\d+ byte\(s\) leaked in \d+ allocation\(s\)\.?$")
_PID_TAIL = re.compile(r"\s*\(pid=\d+\)\s*$")

#: Frames of the sanitizer runtime itself (interceptors, allocator).
_RUNTIME_PATH = re.compile(r"libsanitizer|compiler-rt|sanitizer_common|/(?:asan|lsan|ubsan|tsan|msan)/"
                           r"|lib(?:asan|lsan|ubsan|tsan|msan|clang_rt)[\w.-]*\.so")
_RUNTIME_FUNC = re.compile(r"^_*(?:interceptor_|asan_|lsan_|ubsan_|tsan_|msan_|sanitizer_)|^__interceptor")
#: Frames of the C library and the system (no source of the program under test).
_SYSTEM_PATH = re.compile(r"^(?:/usr/include/|/usr/lib|/lib|(?:\.\./)*sysdeps/|(?:\.\./|\./)*csu/|/build/glibc)")
_SYSTEM_FUNC = frozenset({"__libc_start_main", "__libc_start_call_main", "_start", "start_thread", "clone",
                          "clone3", "__clone", "abort", "raise", "__GI_raise", "__GI_abort"})


def _normalise(location: str) -> str:
    """``../hw/virtio/virtio.c:2059:5`` -> ``hw/virtio/virtio.c:2059``: the
    build directory prefix and the column say nothing about the bug."""
    loc = location
    while loc.startswith(("../", "./")):
        loc = loc[3:] if loc.startswith("../") else loc[2:]
    m = re.match(r"^(?P<path>.*?:\d+):\d+$", loc)
    return m.group("path") if m else loc


@dataclass(frozen=True)
class Frame:
    """One stack frame: function (None when unsymbolised) and location, a
    normalised ``path:line`` or ``(module+0xoff)`` when there is no source."""

    function: str | None
    location: str | None

    @property
    def has_source(self) -> bool:
        return bool(self.location) and not self.location.startswith("(")

    @property
    def in_program(self) -> bool:
        """A frame of the program under test (QEMU), not of the sanitizer
        runtime, the C library or a system library."""
        if not self.has_source or not self.function:
            return False
        if _RUNTIME_PATH.search(self.location) or _RUNTIME_FUNC.search(self.function):
            return False
        return not (_SYSTEM_PATH.search(self.location) or self.function in _SYSTEM_FUNC)


def _frame(rest: str) -> Frame:
    rest = _BUILD_ID.sub("", rest)
    m = _FRAME_TAIL.match(rest)
    if m is None:
        return Frame(rest or None, None)
    loc = m.group("loc")
    return Frame(m.group("func") or None, loc if loc.startswith("(") else _normalise(loc))


@dataclass(frozen=True)
class Report:
    """One sanitizer report.

    ``tool`` names the sanitizer that found it (the ERROR line's, else the
    SUMMARY's), ``kind`` the error class (``heap-buffer-overflow``, ``SEGV``,
    ``undefined-behavior``, ``memory-leak``, ``data race``, ...), ``function``
    and ``location`` where: the first frame in the program's own code, else
    what the SUMMARY line names. ``complete`` is False for a report cut short
    before its SUMMARY line; ``lines`` are the text's lines from the report's
    first to its last (those in between that belong to something else too),
    ``span`` their indices in the text (end exclusive)."""

    tool: str
    kind: str
    function: str | None = None
    location: str | None = None
    headline: str = ""
    summary: str | None = None
    frames: tuple[Frame, ...] = ()
    lines: tuple[str, ...] = ()
    span: tuple[int, int] = (0, 0)

    @property
    def complete(self) -> bool:
        return self.summary is not None

    @property
    def signature(self) -> str:
        """``TOOL: KIND[ in FUNCTION][ LOCATION]``: stable across runs of one
        build (no addresses, sizes or thread numbers), so equal crashes group."""
        out = f"{self.tool}: {self.kind}"
        if self.function:
            out += f" in {self.function}"
        if self.location:
            out += f" {self.location}"
        return out

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class _Open:
    """A report being read."""

    tool: str
    kind: str
    headline: str
    start: int
    location: str | None = None  # UBSan's runtime-error location
    frames: list[Frame] = field(default_factory=list)
    stack_done: bool = False
    summary: str | None = None
    summary_kind: str | None = None
    summary_function: str | None = None
    summary_location: str | None = None


def _kind_of_header(what: str) -> str:
    """The error class from the ERROR line's text (used when no SUMMARY line)."""
    if what.startswith("detected memory leaks"):
        return "memory-leak"
    what = re.sub(r"^attempting\s+", "", what)
    return re.split(r"\s+on\s+|\s+\(|:\s", what, maxsplit=1)[0].strip() or "error"


_SUMMARY_TEXT = re.compile(r"^(?P<kind>.+?)(?:\s+(?P<loc>\([^()\s]+\)|\S+:\d+(?::\d+)?))?"
                           r"(?:\s+in(?:\s+(?P<func>.*))?)?$")


def _parse_summary(what: str) -> tuple[str, str | None, str | None]:
    """(kind, function, location) from the SUMMARY line's text."""
    what = what.strip()
    if _LEAK_SUMMARY.match(what):
        return "memory-leak", None, None
    m = _SUMMARY_TEXT.match(what)
    if m is None:  # pragma: no cover - the pattern matches any non-empty text
        return what or "error", None, None
    loc = m.group("loc")
    if loc and not loc.startswith("("):
        loc = _normalise(loc)
    return m.group("kind"), (m.group("func") or "").strip() or None, loc


def _where(o: _Open) -> tuple[str | None, str | None]:
    """(function, location) that name the bug: the first frame in the
    program's own code; else the SUMMARY's source location; else UBSan's
    runtime-error location; else the first frame; else what SUMMARY says."""
    program = next((f for f in o.frames if f.in_program), None)
    if program is not None:
        return program.function, program.location
    if o.summary_location and not o.summary_location.startswith("("):
        return o.summary_function, o.summary_location
    if o.location:
        return o.summary_function, o.location
    if o.frames:
        return o.frames[0].function, o.frames[0].location
    return o.summary_function, o.summary_location


def _close(o: _Open, lines: list[str], end: int) -> Report:
    if "memory-leak" in (o.kind, o.summary_kind):
        kind = "memory-leak"  # LSan inside ASan: the SUMMARY names ASan and a byte count
    else:
        kind = o.summary_kind or o.kind
    function, location = _where(o)
    return Report(tool=o.tool, kind=kind, function=function, location=location, headline=o.headline,
                  summary=o.summary, frames=tuple(o.frames), lines=tuple(lines[o.start:end]), span=(o.start, end))


def _opening(line: str, i: int) -> _Open | None:
    """The report that ``line`` starts (an ERROR/WARNING header or a UBSan
    runtime error), or None."""
    h = _HEADER.search(line)
    if h is not None:
        what = _PID_TAIL.sub("", h.group("what")).strip()
        return _Open(h.group("tool"), _kind_of_header(what), f"{h.group('tool')}: {what}", i)
    u = _UBSAN.search(line)
    if u is not None:
        return _Open("UndefinedBehaviorSanitizer", "undefined-behavior", f"runtime error: {u.group('what').strip()}",
                     i, location=_normalise(u.group("loc")))
    return None


def parse_all(text: str) -> list[Report]:
    """Every sanitizer report in ``text``, in order. A report runs from its
    header to its SUMMARY line; one without a SUMMARY (cut short) ends where
    the next one starts or the text ends."""
    lines = text.splitlines()
    out: list[Report] = []
    cur: _Open | None = None
    end = 0  # one past the last non-blank line of the open report

    for i, line in enumerate(lines):
        opened = _opening(line, i)
        if opened is not None:
            if cur is not None:
                out.append(_close(cur, lines, end))
            cur, end = opened, i + 1
            continue
        s = _SUMMARY.search(line)
        if s is not None:
            if cur is None:  # the head of the report was lost (a cut-off tail)
                cur = _Open(s.group("tool"), "error", "", i)
            cur.summary = line[s.start():].strip()
            cur.summary_kind, cur.summary_function, cur.summary_location = _parse_summary(s.group("what"))
            out.append(_close(cur, lines, i + 1))
            cur = None
            continue
        if cur is None or not line.strip():
            continue
        end = i + 1
        f = _FRAME.match(line)
        if f is None:
            continue  # report prose, or another program's line interleaved with it
        if int(f.group("n")) == 0 and cur.frames:
            # frame numbers start again: a second stack ("allocated by", the
            # previous access, the next leak); the first one names the bug
            cur.stack_done = True
        if not cur.stack_done:
            cur.frames.append(_frame(f.group("rest")))
    if cur is not None:
        out.append(_close(cur, lines, end))
    return out


def parse(text: str) -> Report | None:
    """The first sanitizer report in ``text`` (the earliest problem: what
    follows may be its consequence), or None."""
    reports = parse_all(text)
    return reports[0] if reports else None


def find(texts: Iterable[str | None]) -> Report | None:
    """The first report in the first of ``texts`` that holds one."""
    for t in texts:
        if t:
            r = parse(t)
            if r is not None:
                return r
    return None

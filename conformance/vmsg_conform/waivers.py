"""Waiver files: known failures accepted for a while, each with a reason and
an expiry date.

Format (TOML)::

    [[waiver]]
    test = "suite/test_bus_ping.py::test_ping_*"   # node id or glob (required)
    req = "VMSG-BUS-028"                           # optional: only if the test cites it
    reason = "QEMU bug 10, fix pending upstream"   # required
    expires = 2026-06-30                           # required (TOML date or "YYYY-MM-DD")

A waived test that fails is XFAIL; one that passes is XPASS (the waiver should
go); once the expiry date has passed the waiver no longer hides anything and
the test is a FAIL.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path


class WaiverError(ValueError):
    """The waiver file is unreadable or an entry is incomplete."""


@dataclass(frozen=True)
class Waiver:
    """One waiver entry."""

    test: str
    reason: str
    expires: _dt.date
    req: str | None = None

    def matches(self, nodeid: str, reqs: list[str] | tuple[str, ...] = ()) -> bool:
        """True when the entry covers this test (node id or glob; the
        package-relative form of suite node ids matches too)."""
        if self.req is not None and self.req not in reqs:
            return False
        return any(
            nodeid_form == self.test or fnmatch.fnmatchcase(nodeid_form, self.test)
            for nodeid_form in _forms(nodeid)
        )

    def expired(self, today: _dt.date | None = None) -> bool:
        """Expired once the expiry day is over."""
        return (today or _dt.date.today()) > self.expires


def _forms(nodeid: str) -> list[str]:
    """A node id plus its tail after 'vmsg_conform/', so a waiver written
    as 'suite/test_x.py::t' works wherever the suite is installed."""
    forms = [nodeid]
    marker = "vmsg_conform/"
    if marker in nodeid:
        forms.append(nodeid.split(marker, 1)[1])
    return forms


def _parse_date(value: object, where: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise WaiverError(f"{where}: 'expires' must be a date YYYY-MM-DD, got {value!r}")


def parse(text: str, source: str = "<waivers>") -> list[Waiver]:
    """Parse waiver TOML text; every problem raises :class:`WaiverError`
    naming the entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WaiverError(f"{source}: invalid TOML: {exc}") from None
    unknown_top = set(data) - {"waiver"}
    if unknown_top:
        raise WaiverError(f"{source}: unknown top-level key(s) {sorted(unknown_top)}; use [[waiver]] tables")
    entries = data.get("waiver", [])
    if not isinstance(entries, list):
        raise WaiverError(f"{source}: 'waiver' must be an array of tables ([[waiver]])")
    out = []
    for i, entry in enumerate(entries):
        where = f"{source}: waiver #{i + 1}"
        if not isinstance(entry, dict):
            raise WaiverError(f"{where}: must be a table")
        test = entry.get("test")
        if isinstance(test, str) and test:
            where += f" (test {test!r})"
        else:
            raise WaiverError(f"{where}: 'test' (node id or glob) is required")
        extra = set(entry) - {"test", "req", "reason", "expires"}
        if extra:
            raise WaiverError(f"{where}: unknown key(s) {sorted(extra)}")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise WaiverError(f"{where}: 'reason' is required (say why the failure is accepted)")
        if "expires" not in entry:
            raise WaiverError(f"{where}: 'expires' (YYYY-MM-DD) is required")
        expires = _parse_date(entry["expires"], where)
        req = entry.get("req")
        if req is not None and (not isinstance(req, str) or not req):
            raise WaiverError(f"{where}: 'req' must be a requirement ID string")
        out.append(Waiver(test=test, reason=reason.strip(), expires=expires, req=req))
    return out


def load(path: str | Path) -> list[Waiver]:
    """Read a waiver file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise WaiverError(f"{p}: cannot read waiver file: {exc.strerror or exc}") from None
    return parse(text, str(p))


def find(waivers: list[Waiver], nodeid: str, reqs: list[str] | tuple[str, ...] = ()) -> Waiver | None:
    """The first entry covering the test, or None."""
    for w in waivers:
        if w.matches(nodeid, reqs):
            return w
    return None

"""The cross-profile check: the reference built in one draft, judged under the other.

A PR28 device run under ``--profile rev1-2026`` must fail only where REV1 differs:
rules REV1 added or changed (no ``equivalent`` in PR28), whose tests see the
other layout or the other behaviour. The reverse holds for a REV1 device judged
under PR28. ``vmsg-conform cross-profile`` runs both directions and writes one
table per direction: every requirement with a FAIL/WARN/INFO test, whether the
draft in force shares it with the device's draft, and the tests.

Everything here but :func:`description_text` and :func:`run_direction` is pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

#: (device's draft, draft it is judged under), in the order the report shows them.
DIRECTIONS = (("pr28", "rev1-2026"), ("rev1-2026", "pr28"))

_GRADED = ("FAIL", "WARN", "INFO")


@dataclass
class Finding:
    """One requirement that a cross-profile run found broken."""

    rid: str
    level: str
    shared: bool  # the device's draft has the same rule (an equivalent)
    verdicts: dict[str, int] = field(default_factory=dict)
    tests: list[str] = field(default_factory=list)
    example: str = ""


@dataclass
class Direction:
    """The outcome of one direction: counts, findings by requirement, BLOCKED causes."""

    device_profile: str
    judged_as: str
    counts: dict[str, int]
    findings: list[Finding]
    blocked_by: dict[str, int]

    @property
    def shared(self) -> list[Finding]:
        """Findings on rules both drafts have: the ones a clean draft separation excludes."""
        return [f for f in self.findings if f.shared]


def description_text(toml_text: str, device_profile: str) -> str:
    """A target description (TOML text) with its device fixed to ``device_profile``:
    an existing ``device_profile`` key is replaced, else one is put first (top-level
    keys must precede the ``[[devices]]`` tables)."""
    line = f'device_profile = "{device_profile}"'
    pattern = re.compile(r"^device_profile\s*=.*$", re.M)
    if pattern.search(toml_text):
        return pattern.sub(line, toml_text, count=1)
    return f"{line}\n{toml_text}"


def judge(tests: Iterable[Any], cat, device_profile: str, judged_as: str) -> Direction:
    """Sorts a run's tests (objects with nodeid, verdict, broken, message, blocked_by)
    into requirement findings; ``shared`` when the requirement, read under
    ``judged_as``, has an equivalent that applies to ``device_profile``."""
    counts: dict[str, int] = {}
    by_rid: dict[str, Finding] = {}
    blocked: dict[str, int] = {}
    for t in tests:
        counts[t.verdict] = counts.get(t.verdict, 0) + 1
        if t.verdict == "BLOCKED":
            blocked[t.blocked_by or "?"] = blocked.get(t.blocked_by or "?", 0) + 1
        if t.verdict not in _GRADED:
            continue
        for rid in list(t.broken) or ["(none)"]:
            f = by_rid.get(rid)
            if f is None:
                known = rid != "(none)" and rid in cat
                shared = known and (cat.get(rid).applies_to(device_profile) or any(
                    cat.get(e).applies_to(device_profile) for e in cat.equivalents(rid)))
                f = by_rid[rid] = Finding(rid, cat.get(rid).level if known else "?", shared)
                f.example = t.message.splitlines()[0][:160] if t.message else ""
            f.verdicts[t.verdict] = f.verdicts.get(t.verdict, 0) + 1
            f.tests.append(t.nodeid)
    order = {r.id: i for i, r in enumerate(cat)}
    findings = sorted(by_rid.values(), key=lambda f: (f.shared, order.get(f.rid, 1 << 30)))
    return Direction(device_profile, judged_as, counts, findings, dict(sorted(blocked.items())))


def markdown(directions: list[Direction]) -> str:
    """The report: one table per direction."""
    out = ["# Cross-profile check", ""]
    for d in directions:
        counts = ", ".join(f"{n} {v}" for v, n in sorted(d.counts.items()))
        out += [f"## A {d.device_profile} device judged under {d.judged_as}", "", f"Tests: {counts}.", ""]
        out += ["| requirement | level | in both drafts | verdicts | tests | example |", "|---|---|---|---|---|---|"]
        for f in d.findings:
            verdicts = " ".join(f"{n} {v}" for v, n in sorted(f.verdicts.items()))
            names = sorted({t.split("::")[-1].split("[")[0] for t in f.tests})
            shown = ", ".join(f"`{n}`" for n in names[:2]) + (f" (+{len(names) - 2})" if len(names) > 2 else "")
            example = f.example.replace("|", "\\|")
            out.append(f"| {f.rid} | {f.level} | {'yes' if f.shared else 'no'} | {verdicts} | {shown} | {example} |")
        if d.blocked_by:
            blocked = ", ".join(f"{rid} ({n})" for rid, n in d.blocked_by.items())
            out += ["", f"BLOCKED, by the rule their setup met: {blocked}."]
        out.append("")
    return "\n".join(out)


def to_json(directions: list[Direction]) -> dict[str, Any]:
    return {"directions": [{
        "device_profile": d.device_profile, "judged_as": d.judged_as, "counts": d.counts,
        "blocked_by": d.blocked_by,
        "findings": [{"id": f.rid, "level": f.level, "in_both_drafts": f.shared, "verdicts": f.verdicts,
                      "tests": f.tests, "example": f.example} for f in d.findings],
    } for d in directions]}


def write_description(source: Path, device_profile: str, out_dir: Path) -> Path:
    """Writes ``source`` with its device fixed to ``device_profile`` into ``out_dir``."""
    path = out_dir / f"{device_profile}-device.toml"
    path.write_text(description_text(source.read_text(encoding="utf-8"), device_profile), encoding="utf-8")
    return path

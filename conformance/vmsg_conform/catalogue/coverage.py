"""Coverage view: which requirements the collected tests cite, and why the rest are not.

``citations`` maps test node IDs to the requirement IDs they cite (what the ``req``
marker says). Citations of IDs the catalogue does not know are ignored here;
``Catalogue.unknown`` is the place to report them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import NOT_APPLICABLE

if TYPE_CHECKING:
    from . import Catalogue, Requirement

TESTED = "tested"
UNTESTED = "UNTESTED"


@dataclass
class CoverageRow:
    """One requirement with the tests citing it and its coverage status:
    "tested", "untestable: <reason>", "not applicable to profile <p>",
    "not applicable: <reason>" (a feature or transport the targets lack) or "UNTESTED"."""

    requirement: Requirement
    tests: list[str] = field(default_factory=list)
    status: str = UNTESTED

    @property
    def kind(self) -> str:
        """The status without its detail: tested, untestable, not-applicable, UNTESTED."""
        if self.status.startswith("untestable"):
            return "untestable"
        if self.status.startswith("not applicable"):
            return "not-applicable"
        return self.status


def coverage(catalogue: Catalogue, citations: Mapping[str, Sequence[str]],
             profile: str = "pr28") -> list[CoverageRow]:
    """One row per requirement of ``profile``'s view (``Catalogue.view``), in catalogue order.

    Citations count as ``Catalogue.translate`` reads them under ``profile``: a test citing
    a PR28 ID covers its REV1 equivalents under rev1-2026. A requirement outside
    ``profile`` is "not applicable" (a test citing only such IDs will be skipped);
    otherwise any citing test makes it "tested"; otherwise its ``untestable`` reason is
    given; otherwise it is "UNTESTED".
    """
    cited: dict[str, list[str]] = {}
    for nodeid, ids in citations.items():
        known = [rid for rid in ids if rid in catalogue]
        for rid in dict.fromkeys(known + catalogue.translate(known, profile)):  # once per test
            cited.setdefault(rid, []).append(nodeid)
    rows = []
    for req in catalogue.view(profile):
        tests = cited.get(req.id, [])
        if not req.applies_to(profile):
            status = f"not applicable to profile {profile}"
        elif tests:
            status = TESTED
        elif req.untestable and req.untestable.startswith(NOT_APPLICABLE):
            status = req.untestable
        elif req.untestable:
            status = f"untestable: {req.untestable}"
        else:
            status = UNTESTED
        rows.append(CoverageRow(req, list(tests), status))
    return rows


def format_coverage(rows: Sequence[CoverageRow], show_tests: bool = False) -> str:
    """A plain-text table (ID, level, role, number of tests, status) and a summary
    line; with ``show_tests`` each row is followed by the citing node IDs."""
    header = ("ID", "LEVEL", "ROLE", "TESTS", "STATUS")
    body = [(r.requirement.id, r.requirement.level + (" (inf)" if r.requirement.informative else ""),
             r.requirement.role, str(len(r.tests)), r.status) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(header[:-1])]

    def line(cells: Sequence[str]) -> str:
        fixed = "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths))
        return f"{fixed}  {cells[-1]}".rstrip()

    out = [line(header), line(["-" * w for w in widths] + ["-" * len(header[-1])])]
    for row, cells in zip(rows, body):
        out.append(line(cells))
        if show_tests:
            out.extend(f"    {t}" for t in row.tests)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    parts = [f"{counts.get(k, 0)} {k}" for k in (TESTED, "untestable", "not-applicable", UNTESTED)]
    out.append("")
    out.append(f"{len(rows)} requirements: " + ", ".join(parts))
    return "\n".join(out) + "\n"

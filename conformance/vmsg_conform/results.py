"""The result model of one conformance run.

Every report (JSON, JUnit XML, HTML) is written from a :class:`RunResult`, and
the JSON form carries everything, so ``vmsg-conform report results.json`` can
rebuild the other formats without the catalogue or the suite at hand.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: Test verdicts, in the order reports list them.
TEST_VERDICTS = ("FAIL", "XPASS", "PASS", "XFAIL", "SKIP")
#: Requirement verdicts, in the order reports list them.
REQ_VERDICTS = ("FAIL", "PASS", "WAIVED", "SKIP", "UNTESTED", "UNTESTABLE", "N/A")

SCHEMA = "vmsg-conform/results/1"


@dataclass
class TestResult:
    """One test's outcome: node id, cited requirement IDs and verdict."""

    __test__ = False  # not a pytest test class despite the name

    nodeid: str
    reqs: list[str] = field(default_factory=list)
    verdict: str = "PASS"
    duration: float = 0.0
    message: str = ""
    details: str = ""
    output: str = ""
    waiver: str | None = None  # reason of the waiver that applied, if any
    waiver_expires: str | None = None

    @property
    def waived(self) -> bool:
        return self.waiver is not None


@dataclass
class RequirementRow:
    """A catalogue requirement as the reports need it (a snapshot, so the
    JSON alone suffices). ``cited_by`` lists every collected test citing it,
    selected or not."""

    id: str
    level: str = "MUST"
    strength: str = "must"
    role: str = "general"
    area: str = ""
    text: str = ""
    informative: bool = False
    untestable: str | None = None
    profiles: list[str] = field(default_factory=list)
    applicable: bool = True
    cited_by: list[str] = field(default_factory=list)


@dataclass
class RequirementVerdict:
    """Overall verdict of one requirement, with the tests behind it."""

    row: RequirementRow
    verdict: str
    reason: str
    tests: list[TestResult]


@dataclass
class RunResult:
    """Everything one run produced: metadata, test results, the
    requirement snapshot, uncited tests and collection errors."""

    metadata: dict[str, Any] = field(default_factory=dict)
    tests: list[TestResult] = field(default_factory=list)
    requirements: list[RequirementRow] = field(default_factory=list)
    uncited: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Number of tests per verdict (every verdict present, zeros too)."""
        out = {v: 0 for v in TEST_VERDICTS}
        for t in self.tests:
            out[t.verdict] = out.get(t.verdict, 0) + 1
        return out

    def failed(self) -> bool:
        """True when the run must exit non-zero: an unwaived failure, a waived
        test that passed, or a collection error."""
        return bool(self.errors) or any(t.verdict in ("FAIL", "XPASS") for t in self.tests)

    def requirement_verdicts(self) -> list[RequirementVerdict]:
        """The requirement matrix: one verdict per catalogue requirement."""
        by_req: dict[str, list[TestResult]] = {}
        for t in self.tests:
            for rid in t.reqs:
                by_req.setdefault(rid, []).append(t)
        return [_verdict_of(row, by_req.get(row.id, [])) for row in self.requirements]


def _verdict_of(row: RequirementRow, tests: list[TestResult]) -> RequirementVerdict:
    """FAIL beats PASS beats WAIVED beats SKIP. With no citing test: UNTESTABLE
    when the catalogue says why no black-box test can check it, else UNTESTED
    (a coverage gap, kept apart so a report does not hide it)."""
    verdicts = {t.verdict for t in tests}
    if not row.applicable:
        profiles = ", ".join(row.profiles) or "none"
        return RequirementVerdict(row, "N/A", f"applies only to profile(s): {profiles}", tests)
    if "FAIL" in verdicts:
        return RequirementVerdict(row, "FAIL", "", tests)
    if verdicts & {"PASS", "XPASS"}:
        return RequirementVerdict(row, "PASS", "", tests)
    if "XFAIL" in verdicts:
        return RequirementVerdict(row, "WAIVED", _first_waiver(tests), tests)
    if tests:
        reasons = sorted({t.message for t in tests if t.message})
        return RequirementVerdict(row, "SKIP", "; ".join(reasons), tests)
    if row.untestable:
        return RequirementVerdict(row, "UNTESTABLE", f"untestable: {row.untestable}", tests)
    if row.cited_by:
        reason = f"not selected in this run ({len(row.cited_by)} test(s) cite it)"
    else:
        reason = "no test cites it"
    return RequirementVerdict(row, "UNTESTED", reason, tests)


def _first_waiver(tests: list[TestResult]) -> str:
    for t in tests:
        if t.waiver:
            return t.waiver
    return ""


# --- JSON ------------------------------------------------------------------


def to_dict(run: RunResult) -> dict[str, Any]:
    """Plain-data form of a run (what the JSON report holds)."""
    data = asdict(run)
    data["schema"] = SCHEMA
    data["summary"] = run.counts()
    data["requirement_verdicts"] = {
        rv.row.id: {"verdict": rv.verdict, "reason": rv.reason} for rv in run.requirement_verdicts()
    }
    return data


def to_json(run: RunResult) -> str:
    """Serialise a run; :func:`from_json` reverses it exactly."""
    return json.dumps(to_dict(run), indent=2, sort_keys=True)


class ResultsError(ValueError):
    """The JSON given is not a vmsg-conform results document."""


def _build(cls: type, data: Any, what: str) -> Any:
    if not isinstance(data, dict):
        raise ResultsError(f"{what}: expected an object, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in known})
    except TypeError as exc:
        raise ResultsError(f"{what}: {exc}") from None


def from_dict(data: Any) -> RunResult:
    """Rebuild a run from :func:`to_dict` output; derived keys are recomputed."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ResultsError(f"not a vmsg-conform results document (schema {SCHEMA!r} expected)")
    run = _build(RunResult, data, "run")
    run.tests = [_build(TestResult, t, f"tests[{i}]") for i, t in enumerate(run.tests)]
    for i, t in enumerate(run.tests):
        if t.verdict not in TEST_VERDICTS:
            raise ResultsError(f"tests[{i}]: unknown verdict {t.verdict!r}")
    run.requirements = [
        _build(RequirementRow, r, f"requirements[{i}]") for i, r in enumerate(run.requirements)
    ]
    return run


def from_json(text: str) -> RunResult:
    """Parse the JSON report; raises :class:`ResultsError` on anything else."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"invalid JSON: {exc}") from None
    return from_dict(data)

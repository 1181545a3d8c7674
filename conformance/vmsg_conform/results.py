"""The result model of one conformance run.

Every report (JSON, JUnit XML, HTML) is written from a :class:`RunResult`, and
the JSON form carries everything, so ``vmsg-conform report results.json`` can
rebuild the other formats without the catalogue or the suite at hand.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .catalogue import NOT_APPLICABLE
from .verdicts import GRADES, run_fails

#: Test verdicts, in the order reports list them (most serious first).
TEST_VERDICTS = ("FAIL", "XPASS", "WARN", "INFO", "BLOCKED", "PASS", "XFAIL", "SKIP")
#: Requirement verdicts, in the order reports list them.
REQ_VERDICTS = ("FAIL", "WARN", "INFO", "BLOCKED", "PASS", "WAIVED", "SKIP", "UNTESTED", "UNTESTABLE", "N/A")
_SEVERITY = {v: i for i, v in enumerate(GRADES)}

SCHEMA = "vmsg-conform/results/1"
#: How a crash root cause is named: CRASH_PREFIX + the sanitizer signature.
CRASH_PREFIX = "CRASH: "


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
    #: FAIL/WARN/INFO: the requirement(s) the failing check shows broken.
    broken: list[str] = field(default_factory=list)
    #: BLOCKED: the requirement whose deviation stopped the test's setup, and
    #: the test of this run that reports that deviation (None if none does).
    blocked_by: str | None = None
    blocked_by_test: str | None = None
    #: Deviations the driver stack met and worked around, as a real driver
    #: would ("REQ: detail"); they do not change the verdict.
    tolerated: list[str] = field(default_factory=list)
    #: The replayable transcript written for a failing test, and its length.
    transcript: str | None = None
    transcript_steps: int | None = None
    #: The target crashed with a sanitizer report: its signature
    #: (sanitizer.Report.signature, e.g. "AddressSanitizer: heap-buffer-overflow
    #: in F FILE:LINE"). ``broken`` still names the test's requirement; root
    #: causes group crashes by this instead. None in files written before it.
    crash: str | None = None

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
class RootCause:
    """One distinct broken requirement and the tests that show it, the
    test with the shortest transcript (or the quickest) first. For a crash,
    ``req`` is "CRASH: <signature>" and ``crash`` the signature."""

    req: str
    verdict: str
    level: str
    text: str
    tests: list[TestResult]
    crash: str | None = None

    @property
    def example(self) -> TestResult:
        return self.tests[0]


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

    def failed(self, fail_on: str | None = None) -> bool:
        """True when the run must exit non-zero: an unwaived FAIL (crashes and
        expired waivers are FAILs), a waived test that passed, a collection
        error, and WARN / INFO as ``fail_on`` (default: the run's own
        ``metadata["fail_on"]``, else "fail") widens it."""
        fail_on = fail_on or self.metadata.get("fail_on") or "fail"
        return bool(self.errors) or run_fails((t.verdict for t in self.tests), fail_on)

    def root_causes(self) -> list[RootCause]:
        """The distinct broken requirements, most serious first: FAIL before
        WARN before INFO, then by the number of tests showing it. Failures
        that name no requirement (a setup error) are grouped by message.
        Tests during which the target crashed are one cause per crash
        signature ("CRASH: ..."), ranked as FAIL whatever their grade: the
        same bug killed them all, whichever requirement each was checking."""
        rows = {r.id: r for r in self.requirements}
        groups: dict[tuple[str, str], list[TestResult]] = {}
        for t in self.tests:
            if t.verdict not in _SEVERITY:
                continue
            if t.crash:
                groups.setdefault((CRASH_PREFIX + t.crash, "FAIL"), []).append(t)
                continue
            for rid in (t.broken or [f"(unattributed) {t.message.splitlines()[0] if t.message else t.verdict}"]):
                groups.setdefault((rid, t.verdict), []).append(t)
        out = []
        for (rid, verdict), tests in groups.items():
            # A transcript of 0 steps recorded nothing (the test opened its
            # own targets), so it is no example.
            # Ties go by node id, not duration: the example must not change
            # from one run to the next (serial or parallel).
            tests = sorted(tests, key=lambda t: (t.transcript_steps or 1 << 30, t.nodeid))
            if rid.startswith(CRASH_PREFIX):
                graded = sorted({r for t in tests for r in t.broken})
                text = "the target crashed" + (f"; the tests are graded against {', '.join(graded)}" if graded else "")
                out.append(RootCause(rid, verdict, "", text, tests, crash=rid[len(CRASH_PREFIX):]))
                continue
            row = rows.get(rid)
            out.append(RootCause(rid, verdict, row.level if row else "", row.text if row else "", tests))
        out.sort(key=lambda c: (_SEVERITY[c.verdict], -len(c.tests), c.req))
        return out

    def link_blocked(self) -> list[str]:
        """Names, for each BLOCKED test, a test of this run that reports the
        deviation that blocked it; returns warnings for blocks no test
        explains (a suite gap: the deviation must be checked somewhere)."""
        first: dict[str, str] = {}
        for t in self.tests:
            if t.verdict in _SEVERITY:
                for rid in t.broken:
                    first.setdefault(rid, t.nodeid)
        problems = []
        for t in self.tests:
            if t.verdict != "BLOCKED" or not t.blocked_by:
                continue
            t.blocked_by_test = first.get(t.blocked_by)
            if t.blocked_by_test is None:
                problems.append(f"{t.nodeid} is BLOCKED by {t.blocked_by}, which no test of this run reports")
        return problems

    def requirement_verdicts(self) -> list[RequirementVerdict]:
        """The requirement matrix: one verdict per catalogue requirement."""
        by_req: dict[str, list[TestResult]] = {}
        for t in self.tests:
            for rid in t.reqs:
                by_req.setdefault(rid, []).append(t)
        return [_verdict_of(row, by_req.get(row.id, [])) for row in self.requirements]


def _verdict_of(row: RequirementRow, tests: list[TestResult]) -> RequirementVerdict:
    """A test's failure counts against the requirements it shows broken
    (``broken``), not against everything it cites. The most serious of those
    (FAIL, WARN, INFO) wins; then PASS; then WAIVED; then BLOCKED when the
    citing tests stopped before reaching this requirement; then SKIP. With
    no citing test: UNTESTABLE when the catalogue says why no black-box test
    can check it (N/A when that reason says the rule does not apply to the
    targets at all), else UNTESTED (a coverage gap, kept apart so a report does
    not hide it)."""
    verdicts = {t.verdict for t in tests}
    if not row.applicable:
        profiles = ", ".join(row.profiles) or "none"
        return RequirementVerdict(row, "N/A", f"applies only to profile(s): {profiles}", tests)
    graded = [t.verdict for t in tests if t.verdict in _SEVERITY and row.id in t.broken]
    if graded:
        return RequirementVerdict(row, min(graded, key=_SEVERITY.__getitem__), "", tests)
    if verdicts & {"PASS", "XPASS"}:
        return RequirementVerdict(row, "PASS", "", tests)
    if "XFAIL" in verdicts:
        return RequirementVerdict(row, "WAIVED", _first_waiver(tests), tests)
    stopped = [t for t in tests if t.verdict == "BLOCKED" or t.verdict in _SEVERITY]
    if stopped:
        causes = sorted({t.blocked_by or ", ".join(t.broken) for t in stopped} - {""})
        return RequirementVerdict(row, "BLOCKED", "not reached: the citing tests stopped at "
                                  + (", ".join(causes) or "other deviations"), tests)
    if tests:
        reasons = sorted({t.message for t in tests if t.message})
        return RequirementVerdict(row, "SKIP", "; ".join(reasons), tests)
    if row.untestable and row.untestable.startswith(NOT_APPLICABLE):
        return RequirementVerdict(row, "N/A", row.untestable, tests)
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
    # Derived, for readers of the JSON: what is wrong, most serious first.
    data["root_causes"] = [
        {"req": c.req, "verdict": c.verdict, "level": c.level, "text": c.text, "tests": len(c.tests),
         "example": c.example.nodeid, "transcript": c.example.transcript,
         "transcript_steps": c.example.transcript_steps, "message": c.example.message, "crash": c.crash}
        for c in run.root_causes()]
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

"""The plain-text summary of a run: what is wrong with the device, most
serious first, then the counts. The terminal summary of ``vmsg-conform run``
and ``vmsg-conform report`` print it."""

from __future__ import annotations

from ..results import REQ_VERDICTS, RunResult

#: Root causes listed in full; the rest are counted.
MAX_CAUSES = 40


def summary_lines(run: RunResult, max_causes: int = MAX_CAUSES) -> list[str]:
    causes = run.root_causes()
    by_verdict: dict[str, int] = {}
    for c in causes:
        by_verdict[c.verdict] = by_verdict.get(c.verdict, 0) + 1
    lines = []
    if causes:
        lines.append(f"distinct broken requirements: {len(causes)} ("
                     + ", ".join(f"{v} {n}" for v, n in by_verdict.items()) + ")")
        for c in causes[:max_causes]:
            ex = c.example
            where = f"{ex.transcript} ({ex.transcript_steps} steps)" if ex.transcript else ex.nodeid
            if c.crash:  # the signature is too long for the ID column
                lines.append(f"  {c.verdict:<4} {c.req}")
                lines.append(f"       {len(c.tests)} test(s)  e.g. {where}")
            else:
                lines.append(f"  {c.verdict:<4} {c.req:<13} {c.level or '-':<10} {len(c.tests):>3} test(s)  "
                             f"e.g. {where}")
            if c.text:
                lines.append(f"       {c.text}")
            if ex.message:
                lines.append(f"       first: {ex.message.splitlines()[0][:160]}")
        if len(causes) > max_causes:
            lines.append(f"  ... and {len(causes) - max_causes} more (see report.json root_causes)")
    else:
        lines.append("distinct broken requirements: 0")
    counts = run.counts()
    lines.append("tests: " + (", ".join(f"{v} {n}" for v, n in counts.items() if n) or "none"))
    req_counts: dict[str, int] = {}
    for rv in run.requirement_verdicts():
        req_counts[rv.verdict] = req_counts.get(rv.verdict, 0) + 1
    lines.append("requirements: " + ", ".join(f"{v} {req_counts[v]}" for v in REQ_VERDICTS if req_counts.get(v)))
    blocked = [t for t in run.tests if t.verdict == "BLOCKED"]
    if blocked:
        by: dict[str, int] = {}
        for t in blocked:
            by[t.blocked_by or "?"] = by.get(t.blocked_by or "?", 0) + 1
        lines.append("blocked by: " + ", ".join(f"{r} ({n})" for r, n in sorted(by.items(), key=lambda kv: -kv[1])))
    tolerated = sorted({t.split(":", 1)[0] for r in run.tests for t in r.tolerated})
    if tolerated:
        lines.append("tolerated by the driver stack (tests went on): " + ", ".join(tolerated))
    profile = run.metadata.get("profile")
    if profile:
        found = run.metadata.get("profile_detection")
        lines.append(f"profile: {profile}" + (f" (auto: {found})" if found else ""))
    lines.append(f"exit status counts: {run.metadata.get('fail_on') or 'fail'} and worse")
    return lines

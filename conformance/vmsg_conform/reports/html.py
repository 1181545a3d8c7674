"""One static, offline HTML report (inline CSS and JS, no network). It
opens with what is wrong with the device: the header with the overall
verdict, then the root causes (each distinct broken requirement, most
serious first, with an example test and its transcript), then the verdict
counts and run details, the requirement matrix with filters and the test
table.

Rows and verdict cells carry ``data-req`` / ``data-verdict`` attributes so
tools (and the self-tests) can read the matrix from the DOM."""

from __future__ import annotations

from collections import Counter
from html import escape
from pathlib import Path

from ..results import REQ_VERDICTS, TEST_VERDICTS, RequirementVerdict, RootCause, RunResult, TestResult
from ..verdicts import FAIL_ON, GRADES

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#fff;border-bottom:1px solid #d0d7de;padding:12px 24px}
main{padding:8px 24px 16px}
h1{margin:0 0 4px;font-size:22px} h2{font-size:18px;margin:20px 0 8px}
.badge{display:inline-block;min-width:4.5em;text-align:center;padding:0 6px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}
.badge.overall{font-size:18px;padding:2px 10px;border-radius:12px;margin-left:8px;vertical-align:middle}
.note{margin:2px 0;font-size:12px} .note.tolerated{border-left:3px solid #b35900;padding-left:6px}
.counts span{display:inline-block;margin:0 12px 4px 0}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eaeef2;position:sticky;top:0}
table.meta{width:auto} table.meta th{position:static;background:#f6f8fa;font-weight:600}
.v{font-weight:700;white-space:nowrap}
ol.causes{margin:0;padding:0;list-style:none}
li.cause{background:#fff;border:1px solid #d0d7de;border-left-width:6px;padding:6px 10px;margin:0 0 6px}
li.cause .text{margin:2px 0}
li.cause .first{font-family:monospace;font-size:12px;word-break:break-word}
.tag{display:inline-block;margin:0 6px 2px 0;font-size:12px;word-break:break-word}
#matrix td:nth-child(5){min-width:16em;max-width:30em}
#matrix td:nth-child(6){min-width:18em}
#matrix td:nth-child(7){min-width:9em;max-width:22em}
.v .reason{white-space:normal;word-break:break-word}
.reason,.muted{color:#57606a;font-size:12px;font-weight:normal}
td.id{white-space:nowrap}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;border:1px solid #d0d7de;padding:6px;margin:4px 0;max-height:30em;overflow:auto;font-size:12px}
.filters{background:#fff;border:1px solid #d0d7de;padding:8px;margin-bottom:8px}
.filters label{margin-right:10px;white-space:nowrap}
.hidden{display:none}
code{font-size:12px;word-break:break-word}
details.error summary{color:#cf222e;font-family:monospace}
"""

_JS = """
(function(){
  function q(s){return Array.prototype.slice.call(document.querySelectorAll(s));}
  function apply(){
    var verdicts=q('input.fv:checked').map(function(e){return e.value;});
    var level=document.getElementById('f-level').value, area=document.getElementById('f-area').value,
        role=document.getElementById('f-role').value, text=document.getElementById('f-text').value.toLowerCase();
    var shown=0;
    q('tr.req').forEach(function(r){
      var ok=verdicts.indexOf(r.getAttribute('data-verdict'))>=0 &&
        (!level||r.getAttribute('data-level')===level) && (!area||r.getAttribute('data-area')===area) &&
        (!role||r.getAttribute('data-role')===role) && (!text||r.textContent.toLowerCase().indexOf(text)>=0);
      r.classList.toggle('hidden',!ok); if(ok){shown++;}
    });
    document.getElementById('f-count').textContent=shown+' shown';
  }
  q('.filters input,.filters select').forEach(function(e){e.addEventListener('input',apply);e.addEventListener('change',apply);});
  var tv=document.getElementById('t-verdict');
  if(tv){tv.addEventListener('change',function(){
    q('tr.test').forEach(function(r){r.classList.toggle('hidden',!!tv.value&&r.getAttribute('data-verdict')!==tv.value);});
  });}
  apply();
})();
"""

#: Each verdict's colour (text, badge) and, for those a reader must look
#: at, the tint of its rows. WARN amber, INFO blue, BLOCKED purple-grey,
#: so none is mistaken for a FAIL at a glance.
_COLOURS = {"FAIL": "#cf222e", "XPASS": "#bf3989", "WARN": "#b35900", "INFO": "#0969da",
            "BLOCKED": "#6e5494", "PASS": "#1a7f37", "XFAIL": "#9a6700", "WAIVED": "#9a6700",
            "SKIP": "#8c959f", "UNTESTED": "#6e7781", "UNTESTABLE": "#57606a", "N/A": "#57606a"}
_TINTS = {"FAIL": "#ffebe9", "XPASS": "#ffeff7", "WARN": "#fff1e0", "INFO": "#ddf4ff", "BLOCKED": "#f2eef8"}


def _verdict_css() -> str:
    rules = []
    for v, colour in _COLOURS.items():
        sel = f'[data-verdict="{v}"]'
        rules.append(f".v{sel},.tag{sel}{{color:{colour}}} .badge{sel}{{background:{colour}}} "
                     f"li.cause{sel}{{border-left-color:{colour}}}")
    rules += [f'tr.req[data-verdict="{v}"],tr.test[data-verdict="{v}"]{{background:{tint}}}'
              for v, tint in _TINTS.items()]
    return "\n".join(rules) + "\n"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _short(nodeid: str) -> str:
    return nodeid.rsplit("/", 1)[-1]


def _tag(t: TestResult) -> str:
    return (f'<a class="tag" href="#t-{_e(t.nodeid)}" data-test="{_e(t.nodeid)}" '
            f'data-verdict="{_e(t.verdict)}" title="{_e(t.message)}">{_e(_short(t.nodeid))} '
            f'<b>{_e(t.verdict)}</b></a>')


def _req_link(rid: str) -> str:
    return f'<a href="#req-{_e(rid)}">{_e(rid)}</a>'


def _blocker(rid: str | None) -> str:
    # a BLOCKED result from elsewhere may not name the requirement
    return _req_link(rid) if rid else "an unnamed deviation"


def _test_link(nodeid: str) -> str:
    return f'<a href="#t-{_e(nodeid)}"><code>{_e(nodeid)}</code></a>'


def _transcript(t: TestResult) -> str:
    if not t.transcript:
        return '<span class="muted">no transcript recorded</span>'
    steps = "" if t.transcript_steps is None else f" ({t.transcript_steps} steps)"
    return f"transcript <code>{_e(t.transcript)}</code>{steps}"


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def _cause(c: RootCause, known: set[str]) -> str:
    """One root cause: what broke, how often, and where to start looking."""
    ex = c.example
    # an unattributed failure has no catalogue row to link to
    name = _req_link(c.req) if c.req in known else _e(c.req)
    others = ""
    if len(c.tests) > 1:
        others = (f"<details><summary>all {len(c.tests)} tests</summary>"
                  + "".join(_tag(t) for t in c.tests) + "</details>")
    text = f'<div class="text">{_e(c.text)}</div>' if c.text else ""
    first = f'<div class="first">{_e(_first_line(ex.message))}</div>' if ex.message else ""
    crash = f' data-crash="{_e(c.crash)}"' if c.crash else ""
    return (f'<li class="cause" data-req="{_e(c.req)}" data-verdict="{_e(c.verdict)}" data-tests="{len(c.tests)}"{crash}>'
            f'<span class="badge" data-verdict="{_e(c.verdict)}">{_e(c.verdict)}</span> <b>{name}</b> '
            f'{_e(c.level)} <span class="muted">&middot; {len(c.tests)} test(s)</span>{text}'
            f'<div class="example">e.g. {_test_link(ex.nodeid)}; {_transcript(ex)}</div>{first}{others}</li>')


def _root_causes(run: RunResult) -> str:
    causes = run.root_causes()
    # collection errors fail the run too, though no device requirement broke
    errors = (f'<p class="note">and {len(run.errors)} <a href="#errors">collection error(s)</a> '
              f'of the suite, which fail the run</p>' if run.errors else "")
    if not causes:
        return ('<section id="root-causes"><h2>Root causes</h2>'
                f'<p id="no-causes">No test of this run shows a requirement broken.</p>{errors}</section>')
    split = ", ".join(f"{v} {n}" for v, n in Counter(c.verdict for c in causes).items())
    known = {r.id for r in run.requirements}
    # a crash groups its tests under the sanitizer's name, not a requirement
    what = "distinct broken requirement(s)" + (" or crash(es)" if any(c.crash for c in causes) else "")
    return (f'<section id="root-causes"><h2>Root causes: {len(causes)} {what} '
            f'<span class="muted">({_e(split)}; most serious first)</span></h2>'
            f'<ol class="causes">{"".join(_cause(c, known) for c in causes)}</ol>{errors}</section>')


def _blocked_and_tolerated(run: RunResult) -> str:
    """Which deviations stopped tests, and which the driver stack let pass."""
    out = ""
    blocked = Counter(t.blocked_by for t in run.tests if t.verdict == "BLOCKED")
    if blocked:
        out += '<div class="counts" id="blocked-by">Blocked by: ' + ", ".join(
            f"{_blocker(r)} ({n})" for r, n in blocked.most_common()) + "</div>"
    tolerated = sorted({d.split(":", 1)[0] for t in run.tests for d in t.tolerated})
    if tolerated:
        out += ('<div class="counts" id="tolerated">Tolerated by the driver stack (tests went on): '
                + ", ".join(_req_link(r) for r in tolerated) + "</div>")
    return out


def _meta_rows(run: RunResult) -> str:
    m = run.metadata
    target = m.get("target") or {}
    spec = m.get("spec") or {}
    hyp = m.get("hypothesis") or {}
    target_text = ", ".join(f"{k}={v}" for k, v in target.items() if k != "name") or ""
    seed = hyp.get("seed")
    rows = [
        ("Target", f"<b>{_e(target.get('name', '?'))}</b> <span class=muted>{_e(target_text)}</span>"),
        ("Profile", _e(m.get("profile", "")) + (f" <span class=muted>(auto: {_e(m['profile_detection'])})</span>"
                                                if m.get("profile_detection") else "")),
        ("Faults", _e(", ".join(m.get("faults") or []) or "none")),
        ("Strict (SHOULD/MAY checks)", _e("yes" if m.get("strict") else "no")),
        ("Suite version", _e(m.get("suite_version", ""))),
        ("Spec draft", _e(f"{spec.get('draft') or '?'} @ {spec.get('commit') or '?'}")),
        ("Hypothesis", _e(f"seed {seed} ({hyp.get('seed_source', '')}); "
                          f"derandomize {'on' if hyp.get('derandomize') else 'off'}; "
                          f"reproduce: {hyp.get('reproduce', '')}") if hyp.get("available") else "not used"),
        ("Started", _e(m.get("start_time", ""))),
        ("Duration", _e(f"{float(m.get('duration', 0.0)):.2f} s")),
        ("Python / platform", _e(f"{m.get('python', '')} / {m.get('platform', '')}")),
    ]
    return "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)


def _options(values: list[str]) -> str:
    return '<option value="">all</option>' + "".join(
        f'<option value="{_e(v)}">{_e(v)}</option>' for v in sorted(set(values)) if v)


def _req_row(rv: RequirementVerdict) -> str:
    r = rv.row
    tests = "".join(_tag(t) for t in rv.tests) or '<span class="muted">none</span>'
    extra = ""
    # only the tests whose failure is about this requirement: the others
    # cite it too but broke something else first
    failing = [t for t in rv.tests if t.verdict == "XPASS" or (t.verdict in GRADES and r.id in t.broken)]
    if failing:
        extra = '<details open><summary>findings</summary>' + "".join(
            f"<div><code>{_e(t.nodeid)}</code> <b>{_e(t.verdict)}</b><pre>{_e(t.message)}</pre></div>"
            for t in failing) + "</details>"
    reason = f'<div class="reason">{_e(rv.reason)}</div>' if rv.reason else ""
    inf = ' <span class="muted">(informative)</span>' if r.informative else ""
    return (f'<tr class="req" id="req-{_e(r.id)}" data-req="{_e(r.id)}" data-verdict="{_e(rv.verdict)}" '
            f'data-level="{_e(r.level)}" data-area="{_e(r.area)}" data-role="{_e(r.role)}">'
            f'<td class="id"><b>{_e(r.id)}</b></td><td>{_e(r.level)}</td><td>{_e(r.role)}</td><td>{_e(r.area)}</td>'
            f'<td>{_e(r.text)}{inf}</td><td>{tests}{extra}</td>'
            f'<td class="v" data-req="{_e(r.id)}" data-verdict="{_e(rv.verdict)}">{_e(rv.verdict)}{reason}</td></tr>')


def _test_row(t: TestResult) -> str:
    reqs = " ".join(_req_link(i) for i in t.reqs) or '<span class="muted">uncited</span>'
    body = f"<div>{_e(t.message)}</div>" if t.message else ""
    if t.crash:
        body += f'<div class="note crash">the target crashed: <code>{_e(t.crash)}</code></div>'
    if t.broken:
        body += f'<div class="note">breaks {", ".join(_req_link(i) for i in t.broken)}</div>'
    if t.verdict == "BLOCKED":
        by = (f"reported by {_test_link(t.blocked_by_test)}" if t.blocked_by_test
              else "which no test of this run reports")
        body += f'<div class="note blocked">blocked by {_blocker(t.blocked_by)}, {by}</div>'
    if t.transcript:
        body += f'<div class="note">{_transcript(t)}</div>'
    if t.tolerated:
        body += ('<div class="note tolerated">tolerated by the driver stack (the test went on): <ul>'
                 + "".join(f"<li>{_e(d)}</li>" for d in t.tolerated) + "</ul></div>")
    if t.waiver:
        body += f'<div class="reason">waiver (expires {_e(t.waiver_expires)}): {_e(t.waiver)}</div>'
    bad = t.verdict in ("FAIL", "XPASS")
    if t.details:
        body += f'<details{" open" if bad else ""}><summary>details</summary><pre>{_e(t.details)}</pre></details>'
    if t.output:
        body += f"<details><summary>captured output</summary><pre>{_e(t.output)}</pre></details>"
    crash = f' data-crash="{_e(t.crash)}"' if t.crash else ""
    return (f'<tr class="test" id="t-{_e(t.nodeid)}" data-test="{_e(t.nodeid)}" data-verdict="{_e(t.verdict)}"'
            f' data-tolerated="{len(t.tolerated)}"{crash}>'
            f"<td><code>{_e(t.nodeid)}</code></td><td>{reqs}</td>"
            f'<td class="v" data-verdict="{_e(t.verdict)}">{_e(t.verdict)}</td>'
            f"<td>{t.duration:.3f}s</td><td>{body}</td></tr>")


def _target_error_page(run: RunResult, error: dict) -> str:
    """The report of a run whose target could not be opened: the one error
    and the run details, no verdicts (no test ran)."""
    target = (run.metadata.get("target") or {}).get("name", "?")
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(error.get(k, ''))}</td></tr>" for k in ("asked", "answered", "hint"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vmsg-conform: ERROR on {_e(target)}</title>
<style>{_CSS}{_verdict_css()}</style></head>
<body>
<header>
<h1>virtio-msg conformance report <span class="badge overall" id="overall" data-verdict="ERROR">ERROR</span></h1>
<div class="muted" id="subject">target <b>{_e(target)}</b> could not be opened: no test ran, there are no verdicts</div>
</header>
<main>
<section id="target-error"><h2>The target could not be opened</h2>
<table class="meta">{rows}</table></section>
<h2>Run</h2>
<table class="meta" id="metadata">{_meta_rows(run)}</table>
</main>
</body></html>
"""


def render(run: RunResult) -> str:
    target_error = run.metadata.get("target_error")
    if target_error:
        return _target_error_page(run, target_error)
    """The whole report as one HTML document."""
    counts = run.counts()
    matrix = run.requirement_verdicts()
    req_counts = {v: 0 for v in REQ_VERDICTS}
    for rv in matrix:
        req_counts[rv.verdict] = req_counts.get(rv.verdict, 0) + 1
    overall = "FAIL" if run.failed() else "PASS"
    test_counts = "".join(
        f'<span class="v" data-verdict="{v}">{v} {counts[v]}</span>' for v in TEST_VERDICTS)
    req_summary = "".join(
        f'<span class="v" data-verdict="{_e(v)}">{_e(v)} {n}</span>' for v, n in req_counts.items())
    verdict_boxes = "".join(
        f'<label><input type="checkbox" class="fv" value="{_e(v)}" checked> {_e(v)} ({req_counts[v]})</label>'
        for v in REQ_VERDICTS)
    problems = ""
    if run.errors:
        problems += f"<h2 id=\"errors\">Collection errors ({len(run.errors)})</h2>" + "".join(
            f'<details class="error"><summary>{_e((e.splitlines() or [""])[0])}</summary><pre>{_e(e)}</pre></details>'
            for e in run.errors)
    if run.warnings:
        problems += "<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in run.warnings) + "</ul>"
    uncited = ""
    if run.uncited:
        uncited = (f"<h2>Tests citing no requirement ({len(run.uncited)})</h2><ul>"
                   + "".join(f"<li><code>{_e(n)}</code></li>" for n in run.uncited) + "</ul>")
    target = (run.metadata.get("target") or {}).get("name", "?")
    fail_on = run.metadata.get("fail_on") or "fail"
    counted = ", ".join((*FAIL_ON.get(fail_on, FAIL_ON["fail"]), "XPASS", "collection errors"))
    test_filter = '<option value="">all</option>' + "".join(
        f'<option value="{v}">{v} ({counts[v]})</option>' for v in TEST_VERDICTS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vmsg-conform: {_e(overall)} on {_e(target)}</title>
<style>{_CSS}{_verdict_css()}</style></head>
<body>
<header>
<h1>virtio-msg conformance report <span class="badge overall" id="overall" data-verdict="{overall}">{overall}</span></h1>
<div class="muted" id="subject">target <b>{_e(target)}</b>, profile {_e(run.metadata.get("profile", "") or "?")},
{len(run.tests)} tests; the run fails on: <span id="fail-on" data-fail-on="{_e(fail_on)}">{_e(counted)}</span></div>
</header>
<main>
{_root_causes(run)}
<section id="verdicts"><h2>Verdicts</h2>
<div class="counts" id="test-counts">Tests: {test_counts}</div>
<div class="counts" id="req-counts">Requirements: {req_summary}</div>
{_blocked_and_tolerated(run)}
</section>
<h2>Run</h2>
<table class="meta" id="metadata">{_meta_rows(run)}</table>
{problems}
<h2>Requirement matrix ({len(matrix)} requirements)</h2>
<div class="filters" id="filters">
{verdict_boxes}<br>
<label>Level <select id="f-level">{_options([rv.row.level for rv in matrix])}</select></label>
<label>Area <select id="f-area">{_options([rv.row.area for rv in matrix])}</select></label>
<label>Role <select id="f-role">{_options([rv.row.role for rv in matrix])}</select></label>
<label>Search <input type="search" id="f-text" placeholder="ID or words"></label>
<span class="muted" id="f-count"></span>
</div>
<table id="matrix"><thead><tr><th>ID</th><th>Level</th><th>Role</th><th>Area</th><th>Requirement</th>
<th>Tests</th><th>Verdict</th></tr></thead>
<tbody>
{"".join(_req_row(rv) for rv in matrix)}
</tbody></table>
<h2>Tests ({len(run.tests)})</h2>
<div class="filters"><label>Verdict <select id="t-verdict">{test_filter}</select></label></div>
<table id="tests"><thead><tr><th>Test</th><th>Requirements</th><th>Verdict</th><th>Time</th><th>Message</th></tr></thead>
<tbody>
{"".join(_test_row(t) for t in run.tests)}
</tbody></table>
{uncited}
</main>
<script>{_JS}</script>
</body></html>
"""


def write(run: RunResult, path: str | Path) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render(run), encoding="utf-8")

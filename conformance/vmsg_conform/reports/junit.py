"""JUnit XML in the common form CI systems read (Jenkins, GitLab, ...):
testsuites > testsuite > testcase, with properties carrying the cited
requirement IDs and, where present, the broken / blocking requirement and
tolerated deviations. FAIL and XPASS are <failure>s; WARN, INFO, BLOCKED,
XFAIL and SKIP are <skipped>; the verdict is each element's ``type`` and
heads its message. Validates against conformance/selftest/junit.xsd (whose
``skipped`` takes ``type``, as the Jenkins xunit junit-10.xsd does)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ..results import RunResult, TestResult

SUITE_NAME = "vmsg-conform"
# XML 1.0 cannot carry most control characters, even escaped
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: object) -> str:
    return _BAD_XML.sub("\ufffd", str(text))


def _split(nodeid: str) -> tuple[str, str]:
    """(classname, name): the file path and classes dotted, then the test name."""
    parts = nodeid.split("::")
    path = parts[0]
    if path.endswith(".py"):
        path = path[:-3]
    classname = ".".join([path.replace("/", ".")] + parts[1:-1])
    return classname, parts[-1] if len(parts) > 1 else nodeid


def _meta_properties(run: RunResult) -> list[tuple[str, str]]:
    m = run.metadata
    target = m.get("target") or {}
    hyp = m.get("hypothesis") or {}
    spec = m.get("spec") or {}
    props = [
        ("suite_version", m.get("suite_version", "")),
        ("spec_draft", spec.get("draft") or ""),
        ("spec_commit", spec.get("commit") or ""),
        ("profile", m.get("profile", "")),
        ("target", target.get("name", "")),
        ("faults", ",".join(m.get("faults") or [])),
        ("strict", str(m.get("strict", False)).lower()),
        ("hypothesis_seed", "" if hyp.get("seed") is None else str(hyp.get("seed"))),
        ("hypothesis_derandomize", str(hyp.get("derandomize", False)).lower()),
        ("start_time", m.get("start_time", "")),
        ("python", m.get("python", "")),
        ("platform", m.get("platform", "")),
    ]
    for key, value in sorted(target.items()):
        if key != "name" and isinstance(value, (str, int, float, bool)):
            props.append((f"target.{key}", str(value)))
    return props


#: The JUnit element each verdict becomes. Only FAIL and XPASS are
#: <failure>: CI systems count any <failure> as a broken build, and WARN,
#: INFO and BLOCKED must not break it unless the run's --fail-on says so
#: (the exit status carries that decision, not this file).
OUTCOME = {"FAIL": "failure", "XPASS": "failure", "WARN": "skipped", "INFO": "skipped",
           "BLOCKED": "skipped", "XFAIL": "skipped", "SKIP": "skipped", "PASS": None}


def _headline(t: TestResult) -> str:
    """The outcome's message: the verdict first, so a CI page that shows
    only the message still tells a WARN from a plain skip."""
    if t.verdict == "BLOCKED":
        by = f"reported by {t.blocked_by_test}" if t.blocked_by_test else "reported by no test of this run"
        head = f"BLOCKED: blocked by {t.blocked_by or '?'} ({by})"
    elif t.verdict == "XFAIL":
        head = "XFAIL: waived/expected failure"
    elif t.verdict == "XPASS":
        head = "XPASS"
    elif t.verdict == "SKIP":
        return t.message  # a plain skip says why in its own words
    else:  # FAIL, WARN, INFO name what broke
        head = f"{t.verdict}: {', '.join(t.broken)} broken" if t.broken else t.verdict
    return f"{head}: {t.message}" if t.message else head


def _testcase(parent: ET.Element, t: TestResult) -> None:
    classname, name = _split(t.nodeid)
    tc = ET.SubElement(parent, "testcase", classname=_clean(classname), name=_clean(name),
                       time=f"{t.duration:.6f}")
    props = ET.SubElement(tc, "properties")

    def prop(key: str, value: object) -> None:
        ET.SubElement(props, "property", name=key, value=_clean(value))

    for rid in t.reqs:
        prop("requirement", rid)
    prop("verdict", t.verdict)
    # like "requirement": one property per value, so tools need not split
    for rid in t.broken:
        prop("broken", rid)
    if t.blocked_by:
        prop("blocked_by", t.blocked_by)
    if t.blocked_by_test:
        prop("blocked_by_test", t.blocked_by_test)
    for deviation in t.tolerated:
        prop("tolerated", deviation)
    if t.transcript:
        prop("transcript", t.transcript if t.transcript_steps is None
             else f"{t.transcript} ({t.transcript_steps} steps)")
    if t.waiver:
        prop("waiver", f"{t.waiver} (expires {t.waiver_expires})")
    if not t.reqs:
        prop("uncited", "true")
    kind = OUTCOME.get(t.verdict, "failure")  # an unknown verdict must not pass unnoticed
    if kind is not None:
        el = ET.SubElement(tc, kind, message=_clean(_headline(t)), type=t.verdict)
        if kind == "failure" or t.details:
            el.text = _clean(t.details or t.message)
    if t.output:
        ET.SubElement(tc, "system-out").text = _clean(t.output)


def to_xml(run: RunResult) -> str:
    """The JUnit document as a string."""
    kinds = [OUTCOME.get(t.verdict, "failure") for t in run.tests]
    time_s = f"{float(run.metadata.get('duration', 0.0)):.3f}"
    # counted from the same mapping the elements come from, so they agree
    attrs = dict(tests=str(len(run.tests) + len(run.errors)), failures=str(kinds.count("failure")),
                 errors=str(len(run.errors)), skipped=str(kinds.count("skipped")), time=time_s)
    root = ET.Element("testsuites", name=SUITE_NAME, **attrs)
    suite = ET.SubElement(root, "testsuite", name=SUITE_NAME, hostname="localhost",
                          timestamp=_clean(run.metadata.get("start_time", "")[:19]) or "1970-01-01T00:00:00",
                          **attrs)
    props = ET.SubElement(suite, "properties")
    for key, value in _meta_properties(run):
        ET.SubElement(props, "property", name=key, value=_clean(value))
    for t in run.tests:
        _testcase(suite, t)
    for i, err in enumerate(run.errors):
        tc = ET.SubElement(suite, "testcase", classname="collection", name=f"error_{i + 1}", time="0")
        el = ET.SubElement(tc, "error", message=_clean(err.splitlines()[0] if err else "error"),
                           type="collection")
        el.text = _clean(err)
    if run.warnings:
        ET.SubElement(suite, "system-err").text = _clean("\n".join(run.warnings))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(run: RunResult, path: str | Path) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(to_xml(run), encoding="utf-8")

"""JUnit XML in the common form CI systems read (Jenkins, GitLab, ...):
testsuites > testsuite > testcase, with properties carrying the cited
requirement IDs. Validates against conformance/selftest/junit.xsd."""

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


def _testcase(parent: ET.Element, t: TestResult) -> None:
    classname, name = _split(t.nodeid)
    tc = ET.SubElement(parent, "testcase", classname=_clean(classname), name=_clean(name),
                       time=f"{t.duration:.6f}")
    props = ET.SubElement(tc, "properties")
    for rid in t.reqs:
        ET.SubElement(props, "property", name="requirement", value=rid)
    ET.SubElement(props, "property", name="verdict", value=t.verdict)
    if t.waiver:
        ET.SubElement(props, "property", name="waiver", value=_clean(f"{t.waiver} (expires {t.waiver_expires})"))
    if not t.reqs:
        ET.SubElement(props, "property", name="uncited", value="true")
    if t.verdict == "FAIL":
        el = ET.SubElement(tc, "failure", message=_clean(t.message), type="failure")
        el.text = _clean(t.details or t.message)
    elif t.verdict == "XPASS":
        el = ET.SubElement(tc, "failure", message=_clean(t.message), type="xpass")
        el.text = _clean(t.message)
    elif t.verdict == "SKIP":
        ET.SubElement(tc, "skipped", message=_clean(t.message))
    elif t.verdict == "XFAIL":
        ET.SubElement(tc, "skipped", message=_clean(f"waived/expected failure: {t.message}"), type="xfail")
    if t.output:
        ET.SubElement(tc, "system-out").text = _clean(t.output)


def to_xml(run: RunResult) -> str:
    """The JUnit document as a string."""
    counts = run.counts()
    total = len(run.tests) + len(run.errors)
    failures = counts["FAIL"] + counts["XPASS"]
    skipped = counts["SKIP"] + counts["XFAIL"]
    time_s = f"{float(run.metadata.get('duration', 0.0)):.3f}"
    attrs = dict(tests=str(total), failures=str(failures), errors=str(len(run.errors)),
                 skipped=str(skipped), time=time_s)
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

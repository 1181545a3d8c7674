"""Reports: JSON round trip, JUnit against junit.xsd, HTML matrix rows,
and the requirement verdict rule."""

from pathlib import Path

import pytest
from lxml import etree
from lxml import html as lhtml

from vmsg_conform import results as R
from vmsg_conform.reports import html, json_report, junit, write_all

XSD = Path(__file__).with_name("junit.xsd")


def req(rid, **kw):
    return R.RequirementRow(id=rid, level=kw.pop("level", "MUST"), strength=kw.pop("strength", "must"),
                            role="device", area=kw.pop("area", "bus"), text=f"text of {rid}", **kw)


def sample_run() -> R.RunResult:
    T = R.TestResult
    return R.RunResult(
        metadata={"suite_version": "0.1.0", "spec": {"draft": "d", "commit": "c0ffee"}, "profile": "pr28",
                  "target": {"name": "ref", "num_fifos": 2}, "faults": ["no-get-shm-response"],
                  "hypothesis": {"available": True, "seed": 42, "derandomize": False},
                  "start_time": "2030-01-02T03:04:05+00:00", "duration": 1.5, "python": "3.11",
                  "platform": "linux"},
        tests=[
            T("suite/test_a.py::test_pass", ["R-PASS", "R-MIX"], "PASS", 0.01),
            T("suite/test_a.py::TestX::test_fail", ["R-FAIL", "R-MIX"], "FAIL", 0.02,
              message="assert 1 == 2 <&>\x01", details="Traceback\n\x1b[31m assert", output="out\x00put"),
            T("suite/test_a.py::test_waived", ["R-WAIVED"], "XFAIL", 0.0, message="waived: bug",
              waiver="bug", waiver_expires="2030-12-31"),
            T("suite/test_a.py::test_xpass", ["R-XPASS"], "XPASS", 0.0, message="remove the waiver",
              waiver="stale", waiver_expires="2030-12-31"),
            T("suite/test_a.py::test_skip[p1]", ["R-SKIP"], "SKIP", 0.0, message="needs qemu"),
            T("suite/test_b.py::test_uncited", [], "PASS", 0.0),
        ],
        requirements=[req("R-PASS"), req("R-FAIL"), req("R-MIX"), req("R-WAIVED"), req("R-XPASS"),
                      req("R-SKIP"), req("R-UNT", untestable="internal state", level="SHOULD", area="fifo"),
                      req("R-NOTEST"), req("R-NA", profiles=["amp-shmem-2026"], applicable=False),
                      req("R-DESEL", cited_by=["suite/test_c.py::test_x"])],
        uncited=["suite/test_b.py::test_uncited"],
        errors=["suite/test_c.py::test_y: cites unknown requirement ID(s) NOPE-1"],
        warnings=["waiver for 'x' matched no test that ran"],
    )


EXPECTED = {"R-PASS": "PASS", "R-FAIL": "FAIL", "R-MIX": "FAIL", "R-WAIVED": "WAIVED", "R-XPASS": "PASS",
            "R-SKIP": "SKIP", "R-UNT": "UNTESTABLE", "R-NOTEST": "UNTESTED", "R-NA": "N/A",
            "R-DESEL": "UNTESTED"}


def test_requirement_verdict_rule():
    got = {rv.row.id: rv for rv in sample_run().requirement_verdicts()}
    assert {k: v.verdict for k, v in got.items()} == EXPECTED
    assert got["R-UNT"].reason == "untestable: internal state"
    assert got["R-NOTEST"].reason == "no test cites it"
    assert "not selected" in got["R-DESEL"].reason
    assert "amp-shmem-2026" in got["R-NA"].reason
    assert got["R-WAIVED"].reason == "bug"
    assert got["R-SKIP"].reason == "needs qemu"


def test_counts_and_failed():
    run = sample_run()
    assert run.counts() == {"FAIL": 1, "XPASS": 1, "PASS": 2, "XFAIL": 1, "SKIP": 1}
    assert run.failed()
    ok = R.RunResult(tests=[R.TestResult("a::b", ["X"], "PASS"), R.TestResult("a::c", ["X"], "XFAIL")])
    assert not ok.failed()
    ok.errors.append("boom")
    assert ok.failed()


def test_json_round_trip(tmp_path):
    run = sample_run()
    p = tmp_path / "r.json"
    json_report.write(run, p)
    back = json_report.read(p)
    assert back == run
    assert R.to_json(back) == p.read_text().rstrip("\n")
    assert back.tests[2].waived and not back.tests[0].waived


@pytest.mark.parametrize("text, fragment", [
    ("not json", "invalid JSON"),
    ("[]", "not a vmsg-conform results document"),
    ('{"schema": "other"}', "not a vmsg-conform results document"),
    ('{"schema": "vmsg-conform/results/1", "tests": [{"verdict": "PASS"}]}', "tests[0]"),
    ('{"schema": "vmsg-conform/results/1", "tests": [{"nodeid": "a", "verdict": "MAYBE"}]}', "unknown verdict"),
    ('{"schema": "vmsg-conform/results/1", "tests": [5]}', "tests[0]"),
])
def test_json_rejects_other_documents(text, fragment):
    with pytest.raises(R.ResultsError) as info:
        R.from_json(text)
    assert fragment in str(info.value)


def _validate(xml_path):
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.parse(str(xml_path))
    schema.assertValid(doc)
    return doc


def test_junit_validates_and_carries_requirements(tmp_path):
    p = tmp_path / "j.xml"
    junit.write(sample_run(), p)
    doc = _validate(p)
    root = doc.getroot()
    assert root.get("tests") == "7" and root.get("failures") == "2" and root.get("errors") == "1"
    assert root.get("skipped") == "2"
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    fail = cases[("suite.test_a.TestX", "test_fail")]
    assert [p.get("value") for p in fail.iter("property") if p.get("name") == "requirement"] == ["R-FAIL", "R-MIX"]
    assert fail.find("failure").get("message").startswith("assert 1 == 2 <&>")
    assert cases[("suite.test_a", "test_xpass")].find("failure").get("type") == "xpass"
    assert cases[("suite.test_a", "test_skip[p1]")].find("skipped").get("message") == "needs qemu"
    assert cases[("suite.test_a", "test_waived")].find("skipped") is not None
    assert cases[("suite.test_a", "test_pass")].find("failure") is None
    assert cases[("collection", "error_1")].find("error") is not None
    props = {p.get("name"): p.get("value") for p in root.find("testsuite/properties")}
    assert props["hypothesis_seed"] == "42" and props["spec_commit"] == "c0ffee"
    assert props["faults"] == "no-get-shm-response" and props["target.num_fifos"] == "2"


def test_schema_rejects_a_malformed_document(tmp_path):
    """The schema is strict enough to fail: a testcase without a name."""
    p = tmp_path / "bad.xml"
    p.write_text('<testsuites><testsuite name="s" tests="1" failures="0" errors="0">'
                 '<testcase classname="c" time="0"/></testsuite></testsuites>')
    with pytest.raises(etree.DocumentInvalid):
        _validate(p)


def test_html_has_a_row_per_requirement_with_its_verdict(tmp_path):
    run = sample_run()
    p = tmp_path / "r.html"
    html.write(run, p)
    text = p.read_text()
    assert "http://" not in text and "https://" not in text  # offline: nothing fetched
    doc = lhtml.fromstring(text)
    rows = doc.xpath('//table[@id="matrix"]//tr[@data-req]')
    assert len(rows) == len(run.requirements)
    assert {r.get("data-req"): r.get("data-verdict") for r in rows} == EXPECTED
    cells = {c.get("data-req"): c.get("data-verdict") for c in doc.xpath('//td[@data-req]')}
    assert cells == EXPECTED
    fail_row = doc.xpath('//tr[@data-req="R-FAIL"]')[0]
    assert fail_row.xpath('.//details[@open]') and "assert 1 == 2 <&>" in fail_row.text_content()
    assert "internal state" in doc.xpath('//tr[@data-req="R-UNT"]')[0].text_content()
    tests = doc.xpath('//table[@id="tests"]//tr[@data-test]')
    assert [t.get("data-verdict") for t in tests] == [t.verdict for t in run.tests]
    assert doc.get_element_by_id("overall").get("data-verdict") == "FAIL"
    meta = doc.get_element_by_id("metadata").text_content()
    for needle in ("ref", "pr28", "no-get-shm-response", "0.1.0", "c0ffee", "seed 42"):
        assert needle in meta


def test_write_all_and_rebuild_from_json_alone(tmp_path):
    run = sample_run()
    paths = write_all(run, tmp_path / "a")
    back = json_report.read(paths["json"])
    write_all(back, tmp_path / "b")
    for name in ("junit.xml", "report.html", "report.json"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    _validate(paths["junit"])

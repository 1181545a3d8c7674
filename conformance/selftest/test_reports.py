"""Reports: JSON round trip, JUnit against junit.xsd, HTML root causes and
matrix rows, and the run-level rules behind them (requirement verdicts,
root causes, the exit decision, linking BLOCKED tests)."""

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
              message="assert 1 == 2 <&>\x01", details="Traceback\n\x1b[31m assert", output="out\x00put",
              broken=["R-FAIL"], transcript="tr/test_fail.json", transcript_steps=12),
            T("suite/test_a.py::test_waived", ["R-WAIVED"], "XFAIL", 0.0, message="waived: bug",
              waiver="bug", waiver_expires="2030-12-31"),
            T("suite/test_a.py::test_xpass", ["R-XPASS"], "XPASS", 0.0, message="remove the waiver",
              waiver="stale", waiver_expires="2030-12-31"),
            T("suite/test_a.py::test_skip[p1]", ["R-SKIP"], "SKIP", 0.0, message="needs qemu"),
            T("suite/test_b.py::test_uncited", [], "PASS", 0.0),
            # the graded verdicts: a second, shorter witness of R-FAIL (the
            # example root-cause test), a SHOULD and a MAY broken, and a test
            # whose setup stopped at R-FAIL
            T("suite/test_b.py::test_fail_short", ["R-FAIL"], "FAIL", 0.05, message="R-FAIL: answered twice",
              broken=["R-FAIL"], transcript="tr/test_fail_short.json", transcript_steps=3),
            T("suite/test_b.py::test_warn", ["R-WARN"], "WARN", 0.01, message="R-WARN: late ack",
              broken=["R-WARN"], tolerated=["R-NOTEST: config read padded"]),
            T("suite/test_b.py::test_info", ["R-INFO"], "INFO", 0.01, message="R-INFO: feature absent",
              broken=["R-INFO"]),
            T("suite/test_b.py::test_blocked", ["R-BLK"], "BLOCKED", 0.01, message="R-FAIL: reset refused",
              blocked_by="R-FAIL", blocked_by_test="suite/test_a.py::TestX::test_fail"),
        ],
        requirements=[req("R-PASS"), req("R-FAIL"), req("R-MIX"), req("R-WAIVED"), req("R-XPASS"),
                      req("R-SKIP"), req("R-UNT", untestable="internal state", level="SHOULD", area="fifo"),
                      req("R-NOTEST"), req("R-NA", profiles=["amp-shmem-2026"], applicable=False),
                      req("R-DESEL", cited_by=["suite/test_c.py::test_x"]),
                      req("R-WARN", level="SHOULD", strength="should"), req("R-INFO", level="MAY", strength="may"),
                      req("R-BLK")],
        uncited=["suite/test_b.py::test_uncited"],
        errors=["suite/test_c.py::test_y: cites unknown requirement ID(s) NOPE-1"],
        warnings=["waiver for 'x' matched no test that ran"],
    )


# R-MIX passes: the failing test citing it broke R-FAIL, not R-MIX.
EXPECTED = {"R-PASS": "PASS", "R-FAIL": "FAIL", "R-MIX": "PASS", "R-WAIVED": "WAIVED", "R-XPASS": "PASS",
            "R-SKIP": "SKIP", "R-UNT": "UNTESTABLE", "R-NOTEST": "UNTESTED", "R-NA": "N/A",
            "R-DESEL": "UNTESTED", "R-WARN": "WARN", "R-INFO": "INFO", "R-BLK": "BLOCKED"}


def test_requirement_verdict_rule():
    got = {rv.row.id: rv for rv in sample_run().requirement_verdicts()}
    assert {k: v.verdict for k, v in got.items()} == EXPECTED
    assert got["R-UNT"].reason == "untestable: internal state"
    assert got["R-NOTEST"].reason == "no test cites it"
    assert "not selected" in got["R-DESEL"].reason
    assert "amp-shmem-2026" in got["R-NA"].reason
    assert got["R-WAIVED"].reason == "bug"
    assert got["R-SKIP"].reason == "needs qemu"
    assert got["R-BLK"].reason == "not reached: the citing tests stopped at R-FAIL"


def test_a_failure_counts_against_what_it_broke():
    T = R.TestResult
    rows = [req("A"), req("B"), req("C")]
    run = R.RunResult(requirements=rows, tests=[
        T("t::1", ["A", "B"], "WARN", broken=["A"]),
        T("t::2", ["A"], "FAIL", broken=["A"]),
        T("t::3", ["B", "C"], "INFO", broken=["C"]),
        T("t::4", ["C"], "PASS"),
    ])
    got = {rv.row.id: (rv.verdict, rv.reason) for rv in run.requirement_verdicts()}
    # the most serious finding wins; a graded finding outranks a PASS; a
    # requirement no test reached names what stopped its tests
    assert got == {"A": ("FAIL", ""), "B": ("BLOCKED", "not reached: the citing tests stopped at A, C"),
                   "C": ("INFO", "")}


def test_counts_and_failed():
    run = sample_run()
    assert run.counts() == {"FAIL": 2, "XPASS": 1, "WARN": 1, "INFO": 1, "BLOCKED": 1, "PASS": 2, "XFAIL": 1,
                            "SKIP": 1}
    assert list(run.counts()) == list(R.TEST_VERDICTS)
    assert run.failed()
    ok = R.RunResult(tests=[R.TestResult("a::b", ["X"], "PASS"), R.TestResult("a::c", ["X"], "XFAIL")])
    assert not ok.failed()
    ok.errors.append("boom")
    assert ok.failed()


def _only(verdict, **meta):
    return R.RunResult(metadata=meta, tests=[R.TestResult("a::ok", ["X"], "PASS"),
                                             R.TestResult("a::t", ["X"], verdict, broken=["X"])])


@pytest.mark.parametrize("verdict, fails_on", [
    ("FAIL", {"fail", "warn", "info"}),
    ("XPASS", {"fail", "warn", "info"}),
    ("WARN", {"warn", "info"}),
    ("INFO", {"info"}),
    ("BLOCKED", {"info"}),
    ("PASS", set()), ("XFAIL", set()), ("SKIP", set()),
])
def test_failed_respects_fail_on(verdict, fails_on):
    run = _only(verdict)
    assert {f for f in ("fail", "warn", "info") if run.failed(f)} == fails_on
    # without an argument the run's own --fail-on decides, "fail" if unset
    assert run.failed() == ("fail" in fails_on)
    for level in ("fail", "warn", "info"):
        assert _only(verdict, fail_on=level).failed() == (level in fails_on)
    assert _only(verdict, fail_on="warn").failed("fail") == ("fail" in fails_on)  # the argument wins
    assert run.failed("no-such-level") == ("fail" in fails_on)


def test_collection_errors_fail_whatever_fail_on():
    run = R.RunResult(tests=[R.TestResult("a::b", ["X"], "PASS")], errors=["boom"])
    assert all(run.failed(level) for level in ("fail", "warn", "info"))


def _cause_run():
    T = R.TestResult
    return R.RunResult(
        requirements=[req("R-A"), req("R-B"), req("R-C", level="SHOULD", strength="should"),
                      req("R-D", level="MAY", strength="may"), req("R-E", level="SHOULD", strength="should")],
        tests=[
            T("t::d1", ["R-D"], "INFO", broken=["R-D"]),
            T("t::e1", ["R-E"], "WARN", broken=["R-E"]),
            T("t::c1", ["R-C"], "WARN", 0.3, broken=["R-C"]),
            T("t::c2", ["R-C"], "WARN", 0.1, broken=["R-C"]),
            T("t::c3", ["R-C"], "WARN", 0.2, broken=["R-C"], transcript="c3.json", transcript_steps=40),
            T("t::a1", ["R-A"], "FAIL", broken=["R-A"]),
            T("t::b1", ["R-B"], "FAIL", broken=["R-B"], transcript="b1.json", transcript_steps=9),
            T("t::b2", ["R-B"], "FAIL", broken=["R-B"], transcript="b2.json", transcript_steps=4),
            T("t::setup", ["R-A"], "FAIL", message="error in setup: target died\nmore"),
            T("t::blk", ["R-A"], "BLOCKED", blocked_by="R-B"),
            T("t::ok", ["R-A"], "PASS"), T("t::x", ["R-A"], "XPASS"), T("t::s", ["R-A"], "SKIP"),
        ])


def test_root_causes_most_serious_first():
    causes = _cause_run().root_causes()
    # FAIL before WARN before INFO; within a verdict, more tests first, then by ID
    assert [(c.verdict, c.req, len(c.tests)) for c in causes] == [
        ("FAIL", "R-B", 2), ("FAIL", "(unattributed) error in setup: target died", 1), ("FAIL", "R-A", 1),
        ("WARN", "R-C", 3), ("WARN", "R-E", 1), ("INFO", "R-D", 1)]
    b, c = causes[0], causes[3]
    assert (b.level, b.text) == ("MUST", "text of R-B")
    # shortest transcript first; tests without one after, by node id
    assert [t.nodeid for t in b.tests] == ["t::b2", "t::b1"] and b.example.nodeid == "t::b2"
    assert [t.nodeid for t in c.tests] == ["t::c3", "t::c1", "t::c2"]  # not by duration: stable across runs
    assert causes[1].level == "" and causes[1].text == ""  # no catalogue row behind it
    assert R.RunResult().root_causes() == []


def test_link_blocked_names_the_first_reporting_test():
    T = R.TestResult
    run = R.RunResult(tests=[
        T("t::blk", ["A"], "BLOCKED", blocked_by="X"),
        T("t::pass", ["X"], "PASS"),
        T("t::warn", ["X"], "WARN", broken=["X"]),
        T("t::fail", ["X"], "FAIL", broken=["X"]),
        T("t::orphan", ["B"], "BLOCKED", blocked_by="Y"),
        T("t::also-blocked", ["Y"], "BLOCKED", blocked_by="Y"),  # a block reports nothing
        T("t::unknown", ["C"], "BLOCKED"),  # no blocking requirement named: nothing to link
    ])
    problems = run.link_blocked()
    by = {t.nodeid: t.blocked_by_test for t in run.tests}
    assert by["t::blk"] == "t::warn"  # the first in run order, whatever its verdict
    assert by["t::orphan"] is None and by["t::also-blocked"] is None and by["t::unknown"] is None
    assert problems == ["t::orphan is BLOCKED by Y, which no test of this run reports",
                        "t::also-blocked is BLOCKED by Y, which no test of this run reports"]
    assert run.link_blocked() == problems  # idempotent


def test_json_round_trip(tmp_path):
    run = sample_run()
    p = tmp_path / "r.json"
    json_report.write(run, p)
    back = json_report.read(p)
    assert back == run
    assert R.to_json(back) == p.read_text().rstrip("\n")
    assert back.tests[2].waived and not back.tests[0].waived
    by = {t.nodeid.rsplit("::", 1)[-1]: t for t in back.tests}
    assert by["test_fail"].broken == ["R-FAIL"] and by["test_fail"].transcript_steps == 12
    assert (by["test_blocked"].blocked_by, by["test_blocked"].blocked_by_test) == (
        "R-FAIL", "suite/test_a.py::TestX::test_fail")
    assert by["test_warn"].tolerated == ["R-NOTEST: config read padded"]


def test_json_carries_the_root_causes():
    data = R.to_dict(sample_run())
    assert [(c["verdict"], c["req"], c["tests"]) for c in data["root_causes"]] == [
        ("FAIL", "R-FAIL", 2), ("WARN", "R-WARN", 1), ("INFO", "R-INFO", 1)]
    first = data["root_causes"][0]
    assert first["example"] == "suite/test_b.py::test_fail_short"
    assert (first["transcript"], first["transcript_steps"]) == ("tr/test_fail_short.json", 3)
    assert first["message"] == "R-FAIL: answered twice" and first["text"] == "text of R-FAIL"
    assert data["requirement_verdicts"]["R-BLK"]["verdict"] == "BLOCKED"


def test_json_without_the_graded_fields_still_loads():
    """A results file from before graded verdicts: the new fields default."""
    old = {"schema": R.SCHEMA, "tests": [{"nodeid": "a::b", "reqs": ["X"], "verdict": "FAIL"}]}
    t = R.from_dict(old).tests[0]
    assert (t.broken, t.blocked_by, t.blocked_by_test, t.tolerated, t.transcript) == ([], None, None, [], None)


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


def _props(case, name):
    return [p.get("value") for p in case.iter("property") if p.get("name") == name]


def test_junit_validates_and_carries_requirements(tmp_path):
    p = tmp_path / "j.xml"
    junit.write(sample_run(), p)
    doc = _validate(p)
    root = doc.getroot()
    assert root.get("tests") == "11" and root.get("failures") == "3" and root.get("errors") == "1"
    assert root.get("skipped") == "5"
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    fail = cases[("suite.test_a.TestX", "test_fail")]
    assert _props(fail, "requirement") == ["R-FAIL", "R-MIX"]
    assert _props(fail, "broken") == ["R-FAIL"]
    assert _props(fail, "transcript") == ["tr/test_fail.json (12 steps)"]
    assert fail.find("failure").get("type") == "FAIL"
    assert fail.find("failure").get("message").startswith("FAIL: R-FAIL broken: assert 1 == 2 <&>")
    assert cases[("suite.test_a", "test_xpass")].find("failure").get("type") == "XPASS"
    skip = cases[("suite.test_a", "test_skip[p1]")].find("skipped")
    assert (skip.get("message"), skip.get("type")) == ("needs qemu", "SKIP")
    assert cases[("suite.test_a", "test_waived")].find("skipped").get("type") == "XFAIL"
    assert cases[("suite.test_a", "test_pass")].find("failure") is None
    assert cases[("suite.test_a", "test_pass")].find("skipped") is None
    assert cases[("collection", "error_1")].find("error") is not None
    props = {p.get("name"): p.get("value") for p in root.find("testsuite/properties")}
    assert props["hypothesis_seed"] == "42" and props["spec_commit"] == "c0ffee"
    assert props["faults"] == "no-get-shm-response" and props["target.num_fifos"] == "2"


def test_junit_grades_do_not_fail_the_build(tmp_path):
    """CI systems count every <failure>: only FAIL and XPASS may be one.
    WARN, INFO and BLOCKED are <skipped>, saying what they are."""
    p = tmp_path / "j.xml"
    junit.write(sample_run(), p)
    cases = {c.get("name"): c for c in _validate(p).getroot().iter("testcase")}
    warn = cases["test_warn"]
    assert warn.find("failure") is None and warn.find("error") is None
    el = warn.find("skipped")
    assert (el.get("type"), el.get("message")) == ("WARN", "WARN: R-WARN broken: R-WARN: late ack")
    assert _props(warn, "broken") == ["R-WARN"] and _props(warn, "verdict") == ["WARN"]
    assert _props(warn, "tolerated") == ["R-NOTEST: config read padded"]
    info = cases["test_info"].find("skipped")
    assert (info.get("type"), info.get("message")) == ("INFO", "INFO: R-INFO broken: R-INFO: feature absent")
    blocked = cases["test_blocked"]
    el = blocked.find("skipped")
    assert el.get("type") == "BLOCKED"
    assert el.get("message") == ("BLOCKED: blocked by R-FAIL (reported by suite/test_a.py::TestX::test_fail): "
                                 "R-FAIL: reset refused")
    assert _props(blocked, "blocked_by") == ["R-FAIL"]
    assert _props(blocked, "blocked_by_test") == ["suite/test_a.py::TestX::test_fail"]
    assert _props(cases["test_pass"], "broken") == [] and _props(cases["test_pass"], "blocked_by") == []


@pytest.mark.parametrize("verdict", R.TEST_VERDICTS)
def test_junit_counters_match_the_elements(tmp_path, verdict):
    run = sample_run()
    run.tests.append(R.TestResult("suite/test_z.py::test_extra", ["R-PASS"], verdict, broken=["R-PASS"]))
    if verdict == "BLOCKED":  # one nobody reports
        run.tests[-1].broken, run.tests[-1].blocked_by = [], "R-NOTEST"
    p = tmp_path / "j.xml"
    junit.write(run, p)
    root = _validate(p).getroot()
    for el in (root, root.find("testsuite")):
        assert int(el.get("tests")) == len(list(root.iter("testcase")))
        assert int(el.get("failures")) == len(list(root.iter("failure")))
        assert int(el.get("skipped")) == len(list(root.iter("skipped")))
        assert int(el.get("errors")) == len(list(root.iter("error")))
    extra = [c for c in root.iter("testcase") if c.get("name") == "test_extra"][0]
    outcome = [e.tag for e in extra if e.tag in ("failure", "skipped", "error")]
    assert outcome == {"FAIL": ["failure"], "XPASS": ["failure"], "PASS": []}.get(verdict, ["skipped"])
    if outcome:
        assert extra.find(outcome[0]).get("type") == verdict
    if verdict == "BLOCKED":
        assert "reported by no test of this run" in extra.find("skipped").get("message")


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


def _html(run):
    return lhtml.fromstring(html.render(run))


def test_html_opens_with_the_root_causes():
    run = sample_run()
    doc = _html(run)
    order = [e.get("id") for e in doc.iter() if e.get("id") in ("overall", "root-causes", "test-counts",
                                                                "req-counts", "metadata", "matrix", "tests")]
    assert order == ["overall", "root-causes", "test-counts", "req-counts", "metadata", "matrix", "tests"]
    causes = doc.xpath('//section[@id="root-causes"]//li[@data-req]')
    assert [(c.get("data-verdict"), c.get("data-req"), c.get("data-tests")) for c in causes] == [
        ("FAIL", "R-FAIL", "2"), ("WARN", "R-WARN", "1"), ("INFO", "R-INFO", "1")]
    first = causes[0]
    assert first.xpath('.//span[@class="badge"]')[0].get("data-verdict") == "FAIL"
    text = first.text_content()
    for needle in ("MUST", "2 test(s)", "text of R-FAIL", "suite/test_b.py::test_fail_short",
                   "tr/test_fail_short.json", "(3 steps)", "R-FAIL: answered twice"):
        assert needle in text
    assert first.xpath('.//a[@href="#req-R-FAIL"]') and first.xpath('.//a[@href="#t-suite/test_b.py::test_fail_short"]')
    assert len(first.xpath('.//details//a[@data-test]')) == 2  # every witness, behind a fold
    assert "no transcript recorded" in causes[1].text_content() and "SHOULD" in causes[1].text_content()


def test_html_without_root_causes_says_so():
    run = R.RunResult(tests=[R.TestResult("a::b", ["X"], "PASS")], requirements=[req("X")], errors=["boom"])
    doc = _html(run)
    section = doc.get_element_by_id("root-causes")
    assert doc.get_element_by_id("no-causes") is not None and not section.xpath(".//li")
    assert section.xpath('.//a[@href="#errors"]') and doc.get_element_by_id("errors") is not None
    assert doc.get_element_by_id("overall").get("data-verdict") == "FAIL"  # the error fails it


def test_html_counts_carry_the_new_verdicts():
    doc = _html(sample_run())
    tests = {s.get("data-verdict"): s.text_content() for s in doc.get_element_by_id("test-counts").iter("span")}
    assert list(tests) == list(R.TEST_VERDICTS)
    assert (tests["WARN"], tests["INFO"], tests["BLOCKED"]) == ("WARN 1", "INFO 1", "BLOCKED 1")
    reqs = {s.get("data-verdict"): s.text_content() for s in doc.get_element_by_id("req-counts").iter("span")}
    assert list(reqs) == list(R.REQ_VERDICTS)
    assert (reqs["WARN"], reqs["INFO"], reqs["BLOCKED"], reqs["FAIL"]) == ("WARN 1", "INFO 1", "BLOCKED 1", "FAIL 1")
    css = doc.xpath("//style")[0].text
    colours = {v: css.split(f'.badge[data-verdict="{v}"]{{background:', 1)[1].split("}", 1)[0]
               for v in ("FAIL", "WARN", "INFO", "BLOCKED", "PASS")}
    assert len(set(colours.values())) == len(colours)  # each graded verdict its own colour
    # the filters offer the new verdicts too, all checked at first
    assert [b.get("value") for b in doc.xpath('//input[@class="fv"]')] == list(R.REQ_VERDICTS)
    assert all(b.get("checked") is not None for b in doc.xpath('//input[@class="fv"]'))
    assert [o.get("value") for o in doc.get_element_by_id("t-verdict").iter("option")] == ["", *R.TEST_VERDICTS]


def test_html_shows_blocks_and_tolerated_deviations_beside_the_test():
    doc = _html(sample_run())
    blocked = doc.get_element_by_id("t-suite/test_b.py::test_blocked")
    note = blocked.xpath('.//div[contains(@class, "blocked")]')[0]
    assert note.text_content() == "blocked by R-FAIL, reported by suite/test_a.py::TestX::test_fail"
    assert note.xpath('.//a[@href="#req-R-FAIL"]') and note.xpath('.//a[@href="#t-suite/test_a.py::TestX::test_fail"]')
    warn = doc.get_element_by_id("t-suite/test_b.py::test_warn")
    assert warn.get("data-tolerated") == "1"
    assert "R-NOTEST: config read padded" in warn.xpath('.//div[contains(@class, "tolerated")]')[0].text_content()
    assert "breaks R-WARN" in warn.text_content()
    assert "R-FAIL (1)" in doc.get_element_by_id("blocked-by").text_content()
    assert "R-NOTEST" in doc.get_element_by_id("tolerated").text_content()
    orphan = sample_run()
    orphan.tests[-1].blocked_by_test = None
    row = _html(orphan).get_element_by_id("t-suite/test_b.py::test_blocked")
    assert "which no test of this run reports" in row.text_content()
    # the matrix lists, under a requirement, only the findings about it
    mix = doc.xpath('//tr[@data-req="R-MIX"]')[0]
    assert not mix.xpath(".//details")
    assert "R-WARN: late ack" in doc.xpath('//tr[@data-req="R-WARN"]//details')[0].text_content()


@pytest.mark.parametrize("fail_on, banner", [(None, "PASS"), ("fail", "PASS"), ("warn", "FAIL"), ("info", "FAIL")])
def test_html_banner_follows_the_runs_fail_on(fail_on, banner):
    run = R.RunResult(metadata={"fail_on": fail_on} if fail_on else {}, requirements=[req("X")],
                      tests=[R.TestResult("a::w", ["X"], "WARN", broken=["X"])])
    doc = _html(run)
    assert doc.get_element_by_id("overall").get("data-verdict") == banner
    assert doc.get_element_by_id("fail-on").get("data-fail-on") == (fail_on or "fail")
    assert ("WARN" in doc.get_element_by_id("fail-on").text_content()) == (banner == "FAIL")


def test_write_all_and_rebuild_from_json_alone(tmp_path):
    run = sample_run()
    paths = write_all(run, tmp_path / "a")
    back = json_report.read(paths["json"])
    write_all(back, tmp_path / "b")
    for name in ("junit.xml", "report.html", "report.json"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    _validate(paths["junit"])

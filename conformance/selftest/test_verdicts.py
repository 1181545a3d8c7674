"""verdicts.grade: how a failed test becomes FAIL, WARN, INFO or BLOCKED,
and the check / require helpers the suite raises through."""

import pytest

from vmsg_conform import verdicts as V

STRENGTHS = {"R-MUST": "must", "R-SHOULD": "should", "R-MAY": "may", "R-READING": "reading",
             "R-UNKNOWN": None}


def strength_of(rid):
    return STRENGTHS.get(rid)


def dev(req, precondition=False):
    return V.Deviation(req, "what the device did", precondition=precondition)


def grade(exc, cited, message="msg"):
    g = V.grade(exc, cited, strength_of, message)
    return g.verdict, g.broken, g.blocked_by


@pytest.mark.parametrize("req, verdict", [
    ("R-MUST", "FAIL"), ("R-SHOULD", "WARN"), ("R-MAY", "INFO"), ("R-READING", "INFO"),
    ("R-UNKNOWN", "FAIL"),  # no strength known: the strictest reading
])
def test_a_cited_deviation_is_graded_by_its_strength(req, verdict):
    # cited anywhere in the list, not only as the primary requirement
    assert grade(dev(req), ["R-MUST", req]) == (verdict, [req], None)


@pytest.mark.parametrize("req, verdict", [("R-MUST", "FAIL"), ("R-SHOULD", "WARN"), ("R-MAY", "INFO")])
def test_a_cited_precondition_is_graded_not_blocked(req, verdict):
    """A test citing R checks R, even where R is also what it needs first."""
    assert grade(dev(req, precondition=True), ["R-MUST", req]) == (verdict, [req], None)


@pytest.mark.parametrize("req", ["R-MUST", "R-SHOULD", "R-MAY"])
def test_an_uncited_precondition_blocks(req):
    g = V.grade(dev(req, precondition=True), ["R-READING"], strength_of, "setup stopped")
    assert (g.verdict, g.broken, g.blocked_by, g.message) == ("BLOCKED", [], req, "setup stopped")


@pytest.mark.parametrize("req", ["R-MUST", "R-SHOULD", "R-MAY"])
def test_an_uncited_check_is_a_fail_and_a_suite_defect(req):
    """Never softened to the requirement's strength, never hidden: the test
    must cite what it checks."""
    g = V.grade(dev(req), ["R-READING"], strength_of, "boom")
    assert (g.verdict, g.broken, g.blocked_by) == ("FAIL", [req], None)
    assert g.message.startswith("boom") and "suite defect" in g.message and req in g.message


@pytest.mark.parametrize("exc", [AssertionError("assert 1 == 2"), None])
@pytest.mark.parametrize("primary, verdict", [("R-MUST", "FAIL"), ("R-SHOULD", "WARN"), ("R-MAY", "INFO")])
def test_a_plain_assert_checks_the_primary_requirement(exc, primary, verdict):
    """The first cited ID is the one a bare ``assert`` is about (and a
    failure reported without its exception is read the same way)."""
    assert grade(exc, [primary, "R-MUST"]) == (verdict, [primary], None)


@pytest.mark.parametrize("exc", [RuntimeError("driver stack"), TimeoutError("no reply"), KeyError("x")])
def test_any_other_exception_is_a_fail_of_the_primary(exc):
    """The suite could not finish talking to the device: a FAIL, whatever
    the primary requirement's strength."""
    assert grade(exc, ["R-MAY", "R-SHOULD"]) == ("FAIL", ["R-MAY"], None)


@pytest.mark.parametrize("exc", [AssertionError("x"), RuntimeError("x"), None])
def test_a_test_citing_nothing_fails_unattributed(exc):
    assert grade(exc, []) == ("FAIL", [], None)


def test_grade_asks_the_strength_of_the_right_requirement():
    asked = []

    def spy(rid):
        asked.append(rid)
        return "should"
    assert V.grade(dev("R-B"), ["R-A", "R-B"], spy).verdict == "WARN"
    assert asked == ["R-B"]
    asked.clear()
    V.grade(AssertionError(), iter(["R-A", "R-B"]), spy)  # any iterable of IDs
    assert asked == ["R-A"]
    asked.clear()
    V.grade(dev("R-C", precondition=True), ["R-A"], spy)
    assert asked == []  # a block is not graded by anyone's strength


def test_check_and_require_raise_deviations():
    V.check(True, "R-X", "fine")
    V.require(1, "R-X", "fine")
    with pytest.raises(V.Deviation) as info:
        V.check(0, "R-X", "reply had the wrong length")
    d = info.value
    assert isinstance(d, AssertionError)  # pytest reports it as a failed assertion
    assert (d.req, d.detail, d.precondition, str(d)) == ("R-X", "reply had the wrong length", False,
                                                         "R-X: reply had the wrong length")
    with pytest.raises(V.Deviation) as info:
        V.require(None, "R-Y", "no reset")
    assert (info.value.req, info.value.precondition) == ("R-Y", True)


def test_fail_on_levels_widen():
    assert set(V.FAIL_ON["fail"]) < set(V.FAIL_ON["warn"]) < set(V.FAIL_ON["info"])
    assert V.FAIL_ON["info"] == ("FAIL", "WARN", "INFO", "BLOCKED")
    assert V.run_fails(["PASS", "XPASS"], "fail") and not V.run_fails(["PASS", "WARN", "SKIP"], "fail")
    assert not V.run_fails([], "info")

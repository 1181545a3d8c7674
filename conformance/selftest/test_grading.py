"""Graded verdicts end to end, on a small fake tree: FAIL / WARN / INFO by
catalogue strength, BLOCKED preconditions linked to the test that reports
them, tolerated deviations, the exit status per --vmsg-fail-on, the terminal
summary, and the fault matrix's precision (collateral findings)."""

import json
import subprocess
import sys
import textwrap

import pytest

import vmsg_fakes
from vmsg_conform import cli
from vmsg_fakes import run, verdicts

pytest_plugins = ["pytester"]

# The fake catalogue of vmsg_fakes with one requirement per strength instead
# of its own entries: rebinding CAT is enough, the hook reads it when called.
CONFTEST = vmsg_fakes.CONFTEST + textwrap.dedent('''
    CAT = Cat([
        Req("G-MUST", "MUST", "must", "device", "bus", "a must rule"),
        Req("G-MUST-2", "MUST NOT", "must", "device", "bus", "another must rule"),
        Req("G-SHOULD", "SHOULD", "should", "device", "bus", "a should rule"),
        Req("G-MAY", "MAY", "may", "device", "bus", "a may rule"),
        Req("G-READ", "READING", "reading", "device", "config", "a project reading"),
    ])

    import pytest
    from vmsg_conform.dut import Dut

    class FakeDut:
        """Only what tolerance needs, with Dut's own tolerate/deviations."""
        tolerate = Dut.tolerate
        deviations = Dut.deviations

        def __init__(self):
            self._tolerated, self._buses, self._transports = [], {}, {}

    @pytest.fixture
    def dut():
        return FakeDut()
''')

# One fake test per case: (name, cited IDs, requirement its check breaks or
# None when it passes, expected verdict), in file order.
GRADE_CASES = [
    ("must", ("G-MUST",), "G-MUST", "FAIL"),
    ("should", ("G-SHOULD",), "G-SHOULD", "WARN"),
    ("should_again", ("G-SHOULD", "G-MUST-2"), "G-SHOULD", "WARN"),  # graded by what broke, not the strongest
    ("may", ("G-MAY",), "G-MAY", "INFO"),
    ("reading", ("G-READ",), "G-READ", "INFO"),
    ("passes", ("G-MUST-2",), None, "PASS"),
]
GRADES = "import pytest\nfrom vmsg_conform.verdicts import check\n" + "".join(
    f"\n@pytest.mark.req({', '.join(map(repr, cited))})\ndef test_{name}():\n"
    f"    check({req is None}, {(req or cited[0])!r}, 'the device broke it')\n"
    for name, cited, req, _ in GRADE_CASES)


def _tree(pytester, **files):
    """The grading catalogue and these test files in pytester's directory."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(**files)
    return pytester


def _by_name(data):
    return {t["nodeid"].split("::")[-1]: t for t in data["tests"]}


def test_a_broken_check_is_graded_by_the_strength_of_its_requirement(pytester):
    res, data = run(_tree(pytester, test_grades=GRADES))
    assert verdicts(data) == {f"test_{name}": verdict for name, _, _, verdict in GRADE_CASES}
    by = _by_name(data)
    for name, _, req, _ in GRADE_CASES:
        assert by[f"test_{name}"]["broken"] == ([req] if req else []), name
        assert req is None or f"{req}: the device broke it" in by[f"test_{name}"]["message"], name
    rv = {k: v["verdict"] for k, v in data["requirement_verdicts"].items()}
    # test_should_again cites G-MUST-2 but broke G-SHOULD only; test_passes passes it
    assert rv == {"G-MUST": "FAIL", "G-MUST-2": "PASS", "G-SHOULD": "WARN", "G-MAY": "INFO", "G-READ": "INFO"}
    assert res.ret == 1  # the FAIL
    # only the FAIL is a pytest failure; the others have their own letter and word
    res.stdout.fnmatch_lines(["test_grades.py FWWII.*"])
    res.stdout.fnmatch_lines(["*1 failed, 1 passed, 2 warn, 2 info*"])


@pytest.mark.parametrize("select, args, ret", [
    ("should", (), 0),
    ("should", ("--vmsg-fail-on", "warn"), 1),
    ("should", ("--vmsg-strict",), 1),
    ("should", ("--vmsg-strict", "--vmsg-fail-on", "fail"), 0),  # the explicit choice wins
    ("may or reading", (), 0),
    ("may or reading", ("--vmsg-fail-on", "warn"), 0),
    ("may or reading", ("--vmsg-fail-on", "info"), 1),
])
def test_fail_on_decides_which_grades_fail_the_run(pytester, select, args, ret):
    res, data = run(_tree(pytester, test_grades=GRADES), "-k", select, *args)
    assert res.ret == ret, res.stdout.str()
    assert "FAIL" not in verdicts(data).values()


def test_the_terminal_summary_lists_the_broken_requirements_most_serious_first(pytester):
    res, _ = run(_tree(pytester, test_grades=GRADES))
    lines = res.stdout.lines
    start = next(i for i, ln in enumerate(lines) if "vmsg-conform" in ln and ln.startswith("="))
    assert lines[start + 1].startswith("distinct broken requirements: 4 ")
    # FAIL before WARN although G-SHOULD has more tests; INFO last
    listed = [ln.split()[:2] for ln in lines[start + 2:] if ln.startswith("  ") and not ln.startswith("   ")]
    assert listed == [["FAIL", "G-MUST"], ["WARN", "G-SHOULD"], ["INFO", "G-MAY"], ["INFO", "G-READ"]]
    res.stdout.fnmatch_lines(["*WARN G-SHOULD*2 test(s)*"])


BLOCKING = '''
import pytest
from vmsg_conform.verdicts import require

@pytest.mark.req("G-MUST")
def test_a_reports():
    assert False, "G-MUST broken here"

@pytest.mark.req("G-MUST-2")
def test_b_needs_it():
    require(False, "G-MUST", "setup needs G-MUST")

@pytest.mark.req("G-SHOULD")
def test_c_needs_it_too():
    require(False, "G-MUST", "setup needs G-MUST as well")
'''


def test_an_uncited_precondition_blocks_and_names_the_test_that_reports_it(pytester):
    res, data = run(_tree(pytester, test_block=BLOCKING))
    assert verdicts(data) == {"test_a_reports": "FAIL", "test_b_needs_it": "BLOCKED",
                              "test_c_needs_it_too": "BLOCKED"}
    b = _by_name(data)["test_b_needs_it"]
    assert (b["blocked_by"], b["blocked_by_test"], b["broken"]) == (
        "G-MUST", "test_block.py::test_a_reports", [])
    rv = {k: v["verdict"] for k, v in data["requirement_verdicts"].items()}
    # what B and C cite was never reached: BLOCKED, not FAIL (or WARN)
    assert (rv["G-MUST"], rv["G-MUST-2"], rv["G-SHOULD"]) == ("FAIL", "BLOCKED", "BLOCKED")
    assert "G-MUST" in data["requirement_verdicts"]["G-MUST-2"]["reason"]
    assert data["warnings"] == []
    assert res.ret == 1  # test_a's FAIL; BLOCKED alone does not fail a default run
    res.stdout.fnmatch_lines(["test_block.py FBB*", "*blocked by: G-MUST (2)*"])


def test_a_block_no_test_explains_is_a_warning_and_fails_only_under_fail_on_info(pytester):
    tree = _tree(pytester, test_block=BLOCKING)
    res, data = run(tree, "-k", "needs_it and not too")
    assert verdicts(data) == {"test_b_needs_it": "BLOCKED"}
    assert _by_name(data)["test_b_needs_it"]["blocked_by_test"] is None
    assert data["warnings"] == [
        "test_block.py::test_b_needs_it is BLOCKED by G-MUST, which no test of this run reports"]
    res.stdout.fnmatch_lines(["*warning: test_block.py::test_b_needs_it is BLOCKED by G-MUST*"])
    assert res.ret == 0
    res, _ = run(tree, "-k", "needs_it and not too", "--vmsg-fail-on", "info")
    assert res.ret == 1


def test_a_cited_precondition_is_graded_not_blocked(pytester):
    _tree(pytester, test_cited='''
        import pytest
        from vmsg_conform.verdicts import require

        @pytest.mark.req("G-MUST-2", "G-SHOULD")
        def test_checks_what_it_needs():
            require(False, "G-SHOULD", "the test cites what its setup needs")
    ''')
    _, data = run(pytester)
    (t,) = data["tests"]
    assert (t["verdict"], t["broken"], t["blocked_by"]) == ("WARN", ["G-SHOULD"], None)


def test_a_plain_assert_breaks_the_first_cited_requirement(pytester):
    _tree(pytester, test_plain='''
        import pytest

        @pytest.mark.req("G-SHOULD", "G-MUST")
        def test_should_first():
            assert 1 == 2

        @pytest.mark.req("G-MUST", "G-SHOULD")
        def test_must_first():
            assert 1 == 2

        @pytest.mark.req("G-READ", "G-MUST")
        def test_error_is_a_fail():
            raise RuntimeError("driver stack gave up")
    ''')
    _, data = run(pytester)
    got = {name: (t["verdict"], t["broken"]) for name, t in _by_name(data).items()}
    assert got == {"test_should_first": ("WARN", ["G-SHOULD"]), "test_must_first": ("FAIL", ["G-MUST"]),
                   # not an assertion: the suite could not finish, FAIL whatever the strength
                   "test_error_is_a_fail": ("FAIL", ["G-READ"])}


TOLERATING = '''
import pytest

@pytest.mark.req("G-MUST")
def test_tolerates_what_it_cites(dut):
    dut.tolerate("G-MUST", "non-zero cur_size before SET_VQUEUE")

@pytest.mark.req("G-MUST-2")
def test_tolerates_something_else(dut):
    dut.tolerate("G-MUST", "non-zero cur_size before SET_VQUEUE")

@pytest.mark.req("G-SHOULD")
def test_tolerates_a_should(dut):
    dut.tolerate("G-SHOULD", "late answer")
'''


def test_a_tolerated_deviation_is_graded_only_where_it_is_cited(pytester):
    res, data = run(_tree(pytester, test_tol=TOLERATING))
    by = _by_name(data)
    cited = by["test_tolerates_what_it_cites"]
    assert (cited["verdict"], cited["broken"]) == ("FAIL", ["G-MUST"])
    assert "tolerated during setup" in cited["message"]
    other = by["test_tolerates_something_else"]
    assert (other["verdict"], other["broken"]) == ("PASS", [])
    assert other["tolerated"] == ["G-MUST: non-zero cur_size before SET_VQUEUE"]
    should = by["test_tolerates_a_should"]
    assert (should["verdict"], should["broken"]) == ("WARN", ["G-SHOULD"])
    assert res.ret == 1
    res.stdout.fnmatch_lines(["test_tol.py F.W*", "*tolerated by the driver stack (tests went on): G-MUST, G-SHOULD*"])


# --- the fault matrix: recall and precision -----------------------------------------

# Fake suite tests reading the active faults from --vmsg-fault, the way a
# reference fault breaks a real suite test; a fault set stands for its members.
MATRIX_TESTS = '''
import pytest
from vmsg_conform.verdicts import check, require

SETS = {"set-a": ["break-ping", "break-order"]}

def active(request):
    names = request.config.getoption("vmsg_fault") or []
    return {m for n in names for m in SETS.get(n, [n])}

@pytest.mark.req("FAKE-001")
def test_ping(request):
    check("break-ping" not in active(request), "FAKE-001", "no answer to ping")

@pytest.mark.req("FAKE-002")
def test_order(request):
    check("break-order" not in active(request), "FAKE-002", "ring out of order")

@pytest.mark.req("FAKE-003")
def test_needs_ping(request):
    require("break-ping" not in active(request), "FAKE-001", "setup pings first")
'''

# Fails under break-ping although it checks only FAKE-002, which that fault
# leaves alone: the deviation shows where it is not cited.
COLLATERAL_TEST = '''
@pytest.mark.req("FAKE-002")
def test_collateral(request):
    assert "break-ping" not in active(request), "ring looked wrong"
'''


def _matrix(tmp_path, faults, tests):
    suite = tmp_path / "fake"
    suite.mkdir()
    (suite / "conftest.py").write_text(vmsg_fakes.CONFTEST)
    (suite / "test_fake.py").write_text(tests)
    fc = tmp_path / "faults.json"
    fc.write_text(json.dumps(faults))
    out = tmp_path / "mx"
    proc = subprocess.run([sys.executable, "-m", "vmsg_conform", "matrix", "--suite", str(suite),
                           "--fault-catalogue", str(fc), "--out", str(out)],
                          capture_output=True, text=True, env=cli._child_env(), check=False, timeout=300,
                          cwd=tmp_path)
    doc = json.loads((out / "matrix.json").read_text())
    return proc, doc, {r["name"]: r for r in doc["faults"]}


PING = {"name": "break-ping", "summary": "ping broken", "breaks": ["FAKE-001"], "modelled_on": "t"}
ORDER = {"name": "break-order", "summary": "order broken", "breaks": ["FAKE-002"], "modelled_on": "t"}


def test_matrix_fails_on_a_collateral_finding_and_names_the_test(tmp_path):
    proc, doc, rows = _matrix(tmp_path, [PING], MATRIX_TESTS + COLLATERAL_TEST)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    row = rows["break-ping"]
    assert row["caught"] is True and doc["all_caught"] is True  # recall alone is not enough
    assert [(c["nodeid"], c["verdict"], c["broken"]) for c in row["collateral"]] == [
        ("test_fake.py::test_collateral", "FAIL", ["FAKE-002"])]
    assert doc["no_collateral"] is False and doc["clean_baseline"] is True
    assert "COLLATERAL FAIL test_fake.py::test_collateral (broken: FAKE-002)" in proc.stdout
    assert "1 collateral finding(s)" in proc.stdout


def test_matrix_of_precise_faults_and_a_fault_set_exits_zero(tmp_path):
    set_a = {"name": "set-a", "summary": "both at once", "members": ["break-ping", "break-order"]}
    proc, doc, rows = _matrix(tmp_path, [PING, ORDER, set_a], MATRIX_TESTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (doc["all_caught"], doc["no_collateral"], doc["clean_baseline"]) == (True, True, True)
    assert doc["baseline"]["findings"] == []
    for row in rows.values():
        assert row["caught"] is True and row["collateral"] == [], row["name"]
    # a precondition the fault breaks blocks, and is counted apart from evidence
    assert rows["break-ping"]["blocked"] == [{"nodeid": "test_fake.py::test_needs_ping", "blocked_by": "FAKE-001",
                                              "test": "test_fake.py::test_ping"}]
    assert [e["nodeid"] for e in rows["break-ping"]["evidence"]] == ["test_fake.py::test_ping"]
    # the set breaks the union of what its members break, and each member's test is evidence
    assert rows["set-a"]["breaks"] == ["FAKE-001", "FAKE-002"]
    assert rows["set-a"]["members"] == ["break-ping", "break-order"]
    assert sorted(e["nodeid"] for e in rows["set-a"]["evidence"]) == [
        "test_fake.py::test_order", "test_fake.py::test_ping"]
    assert "3/3 faults caught; 0 collateral finding(s)" in proc.stdout

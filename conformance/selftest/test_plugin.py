"""The pytest plugin on a small fake tree: verdicts, waivers, citations,
selection, metadata and the exit status (grading: test_grading.py)."""

import datetime as dt

import pytest

import vmsg_fakes
from vmsg_fakes import run, verdicts

pytest_plugins = ["pytester"]


@pytest.fixture
def tree(pytester):
    pytester.makeconftest(vmsg_fakes.CONFTEST)
    pytester.makepyfile(test_fake=vmsg_fakes.TESTS)
    return pytester


def test_verdicts_and_requirement_matrix(tree):
    res, data = run(tree)
    assert res.ret == 1
    assert verdicts(data) == {
        "test_ping": "PASS", "test_order_fails": "FAIL", "test_should_level": "PASS",
        "test_other_profile": "SKIP", "test_skips_itself": "SKIP"}
    by = {t["nodeid"].split("::")[-1]: t for t in data["tests"]}
    assert by["test_order_fails"]["reqs"] == ["FAKE-002"]
    assert "order broken" in by["test_order_fails"]["message"]
    assert by["test_other_profile"]["message"].startswith("not applicable to profile pr28")
    assert by["test_skips_itself"]["message"] == "target cannot do it"
    assert by["test_skips_itself"]["reqs"] == ["FAKE-001", "FAKE-002"]
    assert "ping sent" in by["test_ping"]["output"]
    assert by["test_ping"]["output"].count("ping sent") == 1
    rv = {k: v["verdict"] for k, v in data["requirement_verdicts"].items()}
    assert rv == {"FAKE-001": "PASS", "FAKE-002": "FAIL", "FAKE-003": "PASS",
                  "FAKE-004": "UNTESTABLE", "FAKE-005": "N/A"}
    assert "not observable" in data["requirement_verdicts"]["FAKE-004"]["reason"]


def test_metadata_is_complete(tree):
    _, data = run(tree, "--vmsg-fault", "a,b", "--vmsg-fault", "c", "--hypothesis-seed", "1234")
    m = data["metadata"]
    assert m["faults"] == ["a", "b", "c"]
    assert m["profile"] == "pr28"
    assert m["spec"] == {"draft": "fake/draft", "commit": "0123abc"}
    assert m["target"]["name"]
    assert m["hypothesis"]["seed"] == 1234 and m["hypothesis"]["seed_source"] == "--hypothesis-seed"
    for key in ("suite_version", "start_time", "duration", "python", "platform"):
        assert key in m and m[key] != ""


def test_seed_is_chosen_recorded_and_restored(tree):
    from hypothesis import core, settings

    before_seed, before_profile = core.global_force_seed, settings._current_profile
    tree.makepyfile(test_hyp='''
        import pytest
        from hypothesis import given, strategies as st, core
        @pytest.mark.req("FAKE-001")
        @given(st.integers())
        def test_prop(x):
            print("force", core.global_force_seed)
    ''')
    res, data = run(tree, "-k", "prop", "-s")
    hyp = data["metadata"]["hypothesis"]
    assert isinstance(hyp["seed"], int) and hyp["seed_source"] == "chosen by vmsg-conform"
    res.stdout.fnmatch_lines([f"*force {hyp['seed']}*"])  # the recorded seed is the one used
    assert core.global_force_seed == before_seed
    assert settings._current_profile == before_profile


def test_derandomize_loads_ci_profile(tree, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    _, data = run(tree, "--vmsg-derandomize")
    hyp = data["metadata"]["hypothesis"]
    assert hyp["derandomize"] is True and hyp["profile"] == "ci"
    monkeypatch.setenv("CI", "1")
    _, data = run(tree)
    assert data["metadata"]["hypothesis"]["profile"] == "ci"
    monkeypatch.delenv("CI")
    _, data = run(tree)
    assert data["metadata"]["hypothesis"]["derandomize"] is False


def test_strict_is_fail_on_warn_and_should_level_checks_always_run(tree):
    # SHOULD-level checks run by default (a broken one is a WARN); --strict
    # only decides whether a WARN fails the run
    _, data = run(tree)
    assert (data["metadata"]["strict"], data["metadata"]["fail_on"]) == (False, "fail")
    _, data = run(tree, "--vmsg-strict")
    assert verdicts(data)["test_should_level"] == "PASS"
    assert (data["metadata"]["strict"], data["metadata"]["fail_on"]) == (True, "warn")
    _, data = run(tree, "--vmsg-strict", "--vmsg-fail-on", "info")
    assert data["metadata"]["fail_on"] == "info"  # the explicit choice wins


@pytest.mark.parametrize("args, expected", [
    (("--vmsg-req", "FAKE-002"), {"test_order_fails", "test_skips_itself"}),
    (("--vmsg-req", "fake-00[13]"), {"test_ping", "test_should_level", "test_skips_itself"}),
    (("--vmsg-area", "bus"), {"test_ping", "test_should_level", "test_skips_itself"}),
    (("--vmsg-level", "SHOULD"), {"test_should_level"}),
    (("--vmsg-level", "must", "--vmsg-area", "fifo"), {"test_order_fails", "test_skips_itself",
                                                        "test_other_profile"}),
])
def test_selection_deselects_the_rest(tree, args, expected):
    res, data = run(tree, *args)
    assert set(verdicts(data)) == expected
    res.assert_outcomes(deselected=5 - len(expected), **_outcomes(data))
    rows = {k: v for k, v in data["requirement_verdicts"].items()}
    assert all(r["verdict"] != "FAIL" for k, r in rows.items() if "test_order_fails" not in expected)


def _outcomes(data):
    v = [t["verdict"] for t in data["tests"]]
    return {"passed": v.count("PASS"), "failed": v.count("FAIL"), "skipped": v.count("SKIP")}


def test_unknown_requirement_is_a_collection_error_naming_test_and_id(tree):
    tree.makepyfile(test_bad='''
        import pytest
        @pytest.mark.req("FAKE-001", "NOPE-999")
        def test_cites_junk():
            pass
    ''')
    res, _ = run(tree)
    assert res.ret == pytest.ExitCode.INTERRUPTED
    res.stdout.fnmatch_lines(["*test_bad.py::test_cites_junk: cites unknown requirement ID(s) NOPE-999*"])
    res.assert_outcomes(errors=1)


def test_bad_marker_arguments_are_collection_errors(tree):
    tree.makepyfile(test_bad='''
        import pytest
        @pytest.mark.req()
        def test_empty():
            pass
        @pytest.mark.req(1)
        def test_number():
            pass
    ''')
    res, _ = run(tree)
    res.stdout.fnmatch_lines(["*test_empty: cites req marker without IDs*",
                              "*test_number: cites req argument 1 is not a string*"])


def test_uncited_tests_reported_or_rejected(tree):
    tree.makepyfile(test_plain='''
        def test_nothing_cited():
            pass
    ''')
    _, data = run(tree, "-k", "nothing_cited")
    assert data["uncited"] == ["test_plain.py::test_nothing_cited"]
    assert data["tests"][0]["verdict"] == "PASS"
    res, _ = run(tree, "-o", "vmsg_require_req=true")
    assert res.ret == pytest.ExitCode.INTERRUPTED
    res.stdout.fnmatch_lines(["*test_nothing_cited: cites no requirement*"])


def _waivers(tree, *entries):
    body = "".join(
        f'[[waiver]]\ntest = "{t}"\nreason = "{r}"\nexpires = {e}\n\n' for t, r, e in entries)
    tree.path.joinpath("w.toml").write_text(body)
    return ("--vmsg-waivers", "w.toml")


FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()
PAST = (dt.date.today() - dt.timedelta(days=1)).isoformat()


def test_waived_failure_is_xfail_and_run_passes(tree):
    args = _waivers(tree, ("*test_order_fails", "ring bug 7", FUTURE))
    res, data = run(tree, *args)
    by = {t["nodeid"].split("::")[-1]: t for t in data["tests"]}
    assert by["test_order_fails"]["verdict"] == "XFAIL"
    assert by["test_order_fails"]["waiver"] == "ring bug 7"
    assert "ring bug 7" in by["test_order_fails"]["message"]
    assert data["requirement_verdicts"]["FAKE-002"]["verdict"] == "WAIVED"
    assert res.ret == 0


def test_waived_pass_is_xpass_and_fails_the_run(tree):
    args = _waivers(tree, ("test_fake.py::test_ping", "flaky", FUTURE),
                    ("*test_order_fails", "ring bug", FUTURE))
    res, data = run(tree, *args)
    by = {t["nodeid"].split("::")[-1]: t for t in data["tests"]}
    assert by["test_ping"]["verdict"] == "XPASS"
    assert "remove the waiver" in by["test_ping"]["message"]
    assert res.ret == 1
    res.stdout.fnmatch_lines(["*XPASS test_fake.py::test_ping: waived test passed, remove the waiver*"])


def test_expired_waiver_is_a_fail(tree):
    args = _waivers(tree, ("*test_order_fails", "old excuse", PAST), ("*test_ping", "old too", PAST))
    res, data = run(tree, *args)
    by = {t["nodeid"].split("::")[-1]: t for t in data["tests"]}
    assert by["test_order_fails"]["verdict"] == "FAIL"
    assert by["test_ping"]["verdict"] == "FAIL"
    assert f"waiver expired on {PAST}" in by["test_ping"]["message"]
    assert res.ret == 1


def test_unused_waiver_warns_and_bad_waiver_file_is_usage_error(tree):
    args = _waivers(tree, ("*no_such_test", "gone", FUTURE))
    _, data = run(tree, *args)
    assert any("no_such_test" in w for w in data["warnings"])
    tree.path.joinpath("w.toml").write_text('[[waiver]]\ntest = "x"\nexpires = 2030-01-01\n')
    res, _ = run(tree, "--vmsg-waivers", "w.toml")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*'reason' is required*"])


def test_plain_xfail_that_passes_fails_the_run(tree):
    tree.makepyfile(test_x='''
        import pytest
        @pytest.mark.req("FAKE-001")
        @pytest.mark.xfail(reason="thought broken")
        def test_surprise():
            pass
        @pytest.mark.req("FAKE-001")
        @pytest.mark.xfail(reason="really broken")
        def test_broken():
            assert False
    ''')
    res, data = run(tree, "test_x.py")
    assert verdicts(data) == {"test_surprise": "XPASS", "test_broken": "XFAIL"}
    assert res.ret == 1


def test_all_passing_run_exits_zero_and_writes_every_report(tree):
    res, data = run(tree, "-k", "ping", "--vmsg-junit", "j.xml", "--vmsg-html", "r.html")
    assert res.ret == 0
    assert verdicts(data) == {"test_ping": "PASS"}
    assert (tree.path / "j.xml").stat().st_size > 0
    assert (tree.path / "r.html").read_text().startswith("<!DOCTYPE html>")


def test_setup_error_is_a_fail(tree):
    tree.makepyfile(test_err='''
        import pytest
        @pytest.fixture
        def broken():
            raise RuntimeError("rig down")
        @pytest.mark.req("FAKE-001")
        def test_uses_broken(broken):
            pass
    ''')
    _, data = run(tree, "test_err.py")
    t = data["tests"][0]
    assert t["verdict"] == "FAIL" and "error in setup" in t["message"] and "rig down" in t["message"]

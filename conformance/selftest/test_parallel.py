"""`vmsg-conform run -n N` spreads the tests over pytest-xdist workers: the
reports (JSON, JUnit, HTML), the waivers, the transcripts and the exit
status must be those of a serial run of the same selection. Only what a
clock or the command line decides may differ; the test order may not (the
controller puts the results in the order of a serial run)."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("xdist", reason="pytest-xdist is not installed (Debian: python3-pytest-xdist)")

import vmsg_fakes  # noqa: E402
from vmsg_conform import cli  # noqa: E402

pytest_plugins = ["pytester"]

PARALLEL = ("-n", "2")


def _normal_json(data: dict, extra_args: tuple = ()) -> dict:
    """The results without what timing decides; ``extra_args`` are the
    parallel run's own options, dropped from the recorded command line."""
    meta = data["metadata"]
    for key in ("start_time", "duration"):
        meta.pop(key)
    args = meta.pop("args")
    for opt in extra_args:
        args.remove(opt)
    meta["args"] = args
    for t in data["tests"]:
        t["duration"] = 0.0
    return data


def _normal_junit(text: str) -> str:
    text = re.sub(r' (time|timestamp)="[^"]*"', r' \1=""', text)
    return re.sub(r'(<property name="start_time" value=)"[^"]*"', r'\1""', text)


def _normal_html(text: str) -> str:
    text = re.sub(r"<td>\d+\.\d{3}s</td>", "<td>-</td>", text)  # a test's time
    return re.sub(r"(<th>(Started|Duration)</th><td>)[^<]*", r"\1", text)


# --- the packaged suite, through the command line -------------------------------

# One test of each outcome under the max-message-48 fault (and a few
# passes): FAIL (VMSG-BUS-028), BLOCKED by it, INFO (READ-G03), SKIP,
# XFAIL (waived) and FAIL (expired waiver). Every root cause has one test,
# so no example is chosen by duration.
SELECTION = ("(test_64_byte and fifo0-dev1) or (test_size_limit_is_the_same and fifo0-dev1)"
             " or bus_maximum[100] or test_fifo_without_devices_answers_bus_messages or test_bus_ping")
WAIVED = "suite/test_bus_framing.py::test_64_byte_response_is_delivered[fifo0-dev1-virtio-rng-device]"
EXPIRED = "suite/test_bus_ping.py::test_each_fifo_answers_its_own_pings"


def _waivers(*entries: tuple[str, str, str]) -> str:
    """A waiver file of (test, reason, expires) entries."""
    return "".join(f'[[waiver]]\ntest = "{t}"\nreason = "{r}"\nexpires = {e}\n' for t, r, e in entries)


WAIVERS = _waivers((WAIVED, "known: the fault drops long responses", "2999-12-31"),
                   (EXPIRED, "long gone", "2000-01-01"),
                   ("suite/test_nothing_here.py::*", "matches no test", "2999-12-31"))


def _run_cli(cwd: Path, waivers: Path, *extra: str) -> subprocess.CompletedProcess:
    cwd.mkdir()
    cmd = [sys.executable, "-m", "vmsg_conform", "run", "--target", "ref", "--fault", "max-message-48",
           "-k", SELECTION, "--waivers", str(waivers), "--hypothesis-seed", "4711", "--out", "out", "-q",
           *extra]
    return subprocess.run(cmd, cwd=cwd, env=cli._child_env(), capture_output=True, text=True,
                          check=False, timeout=300)


@pytest.mark.skipif(importlib.util.find_spec("vmsg_conform._vmsg") is None, reason="native module not built")
def test_parallel_run_reports_what_a_serial_run_reports(tmp_path):
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(WAIVERS)
    serial = _run_cli(tmp_path / "serial", waivers)
    parallel = _run_cli(tmp_path / "parallel", waivers, *PARALLEL)
    assert serial.returncode == 1, serial.stdout + serial.stderr
    assert parallel.returncode == serial.returncode, parallel.stdout + parallel.stderr
    s_out, p_out = tmp_path / "serial" / "out", tmp_path / "parallel" / "out"

    s_json = json.loads((s_out / "report.json").read_text())
    by = {t["nodeid"]: t for t in s_json["tests"]}
    assert {t["verdict"] for t in s_json["tests"]} == {"FAIL", "INFO", "BLOCKED", "SKIP", "XFAIL", "PASS"}
    assert by[WAIVED]["verdict"] == "XFAIL" and by[WAIVED]["waiver"]
    assert by[EXPIRED]["verdict"] == "FAIL" and "waiver expired" in by[EXPIRED]["message"]
    assert any("suite/test_nothing_here.py" in w for w in s_json["warnings"])
    assert s_json["metadata"]["hypothesis"]["seed"] == 4711
    p_json = json.loads((p_out / "report.json").read_text())
    assert _normal_json(p_json, ("-n", "2", "--dist", "load")) == _normal_json(s_json)

    assert (_normal_junit((p_out / "junit.xml").read_text())
            == _normal_junit((s_out / "junit.xml").read_text()))
    assert _normal_html((p_out / "report.html").read_text()) == _normal_html((s_out / "report.html").read_text())

    # the workers wrote the same transcripts where a serial run does
    s_tr = {p.name: p.read_text() for p in (s_out / "transcripts").iterdir()}
    p_tr = {p.name: p.read_text() for p in (p_out / "transcripts").iterdir()}
    assert len(s_tr) >= 3 and p_tr == s_tr


def test_cli_passes_workers_to_xdist():
    args = cli._run_args(cli._parser().parse_args(["run", "-n", "auto"]))
    i = args.index("-n")
    assert args[i:i + 4] == ["-n", "auto", "--dist", "load"]
    assert "-n" not in cli._run_args(cli._parser().parse_args(["run", "-n", "0"]))
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["run", "-n", "many"])


# --- the plugin on the fake tree, in-process -------------------------------------

HYPOTHESIS_TESTS = '''
import os
import pytest
from hypothesis import given, strategies as st, core

@pytest.mark.req("FAKE-001")
@pytest.mark.parametrize("i", range(6))
@given(st.integers())
def test_prop(i, x):
    print("force", core.global_force_seed, "on", os.environ.get("PYTEST_XDIST_WORKER"))
'''


@pytest.fixture
def tree(pytester):
    pytester.makeconftest(vmsg_fakes.CONFTEST)
    pytester.makepyfile(test_fake=vmsg_fakes.TESTS, test_plain="def test_nothing_cited():\n    pass\n")
    return pytester


def _both(tree, *args):
    """(serial, parallel) runs of the same arguments: (exit status, JSON) each."""
    out = []
    for extra in ((), PARALLEL):
        res, data = vmsg_fakes.run(tree, "--hypothesis-seed", "99", *args, *extra)
        out.append((res.ret, data and _normal_json(data, extra)))
        (tree.path / "r.json").unlink(missing_ok=True)
    return out


def test_fake_tree_selection_waivers_and_uncited_tests_match(tree):
    w = tree.path / "w.toml"
    w.write_text(_waivers(("*test_order_fails", "known", "2999-01-01"), ("*test_ping", "old", "2000-01-01"),
                          ("*test_should_level", "deselected", "2999-01-01")))
    serial, parallel = _both(tree, "--vmsg-waivers", str(w), "--vmsg-req", "FAKE-00[125]",
                             "-k", "not nothing_cited")
    assert parallel == serial
    ret, data = serial
    assert ret == 1
    assert vmsg_fakes.verdicts(data) == {"test_ping": "FAIL", "test_order_fails": "XFAIL",
                                         "test_other_profile": "SKIP", "test_skips_itself": "SKIP"}
    assert data["uncited"] == ["test_plain.py::test_nothing_cited"]
    assert data["warnings"] == ["waiver for '*test_should_level' matched no test that ran"]
    assert [r["cited_by"] for r in data["requirements"] if r["id"] == "FAKE-003"] == [
        ["test_fake.py::test_should_level"]]


def test_a_catalogue_error_stops_a_parallel_run_as_it_stops_a_serial_one(tree):
    tree.makepyfile(test_bad='import pytest\n@pytest.mark.req("NOPE")\ndef test_x():\n    pass\n')
    serial, parallel = _both(tree)
    assert parallel == serial
    ret, data = serial
    assert ret == pytest.ExitCode.INTERRUPTED and data["tests"] == []
    assert data["errors"] == ["test_bad.py::test_x: cites unknown requirement ID(s) NOPE"]


def test_every_worker_uses_the_seed_the_controller_reports(tree):
    tree.makepyfile(test_hyp=HYPOTHESIS_TESTS)
    res, data = vmsg_fakes.run(tree, "-k", "prop", *PARALLEL)
    assert res.ret == 0
    hyp = data["metadata"]["hypothesis"]
    assert hyp["seed_source"] == "chosen by vmsg-conform"
    seen = [re.fullmatch(r"force (\d+) on (gw\d+)", t["output"].splitlines()[-1]).groups()
            for t in data["tests"]]
    assert len(seen) == 6
    assert {int(seed) for seed, _ in seen} == {hyp["seed"]}
    assert {worker for _, worker in seen} == {"gw0", "gw1"}  # both workers took part


def test_a_test_that_kills_its_worker_is_a_fail_and_the_run_goes_on(tree):
    tree.makepyfile(test_crash='import os, pytest\n@pytest.mark.req("FAKE-002")\ndef test_dies():\n    os._exit(3)\n')
    res, data = vmsg_fakes.run(tree, *PARALLEL)
    assert res.ret == 1
    by = {t["nodeid"]: t for t in data["tests"]}
    dead = by["test_crash.py::test_dies"]
    assert dead["verdict"] == "FAIL" and dead["reqs"] == ["FAKE-002"]
    assert dead["message"].startswith("worker 'gw") and "crashed" in dead["message"]
    assert by["test_fake.py::test_ping"]["verdict"] == "PASS"

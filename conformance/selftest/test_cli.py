"""The vmsg-conform command line on the fake tree (in-process where
possible, subprocesses for `python -m` and the fault matrix)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import vmsg_fakes
from vmsg_conform import cli

PKG_PARENT = str(Path(cli.__file__).resolve().parent.parent)


@pytest.fixture
def suite(tmp_path, monkeypatch):
    # in-process pytest runs leave the fake modules imported; forget them after
    from _pytest.pytester import SysModulesSnapshot

    snap = SysModulesSnapshot(preserve=lambda name: name.startswith(("vmsg_conform", "hypothesis", "_pytest")))
    yield _make_suite(tmp_path, monkeypatch)
    snap.restore()


def _make_suite(tmp_path, monkeypatch):
    d = tmp_path / "fake"
    d.mkdir()
    (d / "conftest.py").write_text(vmsg_fakes.CONFTEST)
    (d / "test_fake.py").write_text(vmsg_fakes.TESTS)
    monkeypatch.chdir(tmp_path)
    return d


def test_list_shows_requirements_with_their_tests(suite, capsys):
    assert cli.main(["list", "--suite", str(suite)]) == 0
    out = capsys.readouterr().out
    assert "FAKE-002" in out and "test_fake.py::test_order_fails" in out
    assert "FAKE-004" in out and "UNTESTABLE (not observable from outside)" in out
    assert "5 requirement(s), 4 with tests" in out


def test_list_filters_and_json(suite, capsys):
    assert cli.main(["list", "--suite", str(suite), "--json", "--req", "FAKE-00[12]"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["FAKE-001", "FAKE-002"]
    assert rows[1]["tests"] == ["test_fake.py::test_order_fails", "test_fake.py::test_skips_itself"]
    assert cli.main(["list", "--suite", str(suite), "--json", "--untested"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["FAKE-004"]
    assert cli.main(["list", "--suite", str(suite), "--json", "--role", "amp-device"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["FAKE-005"]
    assert cli.main(["list", "--suite", str(suite), "--json", "--level", "should", "--area", "bus"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["FAKE-003"]


def test_list_reports_a_broken_suite(suite, capsys):
    (suite / "test_bad.py").write_text('import pytest\n@pytest.mark.req("NOPE")\ndef test_x():\n    pass\n')
    assert cli.main(["list", "--suite", str(suite)]) == 2
    assert "cites unknown requirement ID(s) NOPE" in capsys.readouterr().err


def test_list_faults_from_a_catalogue_file(tmp_path, capsys):
    fc = tmp_path / "faults.json"
    fc.write_text(json.dumps([{"name": "break-ping", "summary": "s", "breaks": ["FAKE-001"],
                               "modelled_on": "m"}]))
    assert cli.main(["list", "--faults", "--fault-catalogue", str(fc)]) == 0
    out = capsys.readouterr().out
    assert "break-ping" in out and "breaks FAKE-001" in out


def test_run_writes_all_reports_and_exit_code(suite, tmp_path):
    out = tmp_path / "out"
    assert cli.main(["run", "--suite", str(suite), "--out", str(out), "-q"]) == 1
    data = json.loads((out / "report.json").read_text())
    assert {t["verdict"] for t in data["tests"]} == {"PASS", "FAIL", "SKIP"}
    assert (out / "junit.xml").exists() and (out / "report.html").exists()
    # -k selects only the passing test: exit 0; --strict, --fault and --fault-set reach the plugin
    assert cli.main(["run", "--suite", str(suite), "--json", "p.json", "-k", "ping or should",
                     "--strict", "--fault", "x", "--fault-set", "set-y", "--hypothesis-seed", "7", "-q"]) == 0
    data = json.loads(Path("p.json").read_text())
    assert sorted(t["verdict"] for t in data["tests"]) == ["PASS", "PASS"]
    assert data["metadata"]["faults"] == ["x", "set-y"] and data["metadata"]["strict"] is True
    assert data["metadata"]["fail_on"] == "warn"
    assert data["metadata"]["hypothesis"]["seed"] == 7
    # the fault the fake test reacts to breaks it
    assert cli.main(["run", "--suite", str(suite), "-k", "ping", "--fault", "break-ping", "-q"]) == 1
    assert cli.main(["run", "--suite", str(suite), "-k", "ping", "--fail-on", "info", "--json", "i.json", "-q"]) == 0
    assert json.loads(Path("i.json").read_text())["metadata"]["fail_on"] == "info"


def test_run_selection_and_waivers(suite, tmp_path):
    w = tmp_path / "w.toml"
    w.write_text('[[waiver]]\ntest = "*test_order_fails"\nreason = "known"\nexpires = 2999-01-01\n')
    assert cli.main(["run", "--suite", str(suite), "--waivers", str(w), "--json", "r.json", "-q"]) == 0
    data = json.loads(Path("r.json").read_text())
    assert {t["nodeid"].split("::")[1]: t["verdict"] for t in data["tests"]}["test_order_fails"] == "XFAIL"
    assert cli.main(["run", "--suite", str(suite), "--req", "FAKE-002", "--area", "fifo",
                     "--json", "s.json", "-q"]) == 1
    names = {t["nodeid"].split("::")[1] for t in json.loads(Path("s.json").read_text())["tests"]}
    assert names == {"test_order_fails", "test_skips_itself"}


def test_run_rejects_a_bad_waiver_file(suite, tmp_path, capsys):
    w = tmp_path / "w.toml"
    w.write_text('[[waiver]]\ntest = "x"\nreason = "r"\nexpires = "soon"\n')
    assert cli.main(["run", "--suite", str(suite), "--waivers", str(w)]) == 2
    assert "must be a date" in capsys.readouterr().err


def test_report_rebuilds_formats_from_json(suite, tmp_path, capsys):
    cli.main(["run", "--suite", str(suite), "--json", "r.json", "-q"])
    capsys.readouterr()
    assert cli.main(["report", "r.json", "--html", "x.html", "--junit", "x.xml"]) == 1
    assert "data-req=\"FAKE-002\"" in Path("x.html").read_text()
    assert "<testsuites" in Path("x.xml").read_text()
    assert cli.main(["report", "r.json"]) == 1
    assert "FAIL  test_fake.py::test_order_fails" in capsys.readouterr().out
    Path("junk.json").write_text("{}")
    assert cli.main(["report", "junk.json"]) == 2
    assert cli.main(["report", "missing.json"]) == 2


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([PKG_PARENT, env.get("PYTHONPATH", "")])
    return env


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "vmsg_conform", "--help"], capture_output=True,
                          text=True, env=_env(), check=False)
    assert proc.returncode == 0
    for word in ("list", "run", "report", "matrix"):
        assert word in proc.stdout


def test_matrix_reports_caught_and_missed_faults(suite, tmp_path):
    fc = tmp_path / "faults.json"
    fc.write_text(json.dumps([
        {"name": "break-ping", "summary": "ping broken", "breaks": ["FAKE-001"], "modelled_on": "test"},
        {"name": "silent", "summary": "nothing fails", "breaks": "FAKE-001 FAKE-003", "modelled_on": "test"},
        {"name": "wrong-req", "summary": "only baseline failures", "breaks": ["FAKE-002"], "modelled_on": "t"},
    ]))
    out = tmp_path / "mx"
    proc = subprocess.run([sys.executable, "-m", "vmsg_conform", "matrix", "--suite", str(suite),
                           "--fault-catalogue", str(fc), "--out", str(out)],
                          capture_output=True, text=True, env=_env(), check=False, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads((out / "matrix.json").read_text())
    rows = {r["name"]: r for r in doc["faults"]}
    assert rows["break-ping"]["caught"] is True
    assert [(e["nodeid"], e["verdict"], e["broken"]) for e in rows["break-ping"]["evidence"]] == [
        ("test_fake.py::test_ping", "FAIL", ["FAKE-001"])]
    assert rows["silent"]["caught"] is False
    # test_order_fails fails without any fault too, so it proves nothing
    assert rows["wrong-req"]["caught"] is False
    assert all(r["collateral"] == [] for r in rows.values())
    assert doc["baseline"]["findings"] == ["test_fake.py::test_order_fails"]
    assert (doc["all_caught"], doc["no_collateral"], doc["clean_baseline"]) == (False, True, False)
    md = (out / "matrix.md").read_text()
    assert "| break-ping | FAKE-001 | 1 | 0 | 0 | `test_fake.py::test_ping` |" in md
    assert "Some faults are NOT caught." in md
    assert "2/3" not in proc.stdout and "1/3 faults caught; 0 collateral finding(s)" in proc.stdout
    assert "error: 1 test(s) report findings without any fault" in proc.stdout


def test_a_reader_that_leaves_early_gets_no_traceback():
    # `vmsg-conform list | head -1`: the listing is larger than a pipe buffer,
    # so the writer meets a closed pipe and must stop quietly.
    import subprocess  # noqa: PLC0415

    proc = subprocess.Popen([sys.executable, "-m", "vmsg_conform", "list"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert b"Traceback" not in err and b"BrokenPipe" not in err

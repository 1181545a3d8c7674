"""A target with no description (lib:ref) runs on its discovered topology,
`vmsg-conform describe` writes that topology as a description that gives the
same verdicts, and a target that cannot be opened at all ends the run with
one error, exit status 6 and reports holding that one error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from test_cli import suite  # noqa: F401 - the fake suite fixture, shared
from vmsg_conform import cli
from vmsg_conform.targets import EXIT_TARGET_UNOPENABLE, TargetDescription, TargetOpenError, lib, resolve
from vmsg_conform.targets.ref import DEFAULT_DESCRIPTION

pytest.importorskip("vmsg_conform._vmsg")

PKG_PARENT = str(Path(cli.__file__).resolve().parent.parent)
#: A few fast packaged tests that depend on the topology (GET_DEVICES, GET_DEVICE_INFO per device).
SUBSET = "described_devices or test_get_device_info_response_is_exact"


def _ref_library() -> Path:
    path = lib.find_ref_library()
    if path is None or not path.exists():
        pytest.skip("the reference DUT library is not built")
    return path


def _refusing_toml(tmp_path: Path) -> Path:
    p = tmp_path / "refuses.toml"
    p.write_text(TargetDescription.from_toml(DEFAULT_DESCRIPTION).to_toml(
        extra={"lib": {"path": str(_ref_library()), "config": "no-such-key=1"}}))
    return p


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([PKG_PARENT, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "vmsg_conform", *args], capture_output=True, text=True,
                          env=env, check=False, timeout=600)


# ---- lib with no description ---------------------------------------------------------


def test_lib_ref_without_a_description_discovers_the_default_topology():
    _ref_library()
    t = resolve("lib:ref")
    assert t.config() == t.config(profile="pr28") == ""
    assert t.config(["duplicate-response"], "rev1-2026") == "profile=rev1-2026 fault=duplicate-response"
    ref = TargetDescription.from_toml(DEFAULT_DESCRIPTION)
    found = t.description
    assert (found.num_fifos, found.pci_address) == (ref.num_fifos, ref.pci_address)
    assert [(d.fifo, d.dev_num, d.kind) for d in found.devices] == [(d.fifo, d.dev_num, d.kind) for d in ref.devices]
    dut = t.open(faults=["duplicate-response"])
    try:
        assert dut.amp.num_fifos() == 2
    finally:
        dut.close()


def test_a_library_refusing_its_creation_is_one_typed_error(tmp_path):
    t = resolve(f"lib:{_refusing_toml(tmp_path)}")
    with pytest.raises(TargetOpenError, match="no-such-key") as ei:
        t.open()
    assert "no-such-key=1" in ei.value.asked and "describe" in ei.value.hint


# ---- a run on a target that cannot be opened ----------------------------------------------


def test_a_run_on_a_refusing_library_is_one_error_with_its_own_exit_status(suite, tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli.main(["run", "--suite", str(suite), "--target", f"lib:{_refusing_toml(tmp_path)}",
                   "--out", str(out), "-q"])
    assert rc == EXIT_TARGET_UNOPENABLE == 6
    printed = capsys.readouterr().out
    assert printed.count("cannot open target") == 1 and "FAIL" not in printed
    data = json.loads((out / "report.json").read_text())
    assert data["tests"] == [] and len(data["errors"]) == 1 and "no-such-key" in data["errors"][0]
    assert data["metadata"]["target_error"]["hint"]
    suite_el = ET.parse(out / "junit.xml").getroot()
    suite_el = suite_el if suite_el.tag == "testsuite" else suite_el.find("testsuite")
    assert suite_el.get("errors") == "1" and suite_el.get("failures") == "0" and suite_el.get("tests") == "1"
    html = (out / "report.html").read_text()
    assert 'data-verdict="ERROR"' in html and 'id="matrix"' not in html and "no-such-key" in html


@pytest.mark.parametrize("what", ["missing", "not-a-library"])
def test_a_library_that_will_not_load_is_one_error_not_a_skipped_run(suite, tmp_path, capsys, what):
    path = tmp_path / "libvendor.so"
    if what == "not-a-library":
        path.write_text("not an ELF file\n")
    out = tmp_path / "out"
    rc = cli.main(["run", "--suite", str(suite), "--target", f"lib:{path}", "--out", str(out), "-q"])
    assert rc == EXIT_TARGET_UNOPENABLE
    printed = capsys.readouterr().out
    assert printed.count("cannot open target") == 1 and str(path) in printed
    data = json.loads((out / "report.json").read_text())
    assert data["tests"] == [] and len(data["errors"]) == 1


def test_an_openable_target_runs_as_before(suite, tmp_path):
    # the probe opens the target once and changes nothing else
    assert cli.main(["run", "--suite", str(suite), "--json", "r.json", "-k", "ping", "-q"]) == 0
    data = json.loads(Path("r.json").read_text())
    assert data["errors"] == [] and "target_error" not in data["metadata"]


def test_run_help_documents_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    assert "6  the target could not be opened" in capsys.readouterr().out


# ---- describe ---------------------------------------------------------------------------


def test_describe_prints_a_description_that_parses_back(tmp_path, capsys):
    _ref_library()
    assert cli.main(["describe", "lib:ref"]) == 0
    text = capsys.readouterr().out
    path = tmp_path / "described.toml"
    path.write_text(text)
    target = resolve(f"lib:{path}")
    ref = TargetDescription.from_toml(DEFAULT_DESCRIPTION)
    assert [(d.fifo, d.dev_num, d.kind) for d in target.description.devices] == \
        [(d.fifo, d.dev_num, d.kind) for d in ref.devices]
    assert Path(target.spec.library) == _ref_library().resolve()


def test_describe_of_an_unopenable_target_is_exit_6(tmp_path, capsys):
    bad = tmp_path / "bad.so"
    bad.write_text("not a library")
    assert cli.main(["describe", f"lib:{bad}"]) == 2  # not loadable: unavailable, a usage error
    assert "bad.so" in capsys.readouterr().err


def test_describe_then_run_gives_the_same_verdicts(tmp_path):
    _ref_library()
    described = tmp_path / "described.toml"
    r = _cli("describe", "lib:ref", "-o", str(described))
    assert r.returncode == 0, r.stderr
    verdicts = {}
    for name, spec in (("discovered", "lib:ref"), ("described", f"lib:{described}")):
        report = tmp_path / f"{name}.json"
        r = _cli("run", "--target", spec, "-k", SUBSET, "--fail-on", "info", "--json", str(report), "-q")
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        verdicts[name] = {t["nodeid"]: t["verdict"] for t in json.loads(report.read_text())["tests"]}
    assert verdicts["discovered"] and verdicts["discovered"] == verdicts["described"]
    assert set(verdicts["discovered"].values()) <= {"PASS", "SKIP"}


def test_a_qtest_server_that_does_not_start_is_one_error(suite, tmp_path):
    # vmsg-ref-qtest refuses a fault it does not know and exits before answering
    rc = cli.main(["run", "--suite", str(suite), "--target", "qtest", "--fault", "not-a-fault",
                   "--json", "r.json", "-q"])
    assert rc == EXIT_TARGET_UNOPENABLE
    data = json.loads(Path("r.json").read_text())
    assert data["tests"] == [] and len(data["errors"]) == 1
    error = data["metadata"]["target_error"]
    assert error["asked"].startswith("to start ") and "--fault not-a-fault" in error["asked"]
    assert error["answered"] and "by hand" in error["hint"]


@pytest.mark.parametrize(("change", "says"), [
    ({"device_id": 0x1234}, r"10ee:1234 at 00:04.0.*00:04.0 reads 10ee:9039"),
    ({"pci_address": "00:05.0"}, r"at 00:05.0.*reads ffff:ffff; the scan of bus 0 found .*00:04.0 10ee:9039"),
])
def test_a_description_naming_the_wrong_function_is_one_error(tmp_path, change, says):
    # the library builds its default topology at 04.0 whatever the description says
    data = TargetDescription.from_toml(DEFAULT_DESCRIPTION).to_dict() | change
    p = tmp_path / "wrong.toml"
    p.write_text(TargetDescription.from_dict(data).to_toml(extra={"lib": {"path": str(_ref_library()), "config": ""}}))
    with pytest.raises(TargetOpenError, match=says) as ei:
        resolve(f"lib:{p}").probe()
    assert "describe" in ei.value.hint
    resolve("lib:ref").probe()  # the right function is there

"""The named fault set qemu-v2 is the stand-in for QEMU's virtio-msg-amp-pci
device as observed (shared/spec/qemu-observed.md §4-§9). Run on the
embedded reference, the packaged suite must:

* report only deviations the set breaks (no collateral finding);
* let the virtqueue and device I/O tests pass, as they do against QEMU;
* find exactly the distinct broken requirements the README lists, each
  traced there to a behaviour QEMU showed.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vmsg_conform import cli

_vmsg = pytest.importorskip("vmsg_conform._vmsg")

#: The distinct broken requirements and their verdicts (README, "QEMU's
#: device as observed"). A change here is a change of what the suite claims
#: about QEMU: update the README table with it.
EXPECTED = {
    "VMSG-BUS-028": "FAIL", "VMSG-BUS-042": "FAIL", "VMSG-DEV-055": "FAIL", "VMSG-BUS-013": "FAIL",
    "VMSG-BUS-024": "FAIL", "VMSG-BUS-044": "FAIL", "AMP-014": "FAIL", "VMSG-BUS-043": "FAIL",
    "VMSG-DEV-034": "FAIL", "VMSG-BUS-035": "FAIL", "VIRTIO-CORE-050": "FAIL",
    "VMSG-DEV-049": "WARN", "VMSG-BUS-045": "WARN", "VIRTIO-BLK-021": "WARN",
    "READ-G12": "INFO", "READ-G01": "INFO", "AMP-006": "INFO", "READ-G03": "INFO",
}
#: Files whose tests do virtqueue and device I/O (event and config tests of
#: the balloon are not I/O: they check EVENT_CONFIG, which QEMU never sends).
IO_FILES = ("test_virtqueue.py", "test_device_rng.py", "test_device_blk.py", "test_msg_event_used.py")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("qemu-v2") / "report.json"
    proc = subprocess.run([sys.executable, "-m", "vmsg_conform", "run", "--target", "ref",
                           "--fault-set", "qemu-v2", "--json", str(out), "-q"],
                          capture_output=True, text=True, env=cli._child_env(), check=False)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]  # findings: FAIL
    return json.loads(out.read_text()), proc.stdout


def _breaks_of_the_set() -> set[str]:
    sets = {s.name: list(s.members) for s in _vmsg.fault.all_fault_sets()}
    faults = {f.name: f.breaks.split() for f in _vmsg.fault.all_faults()}
    return {r for m in sets["qemu-v2"] for r in faults[m]}


def test_every_finding_names_a_requirement_the_set_breaks(run):
    data, _ = run
    breaks = _breaks_of_the_set()
    graded = [t for t in data["tests"] if t["verdict"] in ("FAIL", "WARN", "INFO")]
    assert graded
    collateral = [(t["nodeid"], t["broken"]) for t in graded if not set(t["broken"]) & breaks]
    assert collateral == []


def test_blocked_tests_name_a_test_that_reports_the_deviation(run):
    data, _ = run
    blocked = [t for t in data["tests"] if t["verdict"] == "BLOCKED"]
    assert all(t["blocked_by"] and t["blocked_by_test"] for t in blocked), blocked
    assert data["warnings"] == []


def test_virtqueue_and_device_io_pass_as_on_qemu(run):
    data, _ = run
    io = [t for t in data["tests"] if Path(t["nodeid"].split("::")[0]).name in IO_FILES]
    assert len(io) > 30
    assert [(t["nodeid"], t["verdict"], t["message"]) for t in io if t["verdict"] != "PASS"] == []
    balloon_io = [t for t in data["tests"] if "test_balloon_pfn_list_is_consumed" in t["nodeid"]
                  or "test_balloon_actual_is_written_by_the_driver" in t["nodeid"]]
    assert len(balloon_io) >= 2
    assert [(t["nodeid"], t["verdict"]) for t in balloon_io if t["verdict"] != "PASS"] == []


def test_distinct_broken_requirements_are_the_documented_ones(run):
    data, stdout = run
    got = {c["req"]: c["verdict"] for c in data["root_causes"]}
    assert got == EXPECTED
    assert f"distinct broken requirements: {len(EXPECTED)} (FAIL 11, WARN 3, INFO 4)" in stdout

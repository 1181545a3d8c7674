"""Differential runs: identical targets never diverge; a reference fault on
one side is found, with what diverged, the request in flight and the steps
leading there; differences of the platform (q35's own PCI functions) are
counted apart and never a divergence."""

from __future__ import annotations

import pytest

from vmsg_conform import cli, diff, targets
from vmsg_conform import transcript as tr
from vmsg_fakes import without_chipset

_vmsg = pytest.importorskip("vmsg_conform._vmsg")


@pytest.mark.parametrize("spec_b", ["lib:ref", "qtest"])
def test_ref_and_its_other_packagings_never_diverge(spec_b):
    b = targets.resolve(spec_b)
    if b.available() is not None:
        pytest.skip(b.available())
    report = diff.diff_targets(targets.resolve("ref"), b)
    assert set(report.results) == set(diff.SEQUENCES)
    assert report.first is None, report.text()
    assert not any(report.platform.values()), report.text()  # the same q35 chipset on all three
    assert all(n > 0 for n in report.steps.values())
    assert report.steps["virtqueue"] > report.steps["ping"]  # the round trip really ran


def test_a_fault_on_one_side_is_the_first_divergence():
    report = diff.diff_targets(targets.resolve("ref"), targets.resolve("ref"), faults_b=["no-get-shm-response"])
    d = report.first
    assert d is not None and d.sequence == "get-shm"
    assert [n for n, r in report.results.items() if r is not None] == ["get-shm"]
    assert d.leading and d.step_a is not None
    assert d.exchange == "GET_SHM to dev_num 1 on FIFO 0"
    text = report.text()
    assert "ref+no-get-shm-response" in text and "diverges at step" in text and "leading there" in text


def test_on_qtest_a_missing_get_shm_response_is_the_first_divergence(capsys):
    """The issue's own command: qtest (vmsg-ref-qtest, q35 chipset and all)
    against itself with the fault on B names the GET_SHM exchange first."""
    qtest = targets.resolve("qtest")
    if qtest.available() is not None:
        pytest.skip(qtest.available())
    assert cli.main(["diff", "--target", "qtest", "--target", "qtest", "--fault-b", "no-get-shm-response"]) == 1
    out = capsys.readouterr().out
    diverging = [ln.split()[0] for ln in out.splitlines() if "DIVERGES" in ln]
    assert diverging == ["get-shm"], out
    first = out.split("first divergence:\n", 1)[1]
    assert first.startswith("sequence 'get-shm' diverges at step") and "FIFO 0 device queue" in first
    assert "in the exchange of: GET_SHM to dev_num 1 on FIFO 0" in first
    assert "platform difference" not in out


def test_a_machine_without_q35s_chipset_differs_only_in_the_platform():
    """Every bus-0 scan differs (no host bridge, no ICH9), the device does not:
    no divergence, and the scan's differences are counted, not reported."""
    report = diff.diff_targets(targets.resolve("ref"), without_chipset(targets.resolve("ref")),
                               sequences=["bring-up", "get-shm"])
    assert report.first is None, report.text()
    assert all(n > 0 for n in report.platform.values()), report.platform
    assert "platform difference(s) ignored" in report.text()
    with_fault = diff.diff_targets(targets.resolve("ref"), without_chipset(targets.resolve("ref")),
                                   faults_b=["no-get-shm-response"], sequences=["bring-up", "get-shm"])
    assert with_fault.first is not None and with_fault.first.sequence == "get-shm"
    assert with_fault.first.exchange.startswith("GET_SHM")


def test_an_extra_response_is_classified_as_the_device_queue():
    report = diff.diff_targets(targets.resolve("ref"), targets.resolve("ref"), faults_b=["duplicate-response"],
                               sequences=["get-device-status"])
    d = report.first
    assert d is not None and d.what.startswith("FIFO 0 device queue")
    assert d.step_a.op == "mmio_read" and d.step_b.answer == d.step_a.answer + 1  # head moved by two, not one
    assert "readl" in report.text()


def _run(*answers):
    t = tr.Transcript(steps=[tr.Step("mmio_read", addr=0x1000 + 4 * i, size=4, answer=a) for i, a in enumerate(answers)])
    return diff.SequenceRun(t)


def test_only_the_device_steps_decide_a_divergence():
    chipset = (0, 0, 0)
    scope = tr.DeviceScope((0, 4, 0), ram_end=0x100_0000, windows=((0xE000_0000, 0x4000),))

    def run(host_bridge_id, head):
        return diff.SequenceRun(tr.Transcript(steps=[
            tr.Step("config_read", addr=0, size=2, fn=chipset, answer=host_bridge_id),
            tr.Step("config_read", addr=0, size=4, fn=(0, 4, 0), answer=0x903910EE),
            tr.Step("mmio_read", addr=0xF000_0000, size=4, answer=host_bridge_id),  # nothing decodes it
            tr.Step("mmio_read", addr=0xE000_0000, size=4, answer=head)]), scope=scope,
            regions=diff.Regions(bars={0: (0xE000_0000, 0x4000)}))
    q35, bare = run(0x8086, 1), run(0xFFFF, 1)
    assert diff.first_divergence("s", q35, bare) is None
    assert diff.platform_differences(q35, bare) == 2
    d = diff.first_divergence("s", q35, run(0xFFFF, 2))
    assert d.index == 3 and d.what == "BAR0 register +0x0" and [s.fn for s in d.leading] == [(0, 4, 0)]


def test_first_divergence_compares_step_by_step():
    assert diff.first_divergence("s", _run(1, 2, 3), _run(1, 2, 3)) is None
    d = diff.first_divergence("s", _run(1, 2, 3), _run(1, 5, 3))
    assert d.index == 1 and d.step_a.answer == 2 and d.step_b.answer == 5 and len(d.leading) == 1
    short = diff.first_divergence("s", _run(1, 2, 3), _run(1, 2))
    assert short.index == 2 and short.step_b is None and "stopped earlier" in short.what
    failed = diff.SequenceRun(_run(1).transcript, error="LinkFailure: no response")
    assert diff.first_divergence("s", _run(1), failed).what == "the sequence failed on one target only"


def test_diff_command_exit_status(capsys):
    assert cli.main(["diff", "--target", "ref", "--target", "ref", "--sequence", "ping"]) == 0
    assert "no divergence" in capsys.readouterr().out
    assert cli.main(["diff", "--target", "ref", "--target", "ref", "--fault-b", "no-get-shm-response",
                     "--sequence", "get-shm"]) == 1
    assert "first divergence" in capsys.readouterr().out
    assert cli.main(["diff", "--target", "ref", "--sequence", "nope"]) == 2

"""Differential runs: identical targets never diverge; a reference fault on
one side is found, with what diverged and the steps leading there."""

from __future__ import annotations

import pytest

from vmsg_conform import cli, diff, targets
from vmsg_conform import transcript as tr

_vmsg = pytest.importorskip("vmsg_conform._vmsg")


@pytest.mark.parametrize("spec_b", ["lib:ref", "qtest"])
def test_ref_and_its_other_packagings_never_diverge(spec_b):
    b = targets.resolve(spec_b)
    if b.available() is not None:
        pytest.skip(b.available())
    report = diff.diff_targets(targets.resolve("ref"), b)
    assert set(report.results) == set(diff.SEQUENCES)
    assert report.first is None, report.text()
    assert all(n > 0 for n in report.steps.values())
    assert report.steps["virtqueue"] > report.steps["ping"]  # the round trip really ran


def test_a_fault_on_one_side_is_the_first_divergence():
    report = diff.diff_targets(targets.resolve("ref"), targets.resolve("ref"), faults_b=["no-get-shm-response"])
    d = report.first
    assert d is not None and d.sequence == "get-shm"
    assert [n for n, r in report.results.items() if r is not None] == ["get-shm"]
    assert d.leading and d.step_a is not None
    text = report.text()
    assert "ref+no-get-shm-response" in text and "diverges at step" in text and "leading there" in text


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

"""The cross-profile check (cross_profile.py, `vmsg-conform cross-profile`): the
reference built in one draft and judged under the other fails only where the
drafts differ."""
from __future__ import annotations

import json
import tomllib
from types import SimpleNamespace

import pytest

from vmsg_conform import catalogue, cli, cross_profile
from vmsg_conform.targets.ref import DEFAULT_DESCRIPTION

#: Rules both drafts share that a REV1 device still fails under PR28: a PR28 driver's
#: SET_VQUEUE (flags 0) is REV1's "configure, keep disabled" (virtio-msg-rev1.md delta 4),
#: so every test that needs a live queue fails on the rule it checks with one; and when
#: the stateful machine happens to send RESET_VQUEUE without RING_RESET, PR28's reading
#: G8 resets the queue where REV1 changes nothing (R1-DEV-083), which shows as a
#: queue that is not back to cur_size 0 (VMSG-DEV-055).
QUEUE_SERVICE = {"VMSG-DEV-002", "VMSG-DEV-012", "VMSG-DEV-013", "VMSG-DEV-029", "VMSG-DEV-033",
                 "VMSG-DEV-042", "VMSG-DEV-052", "VMSG-DEV-053", "VMSG-DRV-016", "VMSG-DEV-055"}


def test_description_text_fixes_the_device_draft_first_or_in_place():
    text = DEFAULT_DESCRIPTION.read_text(encoding="utf-8")
    fixed = tomllib.loads(cross_profile.description_text(text, "rev1-2026"))
    assert fixed["device_profile"] == "rev1-2026" and len(fixed["devices"]) == 3
    again = cross_profile.description_text(cross_profile.description_text(text, "rev1-2026"), "pr28")
    assert again.count("device_profile") == 1 and tomllib.loads(again)["device_profile"] == "pr28"


def _t(nodeid, verdict, broken=(), message="m", blocked_by=None):
    return SimpleNamespace(nodeid=nodeid, verdict=verdict, broken=list(broken), message=message,
                           blocked_by=blocked_by)


def test_judge_sorts_findings_into_changed_and_shared_rules():
    cat = catalogue.load()
    tests = [_t("a::t1", "FAIL", ["R1-DEV-037"]), _t("a::t2", "FAIL", ["R1-BUS-069"]),
             _t("a::t3", "FAIL", ["R1-DEV-037"]), _t("a::t4", "BLOCKED", blocked_by="R1-DEV-050"),
             _t("a::t5", "PASS"), _t("a::t6", "INFO", ["READ-G01"])]
    d = cross_profile.judge(tests, cat, "pr28", "rev1-2026")
    assert d.counts == {"FAIL": 3, "BLOCKED": 1, "PASS": 1, "INFO": 1}
    by = {f.rid: f for f in d.findings}
    assert not by["R1-DEV-037"].shared and by["R1-DEV-037"].verdicts == {"FAIL": 2}
    assert by["R1-BUS-069"].shared  # PING echo: the same rule in PR28 (VMSG-BUS-047)
    assert by["READ-G01"].shared  # a reading both profiles hold
    assert {f.rid for f in d.shared} == {"R1-BUS-069", "READ-G01"}
    assert d.findings[0].rid == "R1-DEV-037"  # rules that differ come first
    assert d.blocked_by == {"R1-DEV-050": 1}
    md = cross_profile.markdown([d])
    assert "## A pr28 device judged under rev1-2026" in md and "| R1-DEV-037 | MUST | no | 2 FAIL |" in md


def test_cross_profile_separates_the_drafts(tmp_path, capsys):
    pytest.importorskip("vmsg_conform._vmsg")
    assert cli.main(["cross-profile", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "cross-profile.json").read_text(encoding="utf-8"))
    pr28_dev, rev1_dev = doc["directions"]
    assert (pr28_dev["device_profile"], pr28_dev["judged_as"]) == ("pr28", "rev1-2026")
    # a PR28 device under REV1: FAILs only on rules REV1 added or changed
    found = {f["id"]: f for f in pr28_dev["findings"]}
    assert not [f for f in found.values() if f["in_both_drafts"]], found
    # the layouts (GET_DEVICE_INFO, GET_SHM) and behaviours (generation, SET_VQUEUE flags) that differ
    assert {"R1-DEV-050", "R1-DEV-048", "R1-DEV-012", "R1-DEV-075"} <= set(found)
    # a REV1 device under PR28: the PR28 layouts and rules it does not follow ...
    found = {f["id"]: f for f in rev1_dev["findings"]}
    assert {"VMSG-DEV-045", "VMSG-DEV-059", "VMSG-BUS-046", "VMSG-DEV-010"} <= set(found)
    # ... and, of the rules both drafts have, only those a live queue is needed for (delta 4)
    shared = {f["id"] for f in found.values() if f["in_both_drafts"]}
    assert shared <= QUEUE_SERVICE, shared - QUEUE_SERVICE
    assert (tmp_path / "cross-profile.md").read_text(encoding="utf-8").count("| requirement |") == 2
    assert "0 of them in both drafts" in capsys.readouterr().out


def test_cross_profile_takes_the_reference_only(tmp_path):
    assert cli.main(["cross-profile", "--target", "lib:ref", "--out", str(tmp_path)]) == 2

"""Transcripts: recording in qtest format, parsing, collapsing bulk writes,
replay against targets, what belongs to the device under test (the rest is
platform: counted, never a failure), the plugin writing one per failing
test, and the `replay` command."""

from __future__ import annotations

import json

import pytest

from vmsg_conform.cli import _plugin_args  # -p vmsg_conform.plugin unless the entry point loads it

from vmsg_conform import cli, targets
from vmsg_conform import transcript as tr
from vmsg_fakes import Q35_CHIPSET, without_chipset

_vmsg = pytest.importorskip("vmsg_conform._vmsg")

pytest_plugins = ["pytester"]


def _ping(dut, data=0xABCD):
    v = _vmsg
    return dut.link(0).request(v.wire.Message(dev_num=0, token=0, body=v.wire.PingReq(data=data)))


def _record(spec="ref", faults=(), action=_ping):
    t = targets.resolve(spec) if isinstance(spec, str) else spec
    dut = t.open(faults=list(faults))
    rec = tr.record_dut(dut, {"target": t.name})
    try:
        action(dut)
    finally:
        dut.close()
    return rec.transcript


def _replay(t, spec="ref", faults=()):
    """(device mismatches, platform mismatches) of `t` replayed on `spec`."""
    target = targets.resolve(spec)
    if target.available() is not None:
        pytest.skip(target.available())
    dut = target.open(faults=list(faults))
    try:
        scope = tr.DeviceScope.learn(t.steps, tr.device_function(t, (0, 4, 0)), tr.ram_end(dut.port.address_map()))
        out = tr.replay(t, dut.port, scope=scope)
    finally:
        dut.close()
    return [m for m in out if not m.platform], [m for m in out if m.platform]


def _get_shm(dut):
    _ping(dut)
    dut.link(0).request(_vmsg.wire.Message(dev_num=1, token=0, body=_vmsg.wire.GetShmReq(index=0)))


def test_recording_writes_qtest_commands_with_answers():
    text = _record().to_text()
    lines = text.splitlines()
    assert lines[0] == f"# {tr.FORMAT}"
    # the first config read of the probe: CF8 address, then CFC data, as a q35 qtest client does
    i = lines.index("[R] outl 0xcf8 0x80002000")  # 00:04.0, offset 0
    assert lines[i + 1:i + 4] == ["[S] OK", "[R] inw 0xcfc", "[S] OK 0x10ee"]
    assert any(ln.startswith("[R] writel 0x") for ln in lines)  # NOTIFY
    assert any(ln.startswith("[R] b64read 0x") for ln in lines)  # response slot / MSI word


def test_the_header_names_the_device_and_its_scope_is_learnt_from_the_steps():
    bars = {}

    def action(dut):
        _ping(dut)
        bars.update({0: (dut.amp.bar0(), 0x4000), 1: (dut.amp.bar1(), 0x4000 * dut.description.num_fifos),
                     2: (dut.amp.bar2(), 0x1000)})
    t = tr.parse(_record(action=action).to_text())
    assert t.header["device"] == "00:04.0" and tr.device_function(t, (0, 9, 0)) == (0, 4, 0)
    scope = tr.DeviceScope.learn(t.steps, (0, 4, 0), ram_end=128 << 20)
    assert sorted(scope.windows) == sorted(bars.values())
    on_chipset = [s for s in t.steps if s.fn in Q35_CHIPSET]
    assert on_chipset and not any(scope.covers(s) for s in on_chipset)  # the scan saw q35's functions
    assert all(scope.covers(s) for s in t.steps if s.fn is None)  # BARs, rings, MSI words: all the device's
    assert not scope.covers(tr.Step("mmio_read", addr=0xF000_0000, size=4))  # nothing decodes it
    t.header.pop("device")
    assert tr.device_function(t, (0, 9, 0)) == (0, 9, 0)  # older transcripts: the target's address
    t.header["device"] = "nope"
    with pytest.raises(tr.TranscriptError, match="device: nope"):
        tr.device_function(t, (0, 4, 0))


def test_a_ref_transcript_replays_on_qtest_without_any_difference():
    t = tr.parse(_record(action=_get_shm).to_text())
    assert _replay(t, "qtest") == ([], [])
    device, platform = _replay(t, "qtest", faults=["no-get-shm-response"])
    assert device and not platform  # the fault shows, and only as the device's


def test_platform_differences_are_counted_apart_from_the_device(tmp_path, capsys):
    text = _record(action=_get_shm).to_text()
    edited = text.replace("[R] outl 0xcf8 0x8000f800\n[S] OK\n[R] inl 0xcfc\n[S] OK 0x29188086",
                          "[R] outl 0xcf8 0x8000f800\n[S] OK\n[R] inl 0xcfc\n[S] OK 0x12345678", 1)
    assert edited != text  # the scan read 00:1f.0's IDs
    device, platform = _replay(tr.parse(edited))
    assert device == [] and [m.recorded for m in platform] == [0x12345678]
    path = tmp_path / "edited.qtest"
    path.write_text(edited)
    assert cli.main(["replay", str(path), "--target", "lib:ref"]) == 0
    out = capsys.readouterr().out
    assert "every answer matches" in out and "1 platform difference(s) ignored" in out
    assert cli.main(["replay", str(path), "--target", "ref", "--fault", "no-get-shm-response", "--platform"]) == 1
    out = capsys.readouterr().out
    assert "answer(s) differ" in out and "recorded: OK 0x12345678" in out


def test_a_transcript_from_a_machine_without_the_chipset_replays_clean():
    t = _record(without_chipset(targets.resolve("ref")), action=_get_shm)
    device, platform = _replay(tr.parse(t.to_text()))
    assert device == [] and platform
    assert {m.step.fn for m in platform} <= Q35_CHIPSET | {None}


def test_parse_gives_back_the_recorded_steps():
    t = _record()
    back = tr.parse(t.to_text())
    assert [s.key() for s in back.steps] == [s.key() for s in t.steps]
    assert [s.answer for s in back.steps] == [s.answer for s in t.steps]
    assert back.header["target"] == "ref"


def test_bulk_writes_are_collapsed_and_long_reads_digested():
    def action(dut):
        base = dut.ram.alloc(8192, 4096)
        dut.port.mem_write(base, bytes(4096))              # uniform -> memset
        dut.port.mem_write(base + 4096, bytes(4096))       # continues it
        dut.port.mem_write(base, b"\x01\x02" * 8)          # data
        dut.port.mem_write(base + 16, b"\x03\x04" * 8)     # merged into the previous write
        dut.port.mem_read(base, 4096)                      # long read -> digest
    t = _record(action=action)
    ops = [s.op for s in t.steps]
    assert ops == ["memset", "mem_write", "mem_read"]
    assert t.steps[0].size == 8192 and t.steps[1].size == 32
    assert isinstance(t.steps[2].answer, str) and t.steps[2].answer.startswith("sha256:")
    assert len(t.to_text()) < 1000


def test_replay_on_the_same_target_matches_and_a_fault_shows_where():
    def action(dut):
        v = _vmsg
        _ping(dut)
        dut.link(0).request(v.wire.Message(dev_num=1, token=0, body=v.wire.GetDeviceStatusReq()))
    t = _record(action=action)
    dut = targets.resolve("ref").open()
    try:
        assert tr.replay(t, dut.port) == []
    finally:
        dut.close()
    dut = targets.resolve("ref").open(faults=["duplicate-response"])
    try:
        mism = tr.replay(t, dut.port)
    finally:
        dut.close()
    assert mism, "a fault that changes what the device queue holds must show in the replay"
    assert mism[0].step.op in tr.READ_OPS and mism[0].index > 0


def test_a_changed_answer_is_reported_at_its_line(tmp_path):
    t = _record()
    text = t.to_text().replace("[S] OK 0x10ee", "[S] OK 0x1234", 1)
    path = tmp_path / "t.qtest"
    path.write_text(text)
    back = tr.Transcript.load(path)
    dut = targets.resolve("ref").open()
    try:
        (m,) = tr.replay(back, dut.port, stop_after=1)
    finally:
        dut.close()
    assert m.recorded == 0x1234 and m.got == 0x10EE
    assert text.splitlines()[m.step.line - 1] == "[R] inw 0xcfc"
    assert "recorded: OK 0x1234" in m.describe()


def test_bare_qtest_commands_replay_without_comparison():
    t = tr.parse("outl 0xcf8 0x80002000\ninl 0xcfc\nreadl 0xe0000000\nclock_step 1000\n")
    assert [s.op for s in t.steps] == ["config_read", "mmio_read", "advance_time"]
    assert t.steps[0].fn == (0, 4, 0)
    dut = targets.resolve("ref").open()
    try:
        assert tr.replay(t, dut.port) == []
    finally:
        dut.close()


@pytest.mark.parametrize("text, what", [
    ("inl 0xcfc\n", "without an enabled 0xcf8"),
    ("outb 0x80 1\n", "not configuration space"),
    ("b64write 0x1000 0x4 AAAA\n", "payload is 3 bytes"),
    ("frobnicate 1\n", "cannot be replayed"),
    ("readl zz\n", "not a number"),
    ("readl 0x10\n[S] maybe\n", "neither OK"),
])
def test_malformed_lines_are_typed_errors_naming_the_line(text, what):
    with pytest.raises(tr.TranscriptError, match=what) as info:
        tr.parse(text)
    assert "line " in str(info.value)


FAILING_TEST = '''
import pytest
from vmsg_conform import _vmsg as v

@pytest.mark.req("VMSG-BUS-002")
def test_ping_then_fail(dut):
    dut.link(0).request(v.wire.Message(dev_num=0, token=0, body=v.wire.PingReq(data=7)))
    dut.link(0).request(v.wire.Message(dev_num=1, token=0, body=v.wire.GetDeviceStatusReq()))
    assert False, "deliberate"

@pytest.mark.req("VMSG-BUS-002")
def test_passes(dut):
    dut.link(0).request(v.wire.Message(dev_num=0, token=0, body=v.wire.PingReq(data=7)))

@pytest.mark.req("VMSG-BUS-002")
def test_fails_by_tolerating_what_it_cites(dut):
    dut.link(0).request(v.wire.Message(dev_num=0, token=0, body=v.wire.PingReq(data=7)))
    dut.tolerate("VMSG-BUS-002", "worked around")
'''


def test_plugin_writes_a_transcript_per_failing_test_and_it_replays(pytester, monkeypatch, capsys):
    pytester.makepyfile(test_tx=FAILING_TEST)
    # the child runs in pytester's directory: a relative PYTHONPATH would not reach the package
    monkeypatch.setenv("PYTHONPATH", cli._child_env()["PYTHONPATH"])
    res = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider",
                                        "--vmsg-transcripts", "tx", "--vmsg-json", "r.json")
    data = json.loads((pytester.path / "r.json").read_text())
    assert {t["nodeid"].split("::")[-1]: t["verdict"] for t in data["tests"]} == {
        "test_ping_then_fail": "FAIL", "test_passes": "PASS",
        "test_fails_by_tolerating_what_it_cites": "FAIL"}, res.stdout.str()[-2000:]
    files = sorted((pytester.path / "tx").iterdir())
    # a FAIL that comes from a tolerated deviation gets its transcript too
    assert [f.name for f in files] == ["test_tx.py_test_fails_by_tolerating_what_it_cites.qtest",
                                       "test_tx.py_test_ping_then_fail.qtest"]
    ping = files[1]
    head = ping.read_text().splitlines()[:6]
    assert "# test: test_tx.py::test_ping_then_fail" in head
    assert cli.main(["replay", str(ping), "--target", "lib:ref"]) == 0
    assert "every answer matches" in capsys.readouterr().out
    assert cli.main(["replay", str(ping), "--target", "ref", "--fault", "duplicate-response"]) == 1
    assert "answer(s) differ" in capsys.readouterr().out


def test_replay_command_reports_unreadable_files(tmp_path, capsys):
    bad = tmp_path / "bad.qtest"
    bad.write_text("readl\n")
    assert cli.main(["replay", str(bad)]) == 2
    assert "line 1" in capsys.readouterr().err

"""The qemu and qtest targets: command lines, the availability probe (Debian's
QEMU 7.2 has no amp device and must skip cleanly), the reference behind qtest,
and crash reporting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vmsg_conform.cli import _plugin_args  # -p vmsg_conform.plugin unless the entry point loads it

from vmsg_conform import cli, targets
from vmsg_conform.targets import qemu as qemu_mod
from vmsg_conform.targets.description import ExpectedDevice, TargetDescription
from vmsg_conform.targets.qtest_cmdline import MACHINES, build_args, bus_path, capacity_bytes
from vmsg_fakes import run_suite

_vmsg = pytest.importorskip("vmsg_conform._vmsg")
if not hasattr(_vmsg, "qtest"):
    pytest.skip("native module built without the qtest bindings", allow_module_level=True)

pytest_plugins = ["pytester"]

DEBIAN_QEMU = "/usr/bin/qemu-system-x86_64"
PKG_PARENT = str(Path(qemu_mod.__file__).resolve().parents[2])


def _device_args(args: list[str]) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == "-device"]


# ---- command lines ------------------------------------------------------------------------------


def test_q35_command_line_places_every_device_on_its_described_slot():
    desc = TargetDescription.from_toml(targets.DEFAULT_DESCRIPTION)
    args = build_args(desc, MACHINES["q35"], "qemu")
    devs = _device_args(args)
    assert args[:2] == ["-M", "q35"]
    assert devs[0] == "virtio-msg-amp-pci,id=amp0,addr=04.0,num-fifos=2"
    assert devs[1].startswith("virtio-rng-device,bus=/q35-pcihost/pcie.0/amp0/fifo0/virtio-msg/bus1/virtio-msg-dev")
    assert "rng=rng0" in devs[1] and "rng-builtin,id=rng0" in args
    assert devs[2] == "virtio-blk-device,bus=/q35-pcihost/pcie.0/amp0/fifo0/virtio-msg/bus2/virtio-msg-dev,drive=disk1"
    assert "driver=file,node-name=file1,filename=DISKDIR/disk1.raw" in args
    assert "driver=raw,node-name=disk1,file=file1" in args
    assert devs[3] == "virtio-balloon-device,bus=/q35-pcihost/pcie.0/amp0/fifo1/virtio-msg/bus1/virtio-msg-dev"


def test_blk_devices_get_raw_image_files_of_the_described_capacity(tmp_path):
    desc = TargetDescription(name="t", devices=[
        ExpectedDevice(0, 1, "virtio-blk-device", 2, {"capacity": "2M"}),
        ExpectedDevice(0, 2, "virtio-rng-device", 4),
        ExpectedDevice(0, 3, "virtio-blk-device", 2, {"capacity": "16", "read_only": "on"})])
    args = build_args(desc, MACHINES["q35"], "qemu", disk_dir=str(tmp_path))
    nodes = [args[i + 1] for i, a in enumerate(args) if a == "-blockdev"]
    assert nodes == [f"driver=file,node-name=file0,filename={tmp_path}/disk0.raw",
                     "driver=raw,node-name=disk0,file=file0",
                     f"driver=file,node-name=file2,filename={tmp_path}/disk2.raw,read-only=on",
                     "driver=raw,node-name=disk2,file=file2,read-only=on"]
    devs = _device_args(args)
    assert devs[1].endswith(",drive=disk0") and devs[3].endswith(",drive=disk2")
    assert [(d.index, d.size) for d in qemu_mod.disk_images(desc, str(tmp_path))] == [(0, 2 << 20), (2, 16 * 512)]
    with pytest.raises(ValueError, match="comma"):
        build_args(desc, MACHINES["q35"], "qemu", disk_dir="/tmp/a,b")
    # vmsg-ref-qtest keeps its own in-memory disk
    assert "-blockdev" not in build_args(desc, MACHINES["q35"], "ref", disk_dir=str(tmp_path))


def test_a_qemu_run_makes_blank_sparse_images_and_names_them():
    target = qemu_mod.QemuTarget(binary="qemu-system-x86_64")
    d = target._make_disks()
    try:
        imgs = qemu_mod.disk_images(target.description, d)
        assert imgs and all(Path(i.path).stat().st_size == i.size for i in imgs)
        assert Path(imgs[0].path).read_bytes()[:512] == bytes(512)
        assert f"filename={imgs[0].path}" in " ".join(target.command_line(disk_dir=d))
    finally:
        import shutil
        shutil.rmtree(d)


def test_virt_bus_path_uses_the_gpex_host_bridge():
    assert bus_path(MACHINES["virt"], 3, 17) == "/gpex-pcihost/pcie.0/amp0/fifo3/virtio-msg/bus17/virtio-msg-dev"
    assert qemu_mod.machine_for_binary("/opt/qemu/bin/qemu-system-aarch64").name == "virt"
    assert qemu_mod.machine_for_binary("qemu-system-x86_64").name == "q35"


def test_virt_command_line_is_the_seed_documents():
    # amp-pci-device.md §8.2: -M virt and every device on a /gpex-pcihost/pcie.0/... path;
    # -cpu max so the 64-bit CPU keeps the high ECAM the client reads.
    desc = TargetDescription.from_toml(targets.DEFAULT_DESCRIPTION)
    for dialect in ("qemu", "ref"):
        args = build_args(desc, MACHINES["virt"], dialect)
        assert args[:4] == ["-M", "virt", "-cpu", "max"], dialect
        assert "q35" not in " ".join(args)
        devs = _device_args(args)
        assert devs[0] == "virtio-msg-amp-pci,id=amp0,addr=04.0,num-fifos=2"
        buses = [o for d in devs[1:] for o in d.split(",") if o.startswith("bus=")]
        assert len(buses) == len(desc.devices)
        assert all(b.startswith("bus=/gpex-pcihost/pcie.0/amp0/fifo") and b.endswith("/virtio-msg-dev") for b in buses)
    assert "-cpu" not in build_args(desc, MACHINES["q35"], "qemu")  # q35 needs nothing after -M


def test_qemu_target_on_an_aarch64_binary_builds_the_virt_command_line(monkeypatch):
    monkeypatch.delenv("VMSG_MACHINE", raising=False)
    t = qemu_mod.QemuTarget(binary="/usr/bin/qemu-system-aarch64")
    assert t.machine().name == "virt" and t.machine().native == "ArmVirt"
    line = t.command_line()
    assert line[:4] == ["-M", "virt", "-cpu", "max"]
    assert "bus=/gpex-pcihost/pcie.0/amp0/fifo0/virtio-msg/bus1/virtio-msg-dev" in " ".join(line)
    assert t.info()["machine"] == "virt"


def test_machine_choice_explicit_then_environment_then_binary(monkeypatch):
    monkeypatch.delenv("VMSG_MACHINE", raising=False)
    assert qemu_mod.QtestTarget().machine().name == "q35"  # the server's default, whatever its name
    assert qemu_mod.QemuTarget(binary="qemu-system-x86_64").machine().name == "q35"
    monkeypatch.setenv("VMSG_MACHINE", "virt")
    assert qemu_mod.QtestTarget().machine().name == "virt"
    assert qemu_mod.QemuTarget(binary="qemu-system-x86_64").machine().name == "virt"
    assert qemu_mod.QtestTarget(machine=MACHINES["q35"]).machine().name == "q35"
    assert qemu_mod.QtestTarget().with_description(qemu_mod.QtestTarget().description).machine().name == "virt"
    monkeypatch.setenv("VMSG_MACHINE", "q35")
    assert qemu_mod.QemuTarget(binary="/usr/bin/qemu-system-aarch64").machine().name == "q35"
    monkeypatch.setenv("VMSG_MACHINE", "sparc")
    with pytest.raises(ValueError, match="unknown machine 'sparc'"):
        qemu_mod.QtestTarget().machine()


def test_cli_and_plugin_pass_the_machine_on():
    a = cli._parser().parse_args(["run", "--target", "qtest", "--machine", "virt"])
    args = cli._run_args(a)
    assert args[args.index("--vmsg-machine") + 1] == "virt"
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["run", "--machine", "pc"])


def test_qtest_target_runs_the_virt_machine(monkeypatch):
    monkeypatch.setenv("VMSG_MACHINE", "virt")
    t = targets.resolve("qtest")
    assert t.available() is None
    v = _vmsg
    with t.open() as dut:
        argv = dut.native.process().argv
        assert argv[argv.index("-M") + 1] == "virt"
        amap = dut.port.address_map()
        assert (amap.ram_base, amap.mmio_base) == (0x4010_0000, 0x1000_0000)
        assert dut.amp.bar0() == 0x1000_0000  # BARs from the bottom of virt's window
        # configuration space through ECAM: the gpex host bridge at 00:00.0
        assert dut.port.mmio_read(0x40_1000_0000, 4) == 0x0008_1B36
        resp = dut.link(0).request(v.wire.Message(dev_num=0, token=0, body=v.wire.PingReq(data=0x5678)))
        assert resp.body.data == 0x5678


@pytest.mark.skipif(not os.path.exists("/usr/bin/qemu-system-aarch64"), reason="qemu-system-aarch64 not installed")
def test_debian_aarch64_qemu_without_the_amp_device_is_unavailable():
    binary = "/usr/bin/qemu-system-aarch64"
    if _vmsg.qtest.binary_has_device(binary, "virtio-msg-amp-pci"):
        pytest.skip("this QEMU has the amp device")
    t = qemu_mod.QemuTarget(binary=binary)
    assert t.machine().name == "virt"
    reason = t.available()
    assert reason is not None and "has no virtio-msg-amp-pci" in reason


def test_ref_dialect_keeps_reference_properties_and_adds_faults():
    desc = TargetDescription(name="t", num_fifos=1, ram_size=64 << 20, devices=[
        ExpectedDevice(0, 5, "virtio-blk-device", 2, {"capacity": "8", "serial": "abc"})])
    args = build_args(desc, MACHINES["q35"], "ref", ["no-get-shm-response"])
    assert "-blockdev" not in args
    assert _device_args(args)[1].endswith("bus5/virtio-msg-dev,drive=disk0,capacity=8,serial=abc")
    assert args[-2:] == ["--fault", "no-get-shm-response"]
    assert args[args.index("-m") + 1] == "64M"
    assert capacity_bytes("8") == 4096 and capacity_bytes("2K") == 2048


def test_command_line_refuses_what_it_cannot_express():
    desc = TargetDescription(name="t", pci_address="01:00.0")
    with pytest.raises(ValueError, match="bus 1"):
        build_args(desc)
    with pytest.raises(ValueError, match="fault modes exist only in the reference"):
        build_args(TargetDescription(name="t"), faults=["no-get-shm-response"])
    bad = TargetDescription(name="t", devices=[ExpectedDevice(0, 1, "virtio-balloon-device", 5, {"x": "a,b"})])
    with pytest.raises(ValueError, match="cannot be written"):
        build_args(bad)


def test_queue_size_reaches_qemu_only_where_qemu_has_the_property():
    desc = TargetDescription.from_toml(Path(targets.DEFAULT_DESCRIPTION).with_name("qemu-sizes.toml"))
    qemu = _device_args(build_args(desc, MACHINES["q35"], "qemu"))
    assert "queue-size" not in qemu[1] and "queue-size" not in qemu[3]  # rng, balloon: fixed in QEMU
    assert qemu[2].endswith(",drive=disk1,queue-size=256")
    ref = _device_args(build_args(desc, MACHINES["q35"], "ref"))
    assert [a.rsplit(",", 1)[1] for a in ref[1:]] == ["queue-size=8", "queue-size=256", "queue-size=128"]


@pytest.mark.parametrize("kind,value,match", [
    ("virtio-rng-device", 16, "fixed at 8"),
    ("virtio-balloon-device", 256, "fixed at 128"),
    ("virtio-blk-device", 2, "power of two in 4..1024"),
    ("virtio-blk-device", 2048, "power of two in 4..1024"),
    ("virtio-blk-device", 24, "power of two in 4..1024"),
    ("virtio-blk-device", "8K", "expected a number"),
])
def test_queue_size_qemu_would_refuse_is_refused_before_it_starts(kind, value, match):
    desc = TargetDescription(name="t", devices=[ExpectedDevice(0, 1, kind, 0, {"queue-size": value})])
    with pytest.raises(ValueError, match=match):
        build_args(desc, MACHINES["q35"], "qemu")
    assert f"queue-size={value}" in _device_args(build_args(desc, MACHINES["q35"], "ref"))[1]


def test_blk_queue_size_is_written_in_decimal_for_qemu():
    desc = TargetDescription(name="t", devices=[ExpectedDevice(0, 1, "virtio-blk-device", 2, {"queue-size": "0x10"})])
    assert _device_args(build_args(desc, MACHINES["q35"], "qemu"))[1].endswith(",queue-size=16")


# ---- availability ------------------------------------------------------------------------------------


def test_missing_binary_gives_one_clear_reason(tmp_path):
    t = qemu_mod.QemuTarget(binary=str(tmp_path / "no-such-qemu"))
    reason = t.available()
    assert reason is not None and "not found" in reason and "--vmsg-qemu" in reason


@pytest.mark.skipif(not os.path.exists(DEBIAN_QEMU), reason=f"{DEBIAN_QEMU} not installed")
def test_debian_qemu_without_the_amp_device_is_unavailable():
    if _vmsg.qtest.binary_has_device(DEBIAN_QEMU, "virtio-msg-amp-pci"):
        pytest.skip("this QEMU has the amp device")
    reason = qemu_mod.QemuTarget(binary=DEBIAN_QEMU).available()
    assert reason is not None
    assert "has no virtio-msg-amp-pci" in reason and "--vmsg-target qtest" in reason


@pytest.mark.skipif(not os.path.exists(DEBIAN_QEMU), reason=f"{DEBIAN_QEMU} not installed")
def test_suite_on_debian_qemu_skips_every_test_with_that_reason(tmp_path):
    if _vmsg.qtest.binary_has_device(DEBIAN_QEMU, "virtio-msg-amp-pci"):
        pytest.skip("this QEMU has the amp device")
    out = tmp_path / "r.json"
    env = dict(os.environ, PYTHONPATH=PKG_PARENT)
    proc = subprocess.run(
        [sys.executable, "-m", "vmsg_conform", "run", "--target", "qemu", "--json", str(out), "-q",
         "--qemu", DEBIAN_QEMU],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    data = json.loads(out.read_text())
    tests = data["tests"]
    assert tests, proc.stdout[-2000:]
    assert {t["verdict"] for t in tests} == {"SKIP"}
    ran = [t for t in tests if "SHOULD-level" not in t["message"] and "not applicable to profile" not in t["message"]]
    assert ran and all("has no virtio-msg-amp-pci" in t["message"] for t in ran)
    assert data["metadata"]["target"]["unavailable"].startswith(DEBIAN_QEMU)


# ---- the reference behind qtest --------------------------------------------------------------------------


def test_ref_qtest_server_entry_point_lists_devices_and_rejects_bad_options():
    env = dict(os.environ, PYTHONPATH=PKG_PARENT)
    ok = subprocess.run([sys.executable, "-m", "vmsg_conform.refqtest", "-device", "help"],
                        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0 and 'name "virtio-msg-amp-pci"' in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "vmsg_conform.refqtest", "-qtest", "unix:/x", "-bogus"],
                         env=env, capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1 and "-bogus" in bad.stderr


def test_qtest_target_answers_ping_and_get_devices_like_ref():
    t = targets.resolve("qtest")
    assert t.available() is None
    v = _vmsg
    with t.open() as dut:
        resp = dut.link(0).request(v.wire.Message(dev_num=0, token=0, body=v.wire.PingReq(data=0x1234)))
        assert resp.body.data == 0x1234
        devs = dut.link(0).request(v.wire.Message(dev_num=0, token=0, body=v.wire.GetDevicesReq(offset=0, count=32)))
        pid = dut.native.process().pid
    ref = targets.resolve("ref").open()
    try:
        want = ref.link(0).request(v.wire.Message(dev_num=0, token=0, body=v.wire.GetDevicesReq(offset=0, count=32)))
    finally:
        ref.close()
    assert devs.body == want.body
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # closing the Dut ended the process


def test_qtest_target_with_a_fault_behaves_like_ref_with_it():
    v = _vmsg
    with targets.resolve("qtest").open(faults=["no-get-shm-response"]) as dut:
        with pytest.raises(v.driver.LinkFailure):
            dut.link(0).request(v.wire.Message(dev_num=1, token=0, body=v.wire.GetShmReq(index=0)))


def test_crash_during_a_test_reports_signal_stderr_and_last_commands():
    t = targets.resolve("qtest")
    dut = t.open()
    dut.amp  # some traffic to remember
    proc = dut.native.process()
    os.kill(proc.pid, signal.SIGSEGV)
    proc.wait_exit(5000)
    with pytest.raises(_vmsg.port.PortError):
        dut.port.mmio_read(dut.amp.bar0(), 4)
    headline, text = t.failure_context(dut)
    assert headline == f"QEMU killed by signal {int(signal.SIGSEGV)}"
    assert "last" in text and "readl" in text and "command line:" in text
    dut.close()  # already reported: no second error


def test_crash_not_otherwise_reported_fails_at_close():
    t = targets.resolve("qtest")
    dut = t.open()
    os.kill(dut.native.process().pid, signal.SIGABRT)
    dut.native.process().wait_exit(5000)
    with pytest.raises(qemu_mod.QemuCrash, match=f"signal {int(signal.SIGABRT)}"):
        dut.close()


CRASHING_TEST = '''
import os, signal
import pytest

@pytest.mark.req("VMSG-BUS-002")
def test_kills_qemu(dut):
    dut.amp
    os.kill(dut.native.process().pid, signal.SIGKILL)
    dut.native.process().wait_exit(5000)
    dut.port.mmio_read(dut.amp.bar0(), 4)
'''


def test_plugin_turns_a_qemu_crash_into_a_fail_naming_the_signal(pytester, monkeypatch):
    pytester.makepyfile(test_crash=CRASHING_TEST)
    # the child runs in pytester's directory: a relative PYTHONPATH would not reach the package
    monkeypatch.setenv("PYTHONPATH", cli._child_env()["PYTHONPATH"])
    res = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider",
                                        "--vmsg-target", "qtest", "--vmsg-json", "r.json")
    data = json.loads((pytester.path / "r.json").read_text())
    (t,) = data["tests"]
    assert t["verdict"] == "FAIL", res.stdout.str()[-3000:]
    assert t["message"].startswith("QEMU killed by signal 9")
    assert "last" in t["output"] and "commands sent" in t["output"]


# ---- QMP: device-side configuration changes --------------------------------------------------------------


def test_config_change_maps_to_balloon_and_block_resize_commands():
    desc = TargetDescription(name="t", ram_size=64 << 20, num_fifos=2, devices=[
        ExpectedDevice(0, 1, "virtio-blk-device", 2, {"capacity": "2M"}),
        ExpectedDevice(0, 2, "virtio-rng-device", 4),
        ExpectedDevice(1, 3, "virtio-balloon-device", 5, {"target": "16"})])
    change = qemu_mod.qmp_config_change
    assert change(desc, 1, 0, 1) == ("block_resize", {"node-name": "disk0", "size": 3 << 20})
    assert change(desc, 1, 0, 2) == ("block_resize", {"node-name": "disk0", "size": 4 << 20})
    # The balloon's target: RAM minus the balloon, page aligned, a new value each time.
    first = change(desc, 3, 1, 1)
    assert first == ("balloon", {"value": (64 << 20) - (16 + 256) * 4096})
    assert change(desc, 3, 1, 2)[1]["value"] == first[1]["value"] - (1 << 20)
    assert change(desc, 2, 0, 1) is None  # rng: no QMP command changes it
    assert change(desc, 9, 0, 1) is None
    # Both dialects name the blk node the way block_resize refers to it.
    for dialect in ("qemu", "ref"):
        assert _device_args(build_args(desc, MACHINES["q35"], dialect))[1].split(",")[2] == "drive=disk0"


def test_qtest_target_launches_with_a_qmp_socket_and_changes_config_over_qmp():
    t = targets.resolve("qtest")
    with t.open() as dut:
        argv = dut.native.process().argv
        i = argv.index("-qmp")
        assert argv[i + 1].startswith("unix:") and argv[i + 1].endswith(",server=on,wait=off")
        assert argv[i + 1][len("unix:"):].split(",")[0] == dut.native.process().qmp_socket_path
        assert isinstance(dut.stimulus, qemu_mod.QmpStimulus)
        kinds = {d.kind: d for d in dut.description.devices}
        for kind in ("virtio-balloon-device", "virtio-blk-device"):
            if kind in kinds:
                dut.stimulus.config_change(kinds[kind].dev_num, fifo=kinds[kind].fifo)
        assert [c for c, _ in dut.stimulus.sent] == [c for k, c in (("virtio-balloon-device", "balloon"),
                                                                     ("virtio-blk-device", "block_resize"))
                                                     if k in kinds]
        assert dut.stimulus.sent, "the default description has a balloon or a blk device"
        with pytest.raises(qemu_mod.QmpError) as err:
            qemu_mod._qmp(dut.native.process(), "no-such-command", {})
        assert err.value.error_class == "CommandNotFound"
        status = qemu_mod._qmp(dut.native.process(), "query-status", {})
        assert status["running"] is True


# ---- a sanitizer build's crash (fault asan-reset-vqueue-overflow) ------------------------------------

ASAN_HBO = "AddressSanitizer: heap-buffer-overflow in __virtio_queue_reset hw/virtio/virtio.c:2059"


def test_failure_context_quotes_the_sanitizer_report_of_a_dead_server():
    t = targets.resolve("qtest")
    dut = t.open(faults=["asan-reset-vqueue-overflow"])
    with pytest.raises(_vmsg.port.PortError, match="peer closed"):
        dut.link(0).request(_vmsg.wire.Message(dev_num=1, token=0, body=_vmsg.wire.ResetVqueueReq(index=0x400)))
    headline, text = t.failure_context(dut)
    assert headline == "QEMU exit code 1"
    assert f"sanitizer report: {ASAN_HBO}" in text
    # the whole report, header to SUMMARY, then what followed it
    head, _, tail = text.partition("SUMMARY: AddressSanitizer: heap-buffer-overflow")
    assert "==ERROR: AddressSanitizer: heap-buffer-overflow on address" in head and "#0 0x" in head
    assert "after the report" in tail and "ABORTING" in tail and "commands sent" in tail
    dut.close()


def test_suite_on_a_crashing_qtest_target_leads_with_the_sanitizer_summary(tmp_path):
    """vmsg-ref-qtest with asan-reset-vqueue-overflow dies on RESET_VQUEUE 0x400
    and up, as an AddressSanitizer build of QEMU does: each verdict leads with
    the sanitizer's summary, and report.json groups the crashes as one root
    cause (the per-test requirement stays the test's own)."""
    proc, data = run_suite(tmp_path, "--target", "qtest", "--fault", "asan-reset-vqueue-overflow",
                           "-k", "test_reset_vqueue_with_huge_index_leaves_device_alive")
    assert proc.returncode == 1 and data, proc.stdout[-3000:]
    tests = data["tests"]
    assert len(tests) == 4 and {t["verdict"] for t in tests} == {"FAIL"}, proc.stdout[-3000:]
    for t in tests:
        assert t["message"].startswith(f"{ASAN_HBO}; QEMU exit code 1: "), t["message"]
        assert t["crash"] == ASAN_HBO and t["broken"] == ["VMSG-DEV-012"]
        assert "SUMMARY: AddressSanitizer: heap-buffer-overflow" in t["output"]
    (cause,) = data["root_causes"]
    assert (cause["req"], cause["verdict"], cause["tests"], cause["crash"]) == (
        f"CRASH: {ASAN_HBO}", "FAIL", 4, ASAN_HBO)
    assert f"FAIL CRASH: {ASAN_HBO}" in proc.stdout


def test_the_ref_dialect_names_a_rev1_device_and_qemu_never_does():
    from vmsg_conform.targets.description import TargetDescription
    from vmsg_conform.targets.qtest_cmdline import build_args

    desc = TargetDescription(name="t", devices=[{"fifo": 0, "dev_num": 1, "kind": "virtio-rng-device"}])
    amp = [a for a in build_args(desc, dialect="ref", device_profile="rev1-2026") if a.startswith("virtio-msg-amp")]
    assert amp == ["virtio-msg-amp-pci,id=amp0,addr=04.0,profile=rev1-2026"]
    for dialect, prof in (("ref", "pr28"), ("ref", None), ("qemu", "rev1-2026")):
        args = build_args(desc, dialect=dialect, device_profile=prof)
        assert not any("profile=" in a for a in args), (dialect, prof)

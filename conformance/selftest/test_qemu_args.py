"""The qemu/qtest targets with the user's own device options (--qemu-args):
the command line (pure), and discovery through vmsg-ref-qtest, our qtest
server, started with those options."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vmsg_conform import cli
from vmsg_conform.targets import EXIT_TARGET_UNOPENABLE, TargetDescription, TargetOpenError
from vmsg_conform.targets.qemu import QtestTarget
from vmsg_conform.targets.qtest_cmdline import MACHINES, ram_of_args, user_command_line

HOST = MACHINES["q35"].host_bridge
#: One FIFO at 05.0 with an rng at device number 3 and a balloon at 0, in 64 MiB.
USER_ARGS = ["-m", "64M", "-device", "virtio-msg-amp-pci,id=amp0,addr=05.0",
             "-object", "rng-builtin,id=rng0",
             "-device", f"virtio-rng-device,bus={HOST}/amp0/fifo0/virtio-msg/bus3/virtio-msg-dev,rng=rng0",
             "-device", f"virtio-balloon-device,bus={HOST}/amp0/fifo0/virtio-msg/bus0/virtio-msg-dev"]


# ---- the command line (pure) ------------------------------------------------------------


def test_user_command_line_puts_the_machine_first_and_faults_last():
    assert user_command_line(USER_ARGS, MACHINES["virt"], "ref", ["lose-on-full-ring"]) == \
        ["-M", "virt", "-cpu", "max", *USER_ARGS, "--fault", "lose-on-full-ring"]
    assert user_command_line(USER_ARGS) == ["-M", "q35", *USER_ARGS]


@pytest.mark.parametrize(("args", "says"), [
    (["-M", "q35", "-device", "x"], "-M is set by the suite"),
    (["-device", "x", "-qtest", "unix:/tmp/s"], "-qtest is set by the suite"),
    (["-m", "64M"], "no -device option"),
])
def test_user_command_line_refuses_what_the_suite_sets(args, says):
    with pytest.raises(ValueError, match=says):
        user_command_line(args)


def test_faults_only_for_the_reference_server():
    with pytest.raises(ValueError, match="only in the reference"):
        user_command_line(USER_ARGS, dialect="qemu", faults=["lose-on-full-ring"])


@pytest.mark.parametrize(("args", "ram"), [(["-m", "64M"], 64 << 20), (["-m", "1G"], 1 << 30),
                                           (["-m", "512"], 512 << 20), (["-m", "size=256M"], 256 << 20),
                                           (["-device", "x"], None)])
def test_ram_of_args(args, ram):
    assert ram_of_args(args) == ram


@pytest.mark.parametrize("value", ["lots", "", "64X"])
def test_ram_of_args_refuses_what_it_cannot_read(value):
    with pytest.raises(ValueError, match="-m"):
        ram_of_args(["-m", value] if value else ["-m"])


# ---- discovery through vmsg-ref-qtest ------------------------------------------------------


@pytest.fixture
def server():
    target = QtestTarget(user_args=USER_ARGS)
    reason = target.available()
    if reason is not None:
        pytest.skip(reason)
    return target


def test_the_topology_of_the_users_options_is_discovered(server):
    desc = server.description
    assert (desc.num_fifos, desc.pci_address, desc.ram_size) == (1, (0, 5, 0), 64 << 20)
    assert [(d.fifo, d.dev_num, d.kind) for d in desc.devices] == \
        [(0, 0, "virtio-balloon-device"), (0, 3, "virtio-rng-device")]
    dut = server.open()
    try:
        assert dut.amp.num_fifos() == 1
    finally:
        dut.close()


def test_user_options_the_server_refuses_are_one_typed_error(server):
    bad = QtestTarget(user_args=["-device", f"virtio-rng-device,bus={HOST}/amp0/fifo0/virtio-msg/bus3/virtio-msg-dev"])
    with pytest.raises(TargetOpenError, match="no virtio-msg-amp-pci device declared") as ei:
        bad.description  # noqa: B018 - discovery starts the server
    assert ei.value.asked.startswith("to start ")


def test_a_description_wins_over_user_options(server, monkeypatch):
    monkeypatch.setenv("VMSG_QEMU_ARGS", " ".join(USER_ARGS))
    described = QtestTarget(TargetDescription(name="given"))
    assert described.user_args == [] and described.description.name == "given"
    from_env = QtestTarget()
    assert from_env.user_args == USER_ARGS


def test_describe_and_run_with_qemu_args(server, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    joined = " ".join(USER_ARGS)
    assert cli.main(["describe", "qtest", "--qemu-args", joined, "-o", "d.toml"]) == 0
    assert "VMSG_QEMU_ARGS" not in os.environ  # describe leaves the environment as it found it
    found = TargetDescription.from_toml("d.toml")
    assert [(d.fifo, d.dev_num, d.kind) for d in found.devices] == \
        [(0, 0, "virtio-balloon-device"), (0, 3, "virtio-rng-device")]
    rc = cli.main(["run", "--target", "qtest", "--qemu-args", joined, "-k", "described_devices",
                   "--fail-on", "info", "--json", "r.json", "-q"])
    verdicts = {t["verdict"] for t in json.loads(Path("r.json").read_text())["tests"]}
    assert rc == 0 and verdicts and verdicts <= {"PASS", "SKIP"}
    assert cli.main(["describe", "qtest", "--qemu-args", "-M q35 -device x"]) == EXIT_TARGET_UNOPENABLE
    assert "-M is set by the suite" in capsys.readouterr().err

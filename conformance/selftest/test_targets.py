"""Self-tests of target descriptions, the target registry and Dut bring-up."""

from __future__ import annotations

import textwrap

import pytest

from vmsg_conform import targets
from vmsg_conform.targets import ExpectedDevice, TargetDescription

TOML = textwrap.dedent('''
    name = "two-rng"
    vendor_id = 0x10EE
    device_id = 0x9039
    num_fifos = 1
    pci_address = "00:05.0"
    profile = "pr28"

    [[devices]]
    fifo = 0
    dev_num = 3
    kind = "virtio-rng-device"

    [[devices]]
    fifo = 0
    dev_num = 9
    kind = "virtio-blk-device"
    device_id = 2
    props = { capacity = "64K", serial = "abc" }
''')


def _write(tmp_path, text, name="t.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_description_loads_from_toml(tmp_path):
    d = TargetDescription.from_toml(_write(tmp_path, TOML))
    assert d.name == "two-rng"
    assert d.pci_address == (0, 5, 0)
    assert d.num_fifos == 1
    assert d.devices == [
        ExpectedDevice(fifo=0, dev_num=3, kind="virtio-rng-device", device_id=4),
        ExpectedDevice(fifo=0, dev_num=9, kind="virtio-blk-device", device_id=2,
                       props={"capacity": "64K", "serial": "abc"}),
    ]
    again = TargetDescription.from_dict(d.to_dict())
    assert again == d


@pytest.mark.parametrize("text, what", [
    ('name = "x"\nnum_fifos = 0\n', "num_fifos"),
    ('name = "x"\nnum_fifos = 1\n[[devices]]\nfifo = 1\ndev_num = 1\nkind = "virtio-rng-device"\n', "FIFO 1"),
    ('name = "x"\npci_address = "zz"\n', "pci_address"),
    ('name = "x"\ncolour = "red"\n', "unknown keys"),
    ('name = "x"\n[[devices]]\nfifo = 0\ndev_num = 1\nkind = "my-device"\n', "device_id"),
    ('name = "x"\n[[devices]]\nfifo = 0\ndev_num = 1\nkind = "virtio-rng-device"\n'
     '[[devices]]\nfifo = 0\ndev_num = 1\nkind = "virtio-rng-device"\n', "twice"),
    ('name = ', "t.toml"),
])
def test_bad_description_is_a_value_error(tmp_path, text, what):
    with pytest.raises(ValueError, match=what):
        TargetDescription.from_toml(_write(tmp_path, text))


def test_default_ref_topology():
    t = targets.resolve("ref")
    assert t.name == "ref" and isinstance(t, targets.RefTarget)
    d = t.description
    assert (d.vendor_id, d.device_id, d.num_fifos, d.pci_address) == (0x10EE, 0x9039, 2, (0, 4, 0))
    assert [(x.fifo, x.dev_num, x.kind, x.device_id) for x in d.devices] == [
        (0, 1, "virtio-rng-device", 4), (0, 2, "virtio-blk-device", 2), (1, 1, "virtio-balloon-device", 5)]
    assert targets.resolve("") .name == "ref"


def test_unknown_target_is_an_error():
    with pytest.raises(ValueError, match="unknown target"):
        targets.resolve("nosuchkind:whatever")


def test_register_adds_a_kind():
    made = []

    def factory(arg):
        made.append(arg)
        return targets.RefTarget(name=f"custom-{arg}")

    targets.register("custom-test", factory)
    try:
        t = targets.resolve("custom-test:abc")
        assert t.name == "custom-abc" and made == ["abc"]
        assert "custom-test" in targets.kinds()
    finally:
        targets._registry.pop("custom-test", None)


_vmsg = pytest.importorskip("vmsg_conform._vmsg", reason="native module not built")


def test_dut_bring_up_on_ref():
    t = targets.resolve("ref")
    assert t.available() is None
    with t.open() as dut:
        assert dut.amp.num_fifos() == 2
        assert dut.profile == _vmsg.wire.Profile.pr28()
        assert str(dut.pci_address) == "00:04.0"
        for dev in dut.devices():
            info = dut.transport(dev.dev_num, fifo=dev.fifo).get_info()
            assert info.device_id == dev.device_id
        assert dut.transport(1, fifo=0) is dut.transport(1, fifo=0)
        assert dut.bus(0) is dut.bus(0)
        assert dut.violations() == []
        assert [d.dev_num for d in dut.devices("virtio-balloon-device")] == [1]


def test_ref_from_description_builds_that_topology(tmp_path):
    t = targets.resolve(f"ref:{_write(tmp_path, TOML)}")
    with t.open() as dut:
        assert dut.amp.function().addr == _vmsg.port.PciAddress(0, 5, 0)
        assert dut.amp.num_fifos() == 1
        info = dut.transport(9).get_info()
        assert info.device_id == 2
        t9 = dut.transport(9)
        t9.init(_vmsg.driver.vfeature.bit(_vmsg.driver.vfeature.kVersion1))
        assert t9.read_config64(0) == 64 * 1024 // 512  # capacity from props


def test_stimulus_config_change_bumps_the_balloon_generation():
    with targets.resolve("ref").open() as dut:
        t = dut.transport(1, fifo=1)
        t.init(_vmsg.driver.vfeature.bit(_vmsg.driver.vfeature.kVersion1))
        before = t.read_config(0, 4)
        gen = t.generation()
        dut.stimulus.config_change(1, fifo=1)
        t.poll()
        assert t.generation() != gen
        assert t.read_config(0, 4) != before


def test_stimulus_config_change_skips_for_rng():
    with targets.resolve("ref").open() as dut:
        with pytest.raises(pytest.skip.Exception):
            dut.stimulus.config_change(1, fifo=0)


def test_faults_reach_the_reference_and_unknown_faults_are_refused():
    t = targets.resolve("ref")
    with pytest.raises(ValueError):
        t.open(faults=["no-such-fault"])
    with t.open(faults=["no-get-shm-response"]) as dut:
        assert dut.faults == ["no-get-shm-response"]
        assert dut.native.device().config_params().faults.to_string() == "no-get-shm-response"


def test_violations_are_recorded_for_a_rule_breaking_driver():
    with targets.resolve("ref").open() as dut:
        t = dut.transport(1)
        t.get_info()
        # DRIVER_OK straight from reset skips the status sequence.
        dut.bus(0).request(_vmsg.wire.Message(dev_num=1, body=_vmsg.wire.SetDeviceStatusReq(status=0x4)))
        v = dut.violations()
        assert v, "the validating endpoint recorded nothing"
        assert all(x.rule.startswith(("VMSG-", "AMP-")) for x in v)


def test_fault_catalogue_lists_every_fault():
    cat = targets.fault_catalogue()
    assert len(cat) == _vmsg.fault.kFaultCount
    for f in cat:
        assert f["name"] and f["summary"] and isinstance(f["breaks"], list)


def test_fault_sets_name_only_known_faults():
    names = {f["name"] for f in targets.fault_catalogue()}
    sets = targets.fault_sets()
    assert "qemu-v2" in {s["name"] for s in sets}
    for s in sets:
        assert s["summary"] and s["members"] and set(s["members"]) <= names, s


def test_qemu_and_qtest_targets_start_a_process_per_open_and_ref_does_not():
    from vmsg_conform.targets.qemu import QemuTarget, QtestTarget

    assert QemuTarget.opens_a_process and QtestTarget.opens_a_process
    assert not targets.resolve("ref").opens_a_process


def test_state_machines_skip_shrinking_only_where_each_example_starts_a_process():
    # Shrinking replays a failing machine hundreds of times: with a process
    # per replay that is minutes, so such targets report the sequence found.
    from hypothesis import Phase

    from vmsg_conform.suite import helpers

    class Costly:
        opens_a_process = True

    costly = helpers.stateful_settings(Costly(), max_examples=3)
    assert Phase.shrink not in costly.phases and Phase.generate in costly.phases
    assert costly.max_examples == 3 and costly.deadline is None
    cheap = helpers.stateful_settings(targets.resolve("ref"))
    assert Phase.shrink in cheap.phases

"""Self-tests of the optional target capabilities (violations, stimulus) on
the out-of-process targets: lib (vmsg_dut.h ABI 1.1 entries) and qtest
(vmsg-ref-qtest's vmsg_* extension commands). They must look like ref's."""

from __future__ import annotations

import pytest

from vmsg_conform.targets.lib import ActionStimulus, parse_violation_line


def _open(spec: str):
    from vmsg_conform.targets import resolve  # noqa: PLC0415
    try:
        target = resolve(spec)
    except Exception as exc:  # noqa: BLE001 (an unbuilt module or library)
        pytest.skip(f"{spec}: {exc}")
    reason = target.available()
    if reason:
        pytest.skip(reason)
    return target.open()


def _break_rule(dut) -> None:
    """A SET_VQUEUE with a non-zero reserved word (VMSG-DRV-014) to the rng."""
    from vmsg_conform import _vmsg as v  # noqa: PLC0415
    dev = dut.devices("virtio-rng-device")[0]
    msg = v.wire.Message(dev_num=dev.dev_num, token=0, reserved_type_bits=0,
                         body=v.wire.SetVqueueReq(index=0, flags=1, size=8))
    dut.link(dev.fifo).request(msg)


@pytest.mark.parametrize("spec", ["ref", "lib:ref", "qtest"])
def test_violations_accumulate_like_ref(spec):
    dut = _open(spec)
    try:
        assert dut.violations() == []
        _break_rule(dut)
        first = dut.violations()
        assert "VMSG-DRV-014" in [x.rule for x in first]
        assert dut.violations() == first  # history kept, as on ref
        assert type(first[0]).__name__ == "RuleViolation"
    finally:
        dut.close()


@pytest.mark.parametrize("spec", ["lib:ref", "qtest"])
def test_config_change_is_offered(spec):
    dut = _open(spec)
    try:
        # lib: the DUT library's stimulus entry; qtest: QMP, as on a real QEMU.
        assert type(dut.stimulus).__name__ == ("QmpStimulus" if spec == "qtest" else "ActionStimulus")
        balloon = dut.devices("virtio-balloon-device")[0]
        dut.stimulus.config_change(balloon.dev_num, fifo=balloon.fifo)  # no skip, no error
    finally:
        dut.close()


def test_violation_line_parsing():
    v = parse_violation_line("VMSG-DRV-038 dev=3 EVENT_AVAIL: queue 9: not configured")
    assert (v.rule, v.dev_num, v.kind, v.detail) == ("VMSG-DRV-038", 3, "EVENT_AVAIL", "queue 9: not configured")
    odd = parse_violation_line("garbage")
    assert (odd.rule, odd.detail) == ("?", "garbage")

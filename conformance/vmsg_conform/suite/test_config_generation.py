"""The configuration generation count across device-side changes, driver
writes and resets (virtio-msg.md §10)."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th

ACTUAL = 4


def _balloon(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=())
    return p


@pytest.mark.req("VMSG-DEV-010", "VMSG-DEV-025", "VMSG-DEV-051", "VMSG-DEV-006")
def test_generation_read_before_a_device_change_is_stale_after_it(dut):
    p = _balloon(dut)
    old = p.get_config(0, 8)
    th.config_change(dut, p.dev)
    p.take_events()
    th.require(p.generation() != old.generation, "VMSG-DEV-006", "the device-side change left the generation as it was")
    r = p.set_config(old.generation, ACTUAL, struct.pack("<I", 9))
    assert r.length == 0, "SET_CONFIG with a generation from before a device-side change was applied"
    assert bytes(p.get_config(ACTUAL, 4).data) == bytes(old.data[ACTUAL:ACTUAL + 4])


@pytest.mark.req("VMSG-DEV-035", "VMSG-DEV-010", "VMSG-DEV-026")
def test_generation_from_event_config_makes_a_write_succeed(dut):
    p = _balloon(dut)
    th.config_change(dut, p.dev)
    ev = p.take_events(th.ID_EVENT_CONFIG)
    th.require(len(ev) == 1, "VMSG-DEV-034", f"expected one EVENT_CONFIG for the change, got {len(ev)}")
    r = p.set_config(ev[0].body.generation, ACTUAL, struct.pack("<I", 9))
    assert r.length == 4


@pytest.mark.req("VMSG-DEV-006", "VMSG-DEV-026", "VMSG-DEV-050", "R1-DEV-010")
@pytest.mark.parametrize("changes", [1, 3])
def test_generation_moves_with_every_device_change(dut, changes):
    p = _balloon(dut)
    seen = [p.get_config(0, 8)]
    for _ in range(changes):
        th.config_change(dut, p.dev)
        seen.append(p.get_config(0, 8))
    gens = [s.generation for s in seen]
    assert len(set(gens)) == len(gens)


@pytest.mark.req("VMSG-DEV-006", "VMSG-DEV-050")
def test_generation_does_not_move_for_a_write_of_the_same_bytes_or_a_rejected_one(dut):
    # Neither changes driver-visible config; the count may stay put, but the
    # new count in the response must be the one GET_CONFIG then reports.
    p = _balloon(dut)
    cur = p.get_config(ACTUAL, 4)
    r = p.set_config(cur.generation, ACTUAL, bytes(cur.data))
    assert p.get_config(0, 0).generation == r.generation
    if th.is_rev1(dut):
        return  # REV1's baseline profile applies a write whatever its generation: no rejection to try
    rej = p.set_config((r.generation + 3) & 0xFFFFFFFF, ACTUAL, b"\x01\x02\x03\x04")
    th.require(rej.length == 0, "VMSG-DEV-025", "SET_CONFIG with a wrong generation was applied")
    assert p.get_config(0, 0).generation == r.generation == rej.generation


@pytest.mark.req("VMSG-DEV-006", "VMSG-DEV-007")
def test_generations_of_driver_and_device_changes_never_repeat(dut):
    p = _balloon(dut)
    gens = [p.generation()]
    for v in (5, 6):
        r = p.set_config(gens[-1], ACTUAL, struct.pack("<I", v))
        assert r.length == 4
        gens.append(r.generation)
        th.config_change(dut, p.dev)
        ev = p.take_events(th.ID_EVENT_CONFIG)
        th.require(len(ev) == 1, "VMSG-DEV-034", f"expected one EVENT_CONFIG for the change, got {len(ev)}")
        gens.append(ev[0].body.generation)
    assert len(set(gens)) == len(gens)


@pytest.mark.req("VMSG-DEV-030", "VMSG-DEV-050")
def test_reset_keeps_the_generation_meaningful(dut):
    # The count is not reset with the device (L306-308); in any case GET_CONFIG
    # and SET_CONFIG must agree on it afterwards.
    p = _balloon(dut)
    before = p.generation()
    th.config_change(dut, p.dev)
    p.take_events()
    p.set_status(0)
    after = p.generation()
    th.require(after != before, "VMSG-DEV-006", "the device-side change left the generation as it was")
    th.bring_up(p, queues=())
    assert p.set_config(p.generation(), ACTUAL, struct.pack("<I", 3)).length == 4


@pytest.mark.req("VMSG-DEV-050", "VMSG-DEV-026")
def test_generation_unaffected_by_traffic_to_another_device(dut):
    p = th.peer(dut, th.BLK_ID)
    a = p.get_config(0, 8).generation
    q = th.peer(dut, th.BALLOON_ID)
    q.get_config(0, 8)
    assert p.get_config(8, 4).generation == a

"""SET_CONFIG (virtio-msg.md §4.6, §10) against the balloon's writable
`actual` field (config offset 4, le32): applied with the current
generation, rejected with length 0 and no change with any other."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th

ACTUAL = 4


def _balloon(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=())
    return p


def _actual(p):
    r = p.get_config(ACTUAL, 4)
    return struct.unpack("<I", bytes(r.data))[0], r.generation


@pytest.mark.req("VMSG-DEV-043", "VMSG-DEV-006", "VMSG-DEV-017", "VMSG-DEV-014", "R1-DEV-010")
@pytest.mark.parametrize("value", [1, 0x100, 0xDEADBEEF, 0xFFFFFFFF])
def test_set_config_with_current_generation_is_applied_and_bumps_generation(dut, value):
    p = _balloon(dut)
    before, gen = _actual(p)
    assert before != value
    data = struct.pack("<I", value)
    r = p.set_config(gen, ACTUAL, data)
    assert (r.offset, r.length) == (ACTUAL, 4)
    assert p.last.msg_size in (20, 24)
    if len(r.data):
        assert bytes(r.data) == data
    # The bytes changed, so the generation moved before anyone could see them.
    th.check(r.generation != gen, "VMSG-DEV-006", "the write changed the bytes but not the generation")
    now, gen_now = _actual(p)
    assert now == value
    assert gen_now == r.generation


@pytest.mark.req("VMSG-DEV-010", "VMSG-DEV-025", "VMSG-DEV-051")
@pytest.mark.parametrize("delta", [1, -1, 1000, 0x80000000])
def test_set_config_with_stale_generation_is_rejected_with_length_zero(dut, delta):
    p = _balloon(dut)
    before, gen = _actual(p)
    stale = (gen + delta) & 0xFFFFFFFF
    r = p.set_config(stale, ACTUAL, struct.pack("<I", before + 7))
    assert r.length == 0
    assert len(r.data) == 0
    assert r.offset == ACTUAL
    assert p.last.msg_size == 20
    assert _actual(p) == (before, gen), "a rejected SET_CONFIG changed the config or the generation"


@pytest.mark.req("VMSG-DEV-010", "VMSG-DEV-025", "VMSG-DEV-051")
def test_set_config_rejection_reports_the_current_generation_which_then_works(dut):
    p = _balloon(dut)
    before, gen = _actual(p)
    r = p.set_config((gen + 5) & 0xFFFFFFFF, ACTUAL, struct.pack("<I", 42))
    assert r.length == 0 and r.generation == gen
    ok = p.set_config(r.generation, ACTUAL, struct.pack("<I", 42))
    assert ok.length == 4
    assert _actual(p)[0] == 42


@pytest.mark.req("VMSG-DEV-010", "VMSG-DEV-006")
def test_set_config_generation_of_a_previous_write_is_stale_after_it(dut):
    p = _balloon(dut)
    _, gen = _actual(p)
    first = p.set_config(gen, ACTUAL, struct.pack("<I", 11))
    assert first.length == 4
    th.check(first.generation != gen, "VMSG-DEV-006", "the write changed the bytes but not the generation")
    again = p.set_config(gen, ACTUAL, struct.pack("<I", 22))  # the old count
    assert again.length == 0
    assert _actual(p)[0] == 11


@pytest.mark.req("VMSG-DEV-006", "VMSG-DEV-050", "R1-DEV-010")
def test_set_config_chain_of_writes_each_bumps_generation(dut):
    p = _balloon(dut)
    _, gen = _actual(p)
    gens = [gen]
    for v in (1, 2, 3, 4):
        r = p.set_config(gens[-1], ACTUAL, struct.pack("<I", v))
        assert r.length == 4
        gens.append(r.generation)
    assert len(set(gens)) == len(gens)


@pytest.mark.req("READ-G01")
@pytest.mark.parametrize("offset,length", [(8, 1), (6, 4), (0xFFFFFFFE, 4)])
def test_set_config_beyond_config_space_changes_nothing(dut, offset, length):
    # Project reading G1: the rejection form (length 0), nothing written.
    p = _balloon(dut)
    whole = p.get_config(0, 8)
    r = p.set_config(whole.generation, offset, bytes(range(1, length + 1)))
    assert r.length == 0
    after = p.get_config(0, 8)
    assert (bytes(after.data), after.generation) == (bytes(whole.data), whole.generation)


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4, -4])
def test_set_config_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.BALLOON_ID)
    th.assert_size_mismatch_dropped(p, th.wire.SetConfigReq(generation=0, offset=4, data=b"\x01\x02\x03\x04"), grow)

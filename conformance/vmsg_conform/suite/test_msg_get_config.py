"""GET_CONFIG (virtio-msg.md §4.5, §10): echoed range, exact size, the
current generation in every answer, the same bytes however they are read."""
import pytest

from vmsg_conform.suite import transport_helpers as th


def _blk(dut):
    p = th.peer(dut, th.BLK_ID)
    size = p.info().config_size
    return p, size


@pytest.mark.req("VMSG-DEV-050", "VMSG-DEV-026", "VMSG-DEV-017", "VMSG-DEV-043")
@pytest.mark.parametrize("offset,length", [(0, 8), (0, 1), (8, 4), (12, 4), (20, 4), (0, 24), (23, 1), (5, 3), (0, 0)])
def test_get_config_echoes_range_with_exact_size(dut, offset, length):
    p, size = _blk(dut)
    if offset + length > size:
        pytest.skip("range beyond this device's config space")
    r = p.get_config(offset, length)
    assert r.offset == offset
    assert len(r.data) == length
    assert p.last.msg_size == 20 + length


@pytest.mark.req("VMSG-DEV-026", "VMSG-DEV-050")
def test_get_config_bytes_do_not_depend_on_how_the_range_is_split(dut):
    p, size = _blk(dut)
    whole = bytes(p.get_config(0, size).data)
    bytewise = b"".join(bytes(p.get_config(i, 1).data) for i in range(size))
    halves = bytes(p.get_config(0, size // 2).data) + bytes(p.get_config(size // 2, size - size // 2).data)
    assert whole == bytewise == halves


@pytest.mark.req("VMSG-DEV-026", "VMSG-DEV-050")
def test_get_config_generation_is_stable_without_changes(dut):
    p, size = _blk(dut)
    gens = {p.get_config(i, 4).generation for i in range(0, size - 3, 4)}
    th.bring_up(p, queues=())
    gens.add(p.get_config(0, 8).generation)
    assert len(gens) == 1


BEYOND = {
    "one-past-end": lambda size: (size, 1),
    "straddles-end": lambda size: (size - 1, 2),
    "whole-plus-one": lambda size: (0, size + 1),
    "far-offset": lambda size: (0x1000, 4),
    "offset-wraps": lambda size: (0xFFFFFFFF, 4),
    "sum-wraps": lambda size: (0xFFFFFFFC, 8),
}


@pytest.mark.req("VMSG-DEV-050", "READ-G01")
@pytest.mark.parametrize("case", sorted(BEYOND))
def test_get_config_beyond_config_size_answered_without_foreign_bytes(dut, case):
    # Out-of-range reads are the project reading G1 (length 0); what any
    # device must do is answer once with the current generation and never
    # return bytes that are not in its config space.
    p, size = _blk(dut)
    gen = p.generation()
    offset, length = BEYOND[case](size)
    r = p.get_config(offset, length)
    assert r.generation == gen
    th.check(len(r.data) == 0, "READ-G01", f"{len(r.data)} data bytes for a range past config_size {size}")
    assert r.offset == offset


@pytest.mark.req("VMSG-DEV-001", "VMSG-DEV-017", "READ-G02")
@pytest.mark.parametrize("length", [45, 64, 1000])
def test_get_config_never_exceeds_bus_maximum(dut, length):
    p = th.peer(dut, th.BLK_ID)
    r = p.get_config(0, length)
    assert p.last.msg_size <= dut.profile.max_msg_size
    th.check(len(r.data) == 0, "READ-G02", f"{len(r.data)} data bytes for a read that cannot fit the bus")


@pytest.mark.req("VMSG-DEV-050", "VMSG-DEV-026")
@pytest.mark.parametrize("device_id", [th.BALLOON_ID, th.BLK_ID])
def test_get_config_whole_space_readable_in_one_message(dut, device_id):
    p = th.peer(dut, device_id)
    size = p.info().config_size
    if 20 + size > dut.profile.max_msg_size:
        pytest.skip("config space does not fit one response")
    r = p.get_config(0, size)
    assert len(r.data) == size and r.offset == 0


@pytest.mark.req("VMSG-DEV-045", "VMSG-DEV-050", "READ-G01", "R1-DEV-050")
def test_get_config_on_device_without_config_space_returns_no_data(dut):
    p = th.peer(dut, th.RNG_ID)
    assert p.info().config_size == 0
    r = p.get_config(0, 4)
    th.check(len(r.data) == 0, "READ-G01", f"{len(r.data)} data bytes from a device without config space")


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4, -4])
def test_get_config_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.RNG_ID)
    th.assert_size_mismatch_dropped(p, th.wire.GetConfigReq(offset=0, length=4), grow)

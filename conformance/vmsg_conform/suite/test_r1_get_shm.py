"""REV1 GET_SHM (REV1 L1182, L1755-1774): a mandatory request answered in
the 32-byte layout (shmid, reserved, length, address), reserved 0, length 0
for a region the device does not have."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th


@pytest.fixture(autouse=True)
def _rev1_only(dut):
    """These rules and layouts exist only in REV1-2026 (N/A under PR28)."""
    if not th.is_rev1(dut):
        pytest.skip("REV1-2026 rule: not applicable under the PR28 profile")

IDS = [0, 1, 7, 0x100, 0x7FFFFFFF, 0xFFFFFFFF]


def _raw_answer(p, shmid: int) -> bytes:
    return p.answer(th.wire.GetShmReq(index=shmid), unanswered="R1-DEV-048").raw


@pytest.mark.req("R1-DEV-048", "R1-DEV-085", "R1-DEV-087")
@pytest.mark.parametrize("shmid", IDS, ids=[f"0x{i:x}" for i in IDS])
def test_r1_get_shm_answer_has_the_rev1_layout(dut, shmid):
    p = th.peer(dut, th.RNG_ID)
    raw = _raw_answer(p, shmid)
    assert th.header(raw)[4] == 32 and len(raw) >= 32, f"GET_SHM answer of {th.header(raw)[4]} bytes, REV1 has 32"
    sid, reserved, length, _addr = struct.unpack_from("<IIQQ", raw, 8)
    assert sid == shmid, f"shmid {sid:#x} echoed for {shmid:#x}"
    th.check(reserved == 0, "R1-DEV-087", f"reserved word {reserved:#x}")
    th.check(length == 0, "R1-DEV-085", f"length {length} for a region the rng device does not have")


@pytest.mark.req("R1-DEV-087", "R1-DEV-085", "R1-DEV-048")
@pytest.mark.parametrize("device_id", [th.RNG_ID, th.BLK_ID, th.BALLOON_ID])
def test_r1_get_shm_reserved_word_is_zero_on_every_device_kind(dut, device_id):
    p = th.peer(dut, device_id)
    for shmid in (0, 3, 0xFFFFFFFF):
        raw = _raw_answer(p, shmid)
        th.check(th.header(raw)[4] == 32, "R1-DEV-048", f"GET_SHM answer of {th.header(raw)[4]} bytes")
        sid, reserved, length, _ = struct.unpack_from("<IIQQ", raw, 8)
        assert reserved == 0, f"device {device_id} shmid {shmid:#x}: reserved {reserved:#x}"
        th.check(sid == shmid and length == 0, "R1-DEV-085", f"shmid {sid:#x} length {length}")


@pytest.mark.req("R1-DEV-085", "R1-DEV-087", "R1-DEV-048")
def test_r1_get_shm_answers_length_zero_while_live(dut):
    p = th.peer(dut, th.RNG_ID)
    th.bring_up(p)
    raw = _raw_answer(p, 2)
    th.check(th.header(raw)[4] == 32, "R1-DEV-048", f"GET_SHM answer of {th.header(raw)[4]} bytes")
    sid, reserved, length, addr = struct.unpack_from("<IIQQ", raw, 8)
    assert (sid, length) == (2, 0)
    th.check(reserved == 0, "R1-DEV-087", f"reserved word {reserved:#x}")

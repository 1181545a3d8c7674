"""GET_SHM (virtio-msg.md §4.12): none of the default device kinds has a
shared-memory region, so every index answers length 0, once."""
import pytest

from vmsg_conform.suite import transport_helpers as th


@pytest.mark.req("VMSG-DEV-059", "VMSG-BUS-028", "VMSG-DEV-017", "R1-DEV-085")
@pytest.mark.parametrize("index", [0, 1, 7, 255, 0xFFFFFFFF])
def test_get_shm_answers_length_zero_for_absent_region(dut, index):
    p = th.peer(dut, th.RNG_ID)
    r = p.ask(th.wire.GetShmReq(index=index))
    assert p.last.msg_size == th.size_of(dut, th.wire.GetShmResp()) and p.last.type == 0x01  # 20 PR28, 32 REV1
    assert r.index == index
    assert r.length == 0


@pytest.mark.req("VMSG-DEV-059", "VMSG-BUS-028", "R1-DEV-085")
@pytest.mark.parametrize("device_id", [th.BLK_ID, th.BALLOON_ID])
def test_get_shm_answered_once_by_every_device_kind(dut, device_id):
    p = th.peer(dut, device_id)
    r = p.ask(th.wire.GetShmReq(index=0))
    assert (r.index, r.length) == (0, 0)


@pytest.mark.req("VMSG-DEV-059", "VMSG-BUS-028", "R1-DEV-085")
def test_get_shm_answered_after_driver_ok(dut):
    p = th.peer(dut, th.RNG_ID)
    th.bring_up(p)
    r = p.ask(th.wire.GetShmReq(index=3))
    assert (r.index, r.length) == (3, 0)


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4, -4])
def test_get_shm_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.RNG_ID)
    th.assert_size_mismatch_dropped(p, th.wire.GetShmReq(index=0), grow)

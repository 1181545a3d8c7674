"""RESET_VQUEUE (virtio-msg.md §4.11): answered once the queue is
quiesced; the queue is then inactive, forgets stale buffers and can be
programmed again."""
import pytest

from vmsg_conform.suite import transport_helpers as th

WITH_RESET = th.bit(th.F_VERSION_1) | th.bit(th.F_RING_RESET)


def _live(dut):
    p = th.peer(dut, th.RNG_ID)
    if not p.offered() & th.bit(th.F_RING_RESET):
        pytest.skip("device does not offer VIRTIO_F_RING_RESET")
    rq = th.bring_up(p, wanted=WITH_RESET)[0]
    return p, rq


@pytest.mark.req("VMSG-DEV-043", "VMSG-DEV-058", "VMSG-DEV-017")
def test_reset_vqueue_response_is_header_only(dut):
    p, _ = _live(dut)
    p.reset_vqueue(0)
    assert p.last.msg_size == 8 and p.last.msg_id == th.ID_RESET_VQUEUE


@pytest.mark.req("VMSG-DEV-029", "VMSG-DEV-058", "VMSG-DEV-055")
def test_reset_vqueue_makes_the_queue_inactive(dut):
    p, _ = _live(dut)
    p.reset_vqueue(0)
    assert th.queue_unconfigured(p, 0)
    assert p.get_vqueue(0).max_size > 0


@pytest.mark.req("VMSG-DEV-029", "VMSG-DEV-040", "VMSG-DEV-058")
@pytest.mark.parametrize("size", [8, 64])
def test_reset_vqueue_then_set_vqueue_gives_a_working_queue(dut, size):
    p, old = _live(dut)
    size = th.queue_size_for(p, 0, size)
    p.reset_vqueue(0)
    new = th.RawQueue(dut, size, event_idx=False)
    new.program(p, 0)
    buf = th.buffer(dut, 48)
    head = new.add(writable=[(buf, 48)])
    new.publish()
    p.kick(0)
    assert new.reap() == [(head, 48)]
    assert old.used_idx() == 0


@pytest.mark.req("VMSG-DEV-040", "VMSG-DEV-029")
def test_reset_vqueue_drops_buffers_made_available_before_it(dut):
    p, old = _live(dut)
    stale = th.buffer(dut, 16, fill=0xAA)
    old.add(writable=[(stale, 16)])
    old.publish()  # published, never notified
    p.reset_vqueue(0)
    p.kick(0)  # for a queue that is not configured any more
    new = th.RawQueue(dut, old.size)  # a size the device takes, so the queue is live again
    new.program(p, 0)
    p.kick(0)
    assert old.used_idx() == 0
    assert th.mem_read(dut, stale, 16) == b"\xaa" * 16
    assert new.used_idx() == 0


@pytest.mark.req("VMSG-DEV-058", "READ-G08")
@pytest.mark.parametrize("index", [1, 0xFFFFFFFF])
def test_reset_vqueue_for_missing_queue_is_answered_and_harmless(dut, index):
    p, rq = _live(dut)
    p.reset_vqueue(index)
    assert p.get_vqueue(0).cur_size == rq.size


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4, -4])
def test_reset_vqueue_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.RNG_ID)
    th.assert_size_mismatch_dropped(p, th.wire.ResetVqueueReq(index=0), grow)

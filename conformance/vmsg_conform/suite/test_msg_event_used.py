"""EVENT_USED (virtio-msg.md §4.15) and notification suppression: one event
naming the queue after buffers are used, none while the driver suppressed
them (VRING_AVAIL_F_NO_INTERRUPT without EVENT_IDX, used_event with it)."""
import pytest

from vmsg_conform.suite import transport_helpers as th

EVENT_IDX = th.bit(th.F_VERSION_1) | th.bit(th.F_EVENT_IDX)


def _post(dut, rq, n=1, size=16):
    heads = [rq.add(writable=[(th.buffer(dut, size), size)]) for _ in range(n)]
    rq.publish()
    return heads


@pytest.mark.req("VMSG-DEV-037", "VMSG-DEV-062", "VMSG-DEV-017", "VMSG-DEV-018", "R1-DEV-045", "VIRTIO-RING-026")
@pytest.mark.parametrize("device_id", [th.RNG_ID])
def test_event_used_names_the_queue_after_buffers_are_used(dut, device_id):
    p = th.peer(dut, device_id)
    rq = th.bring_up(p)[0]
    _post(dut, rq)
    reply = p.kick(0)
    used = reply.events(th.ID_EVENT_USED)
    assert len(used) == 1
    f = used[0]
    assert f.msg_size == 12 and f.type == 0x00 and f.dev_num == p.dev.dev_num
    assert f.body.vq_index == 0
    assert rq.used_idx() == 1


@pytest.mark.req("VMSG-DEV-062", "VIRTIO-RING-025")
@pytest.mark.parametrize("chains", [1, 4])
def test_event_used_suppressed_by_no_interrupt_flag(dut, chains):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p, no_interrupt=True)[0]
    _post(dut, rq, chains)
    reply = p.kick(0)
    assert rq.used_idx() == chains, "buffers must still be used"
    assert reply.events(th.ID_EVENT_USED) == []


@pytest.mark.req("VMSG-DEV-062", "VMSG-DEV-037")
def test_event_used_resumes_when_no_interrupt_is_cleared(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p, no_interrupt=True)[0]
    _post(dut, rq)
    assert p.kick(0).events(th.ID_EVENT_USED) == []
    rq.set_avail_flags(0)
    _post(dut, rq)
    assert len(p.kick(0).events(th.ID_EVENT_USED)) == 1


def _event_idx_ring(dut):
    p = th.peer(dut, th.RNG_ID)
    if not p.offered() & th.bit(th.F_EVENT_IDX):
        pytest.skip("device does not offer VIRTIO_F_EVENT_IDX")
    rq = th.bring_up(p, wanted=EVENT_IDX)[0]
    assert rq.event_idx
    return p, rq


@pytest.mark.req("VMSG-DEV-062", "VIRTIO-RING-028", "VIRTIO-RING-029")
def test_event_used_with_event_idx_held_back_until_used_event_is_passed(dut):
    p, rq = _event_idx_ring(dut)
    rq.set_used_event(2)  # notify only when used.idx goes past 2
    _post(dut, rq)
    assert p.kick(0).events(th.ID_EVENT_USED) == []  # used.idx 0 -> 1
    _post(dut, rq)
    assert p.kick(0).events(th.ID_EVENT_USED) == []  # 1 -> 2
    _post(dut, rq)
    assert len(p.kick(0).events(th.ID_EVENT_USED)) == 1  # 2 -> 3 crosses used_event
    assert rq.used_idx() == 3


@pytest.mark.req("VMSG-DEV-062", "VMSG-DEV-037", "VIRTIO-RING-028")
def test_event_used_with_event_idx_sent_when_used_event_is_current(dut):
    p, rq = _event_idx_ring(dut)
    rq.set_used_event(0)
    _post(dut, rq)
    assert len(p.kick(0).events(th.ID_EVENT_USED)) == 1


@pytest.mark.req("VMSG-DEV-062", "VIRTIO-RING-027")
def test_event_used_with_event_idx_ignores_the_no_interrupt_flag(dut):
    # With EVENT_IDX the flags word is not the suppression mechanism; a
    # device that honours the flag instead of used_event misses the event.
    p, rq = _event_idx_ring(dut)
    rq.set_used_event(0)
    rq.set_avail_flags(th.AVAIL_F_NO_INTERRUPT)
    _post(dut, rq)
    assert len(p.kick(0).events(th.ID_EVENT_USED)) == 1

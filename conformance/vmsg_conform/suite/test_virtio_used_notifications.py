"""Used-buffer notifications of the split ring (split-ring.tex, "Used Buffer
Notification Suppression") as a virtio-msg device sends them, EVENT_USED: one for
the queue whose buffer was used while the driver's avail flags are 0, none while
they hold NO_INTERRUPT. Balloon is the reference's device with two queues, so it
is the one that can show an event naming the wrong queue."""
import pytest

from vmsg_conform.suite import transport_helpers as th


def _announced(p, rq, q, add) -> list[int]:
    """Adds one chain on queue ``q`` with ``add()`` (which returns its head), publishes it,
    kicks the queue and returns the queues the EVENT_USED frames name. The chain being
    used is the test's precondition (VMSG-DEV-033: a live queue is served), not the rule
    it checks."""
    head = add()
    rq.publish()
    reply = p.kick(q)
    used = [h for h, _ in rq.reap()]
    th.require(used == [head], "VMSG-DEV-033", f"queue {q}: chain {head} posted, {used} used")
    return [f.body.vq_index for f in reply.events(th.ID_EVENT_USED)]


@pytest.mark.req("VIRTIO-RING-026", "VMSG-DEV-037", "R1-DEV-045")
def test_each_balloon_queue_announces_its_own_used_buffers(dut):
    p = th.peer(dut, th.BALLOON_ID)
    rings = th.bring_up(p, queues=((0, None), (1, None)))  # inflate, deflate; avail flags 0
    # inflate first, so that the deflate request names pages the balloon holds
    for q in (0, 1):
        named = _announced(p, rings[q], q, lambda rq=rings[q]: rq.add(readable=[th.pfn_list(dut, [0x200, 0x201])]))
        th.check(q in named, "VIRTIO-RING-026", f"no used-buffer notification for queue {q}: EVENT_USED named {named}")
        th.check(named == [q], th.event_used_rule(dut), f"a buffer used on queue {q} drew EVENT_USED naming {named}")


@pytest.mark.req("VIRTIO-RING-025", "VIRTIO-RING-026")
@pytest.mark.parametrize("device_id", [th.RNG_ID, th.BLK_ID])
def test_no_interrupt_in_the_avail_flags_holds_event_used_back(dut, device_id):
    p = th.peer(dut, device_id)
    rq = th.bring_up(p, no_interrupt=True, room=6)[0]  # VERSION_1 only: no EVENT_IDX

    def add() -> int:
        if device_id == th.RNG_ID:
            return rq.add(writable=[(th.buffer(dut, 16), 16)])
        return th.blk_request(dut, rq, th.BLK_T_IN, 0, in_len=512).head

    assert _announced(p, rq, 0, add) == [], "EVENT_USED although the avail flags say NO_INTERRUPT"
    rq.set_avail_flags(0)  # the driver wants notifications again
    named = _announced(p, rq, 0, add)
    th.check(named == [0], "VIRTIO-RING-026", f"with avail flags 0 a used buffer drew EVENT_USED naming {named}")

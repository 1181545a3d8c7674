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


# ---- the used ring's flags: a device that polls (split-ring.tex L540-553) --------------

POLL_NS = 1_000_000  # the reference's poll-ns: how long it polls after a kick


def _rng_buffer(dut, rq) -> int:
    return rq.add(writable=[(th.buffer(dut, 16), 16)])


@pytest.mark.req("VIRTIO-RING-041", "VIRTIO-RING-042")
def test_polling_device_advises_no_notify_and_serves_buffers_without_a_kick(request):
    with th.device_variant(request, th.RNG_ID, **{"poll-ns": str(POLL_NS)}) as dut:
        p = th.peer(dut, th.RNG_ID)
        rq = th.bring_up(p, room=6)[0]  # VERSION_1 only: no EVENT_IDX
        flags = [rq.used_flags()]
        first = _rng_buffer(dut, rq)
        rq.publish()
        p.kick(0)
        th.require([h for h, _ in rq.reap()] == [first], "VMSG-DEV-033", f"chain {first} posted and kicked, not used")
        flags.append(rq.used_flags())
        th.check(set(flags) <= {0, 1}, "VIRTIO-RING-041", f"used flags {flags}: only 0 or 1 without EVENT_IDX")
        if flags[-1] != 1:
            pytest.skip("the device did not advise VIRTQ_USED_F_NO_NOTIFY after the kick: it does not poll")
        # the driver takes the advice: no EVENT_AVAIL for this one (VIRTIO-RING-036)
        quiet = _rng_buffer(dut, rq)
        rq.publish()
        dut.port.advance_time(POLL_NS // 100)
        used = [h for h, _ in rq.reap()]
        th.check(used == [quiet], "VIRTIO-RING-042",
                 f"the device advised NO_NOTIFY but left chain {quiet} unused without a kick (used {used})")
        dut.port.advance_time(2 * POLL_NS)  # the window closes: the device may want kicks again
        flags.append(rq.used_flags())
        th.check(set(flags) <= {0, 1}, "VIRTIO-RING-041", f"used flags {flags}: only 0 or 1 without EVENT_IDX")
        last = _rng_buffer(dut, rq)
        rq.publish()
        p.kick(0)
        used = [h for h, _ in rq.reap()]
        th.require(used == [last], "VMSG-DEV-033", f"chain {last} posted and kicked, {used} used")


@pytest.mark.req("VIRTIO-RING-043")
def test_polling_device_keeps_used_flags_zero_with_event_idx(request):
    with th.device_variant(request, th.RNG_ID, **{"poll-ns": str(POLL_NS)}) as dut:
        p = th.peer(dut, th.RNG_ID)
        if not p.offered() & th.bit(th.F_EVENT_IDX):
            pytest.skip("the device does not offer EVENT_IDX")
        rq = th.bring_up(p, wanted=th.bit(th.F_VERSION_1) | th.bit(th.F_EVENT_IDX), room=6)[0]
        flags = [rq.used_flags()]
        for kick in (True, False):
            head = _rng_buffer(dut, rq)
            rq.set_used_event(rq.avail_idx)
            rq.publish()
            if kick:
                p.kick(0)
            dut.port.advance_time(POLL_NS // 100)
            flags.append(rq.used_flags())
            rq.reap()
        assert flags == [0] * len(flags), f"used flags {flags} with EVENT_IDX negotiated: they must stay 0"


@pytest.mark.req("VIRTIO-RING-041", "VIRTIO-RING-043")
@pytest.mark.parametrize("event_idx", [False, True], ids=["no-event-idx", "event-idx"])
def test_used_flags_hold_only_values_the_mode_allows(dut, event_idx):
    # on the target as described (polling or not): 0 or 1 without EVENT_IDX, 0 with it
    p = th.peer(dut, th.RNG_ID)
    if event_idx and not p.offered() & th.bit(th.F_EVENT_IDX):
        pytest.skip("the device does not offer EVENT_IDX")
    wanted = th.bit(th.F_VERSION_1) | (th.bit(th.F_EVENT_IDX) if event_idx else 0)
    rq = th.bring_up(p, wanted=wanted, room=6)[0]
    flags = []
    for _ in range(3):
        _rng_buffer(dut, rq)
        if event_idx:
            rq.set_used_event(rq.avail_idx)
        rq.publish()
        p.kick(0)
        rq.reap()
        flags.append(rq.used_flags())
    if event_idx:
        th.check(flags == [0, 0, 0], "VIRTIO-RING-043", f"used flags {flags} with EVENT_IDX")
    else:
        th.check(set(flags) <= {0, 1}, "VIRTIO-RING-041", f"used flags {flags} without EVENT_IDX")

"""Virtqueue reset and re-enable of the virtio core (content.tex, "Virtqueue Reset"), on
every device kind: after RESET_VQUEUE the queue's old ring is dead, and the queue programmed
again starts from available and used position 0 with the size the driver gave it."""
import pytest

from vmsg_conform.suite import transport_helpers as th
from vmsg_conform.suite.test_virtio_status import KINDS, _one_buffer

WITH_RESET = th.bit(th.F_VERSION_1) | th.bit(th.F_RING_RESET)


def _live(dut, kind: str, room: int = 4):
    p = th.peer(dut, KINDS[kind])
    if not p.offered() & th.bit(th.F_RING_RESET):
        pytest.skip("device does not offer VIRTIO_F_RING_RESET")
    return p, th.bring_up(p, wanted=WITH_RESET, room=room)[0]


def _use(dut, p, rq, kind: str, count: int) -> None:
    """Has the device use ``count`` buffers on queue 0 (the test's precondition)."""
    heads = [_one_buffer(dut, rq, kind) for _ in range(count)]
    rq.publish()
    p.kick(0)
    used = [h for h, _ in rq.reap()]
    th.require(sorted(used) == sorted(heads), "VMSG-DEV-033", f"chains {heads} posted, {used} used")


@pytest.mark.req("VIRTIO-CORE-024", "VIRTIO-CORE-027")
@pytest.mark.parametrize("kind", list(KINDS))
def test_reenabled_queue_starts_again_from_position_zero(dut, kind):
    # the same ring memory, cleared by the driver: a device that kept its old available
    # position (3) waits for a fourth buffer and never uses the first one posted now
    p, rq = _live(dut, kind, room=8)
    _use(dut, p, rq, kind, 3)
    p.reset_vqueue(0)
    size = th.queue_size_for(p, 0, None, room=4)
    fresh = th.RawQueue(dut, size)
    fresh.desc, fresh.avail, fresh.used = rq.desc, rq.avail, rq.used
    th.mem_write(dut, fresh.desc, bytes(16 * size))
    th.mem_write(dut, fresh.avail, bytes(6 + 2 * size))
    th.mem_write(dut, fresh.used, bytes(6 + 8 * size))
    fresh.program(p, 0)
    head = _one_buffer(dut, fresh, kind)
    fresh.publish()
    p.kick(0)
    got = fresh.reap()
    assert [h for h, _ in got] == [head], f"{kind}: after RESET_VQUEUE the first buffer was not used ({got})"
    assert fresh.used_idx() == 1, f"{kind}: used idx {fresh.used_idx()} after one buffer on a re-enabled queue"


@pytest.mark.req("VIRTIO-CORE-023")
@pytest.mark.parametrize("kind", list(KINDS))
def test_reset_queue_runs_nothing_more_and_stays_silent(dut, kind):
    p, rq = _live(dut, kind)
    _use(dut, p, rq, kind, 1)
    p.take_events()  # the notification for that buffer is not the one looked for
    p.reset_vqueue(0)
    before = th.mem_read(dut, rq.used, 6 + 8 * rq.size)
    _one_buffer(dut, rq, kind)
    rq.publish()
    reply = p.kick(0)
    events = reply.events(th.ID_EVENT_USED) + p.take_events(th.ID_EVENT_USED)
    assert th.mem_read(dut, rq.used, 6 + 8 * rq.size) == before, f"{kind}: the reset queue's used ring changed"
    assert not events, f"{kind}: {len(events)} EVENT_USED for a reset queue"

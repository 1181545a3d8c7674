"""EVENT_AVAIL (virtio-msg.md §4.14): never answered; nothing is processed
before DRIVER_OK or for a queue that is not configured; processing starts
once DRIVER_OK is set."""
import pytest

from vmsg_conform.suite import transport_helpers as th

ADF = th.ACK | th.DRIVER | th.FEATURES_OK


def _rng_ready(dut, size=None):
    """rng with queue 0 configured, FEATURES_OK but not DRIVER_OK, one buffer posted."""
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p, queues=((0, size),), driver_ok=False)[0]
    buf = th.buffer(dut, 32, fill=0x5A)
    head = rq.add(writable=[(buf, 32)])
    rq.publish()
    return p, rq, buf, head


@pytest.mark.req("VMSG-DEV-012", "VMSG-DEV-033")
def test_event_avail_is_never_answered(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    rq.add(writable=[(th.buffer(dut, 16), 16)])
    rq.publish()
    reply = p.kick(0)
    assert reply.responses() == []


@pytest.mark.req("VMSG-DEV-032", "READ-G15")
def test_event_avail_before_driver_ok_consumes_nothing(dut):
    p, rq, buf, _ = _rng_ready(dut)
    reply = p.kick(0)
    assert reply.responses() == []
    assert reply.events(th.ID_EVENT_USED) == []
    assert rq.used_idx() == 0
    assert th.mem_read(dut, buf, 32) == b"\x5a" * 32


@pytest.mark.req("VMSG-DEV-033", "VMSG-DEV-032")
def test_buffers_posted_before_driver_ok_are_used_once_it_is_set(dut):
    p, rq, buf, head = _rng_ready(dut)
    p.kick(0)
    assert rq.used_idx() == 0
    p.set_status(ADF | th.DRIVER_OK)
    p.kick(0)
    assert rq.reap() == [(head, 32)]


@pytest.mark.req("VMSG-DEV-012", "VMSG-DEV-057")
@pytest.mark.parametrize("vq", [1, 2, 1000, 0xFFFFFFFF])
def test_event_avail_for_missing_queue_draws_nothing_and_harms_nothing(dut, vq):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    reply = p.event(th.wire.EventAvail(vq_index=vq, next_offset=0))
    assert reply.frames == []
    assert p.status() == ADF | th.DRIVER_OK
    head = rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    p.kick(0)
    assert rq.reap() == [(head, 8)]


@pytest.mark.req("VMSG-DEV-057", "VMSG-DEV-032")
def test_event_avail_for_unconfigured_queue_after_driver_ok_draws_nothing(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=((0, None),))  # queue 1 left unconfigured
    reply = p.event(th.wire.EventAvail(vq_index=1, next_offset=0))
    assert reply.frames == []
    assert th.queue_unconfigured(p, 1)


@pytest.mark.req("VMSG-DEV-033")
@pytest.mark.parametrize("chains", [1, 3, 15])
def test_event_avail_every_published_chain_is_used_once(dut, chains):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p, queues=((0, None),), room=chains)[0]
    heads = [rq.add(writable=[(th.buffer(dut, 8 + i), 8 + i)]) for i in range(chains)]
    rq.publish()
    p.kick(0)
    got = rq.reap()
    assert sorted(got) == sorted((h, 8 + i) for i, h in enumerate(heads))
    p.kick(0)
    assert rq.reap() == []

"""REV1 device rules the shared tests do not reach: status-only EVENT_CONFIG
(REV1 L447-455), the events' type bit (REV1 L617-619), the offered features
staying the offered ones (REV1 L505-507), VIRTIO_F_NOTIF_CONFIG_DATA never offered
(REV1 L855-857), SET_CONFIG answers (REV1 L1452-1465) and reset completion
(REV1 L1543-1549)."""
import struct

import pytest

from vmsg_conform.suite import helpers as h
from vmsg_conform.suite import transport_helpers as th


@pytest.fixture(autouse=True)
def _rev1_only(dut):
    """These rules exist only in REV1-2026 (N/A under PR28)."""
    if not th.is_rev1(dut):
        pytest.skip("REV1-2026 rule: not applicable under the PR28 profile")

F_NOTIF_CONFIG_DATA = 39
ACTUAL = 4  # the balloon's driver-writable 'actual' field
KINDS = [th.RNG_ID, th.BLK_ID, th.BALLOON_ID]


@pytest.mark.req("R1-DEV-018", "R1-DEV-016", "R1-GEN-002")
def test_r1_needs_reset_is_announced_as_a_status_only_event_config(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    th.break_ring(p, rq)  # the device's own, asynchronous status change
    evs = p.take_events(th.ID_EVENT_CONFIG)
    th.require(len(evs) == 1 and evs[0].body.device_status & th.NEEDS_RESET, "R1-DEV-016",
               f"{len(evs)} EVENT_CONFIG for DEVICE_NEEDS_RESET")
    ev = evs[0]
    th.check(ev.type & 1 == 0, "R1-GEN-002", f"EVENT_CONFIG sent with type 0x{ev.type:02x} (the response bit)")
    assert (ev.body.offset, ev.body.length, bytes(ev.body.data)) == (0, 0, b""), \
        f"status-only EVENT_CONFIG names a range: offset {ev.body.offset} length {ev.body.length}"


@pytest.mark.req("R1-GEN-002", "R1-DEV-045")
def test_r1_event_used_is_sent_as_an_event(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    buf = th.buffer(dut, 16, fill=0)
    rq.add(writable=[(buf, 16)])
    rq.publish()
    p.kick(0)
    rq.reap()
    evs = p.take_events(th.ID_EVENT_USED)
    th.require(evs, "R1-DEV-045", "no EVENT_USED after a used buffer")
    assert all(e.type & 1 == 0 for e in evs), f"EVENT_USED types {[hex(e.type) for e in evs]}"


@pytest.mark.req("R1-DEV-026")
@pytest.mark.parametrize("device_id", KINDS)
def test_r1_device_features_stay_the_offered_ones_after_negotiation(dut, device_id):
    p = th.peer(dut, device_id)
    before = p.offered()
    chosen = th.negotiate(p, wanted=th.bit(th.F_VERSION_1))
    th.require(chosen != before, "R1-DEV-026", "the device offers VERSION_1 alone: no subset to tell apart")
    assert p.offered() == before, f"GET_DEVICE_FEATURES after FEATURES_OK: {p.offered():#x}, offered {before:#x}"


@pytest.mark.req("R1-DEV-041")
@pytest.mark.parametrize("device_id", KINDS)
def test_r1_notif_config_data_is_never_offered(dut, device_id):
    assert not th.peer(dut, device_id).offered() & th.bit(F_NOTIF_CONFIG_DATA)


def _balloon(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=())
    return p


def _config(p):
    r = p.ask(th.wire.GetConfigReq(offset=0, length=8))
    return r.generation, bytes(r.data)


@pytest.mark.req("R1-DEV-060")
@pytest.mark.parametrize("value", [0, 3, 0xFFFFFFFF])
def test_r1_set_config_answer_carries_the_current_generation(dut, value):
    p = _balloon(dut)
    r = p.ask(th.wire.SetConfigReq(generation=0, offset=ACTUAL, data=struct.pack("<I", value)))
    gen, _ = _config(p)
    assert r.generation == gen, f"SET_CONFIG answered generation {r.generation}, GET_CONFIG then reads {gen}"


@pytest.mark.req("R1-DEV-061")
@pytest.mark.parametrize("offset", [0, ACTUAL, 7])
def test_r1_empty_set_config_changes_nothing(dut, offset):
    p = _balloon(dut)
    p.ask(th.wire.SetConfigReq(generation=0, offset=ACTUAL, data=struct.pack("<I", 0x5A5A)))
    before = _config(p)
    p.ask(th.wire.SetConfigReq(generation=0, offset=offset, data=b""))
    assert _config(p) == before, f"SET_CONFIG of length 0 at {offset}: {before} -> {_config(p)}"


@pytest.mark.req("R1-DEV-067", "R1-DEV-069")
def test_r1_status_zero_is_reported_only_once_the_reset_is_done(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    q = p.get_vqueue(0)
    th.require(q.cur_size == rq.size and q.flags & 1, "R1-DEV-073", f"queue 0 not set up before the reset: {q}")
    got = p.set_status(0)
    if got != 0:
        pytest.skip(f"reset completes asynchronously (SET_DEVICE_STATUS answered {got:#x})")
    # status 0 claimed: the reset must be complete by now, the queue back where it started
    th.check(p.status() == 0, "R1-DEV-069", f"status 0 answered, then GET_DEVICE_STATUS reads {p.status():#x}")
    th.require_initial_queue(p, 0, after="status 0 was reported")


@pytest.mark.req("R1-BUS-013")
def test_r1_announced_transport_parameters_hold_while_the_device_is_active(dut):
    """The AMP bus announces its revision (VERSION) and transport feature bits (FEATURES)
    in BAR0; neither moves through bring-up, I/O and a reset."""
    p = th.peer(dut, th.RNG_ID)
    bar0 = h.RawFifo(dut, p.dev.fifo).bar0

    def announced():
        return dut.port.mmio_read(bar0 + 0x00, 4), dut.port.mmio_read(bar0 + 0x04, 4)

    seen = [announced()]
    rq = th.bring_up(p)[0]
    seen.append(announced())
    buf = th.buffer(dut, 16, fill=0)
    rq.add(writable=[(buf, 16)])
    rq.publish()
    p.kick(0)
    rq.reap()
    seen.append(announced())
    p.set_status(0)
    seen.append(announced())
    assert len(set(seen)) == 1, f"(VERSION, FEATURES) went {seen} through bring-up, I/O and reset"

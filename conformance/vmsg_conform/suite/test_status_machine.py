"""The device status machine (virtio-msg.md §8): a reset (status 0) drops
features, queues and pending work and reads back 0; DEVICE_NEEDS_RESET stays
until a reset; I/O only between DRIVER_OK and the next reset."""
import pytest

from vmsg_conform.suite import transport_helpers as th

FULL = th.ACK | th.DRIVER | th.FEATURES_OK | th.DRIVER_OK
# Sizes within each device's max_size (None: the default, capped there).
QUEUES = {th.RNG_ID: ((0, None),), th.BLK_ID: ((0, None),), th.BALLOON_ID: ((0, None), (1, None))}


@pytest.mark.req("VMSG-DEV-030", "VMSG-DEV-041", "VMSG-DEV-055", "R1-DEV-067")
@pytest.mark.parametrize("device_id", sorted(QUEUES))
def test_reset_clears_every_configured_queue(dut, device_id):
    p = th.peer(dut, device_id)
    th.bring_up(p, queues=QUEUES[device_id])
    assert p.set_status(0) == 0
    for q, _ in QUEUES[device_id]:
        assert th.queue_unconfigured(p, q, addresses_too=True), f"queue {q} survived reset: {p.get_vqueue(q)}"


@pytest.mark.req("VMSG-DEV-030", "VMSG-DEV-055", "R1-DEV-067")
def test_reset_before_driver_ok_clears_queues_too(dut):
    p = th.peer(dut, th.BLK_ID)
    th.bring_up(p, queues=((0, None),), driver_ok=False)
    p.set_status(0)
    assert th.queue_unconfigured(p, 0)


@pytest.mark.req("VMSG-DEV-041", "VMSG-DEV-030", "R1-DEV-067")
def test_reset_discards_buffers_that_were_made_available(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    buf = th.buffer(dut, 16, fill=0x33)
    rq.add(writable=[(buf, 16)])
    rq.publish()  # not kicked
    p.set_status(0)
    p.kick(0)
    dut.port.advance_time(1_000_000)
    assert rq.used_idx() == 0
    assert th.mem_read(dut, buf, 16) == b"\x33" * 16
    assert p.take_events(th.ID_EVENT_USED) == []


@pytest.mark.req("VMSG-DEV-041", "VMSG-DEV-030", "R1-DEV-067")
def test_old_ring_is_dead_after_reset_and_reinitialisation(dut):
    p = th.peer(dut, th.RNG_ID)
    old = th.bring_up(p)[0]
    new = th.bring_up(p)[0]  # resets, then a fresh ring
    stale = th.buffer(dut, 16, fill=0x44)
    old.add(writable=[(stale, 16)])
    old.publish()
    fresh = th.buffer(dut, 16)
    head = new.add(writable=[(fresh, 16)])
    new.publish()
    p.kick(0)
    assert new.reap() == [(head, 16)]
    assert old.used_idx() == 0
    assert th.mem_read(dut, stale, 16) == b"\x44" * 16


@pytest.mark.req("VMSG-DEV-030", "VMSG-DEV-062", "R1-DEV-067", "VIRTIO-RING-025")
def test_reset_forgets_negotiated_event_idx(dut):
    # First life with EVENT_IDX, second without: the device must go back to
    # flag-based suppression, i.e. honour VRING_AVAIL_F_NO_INTERRUPT.
    p = th.peer(dut, th.RNG_ID)
    if not p.offered() & th.bit(th.F_EVENT_IDX):
        pytest.skip("device does not offer VIRTIO_F_EVENT_IDX")
    th.bring_up(p, wanted=th.bit(th.F_VERSION_1) | th.bit(th.F_EVENT_IDX))
    rq = th.bring_up(p, no_interrupt=True)[0]
    rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    reply = p.kick(0)
    assert rq.used_idx() == 1
    th.check(reply.events(th.ID_EVENT_USED) == [], th.no_interrupt_rule(dut), "EVENT_USED although NO_INTERRUPT is set")


@pytest.mark.req("VMSG-DEV-030", "VMSG-DEV-024", "R1-DEV-067")
def test_reset_drops_the_acknowledged_feature_set(dut):
    p = th.peer(dut, th.RNG_ID)
    bad = th.bit(th.F_VERSION_1) | th.bit(th.F_RING_PACKED)
    # The premise: a fresh device refuses this set at all.
    for status in (0, th.ACK, th.ACK | th.DRIVER):
        p.set_status(status)
    p.set_features(bad)
    th.require(p.set_status(th.ACK | th.DRIVER | th.FEATURES_OK) & th.FEATURES_OK == 0, "VMSG-DEV-049",
               "a fresh device accepts FEATURES_OK with unoffered bits")
    th.negotiate(p)
    p.set_status(0)
    p.set_status(th.ACK)
    p.set_status(th.ACK | th.DRIVER)
    p.set_features(bad)
    assert p.set_status(th.ACK | th.DRIVER | th.FEATURES_OK) & th.FEATURES_OK == 0, \
        "features accepted in the previous life must not let a new unoffered set through"


@pytest.mark.req("VMSG-DEV-030", "VMSG-DEV-052", "VMSG-DEV-013", "R1-DEV-067", "VIRTIO-CORE-016")
def test_needs_reset_cleared_only_by_reset(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    th.break_ring(p, rq)
    assert p.status() & th.NEEDS_RESET
    p.set_status(FULL)
    assert p.status() & th.NEEDS_RESET
    assert p.set_status(0) == 0
    assert p.status() == 0


@pytest.mark.req("VMSG-DEV-013", "VMSG-DEV-041", "VMSG-DEV-033")
def test_device_works_again_after_needs_reset_and_reinitialisation(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    th.break_ring(p, rq)
    p.take_events()
    new = th.bring_up(p)[0]
    head = new.add(writable=[(th.buffer(dut, 24), 24)])
    new.publish()
    p.kick(0)
    assert new.reap() == [(head, 24)]
    assert p.status() == FULL


@pytest.mark.req("VMSG-DEV-032", "VMSG-DEV-042")
def test_needs_reset_device_processes_no_more_buffers(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    th.break_ring(p, rq)
    p.take_events()
    before = rq.used_idx()
    buf = th.buffer(dut, 8, fill=0x77)
    rq.put_avail(0)
    rq.write_desc(0, buf, 8, th.DESC_F_WRITE, 0)
    rq.publish()
    p.kick(0)
    assert rq.used_idx() == before
    assert th.mem_read(dut, buf, 8) == b"\x77" * 8


@pytest.mark.req("VMSG-DEV-032", "READ-G06", "VIRTIO-CORE-005")
@pytest.mark.parametrize("status", [th.ACK, th.ACK | th.DRIVER, th.ACK | th.DRIVER | th.FEATURES_OK])
def test_no_io_in_any_status_before_driver_ok(dut, status):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p, driver_ok=False)[0]
    if status != th.ACK | th.DRIVER | th.FEATURES_OK:
        p.set_status(status)  # stored as written (G6); still no DRIVER_OK
    buf = th.buffer(dut, 8, fill=0x11)
    rq.add(writable=[(buf, 8)])
    rq.publish()
    p.kick(0)
    assert rq.used_idx() == 0
    assert th.mem_read(dut, buf, 8) == b"\x11" * 8


@pytest.mark.req("VMSG-DEV-030", "VMSG-DEV-041", "VMSG-BUS-028", "R1-DEV-067")
@pytest.mark.parametrize("device_id", sorted(QUEUES))
def test_repeated_full_init_and_reset_cycles_stay_consistent(dut, device_id):
    p = th.peer(dut, device_id)
    info = p.info()
    for _ in range(3):
        th.bring_up(p, queues=QUEUES[device_id])
        assert p.status() == FULL
        assert p.set_status(0) == 0
        assert p.info() == info
        assert all(th.queue_unconfigured(p, q) for q, _ in QUEUES[device_id])

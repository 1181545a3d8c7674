"""Driver-side rules (VMSG-DRV-*), checked by the validating reference.

(a) The reference drivers and the suite's own hand-made sequence run whole
initialisation and I/O sequences without a single recorded violation.
(b) Each hand-made bad sequence is flagged with exactly the rule it breaks,
which proves the monitor catches it.
"""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th

wire = th.wire
ADOK = th.ACK | th.DRIVER
ADF = ADOK | th.FEATURES_OK
FULL = ADF | th.DRIVER_OK
RING_RESET = th.bit(th.F_VERSION_1) | th.bit(th.F_RING_RESET)


_clean = th.expect_no_violations


# ---- (a) good sequences -----------------------------------------------------------

@pytest.mark.req("VMSG-DRV-016", "VMSG-DRV-017", "VMSG-DRV-018", "VMSG-DRV-019", "VMSG-DRV-020",
                 "VMSG-DRV-022", "VMSG-DRV-023", "VMSG-DRV-024", "VMSG-DRV-025", "VMSG-DRV-029",
                 "VMSG-DRV-030", "VMSG-DRV-031", "VMSG-DRV-034", "VMSG-DRV-036", "VMSG-DRV-037",
                 "VMSG-DRV-038", "VMSG-DRV-039", "VMSG-DRV-040", "VMSG-DRV-042", "VMSG-DRV-044",
                 "VMSG-DRV-065", "VMSG-DRV-009", "VMSG-DRV-011", "VMSG-DRV-013")
@pytest.mark.parametrize("event_idx,no_interrupt", [(True, False), (False, False), (False, True)])
def test_rng_driver_full_sequence_breaks_no_driver_rule(dut, event_idx, no_interrupt):
    rng, _ = th.rng_driver(dut, event_idx=event_idx, no_interrupt=no_interrupt)
    assert len(bytes(rng.read(3000))) == 3000
    _clean(dut)


@pytest.mark.req("VMSG-DRV-016", "VMSG-DRV-017", "VMSG-DRV-018", "VMSG-DRV-019", "VMSG-DRV-021",
                 "VMSG-DRV-026", "VMSG-DRV-029", "VMSG-DRV-030", "VMSG-DRV-036", "VMSG-DRV-037",
                 "VMSG-DRV-039", "VMSG-DRV-040", "VMSG-DRV-044", "VMSG-DRV-054", "VMSG-DRV-055",
                 "VMSG-DRV-060", "VMSG-DRV-061", "VMSG-DRV-065", "VMSG-DRV-067")
def test_blk_driver_full_sequence_breaks_no_driver_rule(dut):
    blk, _ = th.blk_driver(dut)
    data = th.pattern(8192, 4)
    blk.write(2, data)
    assert bytes(blk.read(2, 8192)) == data
    blk.get_id()
    _clean(dut)


@pytest.mark.req("VMSG-DRV-035", "VMSG-DRV-049", "VMSG-DRV-058", "VMSG-DRV-016", "VMSG-DRV-029")
def test_driver_reset_and_reinitialisation_breaks_no_driver_rule(dut):
    rng, t = th.rng_driver(dut)
    rng.read(64)
    t.reset()
    rng.init()
    rng.read(64)
    blk, tb = th.blk_driver(dut)
    tb.reset()
    blk.init()
    blk.read(0, 512)
    _clean(dut)


def _write_config(dut, t, offset: int, data: bytes) -> None:
    """The driver's SET_CONFIG. Under REV1 the AMP bus runs the baseline profile, where
    the device applies a valid write whatever its generation (R1-DEV-012): a refusal
    there is the device's deviation, which test_r1_config_baseline judges."""
    try:
        t.write_config(offset, data)
    except th.driver_module().VirtioFailure as e:
        refused = e.code == th.driver_module().VirtioErrc.ConfigRejected
        th.require(not (refused and th.is_rev1(dut)), "R1-DEV-012", f"the device refused the write: {e}")
        raise


@pytest.mark.req("VMSG-DRV-006", "VMSG-DRV-027", "VMSG-DRV-056", "VMSG-DRV-057", "VMSG-DRV-045",
                 "VMSG-DRV-043", "VMSG-DRV-046", "VMSG-DRV-063", "VMSG-DRV-064", "VMSG-DRV-007", "VMSG-DRV-028")
def test_transport_driver_config_writes_track_the_generation(dut):
    dev = th.device(dut, th.BALLOON_ID)
    t = th.transport_of(dut, dev)
    th.driver_init(dut, dev, t.init, th.bit(th.F_VERSION_1) | th.SHOULD_ACCEPT[th.BALLOON_ID])
    t.driver_ok()
    _write_config(dut, t, 4, struct.pack("<I", 3))
    th.config_change(dut, dev)  # device-side change: a new generation
    _write_config(dut, t, 4, struct.pack("<I", 4))  # must carry the new one, or recover
    t.poll()
    t.refresh_config()
    assert bytes(t.read_config(4, 4)) == struct.pack("<I", 4)
    # `actual` serves as the one writable field: values that are not the
    # balloon's size, written after num_pages rose with no page given, break
    # VIRTIO-BALLOON-015 and -006, on purpose.
    _clean(dut, allowed={"VIRTIO-BALLOON-015", "VIRTIO-BALLOON-006"})


@pytest.mark.req("VMSG-DRV-032", "VMSG-DRV-048", "VMSG-DRV-062", "VMSG-DRV-047")
def test_transport_driver_queue_reset_breaks_no_driver_rule(dut):
    dev = th.device(dut, th.RNG_ID)
    t = th.transport_of(dut, dev)
    got = th.driver_init(dut, dev, t.init, th.bit(th.F_VERSION_1) | th.bit(th.F_RING_RESET))
    if not got & th.bit(th.F_RING_RESET):
        pytest.skip("RING_RESET not negotiated")
    # Fitted: at most these sizes, within what the device offers.
    t.setup_queue_fitted(0, 16, dut.ram)
    t.driver_ok()
    t.reset_queue(0)
    t.setup_queue_fitted(0, 32, dut.ram)
    _clean(dut)


@pytest.mark.req("VMSG-DRV-050", "VMSG-DRV-035")
def test_driver_recovering_from_needs_reset_breaks_no_driver_rule(dut):
    drv = th.driver_module()
    rng, t = th.rng_driver(dut)
    q = t.queue(0)
    layout = q.layout()
    th.mem_write(dut, layout.avail + 4 + 2 * (q.avail_idx() % layout.size), struct.pack("<H", 0xFFF))
    th.mem_write(dut, layout.avail + 2, struct.pack("<H", (q.avail_idx() + 1) & 0xFFFF))
    t.kick(0)
    t.poll()
    assert t.needs_reset()
    with pytest.raises(drv.VirtioFailure):
        rng.read(16)
    rng.init()
    assert len(bytes(rng.read(16))) == 16
    _clean(dut)


@pytest.mark.req("VMSG-DRV-016", "VMSG-DRV-017", "VMSG-DRV-018", "VMSG-DRV-024", "VMSG-DRV-029",
                 "VMSG-DRV-036", "VMSG-DRV-039", "VMSG-DRV-042")
def test_suite_handmade_sequence_breaks_no_driver_rule(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    head = rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    p.kick(0)
    assert rq.reap() == [(head, 8)]
    _clean(dut)


# ---- (b) bad sequences, each flagged with exactly its rule ---------------------------

_to_driver = th.to_driver


def _negotiated(p, wanted=None):
    th.negotiate(p, wanted)


def _queue_ready(p):
    _negotiated(p)
    return th.RawQueue(p.dut, th.queue_size_for(p, 0, None))


def bad_drv_016(dut):
    th.peer(dut, th.RNG_ID).ask(wire.GetDeviceFeaturesReq(block_index=0, num_blocks=2))


def bad_drv_021(dut):
    th.peer(dut, th.BALLOON_ID).get_config(0, 4)


def bad_drv_017(dut):
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    th.RawQueue(dut, th.queue_size_for(p, 0, None)).program(p, 0)


def bad_drv_018(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = _queue_ready(p)
    rq.program(p, 0)  # no confirming GET_VQUEUE
    p.set_status(FULL)
    p.kick(0)


def bad_drv_022(dut):
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p, read_features=False)
    p.ask(wire.SetDriverFeaturesReq(block_index=1, features=[1]))


def bad_drv_024(dut):
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    p.set_status(ADF)
    return ("VIRTIO-CORE-036",)  # nothing accepted: VERSION_1 left out too


def bad_drv_029(dut):
    p = th.peer(dut, th.RNG_ID)
    _negotiated(p)
    th.RawQueue(dut, 16).program(p, 0)


def bad_drv_031(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = _queue_ready(p)
    # avail in the middle of the descriptor table
    p.set_vqueue(0, rq.size, rq.desc, rq.desc + 16 * (rq.size // 2), rq.used)


def bad_drv_034(dut):
    p = th.peer(dut, th.RNG_ID)
    p.info()
    p.set_status(th.DRIVER)  # DRIVER without ACKNOWLEDGE


def bad_drv_036(dut):
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    p.set_status(ADOK | th.DRIVER_OK)


def bad_drv_037(dut):
    p = th.peer(dut, th.RNG_ID)
    th.bring_up(p, driver_ok=False)
    p.kick(0)
    return ("VIRTIO-CORE-033",)  # the core rule: no notification before the driver set DRIVER_OK


def bad_drv_038(dut):
    p = th.peer(dut, th.RNG_ID)
    th.bring_up(p, queues=())
    p.kick(0)


def bad_drv_050(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    th.break_ring(p, rq)
    p.status()
    p.kick(0)


def bad_drv_054(dut):
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    p.set_features(th.bit(th.F_VERSION_1) | th.bit(th.F_RING_PACKED))
    return ("VIRTIO-CORE-008",)  # the core chapter's own wording of the rule


def bad_drv_055(dut):
    p = th.peer(dut, th.BLK_ID)
    size = p.info().config_size
    p.get_config(size - 2, 4)


def bad_drv_056(dut):
    p = th.peer(dut, th.BALLOON_ID)
    p.info()
    gen = p.get_config(4, 4).generation
    # `actual` = 0, the balloon's size: a device that wrongly applies it sees no VIRTIO-BALLOON-015
    p.set_config((gen + 1) & 0xFFFFFFFF, 4, b"\x00\x00\x00\x00")


def bad_drv_057(dut):
    p = th.peer(dut, th.BALLOON_ID)
    size = p.info().config_size
    gen = p.get_config(0, 4).generation
    p.set_config(gen, size, b"\x01\x00\x00\x00")


def bad_drv_060(dut):
    p = th.peer(dut, th.RNG_ID)
    _negotiated(p)
    m = p.get_vqueue(0).max_size
    rq = th.RawQueue(dut, 2 * m)
    rq.program(p, 0)


def bad_drv_061(dut):
    p = th.peer(dut, th.RNG_ID)
    _negotiated(p)
    size = th.queue_size_for(p, 0, None)
    desc = dut.ram.alloc(16 * size + 64, 64) + 8  # 8-aligned only
    avail = dut.ram.alloc(6 + 2 * size, 64)
    used = dut.ram.alloc(6 + 8 * size, 64)
    p.set_vqueue(0, size, desc, avail, used)
    return ("VIRTIO-RING-001",)  # the core's alignment rule, which this one restates


def bad_drv_062(dut):
    p = th.peer(dut, th.RNG_ID)
    th.bring_up(p)  # RING_RESET not negotiated
    p.reset_vqueue(0)


def bad_drv_065(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    p.event(wire.EventAvail(vq_index=0, next_offset=1))


def bad_drv_014(dut):
    if th.is_rev1(dut):
        pytest.skip("REV1 makes this word SET_VQUEUE's flags (1 = enable is valid); "
                    "its reserved word and flag bits are the R1-DRV-064 case")
    p = th.peer(dut, th.RNG_ID)
    rq = _queue_ready(p)
    p.ask(wire.SetVqueueReq(index=0, flags=1, size=rq.size, desc_addr=rq.desc, driver_addr=rq.avail,
                            device_addr=rq.used))


def bad_drv_007(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=())
    old = p.get_config(4, 4).generation
    th.config_change(dut, p.dev)
    # `actual` = 0, the balloon's true size (VIRTIO-BALLOON-015)
    rej = p.set_config(old, 4, b"\x00\x00\x00\x00")  # stale, legitimately: the event was not seen
    th.require(rej.length == 0, "VMSG-DEV-025", "a SET_CONFIG with a stale generation was applied")
    p.set_config(rej.generation, 4, b"\x00\x00\x00\x00")  # retried without GET_CONFIG
    # The change raised num_pages and no page was given before `actual` was written.
    return ("VIRTIO-BALLOON-006",)


def _ring_reset_live(dut, driver_ok):
    p = th.peer(dut, th.RNG_ID)
    p.info()
    if not p.offered() & th.bit(th.F_RING_RESET):
        pytest.skip("device does not offer RING_RESET")
    first = th.bring_up(p, wanted=RING_RESET, driver_ok=driver_ok)[0]
    th.RawQueue(dut, first.size).program(p, 0)  # reprogrammed without RESET_VQUEUE


def bad_drv_032(dut):
    _ring_reset_live(dut, driver_ok=False)


def bad_drv_048(dut):
    _ring_reset_live(dut, driver_ok=True)


def bad_drv_009(dut):
    p = th.peer(dut, th.RNG_ID)
    p.ask(wire.GetDeviceInfoReq(), reserved_type_bits=0x10)


def bad_drv_013(dut):
    dev = th.device(dut, th.RNG_ID)
    used = {d.dev_num for d in th.devices_of(dut) if d.fifo == dev.fifo}
    free = next(n for n in range(31, -1, -1) if n not in used)
    th.Peer(dut, dev).send(wire.GetDeviceInfoReq(), dev_num=free)


def bad_drv_011(dut):
    p = th.peer(dut, th.RNG_ID)
    frame = bytearray(th.encode(dut, p.dev.dev_num, wire.GetDeviceInfoReq()))
    frame[6:8] = struct.pack("<H", 12)  # says 12 bytes; GET_DEVICE_INFO is 8
    p.post_raw(bytes(frame) + bytes(4))


def bad_drv_012(dut):
    p = th.peer(dut, th.RNG_ID)
    frame = bytearray(th.encode(dut, p.dev.dev_num, wire.GetDeviceInfoReq()))
    frame[6:8] = struct.pack("<H", 100)
    p.post_raw(bytes(frame))


def bad_r1_drv_064(dut):
    # REV1 L1649-1650: the reserved word after size must be zero (the flags are valid: enable).
    p = th.peer(dut, th.RNG_ID)
    rq = _queue_ready(p)
    p.ask(wire.SetVqueueReq(index=0, flags=1, size=rq.size, reserved=1, desc_addr=rq.desc, driver_addr=rq.avail,
                            device_addr=rq.used))


def bad_r1_drv_065(dut):
    # REV1 L1651-1652: state operation 3 is reserved.
    p = th.peer(dut, th.RNG_ID)
    rq = _queue_ready(p)
    p.ask(wire.SetVqueueReq(index=0, flags=3, size=rq.size, desc_addr=rq.desc, driver_addr=rq.avail,
                            device_addr=rq.used))


# REV1-only bad sequences (they cite only R1 IDs, so they skip under PR28). A
# sequence that necessarily breaks a second rule too returns its ID.

KEEP_DISABLED, ENABLE, KEEP_STATE = 0, 1, 2  # REV1 SET_VQUEUE state operations (REV1 L1624-1638)
ACTUAL = 4  # the balloon's driver-writable 'actual' field


def _set_vqueue(p, q, flags, rq):
    p.ask(wire.SetVqueueReq(index=q, flags=flags, size=rq.size, desc_addr=rq.desc, driver_addr=rq.avail,
                            device_addr=rq.used))


def bad_r1_drv_008(dut):
    # REV1 L399-402: a GET_CONFIG answer at a new generation is not read again.
    p = th.peer(dut, th.BALLOON_ID)
    p.info()
    first = p.get_config(ACTUAL, 4).generation
    th.config_change(dut, p.dev)
    moved = p.get_config(ACTUAL, 4).generation
    th.require(moved != first, "R1-DEV-010", "a device-side change left the generation unchanged")
    p.status()  # goes on instead of reading until the generation holds still


def bad_r1_drv_009(dut):
    # REV1 L403-404: the baseline profile wants generation 0 in SET_CONFIG.
    p = th.peer(dut, th.BALLOON_ID)
    p.info()
    gen = p.get_config(ACTUAL, 4).generation
    p.set_config(max(1, (gen + 1) & 0xFFFFFFFF), ACTUAL, b"\x00\x00\x00\x00")


def _write_after_event_without_data(dut):
    p = th.peer(dut, th.BALLOON_ID)
    p.info()
    dut.stimulus.config_event_without_data(p.dev.dev_num, fifo=p.dev.fifo)
    p.status()  # the event reached the driver ahead of this answer
    th.require(any(f.msg_id == th.ID_EVENT_CONFIG for f in p.take_events()), "R1-DEV-015",
               "a device-side configuration change sent no EVENT_CONFIG")
    p.set_config(0, ACTUAL, b"\x00\x00\x00\x00")  # no GET_CONFIG refresh first


def bad_r1_drv_010(dut):
    # REV1 L405-407 (baseline); the event has offset and length 0, so L1046-1049 too.
    _write_after_event_without_data(dut)
    return ("R1-DRV-042",)


def bad_r1_drv_040(dut):
    # REV1 L1012-1013: a buffer published (the device asks for notifications:
    # no EVENT_IDX, no NO_NOTIFY) and never announced with EVENT_AVAIL.
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    p.status()
    return ("VIRTIO-RING-037",)  # the core's notification rule says the same


def bad_r1_drv_042(dut):
    # REV1 L1046-1049; under the baseline profile L405-407 too.
    _write_after_event_without_data(dut)
    return ("R1-DRV-010",)


def bad_r1_drv_014(dut):
    # REV1 L560-562: the device sends a transport message of no known ID; the
    # driver must drop it silently, and this one answers it.
    p = th.peer(dut, th.RNG_ID)
    p.info()
    unknown = struct.pack("<BBHHH", 0x00, 0x3E, p.dev.dev_num, 0, 8)
    dut.stimulus.send_frame(unknown, fifo=p.dev.fifo)
    assert [f.raw[:8] for f in p.drain()] == [unknown], "the injected frame did not reach the driver queue"
    p.post_raw(struct.pack("<BBHHH", 0x01, 0x3E, p.dev.dev_num, 0, 8))


def bad_r1_drv_016(dut):
    # REV1 L565-568: a request never answered has failed; the driver must
    # reset before going on, and this one carries on with the next step.
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    dut.stimulus.drop_requests(p.dev.dev_num, 1, fifo=p.dev.fifo)
    assert p.send(wire.GetShmReq(index=0)).responses() == [], "a dropped request was answered"
    p.get_vqueue(0)


def bad_r1_drv_032(dut):
    # REV1 L895; the device never offers the bit, so L1362-1363 too.
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    p.set_features(th.bit(th.F_VERSION_1) | th.bit(39))
    return ("R1-DRV-051", "VIRTIO-CORE-008")


def _reset_not_awaited(dut):
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    dut.stimulus.slow_reset(p.dev.dev_num, 2, fifo=p.dev.fifo)
    assert p.set_status(0) != 0, "the slow reset completed at once"
    p.info()  # starts over before GET_DEVICE_STATUS read 0


def bad_r1_drv_059(dut):
    # REV1 L1490-1493; the same mistake breaks L1532-1535.
    _reset_not_awaited(dut)
    return ("R1-DRV-061", "VIRTIO-CORE-018")  # the core chapter's SHOULD says the same


def bad_r1_drv_061(dut):
    _reset_not_awaited(dut)
    return ("R1-DRV-059", "VIRTIO-CORE-018")


def bad_r1_drv_062(dut):
    # REV1 L1578-1580: max_size 0 is no queue to set up.
    p = th.peer(dut, th.RNG_ID)
    info = p.info()
    th.negotiate(p)
    absent = info.max_virtqueues
    th.require(p.get_vqueue(absent).max_size == 0, "R1-DEV-072",
               f"queue {absent} (= max_virtqueues) reports a max_size")
    _set_vqueue(p, absent, ENABLE, th.RawQueue(dut, 4))


def bad_r1_drv_066(dut):
    # REV1 L1653-1654 (SHOULD), and the MUST of L1578-1580: no GET_VQUEUE first.
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    _set_vqueue(p, 0, ENABLE, th.RawQueue(dut, 4))
    return ("R1-DRV-062",)


def bad_r1_drv_067(dut):
    # REV1 L1655-1656: state operation 0 for an enabled queue (same values, no update).
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    _set_vqueue(p, 0, KEEP_DISABLED, rq)


def bad_r1_drv_069(dut):
    # REV1 L1659-1660: a descriptor table only 8-byte aligned.
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    size = th.queue_size_for(p, 0, None)
    desc = dut.ram.alloc(16 * size + 64, 64) + 8
    p.set_vqueue(0, size, desc, dut.ram.alloc(6 + 2 * size, 64), dut.ram.alloc(6 + 8 * size, 64))
    return ("VIRTIO-RING-001",)


def bad_r1_drv_070(dut):
    # REV1 L1661-1662: new ring addresses for an enabled queue (RING_RESET not negotiated).
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    _set_vqueue(p, 0, KEEP_STATE, th.RawQueue(dut, rq.size))


def bad_r1_drv_071(dut):
    # REV1 L1663-1664: with RING_RESET, reprogrammed without RESET_VQUEUE (also L1661-1662).
    _ring_reset_live(dut, driver_ok=True)
    return ("R1-DRV-070",)


def bad_r1_drv_073(dut):
    # REV1 L1721-1723: RESET_VQUEUE without RING_RESET negotiated.
    p = th.peer(dut, th.RNG_ID)
    th.bring_up(p)
    p.reset_vqueue(0)


def bad_r1_drv_074(dut):
    # REV1 L1724-1725: RESET_VQUEUE for a queue never read with GET_VQUEUE.
    p = th.peer(dut, th.RNG_ID)
    p.info()
    if not p.offered() & th.bit(th.F_RING_RESET):
        pytest.skip("device does not offer RING_RESET")
    th.bring_up(p, queues=(), wanted=RING_RESET)
    p.reset_vqueue(0)


def _rule_of(name: str) -> str:
    """bad_drv_014 -> VMSG-DRV-014, bad_r1_drv_064 -> R1-DRV-064."""
    rest = name[len("bad_"):]
    if rest.startswith("r1_"):
        return "R1-" + rest[3:].upper().replace("_", "-")
    return "VMSG-" + rest.upper().replace("_", "-")


BAD = {_rule_of(name): fn for name, fn in dict(globals()).items()
       if name.startswith("bad_drv_") or name.startswith("bad_r1_drv_")}


def _bad_case(rule):
    return pytest.param(rule, marks=pytest.mark.req(rule), id=rule)


@pytest.mark.parametrize("rule", [_bad_case(r) for r in sorted(BAD)])
def test_bad_driver_sequence_is_flagged_with_exactly_its_rule(dut, rule):
    th.violations_of(dut)  # skip early on targets without a validator
    also = BAD[rule](dut) or ()  # rules the same mistake cannot help breaking
    th.expect_flagged_exactly(dut, rule, also)

"""The virtio core's split-virtqueue driver rules (VIRTIO-RING-*, VIRTIO-CORE-033/034,
VIRTIO-RNG-001), checked by the validating reference, which reads the rings in guest
memory whenever the driver tells the device something (VirtqueueMonitor).

(a) The reference drivers (rng, blk) and the suite's own hand-made sequence (balloon, both
queues) run whole sequences, with EVENT_IDX and without, breaking none of them; the
reference driver keeps notifying when fields it must ignore say otherwise, and shrugs off a
spurious used-buffer notification.
(b) Each hand-made bad sequence is flagged with exactly the rule it breaks.

A test of a driver needs a conforming device: a device deviation makes it BLOCKED.
"""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th

VERSION = th.bit(th.F_VERSION_1)
EVENT_IDX = VERSION | th.bit(th.F_EVENT_IDX)
INDIRECT = VERSION | th.bit(th.F_INDIRECT_DESC)
USED_F_NO_NOTIFY = 1

RING_RULES = ("VIRTIO-RING-001", "VIRTIO-RING-004", "VIRTIO-RING-009", "VIRTIO-RING-011", "VIRTIO-RING-012",
              "VIRTIO-RING-013", "VIRTIO-RING-014", "VIRTIO-RING-018", "VIRTIO-RING-019", "VIRTIO-RING-021",
              "VIRTIO-RING-034", "VIRTIO-RING-036", "VIRTIO-RING-037", "VIRTIO-RING-039", "VIRTIO-RING-040",
              "VIRTIO-CORE-033", "VIRTIO-CORE-034")


def _clean(dut):
    th.expect_no_violations(dut)


def _used_flags(dut, layout, flags):
    """What a device that wants no notifications (or a stray bit) writes into its used ring."""
    th.mem_write(dut, layout.used, struct.pack("<H", flags))


def _avail_event(dut, layout, value):
    th.mem_write(dut, layout.used + 4 + 8 * layout.size, struct.pack("<H", value & 0xFFFF))


# ---- (a) good sequences ----------------------------------------------------------------

@pytest.mark.req(*RING_RULES, "VIRTIO-RNG-001")
@pytest.mark.parametrize("event_idx,no_interrupt", [(True, False), (False, False), (False, True)])
def test_rng_driver_keeps_the_split_ring_rules(dut, event_idx, no_interrupt):
    rng, t = th.rng_driver(dut, event_idx=event_idx, no_interrupt=no_interrupt)
    assert len(bytes(rng.read(3000))) == 3000
    t.reset()
    rng.init()
    assert len(bytes(rng.read(100))) == 100
    _clean(dut)


@pytest.mark.req(*RING_RULES)
@pytest.mark.parametrize("event_idx", [True, False])
def test_blk_driver_keeps_the_split_ring_rules(dut, event_idx):
    blk, _ = th.blk_driver(dut, event_idx=event_idx)
    data = th.pattern(8192, 7)
    blk.write(4, data)
    assert bytes(blk.read(4, 8192)) == data
    blk.get_id()
    _clean(dut)


@pytest.mark.req(*RING_RULES)
@pytest.mark.parametrize("wanted", [VERSION, EVENT_IDX], ids=["plain", "event-idx"])
def test_handmade_balloon_sequence_keeps_the_split_ring_rules(dut, wanted):
    p = th.peer(dut, th.BALLOON_ID)
    rings = th.bring_up(p, queues=((0, None), (1, None)), wanted=wanted | th.SHOULD_ACCEPT[th.BALLOON_ID])
    # Three pages inflated, then the same three deflated: the balloon's own rules
    # (VIRTIO-BALLOON-010/014) hold too, so only the ring rules are at stake.
    for q, rq in rings.items():
        for page in (0x100, 0x101, 0x102):
            addr, n = th.pfn_list(dut, [page])
            head = rq.add(readable=[(addr, n)])
            rq.publish()
            p.kick(q)
            got = rq.reap()
            th.require([h for h, _ in got] == [head], "VIRTIO-RING-027", f"queue {q}: used {got}, expected [{head}]")
    _clean(dut)


@pytest.mark.req("VIRTIO-RING-035", "VIRTIO-RING-037")
def test_reference_driver_notifies_whatever_avail_event_says_without_event_idx(dut):
    rng, t = th.rng_driver(dut, event_idx=False)
    assert len(bytes(rng.read(64))) == 64
    layout = t.queue(0).layout()
    _avail_event(dut, layout, t.queue(0).avail_idx() + 100)  # would hold notifications back under EVENT_IDX
    assert len(bytes(rng.read(3000))) == 3000
    _clean(dut)


@pytest.mark.req("VIRTIO-RING-038", "VIRTIO-RING-039")
def test_reference_driver_disregards_no_notify_under_event_idx(dut):
    rng, t = th.rng_driver(dut, event_idx=True)
    q = t.queue(0)
    if not q.options().event_idx:
        pytest.skip("EVENT_IDX not negotiated")
    assert len(bytes(rng.read(64))) == 64
    _used_flags(dut, q.layout(), USED_F_NO_NOTIFY)
    assert len(bytes(rng.read(3000))) == 3000
    _clean(dut)


@pytest.mark.req("VIRTIO-RING-023")
def test_reference_driver_shrugs_off_a_spurious_used_notification(dut):
    rng, t = th.rng_driver(dut)
    assert len(bytes(rng.read(64))) == 64
    dev = th.device(dut, th.RNG_ID)
    for _ in range(3):  # nothing new in the used ring behind any of them
        dut.stimulus.send_frame(th.encode(dut, dev.dev_num, th.wire.EventUsed(vq_index=0)), fifo=dev.fifo)
    t.poll()
    assert len(bytes(rng.read(256))) == 256
    assert not t.needs_reset()
    _clean(dut)


# ---- (b) bad sequences, each flagged with exactly its rule --------------------------------

def _ready(dut, wanted=VERSION, device_id=th.RNG_ID):
    """A device (rng unless told) brought up by hand with `wanted`, its queue 0 ready
    (skips when a wanted ring feature is not offered)."""
    p = th.peer(dut, device_id)
    p.info()
    missing = (wanted & ~VERSION) & ~p.offered()
    if missing:
        pytest.skip(f"the device does not offer {missing:#x}")
    return p, th.bring_up(p, wanted=wanted | th.SHOULD_ACCEPT.get(device_id, 0))[0]


def _desc(rq, i, addr, length, flags, nxt=0):
    rq.write_desc(i, addr, length, flags, nxt)


def _table(dut, entries):
    """An indirect table of (addr, len, flags, next) entries in fresh RAM."""
    table = th.buffer(dut, 16 * len(entries))
    for k, (a, n, fl, nx) in enumerate(entries):
        th.mem_write(dut, table + 16 * k, struct.pack("<QIHH", a, n, fl, nx))
    return table


def _expose(p, rq, head, kick=True):
    rq.put_avail(head)
    rq.publish()
    if kick:
        p.kick(0)


def bad_virtio_ring_001(dut):
    # split-ring.tex L61-63; virtio-msg restates it for SET_VQUEUE.
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    size = th.queue_size_for(p, 0, None)
    desc = dut.ram.alloc(16 * size + 64, 64) + 8  # 8-aligned only
    p.set_vqueue(0, size, desc, dut.ram.alloc(6 + 2 * size, 64), dut.ram.alloc(6 + 8 * size, 64))
    return ("VMSG-DRV-061", "R1-DRV-069")


def bad_virtio_ring_004(dut):
    # split-ring.tex L151-152: a readable descriptor after a writable one (on the
    # balloon: on the entropy queue a readable buffer would be wrong in itself).
    p, rq = _ready(dut, device_id=th.BALLOON_ID)
    addr, n = th.pfn_list(dut, [0x100])
    _desc(rq, 0, th.buffer(dut, 8), 8, th.DESC_F_WRITE | th.DESC_F_NEXT, 1)
    _desc(rq, 1, addr, n, 0)
    _expose(p, rq, 0)


def bad_virtio_ring_009(dut):
    # split-ring.tex L223-224: a chain that loops.
    p, rq = _ready(dut)
    _desc(rq, 0, th.buffer(dut, 8), 8, th.DESC_F_WRITE | th.DESC_F_NEXT, 1)
    _desc(rq, 1, th.buffer(dut, 8), 8, th.DESC_F_WRITE | th.DESC_F_NEXT, 0)
    _expose(p, rq, 0)


def bad_virtio_ring_011(dut):
    # split-ring.tex L266-267: INDIRECT without INDIRECT_DESC negotiated.
    p, rq = _ready(dut)
    table = _table(dut, [(th.buffer(dut, 8), 8, th.DESC_F_WRITE, 0)])
    _desc(rq, 0, table, 16, th.DESC_F_INDIRECT)
    _expose(p, rq, 0)


def bad_virtio_ring_012(dut):
    # split-ring.tex L267-269: INDIRECT inside an indirect table.
    p, rq = _ready(dut, INDIRECT)
    inner = _table(dut, [(th.buffer(dut, 8), 8, th.DESC_F_WRITE, 0)])
    table = _table(dut, [(th.buffer(dut, 8), 8, th.DESC_F_WRITE | th.DESC_F_NEXT, 1),
                         (inner, 16, th.DESC_F_INDIRECT, 0)])
    _desc(rq, 0, table, 32, th.DESC_F_INDIRECT)
    _expose(p, rq, 0)


def bad_virtio_ring_013(dut):
    # split-ring.tex L271-272: an indirect chain of queue size + 1 descriptors.
    p, rq = _ready(dut, INDIRECT)
    n = rq.size + 1
    table = _table(dut, [(th.buffer(dut, 8), 8, th.DESC_F_WRITE | (th.DESC_F_NEXT if k + 1 < n else 0), k + 1)
                         for k in range(n)])
    _desc(rq, 0, table, 16 * n, th.DESC_F_INDIRECT)
    _expose(p, rq, 0)


def bad_virtio_ring_014(dut):
    # split-ring.tex L274-275: INDIRECT and NEXT together.
    p, rq = _ready(dut, INDIRECT)
    table = _table(dut, [(th.buffer(dut, 8), 8, th.DESC_F_WRITE, 0)])
    _desc(rq, 0, table, 16, th.DESC_F_INDIRECT | th.DESC_F_NEXT, 1)
    _desc(rq, 1, th.buffer(dut, 8), 8, th.DESC_F_WRITE)
    _expose(p, rq, 0)


def bad_virtio_ring_018(dut):
    # split-ring.tex L321-322: the avail idx moved back after two entries were exposed.
    p, rq = _ready(dut)
    for _ in range(2):
        rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    p.kick(0)
    _used_flags(dut, rq, USED_F_NO_NOTIFY)  # the device polls: whatever shows next owes no notification
    th.mem_write(dut, rq.avail + 2, struct.pack("<H", 1))
    p.status()


def bad_virtio_ring_019(dut):
    # split-ring.tex L341: avail flags 2 without EVENT_IDX.
    p, rq = _ready(dut)
    rq.set_avail_flags(2)
    p.status()


def bad_virtio_ring_021(dut):
    # split-ring.tex L348: NO_INTERRUPT set although EVENT_IDX was negotiated.
    p, rq = _ready(dut, EVENT_IDX)
    rq.set_avail_flags(th.AVAIL_F_NO_INTERRUPT)
    p.status()


def bad_virtio_ring_034(dut):
    # split-ring.tex L515-516: the used ring's flags are not zeroed at setup.
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    rq = th.RawQueue(dut, th.queue_size_for(p, 0, None))
    _used_flags(dut, rq, USED_F_NO_NOTIFY)
    rq.program(p, 0)


def _unannounced(dut, wanted, used_flags=0, avail_event=0):
    """An entry exposed after DRIVER_OK, then a message other than EVENT_AVAIL."""
    p, rq = _ready(dut, wanted)
    _used_flags(dut, rq, used_flags)
    _avail_event(dut, rq, avail_event)
    rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    p.status()


def bad_virtio_ring_035(dut):
    # split-ring.tex L520: avail_event (stale, 5) heeded without EVENT_IDX; the miss is L524.
    _unannounced(dut, VERSION, avail_event=5)
    return ("VIRTIO-RING-037", "R1-DRV-040")


def bad_virtio_ring_036(dut):
    # split-ring.tex L523 (SHOULD NOT): notified although the used flags say NO_NOTIFY.
    p, rq = _ready(dut)
    _used_flags(dut, rq, USED_F_NO_NOTIFY)
    rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    p.kick(0)


def bad_virtio_ring_037(dut):
    # split-ring.tex L524; REV1 L1012-1013 says the same of EVENT_AVAIL.
    _unannounced(dut, VERSION)
    return ("R1-DRV-040",)


def bad_virtio_ring_038(dut):
    # split-ring.tex L530: NO_NOTIFY heeded under EVENT_IDX; the miss is L533-535.
    _unannounced(dut, EVENT_IDX, used_flags=USED_F_NO_NOTIFY)
    return ("VIRTIO-RING-039",)


def bad_virtio_ring_039(dut):
    # split-ring.tex L533-535: the entry avail_event names (0) exposed, no notification.
    _unannounced(dut, EVENT_IDX)
    return ("R1-DRV-040",)


def bad_virtio_ring_040(dut):
    # split-ring.tex L536 (SHOULD NOT): notified for an entry avail_event does not name.
    p, rq = _ready(dut, EVENT_IDX)
    _avail_event(dut, rq, 5)
    rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    p.kick(0)


def bad_virtio_core_033(dut):
    # content.tex L552-553: a notification before DRIVER_OK was set; virtio-msg's
    # transport rule (the device must report DRIVER_OK first) is broken with it.
    p = th.peer(dut, th.RNG_ID)
    th.bring_up(p, driver_ok=False)
    p.kick(0)
    return ("VMSG-DRV-037", "R1-DRV-036")


def bad_virtio_core_034(dut):
    # content.tex L626-629: a descriptor of a chain the device holds is rewritten.
    p, rq = _ready(dut)
    _used_flags(dut, rq, USED_F_NO_NOTIFY)  # the device polls, so no notification is owed
    buf = th.buffer(dut, 64)
    head = rq.add(writable=[(buf, 8)])
    rq.publish()
    p.status()  # the device has seen it exposed
    _desc(rq, head, buf, 64, th.DESC_F_WRITE)
    p.status()


def bad_virtio_rng_001(dut):
    # entropy description.tex L34: a device-readable buffer on the request queue.
    p, rq = _ready(dut)
    rq.add(readable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    p.kick(0)


def _rule_of(name: str) -> str:
    """bad_virtio_ring_004 -> VIRTIO-RING-004."""
    return name[len("bad_"):].upper().replace("_", "-")


BAD = {_rule_of(name): fn for name, fn in dict(globals()).items() if name.startswith("bad_virtio_")}


@pytest.mark.parametrize("rule", [pytest.param(r, marks=pytest.mark.req(r), id=r) for r in sorted(BAD)])
def test_bad_split_ring_sequence_is_flagged_with_exactly_its_rule(dut, rule):
    th.violations_of(dut)  # skip early on targets without a validator
    also = set(BAD[rule](dut) or ())  # rules the same mistake cannot help breaking
    th.expect_flagged_exactly(dut, rule, also)

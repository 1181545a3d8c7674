"""The blk and balloon chapters' driver rules (device-types/*/description.tex).

What a request says (blk sectors and lengths, balloon page numbers and
`actual`) is judged by the device type's backend, which reports to the
validating reference's rule log and still answers as before; the features a
driver should accept, and blk's re-read of capacity, by the validator. As in
test_driver_rules.py: (a) the reference drivers and a correct hand-made
sequence break none of them; (b) each bad sequence is flagged with exactly
its rule.
"""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th

V1 = th.bit(th.F_VERSION_1)
BLK_T_FLUSH, BLK_T_GET_ID = 4, 8
BLK_F_RO = 5
BALLOON_F_MUST_TELL_HOST = 0
INFLATEQ, DEFLATEQ = 0, 1
ACTUAL = 4  # the balloon's driver-written field


# ---- (a) good sequences -------------------------------------------------------------

@pytest.mark.req("VIRTIO-BLK-011", "VIRTIO-BLK-012", "VIRTIO-BLK-013", "VIRTIO-BLK-014", "VIRTIO-BLK-016",
                 "VIRTIO-BLK-033")
def test_reference_blk_driver_sends_well_formed_requests(dut):
    blk, _ = th.blk_driver(dut)
    last = blk.capacity() - 2
    data = th.pattern(1024, 9)
    blk.write(last, data)  # up to the last sector, not past it
    assert bytes(blk.read(last, 1024)) == data
    blk.flush()
    assert blk.get_id()
    th.expect_no_violations(dut)


@pytest.mark.req("VIRTIO-BLK-010")
def test_reference_blk_driver_reads_capacity_after_a_config_change(dut):
    blk, t, data = th.blk_after_config_event(dut, _event_rule(dut), 2)
    requests = t.stats().requests
    assert bytes(blk.read(0, 512)) == data
    assert t.stats().requests > requests, "no GET_CONFIG of capacity before the I/O"
    th.expect_no_violations(dut)


def _event_rule(dut):
    """The device rule that a device-side change is announced with EVENT_CONFIG."""
    return "R1-DEV-015" if th.is_rev1(dut) else "VMSG-DEV-034"


def _balloon(dut):
    p = th.peer(dut, th.BALLOON_ID)
    qs = th.bring_up(p, queues=((INFLATEQ, None), (DEFLATEQ, None)))
    return p, qs[0], qs[1]


def _send_pfns(p, rq, q, pfns):
    rq.add(readable=[th.pfn_list(p.dut, pfns)])
    rq.publish()
    p.kick(q)
    th.require(len(rq.reap()) == 1, th.ids_under_profile(p.dut, ["VMSG-DEV-033"])[0],
               f"queue {q}: the PFN list was not returned after EVENT_AVAIL")


def _report_actual(p, value):
    """Writes `actual` with the generation the run's profile wants (REV1 baseline: 0)."""
    rev1 = th.is_rev1(p.dut)
    gen = 0 if rev1 else p.get_config(ACTUAL, 4).generation
    applied = p.set_config(gen, ACTUAL, struct.pack("<I", value)).length != 0
    # A refused write never reaches the balloon, which then cannot judge it.
    th.require(applied or not rev1, "R1-DEV-012", "the device refused a baseline write of actual")


def _raise_target(dut, p):
    """The device asks for more pages; returns num_pages."""
    th.config_change(dut, p.dev)
    p.status()  # the event is in ahead of this answer
    return struct.unpack("<I", bytes(p.get_config(0, 4).data))[0]


@pytest.mark.req("VIRTIO-BALLOON-001", "VIRTIO-BALLOON-006", "VIRTIO-BALLOON-008", "VIRTIO-BALLOON-010",
                 "VIRTIO-BALLOON-014", "VIRTIO-BALLOON-015")
def test_handmade_balloon_driver_follows_the_balloon_rules(dut):
    p, inflateq, deflateq = _balloon(dut)
    wanted = _raise_target(dut, p)
    if wanted < 2:
        pytest.skip(f"the device asked for {wanted} pages only")
    _send_pfns(p, inflateq, INFLATEQ, [0x4000, 0x4001])
    _report_actual(p, 2)
    th.expect_no_violations(dut)


# ---- (b) bad sequences, each flagged with exactly its rule ---------------------------

def _blk(dut):
    p = th.peer(dut, th.BLK_ID)
    rq = th.bring_up(p)[0]
    return p, rq


def _blk_send(p, rq, req_type, sector=0, out=b"", in_len=0):
    th.blk_request(p.dut, rq, req_type, sector, out, in_len)
    rq.publish()
    p.kick(0)


def bad_blk_010(dut):
    # blk L868-869: a request right after a change notification, capacity not read.
    p, rq = _blk(dut)
    dut.stimulus.config_event_without_data(p.dev.dev_num, fifo=p.dev.fifo)
    p.status()  # the event reached the driver ahead of this answer
    th.require(any(f.msg_id == th.ID_EVENT_CONFIG for f in p.take_events()), _event_rule(dut),
               "a device-side change sent no EVENT_CONFIG")
    _blk_send(p, rq, th.BLK_T_IN, 0, in_len=512)
    return ("R1-DRV-010", "R1-DRV-042")  # REV1 wants a refresh of the whole config first


def bad_blk_011(dut):
    # blk L871-872: one sector past capacity.
    p, rq = _blk(dut)
    capacity = struct.unpack("<Q", bytes(p.get_config(0, 8).data))[0]
    _blk_send(p, rq, th.BLK_T_IN, capacity, in_len=512)


def _decline(dut, device_id, feature, name):
    """Negotiates VERSION_1 alone, leaving out `feature`, which the device must offer."""
    p = th.peer(dut, device_id)
    p.info()
    if not p.offered() & th.bit(feature):
        pytest.skip(f"{name} not offered")
    th.negotiate(p, V1)


def bad_blk_012(dut):
    # blk L874: RO offered and not accepted (the reference offers it for a read-only medium only).
    _decline(dut, th.BLK_ID, BLK_F_RO, "VIRTIO_BLK_F_RO")


def bad_blk_013(dut):
    # blk L876: FLUSH with a sector.
    p, rq = _blk(dut)
    _blk_send(p, rq, BLK_T_FLUSH, 8)


def bad_blk_033(dut):
    # blk L877: FLUSH (sector 0) carrying a sector of data.
    p, rq = _blk(dut)
    _blk_send(p, rq, BLK_T_FLUSH, 0, out=bytes(512))


def bad_blk_014(dut):
    # blk L879-880: an IN request for 100 bytes.
    p, rq = _blk(dut)
    _blk_send(p, rq, th.BLK_T_IN, 0, in_len=100)


def bad_blk_016(dut):
    # blk L886: GET_ID with room for 8 bytes.
    p, rq = _blk(dut)
    _blk_send(p, rq, BLK_T_GET_ID, 0, in_len=8)


def bad_balloon_001(dut):
    # balloon L55-56: MUST_TELL_HOST offered and not accepted.
    _decline(dut, th.BALLOON_ID, BALLOON_F_MUST_TELL_HOST, "VIRTIO_BALLOON_F_MUST_TELL_HOST")


def bad_balloon_006(dut):
    # balloon L179-180: num_pages rose, and the driver reports its size without giving a page.
    p, _, _ = _balloon(dut)
    _raise_target(dut, p)
    _report_actual(p, 0)


def bad_balloon_008(dut):
    # balloon L188-191: a page taken back while the balloon is below num_pages.
    p, inflateq, deflateq = _balloon(dut)
    _raise_target(dut, p)
    _send_pfns(p, inflateq, INFLATEQ, [0x4000])
    _send_pfns(p, deflateq, DEFLATEQ, [0x4000])


def bad_balloon_010(dut):
    # balloon L200-201: a ballooned page given again: it was reused without the deflateq.
    p, inflateq, _ = _balloon(dut)
    _send_pfns(p, inflateq, INFLATEQ, [0x4000])
    _send_pfns(p, inflateq, INFLATEQ, [0x4000])


def bad_balloon_014(dut):
    # balloon L216-218: a deflate of a page no returned inflate gave.
    p, _, deflateq = _balloon(dut)
    _send_pfns(p, deflateq, DEFLATEQ, [0x4000])


def bad_balloon_015(dut):
    # balloon L220-224: `actual` written with a count the balloon does not hold.
    p, inflateq, _ = _balloon(dut)
    _send_pfns(p, inflateq, INFLATEQ, [0x4000, 0x4001])
    _report_actual(p, 5)


def _rule_of(name: str) -> str:
    """bad_blk_011 -> VIRTIO-BLK-011."""
    return "VIRTIO-" + name[len("bad_"):].upper().replace("_", "-")


BAD = {_rule_of(name): fn for name, fn in dict(globals()).items()
       if name.startswith("bad_blk_") or name.startswith("bad_balloon_")}


@pytest.mark.parametrize("rule", [pytest.param(r, marks=pytest.mark.req(r), id=r) for r in sorted(BAD)])
def test_bad_device_type_driver_sequence_is_flagged_with_exactly_its_rule(dut, rule):
    th.violations_of(dut)  # skip early on targets without a validator
    also = BAD[rule](dut) or ()
    th.expect_flagged_exactly(dut, rule, also)


# ---- RO on a read-only disk (th.device_variant; skipped where the target cannot be rebuilt) ----
# The reference offers VIRTIO_BLK_F_RO only for a read-only medium, which the default targets do
# not have, so the bad case above skips there; these build one.

@pytest.mark.req("VIRTIO-BLK-012")
def test_reference_blk_driver_accepts_ro_on_a_read_only_disk(request):
    with th.device_variant(request, th.BLK_ID, read_only="true") as dut:
        blk, t = th.blk_driver(dut)
        assert t.features() & th.bit(BLK_F_RO), f"the driver left RO out on a read-only disk ({t.features():#x})"
        assert len(bytes(blk.read(0, 512))) == 512
        th.expect_no_violations(dut)


@pytest.mark.req("VIRTIO-BLK-012")
def test_declining_ro_on_a_read_only_disk_is_flagged(request):
    with th.device_variant(request, th.BLK_ID, read_only="true") as dut:
        th.violations_of(dut)  # skip early on targets without a validator
        bad_blk_012(dut)
        th.expect_flagged_exactly(dut, "VIRTIO-BLK-012")

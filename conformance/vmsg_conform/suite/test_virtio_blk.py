"""virtio-blk device rules (blk description.tex, "Device Initialization" and "Device
Operation") and the used len of every kind of blk request (split-ring.tex, "The Virtqueue
Used Ring"): a reported len never counts bytes the device did not store, which for a write, a
flush or a failed read is the status byte alone."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th

SECTOR = 512
F_RO, F_LIFETIME, F_ZONED, F_FLUSH, F_CONFIG_WCE = 5, 15, 17, 9, 11
BLK_T_FLUSH, BLK_T_GET_ID = 4, 8


def _ring(dut, room: int = 8):
    p = th.peer(dut, th.BLK_ID)
    return p, th.bring_up(p, room=room)[0]


def _ring_with(dut, feature: int, name: str, room: int = 8):
    """A live blk queue with ``feature`` negotiated; skips when the device does not offer it."""
    p = th.peer(dut, th.BLK_ID)
    if not p.offered() & th.bit(feature):
        pytest.skip(f"the blk device does not offer VIRTIO_BLK_F_{name}")
    return p, th.bring_up(p, wanted=th.bit(th.F_VERSION_1) | th.bit(feature), room=room)[0]


def _run(p, rq, reqs) -> dict[int, int]:
    """Publishes, kicks queue 0 and returns head -> used len; every request being used is the
    test's precondition (VMSG-DEV-033)."""
    rq.publish()
    p.kick(0)
    used = dict(rq.reap())
    heads = sorted(r.head for r in reqs)
    th.require(sorted(used) == heads, "VMSG-DEV-033", f"requests {heads} posted, {sorted(used)} used")
    return used


def _status(dut, req) -> int:
    return th.mem_read(dut, req.status, 1)[0]


def _capacity(p) -> int:
    return int.from_bytes(bytes(p.get_config(0, 8).data), "little")


@pytest.mark.req("VIRTIO-RING-031")
@pytest.mark.parametrize("nbytes", [SECTOR, 8 * SECTOR])
def test_blk_write_used_len_counts_only_the_status_byte(dut, nbytes):
    # a device that counts the header and data it read (all device-readable) reports too much
    p, rq = _ring(dut)
    w = th.blk_request(dut, rq, th.BLK_T_OUT, 3, out=th.pattern(nbytes, 31))
    n = _run(p, rq, [w])[w.head]
    th.require(_status(dut, w) == th.BLK_S_OK, "VMSG-DEV-033", f"write completed with status {_status(dut, w)}")
    assert n <= 1, f"used len {n} for a write: only the status byte is device-writable"


@pytest.mark.req("VIRTIO-RING-031")
@pytest.mark.parametrize("req_type", [BLK_T_FLUSH, 99], ids=["flush", "unknown_type"])
def test_blk_status_only_request_used_len_counts_only_the_status_byte(dut, req_type):
    p, rq = _ring(dut)
    if req_type == BLK_T_FLUSH and not p.offered() & th.bit(F_FLUSH):
        pytest.skip("the blk device does not offer FLUSH")
    r = th.blk_request(dut, rq, req_type)
    n = _run(p, rq, [r])[r.head]
    th.require(_status(dut, r) in (th.BLK_S_OK, th.BLK_S_UNSUPP), "VMSG-DEV-033",
               f"request type {req_type} completed with status {_status(dut, r)}")
    assert n <= 1, f"used len {n} for a request whose only writable byte is the status"


@pytest.mark.req("VIRTIO-RING-031")
@pytest.mark.parametrize("where", ["past_the_end", "straddling_the_end", "short_buffer"])
def test_blk_failed_read_used_len_claims_no_data(dut, where):
    # the data buffer is prefilled with 0xAA: left so, the device stored nothing there, and a
    # len above the status byte would count bytes it did not store
    p, rq = _ring(dut)
    cap = _capacity(p)
    sector, in_len = {"past_the_end": (cap, SECTOR), "straddling_the_end": (cap - 1, 2 * SECTOR),
                      "short_buffer": (0, 100)}[where]
    r = th.blk_request(dut, rq, th.BLK_T_IN, sector, in_len=in_len)
    n = _run(p, rq, [r])[r.head]
    st = _status(dut, r)
    th.require(st == th.BLK_S_IOERR, "VMSG-DEV-033", f"{where}: read completed with status {st}, not IOERR")
    if th.mem_read(dut, r.data, in_len) == b"\xaa" * in_len:
        assert n <= 1, f"{where}: used len {n} for a failed read that stored no data"
    else:
        assert n <= in_len + 1, f"{where}: used len {n} exceeds the {in_len + 1} writable bytes"


@pytest.mark.req("VIRTIO-RING-031")
def test_blk_used_len_of_several_requests_each_match_their_own_chain(dut):
    # four requests of different kinds in one kick: each element's len belongs to its chain,
    # and used idx moves by exactly the number of chains used
    p, rq = _ring(dut, room=12)
    data = th.pattern(2 * SECTOR, 32)
    first = th.blk_request(dut, rq, th.BLK_T_OUT, 20, out=data)
    _run(p, rq, [first])
    before = rq.used_idx()
    reqs = [th.blk_request(dut, rq, th.BLK_T_IN, 20, in_len=2 * SECTOR),
            th.blk_request(dut, rq, th.BLK_T_OUT, 30, out=th.pattern(SECTOR, 33)),
            th.blk_request(dut, rq, th.BLK_T_IN, 20, in_len=SECTOR),
            th.blk_request(dut, rq, th.BLK_T_IN, _capacity(p), in_len=SECTOR)]
    used = _run(p, rq, reqs)
    assert (rq.used_idx() - before) & 0xFFFF == len(reqs), "used idx did not move by the number of chains used"
    limits = [2 * SECTOR + 1, 1, SECTOR + 1, SECTOR + 1]
    for r, limit in zip(reqs, limits):
        assert used[r.head] <= limit, f"request {r.head}: used len {used[r.head]} exceeds its {limit} writable bytes"
    assert th.mem_read(dut, reqs[0].data, 2 * SECTOR) == data
    assert th.mem_read(dut, reqs[2].data, SECTOR) == data[:SECTOR]


@pytest.mark.req("VIRTIO-RING-031")
def test_blk_get_id_used_len_within_the_id_and_status(dut):
    p, rq = _ring(dut)
    r = th.blk_request(dut, rq, BLK_T_GET_ID, in_len=20)
    n = _run(p, rq, [r])[r.head]
    th.require(_status(dut, r) == th.BLK_S_OK, "VMSG-DEV-033", f"GET_ID completed with status {_status(dut, r)}")
    assert n <= 21, f"used len {n} for GET_ID: 20 id bytes and the status byte are writable"


@pytest.mark.req("VIRTIO-BLK-022")
def test_blk_read_only_device_refuses_writes_and_keeps_its_data(dut):
    p, rq = _ring_with(dut, F_RO, "RO")
    before = th.blk_request(dut, rq, th.BLK_T_IN, 1, in_len=SECTOR)
    _run(p, rq, [before])
    w = th.blk_request(dut, rq, th.BLK_T_OUT, 1, out=th.pattern(SECTOR, 34))
    _run(p, rq, [w])
    assert _status(dut, w) == th.BLK_S_IOERR, f"a write to a read-only device completed with status {_status(dut, w)}"
    after = th.blk_request(dut, rq, th.BLK_T_IN, 1, in_len=SECTOR)
    _run(p, rq, [after])
    assert th.mem_read(dut, after.data, SECTOR) == th.mem_read(dut, before.data, SECTOR), \
        "a refused write to a read-only device changed the sector"


@pytest.mark.req("VIRTIO-BLK-005")
def test_blk_device_offers_flush(dut):
    offered = th.offered_v1(th.peer(dut, th.BLK_ID))
    th.check(offered & th.bit(F_FLUSH), "VIRTIO-BLK-005", f"FLUSH not offered (features {offered:#x})")


@pytest.mark.req("VIRTIO-BLK-031")
def test_blk_device_with_config_wce_offers_flush(dut):
    offered = th.peer(dut, th.BLK_ID).offered()
    if not offered & th.bit(F_CONFIG_WCE):
        pytest.skip("the blk device does not offer CONFIG_WCE")
    assert offered & th.bit(F_FLUSH), f"CONFIG_WCE offered without FLUSH (features {offered:#x})"


@pytest.mark.req("VIRTIO-BLK-008")
def test_blk_device_that_is_not_zoned_does_not_offer_zoned(dut):
    # the target descriptions carry no zoned disks: an offered ZONED claims zones there are not
    p = th.peer(dut, th.BLK_ID)
    th.check(not p.offered() & th.bit(F_ZONED), "VIRTIO-BLK-008", "ZONED offered by a blk device described as not zoned")


# ---- the status byte, with media the reference can make fail -------------------------

BAD = (5, 9)  # the reference's blk bad_sectors for these tests


def _status_of(dut, rq, p, req_type, sector, **kw):
    r = th.blk_request(dut, rq, req_type, sector, **kw)
    n = _run(p, rq, [r])[r.head]
    return r, _status(dut, r), n


@pytest.mark.req("VIRTIO-BLK-032", "VIRTIO-RING-031")
def test_blk_requests_touching_a_bad_sector_end_with_ioerr_and_move_no_data(request):
    with th.device_variant(request, th.BLK_ID, bad_sectors=":".join(map(str, BAD))) as dut:
        p, rq = _ring(dut, room=16)
        good = th.pattern(SECTOR, 40)
        w, st, _ = _status_of(dut, rq, p, th.BLK_T_OUT, BAD[0] - 1, out=good)
        th.require(st == th.BLK_S_OK, "VIRTIO-BLK-032", f"a write to a good sector ended with status {st}")
        # a read that spans a good and a bad sector fails as a whole and stores nothing
        r, st, n = _status_of(dut, rq, p, th.BLK_T_IN, BAD[0] - 1, in_len=2 * SECTOR)
        assert st == th.BLK_S_IOERR, f"a read over bad sector {BAD[0]} ended with status {st}, not IOERR"
        if th.mem_read(dut, r.data, 2 * SECTOR) == b"\xaa" * (2 * SECTOR):
            th.check(n <= 1, "VIRTIO-RING-031", f"used len {n} for a failed read that stored no data")
        w, st, _ = _status_of(dut, rq, p, th.BLK_T_OUT, BAD[1], out=th.pattern(SECTOR, 41))
        assert st == th.BLK_S_IOERR, f"a write to bad sector {BAD[1]} ended with status {st}, not IOERR"
        r, st, _ = _status_of(dut, rq, p, th.BLK_T_IN, BAD[0] - 1, in_len=SECTOR)
        assert st == th.BLK_S_OK, f"a read of good sector {BAD[0] - 1} next to a bad one ended with status {st}"
        assert th.mem_read(dut, r.data, SECTOR) == good, "the good sector next to the bad one lost its data"


@pytest.mark.req("VIRTIO-BLK-032")
@pytest.mark.parametrize("req_type", [th.BLK_T_IN, th.BLK_T_OUT, BLK_T_FLUSH, BLK_T_GET_ID, 3, 99])
def test_blk_status_byte_is_one_of_the_defined_values(dut, req_type):
    # whatever the request, the device ends it with OK, IOERR or UNSUPP (0, 1, 2)
    p, rq = _ring(dut)
    kw = {th.BLK_T_IN: {"in_len": SECTOR}, th.BLK_T_OUT: {"out": th.pattern(SECTOR, 42)},
          BLK_T_GET_ID: {"in_len": 20}}.get(req_type, {})
    _, st, _ = _status_of(dut, rq, p, req_type, 2, **kw)
    assert st in (th.BLK_S_OK, th.BLK_S_IOERR, th.BLK_S_UNSUPP), f"request type {req_type} ended with status {st}"


# ---- configuration: padding, capacity changes, lifetime -------------------------------

PADDING = (33, 57, 58, 59)  # unused0, unused1[3] in struct virtio_blk_config (description.tex L110-118)
BLK_T_GET_LIFETIME = 10


@pytest.mark.req("VIRTIO-BLK-007")
def test_blk_config_padding_reads_zero(dut):
    p = th.peer(dut, th.BLK_ID)
    size = p.info().config_size
    pads = [o for o in PADDING if o < size]
    if not pads:
        pytest.skip(f"config_size {size} ends before the padding bytes")
    got = {o: bytes(p.get_config(o, 1).data) for o in pads}
    assert all(v == b"\0" for v in got.values()), f"padding bytes read {got}"


@pytest.mark.req("VIRTIO-BLK-021")
def test_blk_capacity_change_is_announced_with_a_config_event(dut):
    p = th.peer(dut, th.BLK_ID)
    th.bring_up(p, queues=())
    before = _capacity(p)
    p.take_events()
    th.config_change(dut, p.dev)  # the host resizes the disk (skips where the target cannot)
    after = _capacity(p)
    if after == before:
        pytest.skip("the target's device-side change left the capacity as it was")
    events = p.take_events(th.ID_EVENT_CONFIG)
    th.check(events, "VIRTIO-BLK-021", f"capacity went from {before} to {after} sectors without EVENT_CONFIG")


@pytest.mark.req("VIRTIO-BLK-028")
def test_blk_lifetime_reports_no_reserved_values(dut):
    p, rq = _ring_with(dut, F_LIFETIME, "LIFETIME")
    r = th.blk_request(dut, rq, BLK_T_GET_LIFETIME, in_len=6)
    _run(p, rq, [r])
    th.require(_status(dut, r) == th.BLK_S_OK, "VMSG-DEV-033", f"GET_LIFETIME ended with status {_status(dut, r)}")
    pre_eol, est_a, est_b = struct.unpack("<HHH", th.mem_read(dut, r.data, 6))
    assert pre_eol <= 3, f"pre_eol_info {pre_eol} is a reserved value"
    assert est_a <= 11 and est_b <= 11, f"lifetime estimates {est_a}, {est_b}: values above 11 are reserved"

"""Descriptor rules of the split ring (split-ring.tex, "Message Framing" and "Indirect
Descriptors"): a device reads a request however the driver cuts it into descriptors, follows
an indirect table at the end of a chain (alone or after ordinary descriptors) and pays no
attention to the WRITE flag of the descriptor that points at the table. Checked on virtio-blk,
whose requests have a fixed layout, so a misread chain shows up as wrong data or status."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th

SECTOR = 512


def _blk(dut, wanted: int | None = None, room: int = 8):
    p = th.peer(dut, th.BLK_ID)
    if wanted is not None and p.offered() & wanted != wanted:
        pytest.skip(f"the blk device does not offer features {wanted:#x}")
    return p, th.bring_up(p, wanted=wanted, room=room)[0]


def _header(dut, req_type: int, sector: int) -> bytes:
    return struct.pack("<IIQ", req_type, 0, sector)


def _chain(rq: th.RawQueue, segs) -> int:
    """Adds one chain of (addr, len, flags) descriptors (NEXT set here); returns its head."""
    head = rq.next_desc
    assert head + len(segs) <= rq.size
    for k, (a, n, fl) in enumerate(segs):
        last = k == len(segs) - 1
        rq.write_desc(head + k, a, n, fl | (0 if last else th.DESC_F_NEXT), 0 if last else head + k + 1)
    rq.next_desc += len(segs)
    rq.put_avail(head)
    return head


def _run(p, rq, head) -> int:
    """Publishes, kicks and returns the used len of ``head`` (it being used is the precondition)."""
    rq.publish()
    p.kick(0)
    used = rq.reap()
    th.require([h for h, _ in used] == [head], "VMSG-DEV-033", f"chain {head} posted, {used} used")
    return used[0][1]


def _seed(dut, p, rq, sector: int, data: bytes) -> None:
    """Writes ``data`` at ``sector`` with an ordinary request (precondition of the read-back)."""
    w = th.blk_request(dut, rq, th.BLK_T_OUT, sector, out=data)
    _run(p, rq, w.head)
    th.require(th.mem_read(dut, w.status, 1)[0] == th.BLK_S_OK, "VMSG-DEV-033", "the seeding write failed")


# Ways to cut a 2-sector read: header pieces (readable), then data pieces and status (writable).
# "merged": the status byte shares the last data descriptor.
READ_LAYOUTS = {
    "header_split": ([8, 8], [SECTOR, SECTOR], False),
    "data_in_three": ([16], [100, 900, 24], False),
    "byte_descriptors": ([1] * 16, [2 * SECTOR], False),
    "status_merged": ([16], [2 * SECTOR], True),
}


@pytest.mark.req("VIRTIO-RING-002", "VIRTIO-RING-031")
@pytest.mark.parametrize("layout", list(READ_LAYOUTS))
def test_device_reads_a_request_however_it_is_cut_into_descriptors(dut, layout):
    hdr_cuts, data_cuts, merged = READ_LAYOUTS[layout]
    p, rq = _blk(dut, room=24)
    data = th.pattern(2 * SECTOR, 21)
    _seed(dut, p, rq, 4, data)
    hdr = th.buffer(dut, 16)
    th.mem_write(dut, hdr, _header(dut, th.BLK_T_IN, 4))
    area = th.buffer(dut, 2 * SECTOR + 1, fill=0xAA)  # data then status, contiguous
    segs, at = [], 0
    for n in hdr_cuts:
        segs.append((hdr + at, n, 0))
        at += n
    at = 0
    for k, n in enumerate(data_cuts):
        grow = 1 if merged and k == len(data_cuts) - 1 else 0
        segs.append((area + at, n + grow, th.DESC_F_WRITE))
        at += n
    if not merged:
        segs.append((area + at, 1, th.DESC_F_WRITE))
    n = _run(p, rq, _chain(rq, segs))
    got = th.mem_read(dut, area, 2 * SECTOR + 1)
    assert got[-1] == th.BLK_S_OK, f"{layout}: status {got[-1]} for a read of written sectors"
    assert got[:-1] == data, f"{layout}: the read delivered other bytes than were written"
    # The length rule is RING-031's, whatever the descriptor layout.
    th.check(n <= 2 * SECTOR + 1, "VIRTIO-RING-031", f"{layout}: used len {n} exceeds the {2 * SECTOR + 1} writable bytes")


@pytest.mark.req("VIRTIO-RING-002")
def test_device_takes_write_data_from_the_header_descriptor(dut):
    p, rq = _blk(dut)
    data = th.pattern(SECTOR, 22)
    both = th.buffer(dut, 16 + SECTOR)  # header and data in one readable descriptor
    th.mem_write(dut, both, _header(dut, th.BLK_T_OUT, 6) + data)
    status = th.buffer(dut, 1, fill=0xFF)
    _run(p, rq, _chain(rq, [(both, 16 + SECTOR, 0), (status, 1, th.DESC_F_WRITE)]))
    assert th.mem_read(dut, status, 1)[0] == th.BLK_S_OK, "a write with header and data in one descriptor failed"
    back = th.blk_request(dut, rq, th.BLK_T_IN, 6, in_len=SECTOR)
    _run(p, rq, back.head)
    assert th.mem_read(dut, back.data, SECTOR) == data, "the data after the header in its descriptor was not stored"


def _indirect_read(dut, rq, sector: int, ordinary: int, table_flags: int):
    """A read of one sector: ``ordinary`` of its (header, data, status) pieces as ordinary
    descriptors, the rest in an indirect table; returns (head, data addr, status addr)."""
    hdr = th.buffer(dut, 16)
    th.mem_write(dut, hdr, _header(dut, th.BLK_T_IN, sector))
    data = th.buffer(dut, SECTOR, fill=0xAA)
    status = th.buffer(dut, 1, fill=0xFF)
    pieces = [(hdr, 16, 0), (data, SECTOR, th.DESC_F_WRITE), (status, 1, th.DESC_F_WRITE)]
    inner = pieces[ordinary:]
    table = th.buffer(dut, 16 * len(inner))
    for k, (a, n, fl) in enumerate(inner):
        last = k == len(inner) - 1
        th.mem_write(dut, table + 16 * k, struct.pack("<QIHH", a, n, fl | (0 if last else th.DESC_F_NEXT),
                                                      0 if last else k + 1))
    head = _chain(rq, pieces[:ordinary] + [(table, 16 * len(inner), th.DESC_F_INDIRECT | table_flags)])
    return head, data, status


@pytest.mark.req("VIRTIO-RING-017", "VIRTIO-RING-016", "VIRTIO-RING-031")
@pytest.mark.parametrize("ordinary", [0, 1, 2])
@pytest.mark.parametrize("write_flag", [False, True], ids=["plain", "write_flag"])
def test_device_follows_an_indirect_table_at_the_end_of_a_chain(dut, ordinary, write_flag):
    p, rq = _blk(dut, wanted=th.bit(th.F_VERSION_1) | th.bit(th.F_INDIRECT_DESC))
    data = th.pattern(SECTOR, 23 + ordinary)
    _seed(dut, p, rq, 9, data)
    head, at, status = _indirect_read(dut, rq, 9, ordinary, th.DESC_F_WRITE if write_flag else 0)
    n = _run(p, rq, head)
    # with the WRITE flag on the table's descriptor, a device that honours it sees no header
    rule = "VIRTIO-RING-016" if write_flag else "VIRTIO-RING-017"
    st = th.mem_read(dut, status, 1)[0]
    th.check(st == th.BLK_S_OK, rule, f"read through an indirect table after {ordinary} ordinary "
                                       f"descriptor(s) completed with status {st}")
    th.check(th.mem_read(dut, at, SECTOR) == data, rule, "the read through an indirect table delivered other bytes")
    th.check(n <= SECTOR + 1, "VIRTIO-RING-031", f"used len {n} exceeds the {SECTOR + 1} writable bytes")

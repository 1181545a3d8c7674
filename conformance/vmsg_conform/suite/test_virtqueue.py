"""Split virtqueues driven byte by byte: used elements name the chain head
and the bytes written, chains and indirect tables are followed, indices wrap,
and no DMA happens while Bus Master Enable is clear."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th


def _rng(dut, size=None, wanted=None):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p, queues=((0, size),), wanted=wanted)[0]
    return p, rq


@pytest.mark.req("VMSG-DEV-033")
@pytest.mark.parametrize("length", [1, 7, 64, 4096])
def test_used_length_is_the_number_of_bytes_written(dut, length):
    p, rq = _rng(dut)
    buf = th.buffer(dut, length + 8, fill=0)
    head = rq.add(writable=[(buf, length)])
    rq.publish()
    p.kick(0)
    assert rq.reap() == [(head, length)]
    assert th.mem_read(dut, buf + length, 8) == bytes(8), "device wrote past the buffer"


@pytest.mark.req("VMSG-DEV-033")
@pytest.mark.parametrize("segments", [2, 3, 5])
def test_chained_writable_segments_are_all_filled(dut, segments):
    p, rq = _rng(dut)
    bufs = [th.buffer(dut, 32, fill=0) for _ in range(segments)]
    head = rq.add(writable=[(b, 16) for b in bufs])
    rq.publish()
    p.kick(0)
    assert rq.reap() == [(head, 16 * segments)]
    for b in bufs:
        assert th.mem_read(dut, b + 16, 16) == bytes(16)


@pytest.mark.req("VMSG-DEV-033")
def test_indirect_descriptor_table_is_followed(dut):
    p = th.peer(dut, th.RNG_ID)
    if not p.offered() & th.bit(th.F_INDIRECT_DESC):
        pytest.skip("device does not offer VIRTIO_F_INDIRECT_DESC")
    rq = th.bring_up(p, wanted=th.bit(th.F_VERSION_1) | th.bit(th.F_INDIRECT_DESC))[0]
    a, b = th.buffer(dut, 16, fill=0), th.buffer(dut, 16, fill=0)
    table = dut.ram.alloc(32, 16)
    th.mem_write(dut, table, struct.pack("<QIHH", a, 16, th.DESC_F_WRITE | th.DESC_F_NEXT, 1)
                 + struct.pack("<QIHH", b, 16, th.DESC_F_WRITE, 0))
    rq.write_desc(0, table, 32, th.DESC_F_INDIRECT, 0)
    rq.next_desc = 1
    rq.put_avail(0)
    rq.publish()
    p.kick(0)
    assert rq.reap() == [(0, 32)]


@pytest.mark.req("VMSG-DEV-033")
def test_ring_indices_wrap_around_the_queue_size(dut):
    p, rq = _rng(dut, size=4)
    buf = th.buffer(dut, 8)
    for i in range(11):  # more than two laps of a 4-entry ring
        rq.next_desc = 0
        head = rq.add(writable=[(buf, 8)])
        rq.publish()
        p.kick(0)
        assert rq.reap() == [(head, 8)], f"round {i}"
    assert rq.used_idx() == 11


@pytest.mark.req("VMSG-DEV-033", "VMSG-DEV-037")
def test_buffers_returned_in_one_batch_each_once(dut):
    p, rq = _rng(dut, size=8)
    heads = [rq.add(writable=[(th.buffer(dut, 4), 4)]) for _ in range(8)]
    rq.publish()
    p.kick(0)
    got = rq.reap()
    assert sorted(h for h, _ in got) == sorted(heads)
    assert all(n == 4 for _, n in got)


@pytest.mark.req("VMSG-DEV-033")
def test_queue_of_another_device_on_the_fifo_is_untouched(dut):
    prng, rrng = _rng(dut)
    pblk = th.peer(dut, th.BLK_ID)
    rblk = th.bring_up(pblk)[0]
    rblk.add(readable=[(th.buffer(dut, 16, fill=0), 16)], writable=[(th.buffer(dut, 512), 512), (th.buffer(dut, 1), 1)])
    rblk.publish()  # published on blk but not kicked
    head = rrng.add(writable=[(th.buffer(dut, 8), 8)])
    rrng.publish()
    prng.kick(0)
    assert rrng.reap() == [(head, 8)]
    assert rblk.used_idx() == 0


def _set_bus_master(dut, on: bool):
    fn = dut.pci_address
    cmd = dut.port.config_read(fn, 4, 2)
    dut.port.config_write(fn, 4, 2, (cmd | 0x4) if on else (cmd & ~0x4))


@pytest.mark.req("PCI-001", "AMP-001")
def test_no_virtqueue_dma_while_bus_master_is_disabled(dut):
    # PCI rule: a function with Bus Master Enable clear issues no DMA
    # (amp-pci-device.md D32). The FIFO window is the device's own BAR, so
    # messages still flow; guest RAM must stay untouched.
    p, rq = _rng(dut)
    buf = th.buffer(dut, 32, fill=0x99)
    rq.add(writable=[(buf, 32)])
    rq.publish()
    _set_bus_master(dut, False)
    try:
        p.kick(0)
        dut.port.advance_time(1_000_000)
        assert th.mem_read(dut, buf, 32) == b"\x99" * 32
        assert rq.used_idx() == 0
    finally:
        _set_bus_master(dut, True)

"""Split virtqueue rules of the virtio core (split-ring.tex) that a virtio-msg device keeps
as any virtio device: the descriptor table and the device-readable buffers stay as the
driver wrote them, and a used element's len counts bytes the device really wrote, from the
first device-writable buffer on."""
import pytest

from vmsg_conform.suite import transport_helpers as th


def _blk_ring(dut):
    p = th.peer(dut, th.BLK_ID)
    return p, th.bring_up(p, room=6)[0]  # two requests of three descriptors each


def _submit(p, rq, heads) -> dict[int, int]:
    """Publishes what was added, kicks queue 0 and returns the new used elements (head -> len).
    The chains ``heads`` being used is the test's precondition (VMSG-DEV-033: a live queue is
    served), not the split-ring rule it checks."""
    rq.publish()
    p.kick(0)
    used = dict(rq.reap())
    th.require(sorted(used) == sorted(heads), "VMSG-DEV-033", f"chains {sorted(heads)} posted, {sorted(used)} used")
    return used


@pytest.mark.req("VIRTIO-RING-008")
@pytest.mark.parametrize("device_id", [th.RNG_ID, th.BLK_ID])
def test_device_leaves_the_descriptor_table_as_the_driver_wrote_it(dut, device_id):
    p = th.peer(dut, device_id)
    rq = th.bring_up(p, room=6)[0]
    if device_id == th.RNG_ID:
        heads = [rq.add(writable=[(th.buffer(dut, n), n)]) for n in (16, 64)]
    else:
        heads = [th.blk_request(dut, rq, th.BLK_T_IN, 0, in_len=512).head,
                 th.blk_request(dut, rq, th.BLK_T_OUT, 1, out=th.pattern(512, 9)).head]
    before = th.mem_read(dut, rq.desc, 16 * rq.size)
    _submit(p, rq, heads)
    assert th.mem_read(dut, rq.desc, 16 * rq.size) == before, "the device wrote into the descriptor table"


@pytest.mark.req("VIRTIO-RING-006")
def test_device_does_not_write_device_readable_buffers(dut):
    p, rq = _blk_ring(dut)
    data = th.pattern(1024, 4)
    write = th.blk_request(dut, rq, th.BLK_T_OUT, 2, out=data)
    read = th.blk_request(dut, rq, th.BLK_T_IN, 2, in_len=1024)
    headers = {r.header: th.mem_read(dut, r.header, 16) for r in (write, read)}
    _submit(p, rq, [write.head, read.head])
    assert th.mem_read(dut, write.data, len(data)) == data, "the device wrote into an OUT request's data"
    for addr, header in headers.items():
        assert th.mem_read(dut, addr, 16) == header, "the device wrote into a request header"


@pytest.mark.req("VIRTIO-RING-031")
@pytest.mark.parametrize("nbytes", [512, 4096])
def test_used_len_counts_bytes_written_from_the_first_writable_buffer(dut, nbytes):
    p, rq = _blk_ring(dut)
    data = th.pattern(nbytes, 7)
    _submit(p, rq, [th.blk_request(dut, rq, th.BLK_T_OUT, 8, out=data).head])
    read = th.blk_request(dut, rq, th.BLK_T_IN, 8, in_len=nbytes)
    n = _submit(p, rq, [read.head])[read.head]
    assert n <= nbytes + 1, f"used len {n} exceeds the chain's {nbytes + 1} writable bytes"
    # the writable bytes, in chain order, as the device should have left them: the sector
    # data written before, then the OK status; the buffers were prefilled with 0xAA / 0xFF
    written = th.mem_read(dut, read.data, nbytes) + th.mem_read(dut, read.status, 1)
    assert written[:n] == (data + bytes([th.BLK_S_OK]))[:n], f"the first {n} writable bytes were not all written"


@pytest.mark.req("VIRTIO-RING-045")
def test_device_carries_on_after_notifications_that_bring_nothing_new(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p, room=2)[0]
    _submit(p, rq, [rq.add(writable=[(th.buffer(dut, 16), 16)])])  # the queue is served
    for _ in range(3):
        p.kick(0)  # nothing new published
    assert rq.reap() == [], "a notification with nothing new made the device use something"
    head = rq.add(writable=[(th.buffer(dut, 16), 16)])
    rq.publish()
    p.kick(0)
    assert [h for h, _ in rq.reap()] == [head], "after spurious notifications a new buffer was not used"
    assert not p.status() & th.NEEDS_RESET, "a spurious notification made the device ask for a reset"


@pytest.mark.req("VIRTIO-RING-024")
def test_device_ignores_used_event_without_event_idx(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]  # VERSION_1 only: no EVENT_IDX
    rq.set_used_event(5)  # would hold the notification back if the device read it
    rq.add(writable=[(th.buffer(dut, 16), 16)])
    rq.publish()
    events = p.kick(0).events(th.ID_EVENT_USED)
    th.require(rq.used_idx() == 1, "VMSG-DEV-033", "the posted buffer was not used")
    assert len(events) == 1, f"{len(events)} used-buffer notifications with flags 0; used_event must not matter"


@pytest.mark.req("VIRTIO-RING-041", "VIRTIO-RING-043")
@pytest.mark.parametrize("event_idx", [False, True])
def test_used_ring_flags_hold_only_the_defined_values(dut, event_idx):
    p = th.peer(dut, th.RNG_ID)
    wanted = th.bit(th.F_VERSION_1) | (th.bit(th.F_EVENT_IDX) if event_idx else 0)
    if event_idx and not p.offered() & th.bit(th.F_EVENT_IDX):
        pytest.skip("device does not offer VIRTIO_F_EVENT_IDX")
    rq = th.bring_up(p, wanted=wanted, room=2)[0]
    _submit(p, rq, [rq.add(writable=[(th.buffer(dut, 16), 16)])])
    flags = rq.used_flags()
    if event_idx:
        th.check(flags == 0, "VIRTIO-RING-043", f"used ring flags {flags:#x} with EVENT_IDX negotiated")
    else:
        th.check(flags in (0, 1), "VIRTIO-RING-041", f"used ring flags {flags:#x} without EVENT_IDX")

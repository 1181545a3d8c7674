"""GET_VQUEUE (virtio-msg.md §4.9, §11): accurate sizes, cur_size 0 until
configured, the SET_VQUEUE parameters afterwards."""
import pytest

from vmsg_conform.suite import transport_helpers as th


def _queues(dut):
    out = []
    for dev in th.devices_of(dut):
        p = th.Peer(dut, dev)
        for q in range(p.info().max_virtqueues):
            out.append((dev, q))
    return out


# Queue families of the default kinds: (virtio ID, queue index).
FAMILY = [(th.RNG_ID, 0), (th.BLK_ID, 0), (th.BALLOON_ID, 0), (th.BALLOON_ID, 1)]


@pytest.mark.req("VMSG-DEV-055", "VMSG-DEV-054", "VMSG-DEV-027", "VMSG-DEV-017", "VMSG-BUS-028")
@pytest.mark.parametrize("device_id,q", FAMILY)
def test_get_vqueue_unconfigured_queue_reads_cur_size_zero(dut, device_id, q):
    p = th.peer(dut, device_id)
    r = p.get_vqueue(q)
    assert p.last.msg_size == 48
    assert r.index == q
    assert r.cur_size == 0
    assert r.max_size > 0
    assert r.flags == 0


@pytest.mark.req("VMSG-DEV-027", "VMSG-DEV-054")
@pytest.mark.parametrize("device_id,q", FAMILY)
def test_get_vqueue_max_size_is_a_usable_split_ring_size(dut, device_id, q):
    p = th.peer(dut, device_id)
    m = p.get_vqueue(q).max_size
    assert 0 < m <= 32768
    assert m & (m - 1) == 0, "split-ring sizes are powers of two"


@pytest.mark.req("VMSG-DEV-027", "VMSG-DEV-054", "VMSG-DEV-057")
@pytest.mark.parametrize("device_id,q", FAMILY)
def test_get_vqueue_reported_max_size_can_be_configured(dut, device_id, q):
    p = th.peer(dut, device_id)
    th.negotiate(p)
    m = p.get_vqueue(q).max_size
    rq = th.RawQueue(dut, m)
    rq.program(p, q)
    assert p.get_vqueue(q).cur_size == m


@pytest.mark.req("VMSG-DEV-028", "VMSG-DEV-056", "VMSG-DEV-054", "VMSG-DEV-014", "R1-DEV-078")
@pytest.mark.parametrize("size", [1, 2, 8, 64])
def test_get_vqueue_returns_the_programmed_size_and_addresses(dut, size):
    p = th.peer(dut, th.BLK_ID)
    th.negotiate(p)
    size = th.queue_size_for(p, 0, size)
    rq = th.RawQueue(dut, size)
    rq.program(p, 0)
    r = p.get_vqueue(0)
    assert (r.index, r.cur_size, r.desc_addr, r.driver_addr, r.device_addr) == (0, size, rq.desc, rq.avail, rq.used)
    assert r.max_size == p.get_vqueue(0).max_size


@pytest.mark.req("VMSG-DEV-054", "READ-G10")
@pytest.mark.parametrize("beyond", [0, 1, 1000, "max"])
def test_get_vqueue_beyond_last_queue_reports_max_size_zero(dut, beyond):
    p = th.peer(dut, th.BALLOON_ID)
    n = p.info().max_virtqueues
    index = 0xFFFFFFFF if beyond == "max" else n + beyond
    r = p.get_vqueue(index)
    assert r.index == index
    assert (r.max_size, r.cur_size) == (0, 0)


@pytest.mark.req("VMSG-DEV-028", "VMSG-DEV-055", "R1-DEV-078")
def test_get_vqueue_other_queue_stays_unconfigured(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.negotiate(p)
    rq = th.RawQueue(dut, th.queue_size_for(p, 1, None))
    rq.program(p, 1)
    assert th.queue_unconfigured(p, 0)
    assert p.get_vqueue(1).cur_size == rq.size


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4, -4])
def test_get_vqueue_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.RNG_ID)
    th.assert_size_mismatch_dropped(p, th.wire.GetVqueueReq(index=0), grow)

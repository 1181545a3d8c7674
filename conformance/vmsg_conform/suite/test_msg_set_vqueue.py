"""SET_VQUEUE (virtio-msg.md §4.10, §11): header-only answer, parameters
kept, a bad request leaves the queue inactive, honoured after DRIVER_OK."""
import pytest

from vmsg_conform.suite import transport_helpers as th


@pytest.mark.req("VMSG-DEV-043", "VMSG-DEV-017", "VMSG-DEV-056")
def test_set_vqueue_response_is_header_only(dut):
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    th.RawQueue(dut, th.queue_size_for(p, 0, None)).program(p, 0)
    assert p.last.msg_size == 8 and p.last.type == 0x01 and p.last.msg_id == th.ID_SET_VQUEUE


BAD_SIZES = {
    "zero": lambda m: 0,
    "max-plus-one": lambda m: m + 1,
    "twice-max": lambda m: 2 * m,
    "not-power-of-two": lambda m: 3,
    "huge": lambda m: 0x10000,
}


@pytest.mark.req("VMSG-DEV-057", "VMSG-DEV-055", "READ-G09")
@pytest.mark.parametrize("case", sorted(BAD_SIZES))
def test_set_vqueue_with_unusable_size_leaves_queue_inactive(dut, case):
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    m = p.get_vqueue(0).max_size
    rq = th.RawQueue(dut, 16)
    p.set_vqueue(0, BAD_SIZES[case](m), rq.desc, rq.avail, rq.used)
    assert th.queue_unconfigured(p, 0)


@pytest.mark.req("VMSG-DEV-057", "VMSG-DEV-055")
@pytest.mark.parametrize("which", ["desc", "avail", "used"])
def test_set_vqueue_with_misaligned_ring_leaves_queue_inactive(dut, which):
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    # A size the device takes: only the misalignment may keep the queue inactive.
    rq = th.RawQueue(dut, th.queue_size_for(p, 0, None))
    addrs = {"desc": rq.desc, "avail": rq.avail, "used": rq.used}
    addrs[which] += 1
    p.set_vqueue(0, rq.size, addrs["desc"], addrs["avail"], addrs["used"])
    assert th.queue_unconfigured(p, 0)


@pytest.mark.req("VMSG-DEV-057")
@pytest.mark.parametrize("index", [1, 5, 0xFFFFFFFF])
def test_set_vqueue_for_missing_queue_configures_nothing(dut, index):
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    # A size queue 0 would take, so a device that applied it there would show.
    rq = th.RawQueue(dut, th.queue_size_for(p, 0, None))
    p.set_vqueue(index, rq.size, rq.desc, rq.avail, rq.used)
    r = p.get_vqueue(index)
    assert (r.max_size, r.cur_size) == (0, 0)
    assert th.queue_unconfigured(p, 0)


@pytest.mark.req("VMSG-DEV-039", "VMSG-DEV-028", "VMSG-DEV-056")
def test_set_vqueue_after_driver_ok_reprograms_the_queue(dut):
    p = th.peer(dut, th.RNG_ID)
    first = th.bring_up(p)[0]
    limit = p.get_vqueue(0).max_size
    # Another size than the first, so the answer shows which one was kept.
    size = first.size * 2 if first.size * 2 <= limit else max(first.size // 2, 1)
    new = th.RawQueue(dut, size)
    new.program(p, 0)
    r = p.get_vqueue(0)
    assert (r.cur_size, r.desc_addr, r.driver_addr, r.device_addr) == (size, new.desc, new.avail, new.used)
    buf = th.buffer(dut, 64)
    head = new.add(writable=[(buf, 64)])
    new.publish()
    p.kick(0)
    assert new.reap() == [(head, 64)]


@pytest.mark.req("VMSG-DEV-057", "VMSG-DEV-033")
def test_set_vqueue_queue_is_live_once_configured(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    buf = th.buffer(dut, 32, fill=0)
    head = rq.add(writable=[(buf, 32)])
    rq.publish()
    p.kick(0)
    assert rq.reap() == [(head, 32)]


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4, -8])
def test_set_vqueue_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.RNG_ID)
    th.assert_size_mismatch_dropped(p, th.wire.SetVqueueReq(index=0, size=16, desc_addr=0x1000, driver_addr=0x2000, device_addr=0x3000), grow)

"""virtio-balloon through raw rings: two queues, PFN lists on the inflate
and deflate queues are consumed, `actual` is driver-writable, a new host
target arrives as EVENT_CONFIG."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th

NUM_PAGES, ACTUAL = 0, 4


def _live(dut):
    p = th.peer(dut, th.BALLOON_ID)
    rings = th.bring_up(p, queues=((0, None), (1, None)))
    return p, rings


_pfns = th.pfn_list


@pytest.mark.req("VMSG-DEV-045", "VMSG-DEV-054", "R1-DEV-050")
def test_balloon_has_two_queues_and_an_eight_byte_config(dut):
    p = th.peer(dut, th.BALLOON_ID)
    info = p.info()
    assert info.device_id == th.BALLOON_ID
    assert info.max_virtqueues >= 2
    assert info.config_size >= 8


@pytest.mark.req("VMSG-DEV-033", "VMSG-DEV-037", "R1-DEV-045")
@pytest.mark.parametrize("queue", [0, 1])
def test_balloon_pfn_list_is_consumed_on_each_queue(dut, queue):
    p, rings = _live(dut)
    if queue == 1:  # deflate what was inflated first
        a, n = _pfns(dut, [0x100, 0x101])
        rings[0].add(readable=[(a, n)])
        rings[0].publish()
        p.kick(0)
        rings[0].reap()
    a, n = _pfns(dut, [0x100, 0x101])
    head = rings[queue].add(readable=[(a, n)])
    rings[queue].publish()
    reply = p.kick(queue)
    assert rings[queue].reap() == [(head, 0)]  # device-readable only: nothing written
    named = [f.body.vq_index for f in reply.events(th.ID_EVENT_USED)]
    th.check(named == [queue], th.event_used_rule(dut),
             f"a buffer used on queue {queue} drew EVENT_USED naming {named}")


@pytest.mark.req("VMSG-DEV-043", "VMSG-DEV-006", "R1-DEV-010")
def test_balloon_actual_is_written_by_the_driver(dut):
    p, _ = _live(dut)
    cur = p.get_config(ACTUAL, 4)
    r = p.set_config(cur.generation, ACTUAL, struct.pack("<I", 2))
    assert r.length == 4
    assert struct.unpack("<I", bytes(p.get_config(ACTUAL, 4).data))[0] == 2


@pytest.mark.req("VMSG-DEV-034", "VMSG-DEV-035", "VMSG-DEV-038", "R1-DEV-015")
def test_balloon_new_target_arrives_as_event_config_with_num_pages(dut):
    p, _ = _live(dut)
    before = struct.unpack("<I", bytes(p.get_config(NUM_PAGES, 4).data))[0]
    th.config_change(dut, p.dev)
    ev = p.take_events(th.ID_EVENT_CONFIG)
    assert len(ev) == 1
    now = p.get_config(NUM_PAGES, 4)
    target = struct.unpack("<I", bytes(now.data))[0]
    assert target != before
    e = ev[0].body
    assert e.generation == now.generation
    assert e.offset <= NUM_PAGES < e.offset + max(e.length, 1)
    if len(e.data):
        assert bytes(e.data)[NUM_PAGES - e.offset:NUM_PAGES - e.offset + 4] == bytes(now.data)

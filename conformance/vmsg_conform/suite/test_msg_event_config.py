"""EVENT_CONFIG (virtio-msg.md §4.13, §10): sent on every device-side
config or status change, with a new generation for new data; the data it
carries (or GET_CONFIG) shows the new bytes."""
import pytest

from vmsg_conform.suite import transport_helpers as th


def _balloon_live(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=())
    return p


def _one_event(p):
    evs = p.take_events(th.ID_EVENT_CONFIG)
    th.require(len(evs) == 1, "VMSG-DEV-034", f"expected one EVENT_CONFIG, got {len(evs)}")
    return evs[0]


@pytest.mark.req("VMSG-DEV-034", "VMSG-DEV-038", "VMSG-DEV-061", "VMSG-DEV-035", "R1-DEV-015")
def test_event_config_sent_once_on_device_side_change(dut):
    p = _balloon_live(dut)
    th.config_change(dut, p.dev)
    f = _one_event(p)
    assert f.type == 0x00 and f.dev_num == p.dev.dev_num


@pytest.mark.req("VMSG-DEV-006", "VMSG-DEV-035", "VMSG-DEV-038", "VMSG-DEV-061", "R1-DEV-010", "R1-DEV-015")
def test_event_config_carries_a_new_generation(dut):
    p = _balloon_live(dut)
    gen = p.generation()
    th.config_change(dut, p.dev)
    ev = _one_event(p).body
    assert ev.generation != gen
    assert p.generation() == ev.generation


@pytest.mark.req("VMSG-DEV-017", "VMSG-DEV-035", "VMSG-DEV-036", "VMSG-DEV-009")
def test_event_config_data_or_range_matches_get_config(dut):
    p = _balloon_live(dut)
    size = p.info().config_size
    th.config_change(dut, p.dev)
    f = _one_event(p)
    ev = f.body
    assert f.msg_size == 24 + ev.length
    assert len(ev.data) in (0, ev.length)
    assert ev.offset + ev.length <= size
    if len(ev.data):
        now = p.get_config(ev.offset, ev.length)
        assert bytes(now.data) == bytes(ev.data)
        assert now.generation == ev.generation


@pytest.mark.req("VMSG-DEV-034", "VMSG-DEV-052", "R1-DEV-015")
def test_event_config_reports_the_current_device_status(dut):
    p = _balloon_live(dut)
    th.config_change(dut, p.dev)
    assert _one_event(p).body.device_status == p.status()


@pytest.mark.req("VMSG-DEV-007", "R1-DEV-010")
@pytest.mark.parametrize("changes", [2, 5])
def test_event_config_each_event_with_data_has_a_unique_generation(dut, changes):
    p = _balloon_live(dut)
    gens = [p.generation()]
    for _ in range(changes):
        th.config_change(dut, p.dev)
        gens.append(_one_event(p).body.generation)
    assert len(set(gens)) == len(gens)


@pytest.mark.req("VMSG-DEV-006", "VMSG-DEV-038", "R1-DEV-010")
def test_event_config_change_is_never_visible_with_the_old_generation(dut):
    p = _balloon_live(dut)
    before = p.get_config(0, 8)
    th.config_change(dut, p.dev)
    after = p.get_config(0, 8)
    assert bytes(after.data) != bytes(before.data)
    assert after.generation != before.generation


@pytest.mark.req("VMSG-DEV-042", "VMSG-DEV-034", "VMSG-DEV-061")
def test_event_config_announces_device_needs_reset(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    th.break_ring(p, rq)
    evs = p.take_events(th.ID_EVENT_CONFIG)
    assert len(evs) == 1
    assert evs[0].body.device_status & th.NEEDS_RESET

"""REV1 baseline configuration profile (REV1 L421-466, L1454-1464): the
AMP bus announces no strict-config transport feature, so SET_CONFIG applies
a valid write whatever generation it carries, answers all or nothing, and
neither a stale write nor a status write draws EVENT_CONFIG."""
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmsg_conform.suite import transport_helpers as th


@pytest.fixture(autouse=True)
def _rev1_only(dut):
    """These rules and layouts exist only in REV1-2026 (N/A under PR28)."""
    if not th.is_rev1(dut):
        pytest.skip("REV1-2026 rule: not applicable under the PR28 profile")

ACTUAL = 4  # the balloon's driver-writable 'actual' field


def _balloon(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=())
    return p


def _write(p, generation, value):
    data = struct.pack("<I", value)
    reply = p.send(th.wire.SetConfigReq(generation=generation, offset=ACTUAL, data=data))
    resps = reply.responses(th.ID_SET_CONFIG)
    th.require(len(resps) == 1, "R1-DEV-039", f"SET_CONFIG drew {len(resps)} answers")
    p.events.extend(f for f in reply.frames if not f.is_response)
    return resps[0].body, data, resps[0]


@pytest.mark.req("R1-DEV-012", "R1-DEV-011", "R1-DEV-006", "R1-DEV-062")
def test_r1_write_with_stale_generation_is_applied(dut):
    p = _balloon(dut)
    old = p.get_config(0, 8).generation
    th.config_change(dut, p.dev)
    p.take_events()
    th.require(p.generation() != old, "R1-DEV-010", "a device-side change left the generation as it was")
    r, data, _ = _write(p, old, 0x2A)
    assert r.length == 4, f"stale-generation write answered length {r.length}"
    th.check(bytes(r.data) == data, "R1-DEV-062", f"applied write echoed {bytes(r.data).hex()}")
    assert bytes(p.get_config(ACTUAL, 4).data) == data, "the stale-generation write did not land"


@pytest.mark.req("R1-DEV-012", "R1-DEV-011", "R1-DEV-062", "R1-DEV-008")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gen=st.integers(0, 0xFFFFFFFF), value=st.integers(0, 0xFFFFFFFF))
def test_r1_write_with_any_generation_is_applied(dut, gen, value):
    p = _balloon(dut)
    r, data, _ = _write(p, gen, value)
    assert r.length == 4, f"write with generation {gen:#x} answered length {r.length}"
    cur = p.get_config(ACTUAL, 4)
    assert bytes(cur.data) == data
    th.check(r.generation == cur.generation, "R1-DEV-008", f"answer generation {r.generation}, current {cur.generation}")


@pytest.mark.req("R1-DEV-062", "R1-DEV-063", "R1-DEV-012")
@pytest.mark.parametrize("stale", [False, True])
def test_r1_set_config_answer_is_all_or_nothing(dut, stale):
    p = _balloon(dut)
    gen = p.generation()
    if stale:
        gen = (gen + 0x1001) & 0xFFFFFFFF
    r, data, frame = _write(p, gen, 0x13579BDF)
    assert r.length in (0, 4), f"answer length {r.length} for a 4-byte write"
    if r.length == 4:
        assert bytes(r.data) == data and frame.msg_size == th.size_of(dut, r)
    else:
        th.check(len(bytes(r.data)) == 0, "R1-DEV-063", "refused write answered with data")
        th.check(not stale, "R1-DEV-012", "a write refused only for its generation")


@pytest.mark.req("R1-DEV-013", "R1-DEV-012")
def test_r1_stale_write_draws_no_event_config(dut):
    p = _balloon(dut)
    old = p.generation()
    th.config_change(dut, p.dev)
    p.take_events()
    r, _, _ = _write(p, old, 7)
    th.check(r.length == 4, "R1-DEV-012", f"stale-generation write answered length {r.length}")
    assert p.take_events(th.ID_EVENT_CONFIG) == []


@pytest.mark.req("R1-DEV-017")
@pytest.mark.parametrize("device_id", [th.RNG_ID, th.BALLOON_ID])
def test_r1_status_writes_draw_no_event_config(dut, device_id):
    p = th.peer(dut, device_id)
    th.bring_up(p, queues=())
    p.set_status(0)
    assert p.take_events(th.ID_EVENT_CONFIG) == [], "SET_DEVICE_STATUS drew EVENT_CONFIG"

"""REV1 SET_VQUEUE flags (REV1 L1624-1698) and GET_VQUEUE's enabled bit
(REV1 L1588-1598): state operations 0/1/2/3, the four ignore bits, reserved
bits and word; bad or disallowed requests change nothing and still get
exactly one empty answer; an enabled queue is neither updated nor disabled."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmsg_conform.suite import transport_helpers as th


@pytest.fixture(autouse=True)
def _rev1_only(dut):
    """These rules and layouts exist only in REV1-2026 (N/A under PR28)."""
    if not th.is_rev1(dut):
        pytest.skip("REV1-2026 rule: not applicable under the PR28 profile")

KEEP_DISABLED, ENABLE, KEEP_STATE, OP_RESERVED = 0, 1, 2, 3
IGN_SIZE, IGN_DESC, IGN_DRIVER, IGN_DEVICE = 1 << 2, 1 << 3, 1 << 4, 1 << 5


def _snap(p, q=0):
    r = p.get_vqueue(q)
    return (r.index, r.max_size, r.cur_size, r.desc_addr, r.driver_addr, r.device_addr, r.flags)


def _set(p, req_id, q, flags, size, desc, drv, dev, reserved=0):
    """Sends one SET_VQUEUE; checks (graded against ``req_id``) that it is answered, and
    empty. More than one answer is the one-answer rule's (R1-DEV-039) to judge."""
    body = th.wire.SetVqueueReq(index=q, flags=flags, size=size, desc_addr=desc, driver_addr=drv,
                                device_addr=dev)
    if reserved:
        body.reserved = reserved
    f = p.answer(body, unanswered=req_id)
    th.check(f.msg_size == 8, req_id, f"SET_VQUEUE flags 0x{flags:x} reserved 0x{reserved:x}: "
                                      f"answer of {f.msg_size} bytes, not empty")


def _ready(dut):
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    th.require_initial_queue(p)
    size = th.queue_size_for(p, 0, None)
    return p, th.RawQueue(dut, size), th.RawQueue(dut, size)


def _enabled(p, rq):
    _set(p, "R1-DEV-080", 0, ENABLE, rq.size, rq.desc, rq.avail, rq.used)
    s = _snap(p)
    th.require(s[6] & 1 == 1 and s[2] == rq.size, "R1-DEV-073", f"queue not enabled by state op 1: {s}")
    return s


@pytest.mark.req("R1-DEV-075")
@pytest.mark.parametrize("case", ["op3", "bit6", "bit31", "bits6-31", "reserved-word", "reserved-top"])
@pytest.mark.parametrize("enabled", [False, True], ids=["disabled", "enabled"])
def test_r1_bad_set_vqueue_changes_nothing_and_gets_one_empty_answer(dut, case, enabled):
    p, rq, other = _ready(dut)
    if enabled:
        _enabled(p, rq)
    before = _snap(p)
    flags, reserved = {
        "op3": (OP_RESERVED, 0), "bit6": (ENABLE | 1 << 6, 0), "bit31": (ENABLE | 1 << 31, 0),
        "bits6-31": (ENABLE | 0xFFFFFFC0, 0), "reserved-word": (ENABLE, 1), "reserved-top": (ENABLE, 0x80000000),
    }[case]
    _set(p, "R1-DEV-075", 0, flags, other.size, other.desc, other.avail, other.used, reserved)
    after = _snap(p)
    assert after == before, f"{case}: queue went from {before} to {after}"


@pytest.mark.req("R1-DEV-076", "R1-DEV-080")
def test_r1_state_op_0_does_not_disable_an_enabled_queue(dut):
    p, rq, _ = _ready(dut)
    before = _enabled(p, rq)
    _set(p, "R1-DEV-076", 0, KEEP_DISABLED | IGN_SIZE | IGN_DESC | IGN_DRIVER | IGN_DEVICE, 0, 0, 0, 0)
    after = _snap(p)
    assert after == before and after[6] & 1, f"state op 0 on an enabled queue: {before} -> {after}"


@pytest.mark.req("R1-DEV-076")
def test_r1_state_op_0_with_new_fields_leaves_an_enabled_queue_alone(dut):
    p, rq, other = _ready(dut)
    before = _enabled(p, rq)
    _set(p, "R1-DEV-076", 0, KEEP_DISABLED, other.size, other.desc, other.avail, other.used)
    assert _snap(p) == before


@pytest.mark.req("R1-DEV-079")
@pytest.mark.parametrize("op", [ENABLE, KEEP_STATE])
@pytest.mark.parametrize("field", ["size", "desc", "driver", "device", "all"])
def test_r1_enabled_queue_is_not_updated(dut, op, field):
    p, rq, other = _ready(dut)
    before = _enabled(p, rq)
    ign = {"size": IGN_DESC | IGN_DRIVER | IGN_DEVICE, "desc": IGN_SIZE | IGN_DRIVER | IGN_DEVICE,
           "driver": IGN_SIZE | IGN_DESC | IGN_DEVICE, "device": IGN_SIZE | IGN_DESC | IGN_DRIVER, "all": 0}[field]
    size = other.size if field != "size" else (other.size // 2 or 2)
    _set(p, "R1-DEV-079", 0, op | ign, size, other.desc + 0x1000, other.avail + 0x1000, other.used + 0x1000)
    after = _snap(p)
    assert after == before, f"update of {field} on an enabled queue: {before} -> {after}"


@pytest.mark.req("R1-DEV-080", "R1-DEV-073", "R1-DEV-078")
def test_r1_state_op_0_configures_a_disabled_queue_and_keeps_it_disabled(dut):
    p, rq, _ = _ready(dut)
    _set(p, "R1-DEV-080", 0, KEEP_DISABLED, rq.size, rq.desc, rq.avail, rq.used)
    s = _snap(p)
    th.check(s[2:6] == (rq.size, rq.desc, rq.avail, rq.used), "R1-DEV-078", f"fields not applied: {s}")
    assert s[6] == 0, f"state op 0 enabled the queue (flags 0x{s[6]:x})"


@pytest.mark.req("R1-DEV-080", "R1-DEV-073")
def test_r1_state_op_2_keeps_a_disabled_queue_disabled_then_op_1_enables_it(dut):
    p, rq, _ = _ready(dut)
    _set(p, "R1-DEV-080", 0, KEEP_STATE, rq.size, rq.desc, rq.avail, rq.used)
    s = _snap(p)
    assert s[6] & 1 == 0, f"state op 2 enabled a disabled queue: {s}"
    _set(p, "R1-DEV-080", 0, ENABLE | IGN_SIZE | IGN_DESC | IGN_DRIVER | IGN_DEVICE, 0, 0, 0, 0)
    s2 = _snap(p)
    assert s2[6] == 1 and s2[2:6] == s[2:6], f"state op 1 with every field ignored: {s} -> {s2}"


@pytest.mark.req("R1-DEV-073")
def test_r1_get_vqueue_flags_show_enabled_only_in_bit_0(dut):
    p, rq, _ = _ready(dut)
    s = _enabled(p, rq)
    assert s[6] == 1, f"enabled queue flags 0x{s[6]:x}"
    p.set_status(0)
    th.require_initial_queue(p, after="the device reset")
    assert _snap(p)[6] == 0, "queue reports flags after a device reset"


@pytest.mark.req("R1-DEV-072")
@pytest.mark.parametrize("index", [1, 7, 0xFFFF, 0x10000, 0xFFFFFFFF])
def test_r1_missing_queue_reads_zero_with_its_index(dut, index):
    p = th.peer(dut, th.RNG_ID)
    mx = p.info().max_virtqueues
    th.require(index >= mx, "R1-DEV-072", f"index {index} exists on this device")
    assert _snap(p, index) == (index, 0, 0, 0, 0, 0, 0)


@pytest.mark.req("R1-DEV-074", "R1-DEV-072")
@pytest.mark.parametrize("index", [1, 0xFFFFFFFF])
def test_r1_set_vqueue_for_missing_queue_is_a_no_op(dut, index):
    p, rq, _ = _ready(dut)
    before = _snap(p)
    _set(p, "R1-DEV-074", index, ENABLE, rq.size, rq.desc, rq.avail, rq.used)
    assert _snap(p) == before
    th.check(_snap(p, index) == (index, 0, 0, 0, 0, 0, 0), "R1-DEV-072", "missing queue reads non-zero")


@pytest.mark.req("R1-DEV-078", "R1-DEV-080", "R1-DEV-077")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.integers(0, 15), second=st.integers(0, 15), op=st.sampled_from([KEEP_DISABLED, KEEP_STATE, ENABLE]))
def test_r1_ignore_bits_pick_the_fields_applied(dut, first, second, op):
    """Two writes to a disabled queue, each ignoring some fields: every field
    ends with the value of the last write that did not ignore it; an enable
    the device refuses (size 0 left by ignored fields) is refused whole."""
    p, a, b = _ready(dut)
    want = [0, 0, 0, 0]
    after_first = None
    for rq, ign, state in ((a, first, KEEP_DISABLED), (b, second, op)):
        vals = [rq.size, rq.desc, rq.avail, rq.used]
        _set(p, "R1-DEV-078", 0, state | ign << 2, *vals)
        for i in range(4):
            if not ign >> i & 1:
                want[i] = vals[i]
        if after_first is None:
            after_first = _snap(p)
            th.check(after_first[2:6] == tuple(want), "R1-DEV-078", f"fields {after_first[2:6]}, expected {want}")
    s = _snap(p)
    if op != ENABLE:
        assert s[6] & 1 == 0, f"state op {op} enabled a disabled queue: {s}"
        th.check(s[2:6] == tuple(want), "R1-DEV-078", f"fields {s[2:6]}, expected {want}")
    elif s[6] & 1:
        th.check(s[2:6] == tuple(want), "R1-DEV-080", f"enabled with {s[2:6]}, expected {want}")
    else:
        th.check(want[0] == 0, "R1-DEV-080", f"state op 1 did not enable {want}: {s}")
        th.check(s == after_first, "R1-DEV-077", f"refused enable changed the queue: {after_first} -> {s}")


@pytest.mark.req("R1-DEV-081", "R1-DEV-076")
@pytest.mark.parametrize("flags", [KEEP_DISABLED, KEEP_STATE, ENABLE, OP_RESERVED,
                                   KEEP_DISABLED | IGN_SIZE | IGN_DESC | IGN_DRIVER | IGN_DEVICE])
def test_r1_no_set_vqueue_disables_an_enabled_queue(dut, flags):
    p, rq, _ = _ready(dut)
    _enabled(p, rq)
    # the same fields again: only the state operation differs from the enable
    _set(p, "R1-DEV-081", 0, flags, rq.size, rq.desc, rq.avail, rq.used)
    s = _snap(p)
    assert s[6] & 1 == 1, f"SET_VQUEUE flags 0x{flags:x} left the queue disabled: {s}"
    th.check(s[2:6] == (rq.size, rq.desc, rq.avail, rq.used), "R1-DEV-076", f"queue fields changed: {s}")


def _reset_once(p, req_id, index):
    f = p.answer(th.wire.ResetVqueueReq(index=index), unanswered=req_id)
    th.check(f.msg_size == 8, req_id, f"RESET_VQUEUE {index}: answer of {f.msg_size} bytes, not empty")


@pytest.mark.req("R1-DEV-083")
@pytest.mark.parametrize("enabled", [False, True], ids=["configured", "enabled"])
def test_r1_reset_vqueue_without_ring_reset_changes_nothing(dut, enabled):
    p = th.peer(dut, th.RNG_ID)
    got = th.negotiate(p, wanted=th.bit(th.F_VERSION_1))
    th.require(not got & th.bit(th.F_RING_RESET), "R1-DEV-083", "RING_RESET negotiated against the driver's will")
    rq = th.RawQueue(dut, th.queue_size_for(p, 0, None))
    _set(p, "R1-DEV-080", 0, ENABLE if enabled else KEEP_DISABLED, rq.size, rq.desc, rq.avail, rq.used)
    before = _snap(p)
    _reset_once(p, "R1-DEV-083", 0)
    assert _snap(p) == before, f"RESET_VQUEUE without RING_RESET: {before} -> {_snap(p)}"


@pytest.mark.req("R1-DEV-082")
@pytest.mark.parametrize("index", [1, 0x100, 0xFFFFFFFF])
def test_r1_reset_vqueue_for_missing_queue_touches_no_queue(dut, index):
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p, wanted=th.bit(th.F_VERSION_1) | th.bit(th.F_RING_RESET))
    rq = th.RawQueue(dut, th.queue_size_for(p, 0, None))
    _set(p, "R1-DEV-080", 0, ENABLE, rq.size, rq.desc, rq.avail, rq.used)
    before = _snap(p)
    _reset_once(p, "R1-DEV-082", index)
    assert _snap(p) == before, f"RESET_VQUEUE {index:#x} changed queue 0: {before} -> {_snap(p)}"

"""REV1 bus GET_DEVICES (REV1 L1974-1999): count in device slots with a
(count + 7) / 8 byte bitmap, count 0 allowed, never more than asked, unused
bitmap bits 0, next_offset 0 at the end and past the request otherwise."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmsg_conform.suite import helpers as h
from vmsg_conform.suite import transport_helpers as th


@pytest.fixture(autouse=True)
def _rev1_only(dut):
    """These rules and layouts exist only in REV1-2026 (N/A under PR28)."""
    if not th.is_rev1(dut):
        pytest.skip("REV1-2026 rule: not applicable under the PR28 profile")


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


def _ask(dut, fifo, offset, count):
    resp = h.request(h.RawFifo(dut, fifo), h.get_devices(offset, count))
    off, cnt, nxt, bitmap = th.get_devices_fields(dut, resp)
    th.require(h.header(resp).msg_size == 14 + (cnt + 7) // 8, "R1-BUS-060",
             f"msg_size {h.header(resp).msg_size} for count {cnt}")
    return off, cnt, nxt, bitmap


def _judge(dut, fifo, offset, count):
    off, cnt, nxt, bitmap = _ask(dut, fifo, offset, count)
    th.check(off == offset, "R1-BUS-067", f"answer offset {off} for request offset {offset}")
    th.check(cnt <= count, "R1-BUS-062", f"count {cnt} for a request of {count}")
    if cnt % 8:
        th.check(bitmap[-1] >> (cnt % 8) == 0, "R1-BUS-063", f"bits past the window set: {bitmap.hex()}")
    present = {off + i for i in range(cnt) if bitmap[i // 8] >> (i % 8) & 1}
    want = {n for n in h.device_numbers(dut, fifo) if off <= n < off + cnt}
    th.check(present == want, "R1-BUS-067", f"bitmap {bitmap.hex()} shows {sorted(present)}, window holds {sorted(want)}")
    if cnt == 0:
        return cnt, nxt, present  # a zero-slot answer describes no window to walk on from
    beyond = any(n >= off + cnt for n in h.device_numbers(dut, fifo))
    if nxt != 0:
        th.check(nxt > offset, "R1-BUS-065", f"next_offset {nxt} not past request offset {offset}")
    th.check(nxt != 0 or not beyond, "R1-BUS-064", f"next_offset 0 at ({offset}, {count}) with devices beyond")
    return cnt, nxt, present


@pytest.mark.req("R1-BUS-061", "R1-BUS-060")
@pytest.mark.parametrize("offset", [0, 1, 8, 31, 200])
def test_r1_get_devices_count_zero_gets_count_zero_and_no_bitmap(dut, fifo, offset):
    off, cnt, _nxt, bitmap = _ask(dut, fifo, offset, 0)
    assert (off, cnt, bitmap) == (offset, 0, b""), f"({off}, {cnt}, {bitmap.hex()}) for a zero-slot request"


@pytest.mark.req("R1-BUS-066")
@pytest.mark.parametrize("offset,count", [(0, 32), (0, 8), (1, 16), (0, 255)])
def test_r1_get_devices_answers_the_count_asked_for(dut, fifo, offset, count):
    """Fewer slots only where the size limit forces it or the cut-off slots hold no device."""
    off, cnt, _nxt, _bitmap = _ask(dut, fifo, offset, count)
    room = (dut.profile.max_msg_size - 14) * 8  # slots a whole answer can carry
    cut = {n for n in h.device_numbers(dut, fifo) if offset + cnt <= n < offset + count}
    assert (off, cnt) == (offset, count) or cnt == room or not cut, \
        f"({off}, {cnt}) for ({offset}, {count}); devices {sorted(cut)} left out"


UNALIGNED = [(0, 1), (0, 3), (1, 7), (3, 5), (5, 11), (7, 9), (2, 30), (9, 1), (13, 19)]


@pytest.mark.req("R1-BUS-062", "R1-BUS-060", "R1-BUS-063", "R1-BUS-064", "R1-BUS-065", "R1-BUS-067")
@pytest.mark.parametrize("offset,count", UNALIGNED, ids=[f"{o}+{c}" for o, c in UNALIGNED])
def test_r1_unaligned_window_is_answered_exactly(dut, fifo, offset, count):
    _judge(dut, fifo, offset, count)


@pytest.mark.req("R1-BUS-064", "R1-BUS-065", "R1-BUS-021", "R1-BUS-046", "R1-BUS-002")
@pytest.mark.parametrize("count", [1, 5, 8, 13])
def test_r1_walk_ends_with_next_offset_zero(dut, fifo, count):
    offset, found = 0, set()
    for _ in range(80):
        _cnt, nxt, present = _judge(dut, fifo, offset, count)
        found |= present
        if nxt == 0:
            break
        offset = nxt
    else:
        pytest.fail("the walk never reached next_offset 0")
    # the walk is how a driver learns the devices: it finds every one there is, no other
    th.check(found == set(h.device_numbers(dut, fifo)), "R1-BUS-021",
             f"the walk found {sorted(found)}, the FIFO has {sorted(h.device_numbers(dut, fifo))}")
    # past the last device the answer is terminal
    top = max(h.device_numbers(dut, fifo), default=-1)
    assert _judge(dut, fifo, top + 1, count)[1] == 0


@pytest.mark.req("R1-BUS-062", "R1-BUS-063", "R1-BUS-065", "R1-BUS-064", "R1-BUS-067")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(0, 300), count=st.integers(0, 64))
def test_r1_any_window_keeps_the_rules(dut, fifo, offset, count):
    _judge(dut, fifo, offset, count)

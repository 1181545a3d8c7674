"""Bus GET_DEVICES: windows, alignment, bitmap size, next_offset
(virtio-msg.md §5.1; VMSG-BUS-014, VMSG-BUS-020, VMSG-BUS-022, VMSG-BUS-042..046)."""

from __future__ import annotations

import pytest

from . import helpers as h
from . import transport_helpers as th


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


WINDOWS = [(0, 8), (8, 8), (16, 8), (24, 8), (0, 16), (16, 16), (0, 32), (32, 8), (0, 64), (64, 64)]
UNALIGNED = [(1, 8), (4, 8), (0, 7), (0, 12), (3, 5), (0, 1), (7, 32)]


def expected_bitmap(dut, fifo: int, offset: int, count: int) -> bytes:
    bm = bytearray((count + 7) // 8)
    for n in h.device_numbers(dut, fifo):
        if offset <= n < offset + count:
            bm[(n - offset) // 8] |= 1 << ((n - offset) % 8)
    return bytes(bm)


def parse(resp: bytes, dut=None) -> tuple[int, int, int, bytes]:
    """offset, count, next_offset, bitmap of a GET_DEVICES response, with exact header checks
    (REV1 orders the fields offset, next_offset, count, and sizes the bitmap (count + 7) / 8)."""
    rev1 = dut is not None and th.is_rev1(dut)
    size_rule = th.layout_rule("GET_DEVICES", rev1)  # a size that disagrees with the count: the layout
    if rev1:
        off, count, nxt, bitmap = th.get_devices_fields(dut, resp)
        h.assert_response_header(resp, type_=h.T_BUS_RESPONSE, msg_id=h.BUS_GET_DEVICES, dev_num=0,
                                 msg_size=14 + len(bitmap), size_rule=size_rule)
        return off, count, nxt, bitmap
    count = h.u16(resp, 10)
    assert count % 8 == 0, f"returned count {count} not a multiple of 8 (VMSG-BUS-043)"
    h.assert_response_header(resp, type_=h.T_BUS_RESPONSE, msg_id=h.BUS_GET_DEVICES, dev_num=0,
                             msg_size=14 + count // 8, size_rule=size_rule)
    return h.u16(resp, 8), count, h.u16(resp, 12), resp[14:14 + count // 8]


def assert_next_offset_rule(offset: int, count: int, next_offset: int) -> None:
    assert next_offset == 0 or (next_offset % 8 == 0 and next_offset >= offset + count), \
        f"next_offset {next_offset} for window ({offset}, {count})"


@pytest.mark.req("VMSG-BUS-042", "VMSG-BUS-043", "VMSG-BUS-044", "VMSG-BUS-046", "VMSG-BUS-020", "VMSG-BUS-022")
@pytest.mark.parametrize("offset,count", WINDOWS, ids=[f"{o}+{c}" for o, c in WINDOWS])
def test_window_bitmap_shows_exactly_the_described_devices(dut, fifo, offset, count):
    raw = h.RawFifo(dut, fifo)
    off, cnt, nxt, bitmap = parse(h.request(raw, h.get_devices(offset, count)), dut)
    assert (off, cnt) == (offset, count), f"window ({off}, {cnt}) for request ({offset}, {count})"
    assert bitmap == expected_bitmap(dut, fifo, offset, count), f"bitmap {bitmap.hex()}"
    assert_next_offset_rule(offset, count, nxt)


@pytest.mark.req("VMSG-BUS-044", "VMSG-BUS-014")
def test_next_offset_is_zero_past_the_last_device(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    top = max(h.device_numbers(dut, fifo), default=-1)
    start = (top // 8 + 1) * 8 if top >= 0 else 0
    for offset in (start, 32, 1024):
        _, _, nxt, bitmap = parse(h.request(raw, h.get_devices(offset, 8)), dut)
        assert bitmap == bytes(1)
        assert nxt == 0, f"next_offset {nxt} at {offset}: no device lies at or beyond the window"


@pytest.mark.req("VMSG-BUS-044", "VMSG-BUS-014")
@pytest.mark.parametrize("count", [8, 32])
def test_next_offset_walk_ends_and_finds_exactly_the_described_devices(dut, fifo, count):
    raw = h.RawFifo(dut, fifo)
    found: set[int] = set()
    offset, seen = 0, set()
    for _ in range(64):
        assert offset not in seen, f"walk revisits offset {offset}"
        seen.add(offset)
        off, cnt, nxt, bitmap = parse(h.request(raw, h.get_devices(offset, count)), dut)
        assert off == offset and cnt > 0
        found |= {off + i for i in range(cnt) if bitmap[i // 8] >> (i % 8) & 1}
        assert_next_offset_rule(off, cnt, nxt)
        if nxt == 0:
            break
        offset = nxt
    else:
        pytest.fail("GET_DEVICES walk did not end within 64 windows (next_offset never 0)")
    h.check(found == h.device_numbers(dut, fifo), "VMSG-BUS-014",
            f"the walk found {sorted(found)}, the description has {sorted(h.device_numbers(dut, fifo))}")


@pytest.mark.req("VMSG-BUS-043", "VMSG-BUS-046")
def test_oversized_count_is_reduced_to_a_window_that_fits(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    off, cnt, nxt, bitmap = parse(h.request(raw, h.get_devices(0, 0xFFF8)), dut)
    assert off == 0 and 0 < cnt <= (h.BUS_MAX - 14) * 8, f"returned count {cnt}"
    assert bitmap == expected_bitmap(dut, fifo, 0, cnt)
    assert_next_offset_rule(0, cnt, nxt)


@pytest.mark.req("VMSG-BUS-045")
def test_oversized_count_is_reduced_only_as_far_as_the_bus_requires(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    _, cnt, _, _ = parse(h.request(raw, h.get_devices(0, 0xFFF8)), dut)
    assert cnt == (h.BUS_MAX - 14) * 8, f"count {cnt}; {(h.BUS_MAX - 14) * 8} fit a 64-byte message"


@pytest.mark.req("VMSG-BUS-042", "VMSG-BUS-016", "VMSG-BUS-017", "READ-G13")
@pytest.mark.parametrize("offset,count", UNALIGNED, ids=[f"{o}+{c}" for o, c in UNALIGNED])
def test_unaligned_window_is_discarded(dut, fifo, offset, count):
    h.expect_no_response(h.RawFifo(dut, fifo), h.get_devices(offset, count))


@pytest.mark.req("VMSG-BUS-043", "VMSG-BUS-044", "VMSG-BUS-046", "READ-G14")
@pytest.mark.parametrize("offset,count", [(32, 32), (256, 64), (0xFFF8, 8)], ids=["32+32", "256+64", "top"])
def test_window_beyond_every_device_is_empty_and_ends_the_walk(dut, offset, count):
    raw = h.RawFifo(dut, 0)
    off, cnt, nxt, bitmap = parse(h.request(raw, h.get_devices(offset, count)), dut)
    assert off == offset and 0 < cnt <= count
    assert bitmap == bytes(cnt // 8)
    assert nxt == 0


@pytest.mark.req("VMSG-BUS-020")
def test_request_dev_num_is_ignored_and_response_carries_0(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    off, cnt, _, bitmap = parse(h.request(raw, h.get_devices(0, 32, dev_num=7)), dut)
    assert (off, cnt) == (0, 32) and bitmap == expected_bitmap(dut, fifo, 0, 32)

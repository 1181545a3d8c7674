"""BAR0 registers: VERSION, reserved words, NOTIFY per FIFO, access widths
(amp-pci-device.md §4; AMP-003..AMP-006)."""

from __future__ import annotations

import pytest

from . import helpers as h


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


RESERVED = [0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C]


def queued_ping(dut, fifo: int, data: int) -> h.RawFifo:
    """A FIFO with one PING queued and no doorbell rung yet."""
    raw = h.RawFifo(dut, fifo)
    assert raw.post(h.ping(data))
    return raw


def assert_not_rung(raw: h.RawFifo, what: str) -> None:
    """The queued request was neither consumed nor answered."""
    assert raw.device_tail() % h.SLOT_COUNT != raw.head, f"{what} rang the doorbell (request consumed)"
    assert raw.drain() == [], f"{what} produced a response"


# ---- VERSION and reserved words ------------------------------------------------------------


@pytest.mark.req("AMP-003")
def test_version_reads_1(dut):
    raw = h.RawFifo(dut, 0)
    assert dut.port.mmio_read(raw.bar0 + 0x00, 4) == 1


@pytest.mark.req("AMP-003")
def test_version_ignores_writes(dut):
    raw = h.RawFifo(dut, 0)
    for v in (0, 2, 0xFFFFFFFF):
        dut.port.mmio_write(raw.bar0, 4, v)
        assert dut.port.mmio_read(raw.bar0, 4) == 1, f"VERSION changed by writing 0x{v:x}"
    h.assert_alive(raw)


@pytest.mark.req("AMP-004")
@pytest.mark.parametrize("offset", RESERVED, ids=[f"0x{o:02x}" for o in RESERVED])
def test_reserved_word_reads_zero(dut, offset):
    raw = h.RawFifo(dut, 0)
    assert dut.port.mmio_read(raw.bar0 + offset, 4) == 0


@pytest.mark.req("AMP-004")
@pytest.mark.parametrize("offset", RESERVED, ids=[f"0x{o:02x}" for o in RESERVED])
def test_reserved_word_ignores_writes_and_rings_nothing(dut, offset):
    raw = queued_ping(dut, 0, 0x77)
    dut.port.mmio_write(raw.bar0 + offset, 4, 0xFFFFFFFF)
    assert dut.port.mmio_read(raw.bar0 + offset, 4) == 0
    assert dut.port.mmio_read(raw.bar0, 4) == 1
    assert_not_rung(raw, f"a write to reserved 0x{offset:02x}")


# ---- narrow and wide reads see the register words as little-endian bytes -------------------


@pytest.mark.req("AMP-003", "AMP-006")
@pytest.mark.parametrize("offset,size,value", [
    (0x00, 1, 1), (0x01, 1, 0), (0x02, 1, 0), (0x03, 1, 0), (0x00, 2, 1), (0x02, 2, 0), (0x00, 8, 1),
], ids=["b0", "b1", "b2", "b3", "w0", "w2", "q0"])
def test_aligned_narrow_and_wide_reads_of_version(dut, offset, size, value):
    raw = h.RawFifo(dut, 0)
    assert dut.port.mmio_read(raw.bar0 + offset, size) == value


# ---- NOTIFY -------------------------------------------------------------------------------


@pytest.mark.req("AMP-005")
def test_notify_drains_exactly_its_fifo(dut, fifo):
    raws = [h.RawFifo(dut, q) for q in range(dut.description.num_fifos)]
    for q, r in enumerate(raws):
        assert r.post(h.ping(0x100 + q))
    raws[fifo].ring()
    for q, r in enumerate(raws):
        got = r.drain()
        if q == fifo:
            assert [h.u32(s, 8) for s in got] == [0x100 + q]
        else:
            assert got == [], f"NOTIFY{fifo} answered FIFO {q}"
            assert r.device_tail() % h.SLOT_COUNT != r.head, f"NOTIFY{fifo} consumed FIFO {q}"


@pytest.mark.req("AMP-005")
def test_notify_register_is_at_0x20_plus_4_per_fifo(dut, fifo):
    raw = queued_ping(dut, fifo, 0xABC)
    dut.port.mmio_write(raw.bar0 + 0x20 + 4 * fifo, 4, 1)
    got = raw.drain()
    assert [h.u32(s, 8) for s in got] == [0xABC]


@pytest.mark.req("AMP-005")
def test_notify_beyond_the_last_fifo_is_ignored(dut):
    n = dut.description.num_fifos
    raws = [queued_ping(dut, q, q) for q in range(n)]
    for extra in range(n, n + 4):
        dut.port.mmio_write(raws[0].bar0 + 0x20 + 4 * extra, 4, 1)
    for q, r in enumerate(raws):
        assert_not_rung(r, "a NOTIFY beyond num_fifos")
    # Still a working device afterwards.
    raws[0].ring()
    assert [h.u32(s, 8) for s in raws[0].collect()] == [0]


@pytest.mark.req("AMP-005")
def test_notify_reads_as_zero(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    assert dut.port.mmio_read(raw.notify_addr, 4) == 0


@pytest.mark.req("AMP-005")
def test_notify_with_empty_queue_produces_nothing(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    raw.ring()
    raw.ring()
    assert raw.collect() == []
    h.assert_alive(raw)


# ---- access widths: only an aligned 32-bit write rings (AMP-006, D30) ----------------------------


@pytest.mark.req("AMP-006", "AMP-005")
@pytest.mark.parametrize("delta,size", [(0, 1), (1, 1), (2, 1), (3, 1), (0, 2), (2, 2), (0, 8)],
                         ids=["byte+0", "byte+1", "byte+2", "byte+3", "half+0", "half+2", "qword+0"])
def test_non_32bit_notify_write_rings_nothing(dut, delta, size):
    raws = [queued_ping(dut, q, 0x40 + q) for q in range(dut.description.num_fifos)]
    dut.port.mmio_write(raws[0].notify_addr + delta, size, 1 if size < 8 else 0x0000_0001_0000_0001)
    for r in raws:
        assert_not_rung(r, f"a {size}-byte NOTIFY write at +{delta}")
    raws[0].ring()  # the proper write still works
    assert [h.u32(s, 8) for s in raws[0].collect()] == [0x40]


@pytest.mark.req("AMP-006", "AMP-005")
def test_misaligned_32bit_notify_write_rings_nothing(dut):
    raw = queued_ping(dut, 0, 0x99)
    dut.port.mmio_write(raw.notify_addr + 2, 4, 1)
    assert_not_rung(raw, "a misaligned 32-bit NOTIFY write")

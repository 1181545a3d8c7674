"""PCI function of virtio-msg-amp-pci: identity, BARs, capabilities, MSI-X
(amp-pci-device.md §2, §3, §7; AMP-001, AMP-002, AMP-016, AMP-017)."""

from __future__ import annotations

import pytest

from . import helpers as h


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


def size_bar(dut, n: int) -> int:
    """All-ones sizing of BAR n with decoding off; the BAR is restored."""
    cmd = h.cfg_read(dut, h.CFG_COMMAND, 2)
    h.cfg_write(dut, h.CFG_COMMAND, 2, cmd & ~0x3)
    off = h.CFG_BAR0 + 4 * n
    orig = h.cfg_read(dut, off)
    h.cfg_write(dut, off, 4, 0xFFFFFFFF)
    mask = h.cfg_read(dut, off)
    h.cfg_write(dut, off, 4, orig)
    h.cfg_write(dut, h.CFG_COMMAND, 2, cmd)
    return mask


# ---- identity -------------------------------------------------------------------------


@pytest.mark.req("AMP-002")
def test_vendor_and_device_id_match_the_description(dut):
    assert h.cfg_read(dut, h.CFG_VENDOR, 2) == dut.description.vendor_id
    assert h.cfg_read(dut, h.CFG_DEVICE, 2) == dut.description.device_id
    assert (dut.description.vendor_id, dut.description.device_id) == (0x10EE, 0x9039)


@pytest.mark.req("AMP-002")
def test_revision_is_1_and_class_is_system_other(dut):
    dword = h.cfg_read(dut, h.CFG_REVISION)
    assert dword & 0xFF == 0x01, f"revision 0x{dword & 0xFF:02x}"
    assert dword >> 8 == 0x088000, f"class code 0x{dword >> 8:06x}"


@pytest.mark.req("AMP-001")
def test_header_type_is_a_type0_endpoint(dut):
    assert h.cfg_read(dut, h.CFG_HEADER_TYPE, 1) & 0x7F == 0


@pytest.mark.req("AMP-001")
def test_status_announces_a_capability_list(dut):
    assert h.cfg_read(dut, h.CFG_STATUS, 2) & h.STATUS_CAP_LIST
    assert h.cfg_read(dut, h.CFG_CAP_PTR, 1) >= 0x40


# ---- BARs ------------------------------------------------------------------------------------


@pytest.mark.req("AMP-001")
@pytest.mark.parametrize("bar,prefetchable", [(0, False), (1, True), (2, False)],
                         ids=["bar0-registers", "bar1-fifo-ram", "bar2-msix"])
def test_bar_is_32bit_memory_of_expected_size(dut, bar, prefetchable):
    expected = {0: 0x4000, 1: h.WINDOW_SIZE * dut.description.num_fifos, 2: 0x1000}[bar]
    mask = size_bar(dut, bar)
    assert mask & 0x1 == 0, "I/O BAR, expected memory"
    assert (mask >> 1) & 0x3 == 0, "not a 32-bit BAR"
    assert bool(mask & 0x8) == prefetchable, f"prefetchable bit {bool(mask & 0x8)}"
    size = (~(mask & ~0xF) + 1) & 0xFFFFFFFF
    assert size == expected, f"BAR{bar} size 0x{size:x}, expected 0x{expected:x}"


@pytest.mark.req("AMP-001")
@pytest.mark.parametrize("bar", [3, 4, 5])
def test_unused_bar_is_not_implemented(dut, bar):
    assert size_bar(dut, bar) == 0


@pytest.mark.req("AMP-001", "AMP-003", "AMP-007")
def test_bars_decode_at_the_assigned_addresses(dut):
    raw = h.RawFifo(dut, 0)
    assert raw.rd(raw.bar0) == 1  # VERSION through BAR0
    # BAR1 is plain RAM: the reserved first page of a window keeps what is written.
    raw.wr(raw.window + 0x10, 0xA5C3_0FF1)
    assert raw.rd(raw.window + 0x10) == 0xA5C3_0FF1
    # BAR2: the table entry the driver programmed reads back, unmasked, non-zero data.
    m = h.msix_layout(dut)
    assert raw.rd(m.entry(0) + 12) & 1 == 0 and raw.msi_data != 0


# ---- MSI-X -----------------------------------------------------------------------------------


@pytest.mark.req("AMP-001", "AMP-017")
def test_msix_is_the_only_interrupt_mechanism(dut):
    ids = [cid for cid, _ in h.capabilities(dut)]
    assert h.CAP_MSIX in ids
    assert 0x05 not in ids, "an MSI capability is present"
    assert h.cfg_read(dut, 0x3D, 1) == 0, "interrupt pin set: INTx offered"


@pytest.mark.req("AMP-001")
def test_msix_table_and_pba_live_in_bar2(dut):
    dut.amp
    m = h.msix_layout(dut)
    assert (m.table_bir, m.pba_bir) == (2, 2)
    bar2 = 0x1000
    table_end = m.table_offset + 16 * m.table_size
    pba_end = m.pba_offset + 8 * ((m.table_size + 63) // 64)
    assert table_end <= bar2 and pba_end <= bar2
    assert table_end <= m.pba_offset or pba_end <= m.table_offset, "table and PBA overlap"


@pytest.mark.req("AMP-017")
def test_msix_table_has_one_vector_per_fifo(dut):
    assert h.msix_layout(dut).table_size == dut.description.num_fifos


@pytest.mark.req("AMP-016", "AMP-017")
def test_fifo_traffic_raises_only_its_own_vector(dut, fifo):
    raws = [h.RawFifo(dut, q) for q in range(dut.description.num_fifos)]
    for r in raws:
        r.clear_msi()
    got = h.exchange(raws[fifo], h.ping(0x1000 + fifo))
    assert len(got) == 1
    for q, r in enumerate(raws):
        assert r.msi_fired() == (q == fifo), f"vector {q} fired={r.msi_fired()} for traffic on FIFO {fifo}"


@pytest.mark.req("AMP-016", "AMP-017", "PCI-002")
def test_masked_vector_is_held_pending_and_delivered_on_unmask(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    h.set_vector_masked(dut, fifo, True)
    raw.clear_msi()
    got = h.exchange(raw, h.ping(0xCAFE))
    assert len(got) == 1 and h.u32(got[0], 8) == 0xCAFE
    assert raw.msi_word() == 0, "MSI written while the vector is masked"
    assert h.pba_pending(dut, fifo), "pending bit not set for a masked vector"
    h.set_vector_masked(dut, fifo, False)
    assert raw.msi_fired(), "pending MSI not delivered on unmask"
    assert not h.pba_pending(dut, fifo), "pending bit still set after delivery"


@pytest.mark.req("AMP-016", "AMP-017", "PCI-002")
def test_function_mask_holds_interrupt_pending(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    h.set_msix_function_mask(dut, True)
    raw.clear_msi()
    got = h.exchange(raw, h.ping(0xF00D))
    assert len(got) == 1
    assert raw.msi_word() == 0, "MSI written while the function is masked"
    assert h.pba_pending(dut, fifo)
    h.set_msix_function_mask(dut, False)
    assert raw.msi_fired(), "pending MSI not delivered when the function mask cleared"
    assert not h.pba_pending(dut, fifo)


@pytest.mark.req("AMP-016")
def test_no_interrupt_without_device_queue_traffic(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    raw.clear_msi()
    raw.ring()  # empty driver queue
    raw.collect()
    assert not raw.msi_fired(), "MSI for a NOTIFY that produced nothing"
    h.expect_no_response(raw, h.with_msg_size(h.ping(1), 8), alive=False)  # size mismatch: dropped
    assert not raw.msi_fired(), "MSI for a dropped frame"

"""AMP FIFO windows and SPSC rings: layout, indices, capacity, full/empty,
hostile indices, zero padding, interrupts and ordering
(amp-pci-device.md §5, §7; AMP-007..AMP-016)."""

from __future__ import annotations

import pytest

from . import helpers as h


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


def fill(raw: h.RawFifo, addr: int, size: int, word: int) -> None:
    for off in range(0, size, 4):
        raw.wr(addr + off, word)


def unchanged(raw: h.RawFifo, addr: int, size: int, word: int) -> list[int]:
    """Offsets in [addr, addr+size) that no longer hold `word`."""
    return [off for off in range(0, size, 4) if raw.rd(addr + off) != word]


def pings(n: int, base: int = 0x1000) -> list[bytes]:
    return [h.ping(base + i) for i in range(n)]


def echoes(slots: list[bytes]) -> list[int]:
    for s in slots:
        assert h.header(s).msg_id == h.BUS_PING and h.header(s).type == h.T_BUS_RESPONSE, h.describe(s)
    return [h.u32(s, 8) for s in slots]


# ---- layout -----------------------------------------------------------------------------


@pytest.mark.req("AMP-007", "AMP-008")
def test_request_and_response_use_the_documented_queue_layout(dut, fifo):
    h.RawFifo(dut, fifo)  # bring-up only; the exchange below is spelled out by hand
    w = h.bar_base(dut, 1) + fifo * 0x4000
    h.write_bytes(dut.port, w + 0x1080, h.ping(0x600D) + bytes(52))   # driver queue slot 0
    dut.port.mmio_write(w + 0x1000, 4, 1)                                # driver queue head
    dut.port.mmio_write(h.bar_base(dut, 0) + 0x20 + 4 * fifo, 4, 1)
    assert dut.port.mmio_read(w + 0x1040, 4) == 1, "driver queue tail (+0x40) not advanced"
    assert dut.port.mmio_read(w + 0x2000, 4) == 1, "device queue head (+0x00) not advanced"
    slot = h.read_bytes(dut.port, w + 0x2080, 64)                         # device queue slot 0
    h.assert_response_header(slot, type_=h.T_BUS_RESPONSE, msg_id=h.BUS_PING, dev_num=0, msg_size=12)
    assert h.u32(slot, 8) == 0x600D


@pytest.mark.req("AMP-007", "AMP-008", "AMP-010")
def test_device_leaves_reserved_pages_and_index_padding_alone(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    regions = [(raw.window, 0x1000), (raw.window + 0x3000, 0x1000),
               (raw.drvq + 0x04, 0x3C), (raw.drvq + 0x44, 0x3C),
               (raw.devq + 0x04, 0x3C), (raw.devq + 0x44, 0x3C)]
    for addr, size in regions:
        fill(raw, addr, size, 0xD1CE_D1CE)
    for batch in (1, 7, 61):
        assert len(h.exchange(raw, pings(batch))) == batch
    for addr, size in regions:
        bad = unchanged(raw, addr, size, 0xD1CE_D1CE)
        assert not bad, f"device wrote 0x{addr - raw.window:04x}+{bad[:4]} of the window"


@pytest.mark.req("AMP-010")
def test_device_never_writes_the_driver_owned_indices(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    for batch in (3, 20, 61, 5):
        raw.post_all(pings(batch))
        head_written = raw.rd(raw.drvq + h.HEAD)
        tail_written = raw.rd(raw.devq + h.TAIL)
        raw.ring()
        assert raw.rd(raw.drvq + h.HEAD) == head_written, "device wrote the driver-queue head"
        assert raw.rd(raw.devq + h.TAIL) == tail_written, "device wrote the device-queue tail"
        assert len(raw.collect()) == batch


# ---- capacity, full and empty -----------------------------------------------------------------


@pytest.mark.req("AMP-011")
def test_fresh_queues_are_empty(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    assert raw.device_tail() == raw.rd(raw.drvq + h.HEAD)
    assert raw.device_head() == raw.rd(raw.devq + h.TAIL)
    assert raw.waiting() == 0


@pytest.mark.req("AMP-009", "AMP-011")
def test_queues_hold_61_messages_and_keep_one_slot_free(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    posted = 0
    while raw.post(h.ping(posted)):
        posted += 1
        assert posted <= 62
    assert posted == 61, f"driver queue took {posted} messages"
    raw.ring()
    assert raw.device_tail() == 61, "device did not consume the whole driver queue"
    assert raw.device_head() == 61, f"device queue head {raw.device_head()} after 61 responses"
    assert raw.waiting() == 61
    assert echoes(raw.drain()) == list(range(61))


@pytest.mark.req("AMP-011", "VMSG-BUS-028")
def test_device_never_overwrites_a_full_device_queue(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    raw.post_all(pings(61, 0))
    raw.ring()
    assert raw.device_head() == 61
    first = raw.read_device_slot(0)
    spare = raw.device_slot_addr(61)
    fill(raw, spare, 64, 0x5A5A_5A5A)
    raw.post_all([h.ping(61)])
    raw.ring()
    dut.port.advance_time(h.SETTLE_STEP_NS)
    assert raw.device_head() == 61, "device advanced head into the last free slot (queue full)"
    assert raw.read_device_slot(0) == first, "device overwrote an unconsumed response"
    assert not unchanged(raw, spare, 64, 0x5A5A_5A5A), "device wrote the slot that keeps full apart from empty"
    got = raw.drain()
    raw.ring()
    got += raw.collect()
    h.check(echoes(got) == list(range(62)), "VMSG-BUS-028", "a response was lost or reordered at the full queue")


@pytest.mark.req("AMP-009", "AMP-011", "VMSG-BUS-027")
@pytest.mark.parametrize("batch", [1, 5, 29, 61])
def test_indices_wrap_around_without_loss(dut, fifo, batch):
    raw = h.RawFifo(dut, fifo)
    total = 150 if batch > 1 else 70
    sent: list[int] = []
    got: list[int] = []
    while len(sent) < total:
        n = min(batch, total - len(sent))
        data = list(range(len(sent) + 7, len(sent) + 7 + n))
        sent += data
        got += echoes(h.exchange(raw, [h.ping(d) for d in data]))
        assert raw.device_tail() < h.SLOT_COUNT and raw.device_head() < h.SLOT_COUNT
    assert got == sent


# ---- hostile indices (AMP-013) -------------------------------------------------------------------


@pytest.mark.req("AMP-013")
@pytest.mark.parametrize("k,m", [(2, 1), (3, 2), (1, 1000), (4, 0x4000000), (0, 1)],
                         ids=["k2+62", "k3+124", "k1+62000", "k4+huge", "k0+62-empty"])
def test_out_of_range_driver_queue_head_is_reduced_mod_62(dut, fifo, k, m):
    raw = h.RawFifo(dut, fifo)
    for i in range(k):
        raw.write_driver_slot(i, h.ping(0x700 + i))
    raw.wr(raw.drvq + h.HEAD, k + 62 * m)
    raw.ring()
    got = raw.collect()
    assert echoes(got) == [0x700 + i for i in range(k)]
    assert raw.device_tail() == k, f"device consumer index {raw.device_tail()}, expected {k}"
    raw.head = k
    raw.wr(raw.drvq + h.HEAD, k)
    h.assert_alive(raw)


@pytest.mark.req("AMP-013")
@pytest.mark.parametrize("m", [1, 3, 0x4000000], ids=["+62", "+186", "+huge"])
def test_out_of_range_device_queue_tail_is_reduced_mod_62(dut, fifo, m):
    raw = h.RawFifo(dut, fifo)
    assert len(h.exchange(raw, pings(3))) == 3
    after_queue = raw.window + 0x3000
    fill(raw, after_queue, 0x100, 0x0BAD_F00D)
    raw.wr(raw.devq + h.TAIL, raw.tail + 62 * m)
    raw.post_all([h.ping(0x4242)])
    raw.ring()
    assert raw.device_head() == 4, f"device head {raw.device_head()}, expected 4"
    slot = raw.read_device_slot(3)
    assert h.u32(slot, 8) == 0x4242
    assert not unchanged(raw, after_queue, 0x100, 0x0BAD_F00D), "device wrote past its queue"
    raw.wr(raw.devq + h.TAIL, raw.tail)
    assert echoes(raw.drain()) == [0x4242]


@pytest.mark.req("AMP-011", "AMP-013", "VMSG-BUS-028")
def test_consumer_index_that_makes_the_queue_look_full_holds_responses(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    assert len(h.exchange(raw, pings(1))) == 1          # device head 1, our tail 1
    fill(raw, raw.device_slot_addr(1), 64, 0xEEEE_EEEE)
    raw.wr(raw.devq + h.TAIL, 2)                        # (head + 1) % 62 == tail: full
    raw.post_all([h.ping(0xB0B)])
    raw.ring()
    dut.port.advance_time(h.SETTLE_STEP_NS)
    assert raw.device_head() == 1, "device wrote into a queue that is full"
    assert not unchanged(raw, raw.device_slot_addr(1), 64, 0xEEEE_EEEE), "full-queue slot overwritten"
    raw.wr(raw.devq + h.TAIL, 1)                        # room again
    raw.ring()
    h.check(echoes(raw.collect()) == [0xB0B], "VMSG-BUS-028", "response lost while the queue looked full")


# ---- own indices stay private (AMP-010) ------------------------------------------------------------


@pytest.mark.req("AMP-010", "VMSG-BUS-028")
def test_rewritten_device_consumer_index_does_not_replay_requests(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    assert echoes(h.exchange(raw, h.ping(0xA))) == [0xA]
    raw.wr(raw.drvq + h.TAIL, 0)                 # a hostile rewind of the device's own index
    got = h.exchange(raw, h.ping(0xB))
    assert echoes(got) == [0xB], "device replayed a consumed slot after its index was rewritten"


@pytest.mark.req("AMP-010")
def test_rewritten_device_producer_index_does_not_move_responses(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    assert echoes(h.exchange(raw, h.ping(0xA))) == [0xA]
    raw.wr(raw.devq + h.HEAD, 5)                 # a hostile jump of the device's own index
    raw.post_all([h.ping(0xB)])
    raw.ring()
    assert raw.device_head() == 2, f"device head {raw.device_head()}: it adopted the rewritten index"
    assert h.u32(raw.read_device_slot(1), 8) == 0xB


# ---- slot contents ----------------------------------------------------------------------------------


def _padding_requests(dut, fifo):
    devs = h.devices_on(dut, fifo)
    reqs = {"ping": h.ping(0x11223344), "get-devices": h.get_devices(0, 32)}
    if devs:
        d = devs[0].dev_num
        reqs.update({"get-device-info": h.get_device_info(d), "get-device-status": h.get_device_status(d),
                     "get-vqueue": h.get_vqueue(d, 0)})
    return reqs


@pytest.mark.req("VMSG-BUS-024", "AMP-015")
@pytest.mark.parametrize("kind", ["ping", "get-devices", "get-device-info", "get-device-status", "get-vqueue"])
def test_response_slot_is_zero_padded_after_msg_size(dut, fifo, kind):
    raw = h.RawFifo(dut, fifo)
    reqs = _padding_requests(dut, fifo)
    if kind not in reqs:
        pytest.skip(f"no device on FIFO {fifo}")
    for i in range(h.SLOT_COUNT):
        fill(raw, raw.device_slot_addr(i), 64, 0xAAAA_AAAA)
    slot = h.request(raw, reqs[kind])
    assert h.header(slot).is_response
    h.assert_zero_padding(slot)


@pytest.mark.req("VMSG-DEV-019", "AMP-015")
def test_driver_slot_padding_is_ignored(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    raw.write_driver_slot(raw.head, h.ping(0x5150) + bytes([0xFF]) * 52)
    raw.head = (raw.head + 1) % h.SLOT_COUNT
    raw.wr(raw.drvq + h.HEAD, raw.head)
    raw.ring()
    assert echoes(raw.collect()) == [0x5150]


# ---- interrupts and order ----------------------------------------------------------------------------


@pytest.mark.req("AMP-016")
def test_interrupt_follows_the_responses_of_a_batch(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    raw.post_all(pings(10))
    raw.clear_msi()
    raw.ring()
    assert raw.msi_fired(), "no MSI after responses were posted"
    assert raw.waiting() == 10, "MSI raised before all responses of the batch were visible"
    raw.clear_msi()
    assert len(raw.collect()) == 10
    assert not raw.msi_fired(), "MSI without new device-queue traffic"


@pytest.mark.req("VMSG-BUS-027")
def test_61_pings_in_one_doorbell_come_back_in_order(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    data = [(i * 0x9E3779B1) & 0xFFFFFFFF for i in range(61)]
    assert echoes(h.exchange(raw, [h.ping(d) for d in data])) == data

"""Robustness: QEMU's crash bugs as liveness checks, back-pressure on a full
device queue, ring re-initialisation, hostile slot contents
(amp-pci-device.md §10 D11/D18/D25/D26/D33/D34, §11 bugs 1, 3, 4, 5, 10, 16)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import helpers as h
from . import transport_helpers as th


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


def dev_raw(dut):
    d = h.first_device(dut)
    return h.RawFifo(dut, d.fifo), d.dev_num


def at_most_one_response(raw: h.RawFifo, f: bytes, msg_id: int) -> list[bytes]:
    got = h.exchange(raw, f)
    h.require(len(got) <= 1, "VMSG-BUS-028", f"{len(got)} frames for one request: {[h.describe(s) for s in got]}")
    for s in got:
        assert h.header(s).msg_id == msg_id and h.header(s).is_response, h.describe(s)
    return got


def bring_up(raw: h.RawFifo, dev: int) -> None:
    """Status ACK, DRIVER, VERSION_1, FEATURES_OK, DRIVER_OK with raw messages."""
    h.request(raw, h.get_device_info(dev))
    h.request(raw, h.set_device_status(dev, 0x1))
    h.request(raw, h.set_device_status(dev, 0x3))
    h.request(raw, h.get_device_features(dev, 0, 2))
    h.request(raw, h.set_driver_features(dev, 0, [0, 1]))  # VERSION_1 only (bit 32)
    st_ = h.u32(h.request(raw, h.set_device_status(dev, 0xB)), 8)
    if not st_ & 0x8:
        pytest.skip("device refused FEATURES_OK for VERSION_1 alone")
    h.request(raw, h.set_device_status(dev, 0xF))


# ---- QEMU crash bugs as liveness checks ---------------------------------------------------------


@pytest.mark.req("VMSG-DEV-012", "VMSG-BUS-028")
@pytest.mark.parametrize("index", [1024, 0xFFFF, 0x10000, 0xFFFFFFFF], ids=hex)
def test_reset_vqueue_with_huge_index_leaves_device_alive(dut, index):
    """Bug 3: RESET_VQUEUE without a bound check writes past the queue array."""
    raw, dev = dev_raw(dut)
    at_most_one_response(raw, h.reset_vqueue(dev, index), h.RESET_VQUEUE)
    h.assert_alive(raw)
    resp = h.request(raw, h.get_device_status(dev))
    assert h.header(resp).msg_id == h.GET_DEVICE_STATUS


@pytest.mark.req("VMSG-DEV-012")
@pytest.mark.parametrize("index", [1024, 0xFFFF, 0xFFFFFFFF], ids=hex)
def test_get_and_set_vqueue_with_huge_index_leave_device_alive(dut, index):
    raw, dev = dev_raw(dut)
    at_most_one_response(raw, h.get_vqueue(dev, index), h.GET_VQUEUE)
    set_vq = h.frame(h.T_REQUEST, h.SET_VQUEUE, dev, 0,
                     struct.pack("<IIIIQQQ", index, 0, 256, 0, 0x10000, 0x20000, 0x30000))
    at_most_one_response(raw, set_vq, h.SET_VQUEUE)
    h.assert_alive(raw)


@pytest.mark.req("VMSG-DEV-012", "VMSG-BUS-019")
@pytest.mark.parametrize("index", [0x10000, 0x10001, 0x7FFFFFFF, 0xFFFFFFFF], ids=hex)
def test_event_avail_with_out_of_range_index_after_driver_ok(dut, index):
    """Bug 4: the index is checked as 16 bits and used as 32."""
    raw, dev = dev_raw(dut)
    bring_up(raw, dev)
    h.expect_no_response(raw, h.event_avail(dev, index, 0))
    resp = h.request(raw, h.get_device_status(dev))
    assert h.header(resp).msg_id == h.GET_DEVICE_STATUS


@pytest.mark.req("VMSG-DEV-012", "VMSG-DEV-053", "VMSG-BUS-028")
@pytest.mark.parametrize("status", [0x100, 0x8000_0001, 0xFFFFFFFF], ids=hex)
def test_set_device_status_with_high_bits_is_answered_and_survived(dut, status):
    """Bug 5: a status that does not survive an 8-bit store aborts QEMU."""
    raw, dev = dev_raw(dut)
    resp = h.request(raw, h.set_device_status(dev, status))
    h.assert_response_header(resp, type_=h.T_RESPONSE, msg_id=h.SET_DEVICE_STATUS, dev_num=dev, msg_size=12)
    h.check(h.u32(resp, 8) & 0xFFFFFF00 == 0, "VMSG-DEV-053", f"status bits 8..31 reported: 0x{h.u32(resp, 8):08x}")
    h.assert_alive(raw)
    h.request(raw, h.set_device_status(dev, 0))


@pytest.mark.req("VMSG-BUS-047", "VMSG-BUS-013")
def test_fifo_without_devices_answers_bus_messages(dut):
    """Bug 1 / D34: NOTIFY on a FIFO with no virtio device behind it."""
    empty = [q for q in range(dut.description.num_fifos) if not h.devices_on(dut, q)]
    if not empty:
        pytest.skip("every FIFO of this target has a device (the empty-bus variant test covers this)")
    raw = h.RawFifo(dut, empty[0])
    raw.ring()
    h.assert_alive(raw)
    resp = h.request(raw, h.get_devices(0, 32))
    assert resp[14:18] == bytes(4) and h.u16(resp, 12) == 0
    h.expect_no_response(raw, h.get_device_info(0))


@pytest.mark.req("VMSG-BUS-047", "VMSG-BUS-043", "VMSG-BUS-044", "VMSG-BUS-013")
@pytest.mark.parametrize("layout", ["no-devices-at-all", "second-fifo-empty"])
def test_empty_bus_answers_bus_messages_and_drops_transport_ones(request, layout):
    """Bug 1 / D34 on a reference rebuilt so that a FIFO has no device behind it."""
    keep = [] if layout == "no-devices-at-all" else None
    desc = request.getfixturevalue("vmsg_target").description
    if keep is None:
        if desc.num_fifos < 2:
            pytest.skip("one FIFO only")
        keep = [d for d in desc.devices if d.fifo != desc.num_fifos - 1]
    dut = h.open_ref_variant(request, devices=keep)
    try:
        fifo = desc.num_fifos - 1
        raw = h.RawFifo(dut, fifo)
        raw.ring()                                   # NOTIFY with nothing queued
        h.assert_alive(raw, data=0xE4B7)
        resp = h.request(raw, h.get_devices(0, 32))
        _, _, nxt, bitmap = th.get_devices_fields(dut, resp)
        h.assert_response_header(resp, type_=h.T_BUS_RESPONSE, msg_id=h.BUS_GET_DEVICES, dev_num=0,
                                 msg_size=14 + len(bitmap), size_rule=th.layout_rule("GET_DEVICES", th.is_rev1(dut)))
        h.check(bitmap == bytes(len(bitmap)), "VMSG-BUS-043", f"bitmap of an empty bus: {h.describe(resp)}")
        h.check(nxt == 0, "VMSG-BUS-044", f"next_offset of an empty bus: {h.describe(resp)}")
        for dev in (0, 1, 31):
            h.expect_no_response(raw, h.get_device_info(dev), req="VMSG-BUS-013")
    finally:
        dut.close()


# ---- full device queue: nothing is lost (bug 10, D11) -------------------------------------------------


@pytest.mark.req("VMSG-BUS-028", "VMSG-BUS-027", "AMP-011")
def test_71_pings_against_a_full_device_queue_all_come_back_in_order(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    data = [0x7100 + i for i in range(71)]
    raw.post_all(h.ping(d) for d in data[:61])
    raw.ring()                               # the device queue is now full
    raw.post_all(h.ping(d) for d in data[61:])
    raw.ring()                               # these responses have nowhere to go yet
    got = raw.drain()
    raw.ring()
    got += raw.collect()
    echoed = [h.u32(s, 8) for s in got]
    assert echoed == data, f"{len(echoed)} of 71 echoes; lost {sorted(set(data) - set(echoed))[:10]}"


@pytest.mark.req("VMSG-BUS-028", "AMP-011")
def test_responses_held_for_a_full_queue_flush_with_time_alone(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    raw.post_all(h.ping(i) for i in range(61))
    raw.ring()
    raw.post_all(h.ping(100 + i) for i in range(5))
    raw.ring()
    got = raw.drain()                        # no further doorbell: time must be enough
    got += raw.collect(steps=8)
    assert [h.u32(s, 8) for s in got] == list(range(61)) + [100 + i for i in range(5)]


# ---- ring re-initialisation (bug 16, D33) ---------------------------------------------------------------


@pytest.mark.req("AMP-011", "VMSG-BUS-028")
def test_rings_zeroed_on_re_enable_are_adopted(dut):
    raw = h.RawFifo(dut, 0)
    assert len(h.exchange(raw, [h.ping(i) for i in range(5)])) == 5
    cmd = h.cfg_read(dut, h.CFG_COMMAND, 2)
    h.cfg_write(dut, h.CFG_COMMAND, 2, cmd & ~h.CMD_MEM)     # the driver unbinds ...
    h.cfg_write(dut, h.CFG_COMMAND, 2, cmd)                  # ... and re-probes
    h.write_bytes(dut.port, raw.drvq, bytes(0x1000))         # and zeroes both queues (Linux 0x9039 driver)
    h.write_bytes(dut.port, raw.devq, bytes(0x1000))
    raw.sync()
    assert (raw.head, raw.tail) == (0, 0)
    got = h.exchange(raw, h.ping(0xFE5E7))
    assert [h.u32(s, 8) for s in got] == [0xFE5E7], f"{len(got)} frames after re-initialisation"
    assert raw.device_head() == 1 and raw.device_tail() == 1, "device kept stale ring indices"


# ---- hostile slot contents ------------------------------------------------------------------------------


@pytest.mark.req("VMSG-BUS-016", "VMSG-BUS-017", "VMSG-BUS-024", "VMSG-DEV-015", "R1-BUS-025", "R1-BUS-026")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(min_size=64, max_size=64), min_size=1, max_size=8))
def test_random_slots_never_wedge_the_device(dut, slots):
    raw = h.RawFifo(dut, 0)
    got = h.exchange(raw, slots)
    assert len(got) <= len(slots) + 8
    for s in got:
        hd = h.header(s)
        assert hd.type & h.T_RESERVED == 0, f"reserved type bits sent: {h.describe(s)}"
        assert 8 <= hd.msg_size <= h.BUS_MAX, h.describe(s)
        h.assert_zero_padding(s)
    h.assert_alive(raw, data=len(slots))

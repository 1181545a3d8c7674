"""Framing and routing on the device-side bus: msg_size, reserved type bits,
the RESPONSE bit, unknown IDs, events, device numbers, ordering and exactly one
response per request (virtio-msg.md §2, §3, §12; VMSG-BUS-013/016/017/019/022/
023/027/028, VMSG-DEV-012/015/016/018)."""

from __future__ import annotations

import struct

import pytest

from . import helpers as h
from . import transport_helpers as th


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


def dev_raw(dut):
    """(RawFifo, dev_num) of the first described device."""
    d = h.first_device(dut)
    return h.RawFifo(dut, d.fifo), d.dev_num


# ---- msg_size ------------------------------------------------------------------------------


def _size_rule(frame: bytes, size: int) -> str | None:
    """Which rule silence checks for a frame sent with msg_size ``size``: one
    shorter than its content is malformed (the test's primary rule); one
    longer is discarded only by the project reading G12."""
    return "READ-G12" if size > h.header(frame).msg_size else None


@pytest.mark.req("VMSG-BUS-016", "VMSG-BUS-017", "READ-G12", "R1-BUS-025", "R1-BUS-026")
@pytest.mark.parametrize("size", [8, 11, 13, 16, 63])
def test_ping_with_wrong_msg_size_is_discarded(dut, size):
    f = h.ping(0x5E)
    h.expect_no_response(h.RawFifo(dut, 0), h.with_msg_size(f, size), req=_size_rule(f, size))


@pytest.mark.req("VMSG-DEV-012", "VMSG-BUS-016", "READ-G12")
@pytest.mark.parametrize("kind,size", [("get-device-status", 12), ("get-device-info", 9),
                                       ("get-vqueue", 8), ("get-vqueue", 16)])
def test_transport_request_with_wrong_msg_size_is_discarded(dut, kind, size):
    raw, dev = dev_raw(dut)
    f = {"get-device-status": h.get_device_status(dev), "get-device-info": h.get_device_info(dev),
         "get-vqueue": h.get_vqueue(dev, 0)}[kind]
    h.expect_no_response(raw, h.with_msg_size(f, size), req=_size_rule(f, size))


@pytest.mark.req("VMSG-BUS-016", "VMSG-BUS-017", "R1-BUS-025", "R1-BUS-026")
@pytest.mark.parametrize("size", [0, 4, 7])
def test_msg_size_below_the_header_is_discarded(dut, size):
    h.expect_no_response(h.RawFifo(dut, 0), h.with_msg_size(h.ping(1), size))


@pytest.mark.req("VMSG-BUS-016", "VMSG-BUS-017", "AMP-014", "R1-BUS-025", "R1-BUS-026")
@pytest.mark.parametrize("size", [65, 0x100, 0xFFFF])
def test_msg_size_above_the_bus_maximum_is_discarded(dut, size):
    h.expect_no_response(h.RawFifo(dut, 0), h.with_msg_size(h.ping(2), size))


@pytest.mark.req("VMSG-BUS-016", "VMSG-BUS-017", "R1-BUS-025", "R1-BUS-026")
def test_all_zero_slot_is_discarded(dut):
    h.expect_no_response(h.RawFifo(dut, 0), bytes(64))


# ---- reserved type bits ------------------------------------------------------------------------

BITS = [0x04, 0x80, 0xFC]


@pytest.mark.req("VMSG-BUS-022", "VMSG-GEN-001", "VMSG-BUS-047")
@pytest.mark.parametrize("bits", BITS, ids=[f"0x{b:02x}" for b in BITS])
def test_bus_request_with_reserved_type_bits_is_answered_with_clean_type(dut, bits):
    resp = h.request(h.RawFifo(dut, 0), h.with_reserved_bits(h.ping(0x7B), bits))
    h.assert_response_header(resp, type_=h.T_BUS_RESPONSE, msg_id=h.BUS_PING, dev_num=0, msg_size=12)
    assert h.u32(resp, 8) == 0x7B


@pytest.mark.req("VMSG-DEV-015", "VMSG-DEV-016", "VMSG-BUS-022", "VMSG-BUS-023")
@pytest.mark.parametrize("bits", BITS, ids=[f"0x{b:02x}" for b in BITS])
def test_transport_request_with_reserved_type_bits_is_answered_with_clean_type(dut, bits):
    raw, dev = dev_raw(dut)
    resp = h.request(raw, h.with_reserved_bits(h.get_device_status(dev), bits))
    h.assert_response_header(resp, type_=h.T_RESPONSE, msg_id=h.GET_DEVICE_STATUS, dev_num=dev, msg_size=12)


# ---- the RESPONSE bit on what the driver sends -----------------------------------------------------


@pytest.mark.req("READ-G12", "VMSG-BUS-016", "VMSG-BUS-017", "R1-BUS-025", "R1-BUS-026")
@pytest.mark.parametrize("kind", ["ping", "get-devices"])
def test_bus_message_with_response_bit_is_not_answered(dut, kind):
    f = h.ping(9) if kind == "ping" else h.get_devices(0, 32)
    h.expect_no_response(h.RawFifo(dut, 0), h.with_type(f, h.T_BUS_RESPONSE))


@pytest.mark.req("VMSG-DEV-012", "VMSG-BUS-016", "VMSG-BUS-017")
@pytest.mark.parametrize("kind", ["get-device-status", "get-device-info"])
def test_transport_message_with_response_bit_is_not_answered(dut, kind):
    raw, dev = dev_raw(dut)
    f = h.get_device_status(dev) if kind == "get-device-status" else h.get_device_info(dev)
    h.expect_no_response(raw, h.with_type(f, h.T_RESPONSE))


# ---- unsupported IDs -----------------------------------------------------------------------------

UNKNOWN = [0x00, 0x01, 0x0D, 0x3F, 0x80, 0xBF]


@pytest.mark.req("VMSG-DEV-012", "VMSG-BUS-016", "VMSG-BUS-017")
@pytest.mark.parametrize("msg_id", UNKNOWN, ids=[f"0x{i:02x}" for i in UNKNOWN])
def test_unknown_transport_id_is_discarded(dut, msg_id):
    raw, dev = dev_raw(dut)
    h.expect_no_response(raw, h.frame(h.T_REQUEST, msg_id, dev))


@pytest.mark.req("VMSG-BUS-016", "VMSG-BUS-017", "R1-BUS-025", "R1-BUS-026")
@pytest.mark.parametrize("msg_id", [0x00, 0x01, 0x04, 0x3F, 0x80, 0xBF],
                         ids=["0x00", "0x01", "0x04", "0x3f", "0x80", "0xbf"])
def test_unknown_bus_id_is_discarded(dut, msg_id):
    h.expect_no_response(h.RawFifo(dut, 0), h.frame(h.T_BUS, msg_id, 0, 0, bytes(4)))


# ---- events are never answered --------------------------------------------------------------------


@pytest.mark.req("VMSG-BUS-019", "VMSG-DEV-012")
@pytest.mark.parametrize("kind", ["event-config", "event-used", "event-avail-early", "0x43", "0x7f", "0xc0",
                                  "event-avail-response-bit"])
def test_transport_event_from_the_driver_gets_no_reply(dut, kind):
    raw, dev = dev_raw(dut)
    f = {
        "event-config": h.frame(h.T_REQUEST, h.EVENT_CONFIG, dev, 0, struct.pack("<IIII", 0, 0, 0, 0)),
        "event-used": h.frame(h.T_REQUEST, h.EVENT_USED, dev, 0, struct.pack("<I", 0)),
        "event-avail-early": h.event_avail(dev, 0, 0),
        "0x43": h.frame(h.T_REQUEST, 0x43, dev),
        "0x7f": h.frame(h.T_REQUEST, 0x7F, dev),
        "0xc0": h.frame(h.T_REQUEST, 0xC0, dev),
        "event-avail-response-bit": h.with_type(h.event_avail(dev, 0, 0), h.T_RESPONSE),
    }[kind]
    h.expect_no_response(raw, f)


@pytest.mark.req("VMSG-BUS-019", "VMSG-BUS-016")
@pytest.mark.parametrize("msg_id", [h.BUS_EVENT_DEVICE, 0x41, 0xC0], ids=["event-device", "0x41", "0xc0"])
def test_bus_event_from_the_driver_gets_no_reply(dut, msg_id):
    h.expect_no_response(h.RawFifo(dut, 0), h.frame(h.T_BUS, msg_id, 0, 0, struct.pack("<HH", 1, 1)))


# ---- device numbers ------------------------------------------------------------------------------


@pytest.mark.req("VMSG-BUS-013", "READ-G11")
@pytest.mark.parametrize("dev_num", [32, 33, 255, 0xFFFF])
def test_device_number_beyond_the_bus_gets_no_reply(dut, dev_num):
    h.expect_no_response(h.RawFifo(dut, 0), h.get_device_info(dev_num))


@pytest.mark.req("VMSG-BUS-013")
def test_get_device_info_to_an_empty_slot_gets_no_reply(dut, empty_slot):
    fifo, dev = empty_slot
    h.expect_no_response(h.RawFifo(dut, fifo), h.get_device_info(dev))


@pytest.mark.req("VMSG-BUS-013")
@pytest.mark.parametrize("kind", ["get-device-status", "get-device-features", "get-config", "get-vqueue",
                                  "set-device-status", "reset-vqueue", "get-shm"])
def test_any_request_to_an_empty_slot_gets_no_reply(dut, kind):
    fifo = 0
    dev = h.empty_dev_nums(dut, fifo)[0]
    f = {"get-device-status": h.get_device_status(dev), "get-device-features": h.get_device_features(dev, 0, 1),
         "get-config": h.get_config(dev, 0, 4), "get-vqueue": h.get_vqueue(dev, 0),
         "set-device-status": h.set_device_status(dev, 1), "reset-vqueue": h.reset_vqueue(dev, 0),
         "get-shm": h.get_shm(dev, 0)}[kind]
    h.expect_no_response(h.RawFifo(dut, fifo), f)


@pytest.mark.req("VMSG-BUS-002", "VMSG-DEV-018")
def test_transport_request_reaches_the_device_it_names(dut, device):
    raw = h.RawFifo(dut, device.fifo)
    resp = h.request(raw, h.get_device_info(device.dev_num, token=0x33))
    h.assert_response_header(resp, type_=h.T_RESPONSE, msg_id=h.GET_DEVICE_INFO, dev_num=device.dev_num,
                             msg_size=th.info_size(dut), size_rule=th.layout_rule("GET_DEVICE_INFO", th.is_rev1(dut)))
    assert h.u32(resp, 8) == device.device_id, f"device_id {h.u32(resp, 8)} from dev_num {device.dev_num}"


# ---- exactly one response, in order -------------------------------------------------------------------


@pytest.mark.req("VMSG-BUS-028", "VMSG-BUS-027")
def test_every_request_gets_exactly_one_response_in_order(dut, device):
    raw = h.RawFifo(dut, device.fifo)
    d = device.dev_num
    reqs = [h.get_device_info(d), h.get_device_status(d), h.get_device_features(d, 0, 1), h.get_vqueue(d, 0),
            h.get_device_status(d)]
    got = h.exchange(raw, reqs, steps=8)
    ids = [h.header(s).msg_id for s in got]
    assert ids == [h.header(r).msg_id for r in reqs], f"responses {[h.describe(s) for s in got]}"
    for s in got:
        assert h.header(s).type == h.T_RESPONSE and h.header(s).dev_num == d


@pytest.mark.req("VMSG-BUS-027", "VMSG-BUS-028")
def test_interleaved_devices_keep_per_device_order(dut, fifo):
    devs = sorted(h.device_numbers(dut, fifo))
    if not devs:
        pytest.skip(f"no device on FIFO {fifo}")
    raw = h.RawFifo(dut, fifo)
    reqs = []
    for round_ in range(3):
        for d in devs:
            reqs += [h.get_device_status(d), h.get_vqueue(d, round_), h.ping(d << 8 | round_)]
    got = h.exchange(raw, reqs, steps=8)
    h.require(len(got) == len(reqs), "VMSG-BUS-028", f"{len(got)} responses for {len(reqs)} requests")
    for d in devs:
        mine = [h.header(s).msg_id for s in got if not h.header(s).is_bus and h.header(s).dev_num == d]
        assert mine == [h.GET_DEVICE_STATUS, h.GET_VQUEUE] * 3
        vq = [h.u32(s, 8) for s in got if h.header(s).msg_id == h.GET_VQUEUE and h.header(s).dev_num == d]
        assert vq == [0, 1, 2], f"GET_VQUEUE indices out of order: {vq}"
    pings = [h.u32(s, 8) for s in got if h.header(s).is_bus]
    assert pings == [d << 8 | r for r in range(3) for d in devs]


# ---- the whole 64-byte slot is usable (AMP-014, D1/D2) ----------------------------------------------------


@pytest.mark.req("AMP-014", "VMSG-BUS-028")
def test_64_byte_response_is_delivered(dut, device):
    raw = h.RawFifo(dut, device.fifo)
    resp = h.request(raw, h.get_device_features(device.dev_num, 0, 12))
    h.assert_response_header(resp, type_=h.T_RESPONSE, msg_id=h.GET_DEVICE_FEATURES, dev_num=device.dev_num,
                             msg_size=64)
    assert h.u32(resp, 12) == 12


@pytest.mark.req("AMP-014", "VMSG-BUS-028")
def test_64_byte_request_is_accepted(dut, device):
    raw = h.RawFifo(dut, device.fifo)
    d = device.dev_num
    for status in (0x1, 0x3):
        h.request(raw, h.set_device_status(d, status))
    req = h.set_driver_features(d, 0, [0] * 12)
    assert len(req) == 64
    resp = h.request(raw, req)
    h.assert_response_header(resp, type_=h.T_RESPONSE, msg_id=h.SET_DRIVER_FEATURES, dev_num=d, msg_size=8)

"""Bus rules not covered elsewhere: standard bus messages, opaque forwarding,
the size limit in both directions and its bounds, later-revision messages,
device numbers, and in-band notifications (virtio-msg.md §2, §3, §4.14,
§4.15, §5; VMSG-BUS-001/003/004/006/008/009/011/012/021/029/033..036).

The AMP PCI bus is one FIFO per bus instance, so "the bus" is observed from
the FIFO: what goes in the driver queue and what comes out of the device
queue. Raw-frame tests use helpers.RawFifo; tests that need a live device
use transport_helpers.Peer (never both on one FIFO in a test).
"""

from __future__ import annotations

import struct

import pytest

from . import helpers as h
from . import transport_helpers as th


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


# ---- shared steps ------------------------------------------------------------------------------


def announced(raw: h.RawFifo) -> list[int]:
    """Device numbers GET_DEVICES(0, 32) reports on this FIFO."""
    resp = h.request(raw, h.get_devices(0, h.MAX_DEVICES))
    h.assert_response_header(resp, type_=h.T_BUS_RESPONSE, msg_id=h.BUS_GET_DEVICES, dev_num=0,
                             msg_size=14 + h.MAX_DEVICES // 8)
    bitmap = resp[14:14 + h.MAX_DEVICES // 8]
    return [n for n in range(h.MAX_DEVICES) if bitmap[n // 8] >> (n % 8) & 1]


def status_of(raw: h.RawFifo, dev: int) -> int:
    resp = h.request(raw, h.get_device_status(dev))
    h.assert_response_header(resp, type_=h.T_RESPONSE, msg_id=h.GET_DEVICE_STATUS, dev_num=dev, msg_size=12)
    return h.u32(resp, 8)


def request_limit(raw: h.RawFifo, dev: int) -> int:
    """Largest request the bus carries to the device: SET_DRIVER_FEATURES with
    0, 1, ... blocks (16 + 4k bytes) while each still fits a slot and is
    answered; every size up to the limit must be answered."""
    for status in (th.ACK, th.ACK | th.DRIVER):
        h.request(raw, h.set_device_status(dev, status))
    largest = 0
    for blocks in range((h.SLOT_SIZE - 16) // 4 + 1):
        f = h.set_driver_features(dev, 0, [0] * blocks)
        resp = h.request(raw, f)
        h.assert_response_header(resp, type_=h.T_RESPONSE, msg_id=h.SET_DRIVER_FEATURES, dev_num=dev,
                                 msg_size=8)
        largest = len(f)
    return largest


def response_limit(raw: h.RawFifo, dev: int) -> int:
    """Largest response the device sends through the bus: GET_DEVICE_FEATURES
    asking for more and more blocks (the device returns as many as fit, G3)."""
    largest = 0
    for blocks in range(1, 24):
        resp = h.request(raw, h.get_device_features(dev, 0, blocks))
        size = h.header(resp).msg_size
        assert size <= h.SLOT_SIZE, f"response of {size} bytes claimed in a {h.SLOT_SIZE}-byte slot"
        assert size == 16 + 4 * h.u32(resp, 12), f"msg_size {size} disagrees with the echoed count"
        largest = max(largest, size)
    return largest


def msi_probe(dut, fifo: int):
    """(read, clear) of the MSI-X message word of a FIFO's vector in guest RAM,
    from the table the driver stack programmed (opens the amp function)."""
    dut.amp
    e = h.msix_layout(dut).entry(fifo)
    addr = int(dut.port.mmio_read(e, 4)) | int(dut.port.mmio_read(e + 4, 4)) << 32
    data = int(dut.port.mmio_read(e + 8, 4))

    def fired() -> bool:
        return int(dut.port.mmio_read(addr, 4)) == data

    def clear() -> None:
        dut.port.mmio_write(addr, 4, 0)

    return fired, clear


# ---- standard bus messages (VMSG-BUS-001) ------------------------------------------------------


@pytest.mark.req("VMSG-BUS-001")
def test_enumeration_and_liveness_use_the_standard_bus_messages(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    assert set(announced(raw)) == h.device_numbers(dut, fifo), "GET_DEVICES bitmap differs from the target"
    h.assert_alive(raw, 0x0B05_0001 + fifo)


# ---- transport messages are opaque to the bus (VMSG-BUS-003, VMSG-BUS-004) ----------------------


@pytest.mark.req("VMSG-BUS-003", "VMSG-BUS-021")
def test_bus_forwards_requests_whose_content_only_the_transport_judges(dut, device):
    # Out-of-range contents are the transport's business (G1, G10, VMSG-DEV-046):
    # a bus that filtered them would leave the request unanswered.
    raw = h.RawFifo(dut, device.fifo)
    d = device.dev_num
    resp = h.request(raw, h.get_config(d, 0xFFFF_0000, 4))
    assert (h.header(resp).msg_id, h.header(resp).dev_num) == (h.GET_CONFIG, d)
    resp = h.request(raw, h.get_vqueue(d, 0xFFFF))
    h.assert_response_header(resp, type_=h.T_RESPONSE, msg_id=h.GET_VQUEUE, dev_num=d, msg_size=48)
    assert h.u32(resp, 8) == 0xFFFF and h.u32(resp, 12) == 0
    resp = h.request(raw, h.get_device_features(d, 0x7FFF_0000, 1))
    h.assert_response_header(resp, type_=h.T_RESPONSE, msg_id=h.GET_DEVICE_FEATURES, dev_num=d, msg_size=20)
    assert (h.u32(resp, 8), h.u32(resp, 16)) == (0x7FFF_0000, 0)


@pytest.mark.req("VMSG-BUS-004")
def test_config_bytes_written_come_back_unaltered(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=())
    for data in (b"\x5a\xa5\x3c\xc3", b"\x01\x80\xfe\x7f"):
        gen = p.get_config(4, 4).generation
        p.set_config(gen, 4, data)
        assert bytes(p.get_config(4, 4).data) == data, "balloon 'actual' read back altered"


@pytest.mark.req("VMSG-BUS-004")
def test_set_vqueue_addresses_come_back_byte_for_byte(dut):
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    rq = th.RawQueue(dut, min(8, p.get_vqueue(0).max_size))
    sent = th.encode(dut, p.dev.dev_num, th.wire.SetVqueueReq(
        index=0, size=rq.size, desc_addr=rq.desc, driver_addr=rq.avail, device_addr=rq.used))
    p.post_raw(sent)
    p.get_vqueue(0)
    got = p.last.raw
    assert got[24:48] == sent[24:48], f"addresses sent {sent[24:48].hex()} came back {got[24:48].hex()}"


# ---- the size limit (VMSG-BUS-006, VMSG-BUS-008, VMSG-BUS-009) ----------------------------------


@pytest.mark.req("VMSG-BUS-006")
def test_size_limit_is_the_same_for_requests_and_responses(dut, device):
    raw = h.RawFifo(dut, device.fifo)
    req_max = request_limit(raw, device.dev_num)
    resp_max = response_limit(raw, device.dev_num)
    assert req_max == resp_max, f"requests carried up to {req_max} bytes, responses up to {resp_max}"
    # one byte beyond the limit is refused on the way in
    f = h.set_driver_features(device.dev_num, 0, [0] * 13)
    h.expect_no_response(raw, f[:h.SLOT_SIZE])


@pytest.mark.req("VMSG-BUS-008", "VMSG-BUS-009", "R1-BUS-015")
def test_size_limit_lies_between_44_and_264_bytes(dut, device):
    floor = 52 if th.is_rev1(dut) else 44  # REV1 raised the floor to a whole GET_DEVICE_INFO answer
    raw = h.RawFifo(dut, device.fifo)
    limit = request_limit(raw, device.dev_num)
    assert limit >= floor, f"the bus carries requests of at most {limit} bytes (draft floor: {floor})"
    assert response_limit(raw, device.dev_num) >= floor
    # Nothing larger than the observed limit is accepted, up to and past 264.
    for claimed in (limit + 4, 200, 264, 265, 0x400):
        h.expect_no_response(raw, h.with_msg_size(h.get_device_status(device.dev_num), claimed), alive=False)
    assert limit <= 264
    h.assert_alive(raw)


# ---- messages of a later revision (VMSG-BUS-011) ------------------------------------------------

LATER = [(h.T_REQUEST, 0x0D), (h.T_REQUEST, 0x1F), (h.T_REQUEST, 0x3F), (h.T_REQUEST, 0x43),
         (h.T_REQUEST, 0x7F), (h.T_BUS, 0x04), (h.T_BUS, 0x3F)]


@pytest.mark.req("VMSG-BUS-011")
def test_messages_of_a_later_revision_are_dropped_without_effect(dut, device):
    raw = h.RawFifo(dut, device.fifo)
    d = device.dev_num
    h.request(raw, h.set_device_status(d, th.ACK))
    for type_, msg_id in LATER:
        # payload shaped like a status write of 0 (a reset, if misread)
        f = h.frame(type_, msg_id, d if type_ == h.T_REQUEST else 0, 0, struct.pack("<I", 0))
        h.expect_no_response(raw, f, alive=False)
    assert status_of(raw, d) == th.ACK, "an unknown message changed the device status"
    h.assert_alive(raw)


# ---- device numbers (VMSG-BUS-012, VMSG-BUS-021, VMSG-BUS-029) ----------------------------------


@pytest.mark.req("VMSG-BUS-012")
def test_each_device_number_addresses_its_own_device(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    numbers = announced(raw)
    described = [d.dev_num for d in h.devices_on(dut, fifo)]
    assert len(described) == len(set(described)), f"the target description repeats a number: {described}"
    assert sorted(numbers) == sorted(described)
    ids = {d.dev_num: d.device_id for d in h.devices_on(dut, fifo)}
    for n in numbers:
        resp = h.request(raw, h.get_device_info(n))
        assert h.u32(resp, 8) == ids[n], f"dev_num {n} answers as device type {h.u32(resp, 8)}"
        h.request(raw, h.set_device_status(n, 0))
    # Moving one device out of reset must leave every other number untouched.
    for n in numbers:
        h.request(raw, h.set_device_status(n, th.ACK))
        others = {m: status_of(raw, m) for m in numbers if m != n}
        assert all(s == 0 for s in others.values()), f"status written to {n} shows on {others}"
        h.request(raw, h.set_device_status(n, 0))


@pytest.mark.req("VMSG-BUS-029")
def test_every_announced_device_answers_get_device_info(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    numbers = announced(raw)
    if not numbers:
        pytest.skip(f"no device announced on FIFO {fifo}")
    for n in numbers:
        resp = h.request(raw, h.get_device_info(n))
        h.assert_response_header(resp, type_=h.T_RESPONSE, msg_id=h.GET_DEVICE_INFO, dev_num=n,
                                 msg_size=th.info_size(dut),
                                 size_rule=th.layout_rule("GET_DEVICE_INFO", th.is_rev1(dut)))
        assert h.u32(resp, 8) != 0, f"announced dev_num {n} reports device type 0 (no device)"


@pytest.mark.req("VMSG-BUS-021")
def test_responses_carry_the_device_number_of_their_request(dut, fifo):
    raw = h.RawFifo(dut, fifo)
    numbers = sorted(h.device_numbers(dut, fifo))
    if not numbers:
        pytest.skip(f"no device on FIFO {fifo}")
    makers = [h.get_device_info, h.get_device_status, lambda n: h.get_device_features(n, 0, 2),
              lambda n: h.get_config(n, 0, 4), lambda n: h.get_vqueue(n, 0), lambda n: h.get_shm(n, 0)]
    reqs = [(n, make(n)) for make in makers for n in numbers]  # devices interleaved
    got = h.exchange(raw, [f for _, f in reqs], steps=8)
    h.require(len(got) == len(reqs), "VMSG-BUS-028", f"{len(got)} responses for {len(reqs)} requests")
    for n in numbers:
        sent = [h.header(f).msg_id for m, f in reqs if m == n]
        back = [h.header(s).msg_id for s in got if h.header(s).dev_num == n]
        assert back == sent, f"dev_num {n}: sent {sent}, responses under that number {back}"


# ---- notifications through the FIFO (VMSG-BUS-033..036) -----------------------------------------


def _post(dut, rq, size=16):
    head = rq.add(writable=[(th.buffer(dut, size, fill=0xEE), size)])
    rq.publish()
    return head


@pytest.mark.req("VMSG-BUS-033", "VMSG-BUS-034")
def test_every_event_avail_sent_through_the_fifo_reaches_the_device(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p, queues=((0, 8),))[0]
    for i in range(5):
        head = _post(dut, rq)
        p.kick(0)
        assert rq.reap() == [(head, 16)], f"EVENT_AVAIL #{i + 1} did not get its buffer used"


@pytest.mark.req("VMSG-BUS-035", "VMSG-BUS-036", "VMSG-BUS-021", "R1-BUS-054", "R1-DEV-045")
def test_event_used_is_delivered_in_band_with_an_interrupt(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p, queues=((0, 8),))[0]
    fired, clear = msi_probe(dut, p.dev.fifo)
    clear()
    _post(dut, rq)
    used = p.kick(0).events(th.ID_EVENT_USED)
    assert len(used) == 1, "no EVENT_USED in the device queue after a buffer was used"
    assert used[0].dev_num == p.dev.dev_num and used[0].body.vq_index == 0
    assert fired(), "EVENT_USED placed without the FIFO's MSI-X message"


@pytest.mark.req("VMSG-BUS-035", "VMSG-BUS-036", "VMSG-BUS-021", "R1-BUS-054", "R1-DEV-015")
def test_event_config_is_delivered_in_band_with_an_interrupt(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=())
    fired, clear = msi_probe(dut, p.dev.fifo)
    clear()
    th.config_change(dut, p.dev)
    evs = p.take_events(th.ID_EVENT_CONFIG)
    assert len(evs) == 1, f"expected one EVENT_CONFIG in the device queue, got {len(evs)}"
    assert evs[0].dev_num == p.dev.dev_num
    assert fired(), "EVENT_CONFIG placed without the FIFO's MSI-X message"

"""Device rules not covered elsewhere: no demand beyond revision 1, zeroed
padding in payloads, and consistent feature reads after negotiation
(virtio-msg.md §2, §4.3, §4.4, §4.9; VMSG-DEV-002/020/048)."""

from __future__ import annotations

import pytest

from . import helpers as h
from . import transport_helpers as th

FULL = th.ACK | th.DRIVER | th.FEATURES_OK | th.DRIVER_OK
# Enough queue indices to cover every device without walking 2^32 of them.
MAX_QUEUES_PROBED = 64


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


def peer_of(dut, d) -> th.Peer:
    return th.Peer(dut, th.DevRef(d.fifo, d.dev_num, d.device_id, d.kind))


def assert_reserved_zero(frame: th.Frame, what: str) -> None:
    assert frame.raw[20:24] == bytes(4), f"{what}: reserved word at 20 is {frame.raw[20:24].hex()}"


def skip_unless_reserved_word(dut) -> None:
    """GET_VQUEUE's word at 20 is reserved in PR28 only: REV1 made it the flags word
    (enabled in bit 0, checked with junk SET_VQUEUE flags by test_r1_set_vqueue)."""
    if th.is_rev1(dut):
        pytest.skip("REV1-2026: GET_VQUEUE's word at 20 is its flags, not reserved (test_r1_set_vqueue)")


@pytest.mark.req("VMSG-DEV-002")
def test_device_goes_live_with_revision_1_core_messages_and_version_1_alone(dut, device):
    # Only PR28 core messages and no feature beyond VERSION_1: the device must
    # not ask for more (there is no later revision it could rely on).
    p = peer_of(dut, device)
    assert p.info().device_id == device.device_id
    max_size = p.get_vqueue(0).max_size if p.info().max_virtqueues else 0
    queues = ((0, min(8, max_size)),) if max_size else ()
    rings = th.bring_up(p, queues=queues, wanted=th.bit(th.F_VERSION_1))
    assert p.status() == FULL
    if device.device_id == th.RNG_ID and rings:
        rq = rings[0]
        buf = th.buffer(dut, 16, fill=0)
        head = rq.add(writable=[(buf, 16)])
        rq.publish()
        p.kick(0)
        assert rq.reap() == [(head, 16)], "the entropy device served nothing with VERSION_1 alone"


@pytest.mark.req("VMSG-DEV-020")
def test_get_vqueue_reserved_word_is_zero_for_every_queue(dut, device):
    skip_unless_reserved_word(dut)
    p = peer_of(dut, device)
    count = min(p.info().max_virtqueues, MAX_QUEUES_PROBED)
    for q in range(count + 1):  # one past the last queue as well (G10)
        p.get_vqueue(q)
        assert_reserved_zero(p.last, f"GET_VQUEUE {q}")


@pytest.mark.req("VMSG-DEV-020", "VMSG-DEV-017")
def test_get_vqueue_reserved_word_stays_zero_after_set_vqueue_with_junk_in_reserved(dut, device):
    # The driver's non-zero reserved words (a driver bug, VMSG-DRV-014) must not
    # leak into the device's own response payload.
    skip_unless_reserved_word(dut)
    p = peer_of(dut, device)
    if not p.info().max_virtqueues:
        pytest.skip("device has no virtqueue")
    th.negotiate(p)
    max_size = p.get_vqueue(0).max_size
    rq = th.RawQueue(dut, min(8, max_size))
    p.ask(th.wire.SetVqueueReq(index=0, flags=0xA5A5_A5A5, size=rq.size, reserved=0x5A5A_5A5A,
                               desc_addr=rq.desc, driver_addr=rq.avail, device_addr=rq.used))
    got = p.get_vqueue(0)
    assert_reserved_zero(p.last, "GET_VQUEUE 0 after SET_VQUEUE")
    assert got.cur_size in (0, rq.size)


@pytest.mark.req("VMSG-DEV-048")
def test_feature_reads_after_negotiation_are_consistent(dut, device):
    # Q9 leaves open whether later reads show the offered or the acknowledged
    # set; under either reading they agree with each other and include every
    # bit the driver acknowledged.
    p = peer_of(dut, device)
    blocks = max(1, th.feature_blocks(dut, p.info()))
    chosen = th.negotiate(p)
    after_ok = p.features(0, blocks)
    assert p.set_status(FULL) == FULL
    after_live = p.features(0, blocks)
    again = p.features(0, blocks)
    assert after_ok == after_live == again, f"feature reads drift: {after_ok} / {after_live} / {again}"
    reported = sum(w << (32 * i) for i, w in enumerate(after_ok))
    assert chosen & ~reported == 0, f"acknowledged bits {chosen:#x} missing from {reported:#x}"

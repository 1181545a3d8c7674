"""SET_DRIVER_FEATURES (virtio-msg.md §4.4, §8, §9): the acknowledged set is
what the driver wrote, and FEATURES_OK shows acceptance or refusal."""
import pytest

from vmsg_conform.suite import transport_helpers as th

KINDS = [th.RNG_ID, th.BLK_ID, th.BALLOON_ID]
ADOK = th.ACK | th.DRIVER


def _to_driver(p):
    p.info()
    p.set_status(0)
    p.set_status(th.ACK)
    p.set_status(ADOK)


@pytest.mark.req("VMSG-DEV-043", "VMSG-DEV-017", "VMSG-DEV-018")
@pytest.mark.parametrize("blocks", [1, 2, 3])
def test_set_driver_features_response_is_header_only(dut, blocks):
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    p.set_features(th.bit(th.F_VERSION_1), blocks=blocks)
    assert p.last.msg_size == 8 and p.last.type == 0x01 and p.last.msg_id == th.ID_SET_DRIVER_FEATURES


@pytest.mark.req("VMSG-DEV-023", "VMSG-DEV-024", "VMSG-DEV-047", "VMSG-DEV-031", "R1-DEV-025")
@pytest.mark.parametrize("device_id", KINDS)
def test_set_driver_features_offered_subset_keeps_features_ok(dut, device_id):
    p = th.peer(dut, device_id)
    _to_driver(p)
    p.set_features(th.offered_v1(p))
    assert p.set_status(ADOK | th.FEATURES_OK) == ADOK | th.FEATURES_OK
    assert p.status() == ADOK | th.FEATURES_OK


@pytest.mark.req("VMSG-DEV-049", "READ-G04", "VMSG-DEV-024", "VMSG-DEV-031", "VMSG-DEV-053", "VMSG-DEV-003",
                 "VMSG-DEV-005", "R1-DEV-042")
@pytest.mark.parametrize("extra", [th.F_RING_PACKED, th.F_NOTIFICATION_DATA, 50, 63, 23])
def test_set_driver_features_unoffered_bit_clears_features_ok(dut, extra):
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    offered = p.offered()
    if offered & th.bit(extra):
        pytest.skip(f"bit {extra} is offered by this device")
    p.set_features(th.bit(th.F_VERSION_1) | th.bit(extra))
    assert p.set_status(ADOK | th.FEATURES_OK) == ADOK
    assert p.status() == ADOK


@pytest.mark.req("VMSG-DEV-023", "VMSG-DEV-047", "VMSG-DEV-024", "R1-DEV-025")
def test_set_driver_features_latest_write_of_a_block_wins(dut):
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    offered = p.offered()
    bad = 50 if not offered & th.bit(50) else 63
    p.set_features(th.bit(th.F_VERSION_1) | th.bit(bad))
    p.set_features(th.bit(th.F_VERSION_1))  # overwrites both blocks
    assert p.set_status(ADOK | th.FEATURES_OK) == ADOK | th.FEATURES_OK


@pytest.mark.req("VMSG-DEV-023", "VMSG-DEV-047", "VMSG-DEV-024", "R1-DEV-025")
def test_set_driver_features_blocks_written_one_at_a_time_combine(dut):
    p = th.peer(dut, th.BLK_ID)
    _to_driver(p)
    offered = th.offered_v1(p)
    p.ask(th.wire.SetDriverFeaturesReq(block_index=1, features=[(offered >> 32) & 0xFFFFFFFF]))
    p.ask(th.wire.SetDriverFeaturesReq(block_index=0, features=[offered & 0xFFFFFFFF]))
    assert p.set_status(ADOK | th.FEATURES_OK) == ADOK | th.FEATURES_OK


@pytest.mark.req("READ-G04", "VMSG-DEV-043")
def test_set_driver_features_with_zero_blocks_is_answered(dut):
    p = th.peer(dut, th.BLK_ID)
    _to_driver(p)
    reply = p.send(th.wire.SetDriverFeaturesReq(block_index=0, features=[]))
    resps = reply.responses(th.ID_SET_DRIVER_FEATURES)
    th.check(resps, "READ-G04", "SET_DRIVER_FEATURES with no blocks was not answered")
    th.require(len(resps) == 1, "VMSG-BUS-028", f"{len(resps)} responses to one request")
    th.check(resps[0].msg_size == 8, "VMSG-DEV-043", f"response msg_size {resps[0].msg_size}")


@pytest.mark.req("VMSG-DEV-030", "VMSG-DEV-024", "R1-DEV-067")
def test_set_driver_features_refused_set_is_forgotten_by_reset(dut):
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    p.set_features(th.bit(th.F_VERSION_1) | th.bit(th.F_RING_PACKED) | th.bit(63))
    th.require(p.set_status(ADOK | th.FEATURES_OK) == ADOK, "VMSG-DEV-049",
               "FEATURES_OK was accepted with unoffered bits: there is no refused set to forget")
    th.negotiate(p)  # reset, then a good set is accepted


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4, -4])
def test_set_driver_features_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.RNG_ID)
    th.assert_size_mismatch_dropped(p, th.wire.SetDriverFeaturesReq(block_index=0, features=[0, 1]), grow)

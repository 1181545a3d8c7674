"""GET_DEVICE_STATUS (virtio-msg.md §4.7): exact, and always the status the
last SET_DEVICE_STATUS produced (FEATURES_OK refusal and NEEDS_RESET included)."""
import pytest

from vmsg_conform.suite import transport_helpers as th

STEPS = [th.ACK, th.ACK | th.DRIVER, th.ACK | th.DRIVER | th.FEATURES_OK,
         th.ACK | th.DRIVER | th.FEATURES_OK | th.DRIVER_OK]


@pytest.mark.req("VMSG-DEV-043", "VMSG-DEV-017", "VMSG-DEV-031", "VMSG-DEV-052")
@pytest.mark.parametrize("device_id", [th.RNG_ID, th.BLK_ID, th.BALLOON_ID])
def test_get_device_status_of_a_fresh_device_is_zero(dut, device_id):
    p = th.peer(dut, device_id)
    assert p.status() == 0
    assert p.last.msg_size == 12 and p.last.type == 0x01


@pytest.mark.req("VMSG-DEV-031", "VMSG-DEV-052")
@pytest.mark.parametrize("steps", range(1, len(STEPS) + 1))
def test_get_device_status_matches_each_initialisation_step(dut, steps):
    p = th.peer(dut, th.BLK_ID)
    p.info()
    for i, s in enumerate(STEPS[:steps]):
        if s & th.FEATURES_OK and not STEPS[i - 1] & th.FEATURES_OK:
            p.set_features(th.bit(th.F_VERSION_1))
        assert p.set_status(s) == s
        assert p.status() == s


@pytest.mark.req("VMSG-DEV-031", "VMSG-DEV-052", "VMSG-DEV-024")
def test_get_device_status_shows_refused_features_ok(dut):
    p = th.peer(dut, th.RNG_ID)
    p.info()
    p.set_status(th.ACK)
    p.set_status(th.ACK | th.DRIVER)
    p.set_features(th.bit(th.F_VERSION_1) | th.bit(th.F_RING_PACKED) | th.bit(th.F_NOTIFICATION_DATA))
    resp = p.set_status(th.ACK | th.DRIVER | th.FEATURES_OK)
    th.require(resp & th.FEATURES_OK == 0, "VMSG-DEV-049",
               "FEATURES_OK was accepted with unoffered bits: there is no refusal to report")
    assert p.status() == resp


@pytest.mark.req("VMSG-DEV-031", "VMSG-DEV-052")
def test_get_device_status_reports_failed_as_written(dut):
    p = th.peer(dut, th.RNG_ID)
    p.set_status(th.ACK)
    assert p.set_status(th.ACK | th.FAILED) == th.ACK | th.FAILED
    assert p.status() == th.ACK | th.FAILED


@pytest.mark.req("VMSG-DEV-052", "VMSG-DEV-042")
def test_get_device_status_shows_needs_reset_after_a_broken_ring(dut):
    p = th.peer(dut, th.RNG_ID)
    rings = th.bring_up(p)
    rq = rings[0]
    rq.put_avail(rq.size + 100)  # a head the table does not have
    rq.publish()
    p.kick(0)
    assert p.status() & th.NEEDS_RESET
    assert p.status() & th.DRIVER_OK


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4])
def test_get_device_status_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.RNG_ID)
    th.assert_size_mismatch_dropped(p, th.wire.GetDeviceStatusReq(), grow)

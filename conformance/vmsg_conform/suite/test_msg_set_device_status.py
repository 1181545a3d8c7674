"""SET_DEVICE_STATUS (virtio-msg.md §4.8, §8): the response is the resulting
status; 0 resets; only FEATURES_OK may be refused."""
import pytest

from vmsg_conform.suite import transport_helpers as th

FULL = th.ACK | th.DRIVER | th.FEATURES_OK | th.DRIVER_OK


@pytest.mark.req("VMSG-DEV-053", "VMSG-DEV-017", "VMSG-DEV-043", "VMSG-BUS-028")
@pytest.mark.parametrize("device_id", [th.RNG_ID, th.BLK_ID, th.BALLOON_ID])
def test_set_device_status_initialisation_steps_are_echoed(dut, device_id):
    p = th.peer(dut, device_id)
    p.info()
    assert p.set_status(th.ACK) == th.ACK
    assert p.last.msg_size == 12
    assert p.set_status(th.ACK | th.DRIVER) == th.ACK | th.DRIVER
    p.set_features(th.bit(th.F_VERSION_1))
    assert p.set_status(th.ACK | th.DRIVER | th.FEATURES_OK) == th.ACK | th.DRIVER | th.FEATURES_OK
    assert p.set_status(FULL) == FULL


@pytest.mark.req("VMSG-DEV-030", "VMSG-DEV-041", "VMSG-DEV-053", "R1-DEV-067")
@pytest.mark.parametrize("from_status", [th.ACK, th.ACK | th.DRIVER, FULL, th.ACK | th.FAILED])
def test_set_device_status_zero_resets_and_reads_back_zero(dut, from_status):
    p = th.peer(dut, th.BLK_ID)
    if from_status == FULL:
        th.bring_up(p, queues=())
    else:
        p.set_status(th.ACK)
        p.set_status(from_status)
    assert p.set_status(0) == 0
    assert p.status() == 0


@pytest.mark.req("VMSG-DEV-053", "VMSG-DEV-031", "VMSG-GEN-001", "READ-G07")
@pytest.mark.parametrize("high", [0x100, 0x8000_0000, 0xFFFF_FF00, 0x0001_0000])
def test_set_device_status_reports_no_undefined_high_bits(dut, high):
    # Bits 8-31 are undefined (Q17); the project reading G7 ignores them, so
    # the accurate resulting status has them clear.
    p = th.peer(dut, th.RNG_ID)
    p.set_status(th.ACK)
    r = p.set_status(high | th.ACK | th.DRIVER)
    assert r & 0xFFFF_FF00 == 0
    assert r == th.ACK | th.DRIVER
    assert p.status() == r


@pytest.mark.req("VMSG-DEV-053", "VMSG-DEV-031")
def test_set_device_status_failed_is_kept(dut):
    p = th.peer(dut, th.BLK_ID)
    p.set_status(th.ACK)
    p.set_status(th.ACK | th.DRIVER)
    assert p.set_status(th.ACK | th.DRIVER | th.FAILED) == th.ACK | th.DRIVER | th.FAILED


@pytest.mark.req("VMSG-DEV-024", "VMSG-DEV-053")
def test_set_device_status_features_ok_with_nothing_written_keeps_status_accurate(dut):
    p = th.peer(dut, th.RNG_ID)
    p.set_status(th.ACK)
    p.set_status(th.ACK | th.DRIVER)
    r = p.set_status(th.ACK | th.DRIVER | th.FEATURES_OK)
    assert r in (th.ACK | th.DRIVER, th.ACK | th.DRIVER | th.FEATURES_OK)
    assert p.status() == r


@pytest.mark.req("VMSG-DEV-053", "VMSG-DEV-052")
def test_set_device_status_cannot_clear_device_needs_reset(dut):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    rq.put_avail(rq.size + 3)
    rq.publish()
    p.kick(0)
    assert p.status() & th.NEEDS_RESET
    r = p.set_status(FULL)
    assert r & th.NEEDS_RESET, "a non-zero status write cleared DEVICE_NEEDS_RESET"
    assert p.status() == r


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4, -4])
def test_set_device_status_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.RNG_ID)
    th.assert_size_mismatch_dropped(p, th.wire.SetDeviceStatusReq(status=1), grow)

"""GET_DEVICE_FEATURES (virtio-msg.md §4.3, §9.1): echoed window, exact size,
zero beyond the implemented bits."""
import pytest

from vmsg_conform.suite import transport_helpers as th

KINDS = [th.RNG_ID, th.BLK_ID, th.BALLOON_ID]


@pytest.mark.req("VMSG-DEV-043", "VMSG-DEV-017", "READ-G03")
@pytest.mark.parametrize("block_index,num_blocks", [(0, 1), (0, 2), (1, 1), (0, 3), (2, 4), (0, 12)])
def test_get_device_features_echoes_window_with_exact_size(dut, block_index, num_blocks):
    p = th.peer(dut, th.BLK_ID)
    r = p.ask(th.wire.GetDeviceFeaturesReq(block_index=block_index, num_blocks=num_blocks))
    assert r.block_index == block_index
    # Every window here fits the bus; returning fewer blocks is what G3 rules out.
    th.check(len(r.features) == num_blocks, "READ-G03", f"{len(r.features)} of {num_blocks} blocks returned")
    assert p.last.msg_size == 16 + 4 * len(r.features)


@pytest.mark.req("VMSG-DEV-011", "VMSG-DEV-022", "VMSG-DEV-046")
@pytest.mark.parametrize("block_index", [2, 3, 7, 100, 0xFFFF, 0xFFFFFFF0, 0xFFFFFFFF])
def test_get_device_features_blocks_beyond_implemented_range_read_zero(dut, block_index):
    p = th.peer(dut, th.BLK_ID)
    info = p.info()
    if block_index < th.feature_blocks(dut, info):
        pytest.skip("block implemented by this device")
    r = p.ask(th.wire.GetDeviceFeaturesReq(block_index=block_index, num_blocks=1))
    assert r.block_index == block_index
    assert list(r.features) == [0]


@pytest.mark.req("VMSG-DEV-022", "VMSG-DEV-046")
@pytest.mark.parametrize("device_id", KINDS)
def test_get_device_features_window_reading_past_the_end_is_zero_padded(dut, device_id):
    p = th.peer(dut, device_id)
    n = th.feature_blocks(dut, p.info())
    r = p.ask(th.wire.GetDeviceFeaturesReq(block_index=0, num_blocks=n + 2))
    assert list(r.features)[n:] == [0, 0]


@pytest.mark.req("VMSG-DEV-045", "VMSG-DEV-043", "R1-DEV-050")
@pytest.mark.parametrize("device_id", KINDS)
def test_get_device_features_same_bits_whatever_the_window(dut, device_id):
    p = th.peer(dut, device_id)
    together = p.features(0, 2)
    assert [p.features(0, 1)[0], p.features(1, 1)[0]] == together
    assert p.features(0, 2) == together


@pytest.mark.req("VMSG-DEV-043", "VIRTIO-CORE-043")
@pytest.mark.parametrize("device_id", KINDS)
def test_get_device_features_offers_version_1(dut, device_id):
    p = th.peer(dut, device_id)
    offered = p.offered()
    th.check(offered & th.bit(th.F_VERSION_1), "VIRTIO-CORE-043",
             f"VERSION_1 (bit 32, block 1) not offered: features {offered:#x}")


@pytest.mark.req("VMSG-BUS-041")
def test_get_device_features_does_not_offer_notification_data_on_amp(dut):
    # AMP EVENT_AVAIL carries no offset; a bus with its own notification
    # scheme should keep NOTIFICATION_DATA from being negotiated.
    for dev in th.devices_of(dut):
        assert not th.Peer(dut, dev).offered() & th.bit(th.F_NOTIFICATION_DATA)


@pytest.mark.req("VIRTIO-CORE-049")
def test_get_device_features_does_not_offer_sr_iov(dut):
    # the virtio device behind virtio-msg is no PCI function with an SR-IOV capability
    for dev in th.devices_of(dut):
        assert not th.Peer(dut, dev).offered() & th.bit(th.F_SR_IOV), f"device {dev.dev_num} offers SR_IOV"


@pytest.mark.req("VMSG-DEV-001", "VMSG-DEV-017", "READ-G03")
@pytest.mark.parametrize("num_blocks", [13, 14, 100, 0xFFFFFFFF])
def test_get_device_features_too_large_window_stays_within_bus_maximum(dut, num_blocks):
    p = th.peer(dut, th.BLK_ID)
    r = p.ask(th.wire.GetDeviceFeaturesReq(block_index=0, num_blocks=num_blocks))
    assert p.last.msg_size <= dut.profile.max_msg_size
    assert p.last.msg_size == 16 + 4 * len(r.features)
    fit = (dut.profile.max_msg_size - 16) // 4
    th.check(len(r.features) == fit, "READ-G03", f"{len(r.features)} blocks returned; {fit} fit the bus")
    assert list(r.features)[:2] == p.features(0, 2)[:len(r.features)]


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4, -4])
def test_get_device_features_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.RNG_ID)
    th.assert_size_mismatch_dropped(p, th.wire.GetDeviceFeaturesReq(block_index=0, num_blocks=2), grow)

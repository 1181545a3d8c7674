"""REV1 GET_DEVICE_INFO (REV1 L1272-1291): a 52-byte answer even before
initialisation, feature blocks covering every offered bit, queue and admin
limits that hold together, and a nil or version-4 device UUID."""
import pytest

from vmsg_conform.suite import transport_helpers as th


@pytest.fixture(autouse=True)
def _rev1_only(dut):
    """These rules and layouts exist only in REV1-2026 (N/A under PR28)."""
    if not th.is_rev1(dut):
        pytest.skip("REV1-2026 rule: not applicable under the PR28 profile")

KINDS = [th.RNG_ID, th.BLK_ID, th.BALLOON_ID]


def _info(dut, device_id, *, judged=False):
    """The first GET_DEVICE_INFO answer. The test citing R1-DEV-049 (answered) and
    R1-DEV-050 (its fields, here the 52-byte layout) judges them; for the others a
    missing or short answer is their setup failing."""
    p = th.peer(dut, device_id)
    f = p.answer(th.wire.GetDeviceInfoReq(), unanswered="R1-DEV-049" if judged else None)
    (th.check if judged else th.require)(f.msg_size == 52 and f.msg is not None, "R1-DEV-050",
                                         f"GET_DEVICE_INFO answer of {f.msg_size} bytes, REV1 has 52")
    return p, f.body


@pytest.mark.req("R1-DEV-049", "R1-DEV-050")
@pytest.mark.parametrize("device_id", KINDS)
def test_r1_device_info_answered_before_initialisation_and_stable(dut, device_id):
    p, first = _info(dut, device_id, judged=True)
    th.bring_up(p, queues=())
    again = p.info()
    fields = ("device_id", "vendor_id", "num_feature_blocks", "config_size", "max_virtqueues",
              "admin_vq_start", "admin_vq_count")
    a = {f: getattr(first, f) for f in fields}
    b = {f: getattr(again, f) for f in fields}
    th.check(a == b, "R1-DEV-050", f"GET_DEVICE_INFO changed from {a} to {b}")


@pytest.mark.req("R1-DEV-051", "R1-DEV-024")
@pytest.mark.parametrize("device_id", KINDS)
def test_r1_feature_blocks_cover_every_offered_bit(dut, device_id):
    p, info = _info(dut, device_id)
    n = info.num_feature_blocks
    th.require(1 <= n <= 10, "R1-DEV-051", f"num_feature_blocks {n}")
    words = p.features(0, n + 2)
    # an offered bit past the reported blocks shows the count too small
    assert words[n:] == [0, 0], f"feature blocks past {n} offer {[hex(w) for w in words[n:]]}"
    offered = sum(w << (32 * i) for i, w in enumerate(words))
    # a device that offers no VERSION_1 anywhere breaks the offer rule, not the block count
    th.require(offered >> 32 & 1, "VIRTIO-CORE-043", f"VIRTIO_F_VERSION_1 (bit 32) not offered: {offered:#x}")
    th.check(n >= 2, "R1-DEV-051", f"VIRTIO_F_VERSION_1 (bit 32) outside {n} block(s)")


@pytest.mark.req("R1-DEV-052", "R1-DEV-053", "R1-DEV-054", "R1-DEV-055")
@pytest.mark.parametrize("device_id", KINDS)
def test_r1_queue_and_admin_limits_hold_together(dut, device_id):
    _, info = _info(dut, device_id)
    assert info.max_virtqueues <= 65536, f"max_virtqueues {info.max_virtqueues}"
    if info.admin_vq_count == 0:
        th.check(info.admin_vq_start == 0, "R1-DEV-054", f"admin_vq_start {info.admin_vq_start} with no admin queue")
    else:
        th.check(info.admin_vq_start + info.admin_vq_count <= info.max_virtqueues, "R1-DEV-055",
                 f"admin queues {info.admin_vq_start}+{info.admin_vq_count} past {info.max_virtqueues}")


@pytest.mark.req("R1-DEV-058", "R1-DEV-057")
@pytest.mark.parametrize("device_id", KINDS)
def test_r1_device_uuid_is_nil_or_version_4(dut, device_id):
    _, info = _info(dut, device_id)
    u = bytes(info.device_uuid)
    assert len(u) == 16, f"device_uuid of {len(u)} bytes"
    if u != bytes(16):
        th.check(u[6] >> 4 == 4 and u[8] >> 6 == 0b10, "R1-DEV-057", f"device_uuid {u.hex()} is not a v4 UUID")

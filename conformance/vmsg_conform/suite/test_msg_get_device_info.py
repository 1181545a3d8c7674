"""GET_DEVICE_INFO (virtio-msg.md §4.2): exact response, answered in every
state, the same values every time."""
import pytest

from vmsg_conform.suite import transport_helpers as th

KINDS = [th.RNG_ID, th.BLK_ID, th.BALLOON_ID]


@pytest.mark.req("VMSG-DEV-043", "VMSG-DEV-044", "VMSG-DEV-045", "VMSG-DEV-017", "VMSG-DEV-018", "VMSG-BUS-028", "R1-DEV-050")
@pytest.mark.parametrize("device_id", KINDS)
def test_get_device_info_response_is_exact_and_names_the_device(dut, device_id):
    p = th.peer(dut, device_id)
    r = p.info()
    f = p.last
    assert f.type == 0x01 and f.msg_id == th.ID_GET_DEVICE_INFO
    th.check(f.msg_size == th.info_size(dut), th.layout_rule("GET_DEVICE_INFO", th.is_rev1(dut)),
             f"answer of {f.msg_size} bytes, the draft's layout has {th.info_size(dut)}")  # PR28 32, REV1 52
    assert r.device_id == device_id


@pytest.mark.req("VMSG-DEV-045")
@pytest.mark.parametrize("device_id", KINDS)
def test_get_device_info_feature_count_is_a_multiple_of_32_covering_every_offered_bit(dut, device_id):
    p = th.peer(dut, device_id)
    r = p.info()
    if not th.is_rev1(dut):  # PR28 counts bits, in whole blocks; REV1 counts the blocks
        assert r.num_feature_bits % 32 == 0
    n = th.feature_blocks(dut, r)
    assert n >= 2  # VERSION_1 is bit 32
    blocks = p.features(0, n)
    offered = sum(w << (32 * i) for i, w in enumerate(blocks))
    assert offered.bit_length() <= 32 * n


@pytest.mark.req("VMSG-DEV-044", "VMSG-DEV-045")
@pytest.mark.parametrize("device_id", KINDS)
def test_get_device_info_is_identical_in_every_status(dut, device_id):
    p = th.peer(dut, device_id)
    first = p.info()
    seen = [first]
    for status in (th.ACK, th.ACK | th.DRIVER):
        p.set_status(status)
        seen.append(p.info())
    th.bring_up(p, queues=())
    seen.append(p.info())
    p.set_status(0)
    seen.append(p.info())
    assert all(s == first for s in seen)


@pytest.mark.req("VMSG-DEV-045", "VMSG-DEV-054", "R1-DEV-050")
@pytest.mark.parametrize("device_id", KINDS)
def test_get_device_info_queue_count_matches_get_vqueue(dut, device_id):
    p = th.peer(dut, device_id)
    r = p.info()
    assert r.max_virtqueues >= 1
    for q in range(r.max_virtqueues):
        assert p.get_vqueue(q).max_size > 0, f"queue {q} below max_virtqueues reports max_size 0"


@pytest.mark.req("VMSG-DEV-045", "R1-DEV-050")
@pytest.mark.parametrize("device_id", KINDS)
def test_get_device_info_admin_queue_fields_zero_without_admin_vq(dut, device_id):
    p = th.peer(dut, device_id)
    r = p.info()
    if p.offered() & th.bit(41):
        pytest.skip("device offers VIRTIO_F_ADMIN_VQ")
    assert (r.admin_vq_start, r.admin_vq_count) == (0, 0)


@pytest.mark.req("VMSG-DEV-021")
@pytest.mark.parametrize("token", [0x0000, 0x0001, 0x7FFF, 0xFFFF])
def test_get_device_info_answer_does_not_depend_on_token(dut, token):
    p = th.peer(dut, th.RNG_ID)
    plain = p.info()
    assert p.ask(th.wire.GetDeviceInfoReq(), token=token) == plain


@pytest.mark.req("VMSG-DEV-016", "VMSG-DEV-015")
@pytest.mark.parametrize("bits", [0x04, 0x80, 0xFC])
def test_get_device_info_reserved_type_bits_ignored_and_never_echoed(dut, bits):
    p = th.peer(dut, th.BLK_ID)
    plain = p.info()
    assert p.ask(th.wire.GetDeviceInfoReq(), reserved_type_bits=bits) == plain
    th.check(p.last.type & 0xFC == 0, "VMSG-DEV-015", f"response type {p.last.type:#04x} carries reserved bits")


@pytest.mark.req("VMSG-DEV-012", "READ-G12")
@pytest.mark.parametrize("grow", [4, 8])
def test_get_device_info_with_wrong_msg_size_is_dropped_silently(dut, grow):
    p = th.peer(dut, th.RNG_ID)
    th.assert_size_mismatch_dropped(p, th.wire.GetDeviceInfoReq(), grow)

"""virtio-blk end to end with the reference BlkDriver: data written comes
back, flush and GET_ID work, the config space describes the disk."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th


@pytest.mark.req("VMSG-DEV-033", "VMSG-DEV-037", "VMSG-DEV-043")
@pytest.mark.parametrize("sector,nbytes", [(0, 512), (1, 4096), (7, 65536), (100, 512 * 3)])
def test_blk_write_then_read_returns_the_same_bytes(dut, sector, nbytes):
    blk, _ = th.blk_driver(dut)
    if (sector * 512 + nbytes) > blk.capacity() * 512:
        pytest.skip("disk too small")
    data = th.pattern(nbytes, sector + 1)
    blk.write(sector, data)
    assert bytes(blk.read(sector, nbytes)) == data


@pytest.mark.req("VMSG-DEV-033")
def test_blk_writes_do_not_spill_into_neighbouring_sectors(dut):
    blk, _ = th.blk_driver(dut)
    blk.write(10, th.pattern(512 * 3, 5))
    blk.write(11, b"\x00" * 512)
    back = bytes(blk.read(10, 512 * 3))
    assert back[:512] == th.pattern(512 * 3, 5)[:512]
    assert back[512:1024] == b"\x00" * 512
    assert back[1024:] == th.pattern(512 * 3, 5)[1024:]


@pytest.mark.req("VMSG-DEV-026", "VMSG-DEV-050")
def test_blk_capacity_in_config_matches_the_driver_view(dut):
    blk, t = th.blk_driver(dut)
    p = th.peer(dut, th.BLK_ID)
    raw = p.get_config(0, 8)
    assert struct.unpack("<Q", bytes(raw.data))[0] == blk.capacity() > 0


@pytest.mark.req("VMSG-DEV-033")
def test_blk_flush_and_get_id_complete(dut):
    blk, t = th.blk_driver(dut)
    if t.has_feature(9):
        blk.flush()
    ident = blk.get_id()
    assert isinstance(ident, str) and len(ident) <= 20


@pytest.mark.req("VMSG-DEV-033", "VMSG-DEV-041", "R1-DEV-067")
def test_blk_data_survives_a_transport_reset(dut):
    blk, t = th.blk_driver(dut)
    data = th.pattern(4096, 9)
    blk.write(3, data)
    t.reset()
    blk.init()
    assert bytes(blk.read(3, 4096)) == data


@pytest.mark.req("VMSG-DEV-033")
def test_blk_read_past_the_end_reports_an_io_error(dut):
    drv = th.driver_module()
    blk, _ = th.blk_driver(dut, bounds_check=False)
    with pytest.raises(drv.VirtioFailure) as e:
        blk.read(blk.capacity(), 512)
    th.require(e.value.code != drv.VirtioErrc.BadUsedLength, "VIRTIO-RING-031", f"the driver stopped: {e.value}")
    th.require(e.value.code != drv.VirtioErrc.BadUsedId, "VIRTIO-RING-048", f"the driver stopped: {e.value}")
    assert e.value.code == drv.VirtioErrc.IoError


# Zone request types (blk description.tex, "Device Operation"); only VIRTIO_BLK_F_ZONED makes them valid.
ZONE_TYPES = {"ZONE_APPEND": 15, "ZONE_REPORT": 16, "ZONE_OPEN": 18, "ZONE_CLOSE": 20, "ZONE_FINISH": 22,
              "ZONE_RESET": 24, "ZONE_RESET_ALL": 26}


@pytest.mark.req("VIRTIO-BLK-029")
@pytest.mark.parametrize("name", list(ZONE_TYPES))
def test_blk_zone_requests_without_zoned_complete_unsupported(dut, name):
    p = th.peer(dut, th.BLK_ID)
    rq = th.bring_up(p)[0]  # VERSION_1 only: ZONED is never negotiated
    req = th.blk_request(dut, rq, ZONE_TYPES[name])
    rq.publish()
    p.kick(0)
    used = rq.reap()
    th.require([h for h, _ in used] == [req.head], "VMSG-DEV-033", f"request {req.head} posted, {used} used")
    status = th.mem_read(dut, req.status, 1)[0]
    assert status == th.BLK_S_UNSUPP, f"{name} completed with status {status}, not UNSUPP"


@pytest.mark.req("VMSG-DEV-033", "VMSG-DEV-037")
@pytest.mark.parametrize("no_interrupt,event_idx", [(False, False), (False, True), (True, False)])
def test_blk_works_in_every_notification_mode(dut, no_interrupt, event_idx):
    blk, _ = th.blk_driver(dut, no_interrupt=no_interrupt, event_idx=event_idx)
    data = th.pattern(8192, 3)
    blk.write(0, data)
    assert bytes(blk.read(0, 8192)) == data

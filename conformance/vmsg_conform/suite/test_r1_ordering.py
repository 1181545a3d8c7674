"""REV1 ordering (REV1 L226-236, L585-587): requests from one driver reach and
are handled by the device in the order sent, whatever order the answers come
back in (matched by token)."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th


@pytest.fixture(autouse=True)
def _rev1_only(dut):
    """These rules exist only in REV1-2026 (N/A under PR28)."""
    if not th.is_rev1(dut):
        pytest.skip("REV1-2026 rule: not applicable under the PR28 profile")

ACTUAL = 4  # the balloon's driver-writable 'actual' field


@pytest.mark.req("R1-DEV-038", "R1-BUS-042")
@pytest.mark.parametrize("values", [(1, 2), (7, 3, 9), (0xDEAD, 0, 0xBEEF, 5)])
def test_r1_requests_in_one_batch_are_handled_in_the_order_sent(dut, values):
    """Writes and reads of one config field, all queued before one doorbell: each
    read sees the write sent just before it, so the device took them in order."""
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=())
    # the batch writes with generation 0, as a baseline driver does, stale after the
    # first write: a baseline device applies them all the same (R1-DEV-012)
    for v in (0x77, 0x78):
        r = p.ask(th.wire.SetConfigReq(generation=0, offset=ACTUAL, data=struct.pack("<I", v)))
        th.require(r.length == 4, "R1-DEV-012", f"a generation-0 write answered length {r.length}")
    reads = {}
    for i, v in enumerate(values):
        token = 0x100 + i
        p.link.post(th.encode(dut, p.dev.dev_num, th.wire.SetConfigReq(
            generation=0, offset=ACTUAL, data=struct.pack("<I", v)), token=2 * token))
        p.link.post(th.encode(dut, p.dev.dev_num, th.wire.GetConfigReq(offset=ACTUAL, length=4), token=2 * token + 1))
        reads[2 * token + 1] = v
    p.link.ring()
    frames = p.drain()
    answers = [f for f in frames if f.is_response and f.msg_id == th.ID_GET_CONFIG]
    th.require(len(answers) == len(reads), "R1-DEV-039", f"{len(answers)} GET_CONFIG answers to {len(reads)}")
    got = {th.header(f.raw)[3]: f for f in answers}
    th.require(set(got) == set(reads), "R1-DEV-037",
               f"GET_CONFIG answers carry tokens {sorted(got)}, the requests {sorted(reads)}")
    seen = {t: struct.unpack("<I", bytes(got[t].body.data))[0] for t in reads}
    assert seen == reads, f"reads saw {seen}, each should see the write just before it: {reads}"

"""The used ring of the split virtqueue (split-ring.tex, "The Virtqueue Used Ring") on every
device kind, with several buffers made available at once: each chain comes back once, used
idx moves by the number of chains used, and each len counts no byte the device did not store
(rng: at most the buffer; balloon PFN lists are device-readable only, so 0)."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th
from vmsg_conform.suite.test_virtio_status import KINDS

COUNT = 4


def _chains(dut, rq, kind: str) -> dict[int, int]:
    """Adds COUNT chains; returns head -> its writable bytes."""
    out = {}
    for k in range(COUNT):
        if kind == "blk":
            r = th.blk_request(dut, rq, th.BLK_T_IN, k, in_len=512 * (k + 1))
            out[r.head] = 512 * (k + 1) + 1
        elif kind == "balloon":
            pfns = th.buffer(dut, 8)
            th.mem_write(dut, pfns, struct.pack("<II", 0x300 + 2 * k, 0x301 + 2 * k))
            out[rq.add(readable=[(pfns, 8)])] = 0
        else:
            size = 8 << k
            addr = th.buffer(dut, size)
            out[rq.add(writable=[(addr, size)])] = size
    return out


@pytest.mark.req("VIRTIO-RING-031")
@pytest.mark.parametrize("kind", list(KINDS))
def test_several_buffers_each_come_back_once_with_a_len_within_their_chain(dut, kind):
    p = th.peer(dut, KINDS[kind])
    rq = th.bring_up(p, room=3 * COUNT)[0]
    chains = _chains(dut, rq, kind)
    rq.publish()
    p.kick(0)
    idx = rq.used_idx()
    used = rq.reap()
    heads = [h for h, _ in used]
    th.require(sorted(set(heads)) == sorted(chains), "VMSG-DEV-033", f"chains {sorted(chains)} posted, {heads} used")
    assert idx == COUNT, f"{kind}: used idx {idx} after {COUNT} chains were used"
    assert len(heads) == len(set(heads)), f"{kind}: a chain came back twice: {heads}"
    for h, n in used:
        limit = chains[h]
        assert n <= limit, f"{kind}: chain {h} came back with len {n}, more than its {limit} writable bytes"


def _two_descriptor_chain(dut, rq, kind: str, k: int) -> int:
    """One chain of at least two descriptors (so the descriptor after its head is not a head)."""
    if kind == "blk":
        return th.blk_request(dut, rq, th.BLK_T_IN, k, in_len=512).head
    if kind == "balloon":
        a, b = th.pfn_list(dut, [0x380 + 2 * k]), th.pfn_list(dut, [0x381 + 2 * k])
        return rq.add(readable=[a, b])
    return rq.add(writable=[(th.buffer(dut, 8), 8), (th.buffer(dut, 8), 8)])


@pytest.mark.req("VIRTIO-RING-048")
@pytest.mark.parametrize("kind", list(KINDS))
def test_used_ids_name_the_heads_of_the_chains_made_available(dut, kind):
    # read straight from the used ring (not through reap, which refuses unknown ids): every id
    # is the head of one chain the driver made available, never a descriptor inside a chain
    p = th.peer(dut, KINDS[kind])
    rq = th.bring_up(p, room=4 * COUNT)[0]
    heads = [_two_descriptor_chain(dut, rq, kind, k) for k in range(COUNT)]
    rq.publish()
    p.kick(0)
    n = rq.used_idx()
    th.require(n == COUNT, "VMSG-DEV-033", f"{kind}: {COUNT} chains posted, used idx {n}")
    ids = [rq.used_elem(i)[0] for i in range(n)]
    assert sorted(ids) == sorted(heads), f"{kind}: used ids {ids}, chains made available with heads {heads}"

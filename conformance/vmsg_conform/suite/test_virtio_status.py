"""Virtio core rules on the device status, the feature bits, device reset and the
configuration space (content.tex, "Device Status Field", "Feature Bits", "Device Reset",
"Device Configuration Space"), checked on every device kind of the target: a rule of the core
binds rng, blk and balloon alike, and each kind has its own feature bits and config."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th

KINDS = {"rng": th.RNG_ID, "blk": th.BLK_ID, "balloon": th.BALLOON_ID}
ADF = th.ACK | th.DRIVER | th.FEATURES_OK

# Device-type feature bits the core chapters define (0-23 and 50-63 are device-type bits);
# blk's BARRIER (0) and SCSI (7) exist only for a legacy interface, which virtio-msg has not.
DEVICE_BITS = {th.RNG_ID: set(), th.BLK_ID: {1, 2, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16, 17},
               th.BALLOON_ID: {0, 1, 2, 3, 4, 5}}
# Transport bits (24-41) with a meaning for a virtio-msg device; SR_IOV (37) is ruled out
# (VIRTIO-CORE-049 has its own test), 24 and 27 are legacy-only, the rest reserved as 42-49 are.
TRANSPORT_BITS = {28, 29, 32, 33, 34, 35, 36, 38, 39, 40, 41}


def _peer(dut, kind: str):
    return th.peer(dut, KINDS[kind])


def _to_driver(p) -> None:
    p.info()
    for status in (0, th.ACK, th.ACK | th.DRIVER):
        th.require(p.set_status(status) == status, "VMSG-DEV-053", f"SET_DEVICE_STATUS({status:#x}) not kept")


def _try_features(p, value: int) -> bool:
    """From a reset: whether FEATURES_OK sticks for ``value`` (as answered and as read back)."""
    _to_driver(p)
    p.set_features(value)
    answered = p.set_status(ADF)
    return bool(answered & th.FEATURES_OK) and bool(p.status() & th.FEATURES_OK)


def _one_buffer(dut, rq, kind: str) -> int:
    """Adds (not publishes) one buffer the device of ``kind`` would use on queue 0."""
    if kind == "blk":
        return th.blk_request(dut, rq, th.BLK_T_IN, 0, in_len=512).head
    if kind == "balloon":  # inflate one page
        pfn = th.buffer(dut, 4)
        th.mem_write(dut, pfn, struct.pack("<I", 0x200))
        return rq.add(readable=[(pfn, 4)])
    return rq.add(writable=[(th.buffer(dut, 16), 16)])


@pytest.mark.req("VIRTIO-CORE-050")
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("which", ["device_type_bit", "reserved_bit"])
def test_features_ok_fails_for_bits_the_device_never_offered(dut, kind, which):
    # QEMU's device keeps FEATURES_OK here (qemu-observed.md §9): it masks unoffered bits
    p = _peer(dut, kind)
    offered = p.offered()
    pool = range(0, 24) if which == "device_type_bit" else range(42, 50)
    extra = next((b for b in pool if not offered & th.bit(b)), None)
    if extra is None:
        pytest.skip(f"every bit of {pool} is offered")
    accepted = _try_features(p, th.bit(th.F_VERSION_1) | th.bit(extra))
    assert not accepted, f"{kind}: FEATURES_OK kept with bit {extra}, which the device never offered"


@pytest.mark.req("VIRTIO-CORE-013")
@pytest.mark.parametrize("kind", list(KINDS))
def test_device_accepts_each_valid_subset_of_its_offer(dut, kind):
    # VERSION_1 alone, VERSION_1 with each other offered bit, and the whole offer
    p = _peer(dut, kind)
    offered = p.offered()
    v1 = th.bit(th.F_VERSION_1)
    th.require(offered & v1, "VIRTIO-CORE-043", f"{kind}: VERSION_1 not offered")
    subsets = [v1, offered] + [v1 | th.bit(b) for b in range(64) if offered & th.bit(b) and b != th.F_VERSION_1]
    refused = [f"{s:#x}" for s in subsets if not _try_features(p, s)]
    th.check(not refused, "VIRTIO-CORE-013", f"{kind}: FEATURES_OK refused for the offered subsets {refused}")


@pytest.mark.req("VIRTIO-CORE-015")
@pytest.mark.parametrize("kind", list(KINDS))
def test_feature_set_accepted_before_a_reset_is_accepted_after_it(dut, kind):
    p = _peer(dut, kind)
    offered = p.offered()
    th.require(_try_features(p, offered), "VIRTIO-CORE-013", f"{kind}: the whole offer {offered:#x} was refused")
    th.bring_up(p, wanted=offered)  # a live device, then reset by the next negotiation
    th.check(_try_features(p, offered), "VIRTIO-CORE-015",
             f"{kind}: the feature set {offered:#x} accepted before a reset was refused after it")


@pytest.mark.req("VIRTIO-CORE-014")
@pytest.mark.parametrize("kind", list(KINDS))
def test_device_offers_only_bits_defined_for_its_type_and_transport(dut, kind):
    p = _peer(dut, kind)
    offered = p.offered()
    allowed = DEVICE_BITS[KINDS[kind]] | TRANSPORT_BITS
    stray = [b for b in range(64) if offered & th.bit(b) and b not in allowed and b != 37]
    assert not stray, f"{kind}: offers bits {stray}, undefined or reserved for a {kind} device on this transport"


@pytest.mark.req("VIRTIO-CORE-006", "VIRTIO-CORE-007")
@pytest.mark.parametrize("kind", list(KINDS))
def test_device_broken_by_its_ring_sets_needs_reset_and_notifies(dut, kind):
    p = _peer(dut, kind)
    rq = th.bring_up(p, room=2)[0]
    head = _one_buffer(dut, rq, kind)  # the queue is live: a dead one could not be broken
    rq.publish()
    p.kick(0)
    th.require([h for h, _ in rq.reap()] == [head], "VMSG-DEV-033", f"{kind}: chain {head} posted, not used")
    p.take_events()
    th.break_ring(p, rq)  # an avail entry naming no descriptor: only a reset gets out of it
    status = p.status()
    th.check(status & th.NEEDS_RESET, "VIRTIO-CORE-006", f"{kind}: status {status:#x} after an impossible avail entry")
    events = p.take_events(th.ID_EVENT_CONFIG)
    th.check(events, "VIRTIO-CORE-007", f"{kind}: DEVICE_NEEDS_RESET set under DRIVER_OK without EVENT_CONFIG")


@pytest.mark.req("VIRTIO-CORE-017")
@pytest.mark.parametrize("kind", list(KINDS))
def test_reset_device_leaves_its_old_queues_alone(dut, kind):
    p = _peer(dut, kind)
    rq = th.bring_up(p, room=4)[0]
    th.require(p.set_status(0) == 0, "VIRTIO-CORE-016", f"{kind}: reset did not bring the status to 0")
    head = _one_buffer(dut, rq, kind)
    rq.publish()
    reply = p.kick(0)
    events = reply.events(th.ID_EVENT_USED) + p.take_events(th.ID_EVENT_USED)
    assert rq.used_idx() == 0, f"{kind}: after a reset the device used chain {head} of the old ring"
    assert not events, f"{kind}: after a reset the device sent {len(events)} EVENT_USED"


def _config(p, size: int) -> bytes:
    got = p.get_config(0, size)
    th.check(len(bytes(got.data)) == size, "VIRTIO-CORE-022", f"GET_CONFIG(0, {size}) returned {len(got.data)} bytes")
    return bytes(got.data)


@pytest.mark.req("VIRTIO-CORE-022")
@pytest.mark.parametrize("kind", list(KINDS))
def test_config_space_is_readable_before_features_ok(dut, kind):
    p = _peer(dut, kind)
    size = p.info().config_size
    if size == 0:
        pytest.skip(f"the {kind} device has no configuration space")
    _to_driver(p)  # ACK | DRIVER, no features yet
    early = _config(p, size)
    th.bring_up(p, wanted=p.offered())
    late = _config(p, size)
    assert early == late, f"{kind}: config read before FEATURES_OK {early.hex()} differs from after {late.hex()}"


# Features that need others offered beside them, as the chapters state it: blk CONFIG_WCE
# (11) needs FLUSH (9) (blk description.tex L322-323). The core and the rng and balloon
# chapters name no other pair.
REQUIRES = {th.BLK_ID: {11: {9}}}


@pytest.mark.req("VIRTIO-CORE-012")
@pytest.mark.parametrize("kind", list(KINDS))
def test_device_offers_no_feature_without_the_features_it_needs(dut, kind):
    p = _peer(dut, kind)
    offered = th.offered_v1(p)
    missing = {f: sorted(need - {b for b in need if offered & th.bit(b)})
               for f, need in REQUIRES.get(KINDS[kind], {}).items() if offered & th.bit(f)}
    missing = {f: m for f, m in missing.items() if m}
    assert not missing, f"{kind}: offers features without what they need (feature: missing) {missing}"

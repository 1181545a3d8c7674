"""The virtio core chapter's driver rules seen at message level (content.tex):
status bits, feature negotiation, configuration reads and writes, queue reset.

The validating reference checks them under both profiles (the core chapter
is the same for PR28 and REV1). As in test_driver_rules.py:
(a) the reference drivers break none of them over whole sequences;
(b) each hand-made bad sequence is flagged with exactly the rule it breaks,
plus the transport rule the same mistake cannot help breaking, where there is one.
"""
import pytest

from vmsg_conform.suite import transport_helpers as th

wire = th.wire
ADOK = th.ACK | th.DRIVER
ADF = ADOK | th.FEATURES_OK
V1 = th.bit(th.F_VERSION_1)
RING_RESET = V1 | th.bit(th.F_RING_RESET)
NUM_PAGES, ACTUAL = 0, 4  # balloon config fields (balloon description.tex L91-96)


# ---- (a) the reference drivers ------------------------------------------------------

@pytest.mark.req("VIRTIO-CORE-001", "VIRTIO-CORE-002", "VIRTIO-CORE-003", "VIRTIO-CORE-008",
                 "VIRTIO-CORE-009", "VIRTIO-CORE-018", "VIRTIO-CORE-019", "VIRTIO-CORE-020", "VIRTIO-CORE-029", "VIRTIO-CORE-030",
                 "VIRTIO-CORE-031", "VIRTIO-CORE-032", "VIRTIO-CORE-035", "VIRTIO-CORE-036")
def test_reference_drivers_initialise_by_the_core_rules(dut):
    rng, t = th.rng_driver(dut)
    assert len(bytes(rng.read(64))) == 64
    t.reset()
    th.driver_init(dut, th.device(dut, th.RNG_ID), rng.init)  # a second initialisation, after a reset
    blk, _ = th.blk_driver(dut)
    data = th.pattern(1024, 7)
    blk.write(2, data)
    assert bytes(blk.read(2, 1024)) == data
    th.expect_no_violations(dut)


@pytest.mark.req("VIRTIO-CORE-025", "VIRTIO-CORE-028")
def test_reference_driver_verifies_and_redoes_a_queue_reset(dut):
    dev = th.device(dut, th.RNG_ID)
    t = th.transport_of(dut, dev)
    if not th.driver_init(dut, dev, t.init, RING_RESET) & th.bit(th.F_RING_RESET):
        pytest.skip("RING_RESET not negotiated")
    t.setup_queue_fitted(0, 16, dut.ram)
    t.driver_ok()
    t.reset_queue(0)
    t.setup_queue_fitted(0, 8, dut.ram)
    th.expect_no_violations(dut)


@pytest.mark.req("VIRTIO-CORE-019", "VIRTIO-CORE-020", "VIRTIO-CORE-030")
def test_handmade_config_reads_across_a_change_break_no_core_rule(dut):
    p = th.peer(dut, th.BALLOON_ID)
    th.bring_up(p, queues=())
    first = p.get_config(NUM_PAGES, 4).generation
    th.config_change(dut, p.dev)
    moved = p.get_config(ACTUAL, 4).generation
    if moved != first:  # read the first field again at the new generation
        p.get_config(NUM_PAGES, 4)
        p.get_config(ACTUAL, 4)
    p.status()
    th.expect_no_violations(dut)


# ---- (a') the reference drivers against a device newer than they are ----------------
# The reference's extra-features / config-pad properties (th.device_variant; skipped on
# targets without them) make a device offer a bit its type does not define and have
# config bytes past the fields the drivers know.

UNKNOWN_BIT = 23  # a device-type bit (content.tex L98-106) that rng, blk and balloon leave undefined
CONFIG_PAD = 64   # zero bytes past the type's config fields
BALLOON_KNOWN = V1 | 0x3F  # what a balloon driver knows: bits 0-5 (balloon description.tex L20-46)


def _newer_devices(request, **props):
    """(device type, dut) for rng, blk and balloon, each built with ``props``."""
    for device_id in (th.RNG_ID, th.BLK_ID, th.BALLOON_ID):
        with th.device_variant(request, device_id, **props) as dut:
            yield device_id, dut


def _drive(dut, device_id: int):
    """Initialises the type's reference driver (balloon: the transport driver wanting
    only the bits a balloon driver knows) and does I/O; returns the transport driver."""
    if device_id == th.RNG_ID:
        rng, t = th.rng_driver(dut)
        assert len(bytes(rng.read(64))) == 64
    elif device_id == th.BLK_ID:
        blk, t = th.blk_driver(dut)
        data = th.pattern(1024, 11)
        blk.write(2, data)
        assert bytes(blk.read(2, 1024)) == data
    else:
        t = th.transport_of(dut, th.device(dut, th.BALLOON_ID))
        th.driver_init(dut, th.device(dut, th.BALLOON_ID), t.init, BALLOON_KNOWN)
        t.driver_ok()
        t.read_config32(NUM_PAGES)
    status = t.get_status()
    assert status & th.DRIVER_OK, f"device {device_id}: status {status:#x} without DRIVER_OK"
    assert not status & th.FAILED, f"device {device_id}: status {status:#x} has FAILED"
    return t


@pytest.mark.req("VIRTIO-CORE-011")
def test_reference_drivers_go_on_past_an_unknown_offered_feature(request):
    for device_id, dut in _newer_devices(request, **{"extra-features": hex(th.bit(UNKNOWN_BIT))}):
        t = _drive(dut, device_id)
        assert t.device_features() & th.bit(UNKNOWN_BIT), f"device {device_id}: the extra bit was not offered"
        assert not t.features() & th.bit(UNKNOWN_BIT), f"device {device_id}: the unknown bit was accepted"
        th.expect_no_violations(dut)


@pytest.mark.req("VIRTIO-CORE-021")
def test_reference_drivers_work_with_a_larger_config_space(request):
    known = {th.RNG_ID: 0, th.BLK_ID: 24, th.BALLOON_ID: 8}  # the fields the reference devices have
    for device_id, dut in _newer_devices(request, **{"config-pad": str(CONFIG_PAD)}):
        t = _drive(dut, device_id)
        size = t.info().config_size
        assert size == known[device_id] + CONFIG_PAD, f"device {device_id}: config_size {size}, padding not applied"
        th.expect_no_violations(dut)


# ---- (b) bad sequences, each flagged with exactly its rule ---------------------------

_to_driver = th.to_driver


def _pr28(dut, *ids):
    """Transport rules that say the same under PR28 only (REV1 has no counterpart)."""
    return () if th.is_rev1(dut) else ids


def bad_core_001(dut):
    # content.tex L58-62: features written before DRIVER records step 3.
    p = th.peer(dut, th.RNG_ID)
    p.info()
    p.set_status(0)
    p.set_status(th.ACK)
    th.offered_v1(p)
    p.set_features(V1)


def bad_core_002(dut):
    # content.tex L63-64: FEATURES_OK taken away without a reset.
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    p.set_status(ADOK)
    return _pr28(dut, "VMSG-DRV-034")  # PR28's transport rule says the same


def bad_core_003(dut):
    # content.tex L64-65: after FAILED, going on without a reset.
    p = th.peer(dut, th.RNG_ID)
    p.info()
    p.set_status(0)
    p.set_status(th.ACK)
    p.set_status(th.ACK | th.FAILED)
    p.set_status(ADOK | th.FAILED)


def bad_core_008(dut):
    # content.tex L139-141: a bit the device never offered.
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    p.set_features(V1 | th.bit(th.F_RING_PACKED))
    return th.ids_under_profile(dut, ["VMSG-DRV-054"])  # the transport's wording of the rule


def bad_core_009(dut):
    # content.tex L143-150: virtio-rng defines no feature bits of its own; bit 3 is none.
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    p.set_features(V1 | th.bit(3))
    return ("VIRTIO-CORE-008", *th.ids_under_profile(dut, ["VMSG-DRV-054"]))  # not offered either


def bad_core_018(dut):
    # content.tex L259-260: a reset answered before it completed, and the driver starts over.
    p = th.peer(dut, th.RNG_ID)
    th.negotiate(p)
    dut.stimulus.slow_reset(p.dev.dev_num, 2, fifo=p.dev.fifo)
    assert p.set_status(0) != 0, "the slow reset completed at once"
    p.info()
    return ("R1-DRV-059", "R1-DRV-061")  # REV1's transport says the same


def bad_core_019(dut):
    # content.tex L281-283: two fields read across a generation change, the first not read again.
    p = th.peer(dut, th.BALLOON_ID)
    p.info()
    first = p.get_config(NUM_PAGES, 4).generation
    th.config_change(dut, p.dev)
    moved = p.get_config(ACTUAL, 4).generation
    th.require(moved != first, "R1-DEV-010" if th.is_rev1(dut) else "VMSG-DEV-006",
               "a device-side change left the generation unchanged")
    p.status()
    return ("R1-DRV-008",)  # REV1 also wants the re-read (REV1 L399-402)


def bad_core_020(dut):
    # content.tex L294-296: blk's seg_max read before the offer was looked at.
    p = th.peer(dut, th.BLK_ID)
    p.info()
    p.get_config(12, 4)


def _queue_reset(dut):
    """rng live with RING_RESET, queue 0 reset: (peer, the queue's size)."""
    p = th.peer(dut, th.RNG_ID)
    p.info()
    if not p.offered() & th.bit(th.F_RING_RESET):
        pytest.skip("device does not offer RING_RESET")
    size = th.bring_up(p, wanted=RING_RESET)[0].size
    p.reset_vqueue(0)
    return p, size


def bad_core_025(dut):
    # content.tex L421-422: a reset queue set up again with no GET_VQUEUE showing the reset.
    p, size = _queue_reset(dut)
    th.RawQueue(dut, size).program(p, 0)


def bad_core_028(dut):
    # content.tex L439-441: a re-enabled queue used before a GET_VQUEUE confirmed it, as
    # first discovery does.
    p, size = _queue_reset(dut)
    p.get_vqueue(0)
    rq = th.RawQueue(dut, size)
    rq.program(p, 0)
    rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()
    p.kick(0)
    return th.ids_under_profile(dut, ["VMSG-DRV-018"])  # the transport's confirm-before-use rule


def bad_core_029(dut):
    # content.tex L518-545, step 1: the driver starts without resetting the device.
    p = th.peer(dut, th.RNG_ID)
    p.info()
    p.set_status(th.ACK)


def bad_core_030(dut):
    # content.tex L529-530: a config write during feature negotiation.
    p = th.peer(dut, th.BALLOON_ID)
    _to_driver(p)
    gen = p.get_config(ACTUAL, 4).generation
    p.set_config(0 if th.is_rev1(dut) else gen, ACTUAL, bytes(4))  # REV1 baseline: generation 0


def bad_core_031(dut):
    # content.tex L532-533: a feature added after FEATURES_OK.
    p = th.peer(dut, th.RNG_ID)
    p.info()
    if not p.offered() & th.bit(th.F_INDIRECT_DESC):
        pytest.skip("device does not offer INDIRECT_DESC")
    th.negotiate(p, V1)
    p.set_features(V1 | th.bit(th.F_INDIRECT_DESC))
    return th.ids_under_profile(dut, ["VMSG-DRV-024"])  # any write then breaks the transport's rule


def bad_core_032(dut):
    # content.tex L547-550: FEATURES_OK refused, and the driver goes on to the queues.
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    p.set_features(V1 | th.bit(th.F_RING_PACKED))  # not offered: the device must refuse the set
    got = p.set_status(ADF)
    th.require(not got & th.FEATURES_OK, "VIRTIO-CORE-050", f"FEATURES_OK kept for unoffered bits ({got:#x})")
    p.get_vqueue(0)
    return ("VIRTIO-CORE-008", *th.ids_under_profile(dut, ["VMSG-DRV-054"]))  # how the refusal was provoked


def bad_core_035(dut):
    # content.tex L631: a live queue replaced while the device holds a buffer of it.
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    rq.add(writable=[(th.buffer(dut, 8), 8)])
    rq.publish()  # exposed to the device; not announced, so it stays there
    th.RawQueue(dut, rq.size).program(p, 0)
    # The missing EVENT_AVAIL is a miss of its own (split-ring.tex, VIRTIO-RING-037; REV1 L1012-1013),
    # and REV1 keeps an enabled queue's rings (L1661-1662).
    return ("VIRTIO-RING-037", "R1-DRV-040", "R1-DRV-070")


def bad_core_036(dut):
    # content.tex L891: VERSION_1 offered and left out.
    p = th.peer(dut, th.RNG_ID)
    _to_driver(p)
    th.offered_v1(p)  # the rule binds only where VERSION_1 is seen offered
    p.set_features(0)
    p.set_status(ADF)


def _rule_of(name: str) -> str:
    """bad_core_001 -> VIRTIO-CORE-001."""
    return "VIRTIO-" + name[len("bad_"):].upper().replace("_", "-")


BAD = {_rule_of(name): fn for name, fn in dict(globals()).items() if name.startswith("bad_core_")}


@pytest.mark.parametrize("rule", [pytest.param(r, marks=pytest.mark.req(r), id=r) for r in sorted(BAD)])
def test_bad_core_driver_sequence_is_flagged_with_exactly_its_rule(dut, rule):
    th.violations_of(dut)  # skip early on targets without a validator
    also = BAD[rule](dut) or ()
    th.expect_flagged_exactly(dut, rule, also)

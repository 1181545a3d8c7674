"""REV1-2026 driver rules, kept by the reference drivers: each test runs the
reference driver stack through the situation a rule is about, with the
device's help where the rule needs a stimulus (a generation that moves, an
EVENT_CONFIG without data, a reset that completes late, a request that is
never answered, a frame the driver must drop), and the validating reference
must record nothing. test_driver_rules.py shows that each of these checks
flags a driver that breaks the rule (the bad_r1_drv_* sequences)."""
import struct

import pytest

from vmsg_conform.suite import transport_helpers as th

ACTUAL = 4  # the balloon's driver-writable 'actual' field


@pytest.fixture(autouse=True)
def _rev1_only(dut):
    """These rules exist only in REV1-2026 (N/A under PR28)."""
    if not th.is_rev1(dut):
        pytest.skip("REV1-2026 rule: not applicable under the PR28 profile")


def _clean(dut, allowed=()):
    """No violation recorded, besides the `allowed` rules a test breaks on purpose."""
    v = [x for x in th.violations_of(dut) if th.rule_ids([x])[0] not in allowed]
    assert v == [], f"violations recorded: {[str(x) for x in v]}"


@pytest.mark.req("R1-DRV-009", "R1-DRV-032", "R1-DRV-062", "R1-DRV-066", "R1-DRV-067", "R1-DRV-069",
                 "R1-DRV-070", "R1-DRV-071", "R1-DRV-073", "R1-DRV-074")
def test_r1_reference_driver_queue_and_config_sequences_break_no_rule(dut):
    # Baseline config writes (generation 0), never NOTIF_CONFIG_DATA, queues
    # queried before SET_VQUEUE, a queue reset before it is set up again.
    dev = th.device(dut, th.RNG_ID)
    t = th.transport_of(dut, dev)
    got = th.driver_init(dut, dev, t.init, th.bit(th.F_VERSION_1) | th.bit(th.F_RING_RESET) | th.bit(39))
    assert not got & th.bit(39), "the driver negotiated VIRTIO_F_NOTIF_CONFIG_DATA"
    t.setup_queue_fitted(0, 16, dut.ram)
    t.driver_ok()
    if got & th.bit(th.F_RING_RESET):
        t.reset_queue(0)
        t.setup_queue_fitted(0, 8, dut.ram)
    balloon = th.device(dut, th.BALLOON_ID)
    tb = th.transport_of(dut, balloon)
    th.driver_init(dut, balloon, tb.init, th.bit(th.F_VERSION_1) | th.SHOULD_ACCEPT[th.BALLOON_ID])
    tb.write_config(ACTUAL, struct.pack("<I", 7))
    assert bytes(tb.read_config(ACTUAL, 4)) == struct.pack("<I", 7)
    # `actual` serves as the writable field: 7 is not the balloon's size (VIRTIO-BALLOON-015), on purpose.
    _clean(dut, allowed={"VIRTIO-BALLOON-015"})


@pytest.mark.req("R1-DRV-040")
@pytest.mark.parametrize("event_idx", [True, False], ids=["event-idx", "no-event-idx"])
def test_r1_reference_drivers_announce_every_buffer_they_publish(dut, event_idx):
    rng, _ = th.rng_driver(dut, event_idx=event_idx)
    assert len(bytes(rng.read(2000))) == 2000
    blk, _ = th.blk_driver(dut)
    data = th.pattern(4096, 5)
    blk.write(4, data)
    assert bytes(blk.read(4, 4096)) == data
    _clean(dut)


@pytest.mark.req("R1-DRV-008")
def test_r1_reference_driver_reads_again_until_the_generation_holds_still(dut):
    dev = th.device(dut, th.BALLOON_ID)
    t = th.transport_of(dut, dev)
    th.driver_init(dut, dev, t.init, th.bit(th.F_VERSION_1) | th.SHOULD_ACCEPT[th.BALLOON_ID])
    t.read_config(0, 8)
    before = t.stats().config_read_restarts
    generation = t.generation()
    th.config_change(dut, dev)  # a new generation, announced with the data
    t.read_config(0, 8)  # answered at the new generation: read once more
    th.require(t.generation() != generation, "R1-DEV-010", "a device-side change kept the generation")
    assert t.stats().config_read_restarts == before + 1, "no second read after the generation moved"
    t.get_status()
    _clean(dut)


@pytest.mark.req("R1-DRV-010", "R1-DRV-042")
def test_r1_reference_driver_refreshes_config_after_an_event_without_data(dut):
    blk, t, data = th.blk_after_config_event(dut, "R1-DEV-015", 3)
    requests = t.stats().requests
    assert bytes(blk.read(0, 512)) == data  # the kick waits for a GET_CONFIG refresh
    assert t.stats().requests > requests, "no request went out before the I/O"
    assert not t.config_stale(), "the driver did not refresh its configuration view"
    _clean(dut)


@pytest.mark.req("R1-DRV-059", "R1-DRV-061")
def test_r1_reference_driver_polls_a_reset_that_completes_late(dut):
    rng, t = th.rng_driver(dut)
    dev = th.device(dut, th.RNG_ID)
    dut.stimulus.slow_reset(dev.dev_num, 3, fifo=dev.fifo)
    t.reset()  # answered non-zero; two more status reads before 0
    assert t.status() == 0
    rng.init()
    assert len(bytes(rng.read(16))) == 16
    _clean(dut)


@pytest.mark.req("R1-DRV-014")
def test_r1_reference_driver_drops_malformed_and_unsupported_frames_silently(dut):
    rng, t = th.rng_driver(dut)
    dev = th.device(dut, th.RNG_ID)
    n = dev.dev_num
    frames = [
        struct.pack("<BBHHH", 0x00, 0x3E, n, 0, 8),                # transport message of no known ID
        struct.pack("<BBHHH", 0x00, th.ID_EVENT_CONFIG, n, 0, 9),  # EVENT_CONFIG cut short (msg_size)
        struct.pack("<BBHHH", 0x00, th.ID_GET_DEVICE_STATUS, n, 0, 8),  # a request from the device side
        struct.pack("<BBHHHI", 0x01, th.ID_GET_DEVICE_STATUS, n, 0, 12, 0),  # a response nobody asked for
    ]
    for f in frames:
        dut.stimulus.send_frame(f, fifo=dev.fifo)
    t.poll()
    assert len(bytes(rng.read(64))) == 64  # still in business
    _clean(dut)


def _attempts(dut, fifo):
    """Sends of one request by the driver's link: the first and its retries."""
    link = dut.link(fifo)
    config = getattr(link, "config", None)
    return 1 + (config().retries if callable(config) else 0)


@pytest.mark.req("R1-DRV-016")
def test_r1_reference_driver_resets_when_a_request_is_never_answered(dut):
    drv = th.driver_module()
    rng, t = th.rng_driver(dut)
    dev = th.device(dut, th.RNG_ID)
    dut.stimulus.drop_requests(dev.dev_num, _attempts(dut, dev.fifo), fifo=dev.fifo)
    with pytest.raises(drv.VirtioFailure):
        t.get_shm(0)  # every attempt lost: the request failed
    assert t.phase() == drv.Phase.Reset, "the driver did not start over"
    assert t.get_status() == 0, "the device was not reset"
    rng.init()
    assert len(bytes(rng.read(16))) == 16
    _clean(dut)

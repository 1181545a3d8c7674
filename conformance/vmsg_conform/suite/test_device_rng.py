"""virtio-rng end to end with the reference RngDriver (and raw rings):
entropy arrives, is not replayed, and the driver breaks no rule."""
import pytest

from vmsg_conform.suite import transport_helpers as th



@pytest.mark.req("VMSG-DEV-033", "VMSG-DEV-037", "VMSG-DEV-043")
@pytest.mark.parametrize("n", [1, 16, 4096, 20000])
def test_rng_driver_reads_the_requested_number_of_bytes(dut, n):
    rng, _ = th.rng_driver(dut)
    data = bytes(rng.read(n))
    assert len(data) == n
    if n >= 16:
        assert len(set(data)) > 1, "entropy bytes are all equal"


@pytest.mark.req("VIRTIO-RNG-003")
@pytest.mark.parametrize("size", [1, 64, 4096])
def test_rng_used_len_is_at_least_one_and_at_most_the_buffer(dut, size):
    p = th.peer(dut, th.RNG_ID)
    rq = th.bring_up(p)[0]
    head = rq.add(writable=[(th.buffer(dut, size), size)])
    rq.publish()
    p.kick(0)
    used = rq.reap()
    th.require([h for h, _ in used] == [head], "VMSG-DEV-033", f"buffer {head} posted, {used} used")
    assert 1 <= used[0][1] <= size, f"used len {used[0][1]} for a {size}-byte buffer"


@pytest.mark.req("VMSG-DEV-033")
def test_rng_consecutive_reads_differ(dut):
    rng, _ = th.rng_driver(dut)
    assert bytes(rng.read(64)) != bytes(rng.read(64))


@pytest.mark.req("VMSG-DEV-041", "VMSG-DEV-013", "R1-DEV-067")
def test_rng_reinitialised_device_does_not_replay_entropy(dut):
    rng, t = th.rng_driver(dut)
    first = bytes(rng.read(256))
    t.reset()
    rng.init()
    assert bytes(rng.read(256)) != first


@pytest.mark.req("VMSG-DEV-062", "VMSG-DEV-033")
def test_rng_with_interrupts_suppressed_still_completes_by_polling(dut):
    rng, _ = th.rng_driver(dut, no_interrupt=True, event_idx=False)
    assert len(bytes(rng.read(512))) == 512


@pytest.mark.req("VMSG-DEV-033")
@pytest.mark.parametrize("event_idx", [False, True])
def test_rng_works_with_and_without_event_idx(dut, event_idx):
    rng, t = th.rng_driver(dut, event_idx=event_idx)
    assert len(bytes(rng.read(1000))) == 1000
    assert bool(t.features() & th.bit(th.F_EVENT_IDX)) == (event_idx and bool(t.device_features() & th.bit(th.F_EVENT_IDX)))

"""A Hypothesis state machine for one FIFO: the suite produces and consumes
random batches through the port while a model checks order, no loss, no
duplication and full/empty behaviour (AMP-009..AMP-013, VMSG-BUS-027/028)."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from . import helpers as h


def pytest_generate_tests(metafunc):
    h.parametrize_topology(metafunc)


class RingMachine(RuleBasedStateMachine):
    """Model: the PING data values sent and not yet echoed, in order."""

    open_dut = None  # set per test
    fifo = 0

    def __init__(self):
        super().__init__()
        self.dut = type(self).open_dut()
        self.raw = h.RawFifo(self.dut, type(self).fifo)
        self.outstanding: deque[int] = deque()
        self.next_data = 0x10000
        self.received = 0

    def check(self, slot: bytes) -> None:
        hd = h.header(slot)
        assert (hd.type, hd.msg_id, hd.msg_size) == (h.T_BUS_RESPONSE, h.BUS_PING, 12), h.describe(slot)
        h.assert_zero_padding(slot)
        assert self.outstanding, f"echo 0x{h.u32(slot, 8):x} with nothing outstanding (duplicate)"
        want = self.outstanding.popleft()
        got = h.u32(slot, 8)
        assert got == want, f"echo 0x{got:x}, expected 0x{want:x} (loss, duplication or reordering)"
        self.received += 1

    @rule(n=st.integers(min_value=1, max_value=61))
    def post(self, n):
        in_driver_queue = (self.raw.head - self.raw.device_tail()) % h.SLOT_COUNT
        for i in range(n):
            ok = self.raw.post(h.ping(self.next_data))
            if not ok:
                # Full only when 61 are really waiting in the driver queue (AMP-011).
                waiting = (self.raw.head - self.raw.device_tail()) % h.SLOT_COUNT
                assert waiting == h.USABLE_SLOTS, f"post refused with {waiting} in the driver queue"
                break
            self.outstanding.append(self.next_data)
            self.next_data += 1
        assert in_driver_queue <= h.USABLE_SLOTS

    @rule()
    def ring(self):
        self.raw.ring()

    @rule()
    def flood(self):
        """Fills the driver queue and rings, twice, without consuming: the
        device queue cannot hold every response, so some must wait."""
        for _ in range(2):
            while self.raw.post(h.ping(self.next_data)):
                self.outstanding.append(self.next_data)
                self.next_data += 1
            self.raw.ring()

    @rule(k=st.integers(min_value=1, max_value=61))
    def consume(self, k):
        for _ in range(k):
            s = self.raw.poll()
            if s is None:
                break
            self.check(s)

    @rule(ns=st.sampled_from([1_000, 100_000, 1_000_000]))
    def let_time_pass(self, ns):
        self.dut.port.advance_time(ns)

    @invariant()
    def indices_stay_in_range(self):
        assert self.raw.device_tail() < h.SLOT_COUNT
        assert self.raw.device_head() < h.SLOT_COUNT
        assert self.raw.waiting() <= h.USABLE_SLOTS

    def teardown(self):
        try:
            for _ in range(40):
                if not self.outstanding:
                    break
                self.raw.ring()
                self.dut.port.advance_time(100_000)
                for s in self.raw.drain():
                    self.check(s)
            h.check(not self.outstanding, "VMSG-BUS-028", f"{len(self.outstanding)} PINGs never answered (lost)")
            assert self.raw.collect() == [], "frames after every PING was answered"
        finally:
            close = getattr(self.dut, "close", None)
            if close is not None:
                close()


@pytest.mark.req("AMP-009", "AMP-011", "AMP-013", "VMSG-BUS-027", "VMSG-BUS-028")
def test_random_batches_through_the_ring_keep_order_without_loss(request, fifo):
    opener = h.dut_opener(request)

    class Machine(RingMachine):
        pass

    Machine.open_dut = staticmethod(opener)
    Machine.fifo = fifo
    run_state_machine_as_test(Machine, settings=h.stateful_settings(
        request.getfixturevalue("vmsg_target"), max_examples=6, stateful_step_count=25))

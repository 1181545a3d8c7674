"""Random sequences of transport requests against a model of the status
machine (virtio-msg.md §8, project readings G4-G10): every request gets
exactly one response, SET_DEVICE_STATUS answers the resulting status, which
GET_DEVICE_STATUS then repeats, and queue state follows SET_VQUEUE,
RESET_VQUEUE and resets."""
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from vmsg_conform.suite import helpers as h
from vmsg_conform.suite import transport_helpers as th

ADOK = th.ACK | th.DRIVER
STATUS_WRITES = [0, th.ACK, ADOK, ADOK | th.FEATURES_OK, ADOK | th.FEATURES_OK | th.DRIVER_OK,
                 ADOK | th.FAILED, th.ACK | th.FAILED, 0x100 | th.ACK, 0xFFFF_FF00]
SIZES = [1, 8, 16, 64, 3, 0, 100000]


class TransportModel(RuleBasedStateMachine):
    """Model of one rng device: status, the acknowledged features, queue sizes."""

    open_dut = None  # set by the test: () -> Dut

    @initialize()
    def start(self):
        self.dut = type(self).open_dut()
        self.p = th.peer(self.dut, th.RNG_ID)
        self.info = self.p.info()
        self.offered = th.offered_v1(self.p)  # the model needs the real offer (VIRTIO-CORE-043)
        self.max = {q: self.p.get_vqueue(q).max_size for q in range(self.info.max_virtqueues)}
        self.status = 0
        self.driver_features = 0
        self.accepted = False
        self.queues = {}

    def teardown(self):
        d = getattr(self, "dut", None)
        if d is not None:
            d.close()

    def _reset_model(self):
        self.status = 0
        self.driver_features = 0
        self.accepted = False
        self.queues = {}

    @rule(value=st.sampled_from(STATUS_WRITES))
    def set_status(self, value):
        got = self.p.set_status(value)
        s = value & 0xFF
        unoffered = 0
        if s == 0:
            self._reset_model()
        else:
            if s & th.FEATURES_OK and not self.accepted:
                unoffered = self.driver_features & ~self.offered
                ok = not unoffered and self.driver_features & th.bit(th.F_VERSION_1)
                if ok:
                    self.accepted = True
                else:
                    s &= ~th.FEATURES_OK
            self.status = s
        if unoffered and got == self.status | th.FEATURES_OK:
            th.check(False, "VMSG-DEV-049", f"FEATURES_OK accepted with unoffered feature bits {unoffered:#x}")
        th.check(got == self.status, "VMSG-DEV-053", f"SET_DEVICE_STATUS({value:#x}) -> {got:#x}, model {self.status:#x}")

    @rule(choice=st.sampled_from(["version1", "offered", "packed", "none", "event_idx"]))
    def set_features(self, choice):
        value = {"version1": th.bit(th.F_VERSION_1), "offered": self.offered,
                 "packed": th.bit(th.F_VERSION_1) | th.bit(th.F_RING_PACKED), "none": 0,
                 "event_idx": th.bit(th.F_VERSION_1) | (self.offered & th.bit(th.F_EVENT_IDX))}[choice]
        self.p.set_features(value)
        if not self.accepted:  # G5: frozen once FEATURES_OK was accepted
            self.driver_features = value

    @rule(q=st.integers(0, 1), size=st.sampled_from(SIZES))
    def set_vqueue(self, q, size):
        rq = th.RawQueue(self.dut, 16)
        self.p.set_vqueue(q, size, rq.desc, rq.avail, rq.used)
        if th.is_rev1(self.dut) and q in self.queues:
            return  # REV1: an enabled queue is neither updated nor disabled (REV1 L1677-1700)
        mx = self.max.get(q, 0)
        if 0 < size <= mx and size & (size - 1) == 0:
            self.queues[q] = (size, rq.desc)

    @rule(q=st.integers(0, 1))
    def reset_vqueue(self, q):
        self.p.reset_vqueue(q)
        if th.is_rev1(self.dut) and not (self.accepted and self.driver_features & th.bit(th.F_RING_RESET)):
            return  # REV1: without RING_RESET negotiated the request does nothing (REV1 L1719-1745)
        self.queues.pop(q, None)

    @rule(q=st.integers(0, 1))
    def get_vqueue(self, q):
        r = self.p.get_vqueue(q)
        th.check(r.index == q and r.max_size == self.max.get(q, 0), "VMSG-DEV-054",
                 f"GET_VQUEUE({q}) -> index {r.index}, max_size {r.max_size}")
        want = self.queues.get(q)
        if want is None:
            th.check(r.cur_size == 0, "VMSG-DEV-055", f"queue {q} is not configured, cur_size {r.cur_size}")
        else:
            th.check((r.cur_size, r.desc_addr) == want, "VMSG-DEV-056",
                     f"queue {q}: GET_VQUEUE shows {(r.cur_size, r.desc_addr)}, programmed {want}")

    @rule(q=st.integers(0, 2))
    def event_avail(self, q):
        reply = self.p.kick(q)
        assert reply.responses() == [], "EVENT_AVAIL was answered"

    @rule()
    def get_info(self):
        th.check(self.p.info() == self.info, "VMSG-DEV-044", "GET_DEVICE_INFO changed")

    @invariant()
    def status_reads_back(self):
        if hasattr(self, "p"):
            got = self.p.status()
            th.check(got == self.status, "VMSG-DEV-031", f"GET_DEVICE_STATUS -> {got:#x}, model {self.status:#x}")


@pytest.mark.req("VMSG-BUS-028", "READ-G05", "VMSG-DEV-049", "VMSG-DEV-030", "VMSG-DEV-031", "VMSG-DEV-041", "VMSG-DEV-044",
                 "VMSG-DEV-052", "VMSG-DEV-053", "VMSG-DEV-054", "VMSG-DEV-055", "VMSG-DEV-056",
                 "VMSG-DEV-058", "VMSG-DEV-024", "R1-DEV-078", "R1-DEV-067", "R1-DEV-042")
def test_transport_status_machine_follows_the_model(dut, vmsg_target, request):
    th.device(dut, th.RNG_ID)
    faults = []
    for f in request.config.getoption("vmsg_fault", default=None) or []:
        faults.extend(x for x in f.split(",") if x)
    profile = request.config.getoption("vmsg_profile", default="pr28")

    class Machine(TransportModel):
        pass

    Machine.open_dut = staticmethod(lambda: vmsg_target.open(faults=tuple(faults), profile=profile))
    Machine.TestCase.settings = h.stateful_settings(vmsg_target, max_examples=20, stateful_step_count=20,
                                                    suppress_health_check=list(HealthCheck))
    Machine.TestCase().runTest()

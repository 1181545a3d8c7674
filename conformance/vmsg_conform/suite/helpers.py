"""Shared exchanges for the conformance tests (the suite plays the driver).

Everything here goes through the port only (config space, MMIO, time), so the
same helpers drive the embedded reference, QEMU over qtest and vendor
libraries. Frames are built and parsed here in plain Python, independently of
the reference codec, so a codec bug cannot hide a device bug.

Two ways to talk to a FIFO exist in a test: the driver stack (`dut.link`,
`dut.bus`, `dut.transport`) and `RawFifo` below. They keep private ring
indices, so a test must not interleave them on one FIFO: create the RawFifo
after any use of the driver stack on that FIFO and do not go back.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from ..verdicts import check, require  # noqa: F401 - re-exported for the tests
from .frames import *  # noqa: F401,F403 - re-exported: tests use helpers.<name>
from .pci_access import *  # noqa: F401,F403


# ---- AMP layout (AMP-007..009, AMP-014) ----------------------------------------

WINDOW_SIZE = 0x4000
DRIVER_QUEUE = 0x1000
DEVICE_QUEUE = 0x2000
HEAD = 0x00
TAIL = 0x40
SLOTS = 0x80
SLOT_SIZE = 64
SLOT_COUNT = 62
USABLE_SLOTS = SLOT_COUNT - 1
BUS_MAX = 64

NOTIFY_BASE = 0x20

# Virtual time between polls while waiting for frames: responses to requests
# are synchronous on every known target, so a few steps are plenty.
SETTLE_STEP_NS = 100_000
SETTLE_STEPS = 4

# ---- the raw FIFO ------------------------------------------------------------------------------


class RawFifo:
    """The driver's end of one FIFO written from scratch over the port.

    Addresses come from config space (BARs) and the MSI-X table the driver
    stack programmed, so nothing is taken from the reference's internals. The
    own indices (driver-queue head, device-queue tail) are private and
    re-read only by sync(); peer indices are read fresh and reduced mod 62.
    """

    def __init__(self, dut, fifo: int = 0):
        self.dut = dut
        self.port = dut.port
        self.fifo = fifo
        dut.amp  # bring-up: BARs, MEM|BME, MSI-X vector per FIFO
        self.bar0 = bar_base(dut, 0)
        self.bar1 = bar_base(dut, 1)
        self.window = self.bar1 + fifo * WINDOW_SIZE
        self.drvq = self.window + DRIVER_QUEUE
        self.devq = self.window + DEVICE_QUEUE
        self.notify_addr = self.bar0 + NOTIFY_BASE + 4 * fifo
        m = msix_layout(dut)
        e = m.entry(fifo)
        self.msi_addr = int(self.port.mmio_read(e, 4)) | int(self.port.mmio_read(e + 4, 4)) << 32
        self.msi_data = int(self.port.mmio_read(e + 8, 4))
        self.head = 0
        self.tail = 0
        self.sync()

    # indices
    def rd(self, addr: int) -> int:
        return int(self.port.mmio_read(addr, 4))

    def wr(self, addr: int, value: int) -> None:
        self.port.mmio_write(addr, 4, value & 0xFFFFFFFF)

    def sync(self) -> None:
        self.head = self.rd(self.drvq + HEAD) % SLOT_COUNT
        self.tail = self.rd(self.devq + TAIL) % SLOT_COUNT

    def device_tail(self) -> int:
        """The device's consumer index of the driver queue, raw."""
        return self.rd(self.drvq + TAIL)

    def device_head(self) -> int:
        """The device's producer index of the device queue, raw."""
        return self.rd(self.devq + HEAD)

    def free(self) -> int:
        return (self.device_tail() % SLOT_COUNT - self.head - 1) % SLOT_COUNT

    def waiting(self) -> int:
        return (self.device_head() % SLOT_COUNT - self.tail) % SLOT_COUNT

    # slots
    def driver_slot_addr(self, i: int) -> int:
        return self.drvq + SLOTS + SLOT_SIZE * i

    def device_slot_addr(self, i: int) -> int:
        return self.devq + SLOTS + SLOT_SIZE * i

    def write_driver_slot(self, i: int, data: bytes) -> None:
        assert len(data) <= SLOT_SIZE
        write_bytes(self.port, self.driver_slot_addr(i), data + bytes(SLOT_SIZE - len(data)))

    def read_device_slot(self, i: int) -> bytes:
        return read_bytes(self.port, self.device_slot_addr(i), SLOT_SIZE)

    # producer
    def post(self, f: bytes) -> bool:
        """Queues one frame (zero-padded to 64 bytes); False when the queue is full."""
        if self.free() == 0:
            return False
        self.write_driver_slot(self.head, f)
        self.head = (self.head + 1) % SLOT_COUNT
        self.wr(self.drvq + HEAD, self.head)
        return True

    def post_all(self, frames: Iterable[bytes]) -> None:
        for f in frames:
            assert self.post(f), "driver queue unexpectedly full"

    def ring(self) -> None:
        """An aligned 32-bit write of 1 to this FIFO's NOTIFY (AMP-005)."""
        self.wr(self.notify_addr, 1)

    # consumer
    def poll(self) -> bytes | None:
        if self.device_head() % SLOT_COUNT == self.tail:
            return None
        slot = self.read_device_slot(self.tail)
        self.tail = (self.tail + 1) % SLOT_COUNT
        self.wr(self.devq + TAIL, self.tail)
        return slot

    def drain(self, limit: int = 10_000) -> list[bytes]:
        out: list[bytes] = []
        while len(out) < limit:
            s = self.poll()
            if s is None:
                break
            out.append(s)
        return out

    def collect(self, steps: int = SETTLE_STEPS, step_ns: int = SETTLE_STEP_NS) -> list[bytes]:
        """Drains, then lets time pass `steps` times, draining after each."""
        out = self.drain()
        for _ in range(steps):
            self.port.advance_time(step_ns)
            out += self.drain()
        return out

    # interrupts
    def msi_word(self) -> int:
        return int(self.port.mmio_read(self.msi_addr, 4))

    def msi_fired(self) -> bool:
        return self.msi_word() == self.msi_data

    def clear_msi(self) -> None:
        self.port.mmio_write(self.msi_addr, 4, 0)

    def take_msi(self) -> bool:
        fired = self.msi_fired()
        if fired:
            self.clear_msi()
        return fired


# ---- exchanges -------------------------------------------------------------------------------


def exchange(raw: RawFifo, frames: Sequence[bytes] | bytes, steps: int = SETTLE_STEPS) -> list[bytes]:
    """Posts the frame(s), rings once, and returns every slot that came back."""
    if isinstance(frames, (bytes, bytearray)):
        frames = [bytes(frames)]
    raw.post_all(frames)
    raw.ring()
    return raw.collect(steps)


def request(raw: RawFifo, f: bytes) -> bytes:
    """Exactly one frame must come back (VMSG-BUS-028); returns its slot."""
    got = exchange(raw, f)
    require(len(got) == 1, "VMSG-BUS-028",
            f"expected exactly one response, got {len(got)}: {[describe(s) for s in got]}")
    return got[0]


def assert_alive(raw: RawFifo, data: int = 0x5EA1_1FE0) -> None:
    """Liveness: a PING still gets exactly its echo back (VMSG-BUS-047)."""
    got = exchange(raw, ping(data))
    pings = [s for s in got if header(s).msg_id == BUS_PING and header(s).is_bus]
    assert len(pings) == 1, f"liveness PING: {len(pings)} echoes among {[describe(s) for s in got]}"
    assert u32(pings[0], 8) == data, f"liveness PING echoed {describe(pings[0])}"


def expect_no_response(raw: RawFifo, f: bytes, alive: bool = True, req: str | None = None) -> None:
    """The frame is consumed and nothing comes back (VMSG-BUS-017); then
    liveness. ``req`` names the rule the silence checks when it is not the
    calling test's primary requirement."""
    got = exchange(raw, f)
    message = f"expected no response to {f.hex()}, got {[describe(s) for s in got]}"
    if req is None:
        assert got == [], message
    else:
        check(got == [], req, message)
    assert raw.device_tail() % SLOT_COUNT == raw.head, "the device did not consume the frame"
    if alive:
        assert_alive(raw)


# ---- topology (from the target description, never hard-coded) ------------------------------


def devices_on(dut, fifo: int) -> list:
    return [d for d in dut.description.devices if d.fifo == fifo]


def device_numbers(dut, fifo: int) -> set[int]:
    return {d.dev_num for d in devices_on(dut, fifo)}


def empty_dev_nums(dut, fifo: int) -> list[int]:
    used = device_numbers(dut, fifo)
    return [n for n in range(MAX_DEVICES) if n not in used]


def first_device(dut):
    devs = list(dut.description.devices)
    if not devs:
        import pytest
        pytest.skip("target describes no devices")
    return devs[0]


def collection_description(config):
    """The target description at collection time, for parametrising over
    FIFOs and devices; None when the target cannot be resolved."""
    try:
        from vmsg_conform.fixtures import session_target
        return session_target(config).description
    except Exception:  # noqa: BLE001 - collection must not fail on a broken target spec
        return None


def parametrize_topology(metafunc) -> None:
    """Module-level pytest_generate_tests: fills `fifo` (every FIFO),
    `device` (every described device) and `empty_slot` ((fifo, dev_num) of
    unoccupied numbers: the lowest, one in the middle, 31) from the target
    description."""
    names = metafunc.fixturenames
    if not {"fifo", "device", "empty_slot"} & set(names):
        return
    desc = collection_description(metafunc.config)
    num_fifos = getattr(desc, "num_fifos", 2) if desc is not None else 2
    devices = list(getattr(desc, "devices", [])) if desc is not None else []
    if "fifo" in names:
        metafunc.parametrize("fifo", list(range(num_fifos)), ids=[f"fifo{q}" for q in range(num_fifos)])
    if "device" in names:
        metafunc.parametrize("device", devices, ids=[f"fifo{d.fifo}-dev{d.dev_num}-{d.kind}" for d in devices])
    if "empty_slot" in names:
        slots = []
        for q in range(num_fifos):
            used = {d.dev_num for d in devices if d.fifo == q}
            free = [n for n in range(MAX_DEVICES) if n not in used]
            picks = sorted({free[0], free[len(free) // 2], free[-1]}) if free else []
            slots += [(q, n) for n in picks]
        metafunc.parametrize("empty_slot", slots, ids=[f"fifo{q}-dev{n}" for q, n in slots])


# ---- fresh targets inside one test (Hypothesis state machines) ------------------------------


def stateful_settings(target, **kw):
    """Hypothesis settings for a state machine that opens a Dut per example.

    On a target that starts a process per open, a failure is reported as
    generated, without shrinking: shrinking replays the machine hundreds of
    times and would cost minutes. The failing steps are printed all the same,
    and the run's seed (see the summary) reproduces them.
    """
    from hypothesis import Phase, settings

    kw.setdefault("deadline", None)
    if getattr(target, "opens_a_process", False):
        kw.setdefault("phases", (Phase.explicit, Phase.reuse, Phase.generate))
    return settings(**kw)


def dut_opener(request):
    """A function that opens a fresh Dut the way the `dut` fixture does
    (same target, faults and profile), for tests that need one per example.
    The caller closes what it opens."""
    import pytest

    target = request.getfixturevalue("vmsg_target")
    reason = target.available()
    if reason is not None:
        pytest.skip(reason)
    faults: list[str] = []
    for value in request.config.getoption("vmsg_fault", default=None) or []:
        faults += [p.strip() for p in value.split(",") if p.strip()]
    profile = request.config.getoption("vmsg_profile", default=None) or "pr28"

    def open_dut():
        return target.open(faults=tuple(faults), profile=profile)

    return open_dut


def open_ref_variant(request, **changes):
    """A fresh embedded reference built from the current target's description
    with `changes` applied (dataclasses.replace), opened with the run's faults
    and profile, through the target's own ``with_description``. Skips on
    targets that cannot be rebuilt with another topology. The caller closes it."""
    import dataclasses

    import pytest

    target = request.getfixturevalue("vmsg_target")
    rebuild = getattr(target, "with_description", None)
    variant = rebuild(dataclasses.replace(target.description, **changes)) if rebuild is not None else None
    if variant is None:
        pytest.skip("needs a topology variant: this target cannot be rebuilt from a description")
    reason = variant.available()
    if reason is not None:
        pytest.skip(reason)
    faults: list[str] = []
    for value in request.config.getoption("vmsg_fault", default=None) or []:
        faults += [p.strip() for p in value.split(",") if p.strip()]
    return variant.open(faults=tuple(faults), profile=request.config.getoption("vmsg_profile", default=None) or "pr28")

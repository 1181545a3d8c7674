"""Differential runs: the same scripted operation sequences on two targets,
compared port operation by port operation.

Each sequence (bring-up, PING, GET_DEVICES, one per transport message, a
virtqueue round trip) runs on a fresh Dut of each target through the driver
stack, with a transcript recorder on the port. The device's steps of the two
transcripts (transcript.DeviceScope: its config space, its BARs, guest RAM)
are then walked together; the first step where the operation or the answer
differs is the divergence, reported with what it is (config register, BAR0
register, FIFO ring or response bytes, MSI write, guest memory), the request
in flight, and the steps that led there. Targets whose devices behave the
same produce identical device steps, since every driver decision is a
function of earlier answers. Steps of the platform (q35's own functions,
empty slots, addresses the device does not decode) are compared apart and
only counted: a machine without q35's host bridge differs there, and that
says nothing about the device.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from . import transcript as tr

CONTEXT_STEPS = 12


def _v():
    from . import _vmsg  # noqa: PLC0415
    return _vmsg


# ---- the sequences ----------------------------------------------------------------------------


def _request(dut, body, dev_num: int = 0, fifo: int = 0):
    v = _v()
    return dut.link(fifo).request(v.wire.Message(dev_num=dev_num, token=0, body=body))


def _device(dut, kind: str | None = None):
    devs = [d for d in dut.description.devices if kind is None or d.kind == kind]
    devs = devs or list(dut.description.devices)
    if not devs:
        raise RuntimeError("the target description lists no device")
    return devs[0]


def seq_bringup(dut) -> None:
    """PCI probe, BAR sizing and assignment, MSI-X, then the BAR0 registers."""
    amp = dut.amp
    for off in range(0, 0x40, 4):
        dut.port.config_read(dut.pci_address, off, 4)
    for off in (0x00, 0x04, 0x08, 0x1C, 0x20):
        dut.port.mmio_read(amp.bar0() + off, 4)


def seq_ping(dut) -> None:
    v = _v()
    for fifo in range(dut.description.num_fifos):
        _request(dut, v.wire.PingReq(data=0xDEADBEEF), fifo=fifo)


def seq_get_devices(dut) -> None:
    v = _v()
    for fifo in range(dut.description.num_fifos):
        _request(dut, v.wire.GetDevicesReq(offset=0, count=32), fifo=fifo)
        _request(dut, v.wire.GetDevicesReq(offset=8, count=4), fifo=fifo)


def _transport_seq(make_bodies: Callable[[Any, Any], Iterable[Any]], kind: str | None = None):
    def run(dut) -> None:
        d = _device(dut, kind)
        for body in make_bodies(_v().wire, d):
            _request(dut, body, dev_num=d.dev_num, fifo=d.fifo)
    return run


def seq_virtqueue(dut) -> None:
    """An rng read through a split virtqueue (set-up, kick, EVENT_USED, used ring)."""
    v = _v()
    d = _device(dut, "virtio-rng-device")
    if d.kind != "virtio-rng-device":
        raise RuntimeError("no virtio-rng-device for the virtqueue round trip")
    rng = v.driver.RngDriver(dut.transport(d.dev_num, d.fifo), dut.ram)
    rng.init()
    rng.read(64)


SEQUENCES: dict[str, Callable[[Any], None]] = {
    "bring-up": seq_bringup,
    "ping": seq_ping,
    "get-devices": seq_get_devices,
    "get-device-info": _transport_seq(lambda w, d: [w.GetDeviceInfoReq()]),
    "get-device-features": _transport_seq(lambda w, d: [w.GetDeviceFeaturesReq(block_index=0, num_blocks=2),
                                                        w.GetDeviceFeaturesReq(block_index=1, num_blocks=8)]),
    "get-device-status": _transport_seq(lambda w, d: [w.GetDeviceStatusReq()]),
    "set-device-status": _transport_seq(lambda w, d: [w.SetDeviceStatusReq(status=1), w.SetDeviceStatusReq(status=3),
                                                      w.GetDeviceStatusReq(), w.SetDeviceStatusReq(status=0)]),
    "set-driver-features": _transport_seq(lambda w, d: [w.SetDeviceStatusReq(status=3),
                                                        w.SetDriverFeaturesReq(block_index=1, features=[1, 0]),
                                                        w.SetDeviceStatusReq(status=11), w.GetDeviceStatusReq()]),
    "get-config": _transport_seq(lambda w, d: [w.GetConfigReq(offset=0, length=8),
                                               w.GetConfigReq(offset=4096, length=4)], "virtio-blk-device"),
    "set-config": _transport_seq(lambda w, d: [w.GetConfigReq(offset=0, length=8),
                                               w.SetConfigReq(generation=0, offset=0, data=b"\0\0\0\0")],
                                 "virtio-balloon-device"),
    "get-vqueue": _transport_seq(lambda w, d: [w.GetVqueueReq(index=0), w.GetVqueueReq(index=1024)]),
    "set-vqueue": _transport_seq(lambda w, d: [w.SetVqueueReq(index=0, size=8, desc_addr=0x200000,
                                                              driver_addr=0x201000, device_addr=0x202000),
                                               w.GetVqueueReq(index=0)]),
    "reset-vqueue": _transport_seq(lambda w, d: [w.ResetVqueueReq(index=0), w.GetVqueueReq(index=0)]),
    "get-shm": _transport_seq(lambda w, d: [w.GetShmReq(index=0)]),
    "virtqueue": seq_virtqueue,
}


# ---- running and comparing -----------------------------------------------------------------------


@dataclass
class Regions:
    """Where things were on target A, to say what a divergent access was."""

    bars: dict[int, tuple[int, int]] = field(default_factory=dict)  # bar -> (base, size)
    msi: dict[int, int] = field(default_factory=dict)  # MSI address -> fifo

    def classify(self, step: tr.Step) -> str:
        if step.op.startswith("config"):
            return f"PCI config register 0x{step.addr:02x}"
        if step.op == "advance_time":
            return "virtual time"
        for addr, fifo in self.msi.items():
            if step.addr <= addr < step.addr + step.size:
                return f"MSI write (FIFO {fifo} vector, RAM 0x{addr:x})"
        names = {0: "BAR0 register", 1: "FIFO window (ring indices / slot bytes)", 2: "MSI-X table/PBA"}
        for bar, (base, size) in self.bars.items():
            if base <= step.addr < base + size:
                what = names.get(bar, f"BAR{bar}")
                off = step.addr - base
                if bar == 1:
                    fifo, inner = divmod(off, 0x4000)
                    queue = {1: "driver queue", 2: "device queue (responses)"}.get(inner >> 12, "FIFO window")
                    what = f"FIFO {fifo} {queue}"
                return f"{what} +0x{off:x}"
        return "guest memory (DMA)"

    def exchange(self, steps: list[tr.Step]) -> str | None:
        """The last request the driver posted into a driver queue among
        `steps`, e.g. "GET_SHM to dev_num 1 on FIFO 0"; None when none."""
        if 1 not in self.bars:
            return None
        f = _v().fifo
        base, size = self.bars[1]
        first = f.kDriverQueueOffset + f.kSlotsOffset
        for s in reversed(steps):
            if s.op != "mem_write" or not s.data or not base <= s.addr < base + size:
                continue
            # the last whole slot of the write (merged writes may hold several);
            # slots are slot-size aligned from BAR1's base
            end = s.addr + s.size - f.kSlotSize
            at = end - (end - base) % f.kSlotSize
            while at >= s.addr:
                fifo, inner = divmod(at - base, f.kWindowSize)
                if first <= inner < first + f.kSlotCount * f.kSlotSize:
                    return _request_name(s.data[at - s.addr:at - s.addr + f.kSlotSize], fifo)
                at -= f.kSlotSize
        return None


def _request_name(slot: bytes, fifo: int) -> str:
    """What a driver-queue slot holds, by message name when it decodes."""
    w = _v().wire
    h = w.peek_header(slot)
    if h is None:
        return f"an unreadable request on FIFO {fifo}"
    try:
        name = w.decode(slot[:h.msg_size]).name()
    except Exception:  # a malformed request is still worth naming by its IDs
        name = f"message type 0x{h.type:02x} id 0x{h.msg_id:02x}"
    where = f"on FIFO {fifo}" if h.is_bus() else f"to dev_num {h.dev_num} on FIFO {fifo}"
    return f"{name} {where}"


@dataclass
class SequenceRun:
    """One sequence on one target."""

    transcript: tr.Transcript
    error: str | None = None
    regions: Regions = field(default_factory=Regions)
    scope: tr.DeviceScope | None = None  # None: every step is the device's

    def device_steps(self) -> list[tuple[int, tr.Step]]:
        """(index in the transcript, step) of the device's steps."""
        return [(i, s) for i, s in enumerate(self.transcript.steps) if self.scope is None or self.scope.covers(s)]

    def platform_steps(self) -> list[tr.Step]:
        return [s for s in self.transcript.steps if self.scope is not None and not self.scope.covers(s)]


@dataclass
class Divergence:
    """The first difference between two runs of a sequence."""

    sequence: str
    index: int
    step_a: tr.Step | None
    step_b: tr.Step | None
    what: str
    leading: list[tr.Step]
    error_a: str | None = None
    error_b: str | None = None
    exchange: str | None = None  # the request in flight, e.g. "GET_SHM to dev_num 1 on FIFO 0"

    def describe(self, names: tuple[str, str], machine: str = "q35") -> str:
        a, b = names
        lines = [f"sequence {self.sequence!r} diverges at step {self.index}: {self.what}"]
        if self.exchange:
            lines.append(f"  in the exchange of: {self.exchange}")
        if self.step_a is not None and self.step_b is not None and self.step_a.key() == self.step_b.key():
            lines.append(f"  command: {self.step_a.describe(machine)}")
            lines.append(f"  {a}: {tr.format_answer(self.step_a.answer)}")
            lines.append(f"  {b}: {tr.format_answer(self.step_b.answer)}")
        else:
            for name, s, err in ((a, self.step_a, self.error_a), (b, self.step_b, self.error_b)):
                lines.append(f"  {name}: " + (f"{s.describe(machine)} -> {tr.format_answer(s.answer)}" if s
                                              else f"no further operation ({err or 'sequence ended'})"))
        if self.leading:
            lines.append(f"  leading there (last {len(self.leading)} device steps, same on both):")
            lines += [f"    {s.describe(machine)} -> {tr.format_answer(s.answer)}" for s in self.leading]
        return "\n".join(lines)


def run_sequence(target: Any, name: str, fn: Callable[[Any], None], faults: Iterable[str] = (),
                 profile: str = "pr28") -> SequenceRun:
    """Runs `fn` on a fresh Dut of `target` with a recorder on its port."""
    faults = list(faults)
    dut = target.open(faults=faults, profile=profile)
    rec = tr.record_dut(dut, {"target": target.name, "sequence": name, "faults": ",".join(faults) or "none"})
    run = SequenceRun(rec.transcript)
    a = dut.pci_address
    ram_end = tr.ram_end(rec.address_map())
    try:
        try:
            fn(dut)
        except Exception as exc:  # a target that refuses or misbehaves: recorded, compared
            run.error = f"{type(exc).__name__}: {exc}"
        run.scope = tr.DeviceScope.learn(rec.transcript.steps, (a.bus, a.device, a.function), ram_end)
        amp = dut._amp  # only when the sequence opened it
        if amp is not None:
            for bar, base in ((0, amp.bar0()), (1, amp.bar1()), (2, amp.bar2())):
                run.regions.bars[bar] = (base, 0x4000 * (dut.description.num_fifos if bar == 1 else 1))
            for fifo in range(amp.num_fifos()):
                msi = amp.fifo(fifo).config().msi
                if msi is not None:
                    run.regions.msi[msi.addr] = fifo
    finally:
        try:
            dut.close()
        except Exception as exc:  # e.g. QEMU died: part of the result
            run.error = run.error or f"{type(exc).__name__}: {exc}"
    return run


def first_divergence(name: str, a: SequenceRun, b: SequenceRun, context: int = CONTEXT_STEPS) -> Divergence | None:
    """The first difference between the device steps of two runs. Its
    index is the step's place in A's transcript (A's length when A has no
    further device step)."""
    da, db = a.device_steps(), b.device_steps()
    for k in range(max(len(da), len(db))):
        ia, x = da[k] if k < len(da) else (len(a.transcript.steps), None)
        y = db[k][1] if k < len(db) else None
        if x is not None and y is not None and x.key() == y.key() and tr.answers_equal(x.answer, y.answer):
            continue
        lead = [s for _, s in da[max(0, k - context):k]]
        if x is None or y is None:
            what = "one target stopped earlier"
        elif x.key() != y.key():
            what = "different operations (the driver reacted to an earlier difference)"
        else:
            what = a.regions.classify(x)
        return Divergence(name, ia, x, y, what, lead, a.error, b.error, a.regions.exchange(a.transcript.steps[:ia]))
    if (a.error is None) != (b.error is None):
        return Divergence(name, len(a.transcript.steps), None, None, "the sequence failed on one target only",
                          [s for _, s in da[-context:]], a.error, b.error)
    return None


def platform_differences(a: SequenceRun, b: SequenceRun) -> int:
    """How many platform steps differ between two runs (operation or
    answer; a step only one side has counts once), after aligning them, so
    one extra function on a scan is not counted as every step after it."""
    def keyed(run: SequenceRun) -> list[tuple]:
        return [(s.key(), tr.format_answer(s.answer)) for s in run.platform_steps()]
    matcher = difflib.SequenceMatcher(None, keyed(a), keyed(b), autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")


@dataclass
class DiffReport:
    """The outcome of a diff: per sequence, None (same) or the divergence."""

    names: tuple[str, str]
    results: dict[str, Divergence | None]
    steps: dict[str, int]
    platform: dict[str, int] = field(default_factory=dict)  # ignored platform differences per sequence

    @property
    def first(self) -> Divergence | None:
        return next((d for d in self.results.values() if d is not None), None)

    def text(self, machine: str = "q35") -> str:
        a, b = self.names
        lines = [f"diff {a} vs {b}"]
        for name, d in self.results.items():
            ignored = self.platform.get(name, 0)
            lines.append(f"  {name:<22} {'same' if d is None else 'DIVERGES at step ' + str(d.index)}"
                         f"  ({self.steps[name]} steps" + (f", {ignored} platform differences ignored)" if ignored
                                                          else ")"))
        first = self.first
        lines.append("no divergence" if first is None else "first divergence:\n" + first.describe(self.names, machine))
        total = sum(self.platform.values())
        if total:
            lines.append(f"{total} platform difference(s) ignored: accesses to other PCI functions or to "
                         "addresses the device does not decode")
        return "\n".join(lines)


def diff_targets(target_a: Any, target_b: Any, faults_a: Iterable[str] = (), faults_b: Iterable[str] = (),
                 sequences: Iterable[str] | None = None, profile: str = "pr28") -> DiffReport:
    """Runs the sequences (all by default) on both targets and compares them."""
    faults_a, faults_b = list(faults_a), list(faults_b)
    names = list(sequences) if sequences else list(SEQUENCES)
    unknown = [n for n in names if n not in SEQUENCES]
    if unknown:
        raise ValueError(f"unknown sequence(s) {', '.join(unknown)} (known: {', '.join(SEQUENCES)})")
    results: dict[str, Divergence | None] = {}
    steps: dict[str, int] = {}
    platform: dict[str, int] = {}
    for name in names:
        ra = run_sequence(target_a, name, SEQUENCES[name], faults_a, profile)
        rb = run_sequence(target_b, name, SEQUENCES[name], faults_b, profile)
        results[name] = first_divergence(name, ra, rb)
        steps[name] = len(ra.transcript.steps)
        platform[name] = platform_differences(ra, rb)
    label_a = target_a.name + (f"+{','.join(faults_a)}" if faults_a else "")
    label_b = target_b.name + (f"+{','.join(faults_b)}" if faults_b else "")
    return DiffReport((label_a, label_b), results, steps, platform)

"""Helpers of the transport-level conformance tests (owned by "tests-b").

The suite plays the driver. Everything here goes through the port and the
FIFO link only, so the same helpers work on every target:

* ``Peer`` sends one transport message as raw bytes and collects *every*
  frame that comes back (so a test can insist on exactly one response);
* ``negotiate`` / ``bring_up`` walk the initialisation sequence of
  virtio-msg.md §7 with hand-made messages, in the order the driver rules
  want (GET_DEVICE_INFO first, FEATURES_OK before queues, DRIVER_OK last);
* ``RawQueue`` is a split virtqueue written byte by byte into guest RAM, so
  tests can set flags, event indices and corrupt rings at will.
"""
from __future__ import annotations

import contextlib
import dataclasses
import struct
from collections import Counter
from dataclasses import dataclass, field

import pytest

from vmsg_conform import _vmsg
from vmsg_conform.verdicts import check, layout_rule, require  # noqa: F401 - tests use th.check

wire = _vmsg.wire

# ---- numbers (virtio-msg.md §4, §8; core virtio split ring) -----------------

ACK = 0x01
DRIVER = 0x02
DRIVER_OK = 0x04
FEATURES_OK = 0x08
NEEDS_RESET = 0x40
FAILED = 0x80

F_INDIRECT_DESC = 28
F_EVENT_IDX = 29
F_VERSION_1 = 32
F_RING_PACKED = 34
F_SR_IOV = 37
F_NOTIFICATION_DATA = 38
F_RING_RESET = 40

DESC_F_NEXT = 1
DESC_F_WRITE = 2
DESC_F_INDIRECT = 4
AVAIL_F_NO_INTERRUPT = 1

# Transport message IDs (virtio-msg.md §4.1).
ID_GET_DEVICE_INFO = 0x02
ID_GET_DEVICE_FEATURES = 0x03
ID_SET_DRIVER_FEATURES = 0x04
ID_GET_CONFIG = 0x05
ID_SET_CONFIG = 0x06
ID_GET_DEVICE_STATUS = 0x07
ID_SET_DEVICE_STATUS = 0x08
ID_GET_VQUEUE = 0x09
ID_SET_VQUEUE = 0x0A
ID_RESET_VQUEUE = 0x0B
ID_GET_SHM = 0x0C
ID_EVENT_CONFIG = 0x40
ID_EVENT_AVAIL = 0x41
ID_EVENT_USED = 0x42

# Virtio device IDs of the kinds the default topology carries.
RNG_ID = 4
BLK_ID = 2
BALLOON_ID = 5

#: Time the target is given to answer, per polling round (ns).
STEP_NS = 100_000


def is_rev1(dut) -> bool:
    """Whether the run speaks REV1-2026 (else PR28)."""
    return dut.profile.layout == wire.Layout.Rev1


def vqueue_enable_flags(dut) -> int:
    """SET_VQUEUE flags that configure and enable a queue: REV1 state op 1, PR28 0 (reserved)."""
    return 1 if is_rev1(dut) else 0


def event_used_rule(dut) -> str:
    """The rule an EVENT_USED naming the wrong queue breaks: PR28's VMSG-DEV-037, or
    REV1's R1-DEV-045 that replaces it. A test checking it cites both."""
    return "R1-DEV-045" if is_rev1(dut) else "VMSG-DEV-037"


def no_interrupt_rule(dut) -> str:
    """The rule an EVENT_USED despite VIRTQ_AVAIL_F_NO_INTERRUPT (no EVENT_IDX) breaks:
    PR28's own VMSG-DEV-062, or under REV1, whose EVENT_USED rule leaves suppression to
    the virtio core (REV1 L1032-1035), the core's VIRTIO-RING-025. A test checking it
    cites both."""
    return "VIRTIO-RING-025" if is_rev1(dut) else "VMSG-DEV-062"


def size_of(dut, body) -> int:
    """msg_size of `body` in the run's layout."""
    return int(wire.encoded_size(wire.Message(dev_num=0, token=0, body=body), dut.profile))


def info_size(dut) -> int:
    """msg_size of a GET_DEVICE_INFO response: 32 in PR28, 52 in REV1."""
    return size_of(dut, wire.GetDeviceInfoResp())


def feature_blocks(dut, info) -> int:
    """32-bit feature blocks a GET_DEVICE_INFO response reports (PR28 counts bits)."""
    # the field of the other draft reads 0, also in an answer read in the other layout (Peer.ask)
    return max(info.num_feature_blocks, (info.num_feature_bits + 31) // 32)


_CATALOGUE: list = []


def ids_under_profile(dut, ids) -> list[str]:
    """The requirement IDs that stand for `ids` under the run's profile (PR28
    IDs become their REV1 equivalents under REV1; catalogue.translate)."""
    from vmsg_conform import catalogue  # noqa: PLC0415

    if not _CATALOGUE:
        _CATALOGUE.append(catalogue.load())
    return _CATALOGUE[0].translate(list(ids), "rev1-2026" if is_rev1(dut) else "pr28")


def get_devices_fields(dut, resp: bytes) -> tuple[int, int, int, bytes]:
    """(offset, count, next_offset, bitmap) of a raw GET_DEVICES response in the
    run's layout: PR28 orders offset, count, next_offset with count/8 bitmap
    bytes; REV1 offset, next_offset, count with (count + 7) / 8."""
    if is_rev1(dut):
        offset, nxt, count = struct.unpack_from("<HHH", resp, 8)
        return offset, count, nxt, bytes(resp[14:14 + (count + 7) // 8])
    offset, count, nxt = struct.unpack_from("<HHH", resp, 8)
    return offset, count, nxt, bytes(resp[14:14 + count // 8])


def bit(n: int) -> int:
    return 1 << n


# ---- topology ---------------------------------------------------------------

@dataclass(frozen=True)
class DevRef:
    """Where one expected device sits: FIFO, device number, virtio device ID."""

    fifo: int
    dev_num: int
    device_id: int
    kind: str


def devices_of(dut, device_id: int | None = None) -> list[DevRef]:
    out = []
    for d in dut.description.devices:
        if device_id is None or d.device_id == device_id:
            out.append(DevRef(d.fifo, d.dev_num, d.device_id, d.kind))
    return out


def device(dut, device_id: int) -> DevRef:
    """The first expected device with this virtio ID, or skip."""
    found = devices_of(dut, device_id)
    if not found:
        pytest.skip(f"the target has no device with virtio ID {device_id}")
    return found[0]


# ---- raw frames --------------------------------------------------------------

def header(frame: bytes) -> tuple[int, int, int, int, int]:
    """(type, msg_id, dev_num, token, msg_size) of a raw frame."""
    return struct.unpack_from("<BBHHH", frame, 0)


def encode(dut, dev_num: int, body, token: int = 0, reserved_type_bits: int = 0) -> bytes:
    m = wire.Message(dev_num=dev_num, token=token, body=body)
    if reserved_type_bits:
        m.reserved_type_bits = reserved_type_bits
    return bytes(wire.encode(m, dut.profile))


@dataclass
class Frame:
    """One frame the target put in its device queue, raw and decoded."""

    raw: bytes
    msg: object | None  # wire.Message, None if it did not decode
    error: object | None = None

    @property
    def type(self) -> int:
        return self.raw[0]

    @property
    def msg_id(self) -> int:
        return self.raw[1]

    @property
    def dev_num(self) -> int:
        return header(self.raw)[2]

    @property
    def msg_size(self) -> int:
        return header(self.raw)[4]

    @property
    def body(self):
        return None if self.msg is None else self.msg.body

    @property
    def is_response(self) -> bool:
        return bool(self.type & 0x01)

    @property
    def is_bus(self) -> bool:
        return bool(self.type & 0x02)


@dataclass
class Reply:
    """Everything a request drew: responses and events, in arrival order."""

    frames: list[Frame] = field(default_factory=list)

    def responses(self, msg_id: int | None = None, dev_num: int | None = None) -> list[Frame]:
        return [f for f in self.frames if f.is_response and not f.is_bus
                and (msg_id is None or f.msg_id == msg_id)
                and (dev_num is None or f.dev_num == dev_num)]

    def events(self, msg_id: int | None = None, dev_num: int | None = None) -> list[Frame]:
        return [f for f in self.frames if not f.is_response and not f.is_bus
                and (msg_id is None or f.msg_id == msg_id)
                and (dev_num is None or f.dev_num == dev_num)]


class Peer:
    """The suite as driver of one device, talking raw frames over its FIFO.

    Responses are collected until the device queue stays empty for a whole
    extra round after the last frame, so a duplicate answer is seen too.
    Events that arrive are kept in ``self.events`` (oldest first).
    """

    def __init__(self, dut, dev: DevRef):
        self.dut = dut
        self.dev = dev
        self.link = dut.link(dev.fifo)
        self.events: list[Frame] = []

    # -- plumbing ----------------------------------------------------------
    def decode(self, raw: bytes) -> Frame:
        try:
            return Frame(raw, wire.decode(raw, self.dut.profile))
        except wire.DecodeFailure as e:  # kept: a test asserts on it
            return Frame(raw, None, e)

    def drain(self, rounds: int = 2) -> list[Frame]:
        """Every frame waiting now, then after `rounds` steps of time."""
        out = []
        quiet = 0
        while quiet < rounds:
            got = False
            while True:
                slot = self.link.poll()
                if slot is None:
                    break
                out.append(self.decode(bytes(slot)))
                got = True
            quiet = 0 if got else quiet + 1
            if quiet < rounds:
                self.dut.port.advance_time(STEP_NS)
        return out

    def post_raw(self, frame: bytes) -> Reply:
        self.link.post(frame)
        self.link.ring()
        return Reply(self.drain())

    def send(self, body, token: int = 0, reserved_type_bits: int = 0, dev_num: int | None = None) -> Reply:
        dn = self.dev.dev_num if dev_num is None else dev_num
        return self.post_raw(encode(self.dut, dn, body, token, reserved_type_bits))

    def answer(self, body, *, unanswered: str | None = None, **kw) -> Frame:
        """Sends a request and returns the frame of its single response, decoded or not.

        Exactly one response with the request's msg_id must come back (one
        answer per request, VMSG-BUS-028): a FAIL in a test that cites that
        rule, BLOCKED in one that only needs the answer. ``unanswered``: the
        rule a missing answer breaks by itself (a mandatory request), checked
        rather than required.
        """
        req_id = wire.msg_id(body)
        reply = self.send(body, **kw)
        resps = reply.responses(req_id)
        others = [f for f in reply.frames if f not in resps]
        self.events.extend(f for f in others if not f.is_response)
        if len(resps) > 1 and all(f.raw == resps[0].raw for f in resps):
            # The same answer twice: a driver takes the first and drops the rest.
            self.dut.tolerate("VMSG-BUS-028", f"{wire.name(body)} was answered {len(resps)} times")
            resps = resps[:1]
        if unanswered is not None:
            check(resps, unanswered, f"{wire.name(body)} was not answered")
        require(len(resps) == 1, "VMSG-BUS-028",
                f"{wire.name(body)}: expected exactly one response, got {len(resps)} "
                f"(frames: {[f.raw[:8].hex() for f in reply.frames]})")
        return resps[0]

    def ask(self, body, **kw):
        """Sends a request and returns the body of its single response (``answer``),
        which must decode and carry this device's number."""
        f = self.answer(body, **kw)
        if f.msg is None:
            f = self._in_the_other_layout(body, f)
        assert f.dev_num == self.dev.dev_num, "response dev_num is not the device's number"
        self.last = f
        return f.body

    def _in_the_other_layout(self, body, f: Frame) -> Frame:
        """A response that does not decode in the run's draft. Read in the other draft's
        layout, the device answered as that draft says: its layout rule is broken, which
        the tests citing that rule report, and the rest go on with the fields the device
        meant (tolerated) instead of failing on something else. Neither: the setup stops."""
        name, rev1 = wire.name(body), is_rev1(self.dut)
        rule = layout_rule(name, rev1)
        other = wire.Profile.pr28() if rev1 else wire.Profile.rev1()
        try:
            msg = wire.decode(f.raw, other)
        except wire.DecodeFailure:
            require(False, rule, f"{name}: response does not decode: {f.error}")
        self.dut.tolerate(rule, f"{name} answered in the {other.name()} layout ({f.msg_size} bytes)")
        return Frame(f.raw, msg)

    def event(self, body) -> Reply:
        """Sends a one-way message (EVENT_AVAIL); returns what came back."""
        reply = self.send(body)
        self.events.extend(f for f in reply.frames if not f.is_response)
        return reply

    def take_events(self, msg_id: int | None = None) -> list[Frame]:
        self.events.extend(self.drain())
        got = [f for f in self.events if msg_id is None or f.msg_id == msg_id]
        self.events = [f for f in self.events if f not in got]
        return got

    # -- typed requests ------------------------------------------------------
    def info(self):
        return self.ask(wire.GetDeviceInfoReq())

    def features(self, block_index: int = 0, num_blocks: int = 2) -> list[int]:
        r = self.ask(wire.GetDeviceFeaturesReq(block_index=block_index, num_blocks=num_blocks))
        return list(r.features)

    def offered(self) -> int:
        w = self.features(0, 2)
        return w[0] | (w[1] << 32)

    def set_features(self, value: int, block_index: int = 0, blocks: int = 2) -> None:
        words = [(value >> (32 * i)) & 0xFFFFFFFF for i in range(blocks)]
        self.ask(wire.SetDriverFeaturesReq(block_index=block_index, features=words))

    def status(self) -> int:
        return self.ask(wire.GetDeviceStatusReq()).status

    def set_status(self, value: int) -> int:
        return self.ask(wire.SetDeviceStatusReq(status=value)).status

    def get_config(self, offset: int, length: int):
        return self.ask(wire.GetConfigReq(offset=offset, length=length))

    def set_config(self, generation: int, offset: int, data: bytes):
        return self.ask(wire.SetConfigReq(generation=generation, offset=offset, data=bytes(data)))

    def get_vqueue(self, index: int):
        return self.ask(wire.GetVqueueReq(index=index))

    def set_vqueue(self, index: int, size: int, desc: int, driver: int, device: int) -> None:
        # REV1 configures and enables in one request (state op 1); PR28's word there is reserved.
        self.ask(wire.SetVqueueReq(index=index, flags=vqueue_enable_flags(self.dut), size=size, desc_addr=desc,
                                   driver_addr=driver, device_addr=device))

    def reset_vqueue(self, index: int) -> None:
        self.ask(wire.ResetVqueueReq(index=index))

    def kick(self, q: int) -> Reply:
        return self.event(wire.EventAvail(vq_index=q, next_offset=0))

    def generation(self) -> int:
        return self.get_config(0, 0).generation


def peer(dut, device_id: int) -> Peer:
    return Peer(dut, device(dut, device_id))


# ---- initialisation (virtio-msg.md §7) ----------------------------------------

def offered_v1(p: Peer) -> int:
    """The device's offered features, which a virtio 1.x driver only goes on with when
    VERSION_1 is among them: a test whose setup needs the offer is BLOCKED under the
    rule that the device offers VERSION_1 (VIRTIO-CORE-043), which its own test checks."""
    offered = p.offered()
    require(offered & bit(F_VERSION_1), "VIRTIO-CORE-043",
            f"device {p.dev.dev_num} does not offer VERSION_1 (features {offered:#x})")
    return offered


def negotiate(p: Peer, wanted: int | None = None) -> int:
    """Steps 2-6: info, reset, ACK, DRIVER, features, FEATURES_OK.

    Negotiates offered ∩ wanted (default: VERSION_1 plus the ring features
    the raw queue understands), asserting that FEATURES_OK sticks. Returns
    the negotiated set. Each step is a precondition of the calling test.
    """
    p.info()
    for status in (0, ACK, ACK | DRIVER):
        got = p.set_status(status)
        require(got == status, "VMSG-DEV-053", f"SET_DEVICE_STATUS({status:#x}) reported {got:#x}")
    offered = offered_v1(p)
    if wanted is None:
        wanted = bit(F_VERSION_1) | SHOULD_ACCEPT.get(p.dev.device_id, 0)
    chosen = offered & wanted
    p.set_features(chosen)
    got = p.set_status(ACK | DRIVER | FEATURES_OK)
    require(got == ACK | DRIVER | FEATURES_OK, "VMSG-DEV-024",
            f"FEATURES_OK refused for the offered features {chosen:#x} (status {got:#x})")
    return chosen


def to_driver(p: "Peer", read_features: bool = True) -> None:
    """info, reset, ACKNOWLEDGE, DRIVER and (optionally) the feature read: ready to write features."""
    p.info()
    p.set_status(0)
    p.set_status(ACK)
    p.set_status(ACK | DRIVER)
    if read_features:
        p.offered()


#: Device-type features a driver should accept whenever they are offered (blk
#: RO, VIRTIO-BLK-012; balloon MUST_TELL_HOST, VIRTIO-BALLOON-001): negotiate's
#: default takes them, so a sequence breaks no driver rule unless it means to.
SHOULD_ACCEPT = {BLK_ID: bit(5), BALLOON_ID: bit(0)}


#: Queue size bring_up uses when a test does not need a particular one.
DEFAULT_QUEUE_SIZE = 16


def queue_size_for(p: Peer, q: int, size: int | None, cur=None, room: int = 1) -> int:
    """The size a test's queue gets: ``size`` when the device allows it (else
    the test is skipped, naming the device's limit), or for ``None`` the
    default capped at the device's max_size (largest power of two), grown to
    hold ``room`` descriptors when the test adds that many at once."""
    if cur is None:
        cur = p.get_vqueue(q)
    limit = cur.max_size
    require(limit > 0, "VMSG-DEV-054", f"queue {q} reports max_size 0")
    if size is None:
        size = DEFAULT_QUEUE_SIZE
        while size < room:
            size *= 2
        while size > limit:
            size //= 2
        if size < room:
            pytest.skip(f"the test puts {room} descriptors in queue {q} at once; the device offers at most {limit}")
        return size
    if size > limit:
        pytest.skip(f"the test needs a {size}-entry queue {q}; the device offers at most {limit}")
    return size


def bring_up(p: Peer, queues=((0, None),), wanted: int | None = None, driver_ok: bool = True,
             no_interrupt: bool = False, room: int = 1):
    """negotiate + one RawQueue per (index, size) + DRIVER_OK. Returns the
    queues. A size of None takes the default within the device's max_size,
    with space for ``room`` descriptors (see queue_size_for).

    Like a real driver, it programs a queue whose cur_size is not 0 before
    SET_VQUEUE anyway, and records that deviation (VMSG-DEV-055).
    """
    feats = negotiate(p, wanted)
    rings = {}
    for q, size in queues:
        cur = p.get_vqueue(q)
        size = queue_size_for(p, q, size, cur, room)
        if cur.cur_size != 0:
            p.dut.tolerate("VMSG-DEV-055", f"queue {q} of device {p.dev.dev_num} reported cur_size "
                                           f"{cur.cur_size} before SET_VQUEUE")
        rq = RawQueue(p.dut, size, event_idx=bool(feats & bit(F_EVENT_IDX)))
        if no_interrupt:
            rq.set_avail_flags(AVAIL_F_NO_INTERRUPT)
        rq.program(p, q)
        # Confirm before use (VMSG-DRV-018); also shows the parameters were kept.
        got = p.get_vqueue(q)
        require((got.cur_size, got.desc_addr, got.driver_addr, got.device_addr) == (size, rq.desc, rq.avail, rq.used),
                "VMSG-DEV-028", f"queue {q}: GET_VQUEUE after SET_VQUEUE shows size {got.cur_size}, "
                f"addresses {got.desc_addr:#x}/{got.driver_addr:#x}/{got.device_addr:#x}")
        rings[q] = rq
    if driver_ok:
        want = ACK | DRIVER | FEATURES_OK | DRIVER_OK
        got = p.set_status(want)
        require(got == want, "VMSG-DEV-053", f"SET_DEVICE_STATUS(DRIVER_OK) reported {got:#x}")
    return rings


# ---- a split virtqueue in guest RAM, byte by byte ------------------------------

def mem_read(dut, addr: int, n: int) -> bytes:
    return bytes(dut.port.mem_read(addr, n))


def mem_write(dut, addr: int, data: bytes) -> None:
    dut.port.mem_write(addr, bytes(data))


class RawQueue:
    """A split ring laid out in fresh guest RAM: descriptor table (16-aligned),
    avail ring (2), used ring (4), each with its event word.

    Descriptors are handed out linearly (no free list): tests are short.
    """

    def __init__(self, dut, size: int, event_idx: bool = False):
        self.dut = dut
        self.size = size
        self.event_idx = event_idx
        self.desc = dut.ram.alloc(16 * size, 16)
        self.avail = dut.ram.alloc(6 + 2 * size, 64)
        self.used = dut.ram.alloc(6 + 8 * size, 64)
        mem_write(dut, self.desc, bytes(16 * size))
        mem_write(dut, self.avail, bytes(6 + 2 * size))
        mem_write(dut, self.used, bytes(6 + 8 * size))
        self.next_desc = 0
        self.avail_idx = 0
        self.last_used = 0
        self.pending: Counter[int] = Counter()  # heads made available and not used yet

    def program(self, p: Peer, q: int) -> None:
        p.set_vqueue(q, self.size, self.desc, self.avail, self.used)

    # -- descriptors and avail ring --------------------------------------------
    def write_desc(self, i: int, addr: int, length: int, flags: int, nxt: int) -> None:
        mem_write(self.dut, self.desc + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def add(self, readable=(), writable=()) -> int:
        """Adds a chain of (addr, len) segments; returns its head. Not published."""
        segs = [(a, n, 0) for a, n in readable] + [(a, n, DESC_F_WRITE) for a, n in writable]
        assert segs and self.next_desc + len(segs) <= self.size
        head = self.next_desc
        for k, (a, n, fl) in enumerate(segs):
            i = head + k
            last = k == len(segs) - 1
            self.write_desc(i, a, n, fl | (0 if last else DESC_F_NEXT), 0 if last else i + 1)
        self.next_desc += len(segs)
        self.put_avail(head)
        return head

    def put_avail(self, head: int) -> None:
        slot = self.avail_idx % self.size
        mem_write(self.dut, self.avail + 4 + 2 * slot, struct.pack("<H", head))
        self.avail_idx = (self.avail_idx + 1) & 0xFFFF
        self.pending[head] += 1

    def publish(self) -> None:
        mem_write(self.dut, self.avail + 2, struct.pack("<H", self.avail_idx))

    def set_avail_flags(self, flags: int) -> None:
        mem_write(self.dut, self.avail, struct.pack("<H", flags))

    def set_used_event(self, value: int) -> None:
        mem_write(self.dut, self.avail + 4 + 2 * self.size, struct.pack("<H", value & 0xFFFF))

    # -- used ring ---------------------------------------------------------------
    def used_idx(self) -> int:
        return struct.unpack("<H", mem_read(self.dut, self.used + 2, 2))[0]

    def used_flags(self) -> int:
        return struct.unpack("<H", mem_read(self.dut, self.used, 2))[0]

    def used_elem(self, n: int) -> tuple[int, int]:
        return struct.unpack("<II", mem_read(self.dut, self.used + 4 + 8 * (n % self.size), 8))

    def reap(self) -> list[tuple[int, int]]:
        """New (id, len) used elements since the last reap. Each id must name the head
        of a chain the test made available and has not seen used yet; otherwise the
        test cannot tell which buffer came back, and its setup met the used-id rule
        (VIRTIO-RING-048), which test_virtio_used_ring checks on its own."""
        idx = self.used_idx()
        out = []
        while self.last_used != idx:
            uid, n = self.used_elem(self.last_used)
            require(self.pending[uid] > 0, "VIRTIO-RING-048",
                    f"used element {self.last_used} names descriptor {uid}, not the head of an outstanding "
                    f"chain (outstanding heads {sorted(h for h, c in self.pending.items() if c)})")
            self.pending[uid] -= 1
            out.append((uid, n))
            self.last_used = (self.last_used + 1) & 0xFFFF
        return out


def buffer(dut, n: int, fill: int | None = None) -> int:
    """Fresh guest buffer of n bytes, optionally filled with one byte value."""
    addr = dut.ram.alloc(n, 16)
    if fill is not None:
        mem_write(dut, addr, bytes([fill]) * n)
    return addr


def pfn_list(dut, pfns) -> tuple[int, int]:
    """A fresh buffer holding ``pfns`` as balloon page frame numbers (le32 each): (address, length)."""
    addr = buffer(dut, 4 * len(pfns))
    mem_write(dut, addr, struct.pack(f"<{len(pfns)}I", *pfns))
    return addr, 4 * len(pfns)


# virtio-blk request types and status bytes (blk description.tex, "Device Operation")
BLK_T_IN, BLK_T_OUT = 0, 1
BLK_S_OK, BLK_S_IOERR, BLK_S_UNSUPP = 0, 1, 2


@dataclass
class BlkRequest:
    """A raw virtio-blk request on a RawQueue: where its buffers lie in guest RAM."""

    head: int
    header: int  # 16 readable bytes: type, reserved, sector
    data: int | None
    data_len: int
    status: int  # the last writable byte


def blk_request(dut, rq: RawQueue, req_type: int, sector: int = 0, out: bytes = b"",
                in_len: int = 0) -> BlkRequest:
    """Adds (not publishes) one request: the header and ``out`` device-readable, then
    ``in_len`` data bytes and the status byte device-writable (status prefilled 0xFF)."""
    header = buffer(dut, 16)
    mem_write(dut, header, struct.pack("<IIQ", req_type, 0, sector))
    readable = [(header, 16)]
    data = None
    if out:
        data = buffer(dut, len(out))
        mem_write(dut, data, out)
        readable.append((data, len(out)))
    writable = []
    if in_len:
        data = buffer(dut, in_len, fill=0xAA)
        writable.append((data, in_len))
    status = buffer(dut, 1, fill=0xFF)
    writable.append((status, 1))
    head = rq.add(readable=readable, writable=writable)
    return BlkRequest(head, header, data, len(out) or in_len, status)


def violations_of(dut) -> list:
    """The driver-rule violations the target recorded (skip where it cannot)."""
    v = dut.violations()
    if v is None:
        pytest.skip("the target does not validate driver behaviour")
    return list(v)


def rule_ids(violations) -> list[str]:
    return [getattr(v, "rule", None) or getattr(v, "rule_id", None) or str(v) for v in violations]


@contextlib.contextmanager
def device_variant(request, device_id: int, **props):
    """The run's target rebuilt with extra properties on its first device of type
    ``device_id`` (e.g. the reference's ``poll-ns`` or blk ``bad_sectors``), opened and
    closed around the block. Skips where the target cannot be rebuilt or refuses the
    properties: they are the reference's own, which a vendor's device need not have."""
    from . import helpers  # noqa: PLC0415 (helpers imports this module's names lazily)

    desc = request.getfixturevalue("vmsg_target").description
    first = next((d for d in desc.devices if d.device_id == device_id), None)
    if first is None:
        pytest.skip(f"no device of type {device_id} in the target description")
    devices = [dataclasses.replace(d, props={**(d.props or {}), **props}) if d is first else d
               for d in desc.devices]
    try:
        dut = helpers.open_ref_variant(request, devices=devices)
    except pytest.skip.Exception:
        raise
    except Exception as exc:  # noqa: BLE001 - a target refusing the properties is a skip, not a finding
        pytest.skip(f"the target cannot build device {device_id} with {props}: {type(exc).__name__}: {exc}")
    try:
        yield dut
    finally:
        dut.close()

def device_conformed(dut, found) -> None:
    """Driver rules are judged against a conforming device: when the device
    deviated and the driver worked around it, the rules that workaround
    broke say nothing about the driver (the test is BLOCKED instead)."""
    deviations = dut.deviations()
    if deviations:
        req, detail = deviations[0]
        require(False, req, f"the device deviated ({detail}); the driver's way around it was flagged {found}")


def expect_no_violations(dut, allowed=()) -> None:
    """No driver rule broken so far, besides the ``allowed`` ones a test breaks on purpose."""
    v = [x for x in violations_of(dut) if rule_ids([x])[0] not in allowed]
    if v:
        device_conformed(dut, rule_ids(v))
    assert v == [], f"violations recorded: {rule_ids(v)}"


def expect_flagged_exactly(dut, rule: str, also=()) -> None:
    """The driver-rule log names `rule` (as the run's profile names it) and at
    most the `also` rules the same mistake cannot help breaking."""
    got = sorted(set(rule_ids(violations_of(dut))))
    expected = set(ids_under_profile(dut, [rule]))
    flagged = bool(set(got) & expected) and set(got) <= expected | set(also)
    if not flagged:
        device_conformed(dut, got)
    assert flagged, f"recorded {got}, expected some of {sorted(expected)} (and no more than {sorted(also)} besides)"


def config_change(dut, dev: DevRef) -> None:
    """Has the target change the device's config on its own (skips where it cannot)."""
    dut.stimulus.config_change(dev.dev_num, fifo=dev.fifo)


def queue_unconfigured(p: Peer, q: int, addresses_too: bool = False) -> bool:
    """Whether GET_VQUEUE shows queue q unconfigured: cur_size 0 (and, with
    ``addresses_too``, every ring address 0).

    A device that reports max_size as cur_size for a queue it has not
    configured (addresses 0) still has the queue unconfigured; only that
    reading breaks VMSG-DEV-055, which is recorded, so the test judges the
    queue's state and not the reading.
    """
    r = p.get_vqueue(q)
    unset = (r.desc_addr, r.driver_addr, r.device_addr) == (0, 0, 0)
    if r.cur_size != 0 and unset and r.cur_size == r.max_size:
        p.dut.tolerate("VMSG-DEV-055", f"queue {q} of device {p.dev.dev_num} reports cur_size {r.cur_size} "
                                       "while unconfigured")
        return True
    return r.cur_size == 0 and (unset or not addresses_too)


def require_initial_queue(p: Peer, q: int = 0, after: str = "a reset") -> None:
    """REV1: queue ``q`` as a reset leaves it; else the test's setup met the reset rule
    (R1-DEV-067) or the unconfigured-size rule (R1-DEV-071), which other tests check."""
    r = p.get_vqueue(q)
    s = (r.cur_size, r.desc_addr, r.driver_addr, r.device_addr, r.flags)
    require(not (r.flags == 0 and s[1:4] == (0, 0, 0) and r.cur_size != 0), "R1-DEV-071",
            f"queue {q} unconfigured but cur_size {r.cur_size}")
    require(s == (0, 0, 0, 0, 0), "R1-DEV-067", f"queue {q} not in its initial state after {after}: {r}")


def break_ring(p: Peer, rq: RawQueue, q: int = 0) -> None:
    """Makes the device see an impossible avail entry on queue q and kicks it."""
    rq.put_avail(rq.size + 100)
    rq.publish()
    p.kick(q)


# ---- the reference driver stack (vmsg::driver) ----------------------------------

def driver_module():
    return _vmsg.driver


def transport_of(dut, dev: DevRef):
    return dut.transport(dev.dev_num, fifo=dev.fifo)


def driver_init(dut, dev: DevRef, init, *args):
    """Runs a driver-stack init(*args). When the stack gives up because the device
    refused its features, a device that does not offer VERSION_1 is the reason the
    test could not start (VIRTIO-CORE-043, BLOCKED); any other failure stands."""
    try:
        return init(*args)
    except driver_module().VirtioFailure:
        offered_v1(Peer(dut, dev))
        raise


def rng_driver(dut, **options):
    """An initialised RngDriver for the first rng device."""
    drv = driver_module()
    dev = device(dut, RNG_ID)
    t = transport_of(dut, dev)
    r = drv.RngDriver(t, dut.ram, drv.RngDriverOptions(**options))
    driver_init(dut, dev, r.init)
    return r, t


def blk_driver(dut, **options):
    """An initialised BlkDriver for the first blk device."""
    drv = driver_module()
    dev = device(dut, BLK_ID)
    t = transport_of(dut, dev)
    b = drv.BlkDriver(t, dut.ram, drv.BlkDriverOptions(**options))
    driver_init(dut, dev, b.init)
    return b, t


def blk_after_config_event(dut, event_rule: str, seed: int):
    """A BlkDriver that wrote 512 bytes of pattern(seed) at sector 0, then took
    a device-side EVENT_CONFIG without data. A device that sends no such event
    breaks `event_rule` (checked elsewhere: BLOCKED here). Returns (blk, t, data)."""
    blk, t = blk_driver(dut)
    dev = device(dut, BLK_ID)
    data = pattern(512, seed)
    blk.write(0, data)
    events = t.stats().config_events
    dut.stimulus.config_event_without_data(dev.dev_num, fifo=dev.fifo)
    t.get_status()  # the event reaches the driver ahead of this answer
    require(t.stats().config_events > events, event_rule, "a device-side configuration change sent no EVENT_CONFIG")
    return blk, t, data


def pattern(n: int, seed: int) -> bytes:
    """Deterministic, position-dependent bytes (no two sectors alike)."""
    x = (seed * 2654435761 + 1) & 0xFFFFFFFF
    out = bytearray(n)
    for i in range(n):
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = x >> 24
    return bytes(out)


def assert_size_mismatch_dropped(p: Peer, body, grow: int = 4) -> None:
    """A request whose msg_size disagrees with its content is malformed
    (virtio-msg.md §12): no response, and the device answers normally after."""
    frame = bytearray(encode(p.dut, p.dev.dev_num, body))
    size = len(frame) + grow
    frame[6:8] = struct.pack("<H", size)
    if grow > 0:
        frame += bytes(grow)
    else:
        frame = frame[:size]
    reply = p.post_raw(bytes(frame))
    message = f"malformed {wire.name(body)} (msg_size {size}) drew {len(reply.frames)} frame(s)"
    if grow > 0:
        # Too long for its content: discarding it is the project reading G12.
        check(reply.frames == [], "READ-G12", message)
    else:
        assert reply.frames == [], message
    p.info()  # still alive, still one answer per request

"""virtio-msg frames built and parsed in plain Python, independently of the
reference codec (virtio-msg.md §2, §4, §5): builders, malformed variants,
header parsing and exact response checks."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Sequence

from vmsg_conform.verdicts import require

# ---- wire numbers (virtio-msg.md §2, §4.1, §5; amp-pci-device.md §5) ---------

T_REQUEST = 0x00       # transport request or event
T_RESPONSE = 0x01      # RESPONSE bit
T_BUS = 0x02           # BUS bit
T_BUS_RESPONSE = 0x03
T_RESERVED = 0xFC      # type bits 2..7

# transport IDs
GET_DEVICE_INFO = 0x02
GET_DEVICE_FEATURES = 0x03
SET_DRIVER_FEATURES = 0x04
GET_CONFIG = 0x05
SET_CONFIG = 0x06
GET_DEVICE_STATUS = 0x07
SET_DEVICE_STATUS = 0x08
GET_VQUEUE = 0x09
SET_VQUEUE = 0x0A
RESET_VQUEUE = 0x0B
GET_SHM = 0x0C
EVENT_CONFIG = 0x40
EVENT_AVAIL = 0x41
EVENT_USED = 0x42
# bus IDs
BUS_GET_DEVICES = 0x02
BUS_PING = 0x03
BUS_EVENT_DEVICE = 0x40

HEADER_SIZE = 8
SLOT_SIZE = 64            # one AMP slot: the most a frame can carry (AMP-014)
MAX_DEVICES = 32          # device numbers per bus instance (amp-pci-device.md §6.6)

# ---- frames ------------------------------------------------------------------------


def frame(type_: int, msg_id: int, dev_num: int = 0, token: int = 0, payload: bytes = b"",
          msg_size: int | None = None) -> bytes:
    """Header + payload, little-endian; msg_size defaults to the true length."""
    size = HEADER_SIZE + len(payload) if msg_size is None else msg_size
    return struct.pack("<BBHHH", type_, msg_id, dev_num, token, size) + payload


def ping(data: int, token: int = 0, dev_num: int = 0) -> bytes:
    return frame(T_BUS, BUS_PING, dev_num, token, struct.pack("<I", data))


def get_devices(offset: int, count: int, token: int = 0, dev_num: int = 0) -> bytes:
    return frame(T_BUS, BUS_GET_DEVICES, dev_num, token, struct.pack("<HH", offset, count))


def get_device_info(dev: int, token: int = 0) -> bytes:
    return frame(T_REQUEST, GET_DEVICE_INFO, dev, token)


def get_device_status(dev: int, token: int = 0) -> bytes:
    return frame(T_REQUEST, GET_DEVICE_STATUS, dev, token)


def set_device_status(dev: int, status: int, token: int = 0) -> bytes:
    return frame(T_REQUEST, SET_DEVICE_STATUS, dev, token, struct.pack("<I", status))


def get_device_features(dev: int, block_index: int, num_blocks: int, token: int = 0) -> bytes:
    return frame(T_REQUEST, GET_DEVICE_FEATURES, dev, token, struct.pack("<II", block_index, num_blocks))


def set_driver_features(dev: int, block_index: int, words: Sequence[int], token: int = 0) -> bytes:
    payload = struct.pack("<II", block_index, len(words)) + b"".join(struct.pack("<I", w) for w in words)
    return frame(T_REQUEST, SET_DRIVER_FEATURES, dev, token, payload)


def get_config(dev: int, offset: int, length: int, token: int = 0) -> bytes:
    return frame(T_REQUEST, GET_CONFIG, dev, token, struct.pack("<II", offset, length))


def get_vqueue(dev: int, index: int, token: int = 0) -> bytes:
    return frame(T_REQUEST, GET_VQUEUE, dev, token, struct.pack("<I", index))


def reset_vqueue(dev: int, index: int, token: int = 0) -> bytes:
    return frame(T_REQUEST, RESET_VQUEUE, dev, token, struct.pack("<I", index))


def get_shm(dev: int, index: int, token: int = 0) -> bytes:
    return frame(T_REQUEST, GET_SHM, dev, token, struct.pack("<I", index))


def event_avail(dev: int, vq_index: int, next_offset: int = 0) -> bytes:
    return frame(T_REQUEST, EVENT_AVAIL, dev, 0, struct.pack("<II", vq_index, next_offset))


# ---- malformed variants of a well-formed frame --------------------------------------


def with_msg_size(f: bytes, msg_size: int) -> bytes:
    """The same bytes with the header's msg_size replaced."""
    return f[:6] + struct.pack("<H", msg_size & 0xFFFF) + f[8:]


def with_type(f: bytes, type_: int) -> bytes:
    return bytes([type_ & 0xFF]) + f[1:]


def with_reserved_bits(f: bytes, bits: int) -> bytes:
    """Sets type bits 2..7 (bits must lie in 0xFC)."""
    assert bits & ~T_RESERVED == 0
    return with_type(f, f[0] | bits)


def with_dev_num(f: bytes, dev_num: int) -> bytes:
    return f[:2] + struct.pack("<H", dev_num & 0xFFFF) + f[4:]


def padded(f: bytes, extra: bytes, grow_size: bool = True) -> bytes:
    """Appends `extra`; with grow_size msg_size covers it (a length mismatch)."""
    out = f + extra
    return with_msg_size(out, len(out)) if grow_size else out


# ---- parsing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    type: int
    msg_id: int
    dev_num: int
    token: int
    msg_size: int

    @property
    def is_response(self) -> bool:
        return bool(self.type & T_RESPONSE)

    @property
    def is_bus(self) -> bool:
        return bool(self.type & T_BUS)


def header(f: bytes) -> Header:
    assert len(f) >= HEADER_SIZE, f"frame shorter than a header: {f.hex()}"
    return Header(*struct.unpack_from("<BBHHH", f, 0))


def u16(f: bytes, off: int) -> int:
    return struct.unpack_from("<H", f, off)[0]


def u32(f: bytes, off: int) -> int:
    return struct.unpack_from("<I", f, off)[0]


def u64(f: bytes, off: int) -> int:
    return struct.unpack_from("<Q", f, off)[0]


def describe(f: bytes) -> str:
    h = header(f)
    return (f"type=0x{h.type:02x} id=0x{h.msg_id:02x} dev={h.dev_num} token={h.token} "
            f"size={h.msg_size} bytes={f[:max(h.msg_size, 8)].hex()}")


def assert_response_header(resp: bytes, *, type_: int, msg_id: int, dev_num: int, msg_size: int,
                           size_rule: str | None = None) -> Header:
    """Exact header check of a response (the token is the bus's business under PR28).
    ``size_rule``: the layout rule a wrong msg_size breaks, when the size is only the
    test's way in (a precondition: BLOCKED unless the test cites it) rather than its subject."""
    h = header(resp)
    assert h.type == type_, f"type 0x{h.type:02x}, expected 0x{type_:02x}: {describe(resp)}"
    assert h.msg_id == msg_id, f"msg_id 0x{h.msg_id:02x}, expected 0x{msg_id:02x}: {describe(resp)}"
    assert h.dev_num == dev_num, f"dev_num {h.dev_num}, expected {dev_num}: {describe(resp)}"
    size_ok = h.msg_size == msg_size
    if size_rule is not None:
        require(size_ok, size_rule, f"msg_size {h.msg_size}, expected {msg_size}: {describe(resp)}")
    assert size_ok, f"msg_size {h.msg_size}, expected {msg_size}: {describe(resp)}"
    return h


def assert_zero_padding(slot: bytes) -> None:
    """Slot bytes after msg_size are zero (VMSG-BUS-024, AMP-015)."""
    size = header(slot).msg_size
    tail = slot[size:SLOT_SIZE]
    assert tail == bytes(len(tail)), f"slot bytes {size}..63 not zero: {slot.hex()}"

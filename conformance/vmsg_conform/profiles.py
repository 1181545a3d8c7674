"""Wire profiles: the drafts the checker judges against, and telling them apart.

Two drafts exist: ``pr28`` (December 2025, QEMU's v2 device) and ``rev1-2026``
(the v2 OASIS proposal, virtio-msg-rev1.md). Both call themselves transport
revision 1, so a device cannot say which it speaks. ``auto`` asks it: the
GET_DEVICE_INFO request is the same 8 bytes in both drafts, and its response is
32 bytes long in PR28 and 52 in REV1 (virtio-msg-rev1.md delta 2). Any other
answer, or none, is a typed :class:`ProfileDetectionError` naming what came back.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

__all__ = ["AUTO", "PROFILES", "ProfileDetectionError", "Detection", "check_name", "detect", "profile_of"]

#: Profile names a run accepts, first the default.
PROFILES = ("pr28", "rev1-2026")
AUTO = "auto"

#: GET_DEVICE_INFO response size (header included) of each draft.
_INFO_SIZE = {32: "pr28", 52: "rev1-2026"}
_GET_DEVICE_INFO = 0x02
_TYPE_RESPONSE = 0x01
#: Time steps to wait for the answer (each 1 ms of the target's time).
_ROUNDS = 64
_STEP_NS = 1_000_000


class ProfileDetectionError(RuntimeError):
    """``--profile auto`` could not tell which draft the device speaks."""


@dataclass(frozen=True)
class Detection:
    """What ``auto`` found: the profile and the evidence."""

    profile: str
    fifo: int
    dev_num: int
    msg_size: int

    def describe(self) -> str:
        return (f"profile {self.profile}: GET_DEVICE_INFO to FIFO {self.fifo} device {self.dev_num} "
                f"was answered with {self.msg_size} bytes")


def check_name(name: str | None, *, allow_auto: bool = True) -> str:
    """The profile name, checked; None means the default (pr28)."""
    if name in (None, ""):
        return PROFILES[0]
    if name in PROFILES or (allow_auto and name == AUTO):
        return name
    known = ", ".join(PROFILES + ((AUTO,) if allow_auto else ()))
    raise ValueError(f"unknown profile {name!r} (known: {known})")


def profile_of(name: str | None, max_msg_size: int = 64):
    """The native ``wire.Profile`` of a concrete profile name."""
    from . import _vmsg  # noqa: PLC0415 (the module may be unbuilt at import time)

    name = check_name(name, allow_auto=False)
    if name == "rev1-2026":
        return _vmsg.wire.Profile.rev1(max_msg_size)
    return _vmsg.wire.Profile.pr28(max_msg_size)


def _info_request(dev_num: int) -> bytes:
    # type 0 (transport request), msg_id, dev_num, token, msg_size 8: the same in both drafts.
    return struct.pack("<BBHHH", 0, _GET_DEVICE_INFO, dev_num, 0, 8)


def detect(link: Any, advance_time: Any, dev_num: int, fifo: int = 0) -> Detection:
    """Asks device `dev_num` behind `link` (a driver.FifoLink) for its info and
    names the draft from the response size. `advance_time(ns)` moves the
    target's clock between polls."""
    link.post(_info_request(dev_num))
    link.ring()
    seen: list[bytes] = []
    for _ in range(_ROUNDS):
        slot = link.poll()
        while slot is not None:
            raw = bytes(slot)
            seen.append(raw)
            if len(raw) >= 8:
                type_, msg_id, dn, _token, size = struct.unpack_from("<BBHHH", raw, 0)
                if type_ & 0x03 == _TYPE_RESPONSE and msg_id == _GET_DEVICE_INFO and dn == dev_num:
                    name = _INFO_SIZE.get(size)
                    if name is None:
                        raise ProfileDetectionError(
                            f"--profile auto: GET_DEVICE_INFO to FIFO {fifo} device {dev_num} was answered with "
                            f"{size} bytes; PR28 answers 32 and REV1-2026 52, so the device speaks neither "
                            f"(response {raw[:min(len(raw), 64)].hex()}); choose --profile pr28 or rev1-2026")
                    return Detection(name, fifo, dev_num, size)
            slot = link.poll()
        advance_time(_STEP_NS)
    got = ", ".join(r[:8].hex() for r in seen) or "nothing"
    raise ProfileDetectionError(
        f"--profile auto: GET_DEVICE_INFO to FIFO {fifo} device {dev_num} got no response "
        f"within {_ROUNDS} ms (frames seen: {got}); choose --profile pr28 or rev1-2026")


def resolve(target: Any, name: str | None, faults: Any = ()) -> tuple[str, Detection | None]:
    """The concrete profile of a run on `target`: `name` itself when it is a
    draft, else (``auto``) what the first device of the target's description
    answers. The target opens once, in its description's profile (a reference
    target builds its device that way), and is closed again."""
    name = check_name(name)
    if name != AUTO:
        return name, None
    desc = target.description
    if not desc.devices:
        raise ProfileDetectionError(f"--profile auto: target {target.name} describes no device to ask")
    first = min(desc.devices, key=lambda d: (d.fifo, d.dev_num))
    dut = target.open(faults=faults, profile=check_name(desc.profile, allow_auto=False))
    try:
        found = detect(dut.link(first.fifo), dut.port.advance_time, first.dev_num, first.fifo)
    finally:
        dut.close()
    return found.profile, found

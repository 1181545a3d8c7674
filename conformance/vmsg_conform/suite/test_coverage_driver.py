"""Driver rules the validating reference can see and no other test cites:
a driver message larger than the bus maximum (virtio-msg.md §3; VMSG-DRV-001,
checked on the wire as VMSG-DRV-012)."""

from __future__ import annotations

import struct

import pytest

from . import helpers as h
from . import transport_helpers as th

OVERSIZE_RULES = ("VMSG-DRV-001", "VMSG-DRV-012")


@pytest.mark.req("VMSG-DRV-001", "VMSG-DRV-012")
def test_reference_drivers_keep_every_message_within_the_bus_maximum(dut):
    # The blk driver negotiates, reads and writes config, programs queues and
    # moves data; not one of its frames may exceed the 64-byte bus maximum.
    blk, _ = th.blk_driver(dut)
    data = th.pattern(4096, 7)
    blk.write(8, data)
    assert bytes(blk.read(8, 4096)) == data
    rng, _ = th.rng_driver(dut)
    assert len(bytes(rng.read(256))) == 256
    bad = [r for r in th.rule_ids(th.violations_of(dut)) if r in OVERSIZE_RULES or r == "VMSG-DRV-011"]
    assert bad == [], f"reference drivers sent oversized or mis-sized frames: {bad}"


@pytest.mark.req("VMSG-DRV-001", "VMSG-DRV-012")
@pytest.mark.parametrize("claimed", [h.SLOT_SIZE + 4, 0x100, 0xFFFF])
def test_driver_message_larger_than_the_bus_maximum_is_flagged(dut, claimed):
    # SET_DRIVER_FEATURES with 13 blocks is 68 bytes: more than a slot holds.
    # The driver can only put its first 64 bytes in the slot and claim the rest.
    th.violations_of(dut)  # skip early on targets without a validator
    p = th.peer(dut, th.RNG_ID)
    p.info()
    whole = h.set_driver_features(p.dev.dev_num, 0, [0] * 13)  # the codec refuses to build it
    assert len(whole) == 68
    frame = bytearray(whole[:h.SLOT_SIZE])
    frame[6:8] = struct.pack("<H", claimed)
    reply = p.post_raw(bytes(frame))
    assert reply.frames == [], "an oversized driver message was answered"
    got = th.rule_ids(th.violations_of(dut))
    wanted = set(th.ids_under_profile(dut, ["VMSG-DRV-012"]))  # as the run's profile names the rule
    assert wanted & set(got), f"oversized driver message not flagged as {sorted(wanted)}; recorded {got}"

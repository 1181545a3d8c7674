"""Self-tests of discovery (vmsg_conform/targets/discovery.py): the topology
learnt through a port, and a typed error for each answer that makes none;
and of the description TOML it is written as (TargetDescription.to_toml)."""

from __future__ import annotations

import pytest

from vmsg_conform.targets import discovery, lib
from vmsg_conform.targets.description import ExpectedDevice, TargetDescription
from vmsg_conform.targets.ref import DEFAULT_DESCRIPTION

_vmsg = pytest.importorskip("vmsg_conform._vmsg")

RAM = 16 << 20
REF_TOPOLOGY = [(0, 1, "virtio-rng-device", 4), (0, 2, "virtio-blk-device", 2), (1, 1, "virtio-balloon-device", 5)]


def _ref_port(config: str = ""):
    path = lib.find_ref_library()
    if path is None or not path.exists():
        pytest.skip("the reference DUT library is not built")
    return _vmsg.dut.LibPort(str(path), config, RAM)


def _topology(desc: TargetDescription) -> list[tuple[int, int, str, int]]:
    return [(d.fifo, d.dev_num, d.kind, d.device_id) for d in desc.devices]


class Distorting(_vmsg.port.Port):
    """A port that forwards to another and changes what a driver sees:
    ``bar1_mask`` replaces the size bits BAR1 reads back after the all-ones
    write; ``mute_mmio`` drops every MMIO write (frames and doorbells never
    reach the device, so it never answers)."""

    def __init__(self, inner, bar1_mask: int | None = None, mute_mmio: bool = False):
        super().__init__()
        self.inner, self.bar1_mask, self.mute_mmio = inner, bar1_mask, mute_mmio
        self.sizing = False
        self.written: int | None = None

    def config_read(self, fn, offset, size):
        value = self.inner.config_read(fn, offset, size)
        if offset == 0x14 and size == 4 and self.bar1_mask is not None:
            # the distorted size, and an address that sticks as that size would let it
            shown = self.bar1_mask if self.sizing else self.written
            if shown is not None:
                return (shown & ~0xF) | (value & 0xF)
        return value

    def config_write(self, fn, offset, size, value):
        if offset == 0x14 and size == 4:
            self.sizing = value == 0xFFFFFFFF
            self.written = None if self.sizing else value
        self.inner.config_write(fn, offset, size, value)

    def mmio_read(self, addr, size):
        return self.inner.mmio_read(addr, size)

    def mmio_write(self, addr, size, value):
        if not self.mute_mmio:
            self.inner.mmio_write(addr, size, value)

    def mem_read(self, addr, length):
        return self.inner.mem_read(addr, length)

    def mem_write(self, addr, data):
        self.inner.mem_write(addr, data)

    def advance_time(self, ns):
        self.inner.advance_time(ns)

    def address_map(self):
        return self.inner.address_map()


# ---- what a driver finds --------------------------------------------------------------


def test_the_reference_library_default_is_the_ref_topology():
    desc = discovery.discover(_ref_port(""), name="found")
    ref = TargetDescription.from_toml(DEFAULT_DESCRIPTION)
    assert desc.name == "found"
    assert (desc.num_fifos, desc.pci_address, desc.vendor_id, desc.device_id) == \
        (ref.num_fifos, ref.pci_address, ref.vendor_id, ref.device_id)
    assert _topology(desc) == REF_TOPOLOGY == _topology(ref)


def test_a_configured_topology_is_found_as_configured():
    port = _ref_port("num-fifos=4 addr=05.0 device=virtio-rng-device,fifo=3,dev=31 "
                     "device=virtio-balloon-device,fifo=0,dev=0")
    desc = discovery.discover(port)
    assert desc.num_fifos == 4 and desc.pci_address == (0, 5, 0)
    assert _topology(desc) == [(0, 0, "virtio-balloon-device", 5), (3, 31, "virtio-rng-device", 4)]


def test_no_devices_is_a_topology_too():
    desc = discovery.discover(_ref_port("num-fifos=1"))
    assert desc.num_fifos == 1 and desc.devices == []


def test_discovery_goes_through_the_port_it_is_given():
    # the same answers through a Python port: nothing bypasses it
    desc = discovery.discover(Distorting(_ref_port("")))
    assert _topology(desc) == REF_TOPOLOGY


def test_an_unknown_device_id_gets_a_generic_kind_a_description_accepts():
    assert discovery.kind_of(4) == "virtio-rng-device"
    assert discovery.kind_of(99) == "virtio-device-99"
    desc = TargetDescription(name="x", devices=[{"fifo": 0, "dev_num": 3, "kind": discovery.kind_of(99),
                                                 "device_id": 99}])
    assert desc.devices[0].device_id == 99


# ---- answers that describe nothing ---------------------------------------------------------


def test_wrong_pci_ids_name_what_the_scan_found():
    with pytest.raises(discovery.DiscoveryError, match=r"no function 10ee:1234.*found .*00:04\.0 10ee:9039") as ei:
        discovery.discover(_ref_port(""), device_id=0x1234)
    assert ei.value.step == "pci-scan"


def test_no_amp_function_on_the_bus():
    # only the host's own chipset answers when the amp function sits elsewhere and is asked for by another ID
    with pytest.raises(discovery.DiscoveryError, match="8086:29c0") as ei:
        discovery.discover(_ref_port("addr=06.0"), vendor_id=0x1AF4, device_id=0x1041)
    assert ei.value.step == "pci-scan"


@pytest.mark.parametrize(("mask", "says"), [(0xFFFFF000, "BAR1 size 4096 is not a positive multiple of 16 KiB"),
                                            (0xFFFFA000, "BAR1 readback 0xffffa00. is not a contiguous size mask")],
                         ids=["4KiB", "not-a-size"])
def test_bar1_not_a_multiple_of_the_fifo_window(mask, says):
    port = Distorting(_ref_port(""), bar1_mask=mask)
    with pytest.raises(discovery.DiscoveryError, match=says) as ei:
        discovery.discover(port)
    assert ei.value.step == "amp-function"


def test_get_devices_unanswered():
    port = Distorting(_ref_port(""), mute_mmio=True)
    with pytest.raises(discovery.DiscoveryError, match="GET_DEVICES on FIFO 0") as ei:
        discovery.discover(port)
    assert ei.value.step == "get-devices"


# ---- the TOML it is written as -----------------------------------------------------------


def test_to_toml_reads_back_as_the_same_description(tmp_path):
    ref = TargetDescription.from_toml(DEFAULT_DESCRIPTION)
    ref.ram_size = 64 << 20
    ref.devices.append(ExpectedDevice(fifo=1, dev_num=9, kind="virtio-device-99", device_id=99,
                                      props={"odd key": 'a "quoted" value', "n": 3}))
    path = tmp_path / "d.toml"
    path.write_text(ref.to_toml())
    assert TargetDescription.from_toml(path) == ref


def test_to_toml_extra_tables_make_a_lib_spec(tmp_path):
    desc = discovery.discover(_ref_port(""), name="found")
    path = tmp_path / "d.toml"
    path.write_text(desc.to_toml(extra={"lib": {"path": str(lib.find_ref_library())}}))
    spec = lib.parse_spec(str(path))
    assert spec.library == lib.find_ref_library() and not spec.discover
    target = lib.LibTarget(spec)
    assert _topology(target.description) == REF_TOPOLOGY

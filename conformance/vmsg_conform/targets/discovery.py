"""Discovery: the topology of a target learnt through its port, as a driver
learns it, returned as a TargetDescription.

The steps follow amp-pci-device.md and virtio-msg.md: the PCI scan of bus 0
finds the virtio-msg-amp-pci function; its BAR1 size gives the number of
FIFOs (one 16 KiB window each; the MSI-X table must have a vector for each);
GET_DEVICES on each FIFO gives the device numbers; GET_DEVICE_INFO gives each
device's virtio device ID, named with the kinds descriptions use.

Every answer that no description can express raises DiscoveryError, which
says which step failed, what was asked and what the target answered.
"""

from __future__ import annotations

from typing import Any

from .base import TargetOpenError
from .description import VIRTIO_DEVICE_IDS, ExpectedDevice, TargetDescription

#: The amp function's PCI identity (amp-pci-device.md).
AMP_VENDOR_ID = 0x10EE
AMP_DEVICE_ID = 0x9039

KIND_OF_DEVICE_ID = {device_id: kind for kind, device_id in VIRTIO_DEVICE_IDS.items()}


class DiscoveryError(RuntimeError):
    """The target's answers during discovery describe no usable topology.

    ``step`` names the step ("pci-scan", "amp-function", "get-devices",
    "get-device-info"); the message says what was asked and what came back.
    """

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"discovery ({step}): {message}")
        self.step = step


def kind_of(device_id: int) -> str:
    """The description kind of a virtio device ID (a generic name for an ID
    the reference has no backend for; descriptions accept it with device_id)."""
    return KIND_OF_DEVICE_ID.get(device_id, f"virtio-device-{device_id}")


def _v():
    from .. import _vmsg  # noqa: PLC0415 (the module may be unbuilt)
    return _vmsg


def _functions_on_bus0(port: Any) -> list[str]:
    """'BB:DD.F VVVV:DDDD' for every function the scan finds (for messages)."""
    v = _v()
    out = []
    for addr in v.driver.scan_bus0(port):
        ids = port.config_read(addr, 0, 4)
        out.append(f"{addr} {ids & 0xFFFF:04x}:{ids >> 16:04x}")
    return out


def _open_amp(port: Any, vendor_id: int, device_id: int, profile: str):
    v = _v()
    from ..profiles import profile_of  # noqa: PLC0415

    if not v.driver.find_functions(port, vendor_id, device_id):
        found = ", ".join(_functions_on_bus0(port)) or "nothing"
        raise DiscoveryError("pci-scan", f"no function {vendor_id:04x}:{device_id:04x} "
                                         f"(virtio-msg-amp-pci) on bus 0; the scan found {found}")
    amap = port.address_map()
    ram, window = v.driver.GuestAllocator(amap), v.driver.BarWindowAllocator(amap)
    options = v.driver.AmpDriverOptions(profile=profile_of(profile))
    try:
        return v.driver.AmpDriver.open(port, ram, window, options)
    except v.driver.DriverError as exc:  # ProbeError: BAR0/BAR1/MSI-X answers
        raise DiscoveryError("amp-function", str(exc)) from None


def discover(port: Any, *, name: str = "discovered", profile: str = "pr28",
             vendor_id: int = AMP_VENDOR_ID, device_id: int = AMP_DEVICE_ID) -> TargetDescription:
    """The description of the target behind ``port``, learnt through it.

    ``profile`` is the draft the driver speaks while asking. The port is left
    with the function's BARs assigned and MSI-X on: open a fresh one to test.
    Raises DiscoveryError when an answer makes no sense.
    """
    v = _v()
    amp = _open_amp(port, vendor_id, device_id, profile)
    addr = amp.function().addr
    failures = (v.driver.LinkFailure, v.driver.VirtioFailure, v.driver.DriverError)
    devices: list[ExpectedDevice] = []
    for fifo in range(amp.num_fifos()):
        bus = v.driver.BusDriver(amp.fifo(fifo))
        try:
            numbers = list(v.driver.enumerate_devices(bus).devices)
        except failures as exc:
            raise DiscoveryError("get-devices", f"GET_DEVICES on FIFO {fifo}: {exc}") from None
        for dev_num in numbers:
            if not 0 <= dev_num <= 31:
                raise DiscoveryError("get-devices", f"GET_DEVICES on FIFO {fifo} lists device {dev_num}, "
                                                    "beyond the 32 a description can name")
            try:
                info = v.driver.TransportDriver(bus, dev_num).get_info()
            except failures as exc:
                raise DiscoveryError("get-device-info",
                                     f"GET_DEVICE_INFO to FIFO {fifo} device {dev_num}: {exc}") from None
            devices.append(ExpectedDevice(fifo=fifo, dev_num=dev_num, kind=kind_of(info.device_id),
                                          device_id=info.device_id))
    return TargetDescription(name=name, vendor_id=vendor_id, device_id=device_id, num_fifos=amp.num_fifos(),
                             pci_address=(addr.bus, addr.device, addr.function), profile=profile, devices=devices)


def discover_target(port: Any, target: str, started_as: str) -> TargetDescription:
    """``discover`` for a target with no description: a DiscoveryError becomes
    the TargetOpenError that stops a run (`started_as` says how the target was
    started, e.g. "the library's default configuration")."""
    try:
        return discover(port, name=target)
    except DiscoveryError as exc:
        raise TargetOpenError(
            target, f"its topology through the port (PCI scan, BAR1, GET_DEVICES, GET_DEVICE_INFO) of {started_as}",
            str(exc), "Describe the topology in a TOML file and name it in the target spec "
                      f"(`vmsg-conform describe {target}` writes one to start from).") from None


def check_identity(port: Any, description: TargetDescription, target: str) -> None:
    """Raises TargetOpenError unless the described function answers at its
    address with its vendor and device ID: without it no test can run."""
    v = _v()
    addr = v.port.PciAddress(*description.pci_address)
    ids = port.config_read(addr, 0, 4)
    want = (description.device_id << 16) | description.vendor_id
    if ids == want:
        return
    found = ", ".join(_functions_on_bus0(port)) or "nothing"
    raise TargetOpenError(
        target, f"for function {description.vendor_id:04x}:{description.device_id:04x} at {addr}",
        f"{addr} reads {ids & 0xFFFF:04x}:{ids >> 16:04x}; the scan of bus 0 found {found}",
        f"Correct vendor_id, device_id or pci_address in the description "
        f"(`vmsg-conform describe` shows what a driver finds).")

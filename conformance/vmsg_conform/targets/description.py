"""Target descriptions: what a device under test is expected to look like
(PCI identity, FIFOs, the devices behind each FIFO), loaded from TOML."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: virtio device IDs of the QEMU device names the reference can build.
VIRTIO_DEVICE_IDS = {
    "virtio-rng-device": 4,
    "virtio-blk-device": 2,
    "virtio-balloon-device": 5,
}

_BDF = re.compile(r"^(?:([0-9a-fA-F]{1,2}):)?([0-9a-fA-F]{1,2})\.([0-7])$")


def parse_pci_address(value: Any) -> tuple[int, int, int]:
    """(bus, device, function) from "00:04.0", "04.0" or a 3-item sequence."""
    if isinstance(value, str):
        m = _BDF.match(value.strip())
        if not m:
            raise ValueError(f"pci_address {value!r}: expected BB:DD.F")
        bus, dev, fn = int(m.group(1) or "0", 16), int(m.group(2), 16), int(m.group(3))
    else:
        try:
            bus, dev, fn = (int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"pci_address {value!r}: expected BB:DD.F or [bus, device, function]") from None
    if not (0 <= bus <= 255 and 0 <= dev <= 31 and 0 <= fn <= 7):
        raise ValueError(f"pci_address {value!r} out of range (bus 0..255, device 0..31, function 0..7)")
    return bus, dev, fn


@dataclass
class ExpectedDevice:
    """One device the target should have behind a FIFO."""

    fifo: int
    dev_num: int
    kind: str
    device_id: int
    #: QEMU-style properties used when a reference builds the device
    #: (e.g. {"capacity": "1M"}); informational for other targets.
    props: dict[str, Any] = field(default_factory=dict)


@dataclass
class TargetDescription:
    """What a target under test is expected to be."""

    name: str
    vendor_id: int = 0x10EE
    device_id: int = 0x9039
    num_fifos: int = 1
    pci_address: tuple[int, int, int] = (0, 4, 0)
    #: The draft the device speaks, and so the run's profile when --profile is
    #: not given ("auto" asks the device).
    profile: str = "pr28"
    devices: list[ExpectedDevice] = field(default_factory=list)
    #: Guest RAM for an embedded target (None = its default).
    ram_size: int | None = None
    #: Targets that build the reference (ref, lib:ref, qtest): the draft its
    #: device speaks whatever the run's profile, e.g. a PR28 device judged
    #: under REV1 (None: the run's profile).
    device_profile: str | None = None

    def __post_init__(self) -> None:
        self.pci_address = parse_pci_address(self.pci_address)
        self.devices = [d if isinstance(d, ExpectedDevice) else _device(d, i) for i, d in enumerate(self.devices)]
        self.validate()

    def validate(self) -> None:
        """Raises ValueError for a description no target could match."""
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("target description: name must be a non-empty string")
        if not isinstance(self.num_fifos, int) or self.num_fifos < 1:
            raise ValueError(f"target description {self.name}: num_fifos must be >= 1, got {self.num_fifos!r}")
        from ..profiles import check_name  # noqa: PLC0415 (profiles imports nothing from here)
        try:
            check_name(self.profile)
            if self.device_profile is not None:
                check_name(self.device_profile, allow_auto=False)
        except ValueError as exc:
            raise ValueError(f"target description {self.name}: {exc}") from None
        seen = set()
        for d in self.devices:
            if not 0 <= d.fifo < self.num_fifos:
                raise ValueError(f"target description {self.name}: device {d.kind} on FIFO {d.fifo}, "
                                 f"but num_fifos is {self.num_fifos}")
            if not 0 <= d.dev_num <= 31:
                raise ValueError(f"target description {self.name}: dev_num {d.dev_num} outside 0..31")
            if (d.fifo, d.dev_num) in seen:
                raise ValueError(f"target description {self.name}: FIFO {d.fifo} dev_num {d.dev_num} listed twice")
            seen.add((d.fifo, d.dev_num))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TargetDescription":
        known = {"name", "vendor_id", "device_id", "num_fifos", "pci_address", "profile", "devices", "ram_size",
                 "device_profile"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"target description: unknown keys {', '.join(unknown)}")
        if "name" not in data:
            raise ValueError("target description: missing 'name'")
        return cls(**data)

    @classmethod
    def from_toml(cls, path: str | Path) -> "TargetDescription":
        p = Path(path)
        try:
            with p.open("rb") as f:
                data = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{p}: {exc}") from None
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{p}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pci_address"] = list(self.pci_address)
        for optional in ("ram_size", "device_profile"):
            if d[optional] is None:
                del d[optional]
        return d

    def to_toml(self, extra: dict[str, dict[str, Any]] | None = None) -> str:
        """This description as TOML that ``from_toml`` reads back; ``extra``
        adds tables after it (e.g. ``{"lib": {"path": ...}}``)."""
        d = self.to_dict()
        bus, dev, fn = self.pci_address
        lines = [f"name = {_toml_str(self.name)}",
                 f"vendor_id = 0x{self.vendor_id:04X}",
                 f"device_id = 0x{self.device_id:04X}",
                 f"num_fifos = {self.num_fifos}",
                 f'pci_address = "{bus:02x}:{dev:02x}.{fn:x}"',
                 f"profile = {_toml_str(self.profile)}"]
        for key in ("ram_size", "device_profile"):
            if key in d:
                lines.append(f"{key} = {_toml_value(d[key])}")
        for device in self.devices:
            lines += ["", "[[devices]]", f"fifo = {device.fifo}", f"dev_num = {device.dev_num}",
                      f"kind = {_toml_str(device.kind)}", f"device_id = {device.device_id}"]
            if device.props:
                inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sorted(device.props.items()))
                lines.append(f"props = {{ {inner} }}")
        for table, values in (extra or {}).items():
            lines += ["", f"[{table}]"] + [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in values.items()]
        return "\n".join(lines) + "\n"

    def devices_on(self, fifo: int) -> list[ExpectedDevice]:
        return [d for d in self.devices if d.fifo == fifo]

    def find(self, dev_num: int, fifo: int = 0) -> ExpectedDevice | None:
        for d in self.devices:
            if d.fifo == fifo and d.dev_num == dev_num:
                return d
        return None


def _device(d: Any, index: int) -> ExpectedDevice:
    if not isinstance(d, dict):
        raise ValueError(f"devices[{index}]: expected a table, got {type(d).__name__}")
    missing = [k for k in ("fifo", "dev_num", "kind") if k not in d]
    if missing:
        raise ValueError(f"devices[{index}]: missing {', '.join(missing)}")
    unknown = sorted(set(d) - {"fifo", "dev_num", "kind", "device_id", "props"})
    if unknown:
        raise ValueError(f"devices[{index}]: unknown keys {', '.join(unknown)}")
    kind = str(d["kind"])
    device_id = d.get("device_id", VIRTIO_DEVICE_IDS.get(kind))
    if device_id is None:
        raise ValueError(f"devices[{index}]: device_id needed for unknown kind {kind!r}")
    return ExpectedDevice(fifo=int(d["fifo"]), dev_num=int(d["dev_num"]), kind=kind, device_id=int(device_id),
                          props=dict(d.get("props", {})))


def _toml_str(s: Any) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(str(s), ensure_ascii=False)


def _toml_key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "-_" for c in k) else _toml_str(k)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _toml_str(value)

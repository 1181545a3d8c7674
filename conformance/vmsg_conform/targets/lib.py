"""The ``lib`` target: a device under test built as a shared library.

A vendor builds its virtio-msg-amp-pci model (firmware, FPGA or hypervisor
model) as a shared library behind the C ABI in ``reference/include/vmsg_dut.h``;
the suite loads it through ``_vmsg.dut.LibPort`` and runs every test through
the port unchanged. Spec forms accepted by ``resolve()``:

``lib:ref``
    the reference built as a library (``libvmsg_ref_dut.so`` next to the
    native module, or ``$VMSG_REF_DUT``), with no description: as below.
``lib:PATH.so``
    a library with no description: it is created with the empty
    configuration string (the library's default, vmsg_dut.h) and the suite
    learns its topology through the port (discovery.py), as a driver would.
    Tests then open it with that configuration plus the run's faults (and
    profile, when not PR28). ``vmsg-conform describe lib:PATH.so`` prints what was found.
``lib:PATH.toml``
    a target description (``TargetDescription.from_toml``) with a ``[lib]``
    table: ``path`` (the library, relative to the TOML file) and optionally
    ``config`` (the configuration string; built from the description when
    absent) and ``ram_size`` (bytes of guest RAM, default 128 MiB).

The configuration string grammar is documented in ``vmsg_dut.h``; faults are
appended as ``fault=NAME,...`` and the profile as ``profile=NAME``.

Two capabilities are optional (ABI 1.1): a library with the ``stimulus``
entry gets ``dut.stimulus.config_change``, one with ``violations`` gets
``dut.violations()`` (the same RuleViolation objects as the ``ref`` target);
without them the tests that need them skip.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..dut import Stimulus
from .base import Target, TargetOpenError, split_faults
from .description import TargetDescription
from .ref import DEFAULT_DESCRIPTION, profile_of

DEFAULT_RAM_SIZE = 128 << 20
REF_LIBRARY_NAME = "libvmsg_ref_dut.so"


def _device_props(dev: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (getattr(dev, "props", None) or {}).items()}


def config_for(description: Any, faults: Iterable[str] = (), profile: str = "pr28") -> str:
    """The configuration string for a target description (any object with
    ``num_fifos``, ``pci_address`` (bus, device, function) and ``devices``
    whose items have ``fifo``, ``dev_num``, ``kind`` and optionally ``props``)."""
    bus, device, function = tuple(description.pci_address)
    if bus != 0:
        raise ValueError(f"lib target: PCI bus {bus}: DUT libraries model bus 0 only")
    parts = [f"num-fifos={description.num_fifos}", f"addr={device:02x}.{function:x}", f"profile={profile}"]
    for dev in description.devices:
        token = f"device={dev.kind},fifo={dev.fifo},dev={dev.dev_num}"
        for key, value in sorted(_device_props(dev).items()):
            if any(c in f"{key}{value}" for c in " ,") or "=" in key:
                raise ValueError(f"lib target: device property {key}={value!r} cannot be written")
            token += f",{key}={value}"
        parts.append(token)
    return with_faults(" ".join(parts), faults)


def with_faults(config: str, faults: Iterable[str] = ()) -> str:
    """`config` with a ``fault=`` token for the given fault names (if any)."""
    names = [str(f).strip() for f in faults if str(f).strip()]
    for n in names:
        if any(c in n for c in " ,="):
            raise ValueError(f"lib target: fault name {n!r} is malformed")
    return f"{config} fault={','.join(names)}".strip() if names else config


def find_ref_library() -> Path | None:
    """The reference DUT library: $VMSG_REF_DUT, else next to this package's native module."""
    env = os.environ.get("VMSG_REF_DUT")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent / REF_LIBRARY_NAME
    if here.exists():
        return here
    # A pip-installed package has no separate library: its native module is
    # built with the reference DUT entry point (setup.py), so it serves as one.
    try:
        from .. import _vmsg  # noqa: PLC0415 (the module may be unbuilt)
    except ImportError:
        return None
    if getattr(getattr(_vmsg, "dut", None), "MODULE_IS_REF_DUT", False):
        return Path(_vmsg.__file__)
    return None


@dataclass
class LibSpec:
    """What a ``lib:...`` spec names: the library, its configuration (None =
    build it from the description) and where the description comes from."""

    library: Path | None
    config: str | None = None
    ram_size: int = DEFAULT_RAM_SIZE
    description_toml: Path | None = None
    label: str = "lib"
    extra: dict[str, Any] = field(default_factory=dict)
    #: No description: the topology is discovered through the port.
    discover: bool = False


def parse_spec(rest: str) -> LibSpec:
    """Parses what follows ``lib:``. Raises ValueError for an empty spec or a
    TOML without a usable ``[lib]`` table."""
    rest = rest.strip()
    if not rest:
        raise ValueError("lib target: expected lib:ref, lib:PATH.so or lib:PATH.toml")
    if rest == "ref":
        return LibSpec(library=find_ref_library(), label="lib:ref", discover=True)
    path = Path(rest)
    if path.suffix == ".toml":
        with open(path, "rb") as f:
            data = tomllib.load(f)
        table = data.get("lib")
        if not isinstance(table, dict) or not isinstance(table.get("path"), str):
            raise ValueError(f"lib target: {path} has no [lib] table with a path")
        lib_path = Path(table["path"])
        if not lib_path.is_absolute():
            lib_path = path.parent / lib_path
        config = table.get("config")
        if config is not None and not isinstance(config, str):
            raise ValueError(f"lib target: {path}: [lib] config must be a string")
        ram_size = table.get("ram_size", DEFAULT_RAM_SIZE)
        if not isinstance(ram_size, int) or ram_size <= 0:
            raise ValueError(f"lib target: {path}: [lib] ram_size must be a positive integer")
        return LibSpec(library=lib_path, config=config, ram_size=ram_size, description_toml=path,
                       label=f"lib:{path}")
    return LibSpec(library=path, label=f"lib:{path}", discover=True)


def parse_violation_line(line: str):
    """A ``transport.RuleViolation`` from one violation line
    (``RULE-ID dev=N KIND: DETAIL``, vmsg_dut.h). A line that does not follow
    the format is kept whole as the detail, under the rule ``?``."""
    from .. import _vmsg  # noqa: PLC0415
    mk = _vmsg.transport.RuleViolation
    parts = line.split(" ", 2)
    if len(parts) >= 2 and parts[1].startswith("dev=") and parts[1][4:].isdigit() and int(parts[1][4:]) < 0x10000:
        rest = parts[2] if len(parts) == 3 else ""
        kind, sep, detail = rest.partition(": ")
        if not sep:
            kind, detail = "", rest
        return mk(rule=parts[0], dev_num=int(parts[1][4:]), kind=kind, detail=detail)
    return mk(rule="?", dev_num=0, kind="", detail=line)


class ActionStimulus(Stimulus):
    """``dut.stimulus`` over a text action channel (a DUT library's stimulus
    entry, a qtest server's extension command): ``run(action)`` returns False
    when the target cannot perform it, and the test skips as on ``ref``."""

    def __init__(self, run) -> None:
        self._run = run

    def config_change(self, dev_num: int, fifo: int = 0) -> None:
        """A device-side configuration change (generation bump + EVENT_CONFIG)."""
        if not self._run(f"config-change fifo={int(fifo)} dev={int(dev_num)}"):
            import pytest  # noqa: PLC0415
            pytest.skip(f"the target cannot change the configuration of device {dev_num} on FIFO {fifo}")


def _port_error():
    from .. import _vmsg  # noqa: PLC0415
    return _vmsg.port.PortError


def _native():
    """The native dut submodule and None, or None and the reason it is missing."""
    try:
        from .. import _vmsg  # noqa: PLC0415 (the module may be unbuilt)
    except ImportError as exc:
        return None, f"native module vmsg_conform._vmsg not built ({exc})"
    mod = getattr(_vmsg, "dut", None)
    if mod is None:
        return None, "native module has no dut submodule (rebuild the bindings)"
    return mod, None


class LibTarget(Target):
    """A target whose device is a DUT shared library, driven through LibPort."""

    kind = "lib"

    def __init__(self, spec: LibSpec) -> None:
        desc = None
        if spec.description_toml is not None:
            # The [lib] table is ours; the rest is an ordinary description.
            with open(spec.description_toml, "rb") as f:
                data = {k: v for k, v in tomllib.load(f).items() if k != "lib"}
            try:
                desc = TargetDescription.from_dict(data)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{spec.description_toml}: {exc}") from None
        elif not spec.discover:
            desc = TargetDescription.from_toml(DEFAULT_DESCRIPTION)
        super().__init__(spec.label, desc)
        self.spec = spec
        if desc is not None and spec.description_toml is None and desc.ram_size is not None:
            self.spec.ram_size = desc.ram_size

    def _discover(self) -> TargetDescription:
        from .discovery import discover_target  # noqa: PLC0415

        reason = self.available()
        if reason is not None:
            raise TargetOpenError(self.name, f"to load {self.spec.library}", reason,
                                  "Build or point at a loadable DUT library.")
        return discover_target(self.open_port(), self.name,
                               "the library created with its default configuration (the empty string)")

    def with_description(self, description: TargetDescription) -> "LibTarget | None":
        """The same library configured from another description (a topology
        variant); None when the spec fixes the configuration string."""
        if self.spec.config is not None:
            return None
        variant = copy.copy(self)
        variant.description = description
        variant.spec = dataclasses.replace(self.spec, discover=False)
        if description.ram_size is not None:
            variant.spec.ram_size = description.ram_size
        return variant

    unavailable_is_an_error = True  # a named library that is missing or will not load

    def available(self) -> str | None:
        mod, reason = _native()
        if reason:
            return reason
        lib = self.spec.library
        if lib is None:
            return f"{REF_LIBRARY_NAME} not found (build with VMSG_BUILD_PYTHON=ON, or set VMSG_REF_DUT)"
        if not Path(lib).exists():
            return f"DUT library {lib} does not exist"
        try:
            mod.library_name(str(lib))
        except Exception as exc:  # port.PortError: not loadable, wrong ABI, missing entry
            return str(exc)
        return None

    def config(self, faults: Iterable[str] = (), profile: str | None = None) -> str:
        """The configuration string open() passes to the library."""
        names = split_faults(faults)
        if self.spec.config is not None:
            return with_faults(self.spec.config, names)
        if self.spec.discover:
            # The library's default topology; profile= only for a draft other than the
            # ABI's default, so a plain run creates it with exactly the empty string.
            return with_faults(f"profile={profile}" if profile and profile != "pr28" else "", names)
        desc = self.description
        return config_for(desc, names, desc.device_profile or profile or desc.profile or "pr28")

    def open_port(self, faults: Iterable[str] = (), profile: str | None = None):
        """A fresh ``_vmsg.dut.LibPort``. Raises TargetOpenError when the
        library refuses (a fault, topology or profile it cannot build)."""
        mod, reason = _native()
        if reason:
            raise RuntimeError(reason)
        if self.spec.library is None:
            raise RuntimeError(f"{REF_LIBRARY_NAME} not found")
        config = self.config(faults, profile)
        try:
            return mod.LibPort(str(self.spec.library), config, self.spec.ram_size)
        except _port_error() as exc:
            hint = ("Run it with no description (--target lib:PATH.so) to use the library's default topology, "
                    "or write the topology it builds with `vmsg-conform describe lib:PATH.so`."
                    if not self.spec.discover else
                    "Check that the library builds its default topology with the run's profile and faults.")
            raise TargetOpenError(self.name, f"to create {self.spec.library} with the configuration {config!r}",
                                  str(exc), hint) from None

    def open(self, faults: Iterable[str] = (), profile: str = "pr28"):
        from ..dut import Dut  # noqa: PLC0415

        name = profile or self.description.profile or "pr28"
        port = self.open_port(faults, name)
        violations = None
        if port.has_violations():
            # The port keeps every line it fetched, so repeated calls see the
            # whole history, as on ref.
            violations = lambda: [parse_violation_line(line) for line in port.peek_violations()]  # noqa: E731
        stimulus = ActionStimulus(port.stimulus) if port.has_stimulus() else None
        return Dut(port=port, description=self.description, profile=profile_of(name), target=self,
                   faults=split_faults(faults), violations=violations, stimulus=stimulus, native=port)

    def description_tables(self) -> dict[str, dict[str, Any]]:
        """The ``[lib]`` table that makes a described TOML a ``lib:PATH.toml`` spec."""
        table: dict[str, Any] = {"path": str(Path(self.spec.library).resolve()) if self.spec.library else ""}
        if self.spec.config is not None:
            table["config"] = self.spec.config
        if self.spec.ram_size != DEFAULT_RAM_SIZE:
            table["ram_size"] = self.spec.ram_size
        return {"lib": table}

    def info(self) -> dict[str, Any]:
        info = super().info()
        info["library"] = str(self.spec.library) if self.spec.library else None
        mod, reason = _native()
        if reason:
            info["error"] = reason
        elif self.spec.library is not None and Path(self.spec.library).exists():
            try:
                info["library_name"] = mod.library_name(str(self.spec.library))
                info["abi"] = f"{mod.ABI_MAJOR}.{mod.ABI_MINOR}"
            except Exception as exc:  # reports must still be written
                info["error"] = str(exc)
        try:
            info["config"] = self.config()
        except ValueError as exc:
            info["config_error"] = str(exc)
        return info


def make_lib_target(arg: str | None) -> LibTarget:
    """Factory registered as kind ``lib`` (``arg`` is the text after ``lib:``)."""
    return LibTarget(parse_spec(arg or ""))

"""QEMU command lines for a target description (amp-pci-device.md §8).

The amp device gets ``id=amp0`` so every virtio device can name its slot
with an explicit ``bus=`` path: without one QEMU puts a device on the
highest free slot (dev_num 31), not where the description says
(qemu-observed.md §1).

Two dialects share the topology part:

``qemu``
    a real QEMU: rng devices get an ``rng-builtin`` object, blk devices a
    raw image file of the described capacity (``-blockdev`` file + raw), so
    writes stick and read back as on the reference; ``disk_images`` names
    the files, the target creates them. Reference-only properties (``seed``, ``target``,
    ``blk_size``, ``seg_max``) have no QEMU equivalent and are left out.
    ``queue-size`` goes only to virtio-blk, whose QEMU property it is (a
    power of two in 4..1024 there); QEMU's virtio-rng and virtio-balloon have
    fixed maxima (8 and 128), so for them it is dropped when it names that
    maximum and refused otherwise: the description never promises a queue
    that the QEMU device does not have.
``ref``
    vmsg-ref-qtest: the same topology, properties passed through as the
    reference's device factory takes them, and ``--fault NAME,...`` for the
    reference fault modes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable

AMP_DEVICE = "virtio-msg-amp-pci"
AMP_ID = "amp0"


@dataclass(frozen=True)
class MachineKind:
    """A machine type the qemu target can build a command line for."""

    name: str          #: "q35" or "virt"
    machine: str       #: -M value
    host_bridge: str   #: absolute path of the root PCIe bus
    native: str        #: _vmsg.qtest.MachineType member name
    extra: tuple[str, ...] = ()  #: arguments the machine needs after -M


MACHINES = {
    "q35": MachineKind("q35", "q35", "/q35-pcihost/pcie.0", "Q35"),
    # -cpu max: virt's default CPU is the 32-bit cortex-a15; a 64-bit one keeps
    # the high ECAM (0x4010000000) where libqos and QtestPort look for it,
    # whatever QEMU decides about highmem for 32-bit CPUs. None runs under qtest.
    "virt": MachineKind("virt", "virt", "/gpex-pcihost/pcie.0", "ArmVirt", ("-cpu", "max")),
}

#: Environment variable naming the machine (the plugin's --vmsg-machine sets it).
MACHINE_ENV = "VMSG_MACHINE"

_SIZE = re.compile(r"^(\d+|0[xX][0-9a-fA-F]+)([kKmMgG]?)$")

QUEUE_SIZE = "queue-size"
#: Queue maxima that QEMU builds in for devices without a queue-size property
#: (qemu-observed.md §9).
QEMU_FIXED_QUEUE_MAX = MappingProxyType({"virtio-rng-device": 8, "virtio-balloon-device": 128})
#: What QEMU's virtio-blk accepts as queue-size: a power of two above 2 and
#: at most VIRTQUEUE_MAX_SIZE.
QEMU_BLK_QUEUE_SIZES = range(4, 1025)


def machine_for_binary(binary: str) -> MachineKind:
    """q35 for x86 binaries, virt for aarch64/arm ones (by the binary's name)."""
    base = os.path.basename(binary)
    return MACHINES["virt"] if ("aarch64" in base or base.endswith("-arm")) else MACHINES["q35"]


def machine_named(name: str) -> MachineKind:
    """The machine called `name` ("q35" or "virt"); ValueError for others."""
    try:
        return MACHINES[name.strip()]
    except KeyError:
        raise ValueError(f"unknown machine {name!r} (expected one of: {', '.join(MACHINES)})") from None


def machine_from_env() -> MachineKind | None:
    """The machine ``$VMSG_MACHINE`` names, or None when it is unset or empty;
    ValueError for an unknown name."""
    name = os.environ.get(MACHINE_ENV, "").strip()
    return machine_named(name) if name else None


def bus_path(machine: MachineKind, fifo: int, dev_num: int, amp_id: str = AMP_ID) -> str:
    """The bus= value of device number `dev_num` on FIFO `fifo` (§8.2)."""
    return f"{machine.host_bridge}/{amp_id}/fifo{fifo}/virtio-msg/bus{dev_num}/virtio-msg-dev"


def capacity_bytes(value: Any) -> int:
    """Bytes from a reference capacity: sectors as a bare number, or bytes
    with a K/M/G suffix (as devices/factory.hpp reads it)."""
    m = _SIZE.match(str(value).strip())
    if not m:
        raise ValueError(f"capacity {value!r}: expected sectors or bytes with a K/M/G suffix")
    n = int(m.group(1), 0)
    unit = m.group(2).lower()
    return n * 512 if not unit else n * {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]


def _qemu_queue_size(kind: str, props: dict[str, Any]) -> None:
    """Rewrites or removes ``queue-size`` in `props` for a real QEMU (see the
    module docstring); ValueError for a value that QEMU would not build."""
    if QUEUE_SIZE not in props:
        return
    raw = props[QUEUE_SIZE]
    m = _SIZE.match(str(raw).strip())
    if not m or m.group(2):
        raise ValueError(f"{kind}: {QUEUE_SIZE}={raw!r}: expected a number")
    n = int(m.group(1), 0)
    fixed = QEMU_FIXED_QUEUE_MAX.get(kind)
    if fixed is not None:
        if n != fixed:
            raise ValueError(f"{kind}: {QUEUE_SIZE}={raw}: QEMU has no such property and its queue maximum "
                             f"is fixed at {fixed}")
        del props[QUEUE_SIZE]
    elif kind == "virtio-blk-device":
        if n not in QEMU_BLK_QUEUE_SIZES or n & (n - 1):
            raise ValueError(f"{kind}: {QUEUE_SIZE}={raw}: QEMU takes a power of two in "
                             f"{QEMU_BLK_QUEUE_SIZES.start}..{QEMU_BLK_QUEUE_SIZES.stop - 1}")
        props[QUEUE_SIZE] = n  # decimal: the spelling QEMU is sure to parse


def _prop_text(key: str, value: Any) -> str:
    text = str(value)
    if isinstance(value, bool):
        text = "on" if value else "off"
    if "," in text or "," in key or "=" in key or not key:
        raise ValueError(f"device property {key}={text!r} cannot be written on a QEMU command line")
    return f"{key}={text}"


@dataclass(frozen=True)
class DiskImage:
    """The raw image file behind one described virtio-blk device."""

    index: int  # position of the device in the description
    path: str
    size: int  # bytes


def block_node(index: int) -> str:
    """The block node name of the virtio-blk device at `index` in the
    description (QMP's block_resize takes it, on QEMU and vmsg-ref-qtest)."""
    return f"disk{index}"


def disk_images(description: Any, directory: str) -> list[DiskImage]:
    """The image files a ``qemu``-dialect command line for `description`
    refers to, one per virtio-blk device, in `directory` (pure: nothing is
    created here)."""
    return [DiskImage(i, os.path.join(directory, f"disk{i}.raw"),
                      capacity_bytes((getattr(d, "props", None) or {}).get("capacity", "1M")))
            for i, d in enumerate(description.devices) if d.kind == "virtio-blk-device"]


def build_args(description: Any, machine: MachineKind | None = None, dialect: str = "qemu",
               faults: Iterable[str] = (), disk_dir: str = "DISKDIR", device_profile: str | None = None) -> list[str]:
    """The arguments (after the binary) for `description`.

    `description` is a TargetDescription (or any object with ``num_fifos``,
    ``pci_address``, ``ram_size`` and ``devices``). Images of virtio-blk
    devices are named in `disk_dir` (see ``disk_images``; the default is a
    placeholder for reports). Raises ValueError for what a command line
    cannot express (an amp device off bus 0, faults for a real QEMU,
    unwritable properties). `device_profile` is the draft vmsg-ref-qtest's
    device speaks (the ref dialect's ``profile=`` property; PR28, its default,
    is left implicit); a real QEMU speaks what it was built to.
    """
    if dialect not in ("qemu", "ref"):
        raise ValueError(f"unknown command-line dialect {dialect!r}")
    machine = machine or MACHINES["q35"]
    bus, dev, fn = tuple(description.pci_address)
    if bus != 0:
        raise ValueError(f"amp device at bus {bus}: only devices on the root bus (bus 0) can be placed with addr=")
    names = [str(f).strip() for f in faults if str(f).strip()]
    if names and dialect != "ref":
        raise ValueError("fault modes exist only in the reference (use --vmsg-target qtest)")

    args = ["-M", machine.machine, *machine.extra]
    ram = getattr(description, "ram_size", None)
    if ram:
        if ram % (1 << 20):
            raise ValueError(f"ram_size {ram}: QEMU takes whole MiB")
        args += ["-m", f"{ram >> 20}M"]
    amp = f"{AMP_DEVICE},id={AMP_ID},addr={dev:02x}.{fn:x}"
    if description.num_fifos != 1:
        amp += f",num-fifos={description.num_fifos}"
    if dialect == "ref" and device_profile not in (None, "", "pr28"):
        amp += f",profile={device_profile}"
    args += ["-device", amp]

    images = {img.index: img for img in disk_images(description, disk_dir)} if dialect == "qemu" else {}
    for i, d in enumerate(description.devices):
        props = dict(getattr(d, "props", None) or {})
        opts = [d.kind, f"bus={bus_path(machine, d.fifo, d.dev_num)}"]
        if dialect == "qemu":
            _qemu_queue_size(d.kind, props)
        if d.kind == "virtio-rng-device":
            args += ["-object", f"rng-builtin,id=rng{i}"]
            opts.append(f"rng=rng{i}")
            if dialect == "qemu":
                props.pop("seed", None)
        elif d.kind == "virtio-blk-device" and dialect == "qemu":
            props.pop("capacity", None)
            path = images[i].path
            if "," in path:
                raise ValueError(f"disk image path {path!r}: a comma cannot be written on QEMU's command line")
            ro = ",read-only=on" if _truthy(props.pop("read_only", False)) else ""
            args += ["-blockdev", f"driver=file,node-name=file{i},filename={path}{ro}",
                     "-blockdev", f"driver=raw,node-name={block_node(i)},file=file{i}{ro}"]
            opts.append(f"drive={block_node(i)}")
            for ref_only in ("blk_size", "seg_max"):
                props.pop(ref_only, None)
        elif d.kind == "virtio-blk-device":
            opts.append(f"drive={block_node(i)}")  # the reference's name for the node, as QEMU's
        elif d.kind == "virtio-balloon-device" and dialect == "qemu":
            props.pop("target", None)
        opts += [_prop_text(k, v) for k, v in sorted(props.items())]
        args += ["-device", ",".join(opts)]

    if names:
        args += ["--fault", ",".join(names)]
    return args


#: Options the suite itself sets on every command line (QemuProcess adds the rest).
_OWN_OPTIONS = ("-M", "-machine", "-qtest", "-accel", "-display", "-nodefaults", "-chardev", "-qmp")


def user_command_line(user_args: Iterable[str], machine: MachineKind | None = None, dialect: str = "qemu",
                      faults: Iterable[str] = ()) -> list[str]:
    """The arguments (after the binary) for the user's own device options
    (``--qemu-args``: ``-device``, ``-object``, ``-blockdev``, ``-m``...) on
    `machine`. Pure. ValueError for an option the suite sets itself, or for
    faults on a real QEMU."""
    args = [str(a) for a in user_args]
    own = sorted({a for a in args if a in _OWN_OPTIONS})
    if own:
        raise ValueError(f"--qemu-args: {', '.join(own)} is set by the suite (the machine by --machine)")
    if not any(a == "-device" for a in args):
        raise ValueError("--qemu-args: no -device option (give the virtio-msg-amp-pci device and its devices)")
    names = [str(f).strip() for f in faults if str(f).strip()]
    if names and dialect != "ref":
        raise ValueError("fault modes exist only in the reference (use --vmsg-target qtest)")
    machine = machine or MACHINES["q35"]
    out = ["-M", machine.machine, *machine.extra, *args]
    if names:
        out += ["--fault", ",".join(names)]
    return out


_RAM = re.compile(r"^(?:size=)?(\d+)([kKmMgG]?)[bB]?$")


def ram_of_args(args: Iterable[str]) -> int | None:
    """Bytes of guest RAM a ``-m`` option in `args` asks for (QEMU: a bare
    number is MiB), or None without one. Pure; ValueError for a value this
    cannot read."""
    args = list(args)
    ram = None
    for i, a in enumerate(args):
        if a != "-m":
            continue
        value = args[i + 1] if i + 1 < len(args) else ""
        m = _RAM.match(value.split(",")[0].strip())
        if not m:
            raise ValueError(f"--qemu-args: -m {value!r}: expected a size such as 256M or 1G")
        ram = int(m.group(1)) << {"": 20, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]
    return ram


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "on", "true", "yes")

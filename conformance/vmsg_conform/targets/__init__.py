"""Targets: what the suite runs against.

``resolve(spec)`` turns a --vmsg-target value into a Target:
  "ref"             the embedded reference, default topology (ref.toml)
  "ref:PATH.toml"   the embedded reference built from a description
  "KIND:ARG"        a kind added with register(KIND, factory), or by a
                    package through the entry-point group "vmsg_conform.targets"
"""

from __future__ import annotations

from typing import Any, Callable

from .base import EXIT_TARGET_UNOPENABLE, Target, TargetOpenError, split_faults
from .description import ExpectedDevice, TargetDescription, parse_pci_address
from .ref import DEFAULT_DESCRIPTION, RefTarget

__all__ = [
    "ExpectedDevice", "Target", "TargetOpenError", "EXIT_TARGET_UNOPENABLE", "TargetDescription", "RefTarget", "DEFAULT_DESCRIPTION",
    "resolve", "register", "kinds", "fault_catalogue", "fault_sets", "parse_pci_address", "split_faults",
]

#: Target factories by kind: factory(arg) -> Target, arg being the text after
#: "KIND:" or None.
_registry: dict[str, Callable[[str | None], Target]] = {}

ENTRY_POINT_GROUP = "vmsg_conform.targets"


def register(kind: str, factory: Callable[[str | None], Target]) -> None:
    """Adds (or replaces) a target kind."""
    if not kind or ":" in kind:
        raise ValueError(f"invalid target kind {kind!r}")
    _registry[kind] = factory


def _ref_factory(arg: str | None) -> Target:
    if not arg:
        return RefTarget()
    return RefTarget(TargetDescription.from_toml(arg))


register("ref", _ref_factory)

from .lib import make_lib_target  # noqa: E402 (needs register above; lib.py, engineer dutlib)
register("lib", make_lib_target)

from .qemu import make_qemu_target, make_qtest_target  # noqa: E402 (qemu.py, engineer qemutarget)
register("qemu", make_qemu_target)
register("qtest", make_qtest_target)


def _entry_point(kind: str) -> Callable[[str | None], Target] | None:
    try:
        from importlib.metadata import entry_points  # noqa: PLC0415
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == kind:
                return ep.load()
    except Exception:  # a broken third-party plugin must not hide the real error
        return None
    return None


def kinds() -> list[str]:
    """Registered target kinds."""
    return sorted(_registry)


def resolve(spec: str | None = None) -> Target:
    """The Target for a --vmsg-target value ("ref" when empty)."""
    spec = (spec or "ref").strip()
    kind, _, arg = spec.partition(":")
    factory = _registry.get(kind) or _entry_point(kind)
    if factory is None:
        raise ValueError(f"unknown target {spec!r}: kind {kind!r} is not one of {', '.join(kinds())}")
    return factory(arg or None)


def fault_catalogue() -> list[dict[str, Any]]:
    """Every fault mode of the reference: name, summary, breaks (requirement
    IDs), modelled_on, profiles (the wire profiles it is judged under; both
    with a native module that predates the attribute). Needs the native module."""
    from .. import _vmsg  # noqa: PLC0415
    return [
        {"name": f.name, "summary": f.summary, "breaks": f.breaks.split(), "modelled_on": f.modelled_on,
         "profiles": getattr(f, "profiles", "pr28 rev1-2026").split()}
        for f in _vmsg.fault.all_faults()
    ]


def fault_sets() -> list[dict[str, Any]]:
    """The named fault sets of the reference (name, summary, members,
    profiles): each stands in for a real device's observed behaviour, e.g.
    ``qemu-v2``. A set is judged only under the profiles all its members are
    (a device speaks one draft: a set with a PR28-only member is a PR28 device).
    Empty with a native module that predates them."""
    from .. import _vmsg  # noqa: PLC0415
    all_sets = getattr(_vmsg.fault, "all_fault_sets", None)
    if all_sets is None:
        return []
    profiles_of = {f["name"]: f["profiles"] for f in fault_catalogue()}
    out = []
    for s in all_sets():
        members = list(s.members)
        shared = [p for p in profiles_of[members[0]] if all(p in profiles_of[m] for m in members)]
        out.append({"name": s.name, "summary": s.summary, "members": members, "profiles": shared})
    return out

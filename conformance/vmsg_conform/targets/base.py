"""The Target base class: one kind of device under test, opened as a Dut."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from .description import TargetDescription

if TYPE_CHECKING:  # pragma: no cover
    from ..dut import Dut


#: Exit status of a run whose target could not be opened at all (cli.py, README).
EXIT_TARGET_UNOPENABLE = 6


class TargetOpenError(RuntimeError):
    """The target cannot be opened at all: no test can run on it.

    ``asked`` says what the suite asked for, ``answered`` what the target
    answered, ``hint`` what the user can do about it.
    """

    def __init__(self, target: str, asked: str, answered: str, hint: str) -> None:
        self.target, self.asked, self.answered, self.hint = target, asked, answered.rstrip(), hint
        super().__init__(f"cannot open target {target}: asked {asked}; it answered: {self.answered}. {hint}")


class Target:
    """A device under test that can be opened, fresh, once per test.

    Subclasses set ``kind`` and implement ``open``; ``available`` returns why
    the target cannot run here (every test is then skipped with that reason).
    """

    kind = "base"
    #: True when every open() starts a process (QEMU, vmsg-ref-qtest): each
    #: Hypothesis example then costs a process start, so shrinking is bounded.
    opens_a_process = False
    #: True when available()'s reason means the target the user named cannot
    #: be opened at all (a library path that does not exist or does not
    #: load): the run then stops with one error instead of skipping every
    #: test. False where "not here" is a normal state of the machine (no
    #: QEMU installed), so every test skips with the reason.
    unavailable_is_an_error = False

    def __init__(self, name: str, description: TargetDescription | None) -> None:
        self.name = name
        self._description = description

    @property
    def description(self) -> TargetDescription:
        """The description given, or, for a target created without one, the
        one ``_discover`` learns through the port on first use (kept after)."""
        if self._description is None:
            self._description = self._discover()
        return self._description

    @description.setter
    def description(self, value: TargetDescription | None) -> None:
        self._description = value

    def _discover(self) -> TargetDescription:
        """The description learnt through the port (targets that can); raises
        TargetOpenError when the target cannot be opened or answers nonsense."""
        raise TargetOpenError(self.name, "for its description", "this kind of target cannot discover one",
                              "Give it a description.")

    def available(self) -> str | None:
        """None when usable, else the reason every test is skipped."""
        return None

    def open(self, faults: Iterable[str] = (), profile: str = "pr28") -> "Dut":
        raise NotImplementedError

    def probe(self, faults: Iterable[str] = (), profile: str = "pr28") -> None:
        """Opens the target once, checks that the described function is
        there, and closes it. Raises TargetOpenError when it cannot be opened
        at all, so a run stops before its first test."""
        from .discovery import check_identity  # noqa: PLC0415 (discovery imports this module)

        dut = self.open(faults=faults, profile=profile)
        try:
            check_identity(dut.port, self.description, self.name)
        finally:
            dut.close()

    def description_tables(self) -> dict[str, dict[str, Any]]:
        """Tables a description file of this target needs besides the
        description (``vmsg-conform describe``); none by default."""
        return {}

    def info(self) -> dict[str, Any]:
        """Facts about the target for reports."""
        try:
            description = self.description.to_dict()
        except TargetOpenError:  # the run reports it as its one error
            description = None
        return {"kind": self.kind, "name": self.name, "description": description}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def split_faults(faults: Iterable[str] | str | None) -> list[str]:
    """Fault names from option values that may each be comma-separated."""
    if faults is None:
        return []
    if isinstance(faults, str):
        faults = [faults]
    out: list[str] = []
    for value in faults:
        out.extend(p.strip() for p in str(value).split(",") if p.strip())
    return out

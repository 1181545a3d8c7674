"""Graded verdicts: how a failed check becomes FAIL, WARN or INFO, and a
failed precondition BLOCKED.

A verdict is a claim about the device, so it must name the rule that broke
and weigh it as the catalogue does:

* A check that breaks requirement R, cited by the test, is graded by R's
  strength: must -> FAIL, should -> WARN, may and project readings -> INFO.
* A plain ``assert`` checks the test's *primary* requirement, the first ID it
  cites (``@pytest.mark.req(PRIMARY, ...)``); :func:`check` names any other.
* A precondition (:func:`require`) that breaks a requirement the test does
  not cite makes the test BLOCKED: its setup met a deviation that another
  test reports. Were R cited, the test checks R and is graded instead.
* Anything else that escapes the test (an error of the driver stack, a dead
  target) is a FAIL against the primary requirement: the suite could not
  finish talking to the device. So is every failure during which the target
  crashed (a sanitizer report, sanitizer.py), whatever the test checked.

The plugin grades by the IDs as the run's profile reads them (catalogue
``translate``): a check naming a PR28 ID counts for its cited REV1 equivalent
under rev1-2026, and a failed check of a rule that profile does not have at all
is INFO, not a FAIL.

Everything here is pure: the plugin feeds it the exception and the
catalogue's strengths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

#: Verdict of a broken check, by catalogue strength.
VERDICT_OF_STRENGTH = {"must": "FAIL", "should": "WARN", "may": "INFO", "reading": "INFO"}
#: Graded verdicts from most to least serious (what --fail-on counts).
GRADES = ("FAIL", "WARN", "INFO")
#: --fail-on choices and the verdicts each makes fail the run.
#: "info" is the strictest: any finding at all, BLOCKED included.
FAIL_ON = {"fail": ("FAIL",), "warn": ("FAIL", "WARN"), "info": ("FAIL", "WARN", "INFO", "BLOCKED")}


class Deviation(AssertionError):
    """The device broke requirement ``req``; ``precondition`` tells whether
    the test needed it to get going (BLOCKED when the test does not cite it)."""

    def __init__(self, req: str, message: str, *, precondition: bool = False) -> None:
        super().__init__(f"{req}: {message}")
        self.req = req
        self.detail = message
        self.precondition = precondition


def check(condition: object, req: str, message: str) -> None:
    """A claim of the test about requirement ``req`` (which it must cite)."""
    if not condition:
        raise Deviation(req, message)


def require(condition: object, req: str, message: str) -> None:
    """A precondition of the test's setup: the device must honour ``req``
    for the test to reach what it checks."""
    if not condition:
        raise Deviation(req, message, precondition=True)


#: Failures of the reference driver stack (its VirtioFailure codes) that say the
#: device broke a rule other tests check, whatever the test was driving the
#: driver for: a request left unanswered (one answer per request), a queue still
#: in use after the driver's reset (a reset clears the queues), a used len beyond
#: the chain's writable bytes (len counts bytes written), a used id that is no
#: in-flight head (the id names the chain's head). A response that does not
#: decode ("malformed-response") breaks its message's layout rule.
DRIVER_FAILURE_RULES = {"no-response": "VMSG-BUS-028", "queue-in-use": "VMSG-DEV-030",
                        "bad-used-length": "VIRTIO-RING-031", "bad-used-id": "VIRTIO-RING-048"}

#: The rule a response in the wrong layout breaks, per message, as (PR28, REV1):
#: the messages whose layout the drafts define differently, then any other.
RESPONSE_LAYOUT_RULES = {
    "GET_DEVICE_INFO": ("VMSG-DEV-045", "R1-DEV-050"),
    "GET_SHM": ("VMSG-DEV-059", "R1-DEV-048"),
    "GET_DEVICES": ("VMSG-BUS-046", "R1-BUS-060"),
}
_ANY_LAYOUT_RULE = ("VMSG-DEV-017", "R1-DEV-032")


def layout_rule(msg_name: str, rev1: bool) -> str:
    """The requirement a ``msg_name`` response that does not decode in the run's draft
    breaks (RESPONSE_LAYOUT_RULES)."""
    return RESPONSE_LAYOUT_RULES.get(msg_name, _ANY_LAYOUT_RULE)[1 if rev1 else 0]


def driver_failure_as_precondition(exc: BaseException | None, rev1: bool = False) -> BaseException | None:
    """A driver-stack failure listed in DRIVER_FAILURE_RULES, or a response it could not
    decode, as the precondition Deviation it is (BLOCKED unless the test cites the rule);
    anything else unchanged. ``rev1``: the run reads the REV1 draft."""
    if exc is None or type(exc).__name__ != "VirtioFailure":
        return exc
    code, _, rest = str(exc).partition(":")
    rule = DRIVER_FAILURE_RULES.get(code)
    if code == "malformed-response":
        rule = layout_rule(rest.strip().split(":", 1)[0], rev1)
    if rule is None:
        return exc
    return Deviation(rule, f"the reference driver stopped: {exc}", precondition=True)


@dataclass
class Grade:
    """What one failed test means: its verdict, the requirements its failure
    shows broken, and for BLOCKED the requirement that stopped it."""

    verdict: str
    broken: list[str] = field(default_factory=list)
    blocked_by: str | None = None
    message: str = ""


def verdict_of(strength: str | None) -> str:
    """FAIL / WARN / INFO for a catalogue strength (unknown -> FAIL)."""
    return VERDICT_OF_STRENGTH.get(str(strength or "must"), "FAIL")


def grade(exc: BaseException | None, cited: Iterable[str],
          strength_of: Callable[[str], str | None], message: str = "", *, crashed: bool = False) -> Grade:
    """Grades a test that failed with ``exc`` (None when unknown, e.g. a
    failure report without the exception at hand); ``crashed``: the target
    died of a bug during the test."""
    ids = list(cited)
    primary = ids[0] if ids else None
    if crashed:
        # whatever the failing line was about, the device is dead: a FAIL
        return Grade("FAIL", [primary] if primary else [], None, message)
    if isinstance(exc, Deviation):
        if exc.req in ids:
            return Grade(verdict_of(strength_of(exc.req)), [exc.req], None, message)
        if exc.precondition:
            return Grade("BLOCKED", [], exc.req, message)
        # A check of a requirement the test does not cite is a suite defect:
        # the device still failed something, so it is not hidden.
        return Grade("FAIL", [exc.req], None,
                     f"{message} (suite defect: the test does not cite {exc.req})")
    if primary is None:
        return Grade("FAIL", [], None, message)
    if exc is None or isinstance(exc, AssertionError):
        return Grade(verdict_of(strength_of(primary)), [primary], None, message)
    return Grade("FAIL", [primary], None, message)


def run_fails(verdicts: Iterable[str], fail_on: str = "fail") -> bool:
    """Whether these test verdicts fail the run: FAIL and XPASS always,
    WARN / INFO when ``fail_on`` widens it."""
    counted = set(FAIL_ON.get(fail_on, FAIL_ON["fail"])) | {"XPASS"}
    return any(v in counted for v in verdicts)

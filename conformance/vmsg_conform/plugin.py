"""pytest plugin of vmsg-conform (entry point group ``pytest11``).

It registers the ``--vmsg-*`` options and the ``req`` marker, brings the
``dut`` / ``vmsg_target`` fixtures, checks every test's citations against the
requirement catalogue, reads them under the run's profile (a PR28 ID stands for
its REV1 equivalents under rev1-2026, catalogue ``translate``), selects tests by
requirement, skips checks that do not apply (other profiles), grades failures
(verdicts.py) by the translated IDs, applies waivers,
records one :class:`~vmsg_conform.results.TestResult` per test and writes the
JSON / JUnit / HTML reports.

Under pytest-xdist (``-n``) the workers collect, run and grade the tests;
the controller, which collects nothing, builds the results from the reports
it receives and writes the reports. So everything a result needs travels on
the reports as plain data (``vmsg_*`` attributes), and what only collection
knows (citations, uncited tests, waivers in use) comes back in each
worker's ``workeroutput``.
"""

from __future__ import annotations

import copy
import datetime as _dt
import fnmatch
import os
import platform
import random
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import results as _results
from . import sanitizer as _sanitizer
from . import verdicts as _verdicts
from . import waivers as _waivers

try:  # the fixtures come with the plugin
    from .fixtures import dut, vmsg_target  # noqa: F401
except ModuleNotFoundError as _exc:  # only while the package is incomplete (no native module yet)
    if not (_exc.name or "").startswith(__package__ + "."):
        raise

SUITE_DIR = Path(__file__).resolve().parent / "suite"
OUTPUT_LIMIT = 4000
DETAILS_LIMIT = 12000


# --- hook for fakes -----------------------------------------------------------


def _catalogue_spec(config):  # noqa: ARG001 - signature is the hook's
    """Return a catalogue object to use instead of the packaged one (first
    non-None result wins). Used by self-tests with a small fake catalogue."""


_catalogue_spec = pytest.hookspec(firstresult=True)(_catalogue_spec)
_HOOKSPECS = types.SimpleNamespace(pytest_vmsg_catalogue=_catalogue_spec)


def pytest_addhooks(pluginmanager):
    pluginmanager.add_hookspecs(_HOOKSPECS)


# --- options and marker ---------------------------------------------------------


def pytest_addoption(parser):
    g = parser.getgroup("vmsg-conform", "virtio-msg conformance")
    g.addoption("--vmsg-target", default="ref", help="target spec (default: ref)")
    g.addoption("--vmsg-fault", action="append", default=[], metavar="NAME",
                help="reference fault mode to switch on (repeatable, comma lists allowed)")
    g.addoption("--vmsg-profile", default=None,
                help="wire/spec profile: pr28, rev1-2026, amp-shmem-2026 or auto (asks the device); "
                     "default: the target description's profile")
    g.addoption("--vmsg-strict", action="store_true", default=False,
                help="WARN fails the run too (same as --vmsg-fail-on warn)")
    g.addoption("--vmsg-fail-on", default=None, choices=sorted(_verdicts.FAIL_ON), metavar="GRADE",
                help="the least serious verdict that fails the run: fail (default), warn or info")
    g.addoption("--vmsg-waivers", default=None, metavar="FILE", help="waiver file (TOML)")
    g.addoption("--vmsg-json", default=None, metavar="FILE", help="write the JSON report")
    g.addoption("--vmsg-junit", default=None, metavar="FILE", help="write the JUnit XML report")
    g.addoption("--vmsg-html", default=None, metavar="FILE", help="write the HTML report")
    g.addoption("--vmsg-req", action="append", default=[], metavar="ID",
                help="run only tests citing this requirement ID or glob (repeatable)")
    g.addoption("--vmsg-level", action="append", default=[], metavar="LEVEL",
                help="run only tests citing requirements of this level (MUST, SHOULD, MAY, ...)")
    g.addoption("--vmsg-area", action="append", default=[], metavar="AREA",
                help="run only tests citing requirements of this area")
    g.addoption("--vmsg-catalogue", default=None, metavar="FILE",
                help="requirement catalogue TOML (default: the packaged one)")
    g.addoption("--vmsg-derandomize", action="store_true", default=False,
                help="load the Hypothesis profile 'ci' (derandomized, print_blob); implied by env CI")
    g.addoption("--vmsg-qemu", default=None, metavar="PATH",
                help="QEMU binary of the qemu target (default: $VMSG_QEMU, else qemu-system-x86_64)")
    g.addoption("--vmsg-qemu-args", default=None, metavar="ARGS",
                help="the qemu and qtest targets without a description: your own device options "
                     "(-device virtio-msg-amp-pci,... -device ...), one string; the topology is "
                     "discovered through the port (default: $VMSG_QEMU_ARGS)")
    g.addoption("--vmsg-machine", default=None, choices=("q35", "virt"),
                help="machine of the qemu and qtest targets (default: $VMSG_MACHINE, else q35; "
                     "virt for an aarch64 QEMU binary)")
    g.addoption("--vmsg-transcripts", default=None, metavar="DIR",
                help="write a replayable transcript of every failing test into DIR")
    parser.addini("vmsg_require_req", type="bool", default=False,
                  help="treat tests without a req marker as errors (always on in the packaged suite)")


@dataclass
class _State:
    """Per-session plugin state, kept in config.stash."""

    catalogue: Any = None
    waivers: list = field(default_factory=list)
    citations: dict = field(default_factory=dict)  # nodeid -> [ids] under the profile, every valid collected test
    cited: dict = field(default_factory=dict)  # nodeid -> [ids] as the req marker writes them
    uncited: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    reports: dict = field(default_factory=dict)  # nodeid -> {when: report}
    used_waivers: set = field(default_factory=set)
    order: list = field(default_factory=list)  # xdist controller: the workers' run order
    tests: list = field(default_factory=list)
    hypothesis: dict = field(default_factory=dict)
    restore: list = field(default_factory=list)  # callables undoing global changes
    profile_detection: str = ""  # what --vmsg-profile auto found, for the reports
    start: float = 0.0
    start_wall: str = ""
    run: Any = None
    written: list = field(default_factory=list)
    target_error: Any = None  # targets.TargetOpenError: the target cannot be opened at all


_STATE = pytest.StashKey[_State]()
_RECORDER = pytest.StashKey[Any]()
_EXPIRED = pytest.StashKey[Any]()
_SEED_CHOSEN = "chosen by vmsg-conform"
#: Verdicts that are not pytest failures: shown with their own letter.
_SOFT = ("WARN", "INFO", "BLOCKED")


def _state(config) -> _State:
    return config.stash[_STATE]


def _xdist_role(config) -> str | None:
    """This process's part in a pytest-xdist run: "worker", "controller", or
    None without one. The controller test is the one xdist creates its
    DSession on; valid from pytest_configure on (xdist sets ``tx`` before)."""
    if hasattr(config, "workerinput"):
        return "worker"
    if _opt(config, "dist", "no") != "no" and _opt(config, "tx") and not config.option.collectonly:
        return "controller"
    return None


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "req(*ids): requirement IDs (catalogue) this test checks")
    st = _State()
    config.stash[_STATE] = st
    path = config.getoption("vmsg_waivers")
    if path:
        try:
            st.waivers = _waivers.load(path)
        except _waivers.WaiverError as exc:
            raise pytest.UsageError(str(exc)) from None
    _setup_hypothesis(config, st)
    # the qemu and qtest targets read these from the environment (targets/qemu.py),
    # so before the target is first resolved
    _export(st, "VMSG_QEMU", _opt(config, "vmsg_qemu"))
    _export(st, "VMSG_MACHINE", _opt(config, "vmsg_machine"))
    _export(st, "VMSG_QEMU_ARGS", _opt(config, "vmsg_qemu_args"))
    _settle_profile(config, st)
    _probe_target(config, st)
    if _xdist_role(config) == "controller":
        # it collects nothing, yet writes the requirement rows; loaded now so
        # a broken catalogue stops the run before any worker starts
        st.catalogue = _load_catalogue(config)


def _export(st: _State, name: str, value: str | None) -> None:
    """Sets environment variable `name` to `value` (when given) for the
    session; pytest_unconfigure puts the old value back."""
    if not value:
        return
    previous = os.environ.get(name)
    os.environ[name] = value
    st.restore.append(lambda: os.environ.pop(name, None) if previous is None
                      else os.environ.__setitem__(name, previous))


def _settle_profile(config, st: _State) -> None:
    """Makes --vmsg-profile concrete before collection: no value means the
    target description's profile; ``auto`` asks the device which draft it
    speaks (profiles.detect), except when only collecting. A device that
    answers neither way stops the run with a usage error naming what it sent."""
    from . import profiles as _profiles  # noqa: PLC0415
    from . import targets as _targets  # noqa: PLC0415
    from .fixtures import session_target  # noqa: PLC0415

    profile = config.getoption("vmsg_profile")
    if profile in (None, "") or profile == AUTO_PROFILE:
        try:
            target = session_target(config)
        except (ValueError, ImportError):
            target = None  # reported where the tests open it
        if profile in (None, ""):
            try:
                profile = getattr(getattr(target, "description", None), "profile", None) or "pr28"
            except _targets.TargetOpenError:
                profile = "pr28"  # _probe_target reports it
        if profile == AUTO_PROFILE and target is not None and not config.option.collectonly \
                and target.available() is None:
            faults = _targets.split_faults(config.getoption("vmsg_fault") or [])
            try:
                profile, found = _profiles.resolve(target, profile, faults)
            except _profiles.ProfileDetectionError as exc:
                raise pytest.UsageError(str(exc)) from None
            st.profile_detection = found.describe()
    config.option.vmsg_profile = profile


def _probe_target(config, st: _State) -> None:
    """Opens the target once before collection. One that cannot be opened at
    all (a library refusing to be created, a topology discovery cannot read,
    a process that does not start) stops the run with one error instead of
    one per test; other failures are left to the tests that meet them."""
    from . import targets as _targets  # noqa: PLC0415
    from .fixtures import session_target  # noqa: PLC0415

    if config.option.collectonly:
        return
    spec = config.getoption("vmsg_target") or "ref"
    try:
        target = session_target(config)
    except (ValueError, OSError) as exc:  # the spec, or the description file it names
        st.target_error = _targets.TargetOpenError(
            spec, f"to resolve --vmsg-target {spec}", str(exc),
            "Fix the target spec or its description file (`vmsg-conform describe TARGET` writes one).")
        return
    except Exception:  # noqa: BLE001 - e.g. a third-party target kind: its tests report it
        return
    try:
        reason = target.available()
        if reason is not None:
            if getattr(target, "unavailable_is_an_error", False):
                st.target_error = _targets.TargetOpenError(
                    spec, f"to load the target {spec}", reason,
                    "Check the path and that the library was built against vmsg_dut.h "
                    "(`vmsg-conform describe TARGET` tries it alone).")
            return  # otherwise every test skips with the reason
        target.probe(faults=_targets.split_faults(config.getoption("vmsg_fault") or []),
                     profile=config.getoption("vmsg_profile") or "pr28")
    except _targets.TargetOpenError as exc:
        st.target_error = exc
    except Exception:  # noqa: BLE001 - anything else is the tests' to report, with its verdicts
        return


def target_error_entry(exc) -> dict:
    """The report entry of a target that could not be opened."""
    return {"target": exc.target, "asked": exc.asked, "answered": exc.answered, "hint": exc.hint,
            "message": str(exc)}


def pytest_unconfigure(config):
    st = config.stash.get(_STATE, None)
    if st is not None:
        for undo in reversed(st.restore):
            undo()


def _setup_hypothesis(config, st: _State) -> None:
    """Register the 'ci' profile, load it under CI or --vmsg-derandomize, and
    make sure the seed used is known (chosen here when none was given)."""
    try:
        from hypothesis import core, settings
    except ImportError:
        st.hypothesis = {"available": False}
        return
    settings.register_profile("ci", derandomize=True, print_blob=True)
    previous_profile = getattr(settings, "_current_profile", None) or "default"
    want_ci = bool(os.environ.get("CI")) or config.getoption("vmsg_derandomize")
    if not _opt(config, "hypothesis_profile"):
        # Decide either way: a profile an enclosing session loaded must not leak in.
        settings.load_profile("ci" if want_ci else "default")
        st.restore.append(lambda: settings.load_profile(previous_profile))
    given = _opt(config, "hypothesis_seed")
    previous_seed = core.global_force_seed
    if given is not None:
        seed, source = given, "--hypothesis-seed"
        try:
            seed = int(given)
        except ValueError:
            pass
    else:
        # an xdist worker uses the seed its controller chose and reports
        inherited = getattr(config, "workerinput", {}).get("vmsg_hypothesis_seed")
        seed = inherited if inherited is not None else random.SystemRandom().getrandbits(32)
        source = _SEED_CHOSEN
        core.global_force_seed = seed
        st.restore.append(lambda: setattr(core, "global_force_seed", previous_seed))
    derandomize = bool(settings.default.derandomize)
    st.hypothesis = {
        "available": True,
        "seed": seed,
        "seed_source": source,
        "derandomize": derandomize,
        "profile": getattr(settings, "_current_profile", None),
        "reproduce": (
            "derandomized: each test's seed is derived from its source"
            if derandomize else f"--hypothesis-seed {seed}"),
    }


def _opt(config, name, default=None):
    try:
        return config.getoption(name)
    except ValueError:
        return default


# --- collection -----------------------------------------------------------------


def _load_catalogue(config):
    cat = config.hook.pytest_vmsg_catalogue(config=config)
    if cat is not None:
        return cat
    try:
        from . import catalogue
        return catalogue.load(config.getoption("vmsg_catalogue"))
    except Exception as exc:  # a broken catalogue stops the run with a clear message
        raise pytest.UsageError(f"cannot load the requirement catalogue: {exc}") from None


def _cited(item) -> tuple[list[str], list[str]]:
    """(IDs in citation order, problems with the marker arguments)."""
    ids: list[str] = []
    problems: list[str] = []
    for mark in item.iter_markers("req"):
        if not mark.args:
            problems.append("req marker without IDs")
        for arg in mark.args:
            if not isinstance(arg, str):
                problems.append(f"req argument {arg!r} is not a string")
            elif arg not in ids:
                ids.append(arg)
    return ids, problems


def _in_packaged_suite(item) -> bool:
    try:
        p = Path(str(item.path)).resolve()
    except OSError:
        return False
    return SUITE_DIR in p.parents


def _collect_error(config, nodeid: str, message: str) -> None:
    """Report a collection error the way pytest does for an import failure
    (the run is interrupted unless --continue-on-collection-errors)."""
    from _pytest.reports import CollectReport

    rep = CollectReport(nodeid, "failed", longrepr=message, result=[])
    config.hook.pytest_collectreport(report=rep)  # recorded by _Recorder like any other


def _req(cat, rid):
    try:
        return cat.get(rid)
    except KeyError:
        return None


def _matches_filters(req, globs, levels, areas) -> bool:
    if globs and not any(fnmatch.fnmatchcase(req.id, g.upper()) for g in globs):
        return False
    if levels:
        mine = {str(getattr(req, "level", "")).upper(), str(getattr(req, "strength", "")).upper()}
        if not mine & {lv.upper() for lv in levels}:
            return False
    if areas and str(getattr(req, "area", "")).lower() not in {a.lower() for a in areas}:
        return False
    return True


def _applies(req, profile: str) -> bool:
    profiles = list(getattr(req, "profiles", None) or [])
    return not profiles or profile in profiles


#: --vmsg-profile values besides the catalogue's own profiles.
AUTO_PROFILE = "auto"


def catalogue_profile(config) -> str:
    """The profile whose IDs the run's citations are read in. ``auto`` reads them as the
    default profile: detecting the target's draft at run time is not there yet."""
    profile = config.getoption("vmsg_profile") or "pr28"
    return "pr28" if profile == AUTO_PROFILE else profile


def translate(cat, ids, profile: str) -> list[str]:
    """The IDs among ``ids`` (or their equivalents) that apply under ``profile``, via the
    catalogue's ``translate``; a catalogue without one (self-test fakes) has no
    equivalents, so only the applicable IDs stay."""
    if hasattr(cat, "translate"):
        return list(cat.translate(ids, profile))
    return [i for i in ids if (r := _req(cat, i)) is not None and _applies(r, profile)]


def _primary_applies(cat, ids, profile: str) -> bool:
    """Whether a test citing ``ids`` applies under ``profile``: its primary requirement (what
    its plain asserts check) has a counterpart there, an equivalent or a cited successor."""
    if not ids:
        return True
    if hasattr(cat, "counterparts"):
        return bool(cat.counterparts(ids[0], profile, ids))
    return bool(translate(cat, ids[:1], profile))


def _check_profile(config, cat) -> None:
    known = list(getattr(cat, "profiles", None) or [])
    profile = config.getoption("vmsg_profile")
    if known and profile != AUTO_PROFILE and profile not in known:
        raise pytest.UsageError(f"--vmsg-profile {profile}: unknown profile "
                                f"(known: {', '.join(known + [AUTO_PROFILE])})")


def pytest_collection_modifyitems(session, config, items):
    st = _state(config)
    if st.target_error is not None:
        # nothing can run: one error for the run, no test verdicts
        config.hook.pytest_deselected(items=list(items))
        items[:] = []
    cat = _load_catalogue(config)
    _check_profile(config, cat)  # before the session keeps it: no report for a refused run
    st.catalogue = cat
    profile = catalogue_profile(config)
    require_all = config.getini("vmsg_require_req")
    kept = []
    for item in items:
        ids, problems = _cited(item)
        unknown = list(cat.unknown(ids)) if ids else []
        if problems or unknown:
            what = []
            if unknown:
                what.append("unknown requirement ID(s) " + ", ".join(unknown))
            what.extend(problems)
            _collect_error(config, item.nodeid, f"{item.nodeid}: cites {'; '.join(what)}")
            continue
        if not ids:
            if require_all or _in_packaged_suite(item):
                _collect_error(config, item.nodeid,
                               f"{item.nodeid}: cites no requirement (add @pytest.mark.req(\"ID\", ...))")
                continue
            st.uncited.append(item.nodeid)
        st.cited[item.nodeid] = ids
        # what the test checks under this profile. A test whose primary requirement (what
        # its plain asserts check) has no counterpart there keeps its own IDs for the
        # report and is skipped as not applicable (_mark_skips_and_waivers)
        st.citations[item.nodeid] = translate(cat, ids, profile) if _primary_applies(cat, ids, profile) else ids
        kept.append(item)
    items[:] = kept
    _select(config, cat, items)
    _mark_skips_and_waivers(config, cat, items)


def _select(config, cat, items) -> None:
    globs = config.getoption("vmsg_req")
    levels = config.getoption("vmsg_level")
    areas = config.getoption("vmsg_area")
    if not (globs or levels or areas):
        return
    selected, deselected = [], []
    st = _state(config)
    for item in items:
        # an ID given on the command line may be the test's own or its translation
        ids = dict.fromkeys(st.cited.get(item.nodeid, []) + st.citations[item.nodeid])
        reqs = [r for r in (_req(cat, i) for i in ids) if r]
        if any(_matches_filters(r, globs, levels, areas) for r in reqs):
            selected.append(item)
        else:
            deselected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def _mark_skips_and_waivers(config, cat, items) -> None:
    st = _state(config)
    profile = catalogue_profile(config)
    today = _dt.date.today()
    for item in items:
        ids = st.citations[item.nodeid]
        if not _primary_applies(cat, ids, profile):
            item.add_marker(pytest.mark.skip(
                reason=f"not applicable to profile {config.getoption('vmsg_profile')}: its primary requirement "
                       f"{ids[0]} has no counterpart there (cites {', '.join(ids)})"))
        w = _waivers.find(st.waivers, item.nodeid, ids)
        if w is None:
            continue
        st.used_waivers.add(w)
        if w.expired(today):
            item.stash[_EXPIRED] = w
        else:
            # strict: a waived test that passes fails the run (remove the waiver)
            item.add_marker(pytest.mark.xfail(
                reason=f"waived until {w.expires}: {w.reason}", strict=True, run=True))


# --- results --------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield
    # transcripts: record the test's port from the start (drivers open lazily)
    if not _opt(item.config, "vmsg_transcripts"):
        return
    dut = getattr(item, "funcargs", {}).get("dut")
    if dut is None or getattr(dut, "port", None) is None:
        return
    from . import transcript

    header = {"test": item.nodeid, "target": getattr(dut.target, "name", "?"),
              "faults": ",".join(dut.faults) or "none"}
    item.stash[_RECORDER] = transcript.record_dut(dut, header)


def fail_on(config) -> str:
    """The least serious verdict that fails the run (--strict means warn)."""
    chosen = _opt(config, "vmsg_fail_on")
    if chosen:
        return chosen
    return "warn" if _opt(config, "vmsg_strict") else "fail"


def _strength_of(config):
    cat = _state(config).catalogue

    def strength(rid: str):
        req = _req(cat, rid) if cat is not None else None
        return getattr(req, "strength", None) if req is not None else None
    return strength


def _counterparts(config, rid: str, cited: list[str] = ()) -> list[str] | None:
    """``rid`` read under the run's profile in a test citing ``cited``: ``[rid]`` when it
    applies, else its equivalents that do, else its cited successors (maybe none); None
    for an ID the catalogue does not know."""
    cat = _state(config).catalogue
    if cat is None or _req(cat, rid) is None:
        return None
    try:
        if hasattr(cat, "counterparts"):
            return list(cat.counterparts(rid, catalogue_profile(config), cited))
        return translate(cat, [rid], catalogue_profile(config))
    except (KeyError, ValueError):
        return None


def _as_cited(config, cited: list[str], rid: str) -> str:
    """The ID a check names, read under the run's profile: a PR28 ID that does not apply
    becomes the first of its equivalents the test cites (translated), so the check is
    graded by the rule in force. Anything else is left as it is."""
    if rid in cited:
        return rid
    return next((m for m in _counterparts(config, rid, cited) or [] if m in cited), rid)


def _outside_profile(config, exc, own: list[str], cited: list[str]) -> str | None:
    """The ID a failed check is about when that ID has no counterpart under the run's
    profile (it does not apply and none of its equivalents is cited), else None. The ID is
    the one a Deviation names, or for a plain assert the test's own primary ID."""
    if isinstance(exc, _verdicts.Deviation):
        if exc.precondition:
            return None  # a setup that could not go on stays BLOCKED
        rid = exc.req
    elif isinstance(exc, AssertionError) and own:
        rid = own[0]
    else:
        return None
    parts = _counterparts(config, rid, cited)
    if rid in cited or parts is None or rid in parts:
        return None  # cited, unknown, or a rule of this profile (uncited: a suite defect)
    return None if any(m in cited for m in parts) else rid


def _translated_exc(config, exc, cited: list[str]):
    """A Deviation naming an ID of another profile, renamed to its cited equivalent (the
    message keeps what the test said); other exceptions unchanged."""
    if not isinstance(exc, _verdicts.Deviation):
        return exc
    rid = _as_cited(config, cited, exc.req)
    if rid == exc.req:
        return exc
    return _verdicts.Deviation(rid, f"{exc.detail} (checked as {exc.req})", precondition=exc.precondition)


def _grade(item, call, rep) -> None:
    """Grades a failed call (verdicts.py). WARN, INFO and BLOCKED stop being
    pytest failures: the run's exit status is decided from the verdicts."""
    if rep.when != "call" or not rep.failed or hasattr(rep, "wasxfail") or hasattr(rep, "vmsg_grade"):
        return  # not a failure, or already graded by _grade_tolerated
    st = _state(item.config)
    cited = st.citations.get(item.nodeid, [])
    raw = _verdicts.driver_failure_as_precondition(call.excinfo.value if call.excinfo is not None else None,
                                                   catalogue_profile(item.config) == "rev1-2026")
    exc = _translated_exc(item.config, raw, cited)
    # A Deviation already says "REQ: what"; pytest's text would prefix its class path.
    message = str(exc) if isinstance(exc, _verdicts.Deviation) else _fail_message(rep)
    crashed = bool(getattr(rep, "vmsg_crash", None))
    outside = None if crashed else _outside_profile(item.config, raw, st.cited.get(item.nodeid, cited), cited)
    if outside:
        # the failed check is about a rule the profile in force does not have
        g = _verdicts.Grade("INFO", [], None,
                            f"{message} ({outside} is not a rule of profile {item.config.getoption('vmsg_profile')})")
    else:
        g = _verdicts.grade(exc, cited, _strength_of(item.config), message, crashed=crashed)
        if g.blocked_by:  # named as the run's profile reads it
            g.blocked_by = next(iter(_counterparts(item.config, g.blocked_by) or []), g.blocked_by)
    rep.vmsg_grade = {"verdict": g.verdict, "broken": g.broken, "blocked_by": g.blocked_by,
                      "message": g.message}
    if g.verdict in _SOFT:
        rep.outcome = "passed"


def _grade_tolerated(item, rep) -> None:
    """A test that passed although its setup tolerated a deviation of a
    requirement it cites has still seen that requirement broken: graded."""
    if rep.when != "call" or not rep.passed or hasattr(rep, "wasxfail"):
        return
    cited = _state(item.config).citations.get(item.nodeid, [])
    for entry in getattr(rep, "vmsg_tolerated", []):
        req, _, detail = entry.partition(": ")
        req = _as_cited(item.config, cited, req)
        if req in cited:
            verdict = _verdicts.verdict_of(_strength_of(item.config)(req))
            message = f"{req}: {detail} (tolerated during setup; the test cites {req})"
            rep.vmsg_grade = {"verdict": verdict, "broken": [req], "blocked_by": None, "message": message}
            if verdict not in _SOFT:
                rep.outcome = "failed"
                rep.longrepr = message
            return


def _tolerated(item) -> list[str]:
    dut = getattr(item, "funcargs", {}).get("dut")
    get = getattr(dut, "deviations", None)
    if get is None:
        return []
    try:
        return [f"{req}: {detail}" for req, detail in get()]
    except Exception:  # a closed or broken Dut has nothing more to say
        return []


def _exception_texts(call) -> list[str]:
    """The text of the exception that ended the phase and of its causes."""
    exc = call.excinfo.value if call is not None and call.excinfo is not None else None
    out: list[str] = []
    while exc is not None and len(out) < 8:  # a chain, not a cycle
        out.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return out


def _failure_extras(item, rep, call) -> None:
    """On a failure: the qemu target's crash facts, the sanitizer report the
    target left (in its stderr or the error, sanitizer.py), and the transcript."""
    if not rep.failed:
        return
    dut = getattr(item, "funcargs", {}).get("dut")
    explain = getattr(getattr(dut, "target", None), "failure_context", None)
    headline, context = None, None
    if explain is not None and rep.when == "call":
        got = explain(dut)
        if got:
            headline, context = got
            rep.sections.append(("vmsg-qemu", context))
    report = _sanitizer.find([context, *_exception_texts(call)])
    if report is not None:
        rep.vmsg_crash = report.signature  # _result_of leads other phases' messages with it
    lead = [report.signature] if report is not None and rep.when == "call" else []
    crash = getattr(getattr(rep, "longrepr", None), "reprcrash", None)
    if crash is not None and (lead or headline):
        # "SIGNATURE; QEMU exit code 1: error": the signature ends in
        # FILE:LINE, so a colon after it would read as part of it
        text = "; ".join(lead + [f"{headline}: {crash.message}" if headline else crash.message])
        try:
            crash.message = text
        except AttributeError:  # a frozen location object: the section still says it
            pass
    rec = item.stash.get(_RECORDER, None)
    out = _opt(item.config, "vmsg_transcripts")
    if rec is not None and out:
        from . import transcript

        del item.stash[_RECORDER]  # one transcript per test
        rec.transcript.header["failed_in"] = rep.when
        path = rec.transcript.save(Path(out) / transcript.safe_name(item.nodeid))
        rep.vmsg_transcript = (str(path), len(rec.transcript.steps))
        rep.sections.append(("vmsg-transcript", f"transcript: {path} ({len(rec.transcript.steps)} steps)"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    # the result is built from reports alone (an xdist controller has no items)
    rep.vmsg_reqs = list(_state(item.config).citations.get(item.nodeid, []))
    w = item.stash.get(_EXPIRED, None)
    if rep.when == "call":
        rep.vmsg_tolerated = _tolerated(item)
        if w is None:  # a pass it turns into a FAIL needs the failure extras (transcript) too
            _grade_tolerated(item, rep)
    _failure_extras(item, rep, call)
    if w is None:
        _grade(item, call, rep)
        return
    # an expired waiver hides nothing: the test is a FAIL whatever it did
    if rep.when == "call" or (rep.when == "setup" and rep.skipped):
        was = "passed" if rep.passed else ("skipped" if rep.skipped else "failed")
        rep.outcome = "failed"
        rep.longrepr = (f"waiver expired on {w.expires} ({w.reason}); the test {was}"
                        + (":\n" + rep.longreprtext if was == "failed" else ""))
        if hasattr(rep, "wasxfail"):
            del rep.wasxfail


def pytest_report_teststatus(report, config):
    g = getattr(report, "vmsg_grade", None)
    if g and report.when == "call" and g["verdict"] in _SOFT:
        v = g["verdict"]
        return v.lower(), v[0], v
    return None


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"[... {len(text) - limit} characters trimmed ...]\n" + text[-limit:]


def _skip_reason(rep) -> str:
    lr = rep.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        reason = str(lr[2])
    else:
        reason = str(lr or "")
    return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason


def _longtext(rep) -> str:
    """The report's long text as a serial run has it: a report from an xdist
    worker carries ``node``, and pytest then heads the text with the
    worker's name and interpreter."""
    if "node" in rep.__dict__:
        rep = copy.copy(rep)
        del rep.node
    return rep.longreprtext or ""


def _fail_message(rep) -> str:
    crash = getattr(getattr(rep, "longrepr", None), "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message)
    text = _longtext(rep)
    return text.strip().splitlines()[0] if text.strip() else "failed"


_PHASES = {"setup": 0, "call": 1, "teardown": 2}


def _result_of(st: _State, nodeid: str, reports: dict) -> _results.TestResult:
    """One test's result from its phase reports (received from an xdist
    worker or made here). A report made without the plugin's makereport (a
    crashed worker's) carries no citations: the collected ones stand in."""
    # a crashed worker's report has its own phase name: it comes last
    phases = sorted(reports.values(), key=lambda r: _PHASES.get(r.when, len(_PHASES)))
    ids = next((r.vmsg_reqs for r in phases if hasattr(r, "vmsg_reqs")), None)
    if ids is None:
        ids = st.citations.get(nodeid, [])
    res = _results.TestResult(nodeid=nodeid, reqs=list(ids))
    res.duration = round(sum(r.duration for r in phases), 6)
    # the waiver the collection applied: the same file, node id and citations
    w = _waivers.find(st.waivers, nodeid, ids)
    if w is not None:
        res.waiver, res.waiver_expires = w.reason, str(w.expires)
    failed = [r for r in phases if r.failed]
    skipped = [r for r in phases if r.skipped]
    soft = [r for r in phases if r.passed and (getattr(r, "vmsg_grade", None) or {}).get("verdict") in _SOFT]
    for rep in phases:
        res.tolerated.extend(t for t in getattr(rep, "vmsg_tolerated", []) if t not in res.tolerated)
        if getattr(rep, "vmsg_transcript", None):
            res.transcript, res.transcript_steps = rep.vmsg_transcript
    if failed:
        rep = failed[0]
        text = _longtext(rep)
        grade = getattr(rep, "vmsg_grade", None) or {}
        if rep.when == "call" and text.startswith("[XPASS(strict)]"):
            res.verdict = "XPASS"
            res.message = ("waived test passed: remove the waiver" if w is not None
                           else "expected failure passed (strict xfail)")
        else:
            res.verdict = "FAIL"
            res.broken = list(grade.get("broken", []))
            res.message = (grade.get("message") or
                           ("error in " + rep.when + ": " if rep.when in ("setup", "teardown") else "") + _fail_message(rep))
            res.details = _trim(text, DETAILS_LIMIT)
    elif soft:
        rep = soft[0]
        grade = rep.vmsg_grade
        res.verdict = grade["verdict"]
        res.broken = list(grade["broken"])
        res.blocked_by = grade["blocked_by"]
        res.message = grade["message"]
        res.details = _trim(_longtext(rep), DETAILS_LIMIT)
    elif skipped:
        rep = skipped[0]
        if hasattr(rep, "wasxfail"):
            res.verdict = "XFAIL"
            res.message = rep.wasxfail or "expected failure"
            res.details = _trim(_longtext(rep), DETAILS_LIMIT)
        else:
            res.verdict = "SKIP"
            res.message = _skip_reason(rep)
    elif any(hasattr(r, "wasxfail") for r in phases):
        res.verdict = "XPASS"
        res.message = "expected failure passed"
    else:
        res.verdict = "PASS"
    if res.verdict in ("FAIL", "WARN", "INFO", "BLOCKED"):
        # the first failing phase's crash; the message leads with it
        res.crash = getattr((failed + soft)[0], "vmsg_crash", None)
        if res.crash and not res.message.startswith(res.crash):
            res.message = f"{res.crash}; {res.message}"
    out, seen = [], set()
    for rep in phases:  # later phases repeat the sections of earlier ones
        for title, content in rep.sections:
            if content.strip() and (title, content) not in seen:
                seen.add((title, content))
                out.append(f"--- {title} ---\n{content.rstrip()}")
    res.output = _trim("\n".join(out), OUTPUT_LIMIT)
    return res


class _Recorder:
    """Collects phase reports; registered per config so in-process runs
    (pytester, the CLI) never mix sessions."""

    def __init__(self, config):
        self.config = config

    def pytest_collectreport(self, report):
        if report.failed:
            text = _longtext(report)
            if not text.startswith(report.nodeid):
                text = f"error collecting {report.nodeid}:\n{text}"
            _state(self.config).errors.append(_trim(text, DETAILS_LIMIT))

    def pytest_runtest_logreport(self, report):
        st = _state(self.config)
        st.reports.setdefault(report.nodeid, {})[report.when] = report

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logfinish(self, nodeid, location):
        st = _state(self.config)
        reports = st.reports.pop(nodeid, None)
        if reports:
            st.tests.append(_result_of(st, nodeid, reports))


# --- pytest-xdist controller (optional hooks: xdist may be absent) --------------


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    hyp = _state(node.config).hypothesis
    if hyp.get("seed_source") == _SEED_CHOSEN:  # a given seed reaches the workers as an option
        node.workerinput["vmsg_hypothesis_seed"] = hyp["seed"]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    st = _state(node.config)
    if not st.order:  # every worker collects the same (xdist checks)
        st.order = list(ids)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    st = _state(node.config)
    facts = (getattr(node, "workeroutput", None) or {}).get("vmsg_collection")
    if facts and not st.citations:
        st.citations = dict(facts["citations"])
        st.cited = dict(facts.get("cited", {}))
        st.uncited = list(facts["uncited"])
        st.used_waivers = {st.waivers[i] for i in facts["used_waivers"]}


def _stopped_by_collection_errors(config) -> bool:
    """A serial conformance run stops at a collection error (a bad citation
    too) before any test runs; xdist's workers would run the rest."""
    st = _state(config)
    return bool(st.errors) and not config.option.continue_on_collection_errors and any(st.citations.values())


@pytest.hookimpl(tryfirst=True)  # before xdist's worker tells the controller what it collected
def pytest_collection_finish(session):
    if _xdist_role(session.config) == "worker" and _stopped_by_collection_errors(session.config):
        session.items.clear()


def _settle_controller_results(st: _State) -> None:
    """A test whose worker died got a failed report but no logfinish: it is
    a FAIL. Then the results go in the order of a serial run (workers
    finish tests in any order)."""
    for nodeid, reports in st.reports.items():
        if any(r.failed for r in reports.values()):
            st.tests.append(_result_of(st, nodeid, reports))
    st.reports.clear()
    rank = {nodeid: i for i, nodeid in enumerate(st.order)}
    st.tests.sort(key=lambda t: rank.get(t.nodeid, len(rank)))


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    st = _state(session.config)
    st.start = time.monotonic()
    st.start_wall = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    session.config.pluginmanager.register(_Recorder(session.config), "vmsg-conform-recorder")


# --- metadata and reports ---------------------------------------------------------


def _spec_of(cat, profile: str = "pr28") -> dict:
    spec_for = getattr(cat, "spec_for", None)
    spec = spec_for(profile) if spec_for is not None else getattr(cat, "spec", None)
    if isinstance(spec, dict) and spec:
        return dict(spec)
    for req in cat:
        src = getattr(req, "source", None) or {}
        if src.get("kind") == "spec" or "commit" in src:
            return {"draft": src.get("draft"), "commit": src.get("commit")}
    return {}


def _target_info(config) -> dict:
    spec = config.getoption("vmsg_target")
    try:
        from .fixtures import session_target
        t = session_target(config)
        info = {"spec": spec, "name": t.name}
        info.update(t.info() or {})
        reason = t.available()
        if reason:
            info["unavailable"] = reason
        return info
    except Exception as exc:  # reports must still be written
        return {"spec": spec, "name": spec, "error": f"{type(exc).__name__}: {exc}"}


def _faults(config) -> list[str]:
    out = []
    for value in config.getoption("vmsg_fault") or []:
        out.extend(p.strip() for p in value.split(",") if p.strip())
    return out


def _version() -> str:
    try:
        from . import __version__
        return str(__version__)
    except ImportError:
        return "unknown"


def _requirement_rows(cat, citations: dict, profile: str) -> list[_results.RequirementRow]:
    cited: dict[str, list[str]] = {}
    for nodeid, ids in citations.items():
        for rid in ids:
            cited.setdefault(rid, []).append(nodeid)
    rows = []
    # the profile's view: the other draft's own entries have no row (fakes: every entry)
    for r in (cat.view(profile) if hasattr(cat, "view") else cat):
        rows.append(_results.RequirementRow(
            id=r.id, level=str(getattr(r, "level", "")), strength=str(getattr(r, "strength", "")),
            role=str(getattr(r, "role", "")), area=str(getattr(r, "area", "")),
            text=str(getattr(r, "text", "")), informative=bool(getattr(r, "informative", False)),
            untestable=getattr(r, "untestable", None), profiles=list(getattr(r, "profiles", None) or []),
            applicable=_applies(r, profile), cited_by=cited.get(r.id, [])))
    return rows


def build_run(config) -> _results.RunResult:
    """The RunResult of this session (also used by the CLI)."""
    st = _state(config)
    cat = st.catalogue
    profile = config.getoption("vmsg_profile")
    meta = {
        "suite_version": _version(),
        "spec": _spec_of(cat, catalogue_profile(config)) if cat is not None else {},
        "profile": profile,
        "profile_detection": st.profile_detection,
        "target": _target_info(config),
        "faults": _faults(config),
        "strict": bool(config.getoption("vmsg_strict")),
        "fail_on": fail_on(config),
        "selection": {"req": config.getoption("vmsg_req"), "level": config.getoption("vmsg_level"),
                      "area": config.getoption("vmsg_area"),
                      "keyword": _opt(config, "keyword", "") or ""},
        "waivers": config.getoption("vmsg_waivers"),
        "hypothesis": st.hypothesis,
        "start_time": st.start_wall,
        "duration": round(time.monotonic() - st.start, 3) if st.start else 0.0,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "pytest": pytest.__version__,
        "args": list(config.invocation_params.args),
    }
    if st.target_error is not None:
        meta["target_error"] = target_error_entry(st.target_error)
    run = _results.RunResult(
        metadata=meta, tests=list(st.tests),
        requirements=_requirement_rows(cat, st.citations, catalogue_profile(config)) if cat is not None else [],
        uncited=list(st.uncited),
        errors=list(st.errors) + ([str(st.target_error)] if st.target_error is not None else []))
    for w in st.waivers:
        if w not in st.used_waivers:
            run.warnings.append(f"waiver for {w.test!r} matched no test that ran")
    run.warnings.extend(run.link_blocked())
    return run


def _write_reports(config, run) -> list[str]:
    from .reports import html, json_report, junit

    written = []
    for opt, writer in (("vmsg_json", json_report.write), ("vmsg_junit", junit.write),
                        ("vmsg_html", html.write)):
        path = config.getoption(opt)
        if path:
            writer(run, path)
            written.append(path)
    return written


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    config = session.config
    st = _state(config)
    role = _xdist_role(config)
    if role == "worker":
        # the controller writes the reports; it needs what only collection saw
        config.workeroutput["vmsg_collection"] = {
            "citations": st.citations, "cited": st.cited, "uncited": st.uncited,
            "used_waivers": [i for i, w in enumerate(st.waivers) if w in st.used_waivers]}
        return
    if config.option.collectonly or st.catalogue is None:
        return
    if role == "controller":
        _settle_controller_results(st)
        if _stopped_by_collection_errors(config):
            session.exitstatus = pytest.ExitCode.INTERRUPTED
    st.run = run = build_run(config)
    st.written = _write_reports(config, run)
    if st.target_error is not None:
        from .targets import EXIT_TARGET_UNOPENABLE  # noqa: PLC0415
        session.exitstatus = EXIT_TARGET_UNOPENABLE
    # unwaived XPASS (plain xfail) and friends: the verdicts decide, not only pytest
    elif run.failed() and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    st = config.stash.get(_STATE, None)
    run = getattr(st, "run", None) if st else None
    if run is None:
        return
    # A pytest session that cites no requirement and asks for no report is not
    # a conformance run (e.g. an unrelated test tree in the same venv): stay quiet.
    if not any(t.reqs for t in run.tests) and not getattr(st, "written", []) and st.target_error is None:
        return
    from .reports import text

    tr = terminalreporter
    tr.section("vmsg-conform")
    if st.target_error is not None:
        tr.write_line(f"error: {st.target_error}", red=True)
    for line in text.summary_lines(run):
        tr.write_line(line)
    hyp = run.metadata.get("hypothesis") or {}
    if hyp.get("available"):
        tr.write_line(f"hypothesis: {hyp.get('reproduce')}")
    if run.uncited:
        tr.write_line(f"uncited tests: {len(run.uncited)}")
    for t in run.tests:
        if t.verdict == "XPASS" and t.waiver:
            tr.write_line(f"XPASS {t.nodeid}: waived test passed, remove the waiver", yellow=True)
    for w in run.warnings:
        tr.write_line(f"warning: {w}", yellow=True)
    for path in getattr(st, "written", []):
        tr.write_line(f"report written: {path}")

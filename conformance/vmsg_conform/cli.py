"""The ``vmsg-conform`` command line: list, run, report, matrix, diff, replay.

``run`` and ``list`` drive pytest in-process on the packaged suite with the
plugin; ``matrix`` runs the suite once per reference fault in subprocesses and
checks that every fault is caught by a test citing a requirement it breaks.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata as _md
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SUITE_DIR = PACKAGE_DIR / "suite"


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


# --- pytest plumbing ------------------------------------------------------------


def _plugin_args() -> list[str]:
    """`-p vmsg_conform.plugin` unless pytest already autoloads it through
    the installed entry point (loading it twice is an error)."""
    if not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        try:
            eps = _md.entry_points(group="pytest11")
        except Exception:  # broken metadata elsewhere must not stop us
            eps = []
        if any(ep.value.split(":")[0] == "vmsg_conform.plugin" for ep in eps):
            return []
    return ["-p", "vmsg_conform.plugin"]


def _base_args(suite: str | None, catalogue: str | None) -> list[str]:
    suite_dir = Path(suite) if suite else SUITE_DIR
    if not suite_dir.exists():
        raise CliError(f"suite directory not found: {suite_dir}")
    # stable node ids wherever the suite lives: 'suite/test_x.py::t' for the
    # packaged suite (relative to the package), 'test_x.py::t' for another one
    rootdir = PACKAGE_DIR if suite is None else suite_dir
    # The CLI has imported vmsg_conform before pytest starts, so pytest cannot
    # rewrite the plugin's asserts; it says so once per run. Nothing is lost:
    # the suite's test modules are still rewritten.
    args = _plugin_args() + ["-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning",
                             "--rootdir", str(rootdir), str(suite_dir)]
    if catalogue:
        args += ["--vmsg-catalogue", catalogue]
    return args


class _Collector:
    """Keeps the config of an in-process collection."""

    config = None

    def pytest_collection_finish(self, session):
        self.config = session.config


def collect(suite: str | None = None, catalogue: str | None = None, profile: str = "pr28"):
    """Collect the suite in-process: (catalogue, {nodeid: [cited IDs]}), the IDs read
    under ``profile`` (a test that does not apply there keeps its own)."""
    import pytest

    collector = _Collector()
    buf = io.StringIO()
    args = ["--collect-only", "-q", "--vmsg-profile", profile] + _base_args(suite, catalogue)
    with contextlib.redirect_stdout(buf):
        rc = pytest.main(args, plugins=[collector])
    if rc != 0 or collector.config is None:
        raise CliError("collecting the suite failed:\n" + buf.getvalue()[-6000:])
    from . import plugin  # imported after pytest loaded it (assertion rewriting)

    st = plugin._state(collector.config)
    return st.catalogue, dict(st.citations)


# --- list -----------------------------------------------------------------------


def _fault_catalogue(path: str | None, with_sets: bool = False) -> list[dict]:
    """The fault modes (and with ``with_sets`` the named fault sets, entries
    with ``members``), from the native module or a JSON file of the same shape."""
    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CliError(f"cannot read fault catalogue {path}: {exc}") from None
        entries = list(data)
    else:
        try:
            from . import targets
            entries = list(targets.fault_catalogue()) + list(targets.fault_sets())
        except Exception as exc:
            raise CliError(f"fault catalogue unavailable: {type(exc).__name__}: {exc}") from None
    if not with_sets:
        return [e for e in entries if "members" not in e]
    by_name = {e["name"]: e for e in entries if "members" not in e}
    for e in entries:  # a set breaks what its members break
        if "members" in e and "breaks" not in e:
            e["breaks"] = sorted({r for m in e["members"] for r in _breaks(by_name.get(m, {}))})
    return entries


def _breaks(fault: dict) -> list[str]:
    b = fault.get("breaks") or []
    return b.split() if isinstance(b, str) else list(b)


def _target_kinds() -> list[dict]:
    from . import targets

    for name in ("kinds", "registered", "available_kinds"):
        fn = getattr(targets, name, None)
        if callable(fn):
            return [{"kind": str(k)} for k in fn()]
    for name in ("REGISTRY", "_REGISTRY", "_registry", "_factories"):
        reg = getattr(targets, name, None)
        if isinstance(reg, dict):
            return [{"kind": str(k)} for k in reg]
    return [{"kind": "ref"}]


def cmd_list(a) -> int:
    if a.faults:
        faults = _fault_catalogue(a.fault_catalogue)
        if a.json:
            print(json.dumps(faults, indent=2))
        else:
            for f in faults:
                print(f"{f['name']:<30} breaks {' '.join(_breaks(f))}")
                print(f"{'':<30} {f.get('summary', '')} [{f.get('modelled_on', '')}]")
        return 0
    if a.targets:
        kinds = _target_kinds()
        if a.json:
            print(json.dumps(kinds, indent=2))
        else:
            for k in kinds:
                print(k["kind"])
        return 0
    cat, citations = collect(a.suite, a.catalogue, a.profile)
    from .plugin import AUTO_PROFILE, _applies, _matches_filters
    from .catalogue import NOT_APPLICABLE

    # the profile's matrix: its own entries, cited by the tests as the run reads them
    # (a PR28 ID counts for its REV1 equivalents under rev1-2026)
    profile = "pr28" if a.profile == AUTO_PROFILE else a.profile
    tests_of: dict[str, list[str]] = {}
    for nodeid, ids in citations.items():
        for rid in ids:
            tests_of.setdefault(rid, []).append(nodeid)
    equivalents = getattr(cat, "equivalents", lambda rid: [])
    rows = []
    for r in (cat.view(profile) if hasattr(cat, "view") else cat):
        if not _matches_filters(r, a.req, a.level, a.area):
            continue
        if a.role and str(getattr(r, "role", "")) not in a.role:
            continue
        tests = tests_of.get(r.id, [])
        if a.untested and tests:
            continue
        rows.append((r, tests))
    if a.json:
        print(json.dumps([{
            "id": r.id, "level": r.level, "strength": getattr(r, "strength", ""), "role": r.role,
            "area": r.area, "text": getattr(r, "text", ""), "untestable": getattr(r, "untestable", None),
            "profiles": list(getattr(r, "profiles", None) or []), "applicable": _applies(r, profile),
            "equivalent": equivalents(r.id), "tests": tests} for r, tests in rows], indent=2))
        return 0
    for r, tests in rows:
        note = ""
        if not tests:
            if getattr(r, "untestable", None):
                na = r.untestable.startswith(NOT_APPLICABLE)  # a feature or transport the targets lack
                note = f"  N/A ({r.untestable[len(NOT_APPLICABLE):].strip()})" if na else f"  UNTESTABLE ({r.untestable})"
            elif not _applies(r, profile):
                note = f"  N/A (profile(s) {', '.join(r.profiles)})"
            else:
                note = "  UNTESTED"
        print(f"{r.id:<18} {r.level:<10} {r.role:<11} {r.area:<14} {len(tests):>3} test(s){note}")
        if equivalents(r.id):
            print(f"    equivalent: {', '.join(equivalents(r.id))}")
        for t in tests:
            print(f"    {t}")
    reasons = [r.untestable for r, t in rows if not t and getattr(r, "untestable", None)]
    n_na = sum(1 for why in reasons if why.startswith(NOT_APPLICABLE))
    print(f"{len(rows)} requirement(s), {sum(1 for _, t in rows if t)} with tests, {len(reasons) - n_na} untestable, "
          f"{n_na} not applicable to the targets (profile {a.profile})")
    return 0


# --- run ------------------------------------------------------------------------


def _run_args(a) -> list[str]:
    args = _base_args(a.suite, a.catalogue) + ["--vmsg-target", a.target]
    if a.profile:
        args += ["--vmsg-profile", a.profile]
    if getattr(a, "qemu", None):
        args += ["--vmsg-qemu", a.qemu]
    if getattr(a, "machine", None):
        args += ["--vmsg-machine", a.machine]
    if getattr(a, "qemu_args", None):
        args.append(f"--vmsg-qemu-args={a.qemu_args}")  # one token: the value starts with "-"
    for f in list(a.fault) + list(getattr(a, "fault_set", [])):
        args += ["--vmsg-fault", f]
    if a.strict:
        args.append("--vmsg-strict")
    if a.fail_on:
        args += ["--vmsg-fail-on", a.fail_on]
    for r in a.req:
        args += ["--vmsg-req", r]
    for lv in a.level:
        args += ["--vmsg-level", lv]
    for ar in a.area:
        args += ["--vmsg-area", ar]
    if a.waivers:
        args += ["--vmsg-waivers", a.waivers]
    out = {"json": a.json, "junit": a.junit, "html": a.html}
    if a.out:
        from .reports import FILES

        for kind, name in FILES.items():
            out[kind] = out[kind] or str(Path(a.out) / name)
    for kind, path in out.items():
        if path:
            args += [f"--vmsg-{kind}", path]
    if a.out:  # one transcript per failing test, replayable with `vmsg-conform replay`
        args += ["--vmsg-transcripts", str(Path(a.out) / "transcripts")]
    if a.hypothesis_seed is not None:
        args += ["--hypothesis-seed", str(a.hypothesis_seed)]
    if a.derandomize:
        args.append("--vmsg-derandomize")
    if a.k:
        args += ["-k", a.k]
    if a.workers is not None:
        args += _xdist_args(a.workers)
    if a.quiet:
        args.append("-" + "q" * a.quiet)
    if a.verbose:
        args.append("-" + "v" * a.verbose)
    return args + list(a.pytest_args)


def _workers(value: str) -> str:
    """argparse type of ``-n``: "auto" or a number of workers (0: serial)."""
    if value == "auto" or value.isdigit():
        return value
    raise argparse.ArgumentTypeError(f"expected auto or a number, got {value!r}")


def _xdist_args(workers: str) -> list[str]:
    """pytest-xdist's options for ``-n``. The tests are independent (each
    opens its own target), so plain load balancing spreads them best."""
    if workers.strip("0") == "":
        return []  # -n 0 is the serial run itself
    if importlib.util.find_spec("xdist") is None:
        raise CliError("-n needs pytest-xdist (Debian: python3-pytest-xdist)")
    # without plugin autoloading xdist must be named (its workers get the same arguments)
    named = ["-p", "xdist.plugin"] if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") else []
    return named + ["-n", workers, "--dist", "load"]


def cmd_run(a) -> int:
    import pytest

    if a.waivers:  # fail early with the waiver file's own message
        from . import waivers

        try:
            waivers.load(a.waivers)
        except waivers.WaiverError as exc:
            raise CliError(str(exc)) from None
    return int(pytest.main(_run_args(a)))


#: What `vmsg-conform run` exits with (help epilog; README "Usage").
RUN_EXIT_STATUSES = """exit status:
  0  every verdict passes (PASS, SKIP, and what --fail-on allows)
  1  a FAIL, XPASS, expired waiver or collection error (or WARN/INFO under --fail-on)
  2  interrupted (a collection error stops a serial run), or a command-line error
  4  pytest usage error (e.g. a bad option value or a profile the device refuses)
  5  no test selected
  6  the target could not be opened at all (a library refusing to be created, a
     topology discovery cannot read, a QEMU that does not start): one error, no verdicts"""


# --- describe -------------------------------------------------------------------


def cmd_describe(a) -> int:
    """Prints the target's description as TOML; a target without one (lib:PATH.so,
    lib:ref, qemu/qtest with --qemu-args) is asked through its port, as a driver
    would (targets/discovery.py)."""
    # as the plugin does for a run: the qemu and qtest targets read these from the environment
    given = {"VMSG_QEMU": a.qemu, "VMSG_MACHINE": a.machine, "VMSG_QEMU_ARGS": a.qemu_args}
    saved = {name: os.environ.get(name) for name in given}
    os.environ.update({name: value for name, value in given.items() if value})
    try:
        return _describe(a)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _describe(a) -> int:
    from . import targets

    try:
        target = targets.resolve(a.target)
    except (ValueError, OSError) as exc:
        raise CliError(f"{a.target}: {exc}") from None
    reason = target.available()
    if reason is not None:
        raise CliError(f"{a.target}: {reason}")
    try:
        text = target.description.to_toml(extra=target.description_tables())
    except targets.TargetOpenError as exc:
        print(f"vmsg-conform: error: {exc}", file=sys.stderr)
        return targets.EXIT_TARGET_UNOPENABLE
    header = (f"# {a.target} as `vmsg-conform describe` found it; edit and commit, then run\n"
              f"# vmsg-conform run --target {target.kind}:THIS-FILE.toml\n")
    if a.out:
        Path(a.out).write_text(header + text, encoding="utf-8")
    else:
        print(header + text, end="")
    return 0


# --- report ---------------------------------------------------------------------


def cmd_report(a) -> int:
    from . import reports
    from .reports import html, json_report, junit
    from .results import ResultsError

    try:
        run = json_report.read(a.results)
    except OSError as exc:
        raise CliError(f"cannot read {a.results}: {exc.strerror or exc}") from None
    except ResultsError as exc:
        raise CliError(f"{a.results}: {exc}") from None
    wrote = False
    if a.out:
        reports.write_all(run, a.out)
        wrote = True
    for path, writer in ((a.html, html.write), (a.junit, junit.write), (a.json, json_report.write)):
        if path:
            writer(run, path)
            wrote = True
    if not wrote:
        from .reports import text

        for line in text.summary_lines(run):
            print(line)
        for t in run.tests:
            if t.verdict in ("FAIL", "XPASS"):
                print(f"{t.verdict:<5} {t.nodeid}: {t.message}")
    return 1 if run.failed() else 0


# --- matrix ---------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    parent = str(PACKAGE_DIR.parent)  # the child imports this very package
    env["PYTHONPATH"] = os.pathsep.join([parent] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _run_one(a, fault: str | None, out: Path) -> dict:
    label = fault or "baseline"
    json_path = out / "runs" / f"{label}.json"
    log_path = out / "runs" / f"{label}.log"
    cmd = [sys.executable, "-m", "vmsg_conform", "run", "--target", a.target, "--json", str(json_path), "-q"]
    if a.profile:
        cmd += ["--profile", a.profile]
    if fault:
        cmd += ["--fault", fault]
    if a.suite:
        cmd += ["--suite", a.suite]
    if a.catalogue:
        cmd += ["--catalogue", a.catalogue]
    if a.strict:
        cmd.append("--strict")
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=_child_env(), check=False)
    return {"label": label, "rc": proc.returncode, "json": json_path, "log": log_path}


_GRADED = ("FAIL", "WARN", "INFO")


def _load_run(json_path: Path):
    from .reports import json_report

    return json_report.read(json_path)


def _breaks_under(breaks: list[str], profile: str) -> list[str]:
    """A fault's broken requirements as a run under `profile` names them: its own
    IDs plus their equivalents there, and the rules there that changed them (a
    PR28 fault judged under REV1 shows up under the R1 IDs of the same rules; a
    device that leaves the generation alone breaks REV1's changed rule too)."""
    from . import catalogue

    try:
        cat = catalogue.load()
        successors = [s for b in breaks for s in cat.successors(b, profile)]
        return list(dict.fromkeys(list(breaks) + list(cat.translate(breaks, profile)) + successors))
    except (KeyError, ValueError):  # an ID or profile the catalogue lacks: judge by the IDs as given
        return list(breaks)


def _judge_fault(run, breaks: list[str], baseline_findings: set[str]) -> dict:
    """Recall and precision of one fault's run. Evidence: a graded test whose
    failing check names a requirement the fault breaks. Collateral: a graded
    test whose failing check names none of them (one deviation must show
    only where it is cited). BLOCKED tests are counted, not judged."""
    wanted = set(breaks)
    evidence, collateral, blocked = [], [], []
    for t in run.tests:
        if t.nodeid in baseline_findings:
            continue
        if t.verdict == "BLOCKED":
            blocked.append({"nodeid": t.nodeid, "blocked_by": t.blocked_by, "test": t.blocked_by_test})
        elif t.verdict in _GRADED:
            entry = {"nodeid": t.nodeid, "verdict": t.verdict, "broken": list(t.broken), "message": t.message}
            (evidence if set(t.broken) & wanted else collateral).append(entry)
    return {"evidence": evidence, "collateral": collateral, "blocked": blocked,
            "failing": [t.nodeid for t in run.tests if t.verdict == "FAIL"],
            "caught": bool(evidence)}


def cmd_matrix(a) -> int:
    faults = _fault_catalogue(a.fault_catalogue, with_sets=True)
    if a.only:
        faults = [f for f in faults if f["name"] in a.only]
        missing = set(a.only) - {f["name"] for f in faults}
        if missing:
            raise CliError(f"unknown fault(s): {', '.join(sorted(missing))}")
    # no --profile: the target description's (auto: every fault, the runs find the draft)
    run_profile = a.profile or _open_target(a.target).description.profile
    if run_profile in ("pr28", "rev1-2026"):
        # a fault judged under other profiles only does nothing this profile forbids (its "profiles")
        elsewhere = [f["name"] for f in faults if run_profile not in f.get("profiles", (run_profile,))]
        if a.only and elsewhere:
            raise CliError(f"fault(s) not judged under profile {run_profile}: {', '.join(sorted(elsewhere))}")
        faults = [f for f in faults if f["name"] not in elsewhere]
    out = Path(a.out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    labels = [None] + [f["name"] for f in faults]
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        runs = {r["label"]: r for r in pool.map(lambda f: _run_one(a, f, out), labels)}
    base = runs["baseline"]
    baseline_findings: set[str] = set()
    baseline = {"rc": base["rc"], "findings": []}
    if base["json"].exists():
        baseline_findings = {t.nodeid for t in _load_run(base["json"]).tests
                             if t.verdict in _GRADED + ("BLOCKED", "XPASS")}
        baseline["findings"] = sorted(baseline_findings)
    else:
        baseline["error"] = f"baseline produced no results (exit {base['rc']}), see {base['log']}"
    # the profile the runs read requirements in: given, or the one the baseline ran under
    profile_name = a.profile if a.profile in ("pr28", "rev1-2026") else (
        (_load_run(base["json"]).metadata.get("profile") if base["json"].exists() else None) or "pr28")
    rows = []
    for f in faults:
        r = runs[f["name"]]
        row = {"name": f["name"], "summary": f.get("summary", ""), "breaks": _breaks(f),
               "modelled_on": f.get("modelled_on", ""), "members": f.get("members"), "rc": r["rc"],
               "log": str(r["log"]), "failing": [], "evidence": [], "collateral": [], "blocked": [],
               "caught": False}
        if r["json"].exists():
            row.update(_judge_fault(_load_run(r["json"]), _breaks_under(row["breaks"], profile_name),
                                    baseline_findings))
        else:
            row["error"] = f"run produced no results (exit {r['rc']}), see {r['log']}"
        if not row["breaks"]:
            # A conforming variation breaks nothing: it passes when the suite finds nothing
            # (every finding counts as collateral), i.e. the suite does not mistake it for a bug.
            row["variation"] = True
            row["caught"] = "error" not in row and not row["collateral"]
        rows.append(row)
    all_caught = all(r["caught"] for r in rows)
    precise = all(not r["collateral"] for r in rows)
    clean_baseline = not baseline["findings"] and "error" not in baseline
    doc = {"target": a.target, "profile": run_profile,
           "baseline": baseline, "faults": rows,
           "all_caught": all_caught, "no_collateral": precise, "clean_baseline": clean_baseline}
    (out / "matrix.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (out / "matrix.md").write_text(_matrix_md(doc), encoding="utf-8")
    _print_matrix(doc)
    return 0 if all_caught and precise and clean_baseline else 1


def _matrix_md(doc: dict) -> str:
    lines = [f"# Fault matrix ({doc['target']}, profile {doc['profile']})", ""]
    if doc["baseline"]["findings"]:
        lines += ["Baseline (no fault) findings, not counted: "
                  + ", ".join(f"`{n}`" for n in doc["baseline"]["findings"]), ""]
    lines += ["| Fault | Breaks | Caught by | Collateral | Blocked | Evidence |", "|---|---|---|---|---|---|"]
    for r in doc["faults"]:
        ev = "<br>".join(f"`{e['nodeid']}`" for e in r["evidence"][:5]) or r.get("error", "")
        lines.append(f"| {r['name']} | {' '.join(r['breaks']) or '(conforming variation)'} | {len(r['evidence'])} | "
                     f"{len(r['collateral']) if not r['collateral'] else '**' + str(len(r['collateral'])) + '**'} | "
                     f"{len(r['blocked'])} | {ev} |")
    lines += ["", "All faults caught." if doc["all_caught"] else "Some faults are NOT caught.",
              "No collateral findings." if doc["no_collateral"] else "Some faults cause COLLATERAL findings.", ""]
    return "\n".join(lines)


def cmd_cross_profile(a) -> int:
    """The reference built in each draft, judged under the other (cross_profile.py)."""
    import argparse as _argparse

    from . import catalogue, cross_profile
    from .targets.ref import DEFAULT_DESCRIPTION

    kind, _, arg = a.target.partition(":")
    if kind != "ref":
        raise CliError("cross-profile builds the reference in each draft: --target ref or ref:DESCRIPTION.toml")
    source = Path(arg) if arg else DEFAULT_DESCRIPTION
    if not source.is_file():
        raise CliError(f"target description not found: {source}")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cat = catalogue.load()
    directions = []
    for device_profile, judged_as in cross_profile.DIRECTIONS:
        run_dir = out / f"{device_profile}-device"
        (run_dir / "runs").mkdir(parents=True, exist_ok=True)
        desc = cross_profile.write_description(source, device_profile, run_dir)
        run_args = _argparse.Namespace(target=f"ref:{desc}", profile=judged_as, suite=a.suite,
                                       catalogue=a.catalogue, strict=False)
        r = _run_one(run_args, None, run_dir)
        if not r["json"].exists():
            raise CliError(f"the {device_profile} device run produced no results (exit {r['rc']}), see {r['log']}")
        directions.append(cross_profile.judge(_load_run(r["json"]).tests, cat, device_profile, judged_as))
    (out / "cross-profile.json").write_text(json.dumps(cross_profile.to_json(directions), indent=2) + "\n",
                                           encoding="utf-8")
    (out / "cross-profile.md").write_text(cross_profile.markdown(directions), encoding="utf-8")
    for d in directions:
        graded = sum(n for v, n in d.counts.items() if v in _GRADED)
        print(f"{d.device_profile} device judged under {d.judged_as}: {graded} graded test(s) on "
              f"{len(d.findings)} requirement(s), {len(d.shared)} of them in both drafts; "
              f"{d.counts.get('BLOCKED', 0)} BLOCKED")
        for f in d.shared:
            print(f"  in both drafts: {f.rid} ({sum(f.verdicts.values())} test(s)): {f.example}")
    print(f"report written: {out / 'cross-profile.md'}")
    return 0


def _print_matrix(doc: dict) -> None:
    if doc["baseline"]["findings"]:
        print(f"error: {len(doc['baseline']['findings'])} test(s) report findings without any fault")
    if doc["baseline"].get("error"):
        print(f"error: {doc['baseline']['error']}")
    print(f"{'fault':<28} {'caught':>6} {'collat':>6} {'blocked':>7}  breaks")
    for r in doc["faults"]:
        print(f"{r['name']:<28} {len(r['evidence']):>6} {len(r['collateral']):>6} {len(r['blocked']):>7}  "
              f"{' '.join(r['breaks']) or '(conforming variation: passes with no finding)'}")
        if r.get("error"):
            print(f"{'':<28} {r['error']}")
        for c in r["collateral"]:
            print(f"{'':<28} COLLATERAL {c['verdict']} {c['nodeid']} (broken: {', '.join(c['broken']) or '-'}): "
                  f"{c['message'][:120]}")
    n = sum(1 for r in doc["faults"] if r["caught"])
    k = sum(len(r["collateral"]) for r in doc["faults"])
    print(f"{n}/{len(doc['faults'])} faults caught; {k} collateral finding(s)")


# --- diff and replay (diff.py, transcript.py) ----------------------------------------


def _open_target(spec: str):
    from . import targets

    try:
        t = targets.resolve(spec)
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from None
    reason = t.available()
    if reason:
        raise CliError(f"target {spec!r} is not usable here: {reason}")
    return t


def _concrete_profile(target, name: str | None, faults) -> str:
    """The run's profile on `target`: `name`, the description's when None,
    what the device answers when ``auto`` (said on stderr)."""
    from . import profiles

    try:
        profile, found = profiles.resolve(target, name or target.description.profile, faults)
    except profiles.ProfileDetectionError as exc:
        raise CliError(str(exc)) from None
    if found is not None:
        print(f"vmsg-conform: {found.describe()}", file=sys.stderr)
    return profile


def cmd_diff(a) -> int:
    from . import diff

    specs = list(a.target) or ["ref"]
    if len(specs) > 2:
        raise CliError("diff takes at most two --target options")
    if len(specs) == 1:
        specs.append(specs[0])
    ta, tb = _open_target(specs[0]), _open_target(specs[1])
    try:
        report = diff.diff_targets(ta, tb, a.fault_a, a.fault_b, a.sequence or None,
                                   _concrete_profile(ta, a.profile, a.fault_a))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(report.text())
    return 0 if report.first is None else 1


def cmd_replay(a) -> int:
    from . import transcript as tr

    try:
        t = tr.Transcript.load(a.file)
    except OSError as exc:
        raise CliError(f"cannot read {a.file}: {exc.strerror or exc}") from None
    except tr.TranscriptError as exc:
        raise CliError(f"{a.file}: {exc}") from None
    spec = a.target or "ref"
    target = _open_target(spec)
    try:  # the device is the header's function; older transcripts: the target's
        fn = tr.device_function(t, target.description.pci_address)
    except tr.TranscriptError as exc:
        raise CliError(f"{a.file}: {exc}") from None
    try:
        dut = target.open(faults=a.fault, profile=_concrete_profile(target, a.profile, a.fault))
    except ValueError as exc:  # a profile or fault the target cannot build
        raise CliError(str(exc)) from None
    try:
        scope = tr.DeviceScope.learn(t.steps, fn, tr.ram_end(dut.port.address_map()))
        mismatches = tr.replay(t, dut.port, stop_after=a.max, scope=scope)
    finally:
        dut.close()
    device = [m for m in mismatches if not m.platform]
    platform = [m for m in mismatches if m.platform]
    recorded_on = t.header.get("target", "?")
    print(f"replayed {len(t.steps)} step(s) of {a.file} (recorded on {recorded_on}, "
          f"faults {t.header.get('faults', 'none')}, device {tr.format_bdf(fn)}) on {spec}: "
          + ("every answer matches" if not device else f"{len(device)} answer(s) differ"))
    for m in device:
        print(m.describe(t.machine))
    if platform:
        print(f"{len(platform)} platform difference(s) ignored (other PCI functions, addresses the device does "
              "not decode)" + (":" if a.platform else "; --platform lists them"))
        for m in platform if a.platform else []:
            print(m.describe(t.machine))
    return 0 if not device else 1


# --- argument parsing -------------------------------------------------------------


#: --profile values: the two drafts, and auto (the device's GET_DEVICE_INFO size decides).
PROFILE_CHOICES = ("pr28", "rev1-2026", "auto")


def _profile_option(sp, what: str = "wire/spec profile", default: str | None = None) -> None:
    sp.add_argument("--profile", default=default, choices=PROFILE_CHOICES,
                    help=f"{what}: {', '.join(PROFILE_CHOICES)} "
                         f"(default {default or 'the target description’s profile'}; auto asks the device)")


def _qemu_args_option(sp) -> None:
    sp.add_argument("--qemu-args", metavar="ARGS",
                    help="qemu/qtest without a description: your own device options as one string "
                         "('-device virtio-msg-amp-pci,... -device ...'); the topology is discovered")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vmsg-conform", description="virtio-msg over AMP PCI conformance suite")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--suite", help=argparse.SUPPRESS)  # self-tests: a fake suite
        sp.add_argument("--catalogue", help="requirement catalogue TOML (default: packaged)")

    ls = sub.add_parser("list", help="requirements and the tests citing them")
    common(ls)
    ls.add_argument("--req", action="append", default=[], help="ID or glob (repeatable)")
    ls.add_argument("--level", action="append", default=[])
    ls.add_argument("--area", action="append", default=[])
    ls.add_argument("--role", action="append", default=[])
    ls.add_argument("--untested", action="store_true", help="only requirements no test cites")
    ls.add_argument("--faults", action="store_true", help="list the reference fault modes")
    ls.add_argument("--targets", action="store_true", help="list the target kinds")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--fault-catalogue", help=argparse.SUPPRESS)
    _profile_option(ls, "whose requirement matrix to show", default="pr28")
    ls.set_defaults(func=cmd_list)

    rn = sub.add_parser("run", help="run the suite against a target", epilog=RUN_EXIT_STATUSES,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    common(rn)
    rn.add_argument("--target", default="ref")
    rn.add_argument("--qemu", metavar="PATH", help="QEMU binary for the qemu target (else $VMSG_QEMU, else PATH)")
    rn.add_argument("--machine", choices=("q35", "virt"),
                    help="machine of the qemu and qtest targets (else $VMSG_MACHINE, else q35; "
                         "virt for an aarch64 QEMU)")
    _qemu_args_option(rn)
    rn.add_argument("--fault", action="append", default=[], metavar="NAME")
    rn.add_argument("--fault-set", action="append", default=[], metavar="NAME",
                    help="a named set of reference faults (e.g. qemu-v2: the behaviour QEMU's device showed)")
    _profile_option(rn)
    rn.add_argument("--strict", action="store_true", help="WARN fails the run too (= --fail-on warn)")
    rn.add_argument("--fail-on", choices=("fail", "warn", "info"), default=None,
                    help="least serious verdict that fails the run (default fail)")
    rn.add_argument("--req", action="append", default=[])
    rn.add_argument("--level", action="append", default=[])
    rn.add_argument("--area", action="append", default=[])
    rn.add_argument("--waivers", metavar="FILE")
    rn.add_argument("--out", metavar="DIR", help="write report.json, junit.xml and report.html here")
    rn.add_argument("--junit", metavar="FILE")
    rn.add_argument("--json", metavar="FILE")
    rn.add_argument("--html", metavar="FILE")
    rn.add_argument("--hypothesis-seed", type=int, metavar="N")
    rn.add_argument("--derandomize", action="store_true", help="Hypothesis profile 'ci' (also under env CI)")
    rn.add_argument("-k", metavar="EXPR")
    rn.add_argument("-n", "--workers", type=_workers, metavar="auto|N",
                    help="spread the tests over N pytest-xdist worker processes (auto: one per CPU); "
                         "reports and exit status are those of a serial run")
    rn.add_argument("-q", "--quiet", action="count", default=0)
    rn.add_argument("-v", "--verbose", action="count", default=0)
    rn.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    rn.set_defaults(func=cmd_run)

    ds = sub.add_parser("describe", help="print a target's description as TOML (discovered through the port "
                                         "when the target has none, e.g. lib:PATH.so)")
    ds.add_argument("target", metavar="TARGET", help="e.g. lib:PATH.so, lib:ref, ref")
    ds.add_argument("-o", "--out", metavar="FILE", help="write the TOML here instead of stdout")
    ds.add_argument("--qemu", metavar="PATH", help="QEMU binary for the qemu target")
    ds.add_argument("--machine", choices=("q35", "virt"), help="machine of the qemu and qtest targets")
    _qemu_args_option(ds)
    ds.set_defaults(func=cmd_describe)

    rp = sub.add_parser("report", help="rebuild reports from a results JSON")
    rp.add_argument("results")
    rp.add_argument("--html", metavar="FILE")
    rp.add_argument("--junit", metavar="FILE")
    rp.add_argument("--json", metavar="FILE")
    rp.add_argument("--out", metavar="DIR")
    rp.set_defaults(func=cmd_report)

    mx = sub.add_parser("matrix", help="run the suite once per reference fault; every fault must be caught")
    common(mx)
    mx.add_argument("--out", default="vmsg-matrix", metavar="DIR")
    mx.add_argument("--target", default="ref")
    _profile_option(mx)
    mx.add_argument("--strict", action="store_true")
    mx.add_argument("--jobs", type=int, default=2)
    mx.add_argument("--only", action="append", default=[], metavar="FAULT", help="only these faults")
    mx.add_argument("--fault-catalogue", help=argparse.SUPPRESS)
    mx.set_defaults(func=cmd_matrix)

    xp = sub.add_parser("cross-profile", help="the reference built in each draft, judged under the other")
    common(xp)
    xp.add_argument("--out", default="vmsg-cross-profile", metavar="DIR")
    xp.add_argument("--target", default="ref", metavar="ref[:DESCRIPTION]")
    xp.set_defaults(func=cmd_cross_profile)

    df = sub.add_parser("diff", help="run scripted sequences on two targets; report the first divergence")
    df.add_argument("--target", action="append", default=[], metavar="SPEC", help="give twice: A then B")
    df.add_argument("--fault-a", action="append", default=[], metavar="NAME", help="reference fault on target A")
    df.add_argument("--fault-b", action="append", default=[], metavar="NAME", help="reference fault on target B")
    df.add_argument("--sequence", action="append", default=[], metavar="NAME", help="only these sequences")
    _profile_option(df)
    df.set_defaults(func=cmd_diff)

    rp2 = sub.add_parser("replay", help="replay a transcript on a target; report answers that differ")
    rp2.add_argument("file")
    rp2.add_argument("--target", default=None, metavar="SPEC", help="default: ref")
    rp2.add_argument("--fault", action="append", default=[], metavar="NAME")
    _profile_option(rp2)
    rp2.add_argument("--max", type=int, default=20, metavar="N", help="stop after N differences (default 20)")
    rp2.add_argument("--platform", action="store_true",
                     help="also list the platform differences (counted, never a failure)")
    rp2.set_defaults(func=cmd_replay)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"vmsg-conform: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader left (``| head``): stop quietly, as other command-line tools do.
        # Python would report the failed flush of stdout at exit, so point it at devnull.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for such a writer


if __name__ == "__main__":
    sys.exit(main())

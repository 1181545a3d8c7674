"""The CI recipes vendors copy (examples/ci/, .clusterfuzzlite/): every YAML
parses, the jobs have the shape the README promises, and the shell they run
is run here where it can be offline.

Run for real: the device-library build and the checker run of the GitHub
workflow and of the GitLab job (in a scratch copy of examples/vendor-dut,
with the venv running this test as `.venv`), and .clusterfuzzlite/build.sh's
own part (the vendor library built with clang-14 and fuzzer flags) with a
stand-in for fuzz/build.sh. Only syntax-checked (`bash -n`): the package
installation (needs the network), the checker build (a full reference build,
minutes) and fuzz/build.sh itself (an instrumented reference build).
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vmsg_conform import cli
from vmsg_conform.targets import lib

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "examples/ci/github/vmsg-conform.yml"
GITHUB_FUZZ = ROOT / "examples/ci/github/cflite.yml"
GITLAB = ROOT / "examples/ci/gitlab/.gitlab-ci.yml"
CFLITE = ROOT / ".clusterfuzzlite"


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    assert isinstance(doc, dict), f"{path}: not a mapping"
    return doc


def bash_syntax(script: str, what: str) -> None:
    r = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert r.returncode == 0, f"{what}: bash -n: {r.stderr}"


def run_argv(script: str, env: dict[str, str]) -> list[str]:
    """The `vmsg-conform run ...` command of a script, split as the shell does."""
    lines = [ln for ln in script.splitlines() if "vmsg-conform run" in ln]
    assert len(lines) == 1, f"expected one vmsg-conform run line, got {lines}"
    line = lines[0]
    for k, v in env.items():
        line = line.replace(f"${k}", v)
    argv = shlex.split(line)
    assert argv[0].endswith("vmsg-conform") and argv[1] == "run", argv
    return argv


def check_run_command(argv: list[str], description: str) -> None:
    """The gate: the lib target of the description, JUnit and HTML out, and
    the default grading (only FAIL fails the job)."""
    a = cli._parser().parse_args(argv[1:])
    assert a.target == f"lib:{description}"
    assert a.junit and a.out, "the run must write JUnit (--junit) and the HTML report (--out)"
    assert a.fail_on in (None, "fail") and not a.strict, "the job must fail on FAIL only"


def check_description(description: str) -> None:
    """The description the recipes name is a lib target whose library is
    where their build step puts it."""
    spec = lib.parse_spec(str(ROOT / description))
    assert spec.library == ROOT / "examples/vendor-dut/build/libvendor_dut.so"
    assert spec.description_toml == ROOT / description


def scratch_tree(tmp_path: Path) -> Path:
    """A copy of what the library build and the run read, with this test's venv as .venv."""
    tree = tmp_path / "repo"
    shutil.copytree(ROOT / "examples/vendor-dut", tree / "examples/vendor-dut",
                    ignore=shutil.ignore_patterns("build"))
    shutil.copytree(ROOT / "reference/include", tree / "reference/include")
    venv = Path(sys.prefix)
    if not (venv / "bin/vmsg-conform").exists():
        pytest.skip(f"{venv} has no bin/vmsg-conform: run the self-tests from the venv ci/setup.sh made")
    (tree / ".venv").symlink_to(venv)
    return tree


def run_recipe(tmp_path: Path, script: str, env: dict[str, str]) -> Path:
    tree = scratch_tree(tmp_path)
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tree, text=True, capture_output=True,
                       env={**os.environ, **env}, timeout=240)
    assert r.returncode == 0, f"recipe failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return tree


# ---- GitHub Actions ---------------------------------------------------------------------------


def github_steps() -> tuple[dict, list[dict]]:
    doc = load(GITHUB)
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    assert "on" in doc or True in doc, "no trigger"
    job = doc["jobs"]["conformance"]
    assert job["container"] == "debian:bookworm"
    return doc, job["steps"]


def step(steps: list[dict], name: str) -> dict:
    found = [s for s in steps if s.get("name") == name]
    assert len(found) == 1, f"no single step named {name!r}"
    return found[0]


def test_github_workflow_structure():
    doc, steps = github_steps()
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert "ci/packages.txt" in step(steps, "Install Debian packages")["run"]
    build = step(steps, "Build the checker")["run"]
    assert "pip install --no-build-isolation" in build and "VMSG_CMAKE_BUILD_DIR" in build
    for s in steps:
        if "run" in s:
            bash_syntax(s["run"], f"{GITHUB.name}: {s.get('name')}")
    description = doc["env"]["DESCRIPTION"]
    check_description(description)
    argv = run_argv(step(steps, "Run vmsg-conform")["run"], {"DESCRIPTION": description})
    check_run_command(argv, description)
    upload = step(steps, "Upload the reports")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["if"] == "always()", "the report must be uploaded when the gate fails too"
    paths = upload["with"]["path"].split()
    a = cli._parser().parse_args(argv[1:])
    assert f"{a.out}/" in paths and a.junit in paths


def test_github_workflow_gates_the_example(tmp_path):
    doc, steps = github_steps()
    script = "\n".join([step(steps, "Build the device library")["run"], step(steps, "Run vmsg-conform")["run"]])
    tree = run_recipe(tmp_path, script, {"DESCRIPTION": doc["env"]["DESCRIPTION"]})
    assert (tree / "vmsg-report/report.html").is_file()
    assert (tree / "junit.xml").is_file()


def test_github_fuzz_workflow_uses_clusterfuzzlite():
    doc = load(GITHUB_FUZZ)
    steps = doc["jobs"]["fuzz"]["steps"]
    uses = [s["uses"].split("@")[0] for s in steps]
    assert uses == ["google/clusterfuzzlite/actions/build_fuzzers", "google/clusterfuzzlite/actions/run_fuzzers"]
    assert all(s["with"]["language"] == "c++" for s in steps if "build_fuzzers" in s["uses"])


# ---- GitLab CI ----------------------------------------------------------------------------------


def gitlab_job() -> dict:
    job = load(GITLAB)["vmsg-conform"]
    assert job["image"] == "debian:bookworm"
    return job


def test_gitlab_job_structure():
    job = gitlab_job()
    script = "\n".join(job["script"])
    bash_syntax(script, f"{GITLAB.name}: vmsg-conform")
    assert "ci/packages.txt" in script and "pip install --no-build-isolation" in script
    description = job["variables"]["DESCRIPTION"]
    check_description(description)
    argv = run_argv(script, {"DESCRIPTION": description})
    check_run_command(argv, description)
    a = cli._parser().parse_args(argv[1:])
    art = job["artifacts"]
    assert art["when"] == "always"
    assert f"{a.out}/" in art["paths"]
    assert art["reports"]["junit"] == a.junit


def test_gitlab_job_gates_the_example(tmp_path):
    job = gitlab_job()
    lines = [ln for ln in job["script"] if "examples/vendor-dut" in ln or "vmsg-conform run" in ln]
    assert len(lines) == 3, lines
    tree = run_recipe(tmp_path, "\n".join(lines), {"DESCRIPTION": job["variables"]["DESCRIPTION"]})
    assert (tree / "vmsg-report/report.html").is_file()


def test_gitlab_fuzz_job_uses_clusterfuzzlite():
    job = load(GITLAB)["clusterfuzzlite"]
    assert job["image"]["name"].startswith("gcr.io/oss-fuzz-base/clusterfuzzlite-run-fuzzers")
    assert job["variables"]["CFL_PLATFORM"] == "gitlab"
    bash_syntax("\n".join(job["script"]), f"{GITLAB.name}: clusterfuzzlite")


# ---- ClusterFuzzLite ----------------------------------------------------------------------------


def test_clusterfuzzlite_files():
    project = load(CFLITE / "project.yaml")
    assert project["language"] == "c++" and "libfuzzer" in project["fuzzing_engines"]
    docker = (CFLITE / "Dockerfile").read_text()
    assert docker.startswith("#") and "FROM gcr.io/oss-fuzz-base/base-builder" in docker
    assert "COPY .clusterfuzzlite/build.sh $SRC/" in docker
    bash_syntax((CFLITE / "build.sh").read_text(), "build.sh")
    bash_syntax((ROOT / "fuzz/build.sh").read_text(), "fuzz/build.sh")


def test_clusterfuzzlite_build_makes_the_library_and_asks_for_fuzz_diff(tmp_path):
    """build.sh's own part for real; fuzz/build.sh is a stand-in that records
    what it was asked for (the real one is an instrumented reference build)."""
    if not shutil.which("clang-14"):
        pytest.skip("clang-14 absent (ci/packages.txt installs it)")
    tree = tmp_path / "repo"
    (tree / ".clusterfuzzlite").mkdir(parents=True)
    shutil.copy(CFLITE / "build.sh", tree / ".clusterfuzzlite/build.sh")
    shutil.copytree(ROOT / "examples/vendor-dut", tree / "examples/vendor-dut", ignore=shutil.ignore_patterns("build"))
    shutil.copytree(ROOT / "reference/include", tree / "reference/include")
    stub = tree / "fuzz/build.sh"
    stub.parent.mkdir()
    stub.write_text('#!/bin/bash\necho "FUZZ_TARGETS=$FUZZ_TARGETS VMSG_DUT_LIB=$VMSG_DUT_LIB" > "$OUT/asked"\n')
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    work.mkdir()
    env = {"PATH": os.environ["PATH"], "CC": "clang-14", "CXX": "clang++-14", "OUT": str(out), "WORK": str(work),
           "CFLAGS": "-O1 -fsanitize=address,fuzzer-no-link", "CXXFLAGS": "", "LIB_FUZZING_ENGINE": "-fsanitize=fuzzer"}
    r = subprocess.run(["bash", str(tree / ".clusterfuzzlite/build.sh")], env=env, text=True, capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    lib = work / "vendor-dut/libvendor_dut.so"
    assert lib.is_file()
    assert (out / "asked").read_text().split() == ["FUZZ_TARGETS=diff", f"VMSG_DUT_LIB={lib}"]
    # Unset OSS-Fuzz variables get a message, not a half-done build.
    r = subprocess.run(["bash", str(tree / ".clusterfuzzlite/build.sh")], env={"PATH": os.environ["PATH"]},
                       text=True, capture_output=True)
    assert r.returncode != 0 and "CC" in r.stderr

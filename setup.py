"""Builds the native module vmsg_conform._vmsg for pip.

The sources are pybind/*.cpp plus every library source of the reference,
read from reference/src/<area>/sources.txt: the same lists CMake reads, so a
source file is named in exactly one place. Metadata lives in pyproject.toml.
With VMSG_CMAKE_BUILD_DIR set to a current CMake build, the reference is
linked from that build's static libraries instead of compiled again.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
REFERENCE = ROOT / "reference"


def reference_sources() -> list[str]:
    """Every entry of reference/src/*/sources.txt."""
    return [src for srcs in area_sources().values() for src in srcs]


def area_sources() -> dict[str, list[str]]:
    """Library sources per area, from reference/src/<area>/sources.txt."""
    out: dict[str, list[str]] = {}
    for listing in sorted((REFERENCE / "src").glob("*/sources.txt")):
        out[listing.parent.name] = reference_sources_of(listing)
    return {area: srcs for area, srcs in out.items() if srcs}


def reference_sources_of(listing: Path) -> list[str]:
    """The entries of one sources.txt, comments and blanks skipped."""
    out: list[str] = []
    for line in listing.read_text().splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            path = REFERENCE / entry
            if not path.is_file():
                raise SystemExit(f"{listing}: listed source {entry} does not exist")
            out.append(str(path.relative_to(ROOT)))
    return out


def prebuilt_libraries(build_dir: str) -> list[str]:
    """The reference's static libraries from the CMake build in `build_dir`.

    ci/setup.sh has just built them, so the module only compiles the bindings
    instead of the whole reference a third time. CMake is asked to bring them
    up to date first (nothing to do right after a build), so a stale library
    is never linked; a build that cannot is refused with CMake's reason.
    """
    areas = list(area_sources())
    try:
        subprocess.run(["cmake", "--build", build_dir, "--target", *[f"vmsg_{a}" for a in areas]],
                       check=True, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"VMSG_CMAKE_BUILD_DIR={build_dir}: cannot bring the reference libraries up to date: {exc}")
    lib_dir = Path(build_dir).resolve() / "reference"
    libs = [lib_dir / f"libvmsg_{a}.a" for a in areas]
    missing = [str(lib) for lib in libs if not lib.is_file()]
    if missing:
        raise SystemExit(f"VMSG_CMAKE_BUILD_DIR={build_dir}: not built: {', '.join(missing)}")
    return [str(lib) for lib in libs]


def binding_sources() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pybind").glob("*.cpp"))


# At most two compiler processes (shared CI machines); NPY_NUM_BUILD_JOBS overrides.
ParallelCompile("NPY_NUM_BUILD_JOBS", default=2).install()

# The reference DUT library (vmsg_dut.h) is linked into the module as well: its
# one exported symbol, vmsg_dut_get_api, lets the `lib:ref` target load the
# module itself as the library instead of compiling the reference twice.
REF_DUT_SOURCES = ["reference/src/dut/ref/ref_dut.cpp", "reference/src/dut/ref/ref_abi.cpp"]

# VMSG_CMAKE_BUILD_DIR: link the reference from that CMake build (see
# prebuilt_libraries) instead of compiling it here. The archives' symbols stay
# inside the module (--exclude-libs), as they do when compiled here hidden.
_prebuilt_dir = os.environ.get("VMSG_CMAKE_BUILD_DIR")
if _prebuilt_dir:
    _reference = []
    _libraries = prebuilt_libraries(_prebuilt_dir)
    _link = ["-Wl,--exclude-libs,ALL", "-Wl,--start-group", *_libraries, "-Wl,--end-group"]
else:
    _reference = reference_sources()
    _libraries = []
    _link = []
# setuptools rebuilds the module only when a source or a dependency is newer
# than it: the headers and the linked libraries count, or a re-install would
# keep a module built against old ones.
_depends = sorted(str(p.relative_to(ROOT)) for p in (REFERENCE / "include").rglob("*.hpp")) + \
    [str(p.relative_to(ROOT)) for p in (ROOT / "pybind").glob("*.hpp")] + _libraries

ext = Pybind11Extension(
    "vmsg_conform._vmsg",
    sources=binding_sources() + _reference + REF_DUT_SOURCES,
    extra_link_args=_link,
    depends=_depends,
    include_dirs=[str((REFERENCE / "include").relative_to(ROOT))],
    define_macros=[("VMSG_MODULE_IS_REF_DUT", "1"), ("VMSG_REF_DUT_VERSION", '"0.1.0"')],
    cxx_std=20,
    extra_compile_args=["-O2", "-g0"],
)

class build_py_pruned(build_py):
    """build_py that first drops Python files the source tree no longer has: setuptools
    keeps build-pip/ between installs, so a renamed test module would be installed twice."""

    def run(self) -> None:
        out, src = Path(self.build_lib) / "vmsg_conform", ROOT / "conformance" / "vmsg_conform"
        if out.is_dir():
            for stale in [f for f in out.rglob("*.py") if not (src / f.relative_to(out)).exists()]:
                stale.unlink()
        super().run()


setup(
    ext_modules=[ext],
    cmdclass={"build_ext": build_ext, "build_py": build_py_pruned},
    # build/ is CMake's; keep setuptools' intermediate files apart.
    options={"build": {"build_base": "build-pip"}},
)

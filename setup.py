"""Builds the native module vmsg_conform._vmsg for pip.

The sources are pybind/*.cpp plus every library source of the reference,
read from reference/src/<area>/sources.txt: the same lists CMake reads, so a
source file is named in exactly one place. Metadata lives in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import setup

ROOT = Path(__file__).resolve().parent
REFERENCE = ROOT / "reference"


def reference_sources() -> list[str]:
    """Every entry of reference/src/*/sources.txt, comments and blanks skipped."""
    out: list[str] = []
    for listing in sorted((REFERENCE / "src").glob("*/sources.txt")):
        for line in listing.read_text().splitlines():
            entry = line.strip()
            if entry and not entry.startswith("#"):
                path = REFERENCE / entry
                if not path.is_file():
                    raise SystemExit(f"{listing}: listed source {entry} does not exist")
                out.append(str(path.relative_to(ROOT)))
    return out


def binding_sources() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pybind").glob("*.cpp"))


# At most two compiler processes (shared CI machines); NPY_NUM_BUILD_JOBS overrides.
ParallelCompile("NPY_NUM_BUILD_JOBS", default=2).install()

# The reference DUT library (vmsg_dut.h) is linked into the module as well: its
# one exported symbol, vmsg_dut_get_api, lets the `lib:ref` target load the
# module itself as the library instead of compiling the reference twice.
REF_DUT_SOURCES = ["reference/src/dut/ref/ref_dut.cpp", "reference/src/dut/ref/ref_abi.cpp"]

ext = Pybind11Extension(
    "vmsg_conform._vmsg",
    sources=binding_sources() + reference_sources() + REF_DUT_SOURCES,
    include_dirs=[str((REFERENCE / "include").relative_to(ROOT))],
    define_macros=[("VMSG_MODULE_IS_REF_DUT", "1"), ("VMSG_REF_DUT_VERSION", '"0.1.0"')],
    cxx_std=20,
    extra_compile_args=["-O2", "-g0"],
)

setup(
    ext_modules=[ext],
    cmdclass={"build_ext": build_ext},
    # build/ is CMake's; keep setuptools' intermediate files apart.
    options={"build": {"build_base": "build-pip"}},
)

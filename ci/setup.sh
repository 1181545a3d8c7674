#!/usr/bin/env bash
# Sets up a fresh Debian bookworm machine and runs the main job:
#   - installs the apt packages listed in ci/packages.txt (only when something is missing);
#   - builds build/ (Release: the reference, its tests, benchmarks, vmsg-ref-qtest);
#   - installs the checker into .venv/ the way a user does (pip install .);
#   - runs the checker against the embedded reference and prints its verdict.
# The sanitizer build that only the tests need is made by ci/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

mapfile -t pkgs < <(grep -v '^\s*#' ci/packages.txt | sed '/^\s*$/d')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs="$(nproc)"
# Release without debug info keeps the CI compile short; the sanitizer build
# (ci/test.sh) keeps assertions and line tables for reports.
echo "== build/ (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" >/dev/null
cmake --build build -j "$jobs"

# The Python checker: a venv that sees Debian's packages (pybind11, pytest,
# Hypothesis come from apt; there is no PyPI), with vmsg-conform installed the
# way a user installs it.
echo "== .venv/ (pip install --no-build-isolation .)"
if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
# The module links the reference libraries build/ has just compiled
# (VMSG_CMAKE_BUILD_DIR, setup.py) rather than compiling them a third time.
VMSG_CMAKE_BUILD_DIR="$PWD/build" .venv/bin/pip install --no-build-isolation --no-index --quiet .
# setuptools leaves its metadata beside the package sources; with it there, a
# checkout on PYTHONPATH would register the pytest plugin twice.
rm -rf conformance/vmsg_conform.egg-info
echo "== setup done"

# The main job: every conformance check against the embedded reference.
echo "== vmsg-conform run --target ref (reports in out/ref/)"
.venv/bin/vmsg-conform run --target ref --fail-on info --out out/ref

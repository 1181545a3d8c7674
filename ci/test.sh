#!/usr/bin/env bash
# Runs every test: the unit and integration suites in the normal build, then
# the same suites in the ASan+UBSan build. Run ci/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

echo "== ctest: build/"
ctest --test-dir build --output-on-failure -j "$jobs"
echo "== ctest: build-asan/ (ASan + UBSan)"
ctest --test-dir build-asan --output-on-failure -j "$jobs"
echo "== ThreadSanitizer: two-thread ring stress (clang-14)"
bash fuzz/tsan.sh

# The Python checker, as a user runs it from the pip-installed package.
export CI="${CI:-true}"   # Hypothesis derandomized; the Chromium check fails rather than skips
# The spec tree (shared/) sits beside the checkout; the catalogue self-test maps
# every normative block of its TeX to catalogue entries.
if [ -z "${VMSG_SPEC_DIR:-}" ] && [ -d ../shared/spec ]; then export VMSG_SPEC_DIR="$PWD/../shared/spec"; fi
echo "== vmsg-conform: self-tests (bindings, catalogue, targets, plugin, CLI, reports, Chromium)"
.venv/bin/python -m pytest -q -p no:cacheprovider conformance/selftest
echo "== vmsg-conform run --target ref"
.venv/bin/vmsg-conform run --target ref --out out/ref
echo "== vmsg-conform run --target lib:ref (the reference through the vmsg_dut.h C ABI)"
.venv/bin/vmsg-conform run --target lib:ref --out out/lib-ref
echo "== vmsg-conform run --target qtest (qtest client against vmsg-ref-qtest)"
VMSG_REF_QTEST="$PWD/build/reference/tools/vmsg-ref-qtest" \
  .venv/bin/vmsg-conform run --target qtest --out out/qtest
echo "== vmsg-conform diff: ref against lib:ref and qtest"
.venv/bin/vmsg-conform diff --target ref --target lib:ref
VMSG_REF_QTEST="$PWD/build/reference/tools/vmsg-ref-qtest" \
  .venv/bin/vmsg-conform diff --target ref --target qtest
echo "== vmsg-conform matrix (every fault mode must be caught)"
.venv/bin/vmsg-conform matrix --out out/matrix

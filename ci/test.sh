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
echo "== vmsg-conform: self-tests (bindings, catalogue, targets, plugin, CLI, reports, Chromium)"
.venv/bin/python -m pytest -q -p no:cacheprovider conformance/selftest
echo "== vmsg-conform run --target ref"
.venv/bin/vmsg-conform run --target ref --out out/ref
echo "== vmsg-conform run --target lib:ref"
.venv/bin/vmsg-conform run --target lib:ref --out out/lib-ref
echo "== vmsg-conform matrix (every fault mode must be caught)"
.venv/bin/vmsg-conform matrix --out out/matrix

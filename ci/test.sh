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

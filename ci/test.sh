#!/usr/bin/env bash
# Runs every test: the unit and integration suites in the normal build, then
# the same suites in the ASan+UBSan build (built here, incrementally), the
# checker's self-tests, the suite on every target and the fault matrix.
# Run ci/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"

echo "== build-asan/ (ASan + UBSan)"
# The fuzz replays run in build/ (gcc); the fuzzers themselves run under
# ASan+UBSan (fuzz/build.sh), so the sanitizer tree skips the fuzz tree.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DVMSG_SANITIZE=ON -DVMSG_BUILD_BENCH=OFF -DVMSG_BUILD_FUZZ_REPLAY=OFF >/dev/null
cmake --build build-asan -j "$jobs"

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
# Without faults every target must be all PASS or SKIP: --fail-on info makes
# any WARN, INFO or BLOCKED fail the run (the ref run is ci/setup.sh's job).
echo "== vmsg-conform run --target lib:ref (the reference through the vmsg_dut.h C ABI)"
.venv/bin/vmsg-conform run --target lib:ref --fail-on info --out out/lib-ref
echo "== vmsg-conform run --target ref:qemu-sizes.toml (the reference with QEMU's queue maxima)"
.venv/bin/vmsg-conform run --target ref:conformance/vmsg_conform/targets/qemu-sizes.toml --fail-on info --out out/qemu-sizes
echo "== vmsg-conform run --target qtest (qtest client against vmsg-ref-qtest)"
VMSG_REF_QTEST="$PWD/build/reference/tools/vmsg-ref-qtest" \
  .venv/bin/vmsg-conform run --target qtest --fail-on info --out out/qtest
echo "== vmsg-conform run --target qtest --machine virt (the same on arm virt: ECAM, BARs from 0x10000000, RAM at 1 GiB)"
VMSG_REF_QTEST="$PWD/build/reference/tools/vmsg-ref-qtest" \
  .venv/bin/vmsg-conform run --target qtest --machine virt --fail-on info --out out/qtest-virt
echo "== vmsg-conform run --profile rev1-2026 on ref, lib:ref and qtest (the reference built in the REV1-2026 draft)"
.venv/bin/vmsg-conform run --target ref --profile rev1-2026 --fail-on info -q --out out/rev1-ref
.venv/bin/vmsg-conform run --target lib:ref --profile rev1-2026 --fail-on info -q --out out/rev1-lib-ref
VMSG_REF_QTEST="$PWD/build/reference/tools/vmsg-ref-qtest" \
  .venv/bin/vmsg-conform run --target qtest --profile rev1-2026 --fail-on info -q --out out/rev1-qtest
echo "== vmsg-conform run --profile auto (the draft read from the device's GET_DEVICE_INFO size)"
.venv/bin/vmsg-conform run --target ref --profile auto --fail-on info -q --out out/auto-ref | grep '^profile:'
echo "== vmsg-conform run --target qtest --fault-set qemu-v2 (the stand-in for QEMU's device: FAILs expected)"
# Its findings are checked in conformance/selftest/test_qemu_v2.py and by the
# matrix (no collateral); here the whole path over qtest must report them.
mkdir -p out
rc=0
VMSG_REF_QTEST="$PWD/build/reference/tools/vmsg-ref-qtest" \
  .venv/bin/vmsg-conform run --target qtest --fault-set qemu-v2 -q --out out/qemu-v2 >out/qemu-v2.log 2>&1 || rc=$?
sed -n '/=== vmsg-conform ===/,/^report written/p' out/qemu-v2.log | grep -v '^       '
if [ "$rc" -ne 1 ]; then echo "qemu-v2 over qtest: expected exit status 1 (FAIL findings), got $rc"; tail -n 40 out/qemu-v2.log; exit 1; fi
echo "== vmsg-conform diff: ref against lib:ref and qtest"
.venv/bin/vmsg-conform diff --target ref --target lib:ref
VMSG_REF_QTEST="$PWD/build/reference/tools/vmsg-ref-qtest" \
  .venv/bin/vmsg-conform diff --target ref --target qtest
echo "== vmsg-conform matrix (every fault mode caught, no collateral findings)"
.venv/bin/vmsg-conform matrix --out out/matrix
echo "== vmsg-conform matrix --profile rev1-2026 (the REV1 faults and the shared ones judged under REV1)"
.venv/bin/vmsg-conform matrix --profile rev1-2026 --out out/matrix-rev1

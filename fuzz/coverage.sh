#!/usr/bin/env bash
# Line coverage of reference/ reached by the committed corpora: builds the
# replay binaries with clang-14 source-based coverage (build-fuzz/cov), runs
# each over fuzz/corpus/<t> and fuzz/regressions/<t>, merges the profiles and
# prints llvm-cov's report for reference/ (per file and total). The
# denominator is all of reference/src and reference/include (every library
# is also linked whole into vmsg_fuzz_cov_all, which never runs), less the two
# OS-facing files named below.
# EXTRA_CORPUS=<root> also replays <root>/<t> (e.g. build-fuzz/corpus, where
# run.sh leaves campaign inputs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
dir="${COV_BUILD_DIR:-$root/build-fuzz/cov}"
targets=(codec fifo device transport diff driver qtest qtest_args dut_config qmp)
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$dir" "${gen[@]}" -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS="-O0 -g -fprofile-instr-generate -fcoverage-mapping" -DCMAKE_BUILD_TYPE= \
  -DVMSG_BUILD_TESTS=OFF -DVMSG_BUILD_BENCH=OFF -DVMSG_BUILD_FUZZ_REPLAY=ON -DVMSG_FUZZ_COV_ALL=ON >/dev/null
cmake --build "$dir" -j "${JOBS:-1}" --target "${targets[@]/#/vmsg_replay_}" vmsg_fuzz_cov_all
rm -rf "$dir/profiles" && mkdir -p "$dir/profiles"
objs=()
for t in "${targets[@]}"; do
  extra=()
  [ -n "${EXTRA_CORPUS:-}" ] && [ -d "$EXTRA_CORPUS/$t" ] && extra=("$EXTRA_CORPUS/$t")
  # %m: one file per instrumented module, so libvmsg_ref_dut.so (loaded by
  # diff and dut_config) writes its own counters instead of clobbering the
  # executable's.
  LLVM_PROFILE_FILE="$dir/profiles/$t-%m.profraw" "$dir/fuzz/vmsg_replay_$t" \
    "$here/corpus/$t" "$here/regressions/$t" "${extra[@]}" 2>/dev/null
  objs+=(-object "$dir/fuzz/vmsg_replay_$t")
done
# The reference DUT library is built with the same flags; count its lines too.
objs+=(-object "$dir/reference/libvmsg_ref_dut.so")
# Every reference library linked whole and never run: code no target links
# counts as unexecuted instead of dropping out of the denominator.
objs+=(-object "$dir/fuzz/vmsg_fuzz_cov_all")
llvm-profdata-14 merge -sparse "$dir"/profiles/*.profraw -o "$dir/profiles/all.profdata"
# Left out, and named in the README: the two places that only exist to talk
# to the operating system — starting a QEMU process and vmsg-ref-qtest's
# main (socket accept loop) — which CTest covers instead.
excluded='reference/src/qtest/(qemu_process|ref_main)\.cpp$'
llvm-cov-14 report "${objs[@]:1}" -instr-profile="$dir/profiles/all.profdata" \
  -ignore-filename-regex="$excluded" "$root/reference/src" "$root/reference/include" | sed "s|$root/||"

#!/usr/bin/env bash
# Line coverage of reference/ reached by the committed corpora: builds the
# replay binaries with clang-14 source-based coverage (build-fuzz/cov), runs
# each over fuzz/corpus/<t> and fuzz/regressions/<t>, merges the profiles and
# prints llvm-cov's report for reference/ (per file and total). Only code
# linked into a replay binary is counted. EXTRA_CORPUS=<root> also replays
# <root>/<t> (e.g. build-fuzz/corpus, where run.sh leaves campaign inputs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
dir="${COV_BUILD_DIR:-$root/build-fuzz/cov}"
targets=(codec fifo device transport diff)
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$dir" "${gen[@]}" -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS="-O0 -g -fprofile-instr-generate -fcoverage-mapping" -DCMAKE_BUILD_TYPE= \
  -DVMSG_BUILD_TESTS=OFF -DVMSG_BUILD_BENCH=OFF -DVMSG_BUILD_FUZZ_REPLAY=ON >/dev/null
cmake --build "$dir" -j "${JOBS:-1}" --target "${targets[@]/#/vmsg_replay_}"
rm -rf "$dir/profiles" && mkdir -p "$dir/profiles"
objs=()
for t in "${targets[@]}"; do
  extra=()
  [ -n "${EXTRA_CORPUS:-}" ] && [ -d "$EXTRA_CORPUS/$t" ] && extra=("$EXTRA_CORPUS/$t")
  LLVM_PROFILE_FILE="$dir/profiles/$t.profraw" "$dir/fuzz/vmsg_replay_$t" \
    "$here/corpus/$t" "$here/regressions/$t" "${extra[@]}" 2>/dev/null
  objs+=(-object "$dir/fuzz/vmsg_replay_$t")
done
llvm-profdata-14 merge -sparse "$dir"/profiles/*.profraw -o "$dir/profiles/all.profdata"
llvm-cov-14 report "${objs[@]:1}" -instr-profile="$dir/profiles/all.profdata" \
  "$root/reference/src" "$root/reference/include" | sed "s|$root/||"

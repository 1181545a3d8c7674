#!/usr/bin/env bash
# A local campaign: fuzz/run.sh TARGET [SECONDS] (default 600).
#   - (re)builds with fuzz/build.sh (incremental);
#   - runs one libFuzzer job on one core (-jobs=1 -workers=1) with the
#     target's dictionary and options, reading fuzz/corpus/TARGET and
#     fuzz/regressions/TARGET and writing new inputs to a scratch corpus
#     ($SCRATCH, default build-fuzz/corpus/TARGET), never to the repo;
#   - on a crash, minimises it (-minimize_crash) and copies the result into
#     fuzz/regressions/TARGET/, where the replay test picks it up (not with
#     VMSG_DIFF_FAULT set: fuzz_diff's fault mode is meant to diverge).
# Prints the last status line (exec/s, coverage) and exits non-zero on a crash.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
target="${1:?usage: fuzz/run.sh TARGET [SECONDS]  (codec fifo device transport diff driver qtest qtest_args dut_config qmp)}"
secs="${2:-600}"
OUT="${OUT:-$root/build-fuzz/out}"
bin="$OUT/fuzz_$target"
scratch="${SCRATCH:-$root/build-fuzz/corpus/$target}"
stamp="$(date +%Y%m%d-%H%M%S)-$$"
art="$root/build-fuzz/artifacts/$target/$stamp"  # per run: concurrent campaigns never share crashes

[ "${SKIP_BUILD:-0}" = 1 ] || "$here/build.sh" >/dev/null || exit 2
mkdir -p "$scratch" "$art"
scratch="$(cd "$scratch" && pwd)"  # the fuzzer runs from $art

# [libfuzzer] key = value lines of the .options file become -key=value flags.
. "$here/options.sh"
mapfile -t opts < <(libfuzzer_options "$OUT" "$target")
# The regression inputs alone (libFuzzer would read README.md and the
# *.unfix.patch files of the directory as inputs too).
. "$here/inputs.sh"
regs="$art/regressions"
mkdir -p "$regs"
regression_inputs "$here/regressions/$target" | xargs -r cp -t "$regs"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
log="$art/fuzz.log"
(cd "$art" && "$bin" "${opts[@]}" -max_total_time="$secs" -jobs=1 -workers=1 -print_final_stats=1 \
   -artifact_prefix="$art/" "$scratch" "$here/corpus/$target" "$regs" >"$log" 2>&1)
rc=$?
# With -jobs the fuzzer's own output goes to fuzz-0.log in the working directory.
[ -f "$art/fuzz-0.log" ] && cat "$art/fuzz-0.log" >> "$log" && rm -f "$art/fuzz-0.log"
grep -aE "^#[0-9]+" "$log" | tail -1
grep -aE "stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" "$log" | awk '!seen[$0]++' | tr -s ' ' | tr '\n' ' '; echo

crashes=$(ls "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-* 2>/dev/null || true)
if [ -n "$crashes" ]; then
  for c in $crashes; do
    name="$(basename "$c")"
    if [ -n "${VMSG_DIFF_FAULT:-}" ]; then
      # A fault mode on fuzz_diff's library side: the divergence is the expected
      # finding, not a regression of the reference; it stays in $art.
      echo "divergence found with VMSG_DIFF_FAULT=$VMSG_DIFF_FAULT: $c (log $log)"
      continue
    fi
    min="$art/min-$name"
    "$bin" "${opts[@]}" -minimize_crash=1 -max_total_time=120 -exact_artifact_path="$min" "$c" >"$art/min-$name.log" 2>&1
    [ -s "$min" ] || cp "$c" "$min"
    cp "$min" "$here/regressions/$target/$name"
    echo "crash: $c -> fuzz/regressions/$target/$name (log $log)"
  done
  exit 1
fi
[ "$rc" -eq 0 ] || { echo "fuzzer exited $rc, see $log"; exit 1; }
echo "no crash in ${secs}s; new inputs in $scratch; log $log"

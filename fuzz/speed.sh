#!/usr/bin/env bash
# What a fuzz target costs per input, measured the same way every time:
#   fuzz/speed.sh [TARGET...]   (default: device transport diff driver dut_config codec fifo qmp)
# For each target: libFuzzer executes every input of its committed corpus
# (fuzz/corpus/TARGET) as given, K times each (-runs=K with files as
# arguments: nothing invented, no corpus bookkeeping), with the target's
# options, on one core (CORE, default 0), under the sanitizers fuzz/build.sh
# builds with (ASan+UBSan). K is chosen so that a pass makes about EXECS
# executions (default 2000). exec/s = executions / wall time of the pass;
# the pass is repeated REPS times (default 3) and the median printed, with
# the corpus size and mean input length. FLOOR=1 adds fuzz/floor.sh's table
# (FLOOR_SECS per mode, default 10). SKIP_BUILD=1 uses the build as it is;
# OUT points at another build's out directory (default build-fuzz/out).
# SET=campaign measures only the inputs campaigns added (every file not named
# gen-*), SET=generated only the generator's seeds (gen-*); default: the whole
# committed corpus.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
OUT="${OUT:-$root/build-fuzz/out}"
reps="${REPS:-3}"
core="${CORE:-0}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(device transport diff driver dut_config codec fifo qmp)

[ "${SKIP_BUILD:-0}" = 1 ] || "$here/build.sh" >/dev/null
scratch="$(mktemp -d)"  # the fuzzer's working directory (crash files land here, not in the repo)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

. "$here/options.sh"

once() {  # TARGET K FILE... -> exec/s of one pass: every file executed K times
  local t="$1" k="$2" bin="$OUT/fuzz_$1" log="$scratch/log" start end
  shift 2
  mapfile -t opts < <(libfuzzer_options "$OUT" "$t")
  start="$(date +%s.%N)"
  (cd "$scratch" && taskset -c "$core" "$bin" "${opts[@]}" -runs="$k" "$@" >"$log" 2>&1) ||
    { echo "fuzz_$t failed; last lines:" >&2; tail -n 20 "$log" >&2; exit 1; }
  end="$(date +%s.%N)"
  awk -v n="$(( $# * k ))" -v s="$start" -v e="$end" 'BEGIN {printf "%.0f", n / (e - s)}'
}

printf '%-11s %7s %10s %12s %s\n' target inputs 'mean len' 'exec/s med' 'runs'
for t in "${targets[@]}"; do
  [ -x "$OUT/fuzz_$t" ] || { echo "no $OUT/fuzz_$t: run fuzz/build.sh first" >&2; exit 2; }
  case "${SET:-all}" in
    all) files=("$here/corpus/$t"/*) ;;
    campaign) mapfile -t files < <(find "$here/corpus/$t" -maxdepth 1 -type f ! -name 'gen-*' | sort) ;;
    generated) files=("$here/corpus/$t"/gen-*) ;;
    *) echo "SET=${SET}: expected all, campaign or generated" >&2; exit 2 ;;
  esac
  [ -e "${files[0]}" ] || { echo "fuzz_$t: no ${SET:-all} inputs in corpus/$t" >&2; exit 2; }
  mean="$(stat -c %s "${files[@]}" | awk '{s += $1} END {printf "%.0f", s / NR}')"
  k=$(( (${EXECS:-2000} + ${#files[@]} - 1) / ${#files[@]} ))
  runs=()
  for _ in $(seq "$reps"); do runs+=("$(once "$t" "$k" "${files[@]}")"); done
  med="$(printf '%s\n' "${runs[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
  printf '%-11s %7d %10s %12s %s\n' "$t" "${#files[@]}" "$mean" "$med" "${runs[*]}"
done
if [ "${FLOOR:-0}" = 1 ]; then
  echo
  WORK="${WORK:-$root/build-fuzz/work}" "$here/floor.sh" "${FLOOR_SECS:-10}"
fi

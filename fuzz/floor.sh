#!/usr/bin/env bash
# The exec/s ceiling of device-stream inputs on this machine:
# fuzz/floor.sh [SECONDS] (default 20 per mode) runs vmsg_fuzz_floor
# (fuzz/bench/floor.cpp) alone on one core in each mode, with libFuzzer's
# default scheduling and with -entropic=0, and prints a table. Build first
# with fuzz/build.sh. CORE picks the core (default 0).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
WORK="${WORK:-$root/build-fuzz/work}"
bin="$WORK/cmake/fuzz/vmsg_fuzz_floor"
secs="${1:-20}"
core="${CORE:-0}"
[ -x "$bin" ] || { echo "no $bin: run fuzz/build.sh first" >&2; exit 2; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

rate() {  # MODE EXTRA-FLAG... -> average exec/s
  local mode="$1"; shift
  rm -rf "$scratch/c" && mkdir "$scratch/c"
  VMSG_FLOOR="$mode" taskset -c "$core" "$bin" "$@" -max_total_time="$secs" -print_final_stats=1 "$scratch/c" 2>&1 |
    awk '/stat::average_exec_per_sec/ {print $2}'
}

printf '%-12s %14s %14s\n' mode 'exec/s' 'exec/s entropic=0'
for mode in empty config ping reset-ping; do
  printf '%-12s %14s %14s\n' "$mode" "$(rate "$mode")" "$(rate "$mode" -entropic=0)"
done

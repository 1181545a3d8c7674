#!/usr/bin/env bash
# ThreadSanitizer build and run of the two-thread ring stress
# (fuzz/stress/ring_stress.cpp), in its own build tree build-tsan-stress/.
#   fuzz/tsan.sh [MESSAGES]   (default 200000)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
dir="${TSAN_BUILD_DIR:-$root/build-tsan-stress}"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$dir" "${gen[@]}" -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS="-O1 -g -fsanitize=thread -fno-omit-frame-pointer" -DCMAKE_BUILD_TYPE= \
  -DVMSG_BUILD_TESTS=OFF -DVMSG_BUILD_BENCH=OFF -DVMSG_BUILD_FUZZ_REPLAY=ON >/dev/null
cmake --build "$dir" --target vmsg_ring_stress -j "$(nproc)"
TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1" "$dir/fuzz/vmsg_ring_stress" "${1:-200000}"

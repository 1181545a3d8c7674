#!/usr/bin/env bash
# Builds the libFuzzer targets, OSS-Fuzz style. Honours the OSS-Fuzz
# variables; the defaults are for a local build with clang-14:
#   CXX                 clang++-14
#   CXXFLAGS            -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all
#   LIB_FUZZING_ENGINE  -fsanitize=fuzzer
#   OUT                 <repo>/build-fuzz/out   (fuzzers, .options, .dict, seed zips)
#   WORK                <repo>/build-fuzz/work  (CMake build tree)
#   FUZZ_TARGETS        the targets to build, e.g. "diff" (default: all of them)
#   VMSG_DUT_LIB        a device library to put into $OUT as libvmsg_ref_dut.so,
#                       where fuzz_diff and fuzz_dut_config load it from, in place
#                       of the reference's (.clusterfuzzlite/build.sh: a vendor's)
# (CC/CFLAGS are accepted but unused: the project is C++ only.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/inputs.sh"  # regression_inputs
root="$(dirname "$here")"

CXX="${CXX:-clang++-14}"
CXXFLAGS="${CXXFLAGS:--O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all}"
LIB_FUZZING_ENGINE="${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}"
OUT="${OUT:-$root/build-fuzz/out}"
WORK="${WORK:-$root/build-fuzz/work}"
read -r -a targets <<<"${FUZZ_TARGETS:-codec fifo device transport diff driver qtest qtest_args dut_config qmp}"

gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
# Warnings stay on but are not errors here: OSS-Fuzz's newer clang may warn
# differently; the gcc and clang-14 builds of ci/ enforce -Werror.
cmake -S "$root" -B "$WORK/cmake" "${gen[@]}" \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="$CXXFLAGS" -DCMAKE_BUILD_TYPE= \
  -DVMSG_BUILD_TESTS=OFF -DVMSG_BUILD_BENCH=OFF -DVMSG_WERROR=OFF -DVMSG_BUILD_FUZZ_REPLAY=ON \
  -DVMSG_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" >/dev/null
cmake --build "$WORK/cmake" -j "${JOBS:-1}" --target "${targets[@]/#/fuzz_}" vmsg_fuzz_floor

mkdir -p "$OUT"
# fuzz_diff loads the reference DUT library from its own directory first.
cp "${VMSG_DUT_LIB:-$WORK/cmake/reference/libvmsg_ref_dut.so}" "$OUT/libvmsg_ref_dut.so"
for t in "${targets[@]}"; do
  cp "$WORK/cmake/fuzz/fuzz_$t" "$OUT/"
  cp "$here/options/fuzz_$t.options" "$OUT/"
  cp "$here/dict/$t.dict" "$OUT/fuzz_$t.dict"
  if command -v zip >/dev/null; then
    rm -f "$OUT/fuzz_${t}_seed_corpus.zip"
    (cd "$here" && zip -qj "$OUT/fuzz_${t}_seed_corpus.zip" corpus/"$t"/* $(regression_inputs regressions/"$t"))
  fi
done
echo "fuzzers in $OUT: ${targets[*]/#/fuzz_}"

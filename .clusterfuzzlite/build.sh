#!/bin/bash -eu
# ClusterFuzzLite build (OSS-Fuzz conventions: $CC $CFLAGS $CXX $CXXFLAGS
# $LIB_FUZZING_ENGINE $OUT $WORK $SRC): fuzz_diff, with the device library
# beside it in $OUT under the name it loads (libvmsg_ref_dut.so).
#
#   VMSG_DUT_LIB  the device library to fuzz, already built. Unset: the
#                 vendor example (examples/vendor-dut) is built here with
#                 $CC $CFLAGS, instrumented like the fuzzer. A vendor
#                 replaces that build with its own library's.
#
# fuzz_diff holds the library against the in-process reference over random
# topologies, devices and fault modes (fuzz/README.md): it gates libraries
# meant to behave exactly as the reference does.
: "${CC:?}" "${CFLAGS?}" "${OUT:?}" "${WORK:?}"  # set by ClusterFuzzLite; set them to run this locally
# The sources: $SRC/vmsg-conform in the image (Dockerfile), else this checkout.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -d "${SRC:-}/vmsg-conform" ]; then root="$SRC/vmsg-conform"; fi

if [ -z "${VMSG_DUT_LIB:-}" ]; then
  cmake -S "$root/examples/vendor-dut" -B "$WORK/vendor-dut" -DCMAKE_BUILD_TYPE= \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" -DVMSG_DUT_INCLUDE_DIR="$root/reference/include"
  cmake --build "$WORK/vendor-dut"
  VMSG_DUT_LIB="$WORK/vendor-dut/libvendor_dut.so"
fi

FUZZ_TARGETS=diff VMSG_DUT_LIB="$VMSG_DUT_LIB" JOBS="${JOBS:-$(nproc)}" WORK="$WORK/vmsg" "$root/fuzz/build.sh"

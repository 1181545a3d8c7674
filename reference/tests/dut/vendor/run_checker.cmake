# CTest dut.vendor_example_conformance: runs vmsg-conform over the vendor
# example that dut.vendor_example built into WORK_DIR/build, described by the
# committed DESCRIPTION (copied to WORK_DIR, so its [lib] path
# build/libvendor_dut.so names that library). Grading is the CLI's default:
# only a FAIL fails the run.
# Inputs: VENV DESCRIPTION WORK_DIR
foreach(v VENV DESCRIPTION WORK_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_checker.cmake: ${v} not set")
  endif()
endforeach()

set(checker "${VENV}/bin/vmsg-conform")
if(NOT EXISTS "${checker}")
  # SKIP_REGULAR_EXPRESSION of the test turns this into a skip.
  message("SKIPPED: no ${checker}; run ci/setup.sh (or set VMSG_CONFORM_VENV) to gate the example")
  return()
endif()
if(NOT EXISTS "${WORK_DIR}/build/libvendor_dut.so")
  message(FATAL_ERROR "no ${WORK_DIR}/build/libvendor_dut.so: dut.vendor_example builds it")
endif()

configure_file("${DESCRIPTION}" "${WORK_DIR}/vendor-dut.toml" COPYONLY)
execute_process(COMMAND "${checker}" run --target "lib:${WORK_DIR}/vendor-dut.toml" --fail-on fail
                        --derandomize -q --out "${WORK_DIR}/out"
                WORKING_DIRECTORY "${WORK_DIR}"
                OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
# The verdict summary, and on failure everything.
string(REGEX MATCH "tests: [^\n]*" summary "${out}")
message("vmsg-conform on the vendor example: ${summary} (reports in ${WORK_DIR}/out)")
if(NOT rc EQUAL 0)
  message("${out}")
  message(FATAL_ERROR "vmsg-conform run on the vendor example exited ${rc}: a test FAILed or the run broke")
endif()

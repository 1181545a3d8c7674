# CTest dut.vendor_example_conformance: runs vmsg-conform over the vendor
# example that dut.vendor_example built into WORK_DIR/build, once with no
# description (discovery) and once described by the committed DESCRIPTION
# (copied to WORK_DIR, so its [lib] path build/libvendor_dut.so names that
# library). Grading is the CLI's default:
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
# Twice: as a vendor first runs it, the library alone (created with the empty
# configuration, its topology discovered through the port), and through the
# committed description. Both must be free of FAILs and give the same counts.
set(summaries "")
foreach(tag discovered described)
  if(tag STREQUAL "discovered")
    set(target "lib:${WORK_DIR}/build/libvendor_dut.so")
  else()
    set(target "lib:${WORK_DIR}/vendor-dut.toml")
  endif()
  execute_process(COMMAND "${checker}" run --target "${target}" --fail-on fail
                          --derandomize -q --out "${WORK_DIR}/out-${tag}"
                  WORKING_DIRECTORY "${WORK_DIR}"
                  OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
  # The verdict summary, and on failure everything.
  string(REGEX MATCH "[0-9]+ passed[^\n]*" summary "${out}")
  string(REGEX REPLACE " in [0-9.]+s.*" "" summary "${summary}")
  message("vmsg-conform on the vendor example (${target}): ${summary} (reports in ${WORK_DIR}/out-${tag})")
  if(NOT rc EQUAL 0)
    message("${out}")
    message(FATAL_ERROR "vmsg-conform run --target ${target} exited ${rc}: a test FAILed or the run broke")
  endif()
  if(summary STREQUAL "")
    message("${out}")
    message(FATAL_ERROR "vmsg-conform run --target ${target}: no verdict summary in its output")
  endif()
  list(APPEND summaries "${summary}")
endforeach()
list(GET summaries 0 discovered)
list(GET summaries 1 described)
if(NOT discovered STREQUAL described)
  message(FATAL_ERROR "discovered topology gives '${discovered}', the committed description '${described}'")
endif()

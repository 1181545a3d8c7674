# CTest dut.vendor_example: configure and build examples/vendor-dut out of
# tree (a fresh directory, its own project) with the C compiler matching this
# build's C++ compiler, then load the result through LibPort.
# Inputs: SOURCE_DIR INCLUDE_DIR WORK_DIR CXX_COMPILER CXX_COMPILER_ID GENERATOR TEST_PROGRAM
foreach(v SOURCE_DIR INCLUDE_DIR WORK_DIR CXX_COMPILER CXX_COMPILER_ID TEST_PROGRAM)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "build_and_load.cmake: ${v} not set")
  endif()
endforeach()

# g++-12 -> gcc-12, clang++-14 -> clang-14: the same compiler family and version.
get_filename_component(cxx_dir "${CXX_COMPILER}" DIRECTORY)
get_filename_component(cxx_name "${CXX_COMPILER}" NAME)
if(CXX_COMPILER_ID STREQUAL "Clang")
  string(REPLACE "clang++" "clang" cc_name "${cxx_name}")
else()
  string(REPLACE "g++" "gcc" cc_name "${cxx_name}")
  string(REPLACE "c++" "cc" cc_name "${cc_name}")
endif()
set(cc "${cxx_dir}/${cc_name}")
if(NOT EXISTS "${cc}")
  message(FATAL_ERROR "no C compiler ${cc} next to ${CXX_COMPILER}")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
set(gen_args "")
if(GENERATOR)
  set(gen_args -G "${GENERATOR}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}" ${gen_args}
                        "-DCMAKE_C_COMPILER=${cc}" -DCMAKE_BUILD_TYPE=Release
                        "-DVMSG_DUT_INCLUDE_DIR=${INCLUDE_DIR}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the vendor example failed (${rc})")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}" -j 1 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the vendor example failed (${rc})")
endif()
set(lib "${WORK_DIR}/libvendor_dut.so")
if(NOT EXISTS "${lib}")
  message(FATAL_ERROR "the vendor example build produced no ${lib}")
endif()
execute_process(COMMAND "${TEST_PROGRAM}" "${lib}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "loading the vendor example through LibPort failed (${rc})")
endif()

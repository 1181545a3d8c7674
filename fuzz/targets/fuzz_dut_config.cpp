// fuzz_dut_config: the DUT configuration string and the C ABI around it.
//
// The input is a configuration string, a flag to build the reference DUT
// from it, a DutConfig described field by field, and up to 48 calls on the
// library (directly through vmsg_dut_api and through the host's LibPort),
// all in harness/dut_config_ops.hpp. The oracles live in
// harness/dut_config_check.hpp: parse gives a config or the grammar's typed
// error; accepted strings and structured configs round-trip through
// format_config; a parsed config builds in process exactly when the
// library's create() accepts it, and a refused string comes back with the
// parser's message; hostile ABI arguments get the documented status and a
// message; the loader's and create()'s refusals are checked once per process.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/ref_dut_path.hpp"
#include "common/stream_io.hpp"
#include "harness/dut_config_check.hpp"
#include "harness/dut_config_ops.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Function-local: the library stays loaded across inputs.
  static vmsg::fuzz::DutConfigChecker checker(vmsg::fuzz::ref_dut_path());
  FuzzedDataProvider fdp(data, size);
  vmsg::fuzz::FdpReader in(fdp);
  vmsg::fuzz::dut_config_ops::Input input;
  vmsg::fuzz::dut_config_ops::io_input(in, input);
  checker.run(input);
  return 0;
}

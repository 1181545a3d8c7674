// Where a fuzz target finds the reference DUT library (libvmsg_ref_dut.so).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace vmsg::fuzz {

/// VMSG_DUT_LIB, else next to the executable (fuzz/build.sh copies it into
/// $OUT, as OSS-Fuzz needs), else the build tree's (VMSG_FUZZ_REF_DUT).
inline std::string ref_dut_path() {
  if (const char* p = std::getenv("VMSG_DUT_LIB")) return p;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto next = self.parent_path() / "libvmsg_ref_dut.so";
    if (std::filesystem::exists(next)) return next.string();
  }
#ifdef VMSG_FUZZ_REF_DUT
  return VMSG_FUZZ_REF_DUT;
#else
  return "libvmsg_ref_dut.so";
#endif
}

}  // namespace vmsg::fuzz

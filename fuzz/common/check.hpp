// Oracle failures of the fuzz targets.
//
// A failed oracle must look like a crash to libFuzzer (so it is saved and
// minimised) and like a failed test to the replay build: print what broke,
// where, and abort(). abort() rather than __builtin_trap() so stderr is
// flushed and the sanitizer runtime prints a stack trace for SIGABRT.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace vmsg::fuzz {

[[noreturn]] inline void oracle_failure(const char* file, int line, const char* cond, const std::string& what) {
  std::fprintf(stderr, "\n==vmsg-fuzz== ORACLE FAILURE at %s:%d\n==vmsg-fuzz==   check: %s\n==vmsg-fuzz==   what:  %s\n",
               file, line, cond, what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace vmsg::fuzz

/// Checks an oracle; `what` (anything convertible to std::string) is only
/// evaluated on failure, so it may format expensively.
#define VMSG_FUZZ_CHECK(cond, what)                                        \
  do {                                                                     \
    if (!(cond)) ::vmsg::fuzz::oracle_failure(__FILE__, __LINE__, #cond, (what)); \
  } while (0)

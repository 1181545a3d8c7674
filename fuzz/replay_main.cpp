// Runs a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer,
// so the ordinary (gcc) build replays the seed corpus and the regression
// inputs as a test. Arguments are files or directories (searched
// recursively, README* and *.patch skipped: the regressions' *.unfix.patch
// files are fuzz/regressions/prove.sh's); each input is run once, in sorted order,
// from an exact-size heap copy so a sanitized build catches overreads.
// Exits non-zero if no input was found (a renamed corpus dir must not turn
// the test into a silent no-op); an oracle failure aborts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "common/input_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  const auto files = vmsg::fuzz::input_files(argc, argv);
  if (files.empty()) {
    std::fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  for (const auto& f : files) {
    const std::vector<std::uint8_t> bytes = vmsg::fuzz::read_input_file(f);
    // Exact-size copy: reading one byte past the input is then a heap overflow.
    const auto copy = std::make_unique<std::uint8_t[]>(bytes.size() + (bytes.empty() ? 1 : 0));
    std::copy(bytes.begin(), bytes.end(), copy.get());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.string().c_str(), bytes.size());
    LLVMFuzzerTestOneInput(copy.get(), bytes.size());
  }
  std::printf("replay: %zu inputs ran, all oracles held\n", files.size());
  return 0;
}

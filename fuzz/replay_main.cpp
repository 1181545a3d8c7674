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
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool is_input(const fs::path& p) {
  return p.filename().string().rfind("README", 0) != 0 && p.extension() != ".patch";
}

void collect(const fs::path& p, std::vector<fs::path>& out) {
  if (fs::is_directory(p)) {
    for (const auto& e : fs::recursive_directory_iterator(p)) {
      if (e.is_regular_file() && is_input(e.path())) out.push_back(e.path());
    }
  } else if (fs::is_regular_file(p)) {
    out.push_back(p);
  } else {
    std::fprintf(stderr, "replay: %s does not exist, skipped\n", p.string().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) collect(argv[i], files);
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Exact-size copy: reading one byte past the input is then a heap overflow.
    const auto copy = std::make_unique<std::uint8_t[]>(bytes.size() + (bytes.empty() ? 1 : 0));
    std::copy(bytes.begin(), bytes.end(), copy.get());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.string().c_str(), bytes.size());
    LLVMFuzzerTestOneInput(copy.get(), bytes.size());
  }
  std::printf("replay: %zu inputs ran, all oracles held\n", files.size());
  return 0;
}

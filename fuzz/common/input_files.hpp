// The inputs named on a replay tool's command line: files, or directories
// searched recursively (README* and *.patch skipped: the regressions'
// *.unfix.patch files belong to fuzz/regressions/prove.sh), in sorted order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace vmsg::fuzz {

/// Whether `p` is an input rather than documentation or a patch.
inline bool is_input_file(const std::filesystem::path& p) {
  return p.filename().string().rfind("README", 0) != 0 && p.extension() != ".patch";
}

/// The input files under `args` (files or directories), sorted; a path that
/// does not exist is reported on stderr and skipped.
inline std::vector<std::filesystem::path> input_files(int argc, char** argv, int first = 1) {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  for (int i = first; i < argc; ++i) {
    const fs::path p = argv[i];
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p)) {
        if (e.is_regular_file() && is_input_file(e.path())) out.push_back(e.path());
      }
    } else if (fs::is_regular_file(p)) {
      out.push_back(p);
    } else {
      std::fprintf(stderr, "%s does not exist, skipped\n", p.string().c_str());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// The bytes of `p`.
inline std::vector<std::uint8_t> read_input_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace vmsg::fuzz

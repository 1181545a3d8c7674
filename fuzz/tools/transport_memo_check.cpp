// Proves that fuzz_transport's pooled harnesses and memoised bring-ups
// (harness/transport_pool.hpp) change nothing: every input is run on a
// harness built for it alone, then twice through one TransportPool (the
// first run may fill the memo, the second starts from it when the input
// opens with a BringUp), and the three outcomes must be equal: the traffic
// digest (every frame sent and emitted, every time step), guest RAM, frames
// out and rule violations. Inputs run in sorted order through the same pool,
// so each also starts from a harness another input left behind.
//   vmsg_fuzz_transport_memo_check FILE|DIR...
// Exits 1 on a difference (naming the input), when no input was found, or
// when no input started from the memo (nothing would have been proved).
#include <cstdint>
#include <cstdio>
#include <vector>

#include "common/input_files.hpp"
#include "harness/transport_pool.hpp"

namespace {

void print(const char* what, const vmsg::fuzz::TransportOutcome& o) {
  std::fprintf(stderr, "  %-7s trace %016llx ram %016llx frames %llu violations %zu\n", what,
               static_cast<unsigned long long>(o.trace), static_cast<unsigned long long>(o.ram),
               static_cast<unsigned long long>(o.frames_out), o.violations);
}

}  // namespace

int main(int argc, char** argv) {
  const auto files = vmsg::fuzz::input_files(argc, argv);
  if (files.empty()) {
    std::fprintf(stderr, "transport_memo_check: no inputs found\n");
    return 1;
  }
  vmsg::fuzz::TransportPool pool;
  std::vector<vmsg::fuzz::TransportOutcome> alone;
  alone.reserve(files.size());
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      const std::vector<std::uint8_t> bytes = vmsg::fuzz::read_input_file(files[i]);
      if (pass == 0) alone.push_back(vmsg::fuzz::run_transport_input(bytes.data(), bytes.size(), nullptr, true));
      const auto pooled = vmsg::fuzz::run_transport_input(bytes.data(), bytes.size(), &pool, true);
      if (pooled != alone[i]) {
        std::fprintf(stderr, "transport_memo_check: %s: pooled run %d differs from a fresh harness\n",
                     files[i].string().c_str(), pass + 1);
        print("fresh", alone[i]);
        print("pooled", pooled);
        return 1;
      }
    }
  }
  if (pool.hits() == 0) {
    std::fprintf(stderr, "transport_memo_check: no input started from a memoised bring-up\n");
    return 1;
  }
  std::printf("transport_memo_check: %zu inputs, fresh = pooled twice, %llu runs from the memo\n", files.size(),
              static_cast<unsigned long long>(pool.hits()));
  return 0;
}

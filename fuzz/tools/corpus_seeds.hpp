// Seed lists that live outside make_corpus.cpp, which writes them: each
// generator returns named inputs (or operation streams the main generator
// serialises and checks through its harness).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/transport_ops.hpp"

namespace vmsg::fuzz::seeds {

/// One fuzz_transport stream, before serialisation.
struct TransportSeed {
  std::string name;
  transport_ops::Setup setup;
  std::vector<transport_ops::Op> ops;
};

/// fuzz_transport streams for the validating peer: drivers breaking each
/// endpoint rule, malformed frames for the bus rules, and polite drivers
/// (Setup::polite) going through resets and queue changes.
[[nodiscard]] std::vector<TransportSeed> transport_rule_seeds();

/// One ready input.
struct Seed {
  std::string name;
  std::vector<std::uint8_t> bytes;
};

/// fuzz_dut_config inputs (corpus_dut.cpp); every one has already been run
/// through the target's checks once.
[[nodiscard]] std::vector<Seed> dut_config_seeds();

}  // namespace vmsg::fuzz::seeds

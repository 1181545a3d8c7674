// Seeds of fuzz_qmp (see tools/corpus_qmp.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vmsg::fuzz {

/// Named inputs for corpus/qmp: QMP sessions as a client sends them, the
/// transcripts the genuine QmpServer answered them with (the client's side of
/// the same session), both in one input, malformed lines and JSON documents.
[[nodiscard]] std::vector<std::pair<std::string, std::vector<std::uint8_t>>> qmp_seeds();

}  // namespace vmsg::fuzz

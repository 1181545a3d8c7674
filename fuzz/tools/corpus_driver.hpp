// Seeds of fuzz_driver (see tools/corpus_driver.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vmsg::fuzz {

/// Named inputs for corpus/driver, each already run through the
/// DriverHarness with every oracle on.
[[nodiscard]] std::vector<std::pair<std::string, std::vector<std::uint8_t>>> driver_seeds();

}  // namespace vmsg::fuzz

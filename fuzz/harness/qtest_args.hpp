// vmsg-ref-qtest's command line in the other direction: a RefArgs written
// back as arguments (the reference only parses), and field-wise equality, so
// fuzz_qtest_args can check that parse(format(parse(argv))) == parse(argv).
#pragma once

#include <string>
#include <vector>

#include "vmsg/qtest/ref_args.hpp"

namespace vmsg::fuzz {

/// Arguments that parse_ref_args reads back as `a`: -qtest, -m in KiB,
/// -device help / -accel help, the amp device with every property, each
/// virtio device with an explicit bus= path, --fault.
[[nodiscard]] std::vector<std::string> format_ref_args(const qtest::RefArgs& a);

/// The first field where `a` and `b` differ, or "" when they are equal.
[[nodiscard]] std::string ref_args_difference(const qtest::RefArgs& a, const qtest::RefArgs& b);

}  // namespace vmsg::fuzz

// Seeds of fuzz_qtest and fuzz_qtest_args (fuzz/tools/corpus_qtest.cpp).
#pragma once

#include <filesystem>

namespace vmsg::fuzz {

/// Records a genuine qtest session (the amp driver brought up over a
/// QtestPort whose peer is an in-process Server) and writes it, with
/// variations reaching the error paths, as root/qtest/gen-* and
/// root/qtest_args/gen-*. Replaces the gen-* files of those two directories
/// only. Returns the number of files written.
std::size_t write_qtest_corpus(const std::filesystem::path& root);

}  // namespace vmsg::fuzz

// VMSG_NO_COVERAGE_FEEDBACK: keeps a function out of libFuzzer's coverage
// instrumentation (-fsanitize=fuzzer / trace-cmp), and nothing else: ASan,
// UBSan and source-based line coverage still apply.
//
// Only for code every port access runs whose branches say nothing about the
// input that the code it dispatches to does not (the machine's address
// decode): there, the instrumentation costs the fuzzers more than it guides.
#pragma once

#if defined(__clang__)
#define VMSG_NO_COVERAGE_FEEDBACK __attribute__((no_sanitize("coverage")))
#else
#define VMSG_NO_COVERAGE_FEEDBACK
#endif

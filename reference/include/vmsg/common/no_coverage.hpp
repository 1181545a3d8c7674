// VMSG_NO_COVERAGE_FEEDBACK: keeps a function out of libFuzzer's coverage
// instrumentation (-fsanitize=fuzzer / trace-cmp), and nothing else: ASan,
// UBSan and source-based line coverage still apply.
//
// Only for code every port access or message runs whose branches say nothing
// about the input that the code it dispatches to does not: the machine's
// address decode, and byte loops whose only comparison is the loop counter
// against a width (little-endian loads and stores, config-space register
// bytes, a zero-padding scan). There, the instrumentation (an edge counter and
// a traced compare per byte) costs the fuzzers more than it guides.
#pragma once

#if defined(__clang__)
#define VMSG_NO_COVERAGE_FEEDBACK __attribute__((no_sanitize("coverage")))
#else
#define VMSG_NO_COVERAGE_FEEDBACK
#endif

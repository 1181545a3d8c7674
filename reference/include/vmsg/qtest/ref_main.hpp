// The whole of vmsg-ref-qtest as a function, so the command-line tool and the
// Python package's `vmsg-ref-qtest` entry point run the same code.
#pragma once

#include <string>
#include <vector>

namespace vmsg::qtest {

/// Parses QEMU-style arguments (without argv[0]), builds the reference machine,
/// connects to the client's `-qtest unix:PATH` socket and serves qtest lines
/// until the client closes it. Returns the exit status: 0 when the client
/// closed the connection (or after -device/-accel help), 1 for a command line
/// it cannot honour (message on stderr, like QEMU) or for a device that
/// crashed (a fault mode such as asan-reset-vqueue-overflow: its report on
/// stderr, the command that caused it unanswered), 2 for a socket failure.
[[nodiscard]] int ref_qtest_main(const std::vector<std::string>& args);

}  // namespace vmsg::qtest

// vmsg-ref-qtest: a qtest server backed by the reference machine, started the
// way QEMU is (`-qtest unix:PATH`, it connects to the client's socket), so a
// qtest client can drive the reference and QEMU with the same code.
//
// Exit status: 0 when the client closes the connection, 1 for a command line
// it cannot honour (message on stderr, like QEMU) or a crashed device (its
// report on stderr, like a sanitizer build of QEMU), 2 for a socket failure.
#include <string>
#include <vector>

#include "vmsg/qtest/ref_main.hpp"

int main(int argc, char** argv) {
  return vmsg::qtest::ref_qtest_main(std::vector<std::string>(argv + 1, argv + argc));
}

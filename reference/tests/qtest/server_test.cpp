// The qtest server over the reference machine, line by line: CF8/CFC config
// access, memory commands, time, and answers to bad lines (never a crash).
#include <gtest/gtest.h>

#include "vmsg/qtest/protocol.hpp"
#include "vmsg/qtest/ref_args.hpp"
#include "vmsg/qtest/server.hpp"
#include "vmsg/target/reference_target.hpp"

namespace vmsg::qtest {
namespace {

struct ServerRig {
  ServerRig() : target(make_spec(parse_ref_args(std::vector<std::string>{
                    "-qtest", "unix:/unused", "-device", "virtio-msg-amp-pci,addr=04.0", "-device", "virtio-rng-device"}))),
                server(target.machine()) {}
  target::ReferenceTarget target;
  Server server;
};

TEST(QtestServer, ConfigSpaceThroughCf8Cfc) {
  ServerRig r;
  EXPECT_EQ(r.server.handle("outl 0xcf8 0x80002000"), "OK\n");
  EXPECT_EQ(r.server.handle("inl 0xcfc"), "OK 0x903910ee\n");
  EXPECT_EQ(r.server.handle("inw 0xcfe"), "OK 0x9039\n");
  EXPECT_EQ(r.server.handle("inl 0xcf8"), "OK 0x80002000\n");
  EXPECT_EQ(r.server.handle("outl 0xcf8 0x80002008"), "OK\n");
  EXPECT_EQ(r.server.handle("inl 0xcfc"), "OK 0x8800001\n");
  // An empty slot reads all-ones; so does a disabled CF8 and another bus.
  r.server.handle("outl 0xcf8 0x80002800");
  EXPECT_EQ(r.server.handle("inl 0xcfc"), "OK 0xffffffff\n");
  r.server.handle("outl 0xcf8 0x00002000");
  EXPECT_EQ(r.server.handle("inl 0xcfc"), "OK 0xffffffff\n");
  r.server.handle("outl 0xcf8 0x80012000");
  EXPECT_EQ(r.server.handle("inw 0xcfc"), "OK 0xffff\n");
  // Writes reach config space: Command.MEM|BME reads back.
  r.server.handle("outl 0xcf8 0x80002004");
  EXPECT_EQ(r.server.handle("outw 0xcfc 0x6"), "OK\n");
  EXPECT_EQ(r.server.handle("inw 0xcfc"), "OK 0x0006\n");
  EXPECT_EQ(r.server.handle("inb 0x60"), "OK 0x00ff\n");  // nothing else on the I/O bus
}

TEST(QtestServer, Q35ChipsetAnswersCf8CfcAsQemuDoes) {
  ServerRig r;
  // qemu-observed.md §9: the host bridge and the ICH9 functions of 00:1f.
  const std::pair<const char*, const char*> chipset[] = {{"outl 0xcf8 0x80000000", "OK 0x29c08086\n"},
                                                         {"outl 0xcf8 0x8000f800", "OK 0x29188086\n"},
                                                         {"outl 0xcf8 0x8000fa00", "OK 0x29228086\n"},
                                                         {"outl 0xcf8 0x8000fb00", "OK 0x29308086\n"}};
  for (const auto& [select, id] : chipset) {
    r.server.handle(select);
    EXPECT_EQ(r.server.handle("inl 0xcfc"), id) << select;
  }
  r.server.handle("outl 0xcf8 0x8000f80c");  // 00:1f.0 header type: multi-function
  EXPECT_EQ(r.server.handle("inb 0xcfe"), "OK 0x0080\n");
  // A bare machine (no amp device on the command line) has them too.
  machine::Machine bare;
  Server s(bare);
  s.handle("outl 0xcf8 0x80000000");
  EXPECT_EQ(s.handle("inl 0xcfc"), "OK 0x29c08086\n");
}

TEST(QtestServer, MemoryCommandsAgreeWithEachOther) {
  ServerRig r;
  EXPECT_EQ(r.server.handle("writel 0x100000 0x12345678"), "OK\n");
  EXPECT_EQ(r.server.handle("readq 0x100000"), "OK 0x0000000012345678\n");
  EXPECT_EQ(r.server.handle("read 0x100000 8"), "OK 0x7856341200000000\n");
  EXPECT_EQ(r.server.handle("b64read 0x100000 8"), "OK eFY0EgAAAAA=\n");
  EXPECT_EQ(r.server.handle("b64write 0x100001 3 AQID"), "OK\n");
  EXPECT_EQ(r.server.handle("read 0x100000 4"), "OK 0x78010203\n");
  EXPECT_EQ(r.server.handle("memset 0x100000 2 0xaa"), "OK\n");
  EXPECT_EQ(r.server.handle("readl 0x100000"), "OK 0x000000000302aaaa\n");
  EXPECT_EQ(r.server.handle("write 0x100000 4 0x11"), "OK\n");
  EXPECT_EQ(r.server.handle("readl 0x100000"), "OK 0x0000000000000011\n");
}

TEST(QtestServer, ClockStepAndSet) {
  ServerRig r;
  EXPECT_EQ(r.server.handle("clock_step 1000"), "OK 1000\n");
  EXPECT_EQ(r.server.handle("clock_step"), "OK " + std::to_string(1000 + Server::kDefaultStepNs) + "\n");
  EXPECT_EQ(r.server.handle("clock_set 5000000"), "OK 5000000\n");
  EXPECT_EQ(r.server.handle("clock_set 10"), "OK 5000000\n");  // never backwards
  EXPECT_EQ(r.target.machine().now_ns(), 5000000u);
}

TEST(QtestServer, BadLinesGetFailOrErrAndTheServerCarriesOn) {
  ServerRig r;
  EXPECT_EQ(r.server.handle("bogus"), "FAIL Unknown command 'bogus'\n");
  EXPECT_EQ(r.server.handle("readl").rfind("ERR ", 0), 0u);
  EXPECT_EQ(r.server.handle("read 0x0 0").rfind("ERR ", 0), 0u);
  EXPECT_EQ(r.server.handle("b64write 0 3 !!!!").rfind("ERR ", 0), 0u);
  EXPECT_EQ(r.server.handle("").rfind("ERR ", 0), 0u);
  EXPECT_EQ(r.server.handle("irq_intercept_in ioapic"), "OK\n");
  EXPECT_EQ(r.server.handle("irq_intercept_in ioapic").rfind("FAIL", 0), 0u);
  EXPECT_EQ(r.server.handle("endianness"), "OK little\n");
  EXPECT_EQ(r.server.stats().commands, 8u);
  EXPECT_EQ(r.server.stats().failed, 6u);
  EXPECT_EQ(r.server.handle("readl 0x0"), "OK 0x0000000000000000\n");
}

// Found by fuzz_qtest: two clock_step 0xffffffffffffffff wrapped the clock round to the past.
TEST(QtestServer, ClockStepNeverWraps) {
  ServerRig r;
  EXPECT_EQ(r.server.handle("clock_step 0xfffffffffffffffe"), "OK 18446744073709551614\n");
  EXPECT_EQ(r.server.handle("clock_step 2").rfind("ERR ", 0), 0u);
  EXPECT_EQ(r.server.handle("clock_step").rfind("ERR ", 0), 0u);
  EXPECT_EQ(r.server.handle("clock_step 1"), "OK 18446744073709551615\n");
  EXPECT_EQ(r.server.handle("clock_set 5"), "OK 18446744073709551615\n");
  EXPECT_EQ(r.target.machine().now_ns(), ~0ULL);
}

// Found by fuzz_qtest: "read 0 0x100000" passes parse_command but its hex
// reply (2 MiB) is longer than any client (parse_incoming, LineChannel)
// accepts; likewise a FAIL/ERR echoing a near-limit word.
TEST(QtestServer, EveryReplyFitsTheLineLimit) {
  ServerRig r;
  const std::string big_read = r.server.handle("read 0x0 0x100000");
  EXPECT_EQ(big_read.rfind("ERR bad length", 0), 0u) << big_read.substr(0, 40);
  const std::string big_b64 = r.server.handle("b64read 0x0 0x100000");
  EXPECT_EQ(big_b64.rfind("ERR bad length", 0), 0u) << big_b64.substr(0, 40);
  const std::string fits = r.server.handle("b64read 0x0 0x80000");  // what QtestPort's largest chunk asks
  EXPECT_EQ(fits.rfind("OK ", 0), 0u);
  EXPECT_TRUE(parse_incoming(fits).ok());
  const std::string echo = r.server.handle(std::string(kMaxLineBytes - 4, 'x'));
  EXPECT_EQ(echo.rfind("FAIL Unknown command 'xxx", 0), 0u);
  EXPECT_LE(echo.size(), kMaxLineBytes);
  EXPECT_EQ(echo.back(), '\n');
  EXPECT_EQ(r.server.stats().failed, 3u);
}

}  // namespace
}  // namespace vmsg::qtest

// QtestPort against a scripted peer on a socketpair: what it sends for each
// port operation, how it reads replies (pipelined, IRQ lines interleaved),
// and that timeouts, dead peers and garbled replies are typed PortErrors.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "qtest/scripted_peer.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/qtest/qtest_port.hpp"

namespace vmsg::qtest {
namespace {

using namespace std::chrono_literals;
using testing::opts;
using testing::Peer;

TEST(QtestPort, ConfigOnQ35GoesThroughCf8AndCfc) {
  Peer p;
  p.reply("OK\nOK 0x10ee\n");
  EXPECT_EQ(p.port->config_read({0, 4, 0}, 0x00, 2), 0x10EEu);
  EXPECT_EQ(p.sent(), "outl 0xcf8 0x80002000\ninw 0xcfc\n");
  p.reply("OK\nOK 0x0080\n");
  EXPECT_EQ(p.port->config_read({0, 4, 0}, 0x0E, 1), 0x80u);
  EXPECT_EQ(p.sent(), "outl 0xcf8 0x8000200c\ninb 0xcfe\n");
  p.reply("OK\nOK\n");
  p.port->config_write({1, 31, 7}, 0x04, 2, 0x0006);
  EXPECT_EQ(p.sent(), "outl 0xcf8 0x8001ff04\noutw 0xcfc 0x6\n");
}

TEST(QtestPort, UnalignedConfigAccessIsSplitIntoBytes) {
  Peer p;
  p.reply("OK\nOK 0x0034\nOK\nOK 0x0012\n");
  EXPECT_EQ(p.port->config_read({0, 0, 0}, 0x03, 2), 0x1234u);
  EXPECT_EQ(p.sent(), "outl 0xcf8 0x80000000\ninb 0xcff\noutl 0xcf8 0x80000004\ninb 0xcfc\n");
}

TEST(QtestPort, ConfigOnArmVirtUsesEcam) {
  QtestPortOptions o = opts();
  o.machine = MachineType::ArmVirt;
  Peer p(o);
  p.reply("OK 0x00000000903910ee\n");
  EXPECT_EQ(p.port->config_read({0, 4, 0}, 0x00, 4), 0x903910EEu);
  EXPECT_EQ(p.sent(), "readl 0x4010020000\n");
  p.reply("OK\n");
  p.port->config_write({0, 4, 0}, 0x104, 4, 1);
  EXPECT_EQ(p.sent(), "writel 0x4010020104 0x1\n");
  EXPECT_EQ(p.port->address_map().mmio_base, 0x10000000u);
  EXPECT_EQ(p.port->address_map().ram_base, 0x40100000u);
}

TEST(QtestPort, BadSizesAndRangesThrowBeforeSending) {
  Peer p;
  EXPECT_THROW((void)p.port->config_read({0, 0, 0}, 0, 3), PortError);
  EXPECT_THROW((void)p.port->config_read({0, 0, 0}, 0xFE, 4), PortError);  // beyond CF8's 256 bytes
  EXPECT_THROW((void)p.port->config_read({0, 32, 0}, 0, 4), PortError);
  EXPECT_THROW((void)p.port->mmio_read(0, 3), PortError);
  EXPECT_THROW(p.port->mmio_write(0, 16, 0), PortError);
  EXPECT_EQ(p.sent(), "");
  EXPECT_FALSE(p.port->broken());
}

TEST(QtestPort, MmioWidthsAndMasking) {
  Peer p;
  p.reply("OK 0x00000000000000ff\nOK\nOK 0x1122334455667788\n");
  EXPECT_EQ(p.port->mmio_read(0xE0000000, 1), 0xFFu);
  p.port->mmio_write(0xE0000020, 2, 0x12345);  // masked to the access width
  EXPECT_EQ(p.port->mmio_read(0x100, 8), 0x1122334455667788u);
  EXPECT_EQ(p.sent(), "readb 0xe0000000\nwritew 0xe0000020 0x2345\nreadq 0x100\n");
}

TEST(QtestPort, IrqLinesBetweenRepliesAreRecorded) {
  Peer p;
  p.reply("IRQ raise 3\nOK 0x0000000000000001\nIRQ lower 3\nOK\n");
  EXPECT_EQ(p.port->mmio_read(0x0, 4), 1u);
  p.port->mmio_write(0x0, 4, 0);
  ASSERT_EQ(p.port->irq_events().size(), 2u);
  EXPECT_EQ(p.port->irq_events()[0], (IrqLine{true, 3}));
  EXPECT_EQ(p.port->irq_events()[1], (IrqLine{false, 3}));
}

TEST(QtestPort, BulkTransfersAreChunkedAndPipelined) {
  QtestPortOptions o = opts();
  o.chunk_bytes = 4;
  o.window = 2;
  Peer p(o);
  p.reply("OK\nOK\nOK\n");
  const std::array<std::uint8_t, 10> data{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  p.port->mem_write(0x1000, data);
  EXPECT_EQ(p.sent(), "b64write 0x1000 0x4 AAECAw==\nb64write 0x1004 0x4 BAUGBw==\nb64write 0x1008 0x2 CAk=\n");
  p.reply("OK AAECAw==\nOK BAUGBw==\nOK CAk=\n");
  std::array<std::uint8_t, 10> back{};
  p.port->mem_read(0x1000, back);
  EXPECT_EQ(back, data);
  EXPECT_EQ(p.sent(), "b64read 0x1000 0x4\nb64read 0x1004 0x4\nb64read 0x1008 0x2\n");
  p.port->mem_read(0x1000, std::span<std::uint8_t>());  // zero length: nothing sent (QEMU asserts on it)
  EXPECT_EQ(p.sent(), "");
}

TEST(QtestPort, FailReplyNamesTheCommandAndKeepsThePortUsable) {
  Peer p;
  p.reply("FAIL nope\nOK 0x0000000000000007\n");
  try {
    (void)p.port->mmio_read(0xABC, 4);
    FAIL() << "no PortError";
  } catch (const PortError& e) {
    EXPECT_NE(std::string(e.what()).find("readl 0xabc"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(p.port->broken());
  EXPECT_EQ(p.port->mmio_read(0x0, 4), 7u);
}

TEST(QtestPort, FailInsideABatchStillConsumesEveryReply) {
  QtestPortOptions o = opts();
  o.chunk_bytes = 2;
  Peer p(o);
  p.reply("OK\nERR invalid argument size\nOK\nOK 0x0000000000000005\n");
  const std::array<std::uint8_t, 6> data{};
  EXPECT_THROW(p.port->mem_write(0, data), PortError);
  EXPECT_EQ(p.port->mmio_read(0, 4), 5u);  // still in step with the peer
}

TEST(QtestPort, TimeoutThrowsNamingTheCommandAndBreaksThePort) {
  QtestPortOptions o = opts();
  o.timeout = 100ms;
  Peer p(o);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    (void)p.port->mmio_read(0xE0000004, 4);
    FAIL() << "no PortError";
  } catch (const PortError& e) {
    EXPECT_NE(std::string(e.what()).find("readl 0xe0000004"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no reply within 100 ms"), std::string::npos) << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  EXPECT_TRUE(p.port->broken());
  // A late reply must not be taken as the answer to the next command.
  p.reply("OK 0x0000000000000001\n");
  EXPECT_THROW((void)p.port->mmio_read(0, 4), PortError);
}

TEST(QtestPort, DeadPeerIsAPortError) {
  Peer p;
  p.hang_up();
  try {
    p.port->mmio_write(0x10, 4, 1);
    FAIL() << "no PortError";
  } catch (const PortError& e) {
    EXPECT_NE(std::string(e.what()).find("writel 0x10 0x1"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(p.port->broken());
  EXPECT_THROW(p.port->advance_time(1), PortError);
}

TEST(QtestPort, PeerClosingAfterTheCommandIsAPortError) {
  Peer p;
  p.reply("OK 0x00");  // a partial line, then EOF
  ::shutdown(p.server, SHUT_WR);
  EXPECT_THROW((void)p.port->mmio_read(0, 4), PortError);
  EXPECT_TRUE(p.port->broken());
}

TEST(QtestPort, GarbledReplyIsAPortError) {
  for (const char* garbage : {"HELLO\n", "OK zz\n", "IRQ raise\n", "OK 0x1 0x2\n"}) {
    Peer p;
    p.reply(garbage);
    EXPECT_THROW((void)p.port->mmio_read(0, 4), PortError) << garbage;
  }
  Peer p;
  p.reply("OK 0x0000000100000000\n");  // wider than the 4-byte port read
  EXPECT_THROW((void)p.port->port_in(0xCFC, 4), PortError);
}

TEST(QtestPort, ClockStepAndItsAbsence) {
  Peer p;
  p.reply("OK 5000\n");
  p.port->advance_time(5000);
  EXPECT_EQ(p.port->clock_now_ns(), 5000u);
  EXPECT_TRUE(p.port->clock_supported());
  p.reply("FAIL Unknown command 'clock_step'\n");
  p.port->advance_time(10);
  EXPECT_FALSE(p.port->clock_supported());
  EXPECT_EQ(p.sent(), "clock_step 5000\nclock_step 10\n");
  p.port->advance_time(10);  // no-op from now on: nothing sent
  EXPECT_EQ(p.sent(), "");
}

TEST(QtestPort, AStepPastQemusSignedClockIsRefusedUnsent) {
  Peer p;
  p.reply("OK 1000\n");
  p.port->advance_time(1000);
  (void)p.sent();
  EXPECT_THROW(p.port->advance_time(QtestPort::kMaxClockNs - 999), PortError);
  EXPECT_EQ(p.sent(), "");  // QEMU would have asserted on it
  EXPECT_EQ(p.port->clock_now_ns(), 1000u);
  p.reply("OK 9223372036854775807\n");
  p.port->advance_time(QtestPort::kMaxClockNs - 1000);  // up to the limit exactly is sent
  EXPECT_EQ(p.sent(), "clock_step 9223372036854774807\n");
  EXPECT_THROW(p.port->advance_time(1), PortError);
  p.reply("OK 9223372036854775807\n");
  p.port->advance_time(0);  // still usable
  EXPECT_EQ(p.port->clock_now_ns(), QtestPort::kMaxClockNs);
}

TEST(QtestPort, RejectsAnUnusableFd) { EXPECT_THROW(QtestPort(-1), PortError); }

// ---- batches and posted writes ------------------------------------------------------------

TEST(QtestPort, RunSendsTheWholeBatchAndFillsInTheReads) {
  Peer p;
  p.reply("OK\nOK 0x0000000000000003\nOK AAECAw==\nOK\n");
  std::array<std::uint8_t, 4> back{};
  const std::array<std::uint8_t, 2> data{7, 8};
  std::array<port::Access, 4> batch{port::Access::mmio_write(0x10, 4, 0x1FFFFFFFF), port::Access::mmio_read(0x20, 2),
                                    port::Access::mem_read(0x30, back), port::Access::mem_write(0x40, data)};
  p.port->run(batch);
  EXPECT_EQ(p.sent(), "writel 0x10 0xffffffff\nreadw 0x20\nb64read 0x30 0x4\nb64write 0x40 0x2 Bwg=\n");
  EXPECT_EQ(batch[1].value, 3u);
  EXPECT_EQ(back, (std::array<std::uint8_t, 4>{0, 1, 2, 3}));
  EXPECT_TRUE(p.port->pipelines());
}

TEST(QtestPort, ABadSizeAnywhereInABatchSendsNothing) {
  Peer p;
  std::array<port::Access, 2> batch{port::Access::mmio_write(0x10, 4, 1), port::Access::mmio_read(0x20, 3)};
  EXPECT_THROW(p.port->run(batch), PortError);
  EXPECT_EQ(p.sent(), "");
  EXPECT_FALSE(p.port->broken());
}

TEST(QtestPort, PostedWritesWaitForTheNextCommandAndGoFirst) {
  Peer p;
  const std::array<std::uint8_t, 1> byte{0xAB};
  const std::array<port::Access, 2> w{port::Access::mmio_write(0x100, 4, 1), port::Access::mem_write(0x200, byte)};
  const std::uint64_t ticket = p.port->post(w);
  EXPECT_NE(ticket, 0u);
  EXPECT_TRUE(p.port->holding(ticket));
  EXPECT_EQ(p.sent(), "");  // held, not sent
  p.reply("OK\nOK\nOK 0x0000000000000009\n");
  EXPECT_EQ(p.port->mmio_read(0x300, 4), 9u);  // the reply to the read, not to a posted write
  EXPECT_EQ(p.sent(), "writel 0x100 0x1\nb64write 0x200 0x1 qw==\nreadl 0x300\n");
  EXPECT_FALSE(p.port->holding(ticket));
  // A later post takes over: an older ticket is not held any more.
  const std::uint64_t t1 = p.port->post({w.data(), 1});
  const std::uint64_t t2 = p.port->post({w.data(), 1});
  EXPECT_FALSE(p.port->holding(t1));
  EXPECT_TRUE(p.port->holding(t2));
  EXPECT_FALSE(p.port->holding(0));
}

TEST(QtestPort, EveryKindOfCommandSendsTheHeldWritesFirst) {
  Peer p;
  const port::Access w = port::Access::mmio_write(0x100, 4, 2);
  (void)p.port->post({&w, 1});
  p.reply("OK\nOK 5000\n");
  p.port->advance_time(5000);
  EXPECT_EQ(p.sent(), "writel 0x100 0x2\nclock_step 5000\n");
  (void)p.port->post({&w, 1});
  p.reply("OK\nOK\nOK\n");
  p.port->config_write({0, 4, 0}, 0x04, 2, 6);  // CF8 and CFC behind the write, one trip
  EXPECT_EQ(p.sent(), "writel 0x100 0x2\noutl 0xcf8 0x80002004\noutw 0xcfc 0x6\n");
  (void)p.port->post({&w, 1});
  p.reply("OK\nOK stimulus\n");
  EXPECT_EQ(p.port->extension("vmsg_stimulus").kind, Reply::Kind::Ok);
  EXPECT_EQ(p.sent(), "writel 0x100 0x2\nvmsg_stimulus\n");
}

TEST(QtestPort, APostedWriteAnsweredErrIsReportedByTheCallThatSentIt) {
  Peer p;
  const port::Access w = port::Access::mmio_write(0x100, 4, 2);
  (void)p.port->post({&w, 1});
  p.reply("ERR bad address\nOK 0x0000000000000001\n");
  try {
    (void)p.port->mmio_read(0x300, 4);
    FAIL() << "no PortError";
  } catch (const PortError& e) {
    EXPECT_NE(std::string(e.what()).find("posted 'writel 0x100 0x2' answered ERR bad address"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(p.port->broken());  // every reply was read: still in step
  p.reply("OK 0x0000000000000004\n");
  EXPECT_EQ(p.port->mmio_read(0x300, 4), 4u);
}

TEST(QtestPort, PostTakesWritesOnly) {
  Peer p;
  const port::Access r = port::Access::mmio_read(0x100, 4);
  EXPECT_THROW((void)p.port->post({&r, 1}), ConfigError);
  EXPECT_EQ(p.sent(), "");
}

TEST(QtestPort, WritesStillHeldAreSentWhenThePortGoes) {
  Peer p;
  const port::Access w = port::Access::mmio_write(0x100, 1, 0x1FF);
  (void)p.port->post({&w, 1});
  p.port.reset();
  EXPECT_EQ(p.sent(), "writeb 0x100 0xff\n");
}

}  // namespace
}  // namespace vmsg::qtest

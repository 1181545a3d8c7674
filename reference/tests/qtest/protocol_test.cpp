// The qtest line codec: commands, replies, IRQ lines, hex and base64, and
// hostile or garbled input (every bad line is a typed error, never a crash).
#include <gtest/gtest.h>

#include <random>

#include "vmsg/common/errors.hpp"
#include "vmsg/qtest/protocol.hpp"

namespace vmsg::qtest {
namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<std::uint8_t> out;
  for (int b : v) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

Command cmd(Op op, std::uint64_t addr = 0, std::uint64_t value = 0, std::uint64_t len = 0) {
  Command c;
  c.op = op;
  c.addr = addr;
  c.value = value;
  c.len = len;
  return c;
}

TEST(QtestProtocol, FormatsRegisterAndPortCommands) {
  EXPECT_EQ(format_command(cmd(Op::ReadL, 0xE0000000)), "readl 0xe0000000\n");
  EXPECT_EQ(format_command(cmd(Op::WriteQ, 0x100, 0x1122334455667788)), "writeq 0x100 0x1122334455667788\n");
  EXPECT_EQ(format_command(cmd(Op::OutL, 0xCF8, 0x80002000)), "outl 0xcf8 0x80002000\n");
  EXPECT_EQ(format_command(cmd(Op::InB, 0xCFE)), "inb 0xcfe\n");
  EXPECT_EQ(format_command(cmd(Op::B64Read, 0x1000, 0, 8)), "b64read 0x1000 0x8\n");
  Command w = cmd(Op::Write, 0x10, 0, 3);
  w.data = bytes({1, 0xAB, 0xFF});
  EXPECT_EQ(format_command(w), "write 0x10 0x3 0x01abff\n");
  w.op = Op::B64Write;
  EXPECT_EQ(format_command(w), "b64write 0x10 0x3 Aav/\n");
  Command step = cmd(Op::ClockStep);
  EXPECT_EQ(format_command(step), "clock_step\n");
  step.value = 1000;
  step.has_value = true;
  EXPECT_EQ(format_command(step), "clock_step 1000\n");
}

TEST(QtestProtocol, FormatRefusesWhatQemuWouldAssertOn) {
  EXPECT_THROW((void)format_command(cmd(Op::Read, 0, 0, 0)), ConfigError);
  EXPECT_THROW((void)format_command(cmd(Op::WriteB, 0, 0x100)), ConfigError);
  EXPECT_THROW((void)format_command(cmd(Op::OutW, 0, 0x10000)), ConfigError);
  Command w = cmd(Op::B64Write, 0, 0, 4);
  w.data = bytes({1, 2});
  EXPECT_THROW((void)format_command(w), ConfigError);
  Command irq = cmd(Op::IrqInterceptIn);
  irq.path = "a b";
  EXPECT_THROW((void)format_command(irq), ConfigError);
  EXPECT_THROW((void)read_op(3), ConfigError);
  EXPECT_THROW((void)in_op(8), ConfigError);
}

// Found by fuzz_qtest: the formatter accepted commands the parser refuses
// (and QEMU asserts on or cannot allocate for), so a formatted line did not
// always parse back and QtestPort::command could crash a real QEMU.
TEST(QtestProtocol, FormatRefusesWhatTheParserRefuses) {
  EXPECT_THROW((void)format_command(cmd(Op::InB, 0x10000)), ConfigError);
  EXPECT_THROW((void)format_command(cmd(Op::OutL, 0x10000, 1)), ConfigError);
  EXPECT_EQ(format_command(cmd(Op::InL, 0xFFFF)), "inl 0xffff\n");
  EXPECT_THROW((void)format_command(cmd(Op::Read, 0, 0, kMaxLineBytes + 1)), ConfigError);
  EXPECT_THROW((void)format_command(cmd(Op::Memset, 0, 1, ~0ULL)), ConfigError);
  const std::string at_limit = format_command(cmd(Op::B64Read, 0, 0, kMaxLineBytes));
  auto back = parse_command(at_limit);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->len, kMaxLineBytes);
  EXPECT_FALSE(parse_command("inb 0x10000").ok());
  EXPECT_FALSE(parse_command("read 0 0x100001").ok());
}

TEST(QtestProtocol, EveryFormattedCommandParsesBack) {
  std::mt19937_64 rng(7);
  const std::vector<Op> ops{Op::ReadB, Op::ReadW, Op::ReadL, Op::ReadQ, Op::WriteB, Op::WriteW, Op::WriteL,
                            Op::WriteQ, Op::InB, Op::InW, Op::InL, Op::OutB, Op::OutW, Op::OutL,
                            Op::Read, Op::Write, Op::B64Read, Op::B64Write, Op::Memset, Op::ClockStep,
                            Op::ClockSet, Op::IrqInterceptIn, Op::IrqInterceptOut, Op::Endianness};
  for (int round = 0; round < 200; ++round) {
    for (Op op : ops) {
      Command c;
      c.op = op;
      const unsigned w = op_width(op);
      const bool io = op == Op::InB || op == Op::InW || op == Op::InL || op == Op::OutB || op == Op::OutW || op == Op::OutL;
      if (op != Op::ClockStep && op != Op::ClockSet && op != Op::Endianness && op != Op::IrqInterceptIn &&
          op != Op::IrqInterceptOut) {
        c.addr = io ? rng() & 0xFFFF : rng();
      }
      if (w != 0 && (op == Op::WriteB || op == Op::WriteW || op == Op::WriteL || op == Op::WriteQ || op == Op::OutB ||
                     op == Op::OutW || op == Op::OutL)) {
        c.value = w == 8 ? rng() : rng() & ((1ULL << (8 * w)) - 1);
      }
      if (op == Op::Read || op == Op::B64Read || op == Op::Write || op == Op::B64Write || op == Op::Memset) {
        c.len = 1 + rng() % 100;
      }
      if (op == Op::Write || op == Op::B64Write) {
        for (std::uint64_t i = 0; i < c.len; ++i) c.data.push_back(static_cast<std::uint8_t>(rng()));
      }
      if (op == Op::Memset) c.value = rng() & 0xFF;
      if (op == Op::ClockSet || (op == Op::ClockStep && round % 2 == 0)) {
        c.value = rng();
        c.has_value = true;
      }
      if (op == Op::IrqInterceptIn || op == Op::IrqInterceptOut) c.path = "/machine/ioapic";
      const std::string line = format_command(c);
      auto back = parse_command(line);
      ASSERT_TRUE(back.ok()) << line << ": " << back.error().detail;
      EXPECT_EQ(*back, c) << line;
    }
  }
}

TEST(QtestProtocol, ParsesQemuStyleNumbersAndShortHexWrite) {
  auto c = parse_command("writel 4096 0x10\r\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->addr, 4096u);
  EXPECT_EQ(c->value, 0x10u);
  // QEMU zero-fills a short hex payload (observed on 7.2: "write 0x100 4 0x11" -> 11 00 00 00).
  auto w = parse_command("write 0x100 4 0x11");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->data, bytes({0x11, 0, 0, 0}));
  // Base 0, as QEMU's strtoull reads it: a leading 0 is octal.
  auto o = parse_command("writel 010 0777");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->addr, 8u);
  EXPECT_EQ(o->value, 0777u);
  auto z = parse_command("readl 0");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->addr, 0u);
  auto big = parse_command("readq 01777777777777777777777");  // 2^64-1 in octal
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->addr, UINT64_MAX);
}

struct BadCommand {
  const char* line;
  LineErrc code;
};

class QtestBadCommand : public ::testing::TestWithParam<BadCommand> {};

TEST_P(QtestBadCommand, IsATypedError) {
  auto r = parse_command(GetParam().line);
  ASSERT_FALSE(r.ok()) << GetParam().line;
  EXPECT_EQ(r.error().code, GetParam().code) << GetParam().line << " -> " << r.error().detail;
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, QtestBadCommand,
    ::testing::Values(BadCommand{"", LineErrc::Empty}, BadCommand{"   \t ", LineErrc::Empty},
                      BadCommand{"bogus 1 2", LineErrc::UnknownOp}, BadCommand{"READL 0", LineErrc::UnknownOp},
                      BadCommand{"readl", LineErrc::MissingField}, BadCommand{"readl 1 2", LineErrc::ExtraField},
                      BadCommand{"writel 0x10", LineErrc::MissingField}, BadCommand{"readl zz", LineErrc::BadNumber},
                      BadCommand{"readl 0x", LineErrc::BadNumber}, BadCommand{"readl -1", LineErrc::BadNumber},
                      BadCommand{"readl 0x1ffffffffffffffff", LineErrc::BadNumber},
                      BadCommand{"readl 12abc", LineErrc::BadNumber}, BadCommand{"readl 08", LineErrc::BadNumber},
                      BadCommand{"readl 02000000000000000000000", LineErrc::BadNumber}, BadCommand{"writeb 0 0x100", LineErrc::BadWidth},
                      BadCommand{"writel 0 0x100000000", LineErrc::BadWidth}, BadCommand{"inb 0x10000", LineErrc::BadNumber},
                      BadCommand{"read 0 0", LineErrc::BadLength}, BadCommand{"read 0 0x7fffffff", LineErrc::BadLength},
                      BadCommand{"write 0 2 0x112233", LineErrc::BadLength}, BadCommand{"write 0 2 1122", LineErrc::BadHex},
                      BadCommand{"write 0 2 0x1", LineErrc::BadHex}, BadCommand{"write 0 2 0xzz11", LineErrc::BadHex},
                      BadCommand{"b64write 0 3 AQI", LineErrc::BadBase64}, BadCommand{"b64write 0 3 AQ!D", LineErrc::BadBase64},
                      BadCommand{"b64write 0 2 AQID", LineErrc::BadLength}, BadCommand{"b64write 0 1 A=Q=", LineErrc::BadBase64},
                      BadCommand{"memset 0 4 0x100", LineErrc::BadWidth}, BadCommand{"clock_set", LineErrc::MissingField},
                      BadCommand{"clock_step 1 2", LineErrc::ExtraField}, BadCommand{"irq_intercept_in", LineErrc::MissingField}));

TEST(QtestProtocol, OverlongLineIsRefused) {
  const std::string huge(kMaxLineBytes + 1, 'a');
  EXPECT_EQ(parse_command(huge).error().code, LineErrc::TooLong);
  EXPECT_EQ(parse_incoming(huge).error().code, LineErrc::TooLong);
}

TEST(QtestProtocol, RepliesAndIrqLines) {
  auto ok = parse_incoming("OK 0x0000000012345678\n");
  ASSERT_TRUE(ok.ok());
  const Reply& r = std::get<Reply>(*ok);
  EXPECT_EQ(r.kind, Reply::Kind::Ok);
  EXPECT_EQ(*reply_number(r), 0x12345678u);

  auto f = parse_incoming("FAIL Unknown command 'clock_step'");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(std::get<Reply>(*f).kind, Reply::Kind::Fail);
  EXPECT_EQ(std::get<Reply>(*f).text, "Unknown command 'clock_step'");
  EXPECT_FALSE(reply_number(std::get<Reply>(*f)).ok());

  auto e = parse_incoming("ERR invalid argument size");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(std::get<Reply>(*e).kind, Reply::Kind::Err);

  auto irq = parse_incoming("IRQ raise 7");
  ASSERT_TRUE(irq.ok());
  EXPECT_EQ(std::get<IrqLine>(*irq), (IrqLine{true, 7}));
  EXPECT_EQ(std::get<IrqLine>(*parse_incoming("IRQ lower 0")), (IrqLine{false, 0}));

  for (const char* bad : {"IRQ", "IRQ raise", "IRQ blink 3", "IRQ raise x", "IRQ raise 0x1ffffffff", "HELLO", "ok 1",
                          "IRQ raise 1 2"}) {
    EXPECT_FALSE(parse_incoming(bad).ok()) << bad;
  }
  EXPECT_EQ(parse_incoming("").error().code, LineErrc::Empty);
}

TEST(QtestProtocol, ReplyPayloads) {
  Reply hex{Reply::Kind::Ok, {"0x7856341200000000"}, ""};
  EXPECT_EQ(*reply_hex(hex, 8), bytes({0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0}));
  EXPECT_EQ(reply_hex(hex, 4).error().code, LineErrc::BadLength);
  Reply b64{Reply::Kind::Ok, {"eFY0EgAAAAA="}, ""};
  EXPECT_EQ(*reply_base64(b64, 8), bytes({0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0}));
  EXPECT_EQ(reply_base64(b64, 9).error().code, LineErrc::BadLength);
  Reply two{Reply::Kind::Ok, {"1", "2"}, ""};
  EXPECT_EQ(reply_number(two).error().code, LineErrc::BadReply);
  Reply none{Reply::Kind::Ok, {}, ""};
  EXPECT_FALSE(reply_base64(none, 0).ok());
}

TEST(QtestProtocol, Base64MatchesRfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> v{
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    const std::vector<std::uint8_t> p(plain.begin(), plain.end());
    EXPECT_EQ(base64_encode(p), enc);
    auto d = base64_decode(enc);
    ASSERT_TRUE(d.ok()) << enc;
    EXPECT_EQ(*d, p);
  }
  // QEMU 7.2 answered "b64read 0x100 8" with this for 78 56 34 12 00 00 00 00.
  EXPECT_EQ(base64_encode(bytes({0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0})), "eFY0EgAAAAA=");
}

TEST(QtestProtocol, Base64RefusesNonCanonicalAndGarbage) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zg==Zg==", "=Zg=", "Zm 9", "Zm9v\n"}) {
    EXPECT_FALSE(base64_decode(bad).ok()) << bad;
  }
}

TEST(QtestProtocol, RandomRoundTripsAndRandomGarbageNeverCrash) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 500; ++i) {
    std::vector<std::uint8_t> d(rng() % 70);
    for (auto& b : d) b = static_cast<std::uint8_t>(rng());
    EXPECT_EQ(*base64_decode(base64_encode(d)), d);
    EXPECT_EQ(*hex_decode(hex_encode(d)), d);
  }
  const std::string alphabet = "OKFAILERRIRQ raise lower readl writeq 0x123456789abcdefxyz=+/ \t\r\n-";
  for (int i = 0; i < 5000; ++i) {
    std::string line;
    const std::size_t n = rng() % 40;
    for (std::size_t k = 0; k < n; ++k) line.push_back(alphabet[rng() % alphabet.size()]);
    (void)parse_command(line);
    (void)parse_incoming(line);
    (void)base64_decode(line);
    (void)hex_decode(line);
  }
}

TEST(QtestProtocol, ServerReplyFormatsMatchQemu) {
  EXPECT_EQ(format_ok_mem(0x12345678), "OK 0x0000000012345678\n");
  EXPECT_EQ(format_ok_port(0xf4), "OK 0x00f4\n");
  EXPECT_EQ(format_ok_port(0x29c08086), "OK 0x29c08086\n");
  EXPECT_EQ(format_fail("Unknown command 'x'"), "FAIL Unknown command 'x'\n");
  EXPECT_EQ(format_irq({true, 3}), "IRQ raise 3\n");
  EXPECT_EQ(format_irq({false, 12}), "IRQ lower 12\n");
}

}  // namespace
}  // namespace vmsg::qtest

// vmsg-ref-qtest's QMP session: negotiation, the commands and QMP's error shapes.
#include <gtest/gtest.h>

#include <vector>

#include "vmsg/qtest/json.hpp"
#include "vmsg/qtest/qmp_server.hpp"

namespace vmsg::qtest {
namespace {

struct FakeBackend final : QmpBackend {
  void balloon(std::int64_t bytes) override { calls.push_back("balloon " + std::to_string(bytes)); }
  void block_resize(const std::string& node, std::int64_t bytes) override {
    if (node == "nope") throw QmpError("GenericError", "Cannot find node-name='nope'");
    calls.push_back("resize " + node + " " + std::to_string(bytes));
  }
  void system_reset() override { calls.push_back("reset"); }
  std::vector<std::string> calls;
};

json::Value answer(QmpServer& s, const std::string& line) {
  const std::string out = s.handle(line);
  EXPECT_EQ(out.back(), '\n');
  return json::parse(out.substr(0, out.find('\n')));
}

std::string error_class(const json::Value& reply) {
  const json::Value* e = reply.find("error");
  return e == nullptr ? "" : *e->find("class")->as_string();
}

TEST(QmpServer, GreetingThenNegotiation) {
  FakeBackend b;
  QmpServer s(&b);
  const json::Value g = json::parse(s.greeting());
  ASSERT_NE(g.find("QMP"), nullptr);
  EXPECT_NE(g.find("QMP")->find("version"), nullptr);
  EXPECT_EQ(error_class(answer(s, R"({"execute": "query-status"})")), "CommandNotFound");
  EXPECT_EQ(answer(s, R"({"execute": "qmp_capabilities", "id": 7})"),
            json::parse(R"({"return": {}, "id": 7})"));
  EXPECT_EQ(error_class(answer(s, R"({"execute": "qmp_capabilities"})")), "CommandNotFound");
  const json::Value st = answer(s, R"({"execute": "query-status"})");
  EXPECT_EQ(*st.find("return")->find("status")->as_string(), "running");
}

TEST(QmpServer, DeviceCommandsReachTheBackend) {
  FakeBackend b;
  QmpServer s(&b);
  (void)answer(s, R"({"execute": "qmp_capabilities"})");
  EXPECT_NE(answer(s, R"({"execute": "balloon", "arguments": {"value": 1048576}})").find("return"), nullptr);
  EXPECT_NE(answer(s, R"({"execute": "block_resize", "arguments": {"node-name": "disk0", "size": 4096}})")
                .find("return"),
            nullptr);
  EXPECT_NE(answer(s, R"({"execute": "block_resize", "arguments": {"device": "d", "size": 512}})").find("return"),
            nullptr);
  EXPECT_NE(answer(s, R"({"execute": "system_reset"})").find("return"), nullptr);
  EXPECT_EQ(b.calls, (std::vector<std::string>{"balloon 1048576", "resize disk0 4096", "resize d 512", "reset"}));
  EXPECT_EQ(error_class(answer(s, R"({"execute": "block_resize", "arguments": {"node-name": "nope", "size": 1}})")),
            "GenericError");
}

TEST(QmpServer, ErrorsHaveQmpShapes) {
  QmpServer s(nullptr);
  (void)answer(s, R"({"execute": "qmp_capabilities"})");
  const json::Value unknown = answer(s, R"({"execute": "frobnicate", "id": "x"})");
  EXPECT_EQ(error_class(unknown), "CommandNotFound");
  EXPECT_EQ(*unknown.find("id")->as_string(), "x");
  EXPECT_NE(unknown.find("error")->find("desc")->as_string()->find("frobnicate"), std::string::npos);
  for (const char* bad : {"not json", "[1]", R"({"id": 1})", R"({"execute": 5})", R"({"execute": "quit", "arguments": 1})",
                          R"({"execute": "balloon"})", R"({"execute": "balloon", "arguments": {"value": "x"}})",
                          R"({"execute": "balloon", "arguments": {"value": 0}})",
                          R"({"execute": "balloon", "arguments": {"value": 1, "extra": 1}})",
                          R"({"execute": "block_resize", "arguments": {"size": 1}})",
                          R"({"execute": "block_resize", "arguments": {"node-name": "a", "device": "b", "size": 1}})"}) {
    EXPECT_EQ(error_class(answer(s, bad)), "GenericError") << bad;
  }
  // No backend: the device commands exist but cannot act.
  EXPECT_EQ(error_class(answer(s, R"({"execute": "balloon", "arguments": {"value": 4096}})")), "GenericError");
  EXPECT_FALSE(s.quit_requested());
}

// fuzz_qmp: a blank line was answered with a parse error, a reply to no
// command (QEMU skips whitespace between commands and answers nothing).
TEST(QmpServer, BlankLinesGetNoReply) {
  QmpServer s(nullptr);
  for (const char* blank : {"", " ", "\t \r", "\r"}) EXPECT_EQ(s.handle(blank), "") << '[' << blank << ']';
  (void)answer(s, R"({"execute": "qmp_capabilities", "id": 1})");
  EXPECT_EQ(s.handle("  "), "");
  EXPECT_EQ(*answer(s, R"({"execute": "query-status", "id": 2})").find("id")->as_int(), 2);
}

// fuzz_qmp: a member besides execute/arguments/id was ignored; QEMU refuses it.
TEST(QmpServer, UnexpectedInputMembersAreRefused) {
  QmpServer s(nullptr);
  const json::Value r = answer(s, R"({"execute": "qmp_capabilities", "exec-oob": "x", "id": 1})");
  EXPECT_EQ(error_class(r), "GenericError");
  EXPECT_EQ(*r.find("error")->find("desc")->as_string(), "QMP input member 'exec-oob' is unexpected");
  EXPECT_EQ(*r.find("id")->as_int(), 1);
  EXPECT_NE(answer(s, R"({"execute": "qmp_capabilities", "arguments": {}, "id": 2})").find("return"), nullptr);
}

TEST(QmpServer, QuitAnswersThenAnnouncesShutdown) {
  QmpServer s(nullptr);
  (void)answer(s, R"({"execute": "qmp_capabilities"})");
  const std::string out = s.handle(R"({"execute": "quit"})");
  EXPECT_TRUE(s.quit_requested());
  const std::size_t nl = out.find('\n');
  EXPECT_EQ(json::parse(out.substr(0, nl)), json::parse(R"({"return": {}})"));
  EXPECT_EQ(*json::parse(out.substr(nl + 1)).find("event")->as_string(), "SHUTDOWN");
}

}  // namespace
}  // namespace vmsg::qtest

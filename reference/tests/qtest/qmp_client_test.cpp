// QmpClient against scripted servers over a socketpair, and against
// vmsg-ref-qtest's QMP socket launched by QemuProcess.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <array>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

#include "vmsg/qtest/line_channel.hpp"
#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qmp_client.hpp"

#ifndef VMSG_REF_QTEST_BIN
#error "VMSG_REF_QTEST_BIN must name the vmsg-ref-qtest binary"
#endif

namespace vmsg::qtest {
namespace {

using namespace std::chrono_literals;

constexpr const char* kGreeting = R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}})";

/// A peer that sends `greeting`, then for each request line calls `reply`
/// (which gets the parsed request and returns the raw text to send back).
class ScriptedServer {
 public:
  ScriptedServer(std::string greeting, std::function<std::string(const json::Value&)> reply) {
    std::array<int, 2> sv{};
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv.data()), 0);
    client_fd_ = sv[0];
    thread_ = std::thread([fd = sv[1], greeting = std::move(greeting), reply = std::move(reply)] {
      LineChannel chan(fd);
      if (!greeting.empty() && !chan.write_all(greeting)) return;
      while (auto line = chan.read_line(5s)) {
        const std::string out = reply(json::parse(*line));
        if (out.empty() || !chan.write_all(out)) return;
      }
    });
  }
  ~ScriptedServer() { thread_.join(); }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;
  [[nodiscard]] int client_fd() const { return client_fd_; }

 private:
  int client_fd_ = -1;
  std::thread thread_;
};

/// Concatenation by append (GCC 12 warns falsely on some operator+ chains).
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

std::string ok_reply(const json::Value& req, json::Value ret = json::Object{}) {
  return cat({json::dump(json::Object{{"return", std::move(ret)}, {"id", *req.find("id")}}), "\n"});
}

TEST(QmpClient, NegotiatesSkipsEventsAndReturnsResults) {
  std::vector<std::string> seen;
  ScriptedServer srv(cat({kGreeting, "\n"}), [&](const json::Value& req) {
    const std::string cmd = *req.find("execute")->as_string();
    seen.push_back(cmd);
    if (cmd == "query-status") {
      return cat({R"({"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 2}})", "\n",
                  ok_reply(req, json::Object{{"status", "running"}, {"running", true}})});
    }
    if (cmd == "balloon") {
      EXPECT_EQ(*req.find("arguments")->find("value")->as_int(), 4096);
      return cat({json::dump(json::Object{{"error", json::Object{{"class", "DeviceNotActive"}, {"desc", "No balloon"}}},
                                          {"id", *req.find("id")}}),
                  "\n"});
    }
    return ok_reply(req);
  });
  QmpClient c(srv.client_fd(), 2s);
  EXPECT_NE(c.greeting().find("version"), nullptr);
  const json::Value st = c.execute("query-status");
  EXPECT_EQ(*st.find("status")->as_string(), "running");
  EXPECT_EQ(c.events_skipped(), 1u);
  try {
    c.execute("balloon", {{"value", 4096}});
    FAIL() << "no QmpError";
  } catch (const QmpError& e) {
    EXPECT_EQ(e.error_class(), "DeviceNotActive");
    EXPECT_EQ(e.desc(), "No balloon");
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"qmp_capabilities", "query-status", "balloon"}));
}

TEST(QmpClient, MalformedGreetingOrReplyIsAProtocolError) {
  {
    ScriptedServer srv("{\"not\": \"a greeting\"}\n", [](const json::Value&) { return std::string(); });
    EXPECT_THROW(QmpClient(srv.client_fd(), 1s), QmpProtocolError);
  }
  {
    ScriptedServer srv("{\"QMP\": {}\n", [](const json::Value&) { return std::string(); });
    EXPECT_THROW(QmpClient(srv.client_fd(), 1s), QmpProtocolError);
  }
  {
    ScriptedServer srv(cat({kGreeting, "\n"}), [](const json::Value&) { return std::string("[1, 2]\n"); });
    EXPECT_THROW(QmpClient(srv.client_fd(), 1s), QmpProtocolError);
  }
  {
    // A reply carrying another command's id.
    ScriptedServer srv(cat({kGreeting, "\n"}),
                       [](const json::Value&) { return cat({R"({"return": {}, "id": 999})", "\n"}); });
    EXPECT_THROW(QmpClient(srv.client_fd(), 1s), QmpProtocolError);
  }
  {
    ScriptedServer srv(cat({kGreeting, "\n"}), [](const json::Value& r) {
      return cat({json::dump(json::Object{{"error", json::Object{{"class", 5}}}, {"id", *r.find("id")}}), "\n"});
    });
    EXPECT_THROW(QmpClient(srv.client_fd(), 1s), QmpProtocolError);
  }
}

TEST(QmpClient, SilenceTimesOutAndCloseIsReported) {
  {
    // Never greets: the client gives up after its timeout.
    std::array<int, 2> sv{};
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv.data()), 0);
    LineChannel peer(sv[1]);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_THROW(QmpClient(sv[0], 100ms), QmpProtocolError);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  }
  {
    // The peer hangs up before greeting.
    std::array<int, 2> sv{};
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv.data()), 0);
    { LineChannel gone(sv[1]); }
    EXPECT_THROW(QmpClient(sv[0], 1s), QmpProtocolError);
  }
  EXPECT_THROW(QmpClient::connect("/nonexistent/dir/qmp.sock", 50ms), QmpProtocolError);
}

TEST(QmpClient, OverlongLineIsAProtocolError) {
  ScriptedServer srv(cat({kGreeting, "\n"}), [](const json::Value&) {
    return cat({R"({"return": {"x": ")", std::string(2u << 20, 'a'), "\"}}\n"});
  });
  EXPECT_THROW(QmpClient(srv.client_fd(), 2s), QmpProtocolError);
}

TEST(QmpClient, AgainstVmsgRefQtest) {
  QemuLaunch l;
  l.binary = VMSG_REF_QTEST_BIN;
  l.qmp = true;
  l.args = {"-M", "q35", "-m", "64M", "-device", "virtio-msg-amp-pci,id=amp0", "-device", "virtio-balloon-device",
            "-device", "virtio-blk-device,capacity=1M,drive=disk0,bus=/q35-pcihost/pcie.0/amp0/fifo0/virtio-msg/bus3"};
  QemuProcess p = QemuProcess::start(l);
  EXPECT_FALSE(p.qmp_socket_path().empty());
  QmpClient& c = p.qmp();
  EXPECT_EQ(*c.execute("query-status").find("running")->as_bool(), true);
  EXPECT_EQ(c.execute("balloon", {{"value", std::int64_t{32} << 20}}), json::Value(json::Object{}));
  EXPECT_EQ(c.execute("block_resize", {{"node-name", "disk0"}, {"size", std::int64_t{2} << 20}}),
            json::Value(json::Object{}));
  try {
    c.execute("block_resize", {{"node-name", "disk9"}, {"size", 4096}});
    FAIL();
  } catch (const QmpError& e) {
    EXPECT_EQ(e.error_class(), "GenericError");
  }
  try {
    c.execute("no-such-command");
    FAIL();
  } catch (const QmpError& e) {
    EXPECT_EQ(e.error_class(), "CommandNotFound");
  }
  EXPECT_EQ(c.execute("quit"), json::Value(json::Object{}));
  const auto st = p.wait_exit(5s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, (ExitStatus{false, 0}));
}

TEST(QmpClient, WithoutQmpTheProcessSaysSo) {
  QemuLaunch l;
  l.binary = VMSG_REF_QTEST_BIN;
  l.args = {"-M", "q35"};
  QemuProcess p = QemuProcess::start(l);
  EXPECT_THROW((void)p.qmp(), PortError);
}

}  // namespace
}  // namespace vmsg::qtest

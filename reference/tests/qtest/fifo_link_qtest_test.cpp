// FifoLink::request over a QtestPort: the qtest commands of a batched
// exchange, in order, against a scripted peer (answer inside the doorbell,
// answer only after time advances); and round trips counted against the
// reference device behind the real server.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "qtest/scripted_peer.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/qtest/line_channel.hpp"
#include "vmsg/qtest/protocol.hpp"
#include "vmsg/qtest/qtest_port.hpp"
#include "vmsg/qtest/ref_args.hpp"
#include "vmsg/qtest/server.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::qtest {
namespace {

using testing::Peer;

constexpr std::uint64_t kBar0 = 0xE000'0000;
constexpr std::uint64_t kBar1 = 0xE000'4000;
constexpr std::uint64_t kDriverQueue = kBar1 + fifo::kDriverQueueOffset;
constexpr std::uint64_t kDeviceQueue = kBar1 + fifo::kDeviceQueueOffset;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

/// The reply to a readl of `v`.
std::string word(std::uint64_t v) { return format_ok_mem(v); }

/// A 64-byte slot holding `m`, as b64read returns it.
std::string slot_reply(const wire::Message& m) {
  fifo::Slot s{};
  const auto n = wire::encode(m, wire::Profile::pr28(), s);
  EXPECT_TRUE(n.ok());
  return format_ok_word(base64_encode(s));
}

/// The b64write of a request frame into driver-queue slot `k`.
std::string slot_write(std::uint32_t k, const wire::Message& m) {
  fifo::Slot s{};
  EXPECT_TRUE(wire::encode(m, wire::Profile::pr28(), s).ok());
  return "b64write " + hex(kDriverQueue + fifo::slot_offset(k)) + " 0x40 " + base64_encode(s) + "\n";
}

/// The reads fetched behind a doorbell: device-queue head, driver-queue tail, slot `k` of the device queue.
std::string fetch(std::uint32_t k) {
  return "readl " + hex(kDeviceQueue + fifo::kHeadOffset) + "\nreadl " + hex(kDriverQueue + fifo::kTailOffset) +
         "\nb64read " + hex(kDeviceQueue + fifo::slot_offset(k)) + " 0x40\n";
}

/// A link on FIFO 0 of a device whose BARs sit at kBar0/kBar1; it adopts
/// fresh (zero) rings, which costs two readl.
driver::FifoLink open_link(Peer& p) {
  p.reply(word(0) + word(0));
  driver::FifoLinkConfig c;
  c.bar0 = kBar0;
  c.bar1 = kBar1;
  driver::FifoLink link(*p.port, c);
  EXPECT_EQ(p.sent(), "readl " + hex(kDriverQueue) + "\nreadl " + hex(kDeviceQueue + fifo::kTailOffset) + "\n");
  return link;
}

wire::Message ping(std::uint32_t data) { return wire::Message{.body = wire::PingReq{data}}; }
wire::Message pong(std::uint32_t data) { return wire::Message{.body = wire::PingResp{data}}; }

TEST(FifoLinkOverQtest, TheChecksThenOneBatchPerExchange) {
  Peer p;
  driver::FifoLink link = open_link(p);
  const std::string notify = "writel " + hex(kBar0 + 0x20) + " 0x1\n";

  // First request: both checks in one trip (queues empty, room), then the
  // slot, the index and NOTIFY with the answer's head, the room check of the
  // next request and the answer's slot behind them.
  p.reply(word(0) + word(0) + "OK\nOK\nOK\n" + word(1) + word(1) + slot_reply(pong(0x1111)));
  auto r = link.request(ping(0x1111));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(std::get<wire::PingResp>(r->body).data, 0x1111u);
  EXPECT_EQ(p.sent(), "readl " + hex(kDeviceQueue) + "\nreadl " + hex(kDriverQueue + fifo::kTailOffset) + "\n" +
                          slot_write(0, ping(0x1111)) + "writel " + hex(kDriverQueue) + " 0x1\n" + notify + fetch(0));
  EXPECT_EQ(p.sent(), "");  // the release of slot 0 is held, unsent

  // Second request: the release goes first, the checks come from the last fetch.
  p.reply("OK\nOK\nOK\nOK\n" + word(2) + word(2) + slot_reply(pong(0x2222)));
  r = link.request(ping(0x2222));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(std::get<wire::PingResp>(r->body).data, 0x2222u);
  EXPECT_EQ(p.sent(), "writel " + hex(kDeviceQueue + fifo::kTailOffset) + " 0x1\n" + slot_write(1, ping(0x2222)) +
                          "writel " + hex(kDriverQueue) + " 0x2\n" + notify + fetch(1));
}

TEST(FifoLinkOverQtest, ADeviceAnsweringAfterTimeIsPolledWithClockSteps) {
  Peer p;
  driver::FifoLink link = open_link(p);
  // Nothing in the device queue behind the doorbell (head still 0), nor in
  // a trip of its own, nor after the first step; the answer is there after
  // the second. The slot bytes read meanwhile are stale.
  const std::string empty = word(0) + word(1) + slot_reply(pong(0));
  p.reply(word(0) + word(0) + "OK\nOK\nOK\n" + empty + empty + "OK 100000\n" + empty + "OK 200000\n" + word(1) +
          word(1) + slot_reply(pong(0x3333)));
  auto r = link.request(ping(0x3333));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(std::get<wire::PingResp>(r->body).data, 0x3333u);
  EXPECT_EQ(p.sent(), "readl " + hex(kDeviceQueue) + "\nreadl " + hex(kDriverQueue + fifo::kTailOffset) + "\n" +
                          slot_write(0, ping(0x3333)) + "writel " + hex(kDriverQueue) + " 0x1\nwritel " +
                          hex(kBar0 + 0x20) + " 0x1\n" + fetch(0) + fetch(0) + "clock_step 100000\n" + fetch(0) +
                          "clock_step 100000\n" + fetch(0));
  EXPECT_EQ(p.port->clock_now_ns(), 200000u);
}

TEST(FifoLinkOverQtest, AnEventAheadOfTheAnswerIsReleasedBeforeTheNextSlotIsRead) {
  Peer p;
  driver::FifoLink link = open_link(p);
  const wire::Message event{.dev_num = 3, .body = wire::EventUsed{1}};
  // Two frames behind the doorbell: the fetched slot 0 is the event; slot 1
  // (the answer) is read after slot 0 is released, as the plain path does.
  p.reply(word(0) + word(0) + "OK\nOK\nOK\n" + word(2) + word(1) + slot_reply(event) + "OK\n" +
          slot_reply(pong(0x4444)));
  auto r = link.request(ping(0x4444));
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(std::get<wire::PingResp>(r->body).data, 0x4444u);
  ASSERT_EQ(link.events().size(), 1u);
  EXPECT_EQ(link.events().front().dev_num, 3u);
  const std::string sent = p.sent();
  const std::string tail = "writel " + hex(kDeviceQueue + fifo::kTailOffset) + " 0x1\nb64read " +
                           hex(kDeviceQueue + fifo::slot_offset(1)) + " 0x40\n";
  ASSERT_GE(sent.size(), tail.size());
  EXPECT_EQ(sent.substr(sent.size() - tail.size()), tail);
}

/// The real server over the reference machine on the far end of a
/// socketpair, in a thread; counts the writes of replies, which are round
/// trips (the server answers a whole pipelined batch in one write).
class LiveServer {
 public:
  explicit LiveServer(const std::vector<std::string>& args)
      : target_(make_spec(parse_ref_args(args))), server_(target_.machine()) {
    std::array<int, 2> sv{};
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv.data()), 0);
    client_fd_ = sv[0];
    thread_ = std::thread([this, fd = sv[1]] { serve(fd); });
  }
  ~LiveServer() {
    if (thread_.joinable()) thread_.join();  // ends when the client closes its end
  }
  LiveServer(const LiveServer&) = delete;
  LiveServer& operator=(const LiveServer&) = delete;

  /// The client end, once.
  [[nodiscard]] int take_fd() { return std::exchange(client_fd_, -1); }
  [[nodiscard]] unsigned round_trips() const { return trips_.load(); }

 private:
  void serve(int fd) {
    LineChannel chan(fd);
    std::string out;
    while (auto line = chan.read_line(std::chrono::seconds(30))) {
      out += server_.handle(*line);
      if (chan.has_line()) continue;
      ++trips_;  // before the write: the client sees the count once it has the replies
      if (!chan.write_all(out)) return;
      out.clear();
    }
  }

  target::ReferenceTarget target_;
  Server server_;
  int client_fd_ = -1;
  std::atomic<unsigned> trips_{0};
  std::thread thread_;
};

TEST(FifoLinkOverQtest, AgainstTheReferenceOnePingIsOneRoundTrip) {
  LiveServer srv({"-qtest", "unix:/unused", "-device", "virtio-msg-amp-pci,addr=04.0"});
  QtestPort port(srv.take_fd());
  driver::GuestAllocator ram(port.address_map());
  driver::BarWindowAllocator window(port.address_map());
  auto amp = driver::AmpDriver::open(port, ram, window);
  driver::FifoLink& link = amp.fifo(0);
  ASSERT_TRUE(link.request(ping(0)).ok());
  const unsigned before = srv.round_trips();
  for (std::uint32_t i = 1; i <= 200; ++i) {  // more than three laps of the 62-slot rings
    auto r = link.request(ping(i));
    ASSERT_TRUE(r.ok()) << i << ": " << to_string(r.error());
    ASSERT_EQ(std::get<wire::PingResp>(r->body).data, i);
  }
  EXPECT_EQ(srv.round_trips() - before, 200u);
  EXPECT_TRUE(link.take_msi());  // the MSI word is left for whoever observes it, as before
  EXPECT_EQ(link.stray_responses(), 0u);
  EXPECT_TRUE(link.events().empty());
}

}  // namespace
}  // namespace vmsg::qtest

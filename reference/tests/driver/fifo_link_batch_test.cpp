// FifoLink::request over a port that pipelines: the same scripted device is
// driven once through plain single calls and once through a port that batches
// like QtestPort (run() is one round trip, posted writes are held until the
// next operation). Both must leave the same writes and time steps on the
// target, in the same order, and reach the same results; the pipelined one in
// fewer round trips: one per exchange in the steady state, more only when the
// device answers late (the fallback polls as before).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "driver/virtio_peer.hpp"
#include "vmsg/driver/fifo_link.hpp"

namespace vmsg::driver {
namespace {

using testing::RamPort;
using testing::ScriptedPeer;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

/// Wraps a port and logs every access that reaches it. With `pipelining`, it
/// behaves as QtestPort does: run() counts one round trip for the held writes
/// and the batch together, post() holds writes (copied) until the next
/// operation. Without, the base class defaults apply (the single calls).
class LoggingPort final : public port::Port {
 public:
  LoggingPort(port::Port& inner, bool pipelining) : inner_(&inner), pipelining_(pipelining) {}

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override {
    trip();
    return inner_->config_read(fn, offset, size);
  }
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override {
    trip();
    inner_->config_write(fn, offset, size, value);
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    port::Access a = port::Access::mmio_read(addr, size);
    single(a);
    return a.value;
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    port::Access a = port::Access::mmio_write(addr, size, value);
    single(a);
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    port::Access a = port::Access::mem_read(addr, out);
    single(a);
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    port::Access a = port::Access::mem_write(addr, data);
    single(a);
  }
  void advance_time(std::uint64_t ns) override {
    trip();
    writes.push_back("time " + std::to_string(ns));
    inner_->advance_time(ns);
  }
  [[nodiscard]] port::AddressMap address_map() const override { return inner_->address_map(); }

  void run(std::span<port::Access> batch) override {
    if (!pipelining_) {
      Port::run(batch);  // the single calls, a round trip each
      return;
    }
    trip();
    for (port::Access& a : batch) reach(a);
  }
  std::uint64_t post(std::span<const port::Access> w) override {
    if (!pipelining_) return Port::post(w);
    check_writes(w);
    for (const port::Access& a : w) {
      Held h{a, std::vector<std::uint8_t>(a.in.begin(), a.in.end())};
      held_.push_back(std::move(h));
    }
    return ++ticket_;
  }
  [[nodiscard]] bool holding(std::uint64_t t) const noexcept override {
    return pipelining_ && t == ticket_ && !held_.empty();
  }
  [[nodiscard]] bool pipelines() const noexcept override { return pipelining_; }

  /// Called as each round trip reaches the target, before its accesses: where
  /// a target's event loop runs (QEMU's bottom halves run between chunks of
  /// qtest input, not between the commands of one chunk).
  std::function<void()> between_trips;
  std::vector<std::string> writes;  ///< writes and time steps that reached the target, in order
  unsigned reads = 0;               ///< reads that reached the target
  unsigned round_trips = 0;

 private:
  struct Held {
    port::Access access;
    std::vector<std::uint8_t> bytes;
  };

  void single(port::Access& a) {
    trip();
    reach(a);
  }
  /// One operation reaching the target: held writes go first, in the same trip.
  void trip() {
    ++round_trips;
    if (between_trips) between_trips();
    std::vector<Held> held = std::move(held_);
    held_.clear();
    for (Held& h : held) {
      h.access.in = h.bytes;
      reach(h.access);
    }
  }
  void reach(port::Access& a) {
    if (a.is_write()) {
      std::string line = hex(a.addr) + (a.op == port::Access::Op::MmioWrite ? " <- " + hex(a.value) : " <-");
      for (std::uint8_t b : a.in) line += " " + std::to_string(b);
      writes.push_back(std::move(line));
    } else {
      ++reads;
    }
    inner_->run({&a, 1});
  }

  port::Port* inner_;
  bool pipelining_;
  std::vector<Held> held_;
  std::uint64_t ticket_ = 0;
};

/// A device that answers PINGs: inside the doorbell, at the target's next
/// event-loop turn, or only when time advances; optionally with an event
/// ahead of every answer and a second copy of the answer behind it.
struct PingDevice {
  bool late = false;        ///< answers when time advances
  bool next_turn = false;   ///< answers at the target's next event-loop turn
  bool event_first = false;
  bool answer_twice = false;
  std::vector<wire::Message> waiting;  ///< answers not delivered yet
};

/// One run of a scenario: a RamPort with a scripted peer behind a LoggingPort.
struct Rig {
  explicit Rig(bool pipelining) : port(ram, pipelining), link(port, peer.link_config()) {
    peer.handler = [this](const wire::Message& m) { return answer(m); };
    ram.on_time = [this] { deliver(); };
    port.between_trips = [this] {
      if (device.next_turn) deliver();
    };
  }

  void deliver() {
    for (const auto& w : device.waiting) peer.push(w);
    device.waiting.clear();
  }

  std::vector<wire::Message> answer(const wire::Message& m) {
    std::vector<wire::Message> out;
    const auto* ping = std::get_if<wire::PingReq>(&m.body);
    if (ping == nullptr) return out;
    if (device.event_first) out.push_back(wire::Message{.dev_num = 1, .body = wire::EventUsed{ping->data & 7}});
    out.push_back(wire::Message{.body = wire::PingResp{ping->data}});
    if (device.answer_twice) out.push_back(out.back());
    if (!device.late && !device.next_turn) return out;
    device.waiting.insert(device.waiting.end(), out.begin(), out.end());
    return {};
  }

  /// request() `n` PINGs from `first`, each result as text.
  std::vector<std::string> pings(std::uint32_t first, unsigned n) {
    std::vector<std::string> out;
    for (std::uint32_t i = first; i < first + n; ++i) {
      auto r = link.request(wire::Message{.body = wire::PingReq{i}});
      out.push_back(r ? wire::to_string(*r) : std::string(to_string(r.error())));
    }
    return out;
  }

  RamPort ram;
  ScriptedPeer peer{ram};
  LoggingPort port;
  FifoLink link;
  PingDevice device;
};

/// Runs `scenario` plainly and pipelined; both must agree on everything the
/// target and the caller see. Returns the pipelined run's round trips.
unsigned same_both_ways(const std::function<std::vector<std::string>(Rig&)>& scenario) {
  Rig plain(false);
  Rig piped(true);
  const auto a = scenario(plain);
  const auto b = scenario(piped);
  // The last release may still be held: it reaches the target with the next
  // operation, whatever that is.
  for (Rig* r : {&plain, &piped}) (void)r->port.mmio_read(RamPort::kBar0, 4);
  EXPECT_EQ(a, b);
  // The first difference, with what led to it, rather than two long lists.
  const auto& w1 = plain.port.writes;
  const auto& w2 = piped.port.writes;
  const auto at = static_cast<std::size_t>(std::mismatch(w1.begin(), w1.end(), w2.begin(), w2.end()).first - w1.begin());
  if (at < w1.size() || at < w2.size()) {
    std::string where;
    for (std::size_t i = at >= 3 ? at - 3 : 0; i < at + 3; ++i) {
      where += "\n  #" + std::to_string(i) + "  " + (i < w1.size() ? w1[i] : "-") + "  |  " + (i < w2.size() ? w2[i] : "-");
    }
    ADD_FAILURE() << "writes differ (plain | pipelined) at " << at << ":" << where;
  }
  EXPECT_EQ(plain.link.stray_responses(), piped.link.stray_responses());
  EXPECT_EQ(plain.link.events().size(), piped.link.events().size());
  EXPECT_EQ(plain.peer.names(), piped.peer.names());
  EXPECT_LT(piped.port.round_trips, plain.port.round_trips);
  return piped.port.round_trips;
}

TEST(FifoLinkBatch, ADeviceAnsweringInTheDoorbellCostsOneRoundTripPerRequest) {
  Rig piped(true);
  const unsigned setup = piped.port.round_trips;  // the link adopts the ring indices
  auto first = piped.link.request(wire::Message{.body = wire::PingReq{0x5A}});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(std::get<wire::PingResp>(first->body).data, 0x5Au);
  EXPECT_EQ(piped.port.round_trips - setup, 2u);  // the checks, then the exchange
  const unsigned before = piped.port.round_trips;
  const unsigned reads = piped.port.reads;
  piped.pings(1, 100);
  EXPECT_EQ(piped.port.round_trips - before, 100u);
  // Three reads each: the answer's head and slot, and the driver-queue tail
  // that serves the next request's room check (the head serves its leftover check).
  EXPECT_EQ(piped.port.reads - reads, 300u);
  EXPECT_EQ(piped.link.stray_responses(), 0u);
}

TEST(FifoLinkBatch, SameWritesAndResultsAsSingleCalls) {
  const unsigned trips = same_both_ways([](Rig& r) { return r.pings(0, 70); });  // wraps the 62-slot rings
  // Adopting the indices, the first request's checks, one per exchange, and the closing read.
  EXPECT_EQ(trips, 2u + 2u + 69u + 1u);
}

TEST(FifoLinkBatch, ALateDeviceIsPolledWithTimeAsBefore) {
  same_both_ways([](Rig& r) {
    r.device.late = true;
    auto out = r.pings(0, 5);
    r.device.late = false;
    auto more = r.pings(5, 5);  // and back to answers in the doorbell
    out.insert(out.end(), more.begin(), more.end());
    return out;
  });
}

TEST(FifoLinkBatch, AnAnswerMadeBetweenRoundTripsIsFoundWithoutATimeStep) {
  // The unbatched exchange polls in a round trip of its own after NOTIFY and
  // finds such an answer at once; so must the batched one, before any time
  // step, or the target would see a clock step it never saw before.
  same_both_ways([](Rig& r) {
    r.device.next_turn = true;
    auto out = r.pings(0, 5);
    const auto steps = std::count_if(r.port.writes.begin(), r.port.writes.end(),
                                     [](const std::string& w) { return w.rfind("time", 0) == 0; });
    EXPECT_EQ(steps, 0) << (r.port.pipelines() ? "pipelined" : "plain");
    return out;
  });
}

TEST(FifoLinkBatch, EventsAheadAndDuplicatesBehindAreSortedTheSame) {
  same_both_ways([](Rig& r) {
    r.device.event_first = true;
    r.device.answer_twice = true;
    auto out = r.pings(0, 40);
    r.device.late = true;  // late, with the event and the duplicate too
    auto more = r.pings(40, 5);
    out.insert(out.end(), more.begin(), more.end());
    out.push_back(std::to_string(r.link.stray_responses()));
    return out;
  });
}

TEST(FifoLinkBatch, AFullDriverQueueIsRefusedTheSame) {
  same_both_ways([](Rig& r) {
    auto out = r.pings(0, 3);
    r.ram.on_notify = nullptr;  // the device stops taking requests
    auto more = r.pings(3, 63);  // 61 fill the queue unanswered, then QueueFull
    out.insert(out.end(), more.begin(), more.end());
    EXPECT_EQ(out.back(), "queue-full");
    return out;
  });
}

TEST(FifoLinkBatch, AnyOtherAccessInBetweenMakesTheNextRequestCheckAfresh) {
  Rig piped(true);
  piped.pings(0, 3);
  const unsigned before = piped.port.round_trips;
  (void)piped.port.mmio_read(RamPort::kBar0, 4);  // someone else reads: the posted release goes out first
  EXPECT_EQ(piped.port.round_trips - before, 1u);
  piped.pings(3, 1);
  EXPECT_EQ(piped.port.round_trips - before, 3u);  // checks again, then the exchange
  // The raw path of the link itself is not batched and counts as another access.
  EXPECT_EQ(piped.link.waiting(), 0u);
  const unsigned raw = piped.port.round_trips;
  piped.pings(4, 1);
  EXPECT_EQ(piped.port.round_trips - raw, 2u);
}

TEST(FifoLinkBatch, NonPipeliningPortsSeeTheSingleCallsOnly) {
  // The default Port::post performs at once and nothing is fetched ahead.
  // Per request: reads of the leftover check, the room check, the head and
  // the slot; writes of the slot, the head, NOTIFY and the tail (§9.5).
  Rig plain(false);
  const unsigned setup = plain.port.reads;
  plain.pings(0, 10);
  EXPECT_EQ(plain.port.reads - setup, 10u * 4u);
  EXPECT_EQ(plain.port.writes.size(), 10u * 4u);
}

}  // namespace
}  // namespace vmsg::driver

// FifoChannel delivery rules: order, the pending queue, back-pressure, and
// what happens when even the pending queue is full.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "vmsg/amp/fifo_channel.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/fifo/shared_memory.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::amp {
namespace {

/// A device that posts events when told to (EVENT_USED for a given queue).
class EventSource final : public bus::Endpoint {
 public:
  void attach(std::uint16_t dev_num, bus::Outbox& out) override {
    dev_ = dev_num;
    out_ = &out;
  }
  void receive(const wire::Message&) override {}
  void used(std::uint32_t vq) {
    out_->post(wire::Message{.dev_num = dev_, .token = 0, .reserved_type_bits = 0, .body = wire::EventUsed{vq}});
  }

 private:
  std::uint16_t dev_ = 0;
  bus::Outbox* out_ = nullptr;
};

/// BAR1 for one FIFO plus the driver's two ring ends over it.
struct Harness {
  explicit Harness(ChannelOptions opts = {})
      : ram(std::make_unique<std::uint8_t[]>(fifo::kWindowSize)),
        channel(0, std::span<std::uint8_t>(ram.get(), fifo::kWindowSize), wire::Profile::pr28(), opts, {},
                [this] { ++irqs; }),
        to_dev(fifo::SharedQueueMemory::in_bar(bar(), 0, fifo::QueueKind::Driver)),
        from_dev(fifo::SharedQueueMemory::in_bar(bar(), 0, fifo::QueueKind::Device)) {
    channel.bus().plug(3, source);
  }
  std::span<std::uint8_t> bar() { return {ram.get(), fifo::kWindowSize}; }
  void ping(std::uint32_t data) {
    auto f = wire::encode(wire::Message{.body = wire::PingReq{data}}, wire::Profile::pr28()).value();
    ASSERT_EQ(to_dev.push(f), fifo::PushResult::Ok);
  }
  std::vector<wire::Message> drain() {
    std::vector<wire::Message> out;
    fifo::Slot s;
    while (from_dev.pop(s)) out.push_back(wire::decode(s, wire::Profile::pr28()).value());
    return out;
  }

  std::unique_ptr<std::uint8_t[]> ram;
  unsigned irqs = 0;
  EventSource source;
  FifoChannel channel;
  fifo::RingProducer<fifo::SharedQueueMemory> to_dev;
  fifo::RingConsumer<fifo::SharedQueueMemory> from_dev;
};

TEST(FifoChannel, OneInterruptPerPlacedFrame) {
  Harness h;
  h.ping(1);
  h.ping(2);
  h.channel.doorbell();
  EXPECT_EQ(h.irqs, 2u);
  EXPECT_EQ(h.drain().size(), 2u);
}

TEST(FifoChannel, EventsQueueBehindWaitingResponsesInOrder) {
  Harness h;
  for (std::uint32_t i = 0; i < 61; ++i) h.ping(i);
  h.channel.doorbell();  // device queue now full
  h.ping(61);
  h.channel.doorbell();  // response waits
  h.source.used(7);      // an event arrives after it: must not overtake
  EXPECT_EQ(h.channel.pending(), 2u);
  EXPECT_EQ(h.irqs, 61u);
  auto first = h.drain();
  EXPECT_EQ(first.size(), 61u);
  h.channel.advance_time(1);
  auto rest = h.drain();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(std::get<wire::PingResp>(rest[0].body).data, 61u);
  EXPECT_EQ(std::get<wire::EventUsed>(rest[1].body).vq_index, 7u);
  EXPECT_EQ(h.irqs, 63u);
}

TEST(FifoChannel, FullPendingQueueCoalescesDuplicateEventsAndCountsOtherDrops) {
  Harness h(ChannelOptions{.pending_capacity = 4, .event_reserve = 1});
  for (std::uint32_t i = 0; i < 61; ++i) h.source.used(i % 5);  // fills the device queue
  h.source.used(100);
  h.source.used(101);
  h.source.used(102);
  h.source.used(103);  // pending now full (4)
  EXPECT_EQ(h.channel.pending(), 4u);
  h.source.used(101);  // duplicate of a waiting event: merged, nothing lost
  EXPECT_EQ(h.channel.stats().events_coalesced, 1u);
  EXPECT_EQ(h.channel.stats().overflow_drops, 0u);
  h.source.used(104);  // new information with no room: dropped and counted
  EXPECT_EQ(h.channel.stats().overflow_drops, 1u);
  EXPECT_EQ(h.channel.pending(), 4u);
  h.drain();
  h.channel.advance_time(1);
  auto rest = h.drain();
  ASSERT_EQ(rest.size(), 4u);
  for (std::uint32_t i = 0; i < 4; ++i) EXPECT_EQ(std::get<wire::EventUsed>(rest[i].body).vq_index, 100u + i);
}

TEST(FifoChannel, BackPressureKeepsRoomForEveryConsumedRequest) {
  Harness h(ChannelOptions{.pending_capacity = 4, .event_reserve = 1});
  for (std::uint32_t i = 0; i < 61; ++i) h.ping(i);
  h.channel.doorbell();  // 61 answered into the device queue
  for (std::uint32_t i = 61; i < 71; ++i) h.ping(i);
  h.channel.doorbell();  // only 3 may be taken (capacity 4 - reserve 1)
  EXPECT_EQ(h.channel.pending(), 3u);
  EXPECT_EQ(h.channel.stats().frames_consumed, 64u);
  EXPECT_EQ(h.channel.stats().backpressure_stalls, 1u);
  std::vector<std::uint32_t> got;
  for (int round = 0; round < 10 && got.size() < 71; ++round) {
    for (auto& m : h.drain()) got.push_back(std::get<wire::PingResp>(m.body).data);
    h.channel.advance_time(1);
  }
  ASSERT_EQ(got.size(), 71u);
  for (std::uint32_t i = 0; i < 71; ++i) EXPECT_EQ(got[i], i);
  EXPECT_EQ(h.channel.stats().overflow_drops, 0u);
}

TEST(FifoChannel, RejectsConfigurationsItCannotHonour) {
  auto ram = std::make_unique<std::uint8_t[]>(fifo::kWindowSize);
  const std::span<std::uint8_t> bar(ram.get(), fifo::kWindowSize);
  EXPECT_THROW(FifoChannel(0, bar, wire::Profile::pr28(65), {}, {}, {}), ConfigError);
  EXPECT_THROW(FifoChannel(0, bar, wire::Profile::pr28(), ChannelOptions{.pending_capacity = 8, .event_reserve = 8}, {}, {}),
               ConfigError);
  EXPECT_THROW(FifoChannel(1, bar, wire::Profile::pr28(), {}, {}, {}), ConfigError);  // FIFO 1 is outside a 16 KiB BAR
}

}  // namespace
}  // namespace vmsg::amp

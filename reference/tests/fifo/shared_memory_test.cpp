// SharedQueueMemory: construction checks, byte order, and a two-thread SPSC
// stress over one queue (the ordering AMP-012 relies on, under real concurrency).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "vmsg/common/errors.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/fifo/shared_memory.hpp"

namespace vmsg::fifo {
namespace {

TEST(SharedQueueMemory, RejectsWrongSize) {
  alignas(8) std::array<std::uint8_t, kQueueSize + 8> buf{};
  const std::span<std::uint8_t> all(buf);
  EXPECT_THROW(SharedQueueMemory(all.first(kQueueSize - 1)), ConfigError);
  EXPECT_THROW(SharedQueueMemory(all.first(kQueueSize + 4)), ConfigError);
  EXPECT_THROW(SharedQueueMemory(all.first(0)), ConfigError);
  EXPECT_NO_THROW(SharedQueueMemory(all.first(kQueueSize)));
}

TEST(SharedQueueMemory, RejectsMisalignedBase) {
  alignas(8) std::array<std::uint8_t, kQueueSize + 8> buf{};
  const std::span<std::uint8_t> all(buf);
  EXPECT_THROW(SharedQueueMemory(all.subspan(1, kQueueSize)), ConfigError);
  EXPECT_THROW(SharedQueueMemory(all.subspan(2, kQueueSize)), ConfigError);
  EXPECT_NO_THROW(SharedQueueMemory(all.subspan(4, kQueueSize)));
}

TEST(SharedQueueMemory, IndicesAreLittleEndian) {
  alignas(4) std::array<std::uint8_t, kQueueSize> q{};
  SharedQueueMemory m(q);
  m.store_index(kHeadOffset, 0x01020304);
  m.store_index(kTailOffset, 0xA1B2C3D4);
  EXPECT_EQ(q[0], 0x04);
  EXPECT_EQ(q[1], 0x03);
  EXPECT_EQ(q[2], 0x02);
  EXPECT_EQ(q[3], 0x01);
  EXPECT_EQ(q[0x40], 0xD4);
  EXPECT_EQ(q[0x43], 0xA1);
  EXPECT_EQ(m.load_index(kHeadOffset), 0x01020304u);
  le::store32(q, kTailOffset, 61);
  EXPECT_EQ(m.load_index(kTailOffset), 61u);
}

TEST(SharedQueueMemory, SlotBytesRoundTrip) {
  alignas(4) std::array<std::uint8_t, kQueueSize> q{};
  SharedQueueMemory m(q);
  const std::array<std::uint8_t, 3> in{1, 2, 3};
  m.write_bytes(slot_offset(61) + 61, in);
  EXPECT_EQ(q[kQueueSize - 1], 3);
  std::array<std::uint8_t, 3> out{};
  m.read_bytes(slot_offset(61) + 61, out);
  EXPECT_EQ(out, in);
  EXPECT_THROW(m.read_bytes(kQueueSize - 2, out), std::out_of_range);
  EXPECT_THROW(m.write_bytes(kQueueSize + 1, std::span<const std::uint8_t>()), std::out_of_range);
  EXPECT_THROW((void)m.load_index(2), std::out_of_range);
  EXPECT_THROW(m.store_index(kQueueSize, 0), std::out_of_range);
}

TEST(SharedQueueMemory, InBarPicksTheQueue) {
  std::vector<std::uint8_t> bar(2 * kWindowSize);  // operator new: 16-byte aligned
  const auto dev1 = SharedQueueMemory::in_bar(bar, 1, QueueKind::Device);
  EXPECT_EQ(dev1.bytes().data(), bar.data() + 0x6000);
  EXPECT_EQ(dev1.bytes().size(), kQueueSize);
  const auto drv0 = SharedQueueMemory::in_bar(bar, 0, QueueKind::Driver);
  EXPECT_EQ(drv0.bytes().data(), bar.data() + 0x1000);
  EXPECT_THROW((void)SharedQueueMemory::in_bar(bar, 2, QueueKind::Driver), ConfigError);
  EXPECT_THROW((void)SharedQueueMemory::in_bar(std::span(bar).first(0x2FFF), 0, QueueKind::Device), ConfigError);
}

// Two threads, one queue: every message arrives once, in order, intact.
TEST(SharedQueueMemory, SpscStressTwoThreads) {
  constexpr std::uint32_t kMessages = 200'000;
  alignas(64) std::array<std::uint8_t, kQueueSize> q{};
  SharedQueueMemory mem(q);

  std::thread producer([mem] {
    RingProducer prod(mem);
    std::array<std::uint8_t, kSlotSize> msg{};
    for (std::uint32_t seq = 0; seq < kMessages; ++seq) {
      const std::size_t len = 8 + seq % 57;  // 8..64
      le::store32(msg, 0, seq);
      le::store32(msg, 4, ~seq);
      for (std::size_t i = 8; i < len; ++i) msg[i] = static_cast<std::uint8_t>(seq + i);
      while (prod.push(std::span(msg).first(len)) == PushResult::Full) std::this_thread::yield();
    }
  });

  RingConsumer cons(mem);
  Slot out{};
  std::uint32_t expect = 0;
  std::uint32_t bad = 0;
  while (expect < kMessages) {
    if (!cons.pop(out)) {
      std::this_thread::yield();
      continue;
    }
    const std::size_t len = 8 + expect % 57;
    bool ok = le::load32(out, 0) == expect && le::load32(out, 4) == ~expect;
    for (std::size_t i = 8; i < kSlotSize; ++i) {
      ok = ok && out[i] == (i < len ? static_cast<std::uint8_t>(expect + i) : 0u);
    }
    if (!ok && bad++ < 5) {
      ADD_FAILURE() << "message " << expect << " arrived as seq " << le::load32(out, 0);
    }
    ++expect;
  }
  producer.join();
  EXPECT_EQ(bad, 0u);
  EXPECT_FALSE(cons.pop(out));  // no duplicate or extra message
  EXPECT_EQ(cons.stats().pops, kMessages);
  EXPECT_EQ(cons.stats().peer_index_out_of_range, 0u);
  EXPECT_EQ(mem.load_index(kHeadOffset), kMessages % kSlotCount);
  EXPECT_EQ(mem.load_index(kTailOffset), kMessages % kSlotCount);
}

}  // namespace
}  // namespace vmsg::fifo

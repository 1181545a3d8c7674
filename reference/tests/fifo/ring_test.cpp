// Ring logic over a checking, recording fake memory (and over real shared
// memory where the point is data, not access patterns).
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "vmsg/common/errors.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/fifo/shared_memory.hpp"

namespace vmsg::fifo {
namespace {

enum class OpKind { LoadIndex, StoreIndex, ReadBytes, WriteBytes };

struct Op {
  OpKind kind;
  std::uint32_t off;
  std::uint32_t len_or_value;  // bytes for Read/Write, value for Store, 0 for Load
  friend bool operator==(const Op&, const Op&) = default;
};

// The bytes behind a CheckedMemory, plus what the ring did to them. Lives in
// the test so the ring's (copied) memory handle and the test see one state.
struct Backing {
  alignas(4) std::array<std::uint8_t, kQueueSize> bytes{};
  std::vector<Op> log;
  int violations = 0;

  void set_index(std::uint32_t off, std::uint32_t v) { le::store32(bytes, off, v); }
  [[nodiscard]] std::uint32_t index(std::uint32_t off) const { return le::load32(bytes, off); }
  [[nodiscard]] std::span<std::uint8_t> slot(std::uint32_t i) {
    return std::span<std::uint8_t>(bytes).subspan(slot_offset(i), kSlotSize);
  }
};

// GCC 12 at -O2 cannot see that bytes_ok() guards the copies below and
// reports array-bounds on the deliberately out-of-range probes; the checks are real.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif

// A QueueMemory that fails the test on any access outside [0, 4096), any
// index access that is misaligned or not at head/tail, and any byte access
// that is not confined to one slot. Offending accesses are not performed.
class CheckedMemory {
 public:
  explicit CheckedMemory(Backing& b) : b_(&b) {}

  std::uint32_t load_index(std::uint32_t off) {
    b_->log.push_back({OpKind::LoadIndex, off, 0});
    if (!index_ok(off)) return 0;
    return b_->index(off);
  }
  void store_index(std::uint32_t off, std::uint32_t v) {
    b_->log.push_back({OpKind::StoreIndex, off, v});
    if (index_ok(off)) b_->set_index(off, v);
  }
  void read_bytes(std::uint32_t off, std::span<std::uint8_t> out) {
    b_->log.push_back({OpKind::ReadBytes, off, static_cast<std::uint32_t>(out.size())});
    if (!bytes_ok(off, out.size())) return;
    const auto src = std::span<const std::uint8_t>(b_->bytes).subspan(off, out.size());
    std::copy(src.begin(), src.end(), out.begin());
  }
  void write_bytes(std::uint32_t off, std::span<const std::uint8_t> data) {
    b_->log.push_back({OpKind::WriteBytes, off, static_cast<std::uint32_t>(data.size())});
    if (!bytes_ok(off, data.size())) return;
    const auto dst = std::span<std::uint8_t>(b_->bytes).subspan(off, data.size());
    std::copy(data.begin(), data.end(), dst.begin());
  }

 private:
  bool index_ok(std::uint32_t off) {
    if (off % 4 != 0 || off > kQueueSize - 4 || (off != kHeadOffset && off != kTailOffset)) {
      ++b_->violations;
      ADD_FAILURE() << "bad index access at offset " << off;
      return false;
    }
    return true;
  }
  bool bytes_ok(std::uint32_t off, std::size_t len) {
    if (off >= kQueueSize || len > kQueueSize - off) {
      ++b_->violations;
      ADD_FAILURE() << "byte access outside the queue: off " << off << " len " << len;
      return false;
    }
    if (off < kSlotsOffset || (off - kSlotsOffset) % kSlotSize != 0 || len > kSlotSize) {
      ++b_->violations;
      ADD_FAILURE() << "byte access not confined to one slot: off " << off << " len " << len;
      return false;
    }
    return true;
  }

  Backing* b_;
};
static_assert(QueueMemory<CheckedMemory>);

// mt19937's result_type is wider than 32 bits on LP64; its values are not.
std::uint32_t u32(std::mt19937& rng) { return static_cast<std::uint32_t>(rng()); }

std::vector<std::uint8_t> make_msg(std::uint32_t seq, std::size_t len) {
  std::vector<std::uint8_t> m(len);
  for (std::size_t i = 0; i < len; ++i) m[i] = static_cast<std::uint8_t>(seq * 7u + i * 13u + 1u);
  return m;
}

// The slot a consumer should see for make_msg(seq, len) with zero padding.
Slot padded(std::uint32_t seq, std::size_t len) {
  Slot s{};
  const auto m = make_msg(seq, len);
  std::copy(m.begin(), m.end(), s.begin());
  return s;
}

TEST(Ring, FifoOrder) {
  Backing b;
  RingProducer prod(CheckedMemory{b});
  RingConsumer cons(CheckedMemory{b});
  ASSERT_EQ(prod.push(make_msg(1, 16)), PushResult::Ok);
  ASSERT_EQ(prod.push(make_msg(2, 64)), PushResult::Ok);
  ASSERT_EQ(prod.push(make_msg(3, 1)), PushResult::Ok);
  EXPECT_EQ(cons.available(), 3u);
  Slot out{};
  ASSERT_TRUE(cons.pop(out));
  EXPECT_EQ(out, padded(1, 16));
  ASSERT_TRUE(cons.pop(out));
  EXPECT_EQ(out, padded(2, 64));
  ASSERT_TRUE(cons.pop(out));
  EXPECT_EQ(out, padded(3, 1));
  EXPECT_FALSE(cons.pop(out));
  EXPECT_EQ(prod.stats().pushes, 3u);
  EXPECT_EQ(cons.stats().pops, 3u);
  EXPECT_EQ(cons.stats().empty_polls, 1u);
  EXPECT_EQ(b.index(kHeadOffset), 3u);
  EXPECT_EQ(b.index(kTailOffset), 3u);
}

TEST(Ring, ExactlyUsableSlotsFitThenFull) {
  Backing b;
  RingProducer prod(CheckedMemory{b});
  RingConsumer cons(CheckedMemory{b});
  EXPECT_EQ(prod.free_slots(), 61u);
  for (std::uint32_t i = 0; i < kUsableSlots; ++i) {
    ASSERT_EQ(prod.push(make_msg(i, 8)), PushResult::Ok) << i;
  }
  EXPECT_EQ(prod.free_slots(), 0u);
  EXPECT_EQ(cons.available(), 61u);
  EXPECT_EQ(prod.push(make_msg(99, 8)), PushResult::Full);
  EXPECT_EQ(prod.stats().full_hits, 1u);
  EXPECT_EQ(prod.stats().pushes, 61u);
  EXPECT_EQ(b.index(kHeadOffset), 61u);
  Slot out{};
  ASSERT_TRUE(cons.pop(out));
  EXPECT_EQ(out, padded(0, 8));
  EXPECT_EQ(prod.free_slots(), 1u);
  EXPECT_EQ(prod.push(make_msg(61, 8)), PushResult::Ok);
  EXPECT_EQ(b.index(kHeadOffset), 0u);  // wrapped
  EXPECT_EQ(prod.push(make_msg(62, 8)), PushResult::Full);
  for (std::uint32_t i = 1; i <= kUsableSlots; ++i) {
    ASSERT_TRUE(cons.pop(out));
    EXPECT_EQ(out, padded(i, 8)) << i;
  }
  EXPECT_FALSE(cons.pop(out));
  EXPECT_EQ(b.violations, 0);
}

TEST(Ring, TooLargeWritesNothing) {
  Backing b;
  RingProducer prod(CheckedMemory{b});
  EXPECT_EQ(prod.push(make_msg(0, kMaxMessageSize + 1)), PushResult::TooLarge);
  EXPECT_TRUE(b.log.empty());
  EXPECT_EQ(prod.stats().too_large, 1u);
  EXPECT_EQ(prod.stats().pushes, 0u);
  EXPECT_EQ(prod.index(), 0u);
  EXPECT_EQ(prod.push(make_msg(0, kMaxMessageSize)), PushResult::Ok);
}

TEST(Ring, EmptyMessageIsAZeroSlot) {
  Backing b;
  b.bytes.fill(0xAA);
  b.set_index(kHeadOffset, 0);
  b.set_index(kTailOffset, 0);
  RingProducer prod(CheckedMemory{b});
  ASSERT_EQ(prod.push({}), PushResult::Ok);
  for (auto byte : b.slot(0)) EXPECT_EQ(byte, 0u);
}

TEST(Ring, WrapAround10000Messages) {
  alignas(4) std::array<std::uint8_t, kQueueSize> q{};
  SharedQueueMemory mem(q);
  RingProducer prod(mem);
  RingConsumer cons(mem);
  std::mt19937 rng(7);
  std::uint32_t sent = 0;
  std::uint32_t received = 0;
  constexpr std::uint32_t kTotal = 10'000;
  Slot out{};
  while (received < kTotal) {
    const std::uint32_t burst = u32(rng) % 70;
    for (std::uint32_t i = 0; i < burst && sent < kTotal; ++i) {
      const std::size_t len = 4 + sent % 61;  // 4..64
      const auto r = prod.push(make_msg(sent, len));
      if (r == PushResult::Full) break;
      ASSERT_EQ(r, PushResult::Ok);
      ++sent;
    }
    const std::uint32_t drain = u32(rng) % 70;
    for (std::uint32_t i = 0; i < drain && cons.pop(out); ++i) {
      ASSERT_EQ(out, padded(received, 4 + received % 61)) << "message " << received;
      ++received;
    }
  }
  EXPECT_FALSE(cons.pop(out));
  EXPECT_EQ(prod.stats().pushes, kTotal);
  EXPECT_EQ(cons.stats().pops, kTotal);
  EXPECT_GT(prod.stats().full_hits, 0u);  // the bursts did hit the limit
  EXPECT_EQ(prod.index(), kTotal % kSlotCount);
  EXPECT_EQ(cons.index(), kTotal % kSlotCount);
}

TEST(Ring, ZeroPadsSlotTo64Bytes) {
  Backing b;
  b.bytes.fill(0xAA);
  b.set_index(kHeadOffset, 0);
  b.set_index(kTailOffset, 0);
  RingProducer prod(CheckedMemory{b});
  RingConsumer cons(CheckedMemory{b});
  ASSERT_EQ(prod.push(make_msg(5, 5)), PushResult::Ok);
  const auto s = b.slot(0);
  const auto m = make_msg(5, 5);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(s[i], m[i]);
  for (std::size_t i = 5; i < kSlotSize; ++i) EXPECT_EQ(s[i], 0u) << i;
  for (auto byte : b.slot(1)) EXPECT_EQ(byte, 0xAAu);  // neighbour untouched
  EXPECT_EQ(b.log[1], (Op{OpKind::WriteBytes, slot_offset(0), kSlotSize}));
  Slot out{};
  ASSERT_TRUE(cons.pop(out));
  EXPECT_EQ(out, padded(5, 5));
}

TEST(Ring, ZeroPadOffLeavesStaleBytes) {
  Backing b;
  b.bytes.fill(0xAA);
  b.set_index(kHeadOffset, 0);
  b.set_index(kTailOffset, 0);
  RingProducer prod(CheckedMemory{b}, RingOptions{.zero_pad = false, .trust_own_index = false});
  RingConsumer cons(CheckedMemory{b});
  ASSERT_EQ(prod.push(make_msg(5, 5)), PushResult::Ok);
  EXPECT_EQ(b.log[1], (Op{OpKind::WriteBytes, slot_offset(0), 5}));
  Slot out{};
  ASSERT_TRUE(cons.pop(out));
  const auto m = make_msg(5, 5);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(out[i], m[i]);
  for (std::size_t i = 5; i < kSlotSize; ++i) EXPECT_EQ(out[i], 0xAAu) << i;
}

// Peer `tail` values a hostile consumer might write; the producer sits at head 0.
struct HostileCase {
  std::uint32_t raw;
  std::uint32_t expect_free;  // (raw mod 62 - 0 - 1) mod 62
};

TEST(RingHostile, ProducerSanitisesPeerTail) {
  static_assert(0xFFFFFFFFu % kSlotCount == 3);
  for (const HostileCase c : {HostileCase{62, 61}, HostileCase{63, 0}, HostileCase{0xFFFFFFFF, 2}}) {
    SCOPED_TRACE(c.raw);
    Backing b;
    b.set_index(kTailOffset, c.raw);
    RingProducer prod(CheckedMemory{b});
    EXPECT_EQ(prod.free_slots(), c.expect_free);
    const PushResult r = prod.push(make_msg(0, 8));
    EXPECT_EQ(r, c.expect_free == 0 ? PushResult::Full : PushResult::Ok);
    EXPECT_EQ(prod.stats().peer_index_out_of_range, 2u);
    EXPECT_EQ(b.index(kTailOffset), c.raw);  // never written by the producer
    EXPECT_EQ(b.violations, 0);
  }
  // Fill until the sanitised tail (3) stops us: head 0 -> 2 is the last push.
  Backing b;
  b.set_index(kTailOffset, 0xFFFFFFFF);
  RingProducer prod(CheckedMemory{b});
  EXPECT_EQ(prod.push(make_msg(0, 8)), PushResult::Ok);
  EXPECT_EQ(prod.push(make_msg(1, 8)), PushResult::Ok);
  EXPECT_EQ(prod.push(make_msg(2, 8)), PushResult::Full);
  EXPECT_EQ(b.index(kHeadOffset), 2u);
}

TEST(RingHostile, ConsumerSanitisesPeerHead) {
  struct Case {
    std::uint32_t raw;
    std::uint32_t expect_available;
  };
  for (const Case c : {Case{62, 0}, Case{63, 1}, Case{0xFFFFFFFF, 3}}) {
    SCOPED_TRACE(c.raw);
    Backing b;
    for (std::uint32_t i = 0; i < kSlotCount; ++i) b.slot(i)[0] = static_cast<std::uint8_t>(i + 1);
    b.set_index(kHeadOffset, c.raw);
    RingConsumer cons(CheckedMemory{b});
    EXPECT_EQ(cons.available(), c.expect_available);
    Slot out{};
    for (std::uint32_t i = 0; i < c.expect_available; ++i) {
      ASSERT_TRUE(cons.pop(out));
      EXPECT_EQ(out[0], i + 1);
    }
    EXPECT_FALSE(cons.pop(out));
    EXPECT_EQ(cons.index(), c.expect_available);
    EXPECT_EQ(b.index(kTailOffset), c.expect_available);
    EXPECT_EQ(b.index(kHeadOffset), c.raw);  // never written by the consumer
    EXPECT_EQ(cons.stats().peer_index_out_of_range, 1u + c.expect_available + 1u);
    EXPECT_EQ(b.violations, 0);
  }
}

// Random garbage in the peer index (and, in the trusting mode, in our own):
// every access must stay inside the queue and indices below 62.
TEST(RingHostile, RandomGarbageStaysInBounds) {
  for (const bool trust : {false, true}) {
    SCOPED_TRACE(trust ? "trust_own_index" : "private own index");
    const RingOptions opts{.zero_pad = true, .trust_own_index = trust};
    std::mt19937 rng(trust ? 1234u : 4321u);
    auto garbage = [&rng]() -> std::uint32_t {
      switch (u32(rng) % 4) {
        case 0: return u32(rng) % kSlotCount;          // plausible
        case 1: return kSlotCount + u32(rng) % 4;      // just past the end
        case 2: return 0xFFFFFFFFu - u32(rng) % 4;     // near the top
        default: return u32(rng);
      }
    };
    Backing pb;
    Backing cb;
    RingProducer prod(CheckedMemory{pb}, opts);
    RingConsumer cons(CheckedMemory{cb}, opts);
    Slot out{};
    for (int i = 0; i < 5000; ++i) {
      pb.set_index(kTailOffset, garbage());
      cb.set_index(kHeadOffset, garbage());
      if (trust) {
        pb.set_index(kHeadOffset, garbage());
        cb.set_index(kTailOffset, garbage());
      }
      const std::size_t len = u32(rng) % 70;
      const auto r = prod.push(make_msg(static_cast<std::uint32_t>(i), len));
      EXPECT_EQ(r == PushResult::TooLarge, len > kMaxMessageSize);
      EXPECT_LT(prod.index(), kSlotCount);
      EXPECT_LE(prod.free_slots(), kUsableSlots);
      (void)cons.pop(out);
      EXPECT_LT(cons.index(), kSlotCount);
      EXPECT_LE(cons.available(), kUsableSlots);
      ASSERT_EQ(pb.violations + cb.violations, 0) << "iteration " << i;
    }
    EXPECT_GT(prod.stats().pushes, 0u);
    EXPECT_GT(cons.stats().pops, 0u);
    EXPECT_GT(prod.stats().peer_index_out_of_range, 1000u);
    EXPECT_GT(cons.stats().peer_index_out_of_range, 1000u);
    if (trust) {
      EXPECT_GT(prod.stats().own_index_out_of_range, 1000u);
      EXPECT_GT(cons.stats().own_index_out_of_range, 1000u);
    } else {
      EXPECT_EQ(prod.stats().own_index_out_of_range, 0u);
      EXPECT_EQ(cons.stats().own_index_out_of_range, 0u);
    }
  }
}

// The checker is not vacuous: it flags what it claims to flag.
TEST(RingHostile, CheckedMemoryFlagsViolations) {
  Backing b;
  CheckedMemory m(b);
  std::array<std::uint8_t, 64> buf{};
  EXPECT_NONFATAL_FAILURE(m.read_bytes(kQueueSize - 8, buf), "outside the queue");
  EXPECT_NONFATAL_FAILURE(m.write_bytes(kQueueSize, buf), "outside the queue");
  EXPECT_NONFATAL_FAILURE(m.write_bytes(slot_offset(1) + 4, std::span(buf).first(8)), "one slot");
  EXPECT_NONFATAL_FAILURE((void)m.load_index(2), "bad index access");
  EXPECT_NONFATAL_FAILURE(m.store_index(kQueueSize, 0), "bad index access");
  EXPECT_EQ(b.violations, 5);
}

TEST(RingOwnIndex, PrivateIndexIgnoresScribbles) {
  Backing b;
  RingProducer prod(CheckedMemory{b});
  ASSERT_EQ(prod.push(make_msg(0, 8)), PushResult::Ok);
  ASSERT_EQ(prod.push(make_msg(1, 8)), PushResult::Ok);
  b.set_index(kHeadOffset, 40);  // the peer scribbles on our head
  b.log.clear();
  ASSERT_EQ(prod.push(make_msg(2, 8)), PushResult::Ok);
  EXPECT_EQ(b.log[1], (Op{OpKind::WriteBytes, slot_offset(2), kSlotSize}));
  EXPECT_EQ(b.index(kHeadOffset), 3u);
  EXPECT_EQ(prod.index(), 3u);

  Backing c;
  for (std::uint32_t i = 0; i < kSlotCount; ++i) c.slot(i)[0] = static_cast<std::uint8_t>(i);
  c.set_index(kHeadOffset, 3);
  RingConsumer cons(CheckedMemory{c});
  Slot out{};
  ASSERT_TRUE(cons.pop(out));
  c.set_index(kTailOffset, 50);  // the peer scribbles on our tail
  ASSERT_TRUE(cons.pop(out));
  EXPECT_EQ(out[0], 1u);
  EXPECT_EQ(c.index(kTailOffset), 2u);
  EXPECT_EQ(cons.available(), 1u);
}

TEST(RingOwnIndex, TrustOwnIndexFollowsScribbles) {
  const RingOptions trust{.zero_pad = true, .trust_own_index = true};
  Backing b;
  RingProducer prod(CheckedMemory{b}, trust);
  ASSERT_EQ(prod.push(make_msg(0, 8)), PushResult::Ok);
  ASSERT_EQ(prod.push(make_msg(1, 8)), PushResult::Ok);
  b.set_index(kHeadOffset, 40);
  b.log.clear();
  ASSERT_EQ(prod.push(make_msg(2, 8)), PushResult::Ok);
  EXPECT_EQ(b.log[0], (Op{OpKind::LoadIndex, kHeadOffset, 0}));  // re-read own index
  EXPECT_EQ(b.log[2], (Op{OpKind::WriteBytes, slot_offset(40), kSlotSize}));
  EXPECT_EQ(b.index(kHeadOffset), 41u);
  EXPECT_EQ(prod.index(), 41u);
  b.set_index(kHeadOffset, 0xFFFFFFFF);  // out of range: sanitised to 3
  ASSERT_EQ(prod.push(make_msg(3, 8)), PushResult::Ok);
  EXPECT_EQ(b.index(kHeadOffset), 4u);
  EXPECT_EQ(prod.stats().own_index_out_of_range, 1u);

  Backing c;
  for (std::uint32_t i = 0; i < kSlotCount; ++i) c.slot(i)[0] = static_cast<std::uint8_t>(i);
  c.set_index(kHeadOffset, 3);
  RingConsumer cons(CheckedMemory{c}, trust);
  Slot out{};
  ASSERT_TRUE(cons.pop(out));
  c.set_index(kTailOffset, 50);
  ASSERT_TRUE(cons.pop(out));
  EXPECT_EQ(out[0], 50u);  // replayed a slot the producer never published
  EXPECT_EQ(c.index(kTailOffset), 51u);
  EXPECT_EQ(cons.available(), 14u);  // (3 + 62 - 51) mod 62
}

TEST(RingSync, AdoptsOwnIndexFromMemoryWithoutWriting) {
  Backing b;
  b.set_index(kHeadOffset, 7);
  RingProducer prod(CheckedMemory{b});
  EXPECT_EQ(prod.index(), 0u);  // construction touches nothing
  EXPECT_TRUE(b.log.empty());
  EXPECT_EQ(prod.sync(), 7u);
  EXPECT_EQ(prod.index(), 7u);
  ASSERT_EQ(b.log.size(), 1u);
  EXPECT_EQ(b.log[0], (Op{OpKind::LoadIndex, kHeadOffset, 0}));
  ASSERT_EQ(prod.push(make_msg(0, 8)), PushResult::Ok);
  EXPECT_EQ(b.log[2], (Op{OpKind::WriteBytes, slot_offset(7), kSlotSize}));
  EXPECT_EQ(b.index(kHeadOffset), 8u);

  b.set_index(kHeadOffset, 100);
  EXPECT_EQ(prod.sync(), 38u);
  EXPECT_EQ(prod.stats().own_index_out_of_range, 1u);
  EXPECT_EQ(b.index(kHeadOffset), 100u);  // sync never writes back

  Backing c;
  c.set_index(kTailOffset, 20);
  c.set_index(kHeadOffset, 22);
  RingConsumer cons(CheckedMemory{c});
  EXPECT_EQ(cons.available(), 22u);  // before sync it believes tail = 0
  EXPECT_EQ(cons.sync(), 20u);
  EXPECT_EQ(cons.available(), 2u);
  c.log.clear();
  Slot out{};
  ASSERT_TRUE(cons.pop(out));
  EXPECT_EQ(c.log[1], (Op{OpKind::ReadBytes, slot_offset(20), kSlotSize}));
}

TEST(RingSync, ResetToPublishes) {
  Backing b;
  RingConsumer cons(CheckedMemory{b});
  cons.reset_to(5);
  EXPECT_EQ(cons.index(), 5u);
  EXPECT_EQ(b.index(kTailOffset), 5u);
  EXPECT_THROW(cons.reset_to(kSlotCount), ConfigError);
  EXPECT_EQ(cons.index(), 5u);
  EXPECT_EQ(b.index(kTailOffset), 5u);
  RingProducer prod(CheckedMemory{b});
  prod.reset_to(61);
  EXPECT_EQ(b.index(kHeadOffset), 61u);
  EXPECT_EQ(prod.free_slots(), 5u);  // (5 + 62 - 61 - 1) mod 62
}

// AMP-012: slot before index on the producer, index before slot (and slot
// before tail) on the consumer.
TEST(RingOrdering, ProducerWritesSlotBeforePublishingHead) {
  Backing b;
  b.set_index(kHeadOffset, 9);
  b.set_index(kTailOffset, 9);
  RingProducer prod(CheckedMemory{b});
  (void)prod.sync();
  b.log.clear();
  ASSERT_EQ(prod.push(make_msg(0, 12)), PushResult::Ok);
  const std::vector<Op> want{
      {OpKind::LoadIndex, kTailOffset, 0},
      {OpKind::WriteBytes, slot_offset(9), kSlotSize},
      {OpKind::StoreIndex, kHeadOffset, 10},
  };
  EXPECT_EQ(b.log, want);
}

TEST(RingOrdering, ConsumerReadsHeadThenSlotThenPublishesTail) {
  Backing b;
  b.set_index(kHeadOffset, 10);
  b.set_index(kTailOffset, 9);
  RingConsumer cons(CheckedMemory{b});
  (void)cons.sync();
  b.log.clear();
  Slot out{};
  ASSERT_TRUE(cons.pop(out));
  const std::vector<Op> want{
      {OpKind::LoadIndex, kHeadOffset, 0},
      {OpKind::ReadBytes, slot_offset(9), kSlotSize},
      {OpKind::StoreIndex, kTailOffset, 10},
  };
  EXPECT_EQ(b.log, want);
  b.log.clear();
  EXPECT_FALSE(cons.pop(out));
  EXPECT_EQ(b.log, (std::vector<Op>{{OpKind::LoadIndex, kHeadOffset, 0}}));  // empty: no slot read, no store
}

TEST(RingOrdering, FullPushTouchesNoSlot) {
  Backing b;
  b.set_index(kTailOffset, 1);
  RingProducer prod(CheckedMemory{b});
  ASSERT_EQ(prod.push(make_msg(0, 8)), PushResult::Full);
  EXPECT_EQ(b.log, (std::vector<Op>{{OpKind::LoadIndex, kTailOffset, 0}}));
}

// --- cache_peer_index -------------------------------------------------------

std::size_t loads(const Backing& b, std::uint32_t off) {
  return static_cast<std::size_t>(
      std::count_if(b.log.begin(), b.log.end(), [off](const Op& o) { return o.kind == OpKind::LoadIndex && o.off == off; }));
}

TEST(RingPeerCache, ProducerReadsTailOnlyWhenTheCacheSaysFull) {
  Backing b;
  const RingOptions opts{.cache_peer_index = true};
  RingProducer prod(CheckedMemory{b}, opts);
  RingConsumer cons(CheckedMemory{b}, opts);
  for (std::uint32_t i = 0; i < kUsableSlots; ++i) ASSERT_EQ(prod.push(make_msg(i, 8)), PushResult::Ok) << i;
  EXPECT_EQ(loads(b, kTailOffset), 1u);  // tail 0 read once: 61 pushes fit behind it
  EXPECT_EQ(prod.push(make_msg(99, 8)), PushResult::Full);
  EXPECT_EQ(loads(b, kTailOffset), 2u);  // "full" by the cache is checked by a fresh read
  Slot out{};
  for (std::uint32_t i = 0; i < kUsableSlots; ++i) {
    ASSERT_TRUE(cons.pop(out)) << i;
    EXPECT_EQ(out, padded(i, 8)) << i;
  }
  EXPECT_EQ(loads(b, kHeadOffset), 1u);  // head 61 read once
  EXPECT_FALSE(cons.pop(out));
  EXPECT_EQ(loads(b, kHeadOffset), 2u);  // "empty" by the cache is checked by a fresh read
  EXPECT_EQ(prod.push(make_msg(100, 8)), PushResult::Ok);  // cached "full" re-read: room again
  EXPECT_EQ(loads(b, kTailOffset), 3u);
  ASSERT_TRUE(cons.pop(out));
  EXPECT_EQ(out, padded(100, 8));
  EXPECT_EQ(prod.stats().full_hits, 1u);
  EXPECT_EQ(cons.stats().empty_polls, 1u);
}

TEST(RingPeerCache, SameResultsAsFreshReadsUnderRandomInterleaving) {
  // A well-behaved peer: both configurations must accept, refuse and return
  // exactly the same, whatever the interleaving.
  Backing fresh_b;
  Backing cached_b;
  const RingOptions cached{.cache_peer_index = true};
  RingProducer p1(CheckedMemory{fresh_b});
  RingConsumer c1(CheckedMemory{fresh_b});
  RingProducer p2(CheckedMemory{cached_b}, cached);
  RingConsumer c2(CheckedMemory{cached_b}, cached);
  std::mt19937 rng(7);
  for (std::uint32_t i = 0; i < 20'000; ++i) {
    if (u32(rng) % 2 == 0) {
      ASSERT_EQ(p1.push(make_msg(i, i % 65)), p2.push(make_msg(i, i % 65))) << i;
    } else {
      Slot a{};
      Slot c{};
      ASSERT_EQ(c1.pop(a), c2.pop(c)) << i;
      ASSERT_EQ(a, c) << i;
    }
  }
  EXPECT_EQ(fresh_b.bytes, cached_b.bytes);
  EXPECT_LT(cached_b.log.size(), fresh_b.log.size());
}

TEST(RingPeerCache, SyncAndResetForgetTheCachedIndex) {
  Backing b;
  RingConsumer cons(CheckedMemory{b}, RingOptions{.cache_peer_index = true});
  b.set_index(kHeadOffset, 3);
  EXPECT_EQ(cons.available(), 3u);  // caches head 3
  b.set_index(kTailOffset, 3);
  (void)cons.sync();  // adopts tail 3: the cached head is now "empty" relative to it
  Slot out{};
  b.log.clear();
  EXPECT_FALSE(cons.pop(out));
  EXPECT_EQ(loads(b, kHeadOffset), 1u);
  cons.reset_to(10);
  b.set_index(kHeadOffset, 12);
  b.log.clear();
  EXPECT_TRUE(cons.pop(out));
  EXPECT_EQ(loads(b, kHeadOffset), 1u);  // after reset_to the head is read again, not trusted
}

TEST(RingPeerCache, TrustOwnIndexReadsThePeerEveryTime) {
  Backing b;
  RingProducer prod(CheckedMemory{b}, RingOptions{.trust_own_index = true, .cache_peer_index = true});
  ASSERT_EQ(prod.push(make_msg(0, 8)), PushResult::Ok);
  ASSERT_EQ(prod.push(make_msg(1, 8)), PushResult::Ok);
  EXPECT_EQ(loads(b, kTailOffset), 2u);
}

TEST(Layout, QueueOffsets) {
  EXPECT_EQ(queue_offset(0, QueueKind::Driver), 0x1000u);
  EXPECT_EQ(queue_offset(0, QueueKind::Device), 0x2000u);
  EXPECT_EQ(queue_offset(3, QueueKind::Device), 0xE000u);
  EXPECT_EQ(slot_offset(0), 0x80u);
  EXPECT_EQ(slot_offset(61), 0xFC0u);
  EXPECT_EQ(next_index(61), 0u);
}

}  // namespace
}  // namespace vmsg::fifo

// virtio-rng backend: identity, byte stream, chain handling, errors.
#include <gtest/gtest.h>

#include <vector>

#include "devices/devices_test_support.hpp"
#include "vmsg/devices/rng.hpp"

namespace vmsg::devices {
namespace {

using test::FakeMemory;
using test::Ring;
using test::UsedElem;
using virtqueue::QueueError;

std::vector<std::uint8_t> stream_bytes(std::uint64_t seed, std::size_t n, std::size_t skip = 0) {
  ByteStream s(seed);
  std::vector<std::uint8_t> skipped(skip);
  s.fill(skipped);
  std::vector<std::uint8_t> v(n);
  s.fill(v);
  return v;
}

TEST(RngIdentity, ReportsEntropyDeviceWithoutFeaturesOrConfig) {
  RngBackend rng;
  EXPECT_EQ(rng.device_id(), 4u);
  EXPECT_EQ(rng.device_features(), 0u);
  EXPECT_EQ(rng.num_queues(), 1u);
  EXPECT_EQ(rng.max_queue_size(0), 256u);
  EXPECT_EQ(rng.max_queue_size(1), 0u);
  EXPECT_EQ(rng.config_size(), 0u);
  EXPECT_FALSE(rng.write_config(0, {}));
  EXPECT_EQ(rng.seed(), RngBackend::kDefaultSeed);
}

TEST(RngGenerator, Seed1FirstBytesAreStable) {
  // xoshiro256** seeded through splitmix64(1), words little-endian. Computed
  // independently from the published algorithm; a change here changes every
  // recorded run.
  const std::vector<std::uint8_t> expect{0xC5, 0x10, 0xC7, 0x0F, 0x6D, 0xAF, 0xF2, 0xB3,
                                         0xEA, 0x4C, 0x36, 0x47, 0x96, 0x55, 0x3B, 0x85};
  EXPECT_EQ(stream_bytes(1, 16), expect);
  Xoshiro256 g(1);
  EXPECT_EQ(g.next(), 0xB3F2AF6D0FC710C5ULL);
  EXPECT_EQ(g.next(), 0x853B559647364CEAULL);
}

TEST(RngGenerator, SeedZeroIsAValidState) {
  const std::vector<std::uint8_t> expect{0xB4, 0xF2, 0x75, 0xCB, 0x36, 0x5F, 0xEC, 0x99,
                                         0x2A, 0x45, 0x56, 0x49, 0x78, 0x1F, 0x6E, 0xBF};
  EXPECT_EQ(stream_bytes(0, 16), expect);
}

TEST(RngGenerator, StreamDoesNotDependOnHowItIsSplit) {
  ByteStream s(7);
  std::vector<std::uint8_t> a(3), b(13), c(0), d(9);
  s.fill(a);
  s.fill(b);
  s.fill(c);
  s.fill(d);
  std::vector<std::uint8_t> joined(a);
  joined.insert(joined.end(), b.begin(), b.end());
  joined.insert(joined.end(), d.begin(), d.end());
  EXPECT_EQ(joined, stream_bytes(7, 25));
}

struct RngRig {
  explicit RngRig(std::uint64_t seed = 1) : rng(seed) {}
  FakeMemory mem;
  Ring ring{mem};
  virtqueue::SplitQueue q = ring.queue();
  RngBackend rng;
};

TEST(RngProcess, FillsSingleBufferFromSeed) {
  RngRig r(1);
  const auto c = r.ring.add_chain({}, {16});
  EXPECT_EQ(r.rng.process(0, r.q), std::nullopt);
  EXPECT_EQ(r.ring.all_used(), (std::vector<UsedElem>{{c.head, 16}}));
  EXPECT_EQ(r.mem.copy(c.writable[0].addr, 16), stream_bytes(1, 16));
  EXPECT_EQ(r.rng.bytes_generated(), 16u);
  EXPECT_EQ(r.rng.requests(), 1u);
}

TEST(RngProcess, SameSeedSameBytesDifferentSeedDifferentBytes) {
  RngRig a(42), b(42), c(43);
  const auto ca = a.ring.add_chain({}, {64});
  const auto cb = b.ring.add_chain({}, {64});
  const auto cc = c.ring.add_chain({}, {64});
  ASSERT_EQ(a.rng.process(0, a.q), std::nullopt);
  ASSERT_EQ(b.rng.process(0, b.q), std::nullopt);
  ASSERT_EQ(c.rng.process(0, c.q), std::nullopt);
  const auto ba = a.mem.copy(ca.writable[0].addr, 64);
  EXPECT_EQ(ba, b.mem.copy(cb.writable[0].addr, 64));
  EXPECT_NE(ba, c.mem.copy(cc.writable[0].addr, 64));
}

TEST(RngProcess, FillsEveryWritableSegmentAndSkipsReadableOnes) {
  RngRig r(3);
  const std::vector<std::uint8_t> readable{1, 2, 3, 4};
  const auto c = r.ring.add_chain({readable}, {5, 11, 300});  // 300 > the internal chunk
  ASSERT_EQ(r.rng.process(0, r.q), std::nullopt);
  EXPECT_EQ(r.ring.all_used(), (std::vector<UsedElem>{{c.head, 316}}));
  std::vector<std::uint8_t> got;
  for (const auto& w : c.writable) {
    const auto part = r.mem.copy(w.addr, w.len);
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(got, stream_bytes(3, 316));
  // The readable buffer sits right after the rings; the device must not write it.
  EXPECT_EQ(r.mem.copy(c.writable[0].addr - 16, 4), readable);
  EXPECT_EQ(r.rng.bytes_generated(), 316u);
}

TEST(RngProcess, StreamContinuesAcrossChainsInOrder) {
  RngRig r(5);
  const auto c1 = r.ring.add_chain({}, {10});
  const auto c2 = r.ring.add_chain({}, {6});
  ASSERT_EQ(r.rng.process(0, r.q), std::nullopt);
  EXPECT_EQ(r.ring.all_used(), (std::vector<UsedElem>{{c1.head, 10}, {c2.head, 6}}));
  EXPECT_EQ(r.mem.copy(c1.writable[0].addr, 10), stream_bytes(5, 10));
  EXPECT_EQ(r.mem.copy(c2.writable[0].addr, 6), stream_bytes(5, 6, 10));
}

TEST(RngProcess, ChainWithoutWritableBytesIsUsedWithZeroLength) {
  RngRig r;
  const auto c = r.ring.add_chain({{9, 9}}, {});
  const auto c2 = r.ring.add_chain({}, {8});
  ASSERT_EQ(r.rng.process(0, r.q), std::nullopt);
  EXPECT_EQ(r.ring.all_used(), (std::vector<UsedElem>{{c.head, 0}, {c2.head, 8}}));
  // Nothing was drawn for the empty chain: the next one starts the stream.
  EXPECT_EQ(r.mem.copy(c2.writable[0].addr, 8), stream_bytes(1, 8));
}

TEST(RngProcess, EmptyQueueUsesNothing) {
  RngRig r;
  EXPECT_EQ(r.rng.process(0, r.q), std::nullopt);
  EXPECT_EQ(r.ring.used_idx(), 0u);
  EXPECT_EQ(r.rng.bytes_generated(), 0u);
}

TEST(RngProcess, UnknownQueueIndexIsIgnored) {
  RngRig r;
  r.ring.add_chain({}, {8});
  EXPECT_EQ(r.rng.process(1, r.q), std::nullopt);
  EXPECT_EQ(r.ring.used_idx(), 0u);
  EXPECT_EQ(r.rng.bytes_generated(), 0u);
}

TEST(RngReset, KeepsStreamPosition) {
  RngRig r(9);
  r.ring.add_chain({}, {16});
  ASSERT_EQ(r.rng.process(0, r.q), std::nullopt);
  r.rng.reset();
  // A fresh ring after the reset, as the driver would set up.
  FakeMemory mem2;
  Ring ring2(mem2);
  auto q2 = ring2.queue();
  const auto c = ring2.add_chain({}, {16});
  ASSERT_EQ(r.rng.process(0, q2), std::nullopt);
  EXPECT_EQ(mem2.copy(c.writable[0].addr, 16), stream_bytes(9, 16, 16));
  EXPECT_EQ(r.rng.bytes_generated(), 32u);
}

TEST(RngErrors, BufferOutsideRamIsADmaFault) {
  RngRig r;
  const std::uint16_t d = r.ring.take_desc();
  r.ring.set_desc(d, r.mem.end() + 0x1000, 16, Ring::kWrite, 0);
  r.ring.publish(d);
  EXPECT_EQ(r.rng.process(0, r.q), QueueError::DmaFault);
  EXPECT_EQ(r.ring.used_idx(), 0u);
  EXPECT_EQ(r.rng.bytes_generated(), 0u);
}

TEST(RngErrors, BadHeadIndexIsReturned) {
  RngRig r;
  r.ring.publish(16);  // ring size is 16
  EXPECT_EQ(r.rng.process(0, r.q), QueueError::DescIndexOutOfRange);
  EXPECT_EQ(r.ring.used_idx(), 0u);
}

TEST(RngErrors, ChainsBeforeTheBadOneAreUsed) {
  RngRig r;
  const auto c = r.ring.add_chain({}, {4});
  r.ring.publish(200);
  EXPECT_EQ(r.rng.process(0, r.q), QueueError::DescIndexOutOfRange);
  EXPECT_EQ(r.ring.all_used(), (std::vector<UsedElem>{{c.head, 4}}));
}

}  // namespace
}  // namespace vmsg::devices

// virtio-blk backend: identity, config bytes, every request type and every
// error status, malformed chains, queue errors.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "devices/devices_test_support.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/devices/blk.hpp"

namespace vmsg::devices {
namespace {

using test::FakeContext;
using test::FakeMemory;
using test::kPoison;
using test::Ring;
using test::UsedElem;
using virtqueue::QueueError;

constexpr std::uint64_t kAllOnes = 0xFFFF'FFFF'FFFF'FFFFULL;

std::vector<std::uint8_t> hdr(std::uint32_t type, std::uint64_t sector) {
  std::vector<std::uint8_t> h(16, 0);
  le::store32(h, 0, type);
  le::store32(h, 4, 0);
  le::store64(h, 8, sector);
  return h;
}

/// Bytes that differ per position and per `salt`, so misplaced data shows.
std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t salt) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 7 + salt) & 0xFF);
  return v;
}

std::vector<std::uint8_t> poison(std::size_t n) { return std::vector<std::uint8_t>(n, kPoison); }

BlkOptions opts(std::uint64_t capacity, bool read_only = false, std::optional<std::uint32_t> blk_size = std::nullopt) {
  BlkOptions o;
  o.capacity_sectors = capacity;
  o.read_only = read_only;
  o.blk_size = blk_size;
  return o;
}

BlkOptions with_serial(std::string serial) {
  BlkOptions o;
  o.serial = std::move(serial);
  return o;
}

struct BlkRig {
  explicit BlkRig(BlkOptions o = {}) : blk(std::move(o)) {}
  FakeMemory mem;
  Ring ring{mem};
  virtqueue::SplitQueue q = ring.queue();
  BlkBackend blk;

  /// Runs the queue; expects no queue error.
  void run() { ASSERT_EQ(blk.process(0, q), std::nullopt); }
  std::uint8_t status_of(const test::BuiltChain& c) {
    const auto& s = c.writable.back();
    return mem.copy(s.addr + s.len - 1, 1)[0];
  }
  std::vector<std::uint8_t> disk(std::uint64_t sector, std::size_t len) {
    auto d = blk.disk().subspan(static_cast<std::size_t>(sector * 512), len);
    return {d.begin(), d.end()};
  }
  /// Submits an IN of `len` data bytes + status, runs, returns the chain.
  /// len 0 gives a status-only chain (no zero-length descriptor).
  test::BuiltChain read(std::uint64_t sector, std::uint32_t len) {
    auto c = len == 0 ? ring.add_chain({hdr(blk::kTypeIn, sector)}, {1})
                      : ring.add_chain({hdr(blk::kTypeIn, sector)}, {len, 1});
    run();
    return c;
  }
  test::BuiltChain write(std::uint64_t sector, const std::vector<std::uint8_t>& data) {
    auto c = ring.add_chain({hdr(blk::kTypeOut, sector), data}, {1});
    run();
    return c;
  }
};

// --- identity and config --------------------------------------------------

TEST(BlkIdentity, DefaultOffersFlushAndSegMax) {
  BlkBackend b;
  EXPECT_EQ(b.device_id(), 2u);
  EXPECT_EQ(b.device_features(), (1ULL << 9) | (1ULL << 2));
  EXPECT_EQ(b.num_queues(), 1u);
  EXPECT_EQ(b.max_queue_size(0), 256u);
  EXPECT_EQ(b.max_queue_size(1), 0u);
  EXPECT_EQ(b.config_size(), 24u);
  EXPECT_EQ(b.disk().size(), 2048u * 512u);
}

TEST(BlkIdentity, ReadOnlyAndBlkSizeAddTheirBits) {
  BlkBackend b(BlkOptions{.capacity_sectors = 16, .read_only = true, .blk_size = 4096, .seg_max = 0});
  EXPECT_EQ(b.device_features(), (1ULL << 9) | (1ULL << 5) | (1ULL << 6));
}

TEST(BlkConfig, DefaultBytesExact) {
  BlkBackend b;
  const std::vector<std::uint8_t> expect{
      0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // capacity 2048
      0x00, 0x00, 0x00, 0x00,                          // size_max (not offered)
      0xFE, 0x00, 0x00, 0x00,                          // seg_max 254
      0x00, 0x00, 0x00, 0x00,                          // geometry (not offered)
      0x00, 0x00, 0x00, 0x00,                          // blk_size (not offered)
  };
  EXPECT_EQ(test::config_bytes(b), expect);
}

TEST(BlkConfig, CustomBytesExactAndPartialReads) {
  BlkBackend b(BlkOptions{.capacity_sectors = 0x1238, .read_only = false, .blk_size = 4096, .seg_max = 0x0A0B0C0D});
  const std::vector<std::uint8_t> expect{
      0x38, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
      0x00, 0x00, 0x00, 0x00,                          //
      0x0D, 0x0C, 0x0B, 0x0A,                          //
      0x00, 0x00, 0x00, 0x00,                          //
      0x00, 0x10, 0x00, 0x00,                          //
  };
  EXPECT_EQ(test::config_bytes(b), expect);
  std::vector<std::uint8_t> part(3);
  b.read_config(13, part);
  EXPECT_EQ(part, (std::vector<std::uint8_t>{0x0C, 0x0B, 0x0A}));
  std::vector<std::uint8_t> last(1);
  b.read_config(21, last);
  EXPECT_EQ(last[0], 0x10);
}

TEST(BlkConfig, EveryWriteIsRefused) {
  BlkBackend b;
  const auto before = test::config_bytes(b);
  const std::vector<std::uint8_t> v{1, 2, 3, 4};
  EXPECT_FALSE(b.write_config(0, v));
  EXPECT_FALSE(b.write_config(12, v));
  EXPECT_FALSE(b.write_config(20, v));
  EXPECT_EQ(test::config_bytes(b), before);
}

TEST(BlkOptionsCheck, BadOptionsThrow) {
  EXPECT_THROW(BlkBackend(opts(blk::kMaxCapacitySectors + 1)), ConfigError);
  EXPECT_THROW(BlkBackend(opts(16, false, 1000)), ConfigError);
  EXPECT_THROW(BlkBackend(opts(16, false, 256)), ConfigError);
  EXPECT_THROW(BlkBackend(opts(16, false, 131072)), ConfigError);
  EXPECT_THROW(BlkBackend(opts(3, false, 4096)), ConfigError);
  EXPECT_THROW(BlkBackend(with_serial(std::string(21, 'x'))), ConfigError);
  EXPECT_NO_THROW(BlkBackend(BlkOptions{.capacity_sectors = 8, .read_only = false, .blk_size = 4096, .seg_max = 1, .serial = std::string(20, 'x')}));
  EXPECT_NO_THROW(BlkBackend(opts(0)));
}

// --- data path ------------------------------------------------------------

TEST(BlkIo, WriteThenReadBack) {
  BlkRig r;
  const auto data = pattern(1024, 1);
  const auto w = r.write(3, data);
  EXPECT_EQ(r.status_of(w), blk::kStatusOk);
  EXPECT_EQ(r.disk(3, 1024), data);
  EXPECT_EQ(r.disk(2, 512), std::vector<std::uint8_t>(512, 0));  // neighbours untouched
  EXPECT_EQ(r.disk(5, 512), std::vector<std::uint8_t>(512, 0));

  const auto rd = r.read(3, 1024);
  EXPECT_EQ(r.status_of(rd), blk::kStatusOk);
  EXPECT_EQ(r.mem.copy(rd.writable[0].addr, 1024), data);
  EXPECT_EQ(r.ring.all_used(), (std::vector<UsedElem>{{w.head, 1}, {rd.head, 1025}}));
  EXPECT_EQ(r.blk.stats().writes, 1u);
  EXPECT_EQ(r.blk.stats().reads, 1u);
  EXPECT_EQ(r.blk.stats().bytes_written, 1024u);
  EXPECT_EQ(r.blk.stats().bytes_read, 1024u);
  EXPECT_EQ(r.blk.stats().errors, 0u);
}

TEST(BlkIo, ReadsWhatTheDiskHolds) {
  BlkRig r(opts(8));
  const auto content = pattern(8 * 512, 9);
  std::copy(content.begin(), content.end(), r.blk.disk().begin());
  const auto rd = r.read(7, 512);  // the last sector
  EXPECT_EQ(r.status_of(rd), blk::kStatusOk);
  EXPECT_EQ(r.mem.copy(rd.writable[0].addr, 512),
            std::vector<std::uint8_t>(content.begin() + 7 * 512, content.end()));
}

TEST(BlkIo, MultiSegmentWriteAndRead) {
  BlkRig r;
  const auto h = hdr(blk::kTypeOut, 10);
  const auto data = pattern(1024, 3);
  // Header split 10 + 6, data split 100 + 412 + 512, status alone.
  const auto w = r.ring.add_chain({{h.begin(), h.begin() + 10},
                                   {h.begin() + 10, h.end()},
                                   {data.begin(), data.begin() + 100},
                                   {data.begin() + 100, data.begin() + 512},
                                   {data.begin() + 512, data.end()}},
                                  {1});
  r.run();
  EXPECT_EQ(r.status_of(w), blk::kStatusOk);
  EXPECT_EQ(r.disk(10, 1024), data);

  // Data split 300 + 700, status the last byte of a 25-byte segment.
  const auto rd = r.ring.add_chain({hdr(blk::kTypeIn, 10)}, {300, 700, 25});
  r.run();
  EXPECT_EQ(r.mem.copy(rd.writable[2].addr + 24, 1)[0], blk::kStatusOk);
  std::vector<std::uint8_t> got = r.mem.copy(rd.writable[0].addr, 300);
  const auto b = r.mem.copy(rd.writable[1].addr, 700);
  const auto c = r.mem.copy(rd.writable[2].addr, 24);
  got.insert(got.end(), b.begin(), b.end());
  got.insert(got.end(), c.begin(), c.end());
  EXPECT_EQ(got, data);
  EXPECT_EQ(r.ring.used(1), (UsedElem{rd.head, 1025}));
}

TEST(BlkIo, ZeroLengthReadAtTheEndIsOk) {
  BlkRig r(opts(4));
  const auto rd = r.ring.add_chain({hdr(blk::kTypeIn, 4)}, {1});
  r.run();
  EXPECT_EQ(r.status_of(rd), blk::kStatusOk);
  EXPECT_EQ(r.ring.used(0), (UsedElem{rd.head, 1}));
}

TEST(BlkIo, FlushIsOkAndIgnoresSector) {
  BlkRig r;
  const auto f = r.ring.add_chain({hdr(blk::kTypeFlush, kAllOnes)}, {1});
  r.run();
  EXPECT_EQ(r.status_of(f), blk::kStatusOk);
  EXPECT_EQ(r.ring.used(0), (UsedElem{f.head, 1}));
  EXPECT_EQ(r.blk.stats().flushes, 1u);
}

TEST(BlkIo, GetIdExactSize) {
  BlkRig r;
  const auto g = r.ring.add_chain({hdr(blk::kTypeGetId, 0)}, {20, 1});
  r.run();
  std::vector<std::uint8_t> expect(20, 0);
  std::memcpy(expect.data(), "vmsg-blk", 8);
  EXPECT_EQ(r.mem.copy(g.writable[0].addr, 20), expect);
  EXPECT_EQ(r.status_of(g), blk::kStatusOk);
  EXPECT_EQ(r.ring.used(0), (UsedElem{g.head, 21}));
  EXPECT_EQ(r.blk.stats().get_ids, 1u);
}

TEST(BlkIo, GetIdTruncatedToTheSpaceGiven) {
  BlkRig r(with_serial("SERIAL-0123456789ABC"));  // exactly 20 bytes
  const auto g = r.ring.add_chain({hdr(blk::kTypeGetId, 0)}, {5});  // 4 data + status
  r.run();
  EXPECT_EQ(r.mem.copy(g.writable[0].addr, 5), (std::vector<std::uint8_t>{'S', 'E', 'R', 'I', blk::kStatusOk}));
  EXPECT_EQ(r.ring.used(0), (UsedElem{g.head, 5}));
}

TEST(BlkIo, GetIdWithMoreSpaceWritesOnly20Bytes) {
  BlkRig r(with_serial("abc"));
  const auto g = r.ring.add_chain({hdr(blk::kTypeGetId, 0)}, {64, 1});
  r.run();
  std::vector<std::uint8_t> expect(20, 0);
  expect[0] = 'a';
  expect[1] = 'b';
  expect[2] = 'c';
  EXPECT_EQ(r.mem.copy(g.writable[0].addr, 20), expect);
  EXPECT_EQ(r.mem.copy(g.writable[0].addr + 20, 44), poison(44));
  EXPECT_EQ(r.status_of(g), blk::kStatusOk);
  EXPECT_EQ(r.ring.used(0), (UsedElem{g.head, 21}));
}

// --- error statuses -------------------------------------------------------

/// An IN request that must fail with IOERR: status 1, used len 1, no data.
void expect_read_ioerr(BlkRig& r, std::uint64_t sector, std::uint32_t len) {
  const auto before = r.blk.stats().errors;
  const auto rd = r.read(sector, len);
  EXPECT_EQ(r.status_of(rd), blk::kStatusIoErr) << "sector " << sector << " len " << len;
  EXPECT_EQ(r.mem.copy(rd.writable[0].addr, len), poison(len));
  EXPECT_EQ(r.ring.used(static_cast<std::uint16_t>(r.ring.used_idx() - 1)), (UsedElem{rd.head, 1}));
  EXPECT_EQ(r.blk.stats().errors, before + 1);
}

/// An OUT request that must fail with IOERR and leave the disk unchanged.
void expect_write_ioerr(BlkRig& r, std::uint64_t sector, std::size_t len) {
  const std::vector<std::uint8_t> disk_before(r.blk.disk().begin(), r.blk.disk().end());
  const auto before = r.blk.stats().errors;
  const auto w = r.write(sector, pattern(len, 5));
  EXPECT_EQ(r.status_of(w), blk::kStatusIoErr) << "sector " << sector << " len " << len;
  EXPECT_TRUE(std::equal(disk_before.begin(), disk_before.end(), r.blk.disk().begin(), r.blk.disk().end()));
  EXPECT_EQ(r.ring.used(static_cast<std::uint16_t>(r.ring.used_idx() - 1)), (UsedElem{w.head, 1}));
  EXPECT_EQ(r.blk.stats().errors, before + 1);
}

TEST(BlkErrors, ReadPastTheEnd) {
  BlkRig r(opts(8));
  expect_read_ioerr(r, 7, 1024);  // starts inside, ends outside
  expect_read_ioerr(r, 8, 512);   // starts at capacity
  expect_read_ioerr(r, 9, 0);     // zero length but beyond capacity
  EXPECT_EQ(r.blk.stats().reads, 0u);
}

TEST(BlkErrors, BadSectorsFailEveryRequestTouchingThem) {
  BlkOptions o = opts(16);
  o.bad_sectors = {5, 9};
  BlkRig r(o);
  expect_read_ioerr(r, 5, 512);
  expect_read_ioerr(r, 4, 1024);   // ends on a bad sector
  expect_read_ioerr(r, 8, 2048);   // spans one
  expect_write_ioerr(r, 9, 512);
  expect_write_ioerr(r, 3, 1536);  // spans 5
  // Neighbours and other requests work.
  const auto w = r.write(4, pattern(512, 9));
  EXPECT_EQ(r.status_of(w), blk::kStatusOk);
  const auto rd = r.read(6, 1536);
  EXPECT_EQ(r.status_of(rd), blk::kStatusOk);
}

TEST(BlkErrors, SectorOverflowIsIoErr) {
  BlkRig r(opts(8));
  expect_read_ioerr(r, kAllOnes, 512);
  expect_read_ioerr(r, kAllOnes, 1024);        // sector + 2 wraps to 1
  expect_read_ioerr(r, 1ULL << 55, 512);       // sector * 512 wraps to 0
  expect_write_ioerr(r, kAllOnes, 512);
  expect_write_ioerr(r, (1ULL << 55) + 1, 512);  // would alias sector 1
}

TEST(BlkErrors, WritePastTheEnd) {
  BlkRig r(opts(8));
  expect_write_ioerr(r, 6, 1536);
  expect_write_ioerr(r, 8, 512);
}

TEST(BlkErrors, LengthNotAMultipleOf512) {
  BlkRig r;
  expect_read_ioerr(r, 0, 511);
  expect_read_ioerr(r, 0, 513);
  expect_write_ioerr(r, 0, 100);
  expect_write_ioerr(r, 0, 1023);
}

TEST(BlkErrors, WriteOnReadOnlyDisk) {
  BlkRig r(opts(8, true));
  expect_write_ioerr(r, 0, 512);
  // Reads and flushes still work.
  const auto rd = r.read(0, 512);
  EXPECT_EQ(r.status_of(rd), blk::kStatusOk);
  const auto f = r.ring.add_chain({hdr(blk::kTypeFlush, 0)}, {1});
  r.run();
  EXPECT_EQ(r.status_of(f), blk::kStatusOk);
}

TEST(BlkErrors, ShortHeaderIsIoErr) {
  BlkRig r;
  auto h = hdr(blk::kTypeIn, 0);
  h.resize(15);
  const auto a = r.ring.add_chain({h}, {512, 1});
  const auto b = r.ring.add_chain({}, {512, 1});  // no header at all
  r.run();
  EXPECT_EQ(r.status_of(a), blk::kStatusIoErr);
  EXPECT_EQ(r.status_of(b), blk::kStatusIoErr);
  EXPECT_EQ(r.mem.copy(a.writable[0].addr, 512), poison(512));
  EXPECT_EQ(r.mem.copy(b.writable[0].addr, 512), poison(512));
  EXPECT_EQ(r.ring.all_used(), (std::vector<UsedElem>{{a.head, 1}, {b.head, 1}}));
  EXPECT_EQ(r.blk.stats().errors, 2u);
}

TEST(BlkErrors, UnknownTypesAreUnsupported) {
  BlkRig r;
  for (std::uint32_t type : {2u, 11u, 13u, 0x8000'0000u, 0xFFFF'FFFFu}) {
    const auto c = r.ring.add_chain({hdr(type, 0), pattern(512, 1)}, {512, 1});
    r.run();
    EXPECT_EQ(r.status_of(c), blk::kStatusUnsupp) << "type " << type;
    EXPECT_EQ(r.mem.copy(c.writable[0].addr, 512), poison(512)) << "type " << type;
    EXPECT_EQ(r.ring.used(static_cast<std::uint16_t>(r.ring.used_idx() - 1)), (UsedElem{c.head, 1}));
  }
  EXPECT_EQ(r.blk.stats().unsupported, 5u);
  EXPECT_EQ(r.blk.stats().errors, 0u);
  EXPECT_EQ(r.disk(0, 512), std::vector<std::uint8_t>(512, 0));
}

TEST(BlkErrors, ChainWithoutStatusByteIsMalformed) {
  BlkRig r;
  const auto c = r.ring.add_chain({hdr(blk::kTypeOut, 0), pattern(512, 2)}, {});
  const auto next = r.ring.add_chain({hdr(blk::kTypeFlush, 0)}, {1});
  r.run();
  EXPECT_EQ(r.ring.all_used(), (std::vector<UsedElem>{{c.head, 0}, {next.head, 1}}));
  EXPECT_EQ(r.disk(0, 512), std::vector<std::uint8_t>(512, 0));  // nothing written
  EXPECT_EQ(r.blk.stats().malformed, 1u);
  EXPECT_EQ(r.blk.stats().writes, 0u);
  EXPECT_EQ(r.blk.stats().errors, 0u);
  EXPECT_EQ(r.status_of(next), blk::kStatusOk);
}

TEST(BlkErrors, EmptyDiskRefusesData) {
  BlkRig r(opts(0));
  expect_read_ioerr(r, 0, 512);
  expect_write_ioerr(r, 0, 512);
  const auto z = r.read(0, 0);
  EXPECT_EQ(r.status_of(z), blk::kStatusOk);
}

// --- queue errors ---------------------------------------------------------

TEST(BlkQueueErrors, DataBufferOutsideRamIsADmaFault) {
  BlkRig r;
  const auto h = r.ring.buffer(hdr(blk::kTypeIn, 0));
  const auto status = r.ring.poisoned(1);
  const std::uint16_t d0 = r.ring.take_desc();
  const std::uint16_t d1 = r.ring.take_desc();
  const std::uint16_t d2 = r.ring.take_desc();
  r.ring.set_desc(d0, h, 16, Ring::kNext, d1);
  r.ring.set_desc(d1, r.mem.end(), 512, Ring::kWrite | Ring::kNext, d2);
  r.ring.set_desc(d2, status, 1, Ring::kWrite, 0);
  r.ring.publish(d0);
  EXPECT_EQ(r.blk.process(0, r.q), QueueError::DmaFault);
  EXPECT_EQ(r.ring.used_idx(), 0u);
}

TEST(BlkQueueErrors, HeaderOutsideRamIsADmaFault) {
  BlkRig r;
  const auto status = r.ring.poisoned(1);
  const std::uint16_t d0 = r.ring.take_desc();
  const std::uint16_t d1 = r.ring.take_desc();
  r.ring.set_desc(d0, 0x100, 16, Ring::kNext, d1);  // below fake RAM
  r.ring.set_desc(d1, status, 1, Ring::kWrite, 0);
  r.ring.publish(d0);
  EXPECT_EQ(r.blk.process(0, r.q), QueueError::DmaFault);
  EXPECT_EQ(r.mem.copy(status, 1)[0], kPoison);
  EXPECT_EQ(r.ring.used_idx(), 0u);
}

TEST(BlkQueueErrors, BadHeadIndexIsReturned) {
  BlkRig r;
  r.ring.publish(0xFFFF);
  EXPECT_EQ(r.blk.process(0, r.q), QueueError::DescIndexOutOfRange);
}

TEST(BlkQueue, UnknownQueueIndexIsIgnored) {
  BlkRig r;
  r.ring.add_chain({hdr(blk::kTypeFlush, 0)}, {1});
  EXPECT_EQ(r.blk.process(1, r.q), std::nullopt);
  EXPECT_EQ(r.ring.used_idx(), 0u);
}

// --- reset ----------------------------------------------------------------

TEST(BlkReset, KeepsDiskContentsAndConfig) {
  BlkRig r(opts(8, false, 4096));
  const auto data = pattern(512, 4);
  r.write(1, data);
  const auto cfg = test::config_bytes(r.blk);
  r.blk.reset();
  EXPECT_EQ(r.disk(1, 512), data);
  EXPECT_EQ(test::config_bytes(r.blk), cfg);
  EXPECT_EQ(r.blk.stats().writes, 1u);
}

// --- driver rules the device sees in requests (blk description.tex L871-886) ---

struct BoundBlkRig : BlkRig {
  explicit BoundBlkRig(BlkOptions o = opts(8)) : BlkRig(std::move(o)) { blk.bind(ctx); }
  FakeContext ctx{mem, blk};
};

TEST(BlkDriverRules, WellFormedRequestsReportNothing) {
  BoundBlkRig r;
  r.write(6, pattern(1024, 1));
  r.read(0, 4096);
  r.read(8, 0);  // nothing read at capacity
  r.ring.add_chain({hdr(blk::kTypeFlush, 0)}, {1});
  r.ring.add_chain({hdr(blk::kTypeGetId, 0)}, {20, 1});
  r.run();
  EXPECT_TRUE(r.ctx.rules.empty());
}

TEST(BlkDriverRules, RequestsPastCapacityBreakBlk011) {
  BoundBlkRig r;
  r.read(7, 1024);
  r.write(8, pattern(512, 1));
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BLK-011", "VIRTIO-BLK-011"}));
  EXPECT_EQ(r.blk.stats().errors, 2u);  // answered IOERR as before
}

TEST(BlkDriverRules, FlushWithASectorBreaksBlk013) {
  BoundBlkRig r;
  const auto f = r.ring.add_chain({hdr(blk::kTypeFlush, 3)}, {1});
  r.run();
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BLK-013"}));
  EXPECT_EQ(r.status_of(f), blk::kStatusOk);
}

TEST(BlkDriverRules, FlushWithDataBreaksBlk033Only) {
  BoundBlkRig r;
  const auto out = r.ring.add_chain({hdr(blk::kTypeFlush, 0), pattern(512, 1)}, {1});
  const auto in = r.ring.add_chain({hdr(blk::kTypeFlush, 0)}, {8, 1});
  r.run();
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BLK-033", "VIRTIO-BLK-033"}));
  EXPECT_EQ(r.status_of(out), blk::kStatusOk);  // answered as before
  EXPECT_EQ(r.status_of(in), blk::kStatusOk);
}

TEST(BlkDriverRules, PartialSectorsBreakBlk014) {
  BoundBlkRig r;
  r.read(0, 100);
  r.write(0, pattern(600, 1));
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BLK-014", "VIRTIO-BLK-014"}));
}

TEST(BlkDriverRules, GetIdOfAnotherSizeBreaksBlk016) {
  BoundBlkRig r;
  r.ring.add_chain({hdr(blk::kTypeGetId, 0)}, {4, 1});
  r.ring.add_chain({hdr(blk::kTypeGetId, 0)}, {64, 1});
  r.run();
  EXPECT_EQ(r.ctx.rules, (std::vector<std::string>{"VIRTIO-BLK-016", "VIRTIO-BLK-016"}));
}

}  // namespace
}  // namespace vmsg::devices

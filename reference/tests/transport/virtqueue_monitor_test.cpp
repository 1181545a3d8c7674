// VirtqueueMonitor: each split-ring driver rule fires on a ring laid out
// wrongly by hand, with exactly its ID, and a correct driver's rings (chains,
// indirect tables, notifications both ways, the 16-bit index wrapping) record
// nothing. The rings are written field by field here, independently of the
// monitor and of the device's SplitQueue.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "transport/transport_test_support.hpp"
#include "transport/validating_rig.hpp"
#include "vmsg/transport/virtqueue_monitor.hpp"

namespace vmsg::transport::test {
namespace {

constexpr std::uint16_t kNext = 1;
constexpr std::uint16_t kWrite = 2;
constexpr std::uint16_t kIndirectF = 4;
constexpr std::uint64_t kBase = 0x1000;
constexpr std::uint32_t kSize = 8;
constexpr std::uint64_t kTable = 0x3000;  // an indirect table
constexpr std::uint64_t kData = 0x4000;

/// A queue of 8 laid out in FakeMemory, a driver writing it and a device
/// handing chains back, with the monitor watching.
class Bench {
 public:
  explicit Bench(bool event_idx = false, bool indirect = true, bool writable_only = false)
      : ring(mem, kBase, kSize) {
    cfg = MonitoredQueue{.size = kSize,
                         .desc_addr = ring.desc(),
                         .driver_addr = ring.avail(),
                         .device_addr = ring.used(),
                         .indirect = indirect,
                         .event_idx = event_idx,
                         .writable_only = writable_only};
  }
  /// Makes the queue live and writes DRIVER_OK.
  std::set<std::string> start() {
    const auto f = mon.start(0, cfg, mem);
    mon.driver_status(0x0F);
    return rules(f);
  }

  void desc(std::uint64_t table, std::uint32_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags,
            std::uint16_t next = 0) {
    const std::uint64_t d = table + 16ULL * i;
    mem.store64(d, addr);
    mem.store32(d + 8, len);
    mem.store16(d + 12, flags);
    mem.store16(d + 14, next);
  }
  void d(std::uint32_t i, std::uint32_t len, std::uint16_t flags, std::uint16_t next = 0) {
    desc(ring.desc(), i, kData + 0x100ULL * i, len, flags, next);
  }
  void publish(std::uint16_t head) { ring.publish(head); }
  /// The device returns `head` (a used element and the used idx).
  void use(std::uint16_t head) {
    mem.store32(ring.used() + 4 + 8ULL * (used_idx % kSize), head);
    mem.store32(ring.used() + 8 + 8ULL * (used_idx % kSize), 0);
    mem.store16(ring.used() + 2, ++used_idx);
  }
  void used_flags(std::uint16_t f) { mem.store16(ring.used(), f); }
  void avail_event(std::uint16_t v) { mem.store16(ring.used() + 4 + 8ULL * kSize, v); }

  std::set<std::string> kick(std::uint32_t q = 0) { return rules(mon.observe(mem, q, true)); }
  std::set<std::string> other() { return rules(mon.observe(mem, std::nullopt, true)); }

  static std::set<std::string> rules(const std::vector<RingFinding>& f) {
    std::set<std::string> out;
    for (const RingFinding& x : f) out.insert(x.rule);
    return out;
  }

  FakeMemory mem{kBase, 0x8000};
  TestRing ring;
  MonitoredQueue cfg;
  VirtqueueMonitor mon;
  std::uint16_t used_idx = 0;
};

using Set = std::set<std::string>;

// ---- good rings --------------------------------------------------------------------

TEST(VirtqueueMonitor, CorrectChainsAndNotificationsRecordNothing) {
  Bench b;
  ASSERT_EQ(b.start(), Set{});
  // readable -> readable -> writable, a NEXT chain
  b.d(0, 16, kNext, 1);
  b.d(1, 16, kNext, 2);
  b.d(2, 64, kWrite);
  b.publish(0);
  EXPECT_EQ(b.kick(), Set{});
  b.use(0);
  // an indirect table after a readable descriptor: readable, writable
  b.d(3, 8, kNext, 4);
  b.desc(b.ring.desc(), 4, kTable, 32, kIndirectF);
  b.desc(kTable, 0, kData, 8, kNext, 1);
  b.desc(kTable, 1, kData + 8, 8, kWrite);
  b.publish(3);
  EXPECT_EQ(b.kick(), Set{});
  b.use(3);
  // descriptors reused once the device gave them back
  b.d(0, 4, kWrite);
  b.publish(0);
  EXPECT_EQ(b.kick(), Set{});
  b.use(0);
  EXPECT_EQ(b.other(), Set{});
}

TEST(VirtqueueMonitor, TheSixteenBitIndicesWrapWithoutComplaint) {
  Bench b(/*event_idx=*/true);
  ASSERT_EQ(b.start(), Set{});
  b.d(0, 16, kWrite);
  for (unsigned n = 0; n < 0x10000 + 20; ++n) {
    b.avail_event(b.used_idx);  // the device asks for the next entry, as it does when the ring empties
    b.publish(0);
    ASSERT_EQ(b.kick(), Set{}) << n;
    b.use(0);
  }
  EXPECT_EQ(b.other(), Set{});
}

TEST(VirtqueueMonitor, SuppressedNotificationsNeedNoKick) {
  Bench plain;
  ASSERT_EQ(plain.start(), Set{});
  plain.used_flags(1);  // NO_NOTIFY
  plain.d(0, 16, kWrite);
  plain.publish(0);
  EXPECT_EQ(plain.other(), Set{});

  Bench idx(/*event_idx=*/true);
  ASSERT_EQ(idx.start(), Set{});
  idx.avail_event(3);  // tell me at entry 3
  for (std::uint16_t h = 0; h < 3; ++h) {
    idx.d(h, 16, kWrite);
    idx.publish(h);
    EXPECT_EQ(idx.other(), Set{}) << h;
  }
  idx.d(3, 16, kWrite);
  idx.publish(3);
  EXPECT_EQ(idx.kick(), Set{});
}

TEST(VirtqueueMonitor, NothingIsOwedBeforeDriverOkOrWhenNotOwed) {
  Bench b;
  (void)b.mon.start(0, b.cfg, b.mem);
  b.d(0, 16, kWrite);
  b.publish(0);
  EXPECT_EQ(Bench::rules(b.mon.observe(b.mem, std::nullopt, true)), Set{});  // DRIVER_OK not written yet
  b.mon.driver_status(0x0F);
  b.d(1, 16, kWrite);
  b.publish(1);
  EXPECT_EQ(Bench::rules(b.mon.observe(b.mem, std::nullopt, false)), Set{});  // e.g. NEEDS_RESET shown
}

// ---- each rule, alone ------------------------------------------------------------------

TEST(VirtqueueMonitor, ReadableAfterWritableIsRing004) {
  Bench b;
  b.start();
  b.d(0, 16, kWrite | kNext, 1);
  b.d(1, 16, 0);
  b.publish(0);
  EXPECT_EQ(b.kick(), Set{"VIRTIO-RING-004"});
}

TEST(VirtqueueMonitor, ReadableAfterWritableAcrossAnIndirectTableIsRing004) {
  Bench b;
  b.start();
  b.d(0, 16, kWrite | kNext, 1);
  b.desc(b.ring.desc(), 1, kTable, 16, kIndirectF);
  b.desc(kTable, 0, kData, 8, 0);
  b.publish(0);
  EXPECT_EQ(b.kick(), Set{"VIRTIO-RING-004"});
}

TEST(VirtqueueMonitor, LoopsAndChainsAbove4GiBAreRing009) {
  Bench loop;
  loop.start();
  loop.d(0, 16, kWrite | kNext, 1);
  loop.d(1, 16, kWrite | kNext, 0);
  loop.publish(0);
  EXPECT_EQ(loop.kick(), Set{"VIRTIO-RING-009"});

  Bench table_loop;
  table_loop.start();
  table_loop.desc(table_loop.ring.desc(), 0, kTable, 32, kIndirectF);
  table_loop.desc(kTable, 0, kData, 8, kWrite | kNext, 1);
  table_loop.desc(kTable, 1, kData, 8, kWrite | kNext, 0);
  table_loop.publish(0);
  EXPECT_EQ(table_loop.kick(), Set{"VIRTIO-RING-009"});

  Bench big;
  big.start();
  big.d(0, 0xFFFFFFFF, kWrite | kNext, 1);
  big.d(1, 2, kWrite);
  big.publish(0);
  EXPECT_EQ(big.kick(), Set{"VIRTIO-RING-009"});

  Bench exact;  // 2^32 bytes in all is the limit, not past it
  exact.start();
  exact.d(0, 0xFFFFFFFF, kWrite | kNext, 1);
  exact.d(1, 1, kWrite);
  exact.publish(0);
  EXPECT_EQ(exact.kick(), Set{});
}

TEST(VirtqueueMonitor, IndirectWithoutTheFeatureIsRing011) {
  Bench b(false, /*indirect=*/false);
  b.start();
  b.desc(b.ring.desc(), 0, kTable, 16, kIndirectF);
  b.desc(kTable, 0, kData, 8, kWrite);
  b.publish(0);
  EXPECT_EQ(b.kick(), Set{"VIRTIO-RING-011"});
}

TEST(VirtqueueMonitor, IndirectInsideATableIsRing012) {
  Bench b;
  b.start();
  b.desc(b.ring.desc(), 0, kTable, 32, kIndirectF);
  b.desc(kTable, 0, kData, 8, kWrite | kNext, 1);
  b.desc(kTable, 1, kTable + 0x100, 16, kIndirectF);
  b.publish(0);
  EXPECT_EQ(b.kick(), Set{"VIRTIO-RING-012"});
}

TEST(VirtqueueMonitor, ChainsLongerThanTheQueueAreRing013) {
  Bench b;
  b.start();
  b.desc(b.ring.desc(), 0, kTable, 16 * (kSize + 1), kIndirectF);
  for (std::uint16_t i = 0; i <= kSize; ++i) {
    b.desc(kTable, i, kData, 8, static_cast<std::uint16_t>(kWrite | (i < kSize ? kNext : 0)),
           static_cast<std::uint16_t>(i + 1));
  }
  b.publish(0);
  EXPECT_EQ(b.kick(), Set{"VIRTIO-RING-013"});

  Bench fits;  // exactly the queue size is fine
  fits.start();
  fits.desc(fits.ring.desc(), 0, kTable, 16 * kSize, kIndirectF);
  for (std::uint16_t i = 0; i < kSize; ++i) {
    fits.desc(kTable, i, kData, 8, static_cast<std::uint16_t>(kWrite | (i + 1U < kSize ? kNext : 0)),
              static_cast<std::uint16_t>(i + 1));
  }
  fits.publish(0);
  EXPECT_EQ(fits.kick(), Set{});
}

TEST(VirtqueueMonitor, IndirectWithNextIsRing014) {
  Bench b;
  b.start();
  b.desc(b.ring.desc(), 0, kTable, 16, kIndirectF | kNext, 1);
  b.desc(kTable, 0, kData, 8, kWrite);
  b.publish(0);
  EXPECT_EQ(b.kick(), Set{"VIRTIO-RING-014"});
}

TEST(VirtqueueMonitor, AvailIdxGoingBackIsRing018) {
  Bench b;
  b.start();
  for (std::uint16_t h = 0; h < 3; ++h) {
    b.d(h, 8, kWrite);
    b.publish(h);
  }
  EXPECT_EQ(b.kick(), Set{});
  b.ring.set_avail_idx(1);
  EXPECT_EQ(b.other(), Set{"VIRTIO-RING-018"});
  EXPECT_EQ(b.other(), Set{});  // reported once
}

TEST(VirtqueueMonitor, AvailFlagsAreRing019And021) {
  Bench plain;
  plain.start();
  plain.ring.set_avail_flags(1);  // NO_INTERRUPT: fine without EVENT_IDX
  EXPECT_EQ(plain.other(), Set{});
  plain.ring.set_avail_flags(2);
  EXPECT_EQ(plain.other(), Set{"VIRTIO-RING-019"});
  EXPECT_EQ(plain.other(), Set{});  // the same value is reported once

  Bench idx(/*event_idx=*/true);
  idx.start();
  idx.ring.set_avail_flags(1);
  EXPECT_EQ(idx.other(), Set{"VIRTIO-RING-021"});
}

TEST(VirtqueueMonitor, UsedFlagsNotZeroAtSetupIsRing034) {
  Bench b;
  b.used_flags(1);
  EXPECT_EQ(b.start(), Set{"VIRTIO-RING-034"});
}

TEST(VirtqueueMonitor, NotificationRulesWithoutEventIdx) {
  Bench missed;  // RING-037
  missed.start();
  missed.d(0, 8, kWrite);
  missed.publish(0);
  EXPECT_EQ(missed.other(), Set{"VIRTIO-RING-037"});

  Bench heeded;  // RING-037, and avail_event would have excused it: RING-035
  heeded.start();
  heeded.avail_event(5);
  heeded.d(0, 8, kWrite);
  heeded.publish(0);
  EXPECT_EQ(heeded.other(), (Set{"VIRTIO-RING-035", "VIRTIO-RING-037"}));

  Bench needless;  // RING-036 (SHOULD NOT)
  needless.start();
  needless.used_flags(1);
  needless.d(0, 8, kWrite);
  needless.publish(0);
  EXPECT_EQ(needless.kick(), Set{"VIRTIO-RING-036"});
}

TEST(VirtqueueMonitor, NotificationRulesWithEventIdx) {
  Bench missed(true);  // RING-039
  missed.start();
  missed.avail_event(0);
  missed.d(0, 8, kWrite);
  missed.publish(0);
  EXPECT_EQ(missed.other(), Set{"VIRTIO-RING-039"});

  Bench flag(true);  // RING-039, and NO_NOTIFY would explain it: RING-038
  flag.start();
  flag.used_flags(1);
  flag.d(0, 8, kWrite);
  flag.publish(0);
  EXPECT_EQ(flag.other(), (Set{"VIRTIO-RING-038", "VIRTIO-RING-039"}));

  Bench flag_ignored(true);  // the flag disregarded: notified as avail_event asks
  flag_ignored.start();
  flag_ignored.used_flags(1);
  flag_ignored.d(0, 8, kWrite);
  flag_ignored.publish(0);
  EXPECT_EQ(flag_ignored.kick(), Set{});

  Bench needless(true);  // RING-040 (SHOULD NOT)
  needless.start();
  needless.avail_event(5);
  needless.d(0, 8, kWrite);
  needless.publish(0);
  EXPECT_EQ(needless.kick(), Set{"VIRTIO-RING-040"});
}

TEST(VirtqueueMonitor, NotificationBeforeDriverOkIsCore033) {
  Bench b;
  (void)b.mon.start(0, b.cfg, b.mem);
  b.mon.driver_status(0x0B);
  EXPECT_EQ(Bench::rules(b.mon.observe(b.mem, 0, false)), Set{"VIRTIO-CORE-033"});
  b.mon.driver_status(0x0F);
  EXPECT_EQ(Bench::rules(b.mon.observe(b.mem, 0, false)), Set{});
  b.mon.driver_status(0);  // a reset: DRIVER_OK must come again
  EXPECT_EQ(Bench::rules(b.mon.observe(b.mem, 0, false)), Set{"VIRTIO-CORE-033"});
  // even for a queue that is not live
  b.mon.clear();
  EXPECT_EQ(Bench::rules(b.mon.observe(b.mem, 3, false)), Set{"VIRTIO-CORE-033"});
}

TEST(VirtqueueMonitor, ChangingAChainTheDeviceHoldsIsCore034) {
  Bench b;
  b.start();
  b.used_flags(1);  // the device polls: no notification owed
  b.d(0, 8, kWrite | kNext, 1);
  b.d(1, 8, kWrite);
  b.publish(0);
  EXPECT_EQ(b.other(), Set{});
  b.d(1, 4096, kWrite);  // altered while exposed
  EXPECT_EQ(b.other(), Set{"VIRTIO-CORE-034"});
  EXPECT_EQ(b.other(), Set{});  // once per change
  b.use(0);
  b.d(1, 16, kWrite);  // the driver's again: fine
  EXPECT_EQ(b.other(), Set{});
}

TEST(VirtqueueMonitor, ChangingAnIndirectTableTheDeviceHoldsIsCore034) {
  Bench b;
  b.start();
  b.used_flags(1);
  b.desc(b.ring.desc(), 0, kTable, 16, kIndirectF);
  b.desc(kTable, 0, kData, 8, kWrite);
  b.publish(0);
  EXPECT_EQ(b.other(), Set{});
  b.desc(kTable, 0, kData + 0x40, 8, kWrite);
  EXPECT_EQ(b.other(), Set{"VIRTIO-CORE-034"});
}

TEST(VirtqueueMonitor, ReadableBuffersOnTheEntropyQueueAreRng001) {
  Bench b(false, true, /*writable_only=*/true);
  b.start();
  b.d(0, 8, kWrite);
  b.publish(0);
  EXPECT_EQ(b.kick(), Set{});
  b.use(0);
  b.d(1, 8, 0);
  b.publish(1);
  EXPECT_EQ(b.kick(), Set{"VIRTIO-RNG-001"});
}

TEST(VirtqueueMonitor, StoppedAndClearedQueuesAreNotWatched) {
  Bench b;
  b.start();
  EXPECT_EQ(b.mon.live(), 1u);
  b.mon.stop(0);
  b.d(0, 8, 0 | kNext, 0);  // a loop, on a queue that is no longer live
  b.publish(0);
  EXPECT_EQ(b.other(), Set{});
  b.start();
  b.mon.clear();
  EXPECT_EQ(b.mon.live(), 0u);
}

TEST(VirtqueueMonitor, ACopyRestoresTheModel) {
  Bench b;
  b.start();
  b.d(0, 8, kWrite);
  b.publish(0);
  const VirtqueueMonitor saved = b.mon;
  EXPECT_EQ(b.other(), Set{"VIRTIO-RING-037"});
  EXPECT_EQ(b.other(), Set{});  // judged already
  b.mon = saved;
  EXPECT_EQ(b.other(), Set{"VIRTIO-RING-037"});  // as before the message
}

TEST(VirtqueueMonitor, UnreadableMemoryEndsTheWalkQuietly) {
  Bench b;
  b.start();
  b.desc(b.ring.desc(), 0, 0xFFFF'FFFF'FFFF'FFF0ULL, 0x100, kIndirectF);  // the table is outside RAM
  b.publish(0);
  EXPECT_EQ(b.kick(), Set{});
  MonitoredQueue nowhere = b.cfg;
  nowhere.driver_addr = 0x100000;  // outside RAM: nothing to read
  (void)b.mon.start(1, nowhere, b.mem);
  EXPECT_EQ(b.other(), Set{});
}

// ---- wired into the validating endpoint ----------------------------------------------------

std::set<std::string> logged(const Rig& r) {
  const auto ids = r.log->rules();
  return {ids.begin(), ids.end()};
}

TEST(ValidatingEndpointRings, SetVqueueMakesTheQueueLiveForTheMonitor) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.mem.store16(ring.used(), 1);  // used flags left over
  r.bring_up(ring);
  EXPECT_EQ(logged(r), Set{"VIRTIO-RING-034"}) << r.dump();
}

TEST(ValidatingEndpointRings, EventAvailWalksTheNewChainsBeforeTheDeviceSeesThem) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring);
  const std::uint64_t d = ring.desc();
  r.mem.store64(d, 0x2000);
  r.mem.store32(d + 8, 8);
  r.mem.store16(d + 12, kWrite | kNext);
  r.mem.store16(d + 14, 1);
  r.mem.store64(d + 16, 0x2100);
  r.mem.store32(d + 24, 8);
  r.mem.store16(d + 28, 0);
  ring.publish(0);
  (void)r.kick(0);
  EXPECT_EQ(logged(r), Set{"VIRTIO-RING-004"}) << r.dump();
}

/// Passes everything to the device and saves nothing of it: enough to show
/// the validator's own model (the monitor in it) comes back on restore.
class StatelessShell final : public bus::Endpoint {
 public:
  explicit StatelessShell(std::shared_ptr<bus::Endpoint> inner) : inner_(std::move(inner)) {}
  void attach(std::uint16_t dev_num, bus::Outbox& out) override { inner_->attach(dev_num, out); }
  void attach_memory(pci::DmaSpace& memory) override { inner_->attach_memory(memory); }
  void receive(const wire::Message& m) override { inner_->receive(m); }
  [[nodiscard]] snapshot::Handle save_state() const override { return snapshot::make(this, 0); }
  void restore_state(const snapshot::Handle& state) override { (void)snapshot::get<int>(state, this, "shell"); }

 private:
  std::shared_ptr<bus::Endpoint> inner_;
};

TEST(ValidatingEndpointRings, TheMonitorIsSavedAndRestoredWithTheValidator) {
  Rig r(/*validate=*/false);
  r.validator = std::make_shared<ValidatingEndpoint>(std::make_shared<StatelessShell>(r.device), r.log);
  r.ep = r.validator.get();
  r.ep->attach_memory(r.mem);
  r.ep->attach(Rig::kDev, r.out);
  TestRing ring = ring8(r.mem);
  r.bring_up(ring);
  ring.add_buffer(0x2000, 8, true);  // published, not announced yet
  const snapshot::Handle saved = r.validator->save_state();
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  EXPECT_EQ(logged(r), Set{"VIRTIO-RING-037"}) << r.dump();
  r.log->clear();
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  r.expect_clean();  // judged once
  r.validator->restore_state(saved);
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  EXPECT_EQ(logged(r), Set{"VIRTIO-RING-037"}) << r.dump();  // as it stood before
}

TEST(ValidatingEndpointRings, AResetQueueIsNoLongerWatched) {
  Rig r;
  TestRing ring = ring8(r.mem);
  r.bring_up(ring, kVersion1 | kRingReset);
  (void)r.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{0});
  ring.add_buffer(0x2000, 8, true);  // no queue to owe a notification for
  (void)r.ask<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  r.expect_clean();
  (void)r.status(0);  // a device reset: DRIVER_OK is owed again
  (void)r.kick(0);
  EXPECT_TRUE(logged(r).count("VIRTIO-CORE-033") == 1) << r.dump();
}

}  // namespace
}  // namespace vmsg::transport::test

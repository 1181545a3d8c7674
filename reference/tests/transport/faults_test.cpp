// DeviceTransport fault modes (TransportOptions::faults): each scenario with
// the fault off (conforming) and on.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "transport/transport_test_support.hpp"
#include "vmsg/common/faults.hpp"

namespace vmsg::transport::test {
namespace {

using fault::Fault;
using fault::FaultSet;

TransportOptions with(Fault f) {
  TransportOptions o;
  o.faults.set(f);
  return o;
}

/// Sends a request and returns every message it caused (no checks).
std::vector<wire::Message> exchange(Harness& h, wire::Body body, std::uint16_t token = 0x77) {
  h.t.receive(wire::Message{.dev_num = Harness::kDevNum, .token = token, .reserved_type_bits = 0, .body = std::move(body)});
  return h.out.take();
}

wire::SetConfigResp set_config(Harness& h, std::uint32_t generation, std::vector<std::uint8_t> data) {
  return h.ask<wire::SetConfigResp>(wire::SetConfigReq{.generation = generation, .offset = 8, .data = std::move(data)});
}

std::vector<std::uint8_t> config_bytes(Harness& h, std::uint32_t offset, std::uint32_t length) {
  return h.ask<wire::GetConfigResp>(wire::GetConfigReq{.offset = offset, .length = length}).data;
}

// ---- no-get-shm-response -------------------------------------------------------

TEST(TransportFaults, NoGetShmResponseOffAnswersLengthZero) {
  Harness h;
  auto r = h.ask<wire::GetShmResp>(wire::GetShmReq{0});
  EXPECT_EQ(r.length, 0u);
}

TEST(TransportFaults, NoGetShmResponseOnDropsIt) {
  Harness h(with(Fault::NoGetShmResponse));
  EXPECT_TRUE(exchange(h, wire::GetShmReq{0}).empty());
  EXPECT_EQ(exchange(h, wire::GetDeviceStatusReq{}).size(), 1u);  // others still answered
}

// ---- duplicate-response --------------------------------------------------------

TEST(TransportFaults, DuplicateResponseOffAnswersOnce) {
  Harness h;
  EXPECT_EQ(exchange(h, wire::GetDeviceStatusReq{}).size(), 1u);
}

TEST(TransportFaults, DuplicateResponseOnAnswersTwice) {
  Harness h(with(Fault::DuplicateResponse));
  auto msgs = exchange(h, wire::GetDeviceInfoReq{});
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0], msgs[1]);
  EXPECT_TRUE(std::holds_alternative<wire::GetDeviceInfoResp>(msgs[0].body));
}

// ---- generation-not-bumped -----------------------------------------------------

TEST(TransportFaults, GenerationNotBumpedOffBumpsOnEveryChange) {
  Harness h;
  const std::uint32_t g = h.config_generation();
  EXPECT_EQ(set_config(h, g, {1, 2, 3, 4}).generation, g + 1);
  h.backend.ctx->config_changed(8, 4);
  auto ev = h.out.take();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(std::get<wire::EventConfig>(ev[0].body).generation, g + 2);
  EXPECT_EQ(h.config_generation(), g + 2);
}

TEST(TransportFaults, GenerationNotBumpedOnKeepsTheOldCount) {
  Harness h(with(Fault::GenerationNotBumped));
  const std::uint32_t g = h.config_generation();
  auto r = set_config(h, g, {1, 2, 3, 4});
  EXPECT_EQ(r.length, 4u);
  EXPECT_EQ(r.generation, g);
  EXPECT_EQ(config_bytes(h, 8, 4), (std::vector<std::uint8_t>{1, 2, 3, 4}));
  h.backend.ctx->config_changed(8, 4);
  auto ev = h.out.take();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(std::get<wire::EventConfig>(ev[0].body).generation, g);
  EXPECT_EQ(h.config_generation(), g);
}

// ---- no-config-event -----------------------------------------------------------

TEST(TransportFaults, NoConfigEventOffAnnouncesDeviceChanges) {
  Harness h;
  h.backend.config[9] = 0xEE;
  h.backend.ctx->config_changed(9, 1);
  auto ev = h.out.take();
  ASSERT_EQ(ev.size(), 1u);
  const auto& e = std::get<wire::EventConfig>(ev[0].body);
  EXPECT_EQ(e.offset, 9u);
  EXPECT_EQ(e.data, std::vector<std::uint8_t>{0xEE});
}

TEST(TransportFaults, NoConfigEventOnStaysSilent) {
  Harness h(with(Fault::NoConfigEvent));
  const std::uint32_t g = h.config_generation();
  h.backend.ctx->config_changed(9, 1);
  EXPECT_TRUE(h.out.take().empty());
  EXPECT_EQ(h.config_generation(), g + 1);  // only the event is missing
}

// ---- set-config-ignores-generation ---------------------------------------------

TEST(TransportFaults, SetConfigIgnoresGenerationOffRejectsStale) {
  Harness h;
  const std::uint32_t g = h.config_generation();
  const auto before = config_bytes(h, 8, 4);
  auto r = set_config(h, g + 5, {9, 9, 9, 9});
  EXPECT_EQ(r.length, 0u);
  EXPECT_EQ(r.generation, g);
  EXPECT_EQ(config_bytes(h, 8, 4), before);
}

TEST(TransportFaults, SetConfigIgnoresGenerationOnAppliesStale) {
  Harness h(with(Fault::SetConfigIgnoresGeneration));
  const std::uint32_t g = h.config_generation();
  auto r = set_config(h, g + 5, {9, 9, 9, 9});
  EXPECT_EQ(r.length, 4u);
  EXPECT_EQ(config_bytes(h, 8, 4), (std::vector<std::uint8_t>{9, 9, 9, 9}));
}

// ---- status-high-bits-kept -----------------------------------------------------

TEST(TransportFaults, StatusHighBitsKeptOffMasksThem) {
  Harness h;
  EXPECT_EQ(h.set_status(0x0101), st::kAcknowledge);
  EXPECT_EQ(h.get_status(), st::kAcknowledge);
  EXPECT_EQ(h.set_status(0xFF00), 0u);  // only undefined bits: a reset
}

TEST(TransportFaults, StatusHighBitsKeptOnReportsThem) {
  Harness h(with(Fault::StatusHighBitsKept));
  EXPECT_EQ(h.set_status(0x0101), 0x0101u);
  EXPECT_EQ(h.get_status(), 0x0101u);
  EXPECT_EQ(h.set_status(0xFF00), 0xFF00u);
}

// ---- reset-keeps-queues --------------------------------------------------------

TEST(TransportFaults, ResetKeepsQueuesOffClearsThem) {
  Harness h;
  TestRing ring(h.mem, 0x1000, 8);
  h.negotiate();
  h.set_vqueue(ring.set_vqueue(0));
  ASSERT_EQ(h.get_vqueue(0).cur_size, 8u);
  EXPECT_EQ(h.set_status(0), 0u);
  const auto q = h.get_vqueue(0);
  EXPECT_EQ(q.cur_size, 0u);
  EXPECT_EQ(q.desc_addr, 0u);
  EXPECT_EQ(h.t.configured_queue(0), nullptr);
}

TEST(TransportFaults, ResetKeepsQueuesOnLeavesThemConfigured) {
  Harness h(with(Fault::ResetKeepsQueues));
  TestRing ring(h.mem, 0x1000, 8);
  h.negotiate();
  h.set_vqueue(ring.set_vqueue(0));
  EXPECT_EQ(h.set_status(0), 0u);
  const auto q = h.get_vqueue(0);
  EXPECT_EQ(q.cur_size, 8u);
  EXPECT_EQ(q.desc_addr, ring.desc());
  EXPECT_EQ(q.device_addr, ring.used());
}

// ---- used-ignores-suppression --------------------------------------------------

std::vector<wire::Message> use_with_no_interrupt(Harness& h, TestRing& ring) {
  h.bring_up(ring);
  ring.set_avail_flags(1);  // VIRTQ_AVAIL_F_NO_INTERRUPT
  ring.add_buffer(Harness::kBufAddr, 16, true);
  auto msgs = h.kick(0);
  EXPECT_EQ(ring.used_idx(), 1u);  // the buffer was used either way
  return msgs;
}

TEST(TransportFaults, UsedIgnoresSuppressionOffHonoursNoInterrupt) {
  Harness h;
  TestRing ring(h.mem, 0x1000, 8);
  EXPECT_TRUE(use_with_no_interrupt(h, ring).empty());
}

TEST(TransportFaults, UsedIgnoresSuppressionOnSendsEventUsed) {
  Harness h(with(Fault::UsedIgnoresSuppression));
  TestRing ring(h.mem, 0x1000, 8);
  EXPECT_EQ(use_with_no_interrupt(h, ring), std::vector<wire::Message>{event(wire::EventUsed{0})});
}

TEST(TransportFaults, UsedIgnoresSuppressionOnIgnoresUsedEvent) {
  for (bool on : {false, true}) {
    Harness h(on ? with(Fault::UsedIgnoresSuppression) : TransportOptions{});
    TestRing ring(h.mem, 0x1000, 8);
    h.bring_up(ring, kVersion1 | kEventIdx);
    ring.set_used_event(5);  // "tell me when used.idx passes 5"
    ring.add_buffer(Harness::kBufAddr, 16, true);
    EXPECT_EQ(h.kick(0).size(), on ? 1u : 0u) << "fault " << on;
  }
}

// ---- no-interrupt-ignored ------------------------------------------------------

TEST(TransportFaults, NoInterruptIgnoredOnSendsEventUsed) {
  Harness h(with(Fault::NoInterruptIgnored));
  TestRing ring(h.mem, 0x1000, 8);
  EXPECT_EQ(use_with_no_interrupt(h, ring), std::vector<wire::Message>{event(wire::EventUsed{0})});
}

TEST(TransportFaults, NoInterruptIgnoredOnStillHonoursUsedEvent) {
  // Unlike used-ignores-suppression: with EVENT_IDX the flags are not the mechanism.
  Harness h(with(Fault::NoInterruptIgnored));
  TestRing ring(h.mem, 0x1000, 8);
  h.bring_up(ring, kVersion1 | kEventIdx);
  ring.set_used_event(5);
  ring.add_buffer(Harness::kBufAddr, 16, true);
  EXPECT_TRUE(h.kick(0).empty());
}

// ---- event-used-wrong-queue ----------------------------------------------------

TEST(TransportFaults, EventUsedWrongQueueNamesTheNextQueue) {
  for (bool on : {false, true}) {
    Harness h(on ? with(Fault::EventUsedWrongQueue) : TransportOptions{});
    ASSERT_EQ(h.backend.num_queues(), 2u);
    TestRing ring(h.mem, 0x1000, 8);
    h.bring_up(ring);
    ring.add_buffer(Harness::kBufAddr, 16, true);
    EXPECT_EQ(h.kick(0), std::vector<wire::Message>{event(wire::EventUsed{on ? 1u : 0u})}) << "fault " << on;
  }
}

// ---- cur-size-reports-max ------------------------------------------------------

/// GET_VQUEUE of queue 1 (max 16) never set, after SET_VQUEUE + RESET_VQUEUE,
/// and after SET_VQUEUE + device reset; the three cur_size values seen.
std::vector<std::uint32_t> unconfigured_cur_sizes(Harness& h) {
  std::vector<std::uint32_t> seen;
  TestRing ring(h.mem, 0x1000, 16);
  h.negotiate();
  const auto never = h.get_vqueue(1);
  EXPECT_EQ(never.max_size, 16u);
  EXPECT_EQ(never.desc_addr, 0u);
  EXPECT_EQ(never.driver_addr, 0u);
  EXPECT_EQ(never.device_addr, 0u);
  seen.push_back(never.cur_size);
  h.set_vqueue(ring.set_vqueue(1));
  const auto set = h.get_vqueue(1);
  EXPECT_EQ(set.cur_size, 16u);  // SET_VQUEUE works either way
  EXPECT_EQ(set.desc_addr, ring.desc());
  (void)h.ask<wire::ResetVqueueResp>(wire::ResetVqueueReq{1});
  seen.push_back(h.get_vqueue(1).cur_size);
  h.set_vqueue(ring.set_vqueue(1));
  EXPECT_EQ(h.set_status(0), 0u);
  const auto reset = h.get_vqueue(1);
  EXPECT_EQ(reset.desc_addr, 0u);
  seen.push_back(reset.cur_size);
  EXPECT_EQ(h.get_vqueue(7).cur_size, 0u);  // no such queue: all 0 (G10) either way
  return seen;
}

TEST(TransportFaults, CurSizeReportsMaxOffReportsZeroForUnconfiguredQueues) {
  Harness h;
  EXPECT_EQ(unconfigured_cur_sizes(h), (std::vector<std::uint32_t>{0, 0, 0}));
}

TEST(TransportFaults, CurSizeReportsMaxOnReportsTheMaximum) {
  Harness h(with(Fault::CurSizeReportsMax));
  EXPECT_EQ(unconfigured_cur_sizes(h), (std::vector<std::uint32_t>{16, 16, 16}));
  EXPECT_EQ(h.t.configured_queue(1), nullptr);  // only the report is wrong
}

// ---- accept-unoffered-features -------------------------------------------------

/// Acknowledges VERSION_1 plus `extra` (blocks 0..2) and asks for FEATURES_OK;
/// returns the resulting status.
std::uint32_t ack_with(Harness& h, std::uint64_t extra, std::uint32_t block2 = 0) {
  EXPECT_EQ(h.set_status(st::kAcknowledge | st::kDriver), st::kAcknowledge | st::kDriver);
  const std::uint64_t f = kVersion1 | extra;
  (void)h.ask<wire::SetDriverFeaturesResp>(wire::SetDriverFeaturesReq{
      .block_index = 0, .features = {static_cast<std::uint32_t>(f), static_cast<std::uint32_t>(f >> 32), block2}});
  return h.set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk);
}

TEST(TransportFaults, AcceptUnofferedFeaturesOffRefusesFeaturesOk) {
  for (const auto& [extra, block2] : {std::pair<std::uint64_t, std::uint32_t>{bit(1), 0}, {bit(34), 0}, {0, 1}}) {
    Harness h;
    EXPECT_EQ(ack_with(h, extra | bit(0), block2), st::kAcknowledge | st::kDriver) << extra << " " << block2;
    EXPECT_FALSE(h.t.features_accepted());
  }
}

TEST(TransportFaults, AcceptUnofferedFeaturesOnNegotiatesTheOfferedPart) {
  for (const auto& [extra, block2] : {std::pair<std::uint64_t, std::uint32_t>{bit(1), 0}, {bit(34), 0}, {0, 1}}) {
    Harness h(with(Fault::AcceptUnofferedFeatures));
    EXPECT_EQ(ack_with(h, extra | bit(0), block2), st::kAcknowledge | st::kDriver | st::kFeaturesOk)
        << extra << " " << block2;
    EXPECT_TRUE(h.t.features_accepted());
    EXPECT_EQ(h.t.driver_features(), kVersion1 | bit(0));  // the unoffered bits were dropped silently
    ASSERT_FALSE(h.backend.accept_calls.empty());
    EXPECT_EQ(h.backend.accept_calls.back(), kVersion1 | bit(0));
  }
  // VERSION_1 is still required, and the backend may still refuse.
  Harness h(with(Fault::AcceptUnofferedFeatures));
  ASSERT_EQ(h.set_status(st::kAcknowledge | st::kDriver), st::kAcknowledge | st::kDriver);
  h.set_features(bit(0));
  EXPECT_EQ(h.set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk), st::kAcknowledge | st::kDriver);
}

// ---- config-out-of-range-ff ----------------------------------------------------

TEST(TransportFaults, ConfigOutOfRangeFfOffAnswersLengthZero) {
  Harness h;  // 64 config bytes
  const std::uint32_t g = h.config_generation();
  EXPECT_TRUE(config_bytes(h, 60, 8).empty());
  EXPECT_TRUE(config_bytes(h, 64, 4).empty());
  auto w = h.ask<wire::SetConfigResp>(wire::SetConfigReq{.generation = g, .offset = 60, .data = {1, 2, 3, 4, 5, 6}});
  EXPECT_EQ(w.length, 0u);
  EXPECT_EQ(config_bytes(h, 60, 4), (std::vector<std::uint8_t>{0x4C, 0x4D, 0x4E, 0x4F}));  // untouched
  EXPECT_EQ(h.config_generation(), g);
}

TEST(TransportFaults, ConfigOutOfRangeFfOnReadsFfPastTheEnd) {
  Harness h(with(Fault::ConfigOutOfRangeFf));
  EXPECT_EQ(config_bytes(h, 60, 8), (std::vector<std::uint8_t>{0x4C, 0x4D, 0x4E, 0x4F, 0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(config_bytes(h, 100, 3), (std::vector<std::uint8_t>{0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(config_bytes(h, 8, 4), (std::vector<std::uint8_t>{0x18, 0x19, 0x1A, 0x1B}));  // in range: unchanged
  EXPECT_TRUE(config_bytes(h, 60, 45).empty());  // a response over the bus maximum is still refused (G2)
}

TEST(TransportFaults, ConfigOutOfRangeFfOnWritesTheBytesInsideAndClaimsAll) {
  Harness h(with(Fault::ConfigOutOfRangeFf));
  const std::uint32_t g = h.config_generation();
  auto w = h.ask<wire::SetConfigResp>(wire::SetConfigReq{.generation = g, .offset = 60, .data = {1, 2, 3, 4, 5, 6}});
  EXPECT_EQ(w.length, 6u);
  EXPECT_EQ(w.data, (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(w.generation, g + 1);
  EXPECT_EQ(config_bytes(h, 60, 4), (std::vector<std::uint8_t>{1, 2, 3, 4}));
  // Wholly outside: nothing written, the generation stays, the length is echoed.
  auto out = h.ask<wire::SetConfigResp>(wire::SetConfigReq{.generation = g + 1, .offset = 64, .data = {9, 9}});
  EXPECT_EQ(out.length, 2u);
  EXPECT_EQ(out.generation, g + 1);
  // A stale generation is still refused.
  EXPECT_EQ(h.ask<wire::SetConfigResp>(wire::SetConfigReq{.generation = g, .offset = 60, .data = {7}}).length, 0u);
  EXPECT_EQ(config_bytes(h, 60, 1), std::vector<std::uint8_t>{1});
}

// ---- max-message-48 (the transport's part: feature clipping) -----------------------

TEST(TransportFaults, MaxMessage48OffReturnsTwelveFeatureBlocks) {
  Harness h;
  auto r = h.ask<wire::GetDeviceFeaturesResp>(wire::GetDeviceFeaturesReq{.block_index = 0, .num_blocks = 20});
  EXPECT_EQ(r.features.size(), 12u);  // 16 + 48 = 64, the bus maximum (G3)
}

TEST(TransportFaults, MaxMessage48OnClipsFeaturesToEightBlocks) {
  Harness h(with(Fault::MaxMessage48));
  auto r = h.ask<wire::GetDeviceFeaturesResp>(wire::GetDeviceFeaturesReq{.block_index = 0, .num_blocks = 12});
  ASSERT_EQ(r.features.size(), 8u);  // QEMU's 48-byte message (D20)
  EXPECT_EQ(r.features[0], static_cast<std::uint32_t>(h.t.offered_features()));
  EXPECT_EQ(r.features[1], static_cast<std::uint32_t>(h.t.offered_features() >> 32));
  EXPECT_EQ(h.ask<wire::GetDeviceFeaturesResp>(wire::GetDeviceFeaturesReq{.block_index = 1, .num_blocks = 3})
                .features.size(),
            3u);
}

// ---- asan-reset-vqueue-overflow -------------------------------------------------

TEST(TransportFaults, AsanResetVqueueOverflowOffAnswersEveryIndex) {
  Harness h;
  for (const std::uint32_t index : {1U, 1024U, 0xFFFF'FFFFU}) {
    EXPECT_EQ(exchange(h, wire::ResetVqueueReq{index}).size(), 1u) << index;
  }
  EXPECT_TRUE(h.mem.fatal_reports.empty());
}

TEST(TransportFaults, AsanResetVqueueOverflowOnDiesFromIndex1024) {
  Harness h(with(Fault::AsanResetVqueueOverflow));
  // Past the device's queues but inside QEMU's array of 1024: answered.
  EXPECT_EQ(exchange(h, wire::ResetVqueueReq{1023}).size(), 1u);
  EXPECT_TRUE(h.mem.fatal_reports.empty());
  EXPECT_TRUE(exchange(h, wire::ResetVqueueReq{1024}).empty());  // died in the middle of it
  ASSERT_EQ(h.mem.fatal_reports.size(), 1u);
  const std::string& r = h.mem.fatal_reports[0];
  EXPECT_NE(r.find("RESET_VQUEUE index 1024"), std::string::npos) << r;  // says it is an imitation, and of what
  EXPECT_NE(r.find("==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x"), std::string::npos) << r;
  EXPECT_NE(r.find("    #0 0x5581a2c3d4e4 in __virtio_queue_reset ../hw/virtio/virtio.c:2059\n"), std::string::npos);
  EXPECT_NE(r.find("is located 0 bytes after 155648-byte region"), std::string::npos) << r;
  EXPECT_NE(r.find("\nSUMMARY: AddressSanitizer: heap-buffer-overflow ../hw/virtio/virtio.c:2059 in "
                   "__virtio_queue_reset\n"),
            std::string::npos)
      << r;
}

TEST(TransportFaults, AsanResetVqueueOverflowOnReportsTheLargestIndexToo) {
  Harness h(with(Fault::AsanResetVqueueOverflow));
  EXPECT_TRUE(exchange(h, wire::ResetVqueueReq{0xFFFF'FFFF}).empty());
  ASSERT_EQ(h.mem.fatal_reports.size(), 1u);
  EXPECT_NE(h.mem.fatal_reports[0].find("RESET_VQUEUE index 4294967295"), std::string::npos);
  Harness again(with(Fault::AsanResetVqueueOverflow));
  (void)exchange(again, wire::ResetVqueueReq{0xFFFF'FFFF});
  EXPECT_EQ(again.mem.fatal_reports, h.mem.fatal_reports);  // the same every run: crashes group by it
}

}  // namespace
}  // namespace vmsg::transport::test

// DeviceTransport: GET_CONFIG, SET_CONFIG, the generation count and
// EVENT_CONFIG. FakeBackend config: 64 bytes, byte i = 0x10 + i, [0, 8) read-only.
#include <gtest/gtest.h>

#include "transport_test_support.hpp"

namespace vmsg::transport::test {
namespace {

using wire::GetConfigReq;
using wire::GetConfigResp;
using wire::SetConfigReq;
using wire::SetConfigResp;

constexpr std::uint32_t kGen = 7;  // initial generation: the count need not start at 0

Bytes config_bytes(std::uint32_t offset, std::uint32_t length) {
  Bytes b(length);
  for (std::uint32_t i = 0; i < length; ++i) b[i] = static_cast<std::uint8_t>(0x10 + offset + i);
  return b;
}

TEST(DeviceTransportConfig, GetConfigReturnsBytesAndGeneration) {
  Harness h({.initial_generation = kGen});
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{4, 8}), (GetConfigResp{kGen, 4, config_bytes(4, 8)}));
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{60, 4}), (GetConfigResp{kGen, 60, config_bytes(60, 4)}));
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{64, 0}), (GetConfigResp{kGen, 64, {}}));
}

TEST(DeviceTransportConfig, GetConfigLargestThatFits) {
  Harness h({.initial_generation = kGen});
  // 20 + 44 = 64 fits; 20 + 45 does not (G2), although the range is valid.
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{0, 44}), (GetConfigResp{kGen, 0, config_bytes(0, 44)}));
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{0, 45}), (GetConfigResp{kGen, 0, {}}));
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{19, 45}), (GetConfigResp{kGen, 19, {}}));
  Harness big({.initial_generation = kGen, .max_msg_size = 128});
  EXPECT_EQ(big.ask<GetConfigResp>(GetConfigReq{0, 64}), (GetConfigResp{kGen, 0, config_bytes(0, 64)}));
}

TEST(DeviceTransportConfig, GetConfigOutOfRange) {
  Harness h({.initial_generation = kGen});  // G1: length 0, offset echoed
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{60, 5}), (GetConfigResp{kGen, 60, {}}));
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{65, 0}), (GetConfigResp{kGen, 65, {}}));
  // 32-bit sums would wrap to 1 and 0xFFFFFFFE, i.e. look in range.
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{0xFFFF'FFFF, 2}), (GetConfigResp{kGen, 0xFFFF'FFFF, {}}));
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{0xFFFF'FFFF, 0xFFFF'FFFF}), (GetConfigResp{kGen, 0xFFFF'FFFF, {}}));
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{2, 0xFFFF'FFFF}), (GetConfigResp{kGen, 2, {}}));
}

TEST(DeviceTransportConfig, NoConfigSpace) {
  auto b = std::make_unique<FakeBackend>();
  b->config.clear();
  b->ro_end = 0;
  Harness h({}, std::move(b));
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{0, 1}), (GetConfigResp{0, 0, {}}));
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{0, 0, {1}}), (SetConfigResp{0, 0, 0, {}}));
}

TEST(DeviceTransportConfig, SetConfigAppliesBumpsGenerationAndEchoes) {
  Harness h({.initial_generation = kGen});
  const Bytes data{0xAA, 0xBB, 0xCC};
  // VMSG-DEV-006: the response already shows the new generation.
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen, 8, data}), (SetConfigResp{kGen + 1, 8, 3, data}));
  EXPECT_EQ(Bytes(h.backend.config.begin() + 8, h.backend.config.begin() + 11), data);
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{8, 3}), (GetConfigResp{kGen + 1, 8, data}));
  EXPECT_EQ(h.t.generation(), kGen + 1);
  EXPECT_EQ(h.t.stats().event_config_sent, 0u);  // no EVENT_CONFIG for the driver's own write
  // The next write needs the new generation.
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen + 1, 63, {0x01}}), (SetConfigResp{kGen + 2, 63, 1, {0x01}}));
}

TEST(DeviceTransportConfig, SetConfigSameBytesKeepsGeneration) {
  Harness h({.initial_generation = kGen});
  const Bytes same = config_bytes(10, 4);
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen, 10, same}), (SetConfigResp{kGen, 10, 4, same}));
  EXPECT_EQ(h.t.generation(), kGen);
}

TEST(DeviceTransportConfig, SetConfigLargestMessageEchoes) {
  Harness h({.initial_generation = kGen});
  const Bytes data(44, 0x5A);  // 20 + 44 = 64
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen, 20, data}), (SetConfigResp{kGen + 1, 20, 44, data}));
}

TEST(DeviceTransportConfig, SetConfigStaleGenerationRejected) {
  Harness h({.initial_generation = kGen});  // VMSG-DEV-010/025/051
  const Bytes before = h.backend.config;
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen - 1, 8, {1, 2}}), (SetConfigResp{kGen, 8, 0, {}}));
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen + 1, 8, {1, 2}}), (SetConfigResp{kGen, 8, 0, {}}));
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{0, 8, {1, 2}}), (SetConfigResp{kGen, 8, 0, {}}));
  EXPECT_EQ(h.backend.config, before);
  EXPECT_EQ(h.t.generation(), kGen);
  EXPECT_EQ(h.t.stats().config_rejected, 3u);
}

TEST(DeviceTransportConfig, SetConfigAfterEventUsesNewGeneration) {
  Harness h({.initial_generation = kGen});
  h.backend.ctx->config_changed(40, 4);
  h.out.take();
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen, 8, {1}}), (SetConfigResp{kGen + 1, 8, 0, {}}));
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen + 1, 8, {1}}), (SetConfigResp{kGen + 2, 8, 1, {1}}));
}

TEST(DeviceTransportConfig, SetConfigOutOfRangeRejected) {
  Harness h({.initial_generation = kGen});  // G1
  const Bytes before = h.backend.config;
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen, 62, {1, 2, 3}}), (SetConfigResp{kGen, 62, 0, {}}));
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen, 0xFFFF'FFFF, {1, 2}}), (SetConfigResp{kGen, 0xFFFF'FFFF, 0, {}}));
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen, 64, {1}}), (SetConfigResp{kGen, 64, 0, {}}));
  EXPECT_EQ(h.backend.config, before);
  EXPECT_EQ(h.t.generation(), kGen);
  EXPECT_EQ(h.t.stats().config_rejected, 3u);
}

TEST(DeviceTransportConfig, SetConfigRefusedByBackend) {
  Harness h({.initial_generation = kGen});
  const Bytes before = h.backend.config;
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen, 6, {1, 2, 3}}), (SetConfigResp{kGen, 6, 0, {}}));  // overlaps [0, 8)
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen, 0, {1}}), (SetConfigResp{kGen, 0, 0, {}}));
  EXPECT_EQ(h.backend.config, before);
  EXPECT_EQ(h.t.generation(), kGen);
  EXPECT_EQ(h.t.stats().config_rejected, 2u);
}

TEST(DeviceTransportConfig, SetConfigEmptyAppliesNothing) {
  Harness h({.initial_generation = kGen});
  EXPECT_EQ(h.ask<SetConfigResp>(SetConfigReq{kGen, 8, {}}), (SetConfigResp{kGen, 8, 0, {}}));
  EXPECT_EQ(h.t.generation(), kGen);
  EXPECT_EQ(h.t.stats().config_rejected, 0u);
}

// ---- device-initiated changes ----------------------------------------------------

TEST(DeviceTransportConfig, ConfigChangedSendsEventWithData) {
  Harness h({.initial_generation = kGen});
  h.negotiate();
  h.backend.config[20] = 0x99;
  h.backend.ctx->config_changed(20, 4);  // VMSG-DEV-034/035/061
  const Bytes expected{0x99, 0x10 + 21, 0x10 + 22, 0x10 + 23};
  EXPECT_EQ(h.out.take(), (std::vector<wire::Message>{event(wire::EventConfig{
                             .device_status = 0x0B, .generation = kGen + 1, .offset = 20, .length = 4,
                             .data = expected})}));
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{20, 4}), (GetConfigResp{kGen + 1, 20, expected}));
  EXPECT_EQ(h.t.stats().event_config_sent, 1u);
}

TEST(DeviceTransportConfig, EveryConfigEventHasNewGeneration) {
  Harness h({.initial_generation = 0xFFFF'FFFE});  // and across the 32-bit wrap
  for (int i = 0; i < 4; ++i) h.backend.ctx->config_changed(8, 1);
  const auto msgs = h.out.take();
  ASSERT_EQ(msgs.size(), 4u);
  std::vector<std::uint32_t> gens;
  for (const auto& m : msgs) gens.push_back(std::get<wire::EventConfig>(m.body).generation);
  EXPECT_EQ(gens, (std::vector<std::uint32_t>{0xFFFF'FFFF, 0, 1, 2}));  // VMSG-DEV-007: unique
}

TEST(DeviceTransportConfig, ConfigChangedTooLargeForOneEvent) {
  Harness h({.initial_generation = kGen});
  h.backend.ctx->config_changed(0, 40);  // 24 + 40 = 64 fits
  h.backend.ctx->config_changed(8, 41);  // 24 + 41 = 65 does not: VMSG-DEV-008
  h.backend.ctx->config_changed(60, 8);  // past config_size (backend bug): no data either
  const auto msgs = h.out.take();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[0], event(wire::EventConfig{0, kGen + 1, 0, 40, config_bytes(0, 40)}));
  EXPECT_EQ(msgs[1], event(wire::EventConfig{0, kGen + 2, 8, 0, {}}));
  EXPECT_EQ(msgs[2], event(wire::EventConfig{0, kGen + 3, 60, 0, {}}));
  // VMSG-DEV-009: still readable with GET_CONFIG, under the newest generation.
  EXPECT_EQ(h.ask<GetConfigResp>(GetConfigReq{8, 41}).generation, kGen + 3);
}

TEST(DeviceTransportConfig, NeedsResetEventKeepsGenerationAndIsSentOnce) {
  Harness h({.initial_generation = kGen});
  h.negotiate();
  h.backend.ctx->needs_reset();  // VMSG-DEV-042
  h.backend.ctx->needs_reset();
  const auto msgs = h.out.take();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0], event(wire::EventConfig{0x4B, kGen, 0, 0, {}}));
  EXPECT_EQ(h.get_status(), 0x4Bu);
  EXPECT_EQ(h.t.generation(), kGen);
  // A new cycle after reset can announce it again.
  h.set_status(0);
  h.backend.ctx->needs_reset();
  EXPECT_EQ(h.out.take(), (std::vector<wire::Message>{event(wire::EventConfig{0x40, kGen, 0, 0, {}})}));
}

}  // namespace
}  // namespace vmsg::transport::test

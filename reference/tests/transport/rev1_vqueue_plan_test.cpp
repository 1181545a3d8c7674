// rev1::plan_set_vqueue: every state op, every ignore-bit combination and
// every reserved bit, on a disabled and an enabled queue (REV1 L1624-1700).
#include <gtest/gtest.h>

#include <cstdint>

#include "vmsg/transport/rev1_vqueue.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::transport::rev1 {
namespace {

namespace vf = wire::vqueue_flags;
using virtqueue::QueueLayout;

constexpr QueueLayout kStored{.size = 8, .desc_addr = 0x1000, .driver_addr = 0x2000, .device_addr = 0x3000};

wire::SetVqueueReq request(std::uint32_t flags) {
  return {.index = 0, .flags = flags, .size = 16, .reserved = 0, .desc_addr = 0x4000, .driver_addr = 0x5000,
          .device_addr = 0x6000};
}

QueueState state(bool enabled) { return {.layout = kStored, .enabled = enabled, .max_size = 16}; }

TEST(Rev1VqueuePlan, FlagsZeroAppliesEveryFieldAndKeepsTheQueueDisabled) {
  const auto p = plan_set_vqueue(request(0), state(false));  // L1643-1645
  ASSERT_TRUE(p);
  EXPECT_EQ(p->layout, (QueueLayout{.size = 16, .desc_addr = 0x4000, .driver_addr = 0x5000, .device_addr = 0x6000}));
  EXPECT_FALSE(p->enable);
}

TEST(Rev1VqueuePlan, EnableAppliesFieldsThenEnables) {
  const auto p = plan_set_vqueue(request(vf::kEnable), state(false));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->layout.size, 16u);
  EXPECT_TRUE(p->enable);
}

TEST(Rev1VqueuePlan, EveryIgnoreCombinationOnADisabledQueue) {
  for (std::uint32_t op : {vf::kKeepDisabled, vf::kEnable, vf::kKeepState}) {
    for (std::uint32_t ignore = 0; ignore < 16; ++ignore) {
      const std::uint32_t flags = op | (ignore << 2);
      const auto p = plan_set_vqueue(request(flags), state(false));
      ASSERT_TRUE(p) << flags;
      // L1689-1691: applied from the request unless its ignore bit is set.
      EXPECT_EQ(p->layout.size, (ignore & 1) != 0 ? kStored.size : 16u) << flags;
      EXPECT_EQ(p->layout.desc_addr, (ignore & 2) != 0 ? kStored.desc_addr : 0x4000u) << flags;
      EXPECT_EQ(p->layout.driver_addr, (ignore & 4) != 0 ? kStored.driver_addr : 0x5000u) << flags;
      EXPECT_EQ(p->layout.device_addr, (ignore & 8) != 0 ? kStored.device_addr : 0x6000u) << flags;
      EXPECT_EQ(p->enable, op == vf::kEnable) << flags;
    }
  }
}

TEST(Rev1VqueuePlan, EnabledQueueAcceptsOnlyStateOpsThatChangeNothing) {
  for (std::uint32_t op = 0; op < 4; ++op) {
    for (std::uint32_t ignore = 0; ignore < 16; ++ignore) {
      const std::uint32_t flags = op | (ignore << 2);
      const auto p = plan_set_vqueue(request(flags), state(true));
      if (op == 3) {
        ASSERT_FALSE(p);
        EXPECT_EQ(p.error(), VqueueRefusal::ReservedStateOp);
      } else if (op == vf::kKeepDisabled) {
        ASSERT_FALSE(p) << flags;  // L1681-1684: no enabled -> disabled
        EXPECT_EQ(p.error(), VqueueRefusal::DisableEnabled);
      } else if (ignore != 15) {
        ASSERT_FALSE(p) << flags;  // L1692-1696: no field update while enabled
        EXPECT_EQ(p.error(), VqueueRefusal::UpdateEnabled);
      } else {
        ASSERT_TRUE(p) << flags;  // enable or keep: already enabled, nothing to do
        EXPECT_EQ(p->layout, kStored);
        EXPECT_FALSE(p->enable);
      }
    }
  }
}

TEST(Rev1VqueuePlan, StateOpThreeIsRefusedOnADisabledQueue) {
  for (std::uint32_t ignore = 0; ignore < 16; ++ignore) {
    const auto p = plan_set_vqueue(request(3 | (ignore << 2)), state(false));
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error(), VqueueRefusal::ReservedStateOp);
  }
}

TEST(Rev1VqueuePlan, EveryReservedFlagBitAndTheReservedWordAreRefused) {
  for (unsigned b = 6; b < 32; ++b) {
    for (bool enabled : {false, true}) {
      const auto p = plan_set_vqueue(request(vf::kEnable | vf::kIgnoreAll | (1u << b)), state(enabled));
      ASSERT_FALSE(p) << b;  // L1677-1680
      EXPECT_EQ(p.error(), VqueueRefusal::ReservedBits);
    }
  }
  for (std::uint32_t reserved : {1u, 0x8000'0000u, 0xFFFF'FFFFu}) {
    wire::SetVqueueReq r = request(vf::kEnable);
    r.reserved = reserved;
    const auto p = plan_set_vqueue(r, state(false));
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error(), VqueueRefusal::ReservedBits);
  }
}

TEST(Rev1VqueuePlan, AppliedSizeMustFitTheRing) {
  for (std::uint32_t size : {0u, 3u, 12u, 17u, 32u, 0xFFFF'FFFFu}) {
    wire::SetVqueueReq r = request(vf::kKeepDisabled);
    r.size = size;
    const auto p = plan_set_vqueue(r, state(false));
    ASSERT_FALSE(p) << size;
    EXPECT_EQ(p.error(), VqueueRefusal::BadSize);
  }
  for (std::uint32_t size : {1u, 2u, 8u, 16u}) {
    wire::SetVqueueReq r = request(vf::kKeepDisabled);
    r.size = size;
    EXPECT_TRUE(plan_set_vqueue(r, state(false))) << size;
  }
  // An ignored size is not checked: the stored one stays.
  wire::SetVqueueReq r = request(vf::kKeepDisabled | vf::kIgnoreSize);
  r.size = 0;
  const auto p = plan_set_vqueue(r, state(false));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->layout.size, kStored.size);
}

}  // namespace
}  // namespace vmsg::transport::rev1

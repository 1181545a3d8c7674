// Exact byte layouts: each case is a wire string and the Message it stands for.
// decode(bytes) must give the message and encode(message) the bytes. Strings
// marked "QEMU" are real frames from shared/spec/qemu-observed.md (section and
// row given); the others are hand-assembled from virtio-msg.md §4/§5 with the
// fields separated by spaces.
#include <gtest/gtest.h>

#include <string>

#include "vmsg/wire/codec.hpp"
#include "wire/wire_test_support.hpp"

namespace vmsg::wire {
namespace {

using test::from_hex;
using test::to_hex;

struct LayoutCase {
  const char* label;  // gtest parameter name
  const char* hex;
  Message msg;
};

std::vector<LayoutCase> layout_cases() {
  return {
      // ---- transport ----
      {"GetDeviceInfoReq_Qemu4r3", "0002000001010800", {0, 0x0101, 0, GetDeviceInfoReq{}}},
      {"GetDeviceInfoResp_Qemu4r3", "01020000010120000400000051454d5540000000000000000100000000000000",
       {0, 0x0101, 0, GetDeviceInfoResp{4, 0x554D4551, 64, 0, 1, 0, 0}}},
      {"GetDeviceInfoResp_EmptySlot_Qemu4r17", "010201000f0120000000000051454d5540000000000000000000000000000000",
       {1, 0x010F, 0, GetDeviceInfoResp{0, 0x554D4551, 64, 0, 0, 0, 0}}},
      {"GetDeviceInfoResp_AdminFields",
       "01 02 0302 efbe 2000 1a000000 f41a0000 80000000 00010000 05000000 0300 0200",
       {0x0203, 0xBEEF, 0, GetDeviceInfoResp{26, 0x1AF4, 128, 256, 5, 3, 2}}},
      {"GetDeviceFeaturesReq_Qemu4r4", "00030000020110000000000002000000", {0, 0x0102, 0, GetDeviceFeaturesReq{0, 2}}},
      {"GetDeviceFeaturesResp_Qemu4r4", "010300000201180000000000020000000000003001010000",
       {0, 0x0102, 0, GetDeviceFeaturesResp{0, {0x30000000, 0x00000101}}}},
      {"GetDeviceFeaturesResp_48Bytes_Qemu4r15",
       "010300000d01300001000000080000000101000000000000000000000000000000000000000000000000000000000000",
       {0, 0x010D, 0, GetDeviceFeaturesResp{1, {0x101, 0, 0, 0, 0, 0, 0, 0}}}},
      {"GetDeviceFeaturesResp_EmptySlot_Qemu4p1", "010301000403180000000000020000000000000000000000",
       {1, 0x0304, 0, GetDeviceFeaturesResp{0, {0, 0}}}},
      {"SetDriverFeaturesReq_Qemu6", "000400000502180000000000020000000000000001000000",
       {0, 0x0205, 0, SetDriverFeaturesReq{0, {0, 1}}}},
      {"SetDriverFeaturesReq_NoBlocks", "00 04 0700 0000 1000 03000000 00000000",
       {7, 0, 0, SetDriverFeaturesReq{3, {}}}},
      {"SetDriverFeaturesResp_Qemu6", "0104000005020800", {0, 0x0205, 0, SetDriverFeaturesResp{}}},
      {"GetConfigReq_Qemu4r9", "00050000070110000000000004000000", {0, 0x0107, 0, GetConfigReq{0, 4}}},
      {"GetConfigResp_Qemu4r9", "0105000007011800000000000000000004000000ffffffff",
       {0, 0x0107, 0, GetConfigResp{0, 0, {0xFF, 0xFF, 0xFF, 0xFF}}}},
      {"GetConfigResp_Len28_Qemu4r13",
       "010500000b01300000000000000000001c000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
       {0, 0x010B, 0, GetConfigResp{0, 0, std::vector<std::uint8_t>(28, 0xFF)}}},
      {"GetConfigResp_Empty_Qemu4p1", "010500000f031400010000000000000000000000",
       {0, 0x030F, 0, GetConfigResp{1, 0, {}}}},
      {"SetConfigReq", "00 06 0300 0b0a 1700 07000000 04000000 03000000 112233",
       {3, 0x0A0B, 0, SetConfigReq{7, 4, {0x11, 0x22, 0x33}}}},
      {"SetConfigResp_Echoed_Qemu4p1", "010600000903180000000000000000000400000044332211",
       {0, 0x0309, 0, SetConfigResp{0, 0, 4, {0x44, 0x33, 0x22, 0x11}}}},
      {"SetConfigResp_NotEchoed", "01 06 0300 0b0a 1400 08000000 04000000 03000000",
       {3, 0x0A0B, 0, SetConfigResp{8, 4, 3, {}}}},
      {"SetConfigResp_Rejected", "01 06 0300 0b0a 1400 09000000 04000000 00000000",
       {3, 0x0A0B, 0, SetConfigResp{9, 4, 0, {}}}},
      {"GetDeviceStatusReq_Qemu6", "0007000007020800", {0, 0x0207, 0, GetDeviceStatusReq{}}},
      {"GetDeviceStatusResp_Qemu6", "0107000007020c000b000000", {0, 0x0207, 0, GetDeviceStatusResp{0x0B}}},
      {"GetDeviceStatusResp_NeedsReset_Qemu4p1", "010700000e030c004f000000", {0, 0x030E, 0, GetDeviceStatusResp{0x4F}}},
      {"SetDeviceStatusReq_Qemu6", "0008000006020c000b000000", {0, 0x0206, 0, SetDeviceStatusReq{0x0B}}},
      {"SetDeviceStatusResp_Qemu6", "0108000006020c000b000000", {0, 0x0206, 0, SetDeviceStatusResp{0x0B}}},
      {"GetVqueueReq_Qemu6", "0009000008020c0000000000", {0, 0x0208, 0, GetVqueueReq{0}}},
      {"GetVqueueReq_1024_Qemu4r30", "0009000018010c0000040000", {0, 0x0118, 0, GetVqueueReq{1024}}},
      {"GetVqueueResp_Qemu6",
       "010900000a02300000000000080000000800000000000000000020000000000000102000000000000020200000000000",
       {0, 0x020A, 0, GetVqueueResp{0, 8, 8, 0, 0x200000, 0x201000, 0x202000}}},
      {"GetVqueueResp_HighBits",
       "01 09 0100 3412 3000 02000000 00010000 80000000 efbeadde 7766554433221100 f0debc9a78563412 0800000000000080",
       {1, 0x1234, 0,
        GetVqueueResp{2, 256, 128, 0xDEADBEEF, 0x0011223344556677, 0x123456789ABCDEF0, 0x8000000000000008}}},
      {"SetVqueueReq_Qemu6",
       "000a00000902300000000000000000000800000000000000000020000000000000102000000000000020200000000000",
       {0, 0x0209, 0, SetVqueueReq{0, 0, 8, 0, 0x200000, 0x201000, 0x202000}}},
      {"SetVqueueReq_ReservedWordsKept",
       "00 0a 0200 0100 3000 03000000 11111111 40000000 22222222 0010000000000000 0020000000000000 0030000000000000",
       {2, 1, 0, SetVqueueReq{3, 0x11111111, 64, 0x22222222, 0x1000, 0x2000, 0x3000}}},
      {"SetVqueueResp_Qemu6", "010a000009020800", {0, 0x0209, 0, SetVqueueResp{}}},
      {"ResetVqueueReq_Qemu6", "000b00000e020c0000000000", {0, 0x020E, 0, ResetVqueueReq{0}}},
      {"ResetVqueueResp_Qemu6", "010b00000e020800", {0, 0x020E, 0, ResetVqueueResp{}}},
      {"GetShmReq_Qemu4r8", "000c000006010c0000000000", {0, 0x0106, 0, GetShmReq{0}}},
      {"GetShmResp", "01 0c 0100 0200 1400 03000000 00100000 00000080", {1, 2, 0, GetShmResp{3, 0x1000, 0x80000000}}},
      {"EventConfig_Qemu4r28", "004000000000180003000000000000000000000000000000",
       {0, 0, 0, EventConfig{3, 0, 0, 0, {}}}},
      {"EventConfig_WithData", "00 40 0000 0000 1a00 0f000000 02000000 08000000 02000000 aabb",
       {0, 0, 0, EventConfig{0x0F, 2, 8, 2, {0xAA, 0xBB}}}},
      {"EventConfig_RangeWithoutData", "00 40 0000 0000 1800 01000000 05000000 00000000 04000000",
       {0, 0, 0, EventConfig{1, 5, 0, 4, {}}}},
      {"EventAvail_Qemu6", "004100000c0210000000000001000000", {0, 0x020C, 0, EventAvail{0, 1}}},
      {"EventAvail_Qemu4r28", "00410000160110000000000000000000", {0, 0x0116, 0, EventAvail{0, 0}}},
      {"EventAvail_WrapBit", "00 41 0200 0000 1000 03000000 05000080", {2, 0, 0, EventAvail{3, 0x80000005}}},
      {"EventUsed_Qemu6", "0042000000000c0000000000", {0, 0, 0, EventUsed{0}}},
      // ---- bus ----
      {"GetDevicesReq_Qemu4r2", "0202000022220c0000002000", {0, 0x2222, 0, GetDevicesReq{0, 32}}},
      {"GetDevicesResp_Qemu4r2", "030200000000120000002000200001000000",
       {0, 0, 0, GetDevicesResp{0, 32, {0x01, 0x00, 0x00, 0x00}}}},
      {"GetDevicesResp_EmptyWindow_Qemu4r25", "0302000000000e00200000002000", {0, 0, 0, GetDevicesResp{32, 32, {}}}},
      {"GetDevicesResp_SpecExample", "03 02 0000 0000 1000 0000 1000 1000 2500",
       {0, 0, 0, GetDevicesResp{0, 16, {0x25, 0x00}}}},
      {"PingReq_Qemu4r1", "0203000011110c00efbeadde", {0, 0x1111, 0, PingReq{0xDEADBEEF}}},
      {"PingResp_Qemu4r1", "0303000000000c00efbeadde", {0, 0, 0, PingResp{0xDEADBEEF}}},
      {"PingResp_AsRequest_Qemu4r26", "0303050033330c000df0feca", {5, 0x3333, 0, PingResp{0xCAFEF00D}}},
      {"EventDevice_Ready", "02 40 0000 0000 0c00 0500 0100", {0, 0, 0, EventDevice{5, bus_state::kReady}}},
      {"EventDevice_ImplDefinedState", "02 40 0000 0000 0c00 1f00 0180", {0, 0, 0, EventDevice{31, 0x8001}}},
      // ---- reserved type bits are kept, not dropped ----
      {"ReservedTypeBit2_Qemu4r23", "0402000015010800", {0, 0x0115, 0x04, GetDeviceInfoReq{}}},
      {"ReservedTypeBitsAll_BusResponse", "ff03000000000c0001000000", {0, 0, 0xFC, PingResp{1}}},
  };
}

class Layout : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(Layout, DecodesToTheMessage) {
  const LayoutCase& c = GetParam();
  const auto bytes = from_hex(c.hex);
  const auto r = decode(bytes, test::kBigProfile);
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(*r, c.msg);
}

TEST_P(Layout, EncodesToTheBytes) {
  const LayoutCase& c = GetParam();
  const auto want = from_hex(c.hex);
  EXPECT_EQ(encoded_size(c.msg, test::kBigProfile), want.size());
  const auto r = encode(c.msg, test::kBigProfile);
  ASSERT_TRUE(r.ok()) << to_string(r.error());
  EXPECT_EQ(to_hex(*r), to_hex(want));
}

TEST_P(Layout, FitsTheAmpSlot) {
  // Every case is a real-size message: all of them decode under the 64-byte AMP profile too.
  const auto r = decode(from_hex(GetParam().hex), Profile::pr28());
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(*r, GetParam().msg);
}

INSTANTIATE_TEST_SUITE_P(Wire, Layout, ::testing::ValuesIn(layout_cases()),
                         [](const ::testing::TestParamInfo<LayoutCase>& i) { return std::string(i.param.label); });

TEST(LayoutCoverage, EveryBodyAlternativeHasAByteLayoutCase) {
  std::vector<bool> seen(std::variant_size_v<Body>, false);
  for (const LayoutCase& c : layout_cases()) seen[c.msg.body.index()] = true;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_TRUE(seen[i]) << "no layout case for Body alternative " << i;
  }
}

TEST(LayoutSlot, SlotPaddingAfterMsgSizeIsIgnored) {
  // A whole 64-byte AMP slot as QEMU leaves it: message, zeros to byte 47, stale 0xEE (qemu-observed.md §4).
  auto slot = from_hex("0303000000000c00efbeadde");
  slot.resize(48, 0x00);
  slot.resize(64, 0xEE);
  const auto r = decode(slot, Profile::pr28());
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(*r, (Message{0, 0, 0, PingResp{0xDEADBEEF}}));
}

TEST(LayoutSlot, QemuFortyEightByteMessagesFitItsInternalLimit) {
  // QEMU caps messages at 48 bytes internally (virtio-msg.md §1): a 48-byte profile accepts them, 47 does not.
  const auto vq = from_hex(
      "010900000a02300000000000080000000800000000000000000020000000000000102000000000000020200000000000");
  EXPECT_TRUE(decode(vq, Profile::pr28(48)).ok());
  const auto r = decode(vq, Profile::pr28(47));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), (DecodeFailure{DecodeError::SizeExceedsBusMax, 48}));
}

}  // namespace
}  // namespace vmsg::wire

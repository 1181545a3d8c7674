// BAR0 decode: every width, alignment and offset class (amp-pci-device.md §4, D30).
#include <gtest/gtest.h>

#include "vmsg/amp/registers.hpp"

namespace vmsg::amp {
namespace {

using E = RegisterWrite::Effect;

TEST(Registers, VersionAndFeaturesReadAsWords) {
  const Registers r(1);
  EXPECT_EQ(r.read(reg::kVersion, 4), 1u);
  EXPECT_EQ(r.read(reg::kFeatures, 4), 0u);
}

TEST(Registers, SubWordReadsSeeLittleEndianBytes) {
  const Registers r(1);
  EXPECT_EQ(r.read(0x00, 1), 1u);
  EXPECT_EQ(r.read(0x01, 1), 0u);
  EXPECT_EQ(r.read(0x02, 2), 0u);
  EXPECT_EQ(r.read(0x00, 2), 1u);
}

TEST(Registers, EightByteReadCombinesTwoWords) {
  const Registers r(1);
  EXPECT_EQ(r.read(0x00, 8), 1u);  // VERSION in the low word, FEATURES (0) in the high word
  EXPECT_EQ(r.read(0x20, 8), 0u);
}

TEST(Registers, UnalignedAndBadWidthReadsReturnZero) {
  const Registers r(1);
  EXPECT_EQ(r.read(0x01, 4), 0u);
  EXPECT_EQ(r.read(0x01, 2), 0u);
  EXPECT_EQ(r.read(0x04, 8), 0u);
  EXPECT_EQ(r.read(0x00, 3), 0u);
  EXPECT_EQ(r.read(reg::kBar0Size, 4), 0u);
  EXPECT_EQ(r.read(reg::kBar0Size - 4, 8), 0u);
}

TEST(Registers, ReservedAndNotifyReadZero) {
  const Registers r(8);
  for (std::uint64_t off = 0x08; off < 0x60; off += 4) EXPECT_EQ(r.read(off, 4), 0u) << off;
  EXPECT_EQ(r.read(0x3FFC, 4), 0u);
}

TEST(Registers, AlignedWordWriteToNotifyRingsThatFifo) {
  const Registers r(4);
  for (unsigned q = 0; q < 4; ++q) {
    const auto w = r.write(reg::notify(q), 4, 1);
    EXPECT_EQ(w.effect, E::Doorbell);
    EXPECT_EQ(w.fifo, q);
  }
  // Any value rings: the register does not interpret it.
  EXPECT_EQ(r.write(reg::notify(0), 4, 0).effect, E::Doorbell);
  EXPECT_EQ(r.write(reg::notify(0), 4, 0xFFFFFFFF).effect, E::Doorbell);
}

TEST(Registers, NotifyBeyondNumFifosIsIgnored) {
  const Registers r(1);
  EXPECT_EQ(r.write(reg::notify(1), 4, 1).effect, E::NoSuchFifo);
  EXPECT_EQ(r.write(0x3FFC, 4, 1).effect, E::NoSuchFifo);
}

TEST(Registers, ReadOnlyWordsIgnoreWrites) {
  const Registers r(1);
  EXPECT_EQ(r.write(reg::kVersion, 4, 0x55).effect, E::ReadOnly);
  EXPECT_EQ(r.write(reg::kFeatures, 4, 1).effect, E::ReadOnly);
  EXPECT_EQ(r.write(0x1C, 4, 1).effect, E::ReadOnly);
  EXPECT_EQ(r.read(reg::kVersion, 4), 1u);
}

TEST(Registers, ByteHalfwordAndQuadWritesDoNotRing) {
  const Registers r(2);
  EXPECT_EQ(r.write(0x21, 1, 1).effect, E::BadWidth);  // QEMU rings here (D30); we do not
  EXPECT_EQ(r.write(0x20, 1, 1).effect, E::BadWidth);
  EXPECT_EQ(r.write(0x22, 2, 1).effect, E::BadWidth);
  EXPECT_EQ(r.write(0x20, 8, 1).effect, E::BadWidth);  // QEMU rings FIFO0 and FIFO1 here
}

TEST(Registers, UnalignedWordWriteIsIgnored) {
  const Registers r(2);
  EXPECT_EQ(r.write(0x21, 4, 1).effect, E::Unaligned);
  EXPECT_EQ(r.write(0x22, 4, 1).effect, E::Unaligned);
}

TEST(Registers, WriteBeyondBarIsOutOfRange) {
  const Registers r(1);
  EXPECT_EQ(r.write(reg::kBar0Size, 4, 1).effect, E::OutOfRange);
}

}  // namespace
}  // namespace vmsg::amp

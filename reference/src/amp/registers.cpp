#include "vmsg/amp/registers.hpp"

namespace vmsg::amp {

std::uint32_t Registers::word(std::uint64_t aligned_offset) const noexcept {
  switch (aligned_offset) {
    case reg::kVersion:
      return reg::kVersionValue;
    case reg::kFeatures:
      return reg::kFeaturesValue;
    default:
      return 0;  // reserved words and the write-only NOTIFY registers read as zero
  }
}

std::uint64_t Registers::read(std::uint64_t offset, unsigned size) const noexcept {
  const bool valid_size = size == 1 || size == 2 || size == 4 || size == 8;
  if (!valid_size || offset % size != 0 || offset + size > reg::kBar0Size) return 0;
  std::uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    const std::uint64_t byte_off = offset + i;
    const std::uint32_t w = word(byte_off & ~std::uint64_t{3});
    const std::uint64_t byte = (w >> (8 * (byte_off & 3))) & 0xFF;
    v |= byte << (8 * i);
  }
  return v;
}

RegisterWrite Registers::write(std::uint64_t offset, unsigned size, std::uint64_t value) const noexcept {
  (void)value;  // any value rings the doorbell (amp-pci-device.md §4: the value is not interpreted)
  using E = RegisterWrite::Effect;
  if (offset >= reg::kBar0Size) return {E::OutOfRange, 0};
  if (size != 4) return {E::BadWidth, 0};
  if (offset % 4 != 0) return {E::Unaligned, 0};
  if (offset < reg::kNotifyBase) return {E::ReadOnly, 0};
  const std::uint64_t q = (offset - reg::kNotifyBase) / 4;
  if (q >= num_fifos_) return {E::NoSuchFifo, 0};
  return {E::Doorbell, static_cast<unsigned>(q)};
}

}  // namespace vmsg::amp

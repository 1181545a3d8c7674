// BAR0 register file of the amp-pci device (amp-pci-device.md §4, AMP-003..006).
//
// Pure decode: it holds no state beyond num_fifos and tells the device which
// doorbells a write rang. Our choice where QEMU differs (D30): only naturally
// aligned 32-bit writes have an effect; sub-word and 8-byte writes are ignored
// and counted, so a driver that relies on QEMU's fan-out is caught.
#pragma once

#include <cstdint>

namespace vmsg::amp {

/// BAR0 layout constants.
namespace reg {
inline constexpr std::uint64_t kBar0Size = 0x4000;
inline constexpr std::uint64_t kVersion = 0x00;
inline constexpr std::uint64_t kFeatures = 0x04;
inline constexpr std::uint64_t kNotifyBase = 0x20;
inline constexpr std::uint32_t kVersionValue = 1;
inline constexpr std::uint32_t kFeaturesValue = 0;
[[nodiscard]] constexpr std::uint64_t notify(unsigned fifo) noexcept { return kNotifyBase + 4u * fifo; }
}  // namespace reg

/// What a BAR0 write did: the doorbell it rang, or why it was ignored.
struct RegisterWrite {
  enum class Effect : std::uint8_t {
    Doorbell,        ///< aligned 32-bit write to NOTIFYq with q < num_fifos
    ReadOnly,        ///< VERSION, FEATURES or a reserved word: ignored
    NoSuchFifo,      ///< NOTIFYq with q >= num_fifos: ignored
    BadWidth,        ///< 1-, 2- or 8-byte write: ignored
    Unaligned,       ///< not naturally aligned: ignored
    OutOfRange,      ///< offset beyond BAR0
  };
  Effect effect = Effect::ReadOnly;
  unsigned fifo = 0;  ///< valid when effect == Doorbell
};

/// Decodes BAR0 accesses for a device with `num_fifos` FIFOs.
class Registers {
 public:
  explicit Registers(unsigned num_fifos) noexcept : num_fifos_(num_fifos) {}

  /// Value of a read. Naturally aligned reads of any width see the register
  /// words as little-endian memory (readb +0 = 1); unaligned reads return 0.
  [[nodiscard]] std::uint64_t read(std::uint64_t offset, unsigned size) const noexcept;
  [[nodiscard]] RegisterWrite write(std::uint64_t offset, unsigned size, std::uint64_t value) const noexcept;

 private:
  [[nodiscard]] std::uint32_t word(std::uint64_t aligned_offset) const noexcept;
  unsigned num_fifos_;
};

}  // namespace vmsg::amp

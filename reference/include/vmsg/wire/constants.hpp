// Numbers of the virtio-msg wire format (PR28 draft, see shared/spec/virtio-msg.md §2, §4, §5, §8).
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmsg::wire {

/// Every message starts with this many header bytes.
inline constexpr std::size_t kHeaderSize = 8;
/// msg_size is le16, so no message can be longer than this (virtio-msg.md Q2).
inline constexpr std::size_t kMaxEncodableSize = 0xFFFF;

/// Bits of the header `type` byte.
namespace type_bits {
inline constexpr std::uint8_t kResponse = 0x01;  ///< 0 = request or event, 1 = response
inline constexpr std::uint8_t kBus = 0x02;       ///< 0 = transport message, 1 = bus message
inline constexpr std::uint8_t kReserved = 0xFC;  ///< bits 2..7: sent as zero, ignored on receive
}  // namespace type_bits

/// Message IDs in the transport ID space.
enum class TransportId : std::uint8_t {
  GetDeviceInfo = 0x02,
  GetDeviceFeatures = 0x03,
  SetDriverFeatures = 0x04,
  GetConfig = 0x05,
  SetConfig = 0x06,
  GetDeviceStatus = 0x07,
  SetDeviceStatus = 0x08,
  GetVqueue = 0x09,
  SetVqueue = 0x0A,
  ResetVqueue = 0x0B,
  GetShm = 0x0C,
  EventConfig = 0x40,
  EventAvail = 0x41,
  EventUsed = 0x42,
};

/// Message IDs in the bus ID space.
enum class BusId : std::uint8_t {
  GetDevices = 0x02,
  Ping = 0x03,
  EventDevice = 0x40,
};

/// ID ranges, identical in both ID spaces (virtio-msg.md §2.1).
[[nodiscard]] constexpr bool is_event_id(std::uint8_t id) noexcept { return (id & 0x40) != 0; }
[[nodiscard]] constexpr bool is_impl_defined_id(std::uint8_t id) noexcept { return (id & 0x80) != 0; }

/// Device status bits (core virtio, carried as le32).
namespace status {
inline constexpr std::uint32_t kAcknowledge = 0x01;
inline constexpr std::uint32_t kDriver = 0x02;
inline constexpr std::uint32_t kDriverOk = 0x04;
inline constexpr std::uint32_t kFeaturesOk = 0x08;
inline constexpr std::uint32_t kNeedsReset = 0x40;
inline constexpr std::uint32_t kFailed = 0x80;
}  // namespace status

/// EVENT_DEVICE device_bus_state values.
namespace bus_state {
inline constexpr std::uint16_t kReady = 0x0001;
inline constexpr std::uint16_t kRemoved = 0x0002;
}  // namespace bus_state

/// EVENT_AVAIL next_offset: bit 31 is the wrap counter, bits 30..0 the offset.
inline constexpr std::uint32_t kNextOffsetWrapBit = 0x80000000u;

}  // namespace vmsg::wire

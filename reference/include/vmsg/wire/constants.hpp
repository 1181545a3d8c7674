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

/// EVENT_DEVICE device_bus_state values. REV1 calls state 1 ADDED (REV1
/// L2044-2052); 0x0003-0x7FFF are reserved, 0x8000-0xFFFF implementation-defined.
namespace bus_state {
inline constexpr std::uint16_t kReady = 0x0001;  ///< PR28's name
inline constexpr std::uint16_t kAdded = 0x0001;  ///< REV1's name for the same value (REV1 L2046)
inline constexpr std::uint16_t kRemoved = 0x0002;
}  // namespace bus_state

/// REV1 SET_VQUEUE `flags` (REV1 L1624-1641) and GET_VQUEUE `flags` (L1597-1598).
namespace vqueue_flags {
inline constexpr std::uint32_t kStateOpMask = 0x3;      ///< bits 1..0: the state operation
inline constexpr std::uint32_t kKeepDisabled = 0x0;     ///< state op 0
inline constexpr std::uint32_t kEnable = 0x1;           ///< state op 1
inline constexpr std::uint32_t kKeepState = 0x2;        ///< state op 2
inline constexpr std::uint32_t kReservedOp = 0x3;       ///< state op 3, reserved
inline constexpr std::uint32_t kIgnoreSize = 1u << 2;
inline constexpr std::uint32_t kIgnoreDesc = 1u << 3;
inline constexpr std::uint32_t kIgnoreDriver = 1u << 4;
inline constexpr std::uint32_t kIgnoreDevice = 1u << 5;
inline constexpr std::uint32_t kIgnoreAll = kIgnoreSize | kIgnoreDesc | kIgnoreDriver | kIgnoreDevice;
inline constexpr std::uint32_t kDefined = kStateOpMask | kIgnoreAll;  ///< bits 31..6 must be zero
inline constexpr std::uint32_t kReservedMask = ~kDefined;               ///< bits 31..6
inline constexpr std::uint32_t kEnabled = 0x1;          ///< GET_VQUEUE: bit 0 = queue enabled
}  // namespace vqueue_flags

/// REV1 transport feature bits, per bus instance (REV1 L316-336).
namespace transport_feature {
inline constexpr std::uint64_t kStrictConfigGeneration = 1u << 0;  ///< VIRTIO_MSG_F_STRICT_CONFIG_GENERATION
}  // namespace transport_feature

/// REV1 message size range: a bus advertises at least this much (REV1 L252, L274-275).
inline constexpr std::uint32_t kRev1MinMaxMsgSize = 52;

/// EVENT_AVAIL next_offset: bit 31 is the wrap counter, bits 30..0 the offset.
inline constexpr std::uint32_t kNextOffsetWrapBit = 0x80000000u;

}  // namespace vmsg::wire

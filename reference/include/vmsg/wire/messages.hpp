// Typed virtio-msg messages. One struct per message and direction; the header
// fields that are not implied by the message kind (dev_num, token, reserved
// type bits) live in Message. Layout on the wire is the codec's business
// (codec.hpp); these types are layout-free so a second profile can map them
// differently without touching callers.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vmsg::wire {

// ---- transport requests (driver -> device) --------------------------------
struct GetDeviceInfoReq {
  friend bool operator==(const GetDeviceInfoReq&, const GetDeviceInfoReq&) = default;
};
struct GetDeviceFeaturesReq {
  std::uint32_t block_index = 0;
  std::uint32_t num_blocks = 0;
  friend bool operator==(const GetDeviceFeaturesReq&, const GetDeviceFeaturesReq&) = default;
};
/// num_blocks on the wire is features.size().
struct SetDriverFeaturesReq {
  std::uint32_t block_index = 0;
  std::vector<std::uint32_t> features;
  friend bool operator==(const SetDriverFeaturesReq&, const SetDriverFeaturesReq&) = default;
};
struct GetConfigReq {
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
  friend bool operator==(const GetConfigReq&, const GetConfigReq&) = default;
};
/// length on the wire is data.size().
struct SetConfigReq {
  std::uint32_t generation = 0;
  std::uint32_t offset = 0;
  std::vector<std::uint8_t> data;
  friend bool operator==(const SetConfigReq&, const SetConfigReq&) = default;
};
struct GetDeviceStatusReq {
  friend bool operator==(const GetDeviceStatusReq&, const GetDeviceStatusReq&) = default;
};
struct SetDeviceStatusReq {
  std::uint32_t status = 0;
  friend bool operator==(const SetDeviceStatusReq&, const SetDeviceStatusReq&) = default;
};
struct GetVqueueReq {
  std::uint32_t index = 0;
  friend bool operator==(const GetVqueueReq&, const GetVqueueReq&) = default;
};
/// Reserved words are kept so a decoded message re-encodes byte for byte.
/// `flags` is PR28's first reserved word; REV1 gives it the state op (bits
/// 1..0) and the ignore bits 2..5 (set_vqueue_flags).
struct SetVqueueReq {
  std::uint32_t index = 0;
  std::uint32_t flags = 0;
  std::uint32_t size = 0;
  std::uint32_t reserved = 0;
  std::uint64_t desc_addr = 0;
  std::uint64_t driver_addr = 0;
  std::uint64_t device_addr = 0;
  friend bool operator==(const SetVqueueReq&, const SetVqueueReq&) = default;
};
struct ResetVqueueReq {
  std::uint32_t index = 0;
  friend bool operator==(const ResetVqueueReq&, const ResetVqueueReq&) = default;
};
/// `index` is PR28's name; REV1 calls the same word `shmid`.
struct GetShmReq {
  std::uint32_t index = 0;
  friend bool operator==(const GetShmReq&, const GetShmReq&) = default;
};

// ---- transport responses (device -> driver) -------------------------------
/// The union of both drafts' fields; each layout carries its own. PR28 counts
/// feature bits and has 16-bit admin fields (num_feature_blocks and
/// device_uuid stay zero after a PR28 decode); REV1 counts 32-bit feature
/// blocks and adds the UUID (num_feature_bits stays zero after a REV1 decode).
struct GetDeviceInfoResp {
  std::uint32_t device_id = 0;
  std::uint32_t vendor_id = 0;
  std::uint32_t num_feature_bits = 0;
  std::uint32_t config_size = 0;
  std::uint32_t max_virtqueues = 0;
  std::uint32_t admin_vq_start = 0;
  std::uint32_t admin_vq_count = 0;
  std::uint32_t num_feature_blocks = 0;
  std::array<std::uint8_t, 16> device_uuid{};  ///< all zero: the nil UUID
  friend bool operator==(const GetDeviceInfoResp&, const GetDeviceInfoResp&) = default;
};
/// num_blocks on the wire is features.size().
struct GetDeviceFeaturesResp {
  std::uint32_t block_index = 0;
  std::vector<std::uint32_t> features;
  friend bool operator==(const GetDeviceFeaturesResp&, const GetDeviceFeaturesResp&) = default;
};
struct SetDriverFeaturesResp {
  friend bool operator==(const SetDriverFeaturesResp&, const SetDriverFeaturesResp&) = default;
};
/// length on the wire is data.size(); length 0 is the rejection form.
struct GetConfigResp {
  std::uint32_t generation = 0;
  std::uint32_t offset = 0;
  std::vector<std::uint8_t> data;
  friend bool operator==(const GetConfigResp&, const GetConfigResp&) = default;
};
/// `length` = bytes applied (0 = rejected). `data` is either empty (not
/// echoed) or exactly `length` bytes (echoed).
struct SetConfigResp {
  std::uint32_t generation = 0;
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
  std::vector<std::uint8_t> data;
  friend bool operator==(const SetConfigResp&, const SetConfigResp&) = default;
};
struct GetDeviceStatusResp {
  std::uint32_t status = 0;
  friend bool operator==(const GetDeviceStatusResp&, const GetDeviceStatusResp&) = default;
};
struct SetDeviceStatusResp {
  std::uint32_t status = 0;
  friend bool operator==(const SetDeviceStatusResp&, const SetDeviceStatusResp&) = default;
};
/// `flags` is PR28's reserved word; REV1 puts the enabled state in bit 0.
struct GetVqueueResp {
  std::uint32_t index = 0;
  std::uint32_t max_size = 0;
  std::uint32_t cur_size = 0;
  std::uint32_t flags = 0;
  std::uint64_t desc_addr = 0;
  std::uint64_t driver_addr = 0;
  std::uint64_t device_addr = 0;
  friend bool operator==(const GetVqueueResp&, const GetVqueueResp&) = default;
};
struct SetVqueueResp {
  friend bool operator==(const SetVqueueResp&, const SetVqueueResp&) = default;
};
struct ResetVqueueResp {
  friend bool operator==(const ResetVqueueResp&, const ResetVqueueResp&) = default;
};
/// PR28 carries 32-bit length and address; REV1 64-bit ones after a reserved
/// word (kept so a decoded message re-encodes byte for byte).
struct GetShmResp {
  std::uint32_t index = 0;
  std::uint64_t length = 0;
  std::uint64_t address = 0;
  std::uint32_t reserved = 0;
  friend bool operator==(const GetShmResp&, const GetShmResp&) = default;
};

// ---- transport events ------------------------------------------------------
/// Device -> driver. `data` is either empty or exactly `length` bytes.
struct EventConfig {
  std::uint32_t device_status = 0;
  std::uint32_t generation = 0;
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
  std::vector<std::uint8_t> data;
  friend bool operator==(const EventConfig&, const EventConfig&) = default;
};
/// Driver -> device. next_offset is the raw word (bit 31 = wrap).
struct EventAvail {
  std::uint32_t vq_index = 0;
  std::uint32_t next_offset = 0;
  friend bool operator==(const EventAvail&, const EventAvail&) = default;
};
/// Device -> driver.
struct EventUsed {
  std::uint32_t vq_index = 0;
  friend bool operator==(const EventUsed&, const EventUsed&) = default;
};

// ---- bus messages ----------------------------------------------------------
struct GetDevicesReq {
  std::uint16_t offset = 0;
  std::uint16_t count = 0;
  friend bool operator==(const GetDevicesReq&, const GetDevicesReq&) = default;
};
/// Bit n of byte n/8 (LSB first) set = device offset + n present. PR28: count
/// on the wire is bitmap.size() * 8 and `count` stays empty. REV1: `count` is
/// the window's slot count, always present, and bitmap is (count + 7) / 8 bytes.
struct GetDevicesResp {
  std::uint16_t offset = 0;
  std::uint16_t next_offset = 0;
  std::vector<std::uint8_t> bitmap;
  std::optional<std::uint16_t> count{};
  friend bool operator==(const GetDevicesResp&, const GetDevicesResp&) = default;
};
struct PingReq {
  std::uint32_t data = 0;
  friend bool operator==(const PingReq&, const PingReq&) = default;
};
struct PingResp {
  std::uint32_t data = 0;
  friend bool operator==(const PingResp&, const PingResp&) = default;
};
struct EventDevice {
  std::uint16_t device_number = 0;
  std::uint16_t state = 0;
  friend bool operator==(const EventDevice&, const EventDevice&) = default;
};

/// Every message kind of the default profile.
using Body = std::variant<
    GetDeviceInfoReq, GetDeviceInfoResp, GetDeviceFeaturesReq, GetDeviceFeaturesResp,
    SetDriverFeaturesReq, SetDriverFeaturesResp, GetConfigReq, GetConfigResp, SetConfigReq,
    SetConfigResp, GetDeviceStatusReq, GetDeviceStatusResp, SetDeviceStatusReq,
    SetDeviceStatusResp, GetVqueueReq, GetVqueueResp, SetVqueueReq, SetVqueueResp,
    ResetVqueueReq, ResetVqueueResp, GetShmReq, GetShmResp, EventConfig, EventAvail, EventUsed,
    GetDevicesReq, GetDevicesResp, PingReq, PingResp, EventDevice>;

/// A whole message: header fields that the body does not imply, plus the body.
/// `type` and `msg_id` follow from the body; msg_size from the encoding.
struct Message {
  std::uint16_t dev_num = 0;
  std::uint16_t token = 0;
  /// Bits 2..7 of `type` as received (senders keep this 0). Preserved so that
  /// decode followed by encode reproduces the input exactly.
  std::uint8_t reserved_type_bits = 0;
  Body body;
  /// Defined out of line: comparing a 30-way variant is costly to instantiate in every TU.
  friend bool operator==(const Message&, const Message&);
};

/// Facts about a body's kind.
[[nodiscard]] std::uint8_t msg_id(const Body& body) noexcept;
[[nodiscard]] bool is_bus(const Body& body) noexcept;
[[nodiscard]] bool is_response(const Body& body) noexcept;
[[nodiscard]] bool is_event(const Body& body) noexcept;
/// The header `type` byte a conforming sender uses (reserved bits zero).
[[nodiscard]] std::uint8_t type_byte(const Body& body) noexcept;
/// Spec name, e.g. "GET_DEVICE_INFO" or "PING response".
[[nodiscard]] std::string_view name(const Body& body) noexcept;
/// One line for logs and test failures: name, dev_num, token and every field.
[[nodiscard]] std::string to_string(const Message& m);
/// GoogleTest printers (found by ADL); out of line so tests do not
/// instantiate gtest's generic variant printer for every message kind.
void PrintTo(const Message& m, std::ostream* os);
void PrintTo(const Body& b, std::ostream* os);

}  // namespace vmsg::wire

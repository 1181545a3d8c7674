// Typed errors of the virtio drivers (bus, transport, split queue, rng, blk).
//
// Unlike the bring-up helpers (driver/errors.hpp, which throw), everything a
// device can get wrong at run time comes back as a value: a conformance run
// must report a misbehaving device, not crash on it. Exceptions remain only
// for caller mistakes (vmsg::ConfigError) and dead ports (vmsg::PortError).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "vmsg/common/result.hpp"

namespace vmsg::driver {

/// What went wrong, coarse enough to assert on in tests.
enum class VirtioErrc : std::uint8_t {
  // The link and the responses.
  NoResponse,         ///< the device never answered a request
  MalformedResponse,  ///< a frame that does not decode arrived instead
  LinkFailure,        ///< the request could not be sent (queue full, unencodable)
  BadResponse,        ///< decoded, but fields contradict the request (echo, count, kind)
  // Protocol state.
  NotReady,           ///< called in the wrong phase (e.g. kick before DRIVER_OK)
  OutOfRange,         ///< offset/length/index outside what GET_DEVICE_INFO allows
  FeaturesRefused,    ///< FEATURES_OK did not stick (VMSG-DRV-025)
  StatusRejected,     ///< the device reported a status other than the one written
  NeedsReset,         ///< DEVICE_NEEDS_RESET seen; reset before more I/O (VMSG-DRV-050)
  DeviceRemoved,      ///< EVENT_DEVICE REMOVED seen
  // Configuration space.
  GenerationUnstable, ///< the generation kept moving across the chunks of a read
  ConfigRejected,     ///< SET_CONFIG answered with length 0 (or GET_CONFIG with no data)
  // Virtqueue setup.
  QueueUnavailable,   ///< GET_VQUEUE max_size 0, or index >= max_virtqueues
  QueueInUse,         ///< GET_VQUEUE cur_size != 0 before programming (VMSG-DRV-029)
  QueueTooLarge,      ///< requested size > max_size (VMSG-DRV-030)
  BadQueueSize,       ///< 0, not a power of two, or > 32768
  QueueNotConfirmed,  ///< GET_VQUEUE after SET_VQUEUE does not show the values (VMSG-DRV-018)
  // Virtqueue operation.
  RingFull,           ///< not enough free descriptors for the chain
  BadUsedId,          ///< the device returned an id that is not an in-flight head
  BadUsedLength,      ///< used length larger than the chain's writable bytes
  UsedIndexJump,      ///< used.idx moved past more entries than are in flight
  QueueBroken,        ///< an earlier used-ring error: the queue is unusable until reset
  Timeout,            ///< buffers not returned within the poll budget
  // Device-type requests.
  BadRequest,         ///< the caller's request cannot be expressed (e.g. length not a sector multiple)
  IoError,            ///< device status VIRTIO_BLK_S_IOERR
  Unsupported,        ///< device status VIRTIO_BLK_S_UNSUPP, or a feature not negotiated
  // Bus enumeration (last: the values above keep their numbers).
  EnumerationStuck,   ///< GET_DEVICES windows that never end (next_offset not advancing, too many windows)
};

/// Short stable name, e.g. "features-refused".
[[nodiscard]] std::string_view to_string(VirtioErrc e) noexcept;

/// An error code plus a human-readable account (message, field, expected vs got).
struct VirtioError {
  VirtioErrc code = VirtioErrc::BadResponse;
  std::string message;
};

/// Value-or-VirtioError.
template <typename T>
using VResult = Result<T, VirtioError>;
/// The "nothing to return" value.
using Unit = std::monostate;
/// Success-or-VirtioError.
using VStatus = VResult<Unit>;

/// Builds the error alternative: `return fail(VirtioErrc::Timeout, "...")`.
[[nodiscard]] inline Err<VirtioError> fail(VirtioErrc code, std::string message) {
  return Err<VirtioError>{VirtioError{code, std::move(message)}};
}

/// "code: message", for logs and gtest output.
[[nodiscard]] std::string describe(const VirtioError& e);

}  // namespace vmsg::driver

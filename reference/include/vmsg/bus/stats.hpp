// Counters kept by the device-side virtio-msg bus (bus.hpp).
//
// PR28 has no error message, so everything the bus refuses disappears without
// protocol traffic (VMSG-BUS-017). The counters are how a test, a log or a
// conformance report learns *why* a frame produced no answer (VMSG-BUS-018
// allows logging), and how endpoint bugs (VMSG-BUS-028, VMSG-DEV-001/018)
// surface instead of being silently repaired.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "vmsg/wire/codec.hpp"

namespace vmsg::bus {

/// Number of wire::DecodeError kinds; BusStats keeps one drop counter per kind.
/// Derived from the last enumerator, so it must be revisited if the codec grows
/// a new kind after BadCount.
inline constexpr std::size_t kDecodeErrorKinds =
    static_cast<std::size_t>(wire::DecodeError::BadCount) + 1;

/// What one bus instance has seen and done since construction (or the last
/// Bus::reset_stats()). Every frame given to Bus::receive ends in exactly one
/// of: a forward, an answered bus request, or one drop counter; so
/// frames_received == forwarded_requests + forwarded_events +
/// bus_requests_answered + dropped() + bus responses that could not be encoded.
struct BusStats {
  // ---- driver -> device ----------------------------------------------------
  std::uint64_t frames_received = 0;        ///< every call to Bus::receive
  std::uint64_t forwarded_requests = 0;     ///< transport requests handed to an endpoint
  std::uint64_t forwarded_events = 0;       ///< driver events (EVENT_AVAIL) handed to an endpoint
  std::uint64_t bus_requests_answered = 0;  ///< GET_DEVICES and PING answered by the bus

  /// Malformed frames (VMSG-BUS-016/017), indexed by wire::DecodeError.
  std::array<std::uint64_t, kDecodeErrorKinds> dropped_decode{};
  /// A response (RESPONSE bit set, bus or transport) from the driver: nothing
  /// on the device side asked for it (G12; QEMU answers bus ones again, D13).
  std::uint64_t dropped_response_from_driver = 0;
  /// An event the driver may not send: EVENT_CONFIG, EVENT_USED, EVENT_DEVICE.
  std::uint64_t dropped_wrong_direction_event = 0;
  /// A transport message for a device number with no plugged device
  /// (VMSG-BUS-013, G11; QEMU answers some of them, D9).
  std::uint64_t dropped_no_device = 0;
  /// A well-formed bus message the bus does not implement (none exist with the
  /// PR28 codec, which rejects unknown IDs itself; kept for future profiles).
  std::uint64_t dropped_unknown_bus_message = 0;
  /// Frames dropped only because a fault mode said so (max-message-48).
  std::uint64_t dropped_by_fault = 0;
  /// Frames answered only because a fault mode said so (answer-empty-slot).
  std::uint64_t answered_by_fault = 0;

  // ---- device -> driver ----------------------------------------------------
  std::uint64_t responses_sent = 0;  ///< response frames handed to the FrameSink (transport and bus)
  std::uint64_t events_sent = 0;     ///< event frames handed to the FrameSink (EVENT_USED/CONFIG/DEVICE)
  std::uint64_t suppressed_by_fault = 0;  ///< device frames not sent because of a fault mode (max-message-48)

  // ---- endpoint bugs (the reference device must keep all of these at 0) ----
  /// Forwarded requests the endpoint returned from without posting a response
  /// (VMSG-BUS-028). The bus cannot invent one: PR28 has no error message.
  std::uint64_t missing_responses = 0;
  /// Responses posted beyond the first for one request. They are still
  /// delivered (the bus does not guess which one is right) and counted here.
  std::uint64_t extra_responses = 0;
  /// Responses whose msg_id differs from the request's. Delivered, counted.
  std::uint64_t mismatched_responses = 0;
  /// Posted messages that cannot be encoded within the bus maximum or are
  /// internally inconsistent (VMSG-DEV-001). Not sent. A response that fails
  /// here still counts as posted for missing/extra accounting.
  std::uint64_t unencodable = 0;
  /// Responses posted while no request of that device was being handled
  /// (from advance_time, from an event, after returning). Not sent.
  std::uint64_t unsolicited_responses = 0;
  /// Transport messages posted with a dev_num other than the endpoint's own
  /// (VMSG-DEV-018). Sent with the endpoint's number: the outbox is per
  /// device, so the true origin is known and routing needs it (VMSG-BUS-021).
  std::uint64_t wrong_dev_num = 0;
  /// Posts a device may never make: requests, EVENT_AVAIL, bus messages. Not sent.
  std::uint64_t invalid_posts = 0;
  /// Posts through the outbox of a device that has been unplugged. Not sent.
  std::uint64_t posts_after_unplug = 0;

  /// Drops of `e` (malformed frames of that kind).
  [[nodiscard]] std::uint64_t decode_drops(wire::DecodeError e) const noexcept {
    return dropped_decode[static_cast<std::size_t>(e)];
  }
  /// All malformed-frame drops.
  [[nodiscard]] std::uint64_t decode_drops() const noexcept {
    std::uint64_t n = 0;
    for (std::uint64_t v : dropped_decode) n += v;
    return n;
  }
  /// Every received frame that was discarded, whatever the reason.
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return decode_drops() + dropped_response_from_driver + dropped_wrong_direction_event +
           dropped_no_device + dropped_unknown_bus_message + dropped_by_fault;
  }
  /// Endpoint contract violations of any kind; 0 for a correct device.
  [[nodiscard]] std::uint64_t endpoint_faults() const noexcept {
    return missing_responses + extra_responses + mismatched_responses + unencodable +
           unsolicited_responses + wrong_dev_num + invalid_posts + posts_after_unplug;
  }

  friend bool operator==(const BusStats&, const BusStats&) = default;
};

}  // namespace vmsg::bus

// The device side of one virtio-msg bus instance (one AMP FIFO).
//
// Frames from the driver come in through Bus::receive; the bus validates them
// with the codec, answers the bus messages itself (GET_DEVICES, PING) and
// forwards transport messages to the Endpoint plugged at the header's device
// number. Whatever endpoints post comes back through a per-device Outbox, is
// stamped (token, dev_num, reserved type bits), encoded and handed to the
// FrameSink. The bus is where the spec's bus rules (VMSG-BUS-*) live, so the
// reference device does the spec thing where QEMU does not (amp-pci-device.md
// §10: D9, D12-D15, D34, D36).
//
// Everything is synchronous: an endpoint answers a request before its
// receive() returns (endpoint.hpp), which is what makes "exactly one response
// per request" checkable here and keeps responses in request order per device
// (VMSG-BUS-027) for free.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "vmsg/bus/driver_rule_sink.hpp"
#include "vmsg/bus/endpoint.hpp"
#include "vmsg/bus/frame_sink.hpp"
#include "vmsg/bus/stats.hpp"
#include "vmsg/common/faults.hpp"
#include "vmsg/common/result.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/header.hpp"
#include "vmsg/wire/messages.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::bus {

/// Device numbers per bus instance: QEMU's proxy has 32 slots per FIFO
/// (amp-pci-device.md §6.6), numbered 0..31.
inline constexpr std::uint16_t kMaxDevices = 32;

/// The smallest maximum message size a bus may advertise (VMSG-BUS-008);
/// REV1 raises it to wire::kRev1MinMaxMsgSize (52, REV1 L274-275).
inline constexpr std::uint32_t kMinBusMaxMsgSize = 44;

/// The message size QEMU's packed message struct holds; fault mode
/// "max-message-48" drops transport messages longer than this (D1, D2).
inline constexpr std::uint32_t kFaultMaxMessage = 48;

/// Construction-time choices of a Bus.
struct BusOptions {
  /// Announce plug/unplug with bus EVENT_DEVICE READY/REMOVED (VMSG-BUS-037/038).
  /// Off by default: QEMU's device never sends EVENT_DEVICE (D38), and drivers
  /// written against it may not expect one.
  bool announce_hotplug = false;
  /// REV1 only: this bus instance advertises transport feature bit 0,
  /// VIRTIO_MSG_F_STRICT_CONFIG_GENERATION (REV1 L316-336), so its devices
  /// apply the strict configuration profile. Off by default: the AMP bus
  /// advertises no transport features, as Arm's QEMU proof of concept does.
  /// The transports behind the bus take it through transport::options_for_bus.
  bool strict_config_generation = false;
  /// Fault modes (off = conforming). The bus implements echo-reserved-type-bits,
  /// answer-empty-slot, get-devices-unaligned (PR28 only), answer-bus-responses,
  /// no-size-check, max-message-48, and under REV1 rev1-token-not-copied and
  /// rev1-shm-pr28-layout (bus_faults.cpp); it ignores the rest.
  fault::FaultSet faults{};
  /// Validating reference: where driver-rule violations only the bus can
  /// see (malformed frames, empty device numbers) are reported; null = off.
  /// Not owned; must outlive the bus (driver_frame_rules.hpp).
  DriverRuleSink* rule_sink = nullptr;
  /// The draft the driver is judged in, when it is not the bus's own: a run
  /// that judges a device of one draft under the other still checks its
  /// drivers in the run's draft. Unset = the bus's layout.
  std::optional<wire::Layout> rule_layout{};
};

/// One device-side virtio-msg bus instance with kMaxDevices device numbers.
///
/// Not copyable or movable: endpoints keep references to the outboxes it owns.
/// Endpoints are not owned; each must stay alive while plugged, and must not
/// post after the Bus is destroyed. Not thread-safe (the models are
/// single-threaded; one bus per FIFO).
class Bus {
 public:
  /// `profile` selects the codec layout and the bus maximum message size,
  /// which must be in [kMinBusMaxMsgSize, 65535] (VMSG-BUS-008; msg_size is
  /// le16, virtio-msg.md Q2), or [52, 65535] under REV1 (L252), else ConfigError. `sink` receives every encoded
  /// device->driver frame and must outlive the bus.
  Bus(wire::Profile profile, FrameSink& sink, BusOptions options = {});
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;
  Bus(Bus&&) = delete;
  Bus& operator=(Bus&&) = delete;

  /// Plugs `endpoint` at `dev_num` and calls endpoint.attach(dev_num, outbox).
  /// Throws ConfigError if dev_num >= kMaxDevices or the number is taken.
  /// With announce_hotplug, sends EVENT_DEVICE READY once attached.
  void plug(std::uint16_t dev_num, Endpoint& endpoint);
  /// Removes the device at `dev_num`; ConfigError if none is plugged there.
  /// Its outbox stays valid but discards later posts (posts_after_unplug).
  /// With announce_hotplug, sends EVENT_DEVICE REMOVED.
  void unplug(std::uint16_t dev_num);
  /// Whether a device is plugged at `dev_num` (false for numbers >= kMaxDevices).
  [[nodiscard]] bool present(std::uint16_t dev_num) const noexcept;
  /// Number of plugged devices.
  [[nodiscard]] std::size_t device_count() const noexcept;

  /// One driver->device frame: a FIFO slot whose header msg_size says how many
  /// leading bytes are the message. Rules, in the order applied (the direction
  /// checks come before the device check so a counter names what is wrong with
  /// the message itself, not where it was addressed):
  ///   1. wire::decode fails (type bits 2..7 ignored) -> drop, dropped_decode[kind]
  ///      (VMSG-BUS-016/017; covers bad sizes D14/D16, unknown IDs, unaligned
  ///      GET_DEVICES G13 under PR28, RESPONSE bit on an event ID). Under REV1
  ///      the bus has no transport msg_id check of its own (L549-551): the
  ///      codec's refusal of an unknown transport ID (bit 7 set included) is
  ///      the transport layer's discard, with the same outcome, no traffic.
  ///   2. bus message: GET_DEVICES / PING request -> answered by the bus, dev_num
  ///      ignored, the request's token copied (REV1 L692-694); with the
  ///      RESPONSE bit -> drop, response_from_driver (D13);
  ///      EVENT_DEVICE -> drop, wrong_direction_event
  ///   3. transport message with the RESPONSE bit -> drop, response_from_driver (G12);
  ///      EVENT_CONFIG / EVENT_USED -> drop, wrong_direction_event
  ///   4. dev_num with no plugged device -> drop, no_device (VMSG-BUS-013, G11, D9)
  ///   5. otherwise forwarded unchanged, reserved type bits included (the
  ///      endpoint ignores them, VMSG-DEV-016) (VMSG-BUS-002/004). A request
  ///      must be answered before the endpoint returns; an event never is.
  /// Drops produce no traffic. Exceptions thrown by an endpoint propagate.
  void receive(std::span<const std::uint8_t> frame);

  /// Virtual time passed: forwarded to every plugged endpoint, lowest number first.
  void advance_time(std::uint64_t ns);

  /// Counters since construction or the last reset_stats().
  [[nodiscard]] const BusStats& stats() const noexcept { return stats_; }
  void reset_stats() noexcept { stats_ = BusStats{}; }

  /// Unplugs every device without announcing it and frees every outbox ever
  /// handed out: for an owner that replaces all its endpoints (a target reset
  /// or restore), whose old endpoints must not post again (their outbox
  /// references dangle). Counters are kept.
  void unplug_all() noexcept;
  /// Power-on state: nothing plugged (unplug_all) and counters zero.
  void reset() noexcept;

  /// Counters and plug map at one instant. A value; it names the endpoints
  /// plugged then, which must stay alive while it may be restored.
  struct State {
    const Bus* owner = nullptr;
    std::uint64_t epoch = 0;  ///< the bus's unplug_all() count: whether `outboxes` still live
    BusStats stats;
    std::array<Endpoint*, kMaxDevices> endpoints{};
    std::array<Outbox*, kMaxDevices> outboxes{};
  };
  [[nodiscard]] State save() const noexcept;
  /// Counters back and, with `plugs`, the saved endpoints back in their
  /// slots, silently (a restore is no hotplug): an endpoint plugged now in its
  /// saved slot stays as it is; any other is unplugged; a saved endpoint that
  /// is missing is attached again, to its old outbox while that lives, else
  /// to a fresh one. Endpoint state is not touched (the endpoint restores
  /// it). Throws vmsg::SnapshotError (nothing changed) for another bus's state.
  void restore(const State& s, bool plugs = true);

  [[nodiscard]] const wire::Profile& profile() const noexcept { return profile_; }
  [[nodiscard]] const BusOptions& options() const noexcept { return options_; }
  /// The transport feature bits this bus instance advertises (REV1 L316-336;
  /// wire::transport_feature). Always 0 under PR28, which has none.
  [[nodiscard]] std::uint64_t transport_features() const noexcept;

  /// Largest GET_DEVICES window (in device numbers) whose response fits the
  /// bus maximum: (max_msg_size - 14) * 8, capped at 65528 under PR28 (the
  /// largest aligned le16 count) and 65535 under REV1. 400 for the 64-byte AMP bus.
  [[nodiscard]] std::uint32_t max_get_devices_count() const noexcept;

 private:
  class DeviceOutbox;
  struct InFlight;
  struct Slot {
    Endpoint* endpoint = nullptr;
    DeviceOutbox* outbox = nullptr;  ///< owned by outboxes_
    InFlight* in_flight = nullptr;   ///< the request being handled, if any
  };

  void post_from(std::uint16_t dev_num, const DeviceOutbox& from, const wire::Message& m);
  // Fault-mode paths (bus_faults.cpp); each returns true when it consumed the frame.
  [[nodiscard]] bool fault_pre_decode(std::span<const std::uint8_t> frame);
  [[nodiscard]] Result<wire::Message, wire::DecodeFailure> fault_decode_shorter(std::span<const std::uint8_t> frame);
  [[nodiscard]] bool fault_answer_empty_slot(const wire::Message& m);
  /// The token a response carries: the request's, or 0 under rev1-token-not-copied.
  [[nodiscard]] std::uint16_t response_token(std::uint16_t request_token) const noexcept;
  /// The profile `m` is encoded with: the bus's, or PR28's for GET_SHM under rev1-shm-pr28-layout.
  [[nodiscard]] wire::Profile encoding_profile(const wire::Message& m) const noexcept;
  void fault_answer_get_devices(const wire::Header& h, std::uint16_t offset, std::uint16_t count);
  void handle_bus(const wire::Message& m);
  void forward(std::uint16_t dev_num, const wire::Message& m);
  [[nodiscard]] wire::GetDevicesResp answer_get_devices(const wire::GetDevicesReq& req) const;
  /// Encodes `m` (already stamped) and hands it to the sink; false if unencodable.
  bool send(const wire::Message& m);
  void announce(std::uint16_t dev_num, std::uint16_t state);

  wire::Profile profile_;
  FrameSink& sink_;
  BusOptions options_;
  std::array<Slot, kMaxDevices> slots_{};
  /// Every outbox ever handed out. Kept for the bus's lifetime so a reference
  /// held by an unplugged endpoint never dangles; a re-plug gets a fresh one,
  /// so a stale endpoint can never speak for the new device.
  std::vector<std::unique_ptr<DeviceOutbox>> outboxes_;
  std::uint64_t epoch_ = 0;  ///< unplug_all() calls: a saved outbox pointer is live while this is unchanged
  BusStats stats_{};
};

}  // namespace vmsg::bus

// The validating peer: a decorator around a device endpoint (normally a
// DeviceTransport) that records every driver rule the driver breaks.
//
// It sees every driver message (receive) and every device message (it wraps
// the Outbox handed to attach), keeps its own model of what the driver has
// been shown (device info, offered features, reported status, negotiated
// features, queue state, config generations) and checks each driver message
// against that model before forwarding it unchanged. The inner device still
// decides every answer; the validator never changes traffic.
//
// The model follows what the device *reported*, not what the driver may have
// meant, so a check only fires for a mistake the driver could have avoided
// with what it had been told. The checks are listed in driver_rules.hpp.
//
// Under the REV1-2026 profile it checks REV1's driver rules and logs their
// R1-* IDs (requirements-rev1.toml); a PR28 check with no REV1 counterpart
// stays silent there.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vmsg/bus/endpoint.hpp"
#include "vmsg/transport/driver_rules.hpp"
#include "vmsg/transport/virtqueue_monitor.hpp"
#include "vmsg/transport/virtio_rule_model.hpp"
#include "vmsg/wire/messages.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::transport {

/// Which draft's driver rules a ValidatingEndpoint checks.
struct ValidationProfile {
  wire::Layout layout = wire::Layout::Pr28;
  /// REV1: the bus advertises VIRTIO_MSG_F_STRICT_CONFIG_GENERATION. Off (the
  /// AMP bus advertises no transport features): the baseline profile, where
  /// SET_CONFIG must carry generation 0 (REV1 L403-404).
  bool strict_config_generation = false;
  friend constexpr bool operator==(const ValidationProfile&, const ValidationProfile&) = default;
};

namespace detail {

/// A ValidatingEndpoint's model of what the driver has been shown and owes:
/// its own state, which it saves and restores by value (a base, so the
/// checks keep naming the fields directly).
struct ValidatorModel {
  /// What the driver has been told about one virtqueue.
  struct QueueModel {
    bool queried = false;     ///< GET_VQUEUE answered since the last reset
    std::uint32_t max_size = 0;
    bool configured = false;  ///< live: accepted SET_VQUEUE, or GET_VQUEUE showed cur_size != 0
                              ///< (REV1: the enabled flag)
    bool confirmed = false;   ///< a GET_VQUEUE answer followed the latest SET_VQUEUE
    // REV1: the values the device holds, for the "no update while enabled" rule.
    std::uint32_t size = 0;
    std::uint64_t desc_addr = 0;
    std::uint64_t driver_addr = 0;
    std::uint64_t device_addr = 0;
    // REV1 L1012-1013: the avail index the device was last told about with
    // EVENT_AVAIL (or found at enabling); nullopt while unreadable.
    std::optional<std::uint16_t> notified_idx;
  };

  std::optional<wire::GetDeviceInfoResp> info_;
  std::map<std::uint32_t, std::uint32_t> offered_blocks_;  ///< feature blocks the device reported
  std::uint32_t status_ = 0;                               ///< as last reported by the device
  bool features_written_ = false;                          ///< SET_DRIVER_FEATURES since the last reset
  std::uint64_t driver_features_ = 0;                      ///< blocks 0 and 1 as written since the last reset
  std::uint64_t negotiated_ = 0;                           ///< accepted with FEATURES_OK
  std::optional<std::uint32_t> answered_generation_;       ///< from the latest GET/SET_CONFIG answer
  std::vector<std::uint32_t> event_generations_;           ///< EVENT_CONFIG generations since that answer
  bool generation_refused_ = false;  ///< a SET_CONFIG was refused for its generation; no GET_CONFIG yet
  bool needs_reset_shown_ = false;   ///< the device reported DEVICE_NEEDS_RESET
  bool needs_reset_known_ = false;   ///< ...and a response has reached the driver since
  bool reset_pending_ = false;       ///< REV1: status 0 written, answered non-zero, no 0 read since
  // REV1 (validating_endpoint_rev1.cpp). What the device last answered
  // GET_CONFIG or SET_CONFIG with since the last reset (REV1 L415-416: a
  // reset may change the generation).
  std::optional<std::uint32_t> config_answer_generation_;
  bool reread_owed_ = false;          ///< a GET_CONFIG answer showed the generation moved: GET_CONFIG next (L399-402)
  bool refresh_posted_ = false;       ///< EVENT_CONFIG without data posted, not yet followed by a response
  bool refresh_owed_ = false;         ///< ...and the driver has it: GET_CONFIG before I/O or SET_CONFIG (L405-407)
  bool refresh_zero_range_ = false;   ///< that event had offset and length 0 (L1046-1049)
  std::optional<std::uint8_t> unanswered_;  ///< msg_id of a request the device left unanswered (L565-568)
  std::uint64_t responses_posted_ = 0;
  std::map<std::uint32_t, QueueModel> queues_;
  VirtqueueMonitor rings_;  ///< the split-ring rules read from guest memory (virtqueue_monitor.hpp)
  VirtioRuleModel virtio_;  ///< the virtio core and device-type rules (validating_endpoint_virtio.cpp)
};

}  // namespace detail

/// Endpoint decorator that checks the driver side of the transport.
/// Not copyable or movable (the outbox tap points back at it).
class ValidatingEndpoint final : public bus::Endpoint, private detail::ValidatorModel {
 public:
  /// `inner` must not be null; `log` receives the violations (may be shared
  /// between endpoints and with the bus). Throws vmsg::ConfigError on null.
  ValidatingEndpoint(std::shared_ptr<bus::Endpoint> inner, std::shared_ptr<DriverRuleLog> log,
                     ValidationProfile profile = {});
  ~ValidatingEndpoint() override;
  ValidatingEndpoint(const ValidatingEndpoint&) = delete;
  ValidatingEndpoint& operator=(const ValidatingEndpoint&) = delete;

  // bus::Endpoint
  void attach(std::uint16_t dev_num, bus::Outbox& out) override;
  void attach_memory(pci::DmaSpace& memory) override;
  void receive(const wire::Message& m) override;
  void advance_time(std::uint64_t ns) override;
  /// The model and the inner endpoint's state (which may refuse). Not the
  /// rule log: that is the caller's record of what happened, kept as is.
  [[nodiscard]] snapshot::Handle save_state() const override;
  void restore_state(const snapshot::Handle& state) override;

  [[nodiscard]] bus::Endpoint& inner() noexcept { return *inner_; }
  [[nodiscard]] const std::shared_ptr<DriverRuleLog>& log() const noexcept { return log_; }
  /// The status the device last reported (responses and EVENT_CONFIG).
  [[nodiscard]] std::uint32_t reported_status() const noexcept { return status_; }
  /// Features accepted with FEATURES_OK since the last reset.
  [[nodiscard]] std::uint64_t negotiated_features() const noexcept { return negotiated_; }
  [[nodiscard]] const ValidationProfile& profile() const noexcept { return profile_; }

 private:
  class Tap;

  /// Logs `rule` unless it is null (a PR28 check with no REV1 counterpart).
  void violation(const char* rule, const wire::Message& m, std::string detail);
  /// The ID of the running profile: `pr28` or `rev1` (null: not a REV1 rule).
  [[nodiscard]] const char* id(const char* pr28, const char* rev1) const noexcept { return rev1_ ? rev1 : pr28; }
  // Driver -> device checks, against the model before the message.
  void check(const wire::Message& m);
  void check_features(const wire::Message& m, const wire::SetDriverFeaturesReq& r);
  void check_config(const wire::Message& m, std::uint64_t offset, std::uint64_t length, const char* beyond_rule);
  void check_set_config(const wire::Message& m, const wire::SetConfigReq& r);
  void check_status(const wire::Message& m, const wire::SetDeviceStatusReq& r);
  void check_set_vqueue(const wire::Message& m, const wire::SetVqueueReq& r);
  // REV1-only checks (validating_endpoint_rev1.cpp).
  void check_set_vqueue_rev1(const wire::Message& m, const wire::SetVqueueReq& r, const QueueModel& model);
  void check_reset_pending(const wire::Message& m);
  void observe_vqueue_rev1(const wire::SetVqueueReq& r);
  [[nodiscard]] bool valid_set_vqueue_rev1(const wire::SetVqueueReq& r) const;
  void check_event_avail(const wire::Message& m, const wire::EventAvail& e);
  // REV1: what the driver owes after a device message (validating_endpoint_rev1.cpp).
  void check_owed_rev1(const wire::Message& m);
  void observe_config_rev1(const wire::Message& posted);
  void note_answer_rev1(const wire::Message& m, bool answered);
  void check_unnotified_rev1(const wire::Message& m);
  [[nodiscard]] std::optional<std::uint16_t> read_u16(std::uint64_t addr) const;
  // The split rings in guest memory (VirtqueueMonitor rings_).
  void check_rings(const wire::Message& m);
  void start_ring(std::uint32_t index, std::uint32_t size, std::uint64_t desc, std::uint64_t driver,
                  std::uint64_t device);
  /// Whether buffers made available now owe a notification: DRIVER_OK
  /// reported, no DEVICE_NEEDS_RESET shown, not FAILED.
  [[nodiscard]] bool notifications_owed() const noexcept;
  // The virtio core and device-type driver rules (validating_endpoint_virtio.cpp):
  // checked before the message is forwarded, the model updated from device messages.
  void check_virtio(const wire::Message& m);
  void check_virtio_status(const wire::Message& m, const wire::SetDeviceStatusReq& r);
  void check_virtio_features(const wire::Message& m, const wire::SetDriverFeaturesReq& r);
  void check_virtio_config(const wire::Message& m, std::uint64_t offset, std::uint64_t length);
  void check_config_reads(const wire::Message& m);
  void observe_virtio(const wire::Message& posted);
  // Model updates from the driver message itself (after forwarding).
  void note_request(const wire::Message& m);
  // Device -> driver: model updates (called by the tap before forwarding).
  void observe(const wire::Message& posted);
  void observe_response(const wire::Body& body);
  void note_status(std::uint32_t status);
  void reset_model();
  [[nodiscard]] bool info_known() const noexcept { return info_.has_value(); }
  [[nodiscard]] bool valid_queue_params(const wire::SetVqueueReq& r) const;

  std::shared_ptr<bus::Endpoint> inner_;
  std::shared_ptr<DriverRuleLog> log_;
  pci::DmaSpace* memory_ = nullptr;  ///< the device's view of guest memory (REV1: avail indices)
  ValidationProfile profile_;
  bool rev1_ = false;
  std::unique_ptr<Tap> tap_;
  std::uint16_t dev_num_ = 0;

  /// The driver request being handled (its response is posted meanwhile).
  const wire::Message* current_ = nullptr;

  struct State {
    detail::ValidatorModel model;
    snapshot::Handle inner;
  };

};

}  // namespace vmsg::transport

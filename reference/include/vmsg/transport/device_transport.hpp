// The device side of the virtio-msg transport (PR28 §Transport Messages, or
// REV1-2026 when TransportOptions::layout says so): one instance per occupied
// device number, answering every transport request for its backend and
// emitting EVENT_USED / EVENT_CONFIG.
//
// The behaviour where PR28 leaves a choice is the project reading of
// virtio-msg.md §14.2 (G1-G15); each is named where it is implemented and
// summarised in README. Under REV1 the draft settles most of those choices
// itself (queue state, RESET_VQUEUE, GET_SHM, the generation profiles); that
// behaviour lives in device_transport_rev1.cpp and cites REV1 lines.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "vmsg/bus/bus.hpp"
#include "vmsg/bus/driver_rule_sink.hpp"
#include "vmsg/bus/endpoint.hpp"
#include "vmsg/common/faults.hpp"
#include "vmsg/transport/backend.hpp"
#include "vmsg/virtqueue/split_queue.hpp"
#include "vmsg/wire/messages.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::transport {

/// Choices of a DeviceTransport.
struct TransportOptions {
  std::uint32_t vendor_id = 0x4D534756;  ///< reported in GET_DEVICE_INFO ("VGSM")
  std::uint32_t initial_generation = 0;  ///< the count need not start at 0
  std::uint32_t max_msg_size = 64;       ///< bus maximum: caps GET_CONFIG / feature windows (G2, G3)
  bool offer_indirect = true;            ///< offer VIRTIO_F_INDIRECT_DESC
  bool offer_event_idx = true;           ///< offer VIRTIO_F_EVENT_IDX
  bool offer_ring_reset = true;          ///< offer VIRTIO_F_RING_RESET
  /// Which draft's device behaviour applies; must match the layout of the
  /// bus the transport is plugged into (its responses are encoded there).
  wire::Layout layout = wire::Layout::Pr28;
  /// REV1 only: the bus instance advertises VIRTIO_MSG_F_STRICT_CONFIG_GENERATION,
  /// so SET_CONFIG with a stale generation is refused (strict profile);
  /// otherwise the baseline profile ignores the generation (REV1 L375-467).
  /// PR28 is always strict.
  bool strict_config_generation = false;
  /// REV1 GET_DEVICE_INFO device_uuid: all zero is the nil UUID (none); any
  /// other value must be a version 4 UUID (REV1 L1285-1291), else ConfigError.
  std::array<std::uint8_t, 16> device_uuid{};
  /// Fault modes (off = conforming). The transport implements
  /// no-get-shm-response, generation-not-bumped, reset-keeps-queues,
  /// no-config-event, set-config-ignores-generation, status-high-bits-kept,
  /// used-ignores-suppression, duplicate-response, cur-size-reports-max,
  /// accept-unoffered-features, config-out-of-range-ff,
  /// asan-reset-vqueue-overflow (through pci::DmaSpace::report_fatal of the
  /// memory it is attached to), the feature clipping of max-message-48 and,
  /// under REV1, rev1-vqueue-flags-ignored and rev1-stale-generation-rejected;
  /// it ignores the rest.
  fault::FaultSet faults{};
};

/// The options of a transport plugged into a bus built with `profile` and
/// `bus`: layout, bus maximum and configuration profile (the bus instance's
/// transport feature bits) taken from them, `faults` as given, the rest default.
[[nodiscard]] TransportOptions options_for_bus(const wire::Profile& profile, const bus::BusOptions& bus,
                                               const fault::FaultSet& faults);

/// Counters of one transport instance.
struct TransportStats {
  std::uint64_t requests = 0;
  std::uint64_t event_avail = 0;
  std::uint64_t event_avail_ignored = 0;  ///< before DRIVER_OK, bad or unconfigured queue (G15)
  std::uint64_t event_used_sent = 0;
  std::uint64_t event_config_sent = 0;
  std::uint64_t config_rejected = 0;      ///< SET_CONFIG with stale generation, out of range or refused
  std::uint64_t features_refused = 0;     ///< FEATURES_OK cleared
  std::uint64_t queue_errors = 0;         ///< virtqueue errors that set NEEDS_RESET
  std::uint64_t vqueue_noops = 0;         ///< REV1 SET_VQUEUE / RESET_VQUEUE answered without any change
  std::uint64_t resets = 0;
};

namespace detail {

/// What a DeviceTransport does at run time (status, features, generation,
/// queues, counters): its own state, saved and restored by value. A base of
/// DeviceTransport, so the protocol code keeps naming the fields directly.
struct TransportRun {
  /// Per-queue state: the SET_VQUEUE parameters and, once valid, the queue.
  /// PR28 sets both at once. REV1 may keep fields of a disabled queue, so
  /// there `queue` is engaged exactly while the queue is enabled.
  struct QueueSlot {
    virtqueue::QueueLayout layout{};           ///< as last set (cur_size = layout.size when configured)
    std::optional<virtqueue::SplitQueue> queue;  ///< engaged when configured (REV1: enabled)
    std::uint64_t poll_left_ns = 0;  ///< polling (used flags NO_NOTIFY) for this much more virtual time
  };

  std::uint32_t status_ = 0;
  std::uint32_t generation_ = 0;
  std::uint64_t driver_features_ = 0;
  bool features_accepted_ = false;      ///< FEATURES_OK accepted since the last reset
  bool features_out_of_range_ = false;  ///< a non-zero word for a block past bit 63 was written (G4)
  bool start_queues_ = false;           ///< DRIVER_OK just became set: kick queues after the response
  std::vector<QueueSlot> queues_;
  TransportStats stats_{};
};

}  // namespace detail

/// Device-side transport endpoint. Not copyable or movable (queues and the
/// backend hold pointers into it).
class DeviceTransport final : public bus::Endpoint, private DeviceContext, private detail::TransportRun {
 public:
  /// Throws vmsg::ConfigError under REV1 for a backend with more than 65536
  /// queues (REV1 L1277) or a non-nil device_uuid that is not version 4.
  explicit DeviceTransport(std::unique_ptr<Backend> backend, TransportOptions options = {});
  ~DeviceTransport() override;
  DeviceTransport(const DeviceTransport&) = delete;
  DeviceTransport& operator=(const DeviceTransport&) = delete;

  // bus::Endpoint
  void attach(std::uint16_t dev_num, bus::Outbox& out) override;
  void attach_memory(pci::DmaSpace& memory) override;
  void receive(const wire::Message& m) override;
  void advance_time(std::uint64_t ns) override;
  /// Status, features, generation, queues (with their ring positions) and
  /// counters, plus the backend's state (Backend::save_state, which may refuse).
  [[nodiscard]] snapshot::Handle save_state() const override;
  void restore_state(const snapshot::Handle& state) override;

  [[nodiscard]] Backend& backend() noexcept { return *backend_; }
  /// Where the backend's driver-rule reports go (DeviceContext::driver_rule),
  /// tagged with this device's number; null (the default) drops them. Set by
  /// a validating setup; not part of the saved state.
  void set_driver_rule_sink(std::shared_ptr<bus::DriverRuleSink> sink) noexcept { rule_sink_ = std::move(sink); }
  [[nodiscard]] std::uint32_t status() const noexcept { return status_; }
  [[nodiscard]] std::uint32_t generation() const noexcept { return generation_; }
  [[nodiscard]] std::uint64_t offered_features() const noexcept;
  [[nodiscard]] std::uint64_t driver_features() const noexcept { return driver_features_; }
  /// Whether FEATURES_OK was accepted since the last reset (features frozen, G5).
  [[nodiscard]] bool features_accepted() const noexcept { return features_accepted_; }
  /// The configured queue `q`, or nullptr (out of range or not configured).
  [[nodiscard]] const virtqueue::SplitQueue* configured_queue(unsigned q) const noexcept;
  [[nodiscard]] const TransportStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const TransportOptions& options() const noexcept { return options_; }

 private:
  /// Guest memory before attach_memory(): every access fails, so a queue set
  /// up without memory breaks (DmaFault) instead of touching anything.
  class NullDmaSpace final : public pci::DmaSpace {
   public:
    bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out) override;
    bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) override;
    bool msi_write(std::uint64_t addr, std::uint32_t data) override;
  };

  // DeviceContext
  pci::DmaSpace& memory() override;
  void config_changed(std::uint32_t offset, std::uint32_t length) override;
  void needs_reset() override;
  void used(unsigned q) override;
  [[nodiscard]] bool driver_ok() const override;
  [[nodiscard]] virtqueue::SplitQueue* queue(unsigned q) override;
  void driver_rule(std::string_view rule, std::string_view kind, std::string_view detail) override;

  // One handler per transport request; each returns the response body.
  [[nodiscard]] wire::Body handle(const wire::GetDeviceInfoReq& r);
  [[nodiscard]] wire::Body handle(const wire::GetDeviceFeaturesReq& r);
  [[nodiscard]] wire::Body handle(const wire::SetDriverFeaturesReq& r);
  [[nodiscard]] wire::Body handle(const wire::GetConfigReq& r);
  [[nodiscard]] wire::Body handle(const wire::SetConfigReq& r);
  [[nodiscard]] wire::Body handle(const wire::GetDeviceStatusReq& r);
  [[nodiscard]] wire::Body handle(const wire::SetDeviceStatusReq& r);
  [[nodiscard]] wire::Body handle(const wire::GetVqueueReq& r);
  [[nodiscard]] wire::Body handle(const wire::SetVqueueReq& r);
  [[nodiscard]] wire::Body handle(const wire::ResetVqueueReq& r);
  [[nodiscard]] wire::Body handle(const wire::GetShmReq& r);
  void on_event_avail(const wire::EventAvail& e);

  // REV1 behaviour (device_transport_rev1.cpp).
  [[nodiscard]] bool rev1() const noexcept { return options_.layout == wire::Layout::Rev1; }
  void check_rev1_options() const;
  [[nodiscard]] wire::Body rev1_device_info() const;
  [[nodiscard]] wire::Body rev1_get_vqueue(const wire::GetVqueueReq& r) const;
  [[nodiscard]] wire::Body rev1_set_vqueue(const wire::SetVqueueReq& r);
  [[nodiscard]] wire::Body rev1_reset_vqueue(const wire::ResetVqueueReq& r);
  /// Whether SET_CONFIG refuses a stale generation (PR28; REV1 strict profile).
  [[nodiscard]] bool checks_generation() const noexcept;
  [[nodiscard]] bool ring_reset_negotiated() const noexcept;

  /// PR28's SET_VQUEUE: configure and enable at once (also REV1 under rev1-vqueue-flags-ignored).
  [[nodiscard]] wire::Body set_vqueue_now(const wire::SetVqueueReq& r);
  /// The ring features the driver selected among the offered ones.
  [[nodiscard]] virtqueue::QueueFeatures queue_features() const noexcept;
  /// The queue-level faults of options_.faults (used-len-whole-chain).
  [[nodiscard]] virtqueue::QueueFaults queue_faults() const noexcept;
  /// Highest offered feature bit + 1, rounded up to whole 32-bit blocks.
  [[nodiscard]] std::uint32_t offered_blocks() const noexcept;

  void post(std::uint16_t token, wire::Body body);
  /// Writes config bytes (in range) through the backend and bumps the
  /// generation if they changed; false if the backend refused them.
  [[nodiscard]] bool apply_config(std::uint32_t offset, std::span<const std::uint8_t> data);
  [[nodiscard]] bool has(fault::Fault f) const noexcept { return options_.faults.has(f); }
  void reset_device();
  [[nodiscard]] bool features_acceptable();
  void drop_queue(unsigned q);
  [[nodiscard]] bool can_process(std::uint64_t q) const noexcept;
  void run_queue(unsigned q);
  /// A kick on queue q starts (or restarts) the backend's poll window.
  void start_polling(unsigned q);
  /// One poll of every polling queue after `ns` of virtual time; a window
  /// that ends clears NO_NOTIFY and looks at the ring once more.
  void poll_queues(std::uint64_t ns);
  void notify_used(unsigned q, virtqueue::SplitQueue& queue);
  void queue_error();

  std::unique_ptr<Backend> backend_;
  TransportOptions options_;
  std::uint16_t dev_num_ = 0;
  bus::Outbox* out_ = nullptr;
  NullDmaSpace null_memory_;
  pci::DmaSpace* memory_ = nullptr;
  std::shared_ptr<bus::DriverRuleSink> rule_sink_;

  struct State {
    detail::TransportRun run;
    snapshot::Handle backend;
  };
};

}  // namespace vmsg::transport

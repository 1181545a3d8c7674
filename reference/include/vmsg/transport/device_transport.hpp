// The device side of the virtio-msg transport (PR28 §Transport Messages):
// one instance per occupied device number, answering every transport request
// for its backend and emitting EVENT_USED / EVENT_CONFIG.
//
// The behaviour where the draft leaves a choice is the project reading of
// virtio-msg.md §14.2 (G1-G15); each is named where it is implemented and
// summarised in README.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "vmsg/bus/endpoint.hpp"
#include "vmsg/common/faults.hpp"
#include "vmsg/transport/backend.hpp"
#include "vmsg/virtqueue/split_queue.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::transport {

/// Choices of a DeviceTransport.
struct TransportOptions {
  std::uint32_t vendor_id = 0x4D534756;  ///< reported in GET_DEVICE_INFO ("VGSM")
  std::uint32_t initial_generation = 0;  ///< the count need not start at 0
  std::uint32_t max_msg_size = 64;       ///< bus maximum: caps GET_CONFIG / feature windows (G2, G3)
  bool offer_indirect = true;            ///< offer VIRTIO_F_INDIRECT_DESC
  bool offer_event_idx = true;           ///< offer VIRTIO_F_EVENT_IDX
  bool offer_ring_reset = true;          ///< offer VIRTIO_F_RING_RESET
  /// Fault modes (off = conforming). The transport implements
  /// no-get-shm-response, generation-not-bumped, reset-keeps-queues,
  /// no-config-event, set-config-ignores-generation, status-high-bits-kept,
  /// used-ignores-suppression, duplicate-response, cur-size-reports-max,
  /// accept-unoffered-features, config-out-of-range-ff,
  /// asan-reset-vqueue-overflow (through pci::DmaSpace::report_fatal of the
  /// memory it is attached to) and the feature clipping of max-message-48;
  /// it ignores the rest.
  fault::FaultSet faults{};
};

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
  std::uint64_t resets = 0;
};

/// Device-side transport endpoint. Not copyable or movable (queues and the
/// backend hold pointers into it).
class DeviceTransport final : public bus::Endpoint, private DeviceContext {
 public:
  explicit DeviceTransport(std::unique_ptr<Backend> backend, TransportOptions options = {});
  ~DeviceTransport() override;
  DeviceTransport(const DeviceTransport&) = delete;
  DeviceTransport& operator=(const DeviceTransport&) = delete;

  // bus::Endpoint
  void attach(std::uint16_t dev_num, bus::Outbox& out) override;
  void attach_memory(pci::DmaSpace& memory) override;
  void receive(const wire::Message& m) override;
  void advance_time(std::uint64_t ns) override;

  [[nodiscard]] Backend& backend() noexcept { return *backend_; }
  [[nodiscard]] std::uint32_t status() const noexcept { return status_; }
  [[nodiscard]] std::uint32_t generation() const noexcept { return generation_; }
  [[nodiscard]] std::uint64_t offered_features() const noexcept;
  [[nodiscard]] std::uint64_t driver_features() const noexcept { return driver_features_; }
  /// Whether FEATURES_OK was accepted since the last reset (features frozen, G5).
  [[nodiscard]] bool features_accepted() const noexcept { return features_accepted_; }
  /// The configured queue `q`, or nullptr (out of range or not configured).
  [[nodiscard]] const virtqueue::SplitQueue* configured_queue(unsigned q) const noexcept;
  [[nodiscard]] const TransportStats& stats() const noexcept { return stats_; }

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
  void notify_used(unsigned q, virtqueue::SplitQueue& queue);
  void queue_error();

  /// Per-queue state: the SET_VQUEUE parameters and, once valid, the queue.
  struct QueueSlot {
    virtqueue::QueueLayout layout{};           ///< as last set (cur_size = layout.size when configured)
    std::optional<virtqueue::SplitQueue> queue;  ///< engaged when configured
  };

  std::unique_ptr<Backend> backend_;
  TransportOptions options_;
  std::uint16_t dev_num_ = 0;
  bus::Outbox* out_ = nullptr;
  NullDmaSpace null_memory_;
  pci::DmaSpace* memory_ = nullptr;
  std::uint32_t status_ = 0;
  std::uint32_t generation_ = 0;
  std::uint64_t driver_features_ = 0;
  bool features_accepted_ = false;      ///< FEATURES_OK accepted since the last reset
  bool features_out_of_range_ = false;  ///< a non-zero word for a block past bit 63 was written (G4)
  bool start_queues_ = false;           ///< DRIVER_OK just became set: kick queues after the response
  std::vector<QueueSlot> queues_;
  TransportStats stats_{};
};

}  // namespace vmsg::transport

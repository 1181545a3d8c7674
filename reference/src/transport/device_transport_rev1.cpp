// DeviceTransport under REV1-2026 (TransportOptions::layout == Rev1): the
// behaviour the draft settles where PR28 left a project reading (G8, G9, G10)
// or had a different rule: GET_DEVICE_INFO's feature blocks and UUID, the
// queue enabled state, SET_VQUEUE's flags, RESET_VQUEUE without RING_RESET
// and the configuration semantics profiles.
#include <string>

#include "vmsg/transport/rev1_vqueue.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::transport {
namespace {

namespace feature = virtqueue::feature;

/// max_virtqueues is at most this (REV1 L1277).
constexpr std::uint64_t kRev1MaxVirtqueues = 65536;

/// RFC 4122 version 4: version nibble 4 in byte 6, variant bits 10 in byte 8.
bool nil_or_v4(const std::array<std::uint8_t, 16>& uuid) noexcept {
  bool nil = true;
  for (const std::uint8_t b : uuid) nil = nil && b == 0;
  return nil || ((uuid[6] >> 4) == 4 && (uuid[8] >> 6) == 2);
}

}  // namespace

void DeviceTransport::check_rev1_options() const {
  if (backend_->num_queues() > kRev1MaxVirtqueues) {
    throw ConfigError("virtio-msg transport: " + std::to_string(backend_->num_queues()) +
                      " queues, REV1 allows at most 65536 (REV1 L1277)");
  }
  if (!nil_or_v4(options_.device_uuid)) {
    throw ConfigError("virtio-msg transport: device_uuid is neither nil nor a version 4 UUID (REV1 L1287-1291)");
  }
}

bool DeviceTransport::checks_generation() const noexcept {
  if (!rev1()) return !has(fault::Fault::SetConfigIgnoresGeneration);
  // REV1 L431-434 (baseline: never refuse for the generation), L459-461 (strict).
  if (options_.strict_config_generation) return !has(fault::Fault::SetConfigIgnoresGeneration);
  return has(fault::Fault::Rev1StaleGenerationRejected);
}

bool DeviceTransport::ring_reset_negotiated() const noexcept {
  return features_accepted_ && (driver_features_ & feature::bit(feature::kRingReset)) != 0;
}

wire::Body DeviceTransport::rev1_device_info() const {
  // REV1 L1270-1291: enough blocks for every offered bit, no admin queues,
  // the nil UUID unless one was configured.
  return wire::GetDeviceInfoResp{.device_id = backend_->device_id(),
                                 .vendor_id = options_.vendor_id,
                                 .num_feature_bits = 0,
                                 .config_size = backend_->config_size(),
                                 .max_virtqueues = backend_->num_queues(),
                                 .admin_vq_start = 0,
                                 .admin_vq_count = 0,
                                 .num_feature_blocks = offered_blocks(),
                                 .device_uuid = options_.device_uuid};
}

wire::Body DeviceTransport::rev1_get_vqueue(const wire::GetVqueueReq& r) const {
  wire::GetVqueueResp resp{.index = r.index};
  if (r.index >= queues_.size()) return resp;  // L1591-1596: the all-zero sentinel, index echoed
  const QueueSlot& slot = queues_[r.index];
  resp.max_size = backend_->max_queue_size(r.index);
  // The stored fields whether or not the queue is enabled: a disabled queue
  // may already have them (state op 0), and cur_size 0 means never set (L1588-1590).
  resp.cur_size = slot.layout.size;
  resp.desc_addr = slot.layout.desc_addr;
  resp.driver_addr = slot.layout.driver_addr;
  resp.device_addr = slot.layout.device_addr;
  if (slot.layout.size == 0 && !slot.queue && has(fault::Fault::CurSizeReportsMax)) resp.cur_size = resp.max_size;
  resp.flags = slot.queue ? wire::vqueue_flags::kEnabled : 0;  // L1597-1598
  return resp;
}

wire::Body DeviceTransport::rev1_set_vqueue(const wire::SetVqueueReq& r) {
  // Every outcome gets the normal empty response (L1673-1700).
  if (r.index >= queues_.size()) {
    ++stats_.vqueue_noops;
    return wire::SetVqueueResp{};
  }
  QueueSlot& slot = queues_[r.index];
  const auto plan = rev1::plan_set_vqueue(
      r, rev1::QueueState{slot.layout, slot.queue.has_value(), backend_->max_queue_size(r.index)});
  if (!plan) {
    ++stats_.vqueue_noops;
    return wire::SetVqueueResp{};
  }
  if (plan->enable) {
    // All or nothing (L1685-1688): a ring the layout cannot hold (misaligned,
    // wrapping, never given a size) leaves the stored fields as they were too.
    auto created = virtqueue::SplitQueue::create(memory(), plan->layout, queue_features(), queue_faults());
    if (!created) {
      ++stats_.vqueue_noops;
      return wire::SetVqueueResp{};
    }
    slot.queue.emplace(std::move(created).value());
  }
  slot.layout = plan->layout;
  return wire::SetVqueueResp{};
}

wire::Body DeviceTransport::rev1_reset_vqueue(const wire::ResetVqueueReq& r) {
  // L1734-1740: out of range, or RING_RESET not negotiated: nothing happens.
  if (r.index >= queues_.size() || !ring_reset_negotiated()) {
    ++stats_.vqueue_noops;
    return wire::ResetVqueueResp{};
  }
  // L1741-1744: stopped (the model is synchronous) and back to its initial
  // state, disabled with no fields, ready for SET_VQUEUE.
  const QueueSlot& slot = queues_[r.index];
  if (slot.queue || slot.layout != virtqueue::QueueLayout{}) drop_queue(r.index);
  return wire::ResetVqueueResp{};
}

}  // namespace vmsg::transport

// The REV1-2026 half of the validating endpoint: SET_VQUEUE with its flags
// word (REV1 L1607-1700), the reset that completes after its answer
// (REV1 L1490-1493, L1530-1535), and what a driver owes after certain device
// messages: a re-read when the generation moved (L399-402), a refresh after
// EVENT_CONFIG without data (L405-407, L1046-1049), and a reset after a
// request the device never answered (L565-568). IDs are those of
// requirements-rev1.toml.
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>

#include "validation_helpers.hpp"
#include "vmsg/transport/validating_endpoint.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::transport {

namespace {

namespace vf = wire::vqueue_flags;
using vmsg::hex;

/// The SET_VQUEUE fields a request applies: those whose ignore bit is clear.
struct Applied {
  bool size;
  bool desc;
  bool driver;
  bool device;
  explicit Applied(std::uint32_t flags)
      : size((flags & vf::kIgnoreSize) == 0),
        desc((flags & vf::kIgnoreDesc) == 0),
        driver((flags & vf::kIgnoreDriver) == 0),
        device((flags & vf::kIgnoreDevice) == 0) {}
};

}  // namespace

void ValidatingEndpoint::check_set_vqueue_rev1(const wire::Message& m, const wire::SetVqueueReq& r,
                                               const QueueModel& model) {
  const std::string q = "queue " + std::to_string(r.index) + ": ";
  const std::uint32_t op = r.flags & vf::kStateOpMask;
  const Applied applied(r.flags);
  if (op == vf::kEnable && (status_ & wire::status::kFeaturesOk) == 0) {  // REV1 L847-850
    violation("R1-DRV-026", m, q + "enabled while the device reports " + hex(status_) + " (no FEATURES_OK)");
  }
  if (!model.queried) {  // REV1 L1578-1580 (MUST) and L1653-1654 (SHOULD): the same missing query
    violation("R1-DRV-062", m, q + "no GET_VQUEUE of this queue since the last reset");
    violation("R1-DRV-066", m, q + "no GET_VQUEUE of this queue since the last reset");
  } else if (model.max_size == 0 && op == vf::kEnable) {  // L1578-1580: max_size 0 is no usable queue
    violation("R1-DRV-062", m, q + "enabled although GET_VQUEUE reported max_size 0");
  }
  if (r.reserved != 0 || (r.flags & vf::kReservedMask) != 0) {  // REV1 L1649-1650
    violation("R1-DRV-064", m, q + "reserved " + hex(r.reserved) + ", flags " + hex(r.flags) + " (bits 31..6 must be 0)");
  }
  if (op == vf::kReservedOp) violation("R1-DRV-065", m, q + "state operation 3 (reserved)");  // REV1 L1651-1652
  if (op == vf::kKeepDisabled && model.configured) {                                          // REV1 L1655-1656
    violation("R1-DRV-067", m, q + "state operation 0 on an enabled queue");
  }
  // REV1 L1581-1583, L1657-1658; a max_size of 0 is R1-DRV-062's case above.
  if (applied.size && model.queried && model.max_size != 0 && r.size > model.max_size) {
    const std::string detail = q + "size " + std::to_string(r.size) + " > max_size " + std::to_string(model.max_size);
    violation("R1-DRV-063", m, detail);
    violation("R1-DRV-068", m, detail);
  }
  if (!detail::aligned_applied(r, applied.desc, applied.driver, applied.device)) {  // REV1 L1659-1660
    const std::string where = q + "desc " + hex(r.desc_addr) + " (16), driver " + hex(r.driver_addr) + " (2), device " +
                              hex(r.device_addr) + " (4), flags " + hex(r.flags);
    violation("R1-DRV-069", m, where);
    violation("VIRTIO-RING-001", m, where);  // the core rule it restates (split-ring.tex L61-63)
  }
  if (model.configured) {
    const bool changes = (applied.size && r.size != model.size) || (applied.desc && r.desc_addr != model.desc_addr) ||
                         (applied.driver && r.driver_addr != model.driver_addr) ||
                         (applied.device && r.device_addr != model.device_addr);
    if (changes) {
      violation("R1-DRV-070", m, q + "size or ring addresses changed while the queue is enabled");  // L1661-1662
      if ((negotiated_ & detail::bit(detail::kRingResetBit)) != 0) {                              // L1663-1664
        violation("R1-DRV-071", m, q + "reprogrammed while enabled, without RESET_VQUEUE (RING_RESET negotiated)");
      }
    }
  }
}

void ValidatingEndpoint::check_reset_pending(const wire::Message& m) {
  if (!reset_pending_) return;
  // Until a status read shows 0 only status traffic may follow a reset that
  // was answered non-zero: reads to poll it, or another write of 0.
  const auto* ss = std::get_if<wire::SetDeviceStatusReq>(&m.body);
  if (std::holds_alternative<wire::GetDeviceStatusReq>(m.body) || (ss != nullptr && (ss->status & 0xFF) == 0)) return;
  const std::string detail = "sent before GET_DEVICE_STATUS showed the reset complete";
  violation("R1-DRV-059", m, detail);  // REV1 L1490-1493
  violation("R1-DRV-061", m, detail);  // REV1 L1532-1535
}

bool ValidatingEndpoint::valid_set_vqueue_rev1(const wire::SetVqueueReq& r) const {
  // What a REV1 device must refuse (it answers as usual but changes nothing,
  // REV1 L1677-1700): reserved bits or op 3, op 0 on an enabled queue, any
  // update of an enabled queue, and an out-of-range queue.
  const std::uint32_t op = r.flags & vf::kStateOpMask;
  if (r.reserved != 0 || (r.flags & vf::kReservedMask) != 0 || op == vf::kReservedOp) return false;
  if (r.index >= detail::kModelQueues || (info_known() && r.index >= info_->max_virtqueues)) return false;
  const auto it = queues_.find(r.index);
  const bool enabled = it != queues_.end() && it->second.configured;
  const Applied applied(r.flags);
  if (enabled && (op == vf::kKeepDisabled || applied.size || applied.desc || applied.driver || applied.device)) {
    return false;
  }
  // Past that the device's own checks decide; the ones the driver was told
  // about (max_size, alignment) are modelled, a split ring's power of two too.
  if (applied.size && (r.size == 0 || !std::has_single_bit(r.size))) return false;
  if (applied.size && it != queues_.end() && it->second.queried && r.size > it->second.max_size) return false;
  return detail::aligned_applied(r, applied.desc, applied.driver, applied.device);
}

void ValidatingEndpoint::observe_vqueue_rev1(const wire::SetVqueueReq& r) {
  if (!valid_set_vqueue_rev1(r)) return;
  QueueModel& q = queues_[r.index];
  const Applied applied(r.flags);
  if (applied.size) q.size = r.size;
  if (applied.desc) q.desc_addr = r.desc_addr;
  if (applied.driver) q.driver_addr = r.driver_addr;
  if (applied.device) q.device_addr = r.device_addr;
  if ((r.flags & vf::kStateOpMask) == vf::kEnable && !q.configured) {
    q.configured = true;
    q.notified_idx = read_u16(q.driver_addr + 2);  // nothing is owed for what was there before
    start_ring(r.index, q.size, q.desc_addr, q.driver_addr, q.device_addr);
  }
  q.confirmed = false;
}

std::optional<std::uint16_t> ValidatingEndpoint::read_u16(std::uint64_t addr) const {
  if (memory_ == nullptr) return std::nullopt;
  return detail::read_le<std::uint16_t>(*memory_, addr);
}

void ValidatingEndpoint::check_unnotified_rev1(const wire::Message& m) {
  // REV1 L1012-1013 (no polling-only mode can be selected on AMP, L1008-1011):
  // buffers made available must be announced with EVENT_AVAIL. A driver that
  // sends anything else while an enabled queue's avail index moved past what
  // it announced, and the device had asked to be told, left them unannounced.
  // Nothing is owed for buffers published before DRIVER_OK (R1-DRV-036
  // governs those), after DEVICE_NEEDS_RESET (no more I/O, R1-DRV-058) or
  // after FAILED (the driver gave up): the count starts again from there.
  const bool owed = notifications_owed();
  const auto* ea = std::get_if<wire::EventAvail>(&m.body);
  for (auto& [index, q] : queues_) {
    if (!q.configured || !q.notified_idx) continue;
    const auto now = read_u16(q.driver_addr + 2);
    if (!now) continue;
    if (!owed || (ea != nullptr && ea->vq_index == index)) {
      q.notified_idx = now;
      continue;
    }
    if (*now == *q.notified_idx) continue;
    // Suppressed by the device: VRING_USED_F_NO_NOTIFY, or with EVENT_IDX an
    // avail_event outside the new entries (core spec, vring_need_event).
    const auto flags = read_u16(q.device_addr);
    bool asked = flags && (*flags & 1U) == 0;
    if (asked && (negotiated_ & detail::bit(detail::kEventIdxBit)) != 0) {
      const auto event = read_u16(q.device_addr + 4 + 8ULL * q.size);
      asked = event && static_cast<std::uint16_t>(*now - *event - 1) <
                           static_cast<std::uint16_t>(*now - *q.notified_idx);
    }
    if (asked) {
      violation("R1-DRV-040", m, "queue " + std::to_string(index) + ": avail index " + std::to_string(*q.notified_idx) +
                                     " -> " + std::to_string(*now) + " with no EVENT_AVAIL");
    }
    q.notified_idx = now;  // reported once per publication
  }
}

void ValidatingEndpoint::check_owed_rev1(const wire::Message& m) {
  const bool get_config = std::holds_alternative<wire::GetConfigReq>(m.body);
  const auto* ss = std::get_if<wire::SetDeviceStatusReq>(&m.body);
  const bool reset = ss != nullptr && (ss->status & 0xFF) == 0;  // starting over settles every debt below
  if (reread_owed_) {
    reread_owed_ = false;  // the answer to this message decides afresh
    if (!get_config && !reset) {
      violation("R1-DRV-008", m, "GET_CONFIG answered generation " + std::to_string(*config_answer_generation_) +
                                     ", not that of the previous config answer; no re-read followed");
    }
  }
  if (get_config) {
    // A GET_CONFIG sent after the event refreshes, whether or not the driver had seen it.
    refresh_posted_ = false;
    refresh_owed_ = false;
  } else if (refresh_owed_ && (std::holds_alternative<wire::EventAvail>(m.body) ||
                               std::holds_alternative<wire::SetConfigReq>(m.body))) {
    refresh_owed_ = false;
    const std::string detail = "EVENT_CONFIG without data was delivered; no GET_CONFIG since";
    if (!profile_.strict_config_generation) violation("R1-DRV-010", m, detail);  // baseline only (L405-407)
    if (refresh_zero_range_) violation("R1-DRV-042", m, detail + " (offset and length 0)");
  }
  if (unanswered_) {
    const bool retry = wire::msg_id(m.body) == *unanswered_;
    const bool status_read = std::holds_alternative<wire::GetDeviceStatusReq>(m.body);
    if (reset) {
      unanswered_.reset();
    } else if (!retry && !status_read) {
      violation("R1-DRV-016", m, "went on after a request (msg_id " + hex(*unanswered_) +
                                     ") the device never answered, without a reset (SET_DEVICE_STATUS 0)");
      unanswered_.reset();  // reported once per failed request
    }
  }
}

void ValidatingEndpoint::observe_config_rev1(const wire::Message& posted) {
  if (const auto* ev = std::get_if<wire::EventConfig>(&posted.body)) {
    // Data omitted (length 0): a refresh with GET_CONFIG is owed, when there
    // is configuration to refresh at all. DEVICE_NEEDS_RESET asks for a reset
    // instead (REV1 L1487-1489), after which the driver reads afresh anyway.
    const bool needs_reset = (ev->device_status & wire::status::kNeedsReset) != 0;
    if (ev->length == 0 && !needs_reset && info_known() && info_->config_size != 0) {
      refresh_posted_ = true;
      refresh_zero_range_ = ev->offset == 0;
    }
    return;
  }
  // A response: the driver holds every device message posted before it
  // (they reach it in order), the event included.
  if (refresh_posted_) {
    refresh_posted_ = false;
    refresh_owed_ = true;
  }
  if (const auto* gc = std::get_if<wire::GetConfigResp>(&posted.body)) {
    if (config_answer_generation_ && *config_answer_generation_ != gc->generation) reread_owed_ = true;
    config_answer_generation_ = gc->generation;
  } else if (const auto* sc = std::get_if<wire::SetConfigResp>(&posted.body)) {
    config_answer_generation_ = sc->generation;  // the driver's own write moved it: nothing to re-read
  }
}

void ValidatingEndpoint::note_answer_rev1(const wire::Message& m, bool answered) {
  const std::uint8_t id = wire::msg_id(m.body);
  if (!answered) {
    unanswered_ = id;
  } else if (unanswered_ == id) {
    unanswered_.reset();  // a retry got through: the request did not fail
  }
}

}  // namespace vmsg::transport

// The REV1-2026 half of the validating endpoint: SET_VQUEUE with its flags
// word (REV1 L1607-1700) and the reset that completes after its answer
// (REV1 L1490-1493, L1530-1535). IDs are those of requirements-rev1.toml.
#include <bit>
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
  if (!model.queried) violation("R1-DRV-062", m, q + "no GET_VQUEUE of this queue since the last reset");
  if (r.reserved != 0 || (r.flags & vf::kReservedMask) != 0) {  // REV1 L1649-1650
    violation("R1-DRV-064", m, q + "reserved " + hex(r.reserved) + ", flags " + hex(r.flags) + " (bits 31..6 must be 0)");
  }
  if (op == vf::kReservedOp) violation("R1-DRV-065", m, q + "state operation 3 (reserved)");  // REV1 L1651-1652
  if (op == vf::kKeepDisabled && model.configured) {                                          // REV1 L1655-1656
    violation("R1-DRV-067", m, q + "state operation 0 on an enabled queue");
  }
  if (applied.size && model.queried && r.size > model.max_size) {  // REV1 L1581-1583, L1657-1658
    const std::string detail = q + "size " + std::to_string(r.size) + " > max_size " + std::to_string(model.max_size);
    violation("R1-DRV-063", m, detail);
    violation("R1-DRV-068", m, detail);
  }
  if (!detail::aligned_applied(r, applied.desc, applied.driver, applied.device)) {  // REV1 L1659-1660
    violation("R1-DRV-069", m,
              q + "desc " + hex(r.desc_addr) + " (16), driver " + hex(r.driver_addr) + " (2), device " +
                  hex(r.device_addr) + " (4), flags " + hex(r.flags));
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
  if ((r.flags & vf::kStateOpMask) == vf::kEnable) q.configured = true;
  q.confirmed = false;
}

}  // namespace vmsg::transport

#include "vmsg/transport/rev1_vqueue.hpp"

#include <bit>

#include "vmsg/wire/constants.hpp"

namespace vmsg::transport::rev1 {

namespace vf = wire::vqueue_flags;

Result<VqueueUpdate, VqueueRefusal> plan_set_vqueue(const wire::SetVqueueReq& r, const QueueState& q) noexcept {
  if (r.reserved != 0 || (r.flags & ~vf::kDefined) != 0) return Err{VqueueRefusal::ReservedBits};
  const std::uint32_t op = r.flags & vf::kStateOpMask;
  if (op != vf::kKeepDisabled && op != vf::kEnable && op != vf::kKeepState) return Err{VqueueRefusal::ReservedStateOp};
  if (q.enabled && op == vf::kKeepDisabled) return Err{VqueueRefusal::DisableEnabled};
  // Reading of "attempts to update" (L1692-1696): any field whose ignore bit
  // is clear counts, even when it carries the value already stored.
  if (q.enabled && (r.flags & vf::kIgnoreAll) != vf::kIgnoreAll) return Err{VqueueRefusal::UpdateEnabled};

  VqueueUpdate u{q.layout, false};
  if ((r.flags & vf::kIgnoreSize) == 0) {
    if (r.size == 0 || r.size > q.max_size || !std::has_single_bit(r.size)) return Err{VqueueRefusal::BadSize};
    u.layout.size = r.size;
  }
  if ((r.flags & vf::kIgnoreDesc) == 0) u.layout.desc_addr = r.desc_addr;
  if ((r.flags & vf::kIgnoreDriver) == 0) u.layout.driver_addr = r.driver_addr;
  if ((r.flags & vf::kIgnoreDevice) == 0) u.layout.device_addr = r.device_addr;
  u.enable = op == vf::kEnable && !q.enabled;
  return u;
}

}  // namespace vmsg::transport::rev1

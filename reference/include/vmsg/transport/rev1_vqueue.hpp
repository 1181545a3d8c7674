// REV1-2026 SET_VQUEUE: which requests change a queue and how (REV1 L1603-1700).
// Pure, so every flag combination can be checked without a device; the
// DeviceTransport applies the result (device_transport_rev1.cpp).
#pragma once

#include <cstdint>

#include "vmsg/common/result.hpp"
#include "vmsg/virtqueue/split_queue.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::transport::rev1 {

/// One queue as SET_VQUEUE finds it.
struct QueueState {
  virtqueue::QueueLayout layout{};  ///< the stored fields (all zero when never set, reset or RESET_VQUEUE'd)
  bool enabled = false;
  std::uint32_t max_size = 0;       ///< the device's maximum for this queue
};

/// What an accepted SET_VQUEUE does: the fields to keep and whether the
/// queue goes from disabled to enabled. The caller still has to build the
/// ring when `enable` is set; if that fails the request changes nothing.
struct VqueueUpdate {
  virtqueue::QueueLayout layout{};
  bool enable = false;
};

/// Why a SET_VQUEUE changes nothing. It is answered all the same.
enum class VqueueRefusal : std::uint8_t {
  ReservedBits,    ///< `reserved` non-zero or flags bits 31..6 set (REV1 L1677-1680)
  ReservedStateOp, ///< state op 3 (REV1 L1677-1680)
  DisableEnabled,  ///< state op 0 on an enabled queue (REV1 L1681-1684)
  UpdateEnabled,   ///< a field update (ignore bit clear) on an enabled queue (REV1 L1692-1696)
  BadSize,         ///< an applied size of 0, above max_size or not a power of two (the ring cannot hold it)
};

/// Decides a SET_VQUEUE for an existing queue (the caller drops indexes
/// >= the queue count first, REV1 L1673-1676). Fields whose ignore bit is set
/// keep their stored value (L1689-1691); the state op applies after the
/// fields (L1697-1699) and never disables an enabled queue.
[[nodiscard]] Result<VqueueUpdate, VqueueRefusal> plan_set_vqueue(const wire::SetVqueueReq& r,
                                                                  const QueueState& q) noexcept;

}  // namespace vmsg::transport::rev1

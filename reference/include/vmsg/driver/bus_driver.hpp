// The driver-side bus on one AMP FIFO: several device drivers share one
// FifoLink, and device-originated events must reach the driver of the device
// they concern, whichever driver happened to be polling when they arrived.
//
// FifoLink::request() parks every frame that is not its response; BusDriver
// moves those, and whatever pump() drains, into one queue per device number
// in arrival order. Arrival order matters: an EVENT_CONFIG parked before a
// GET_CONFIG response is older than that response (VMSG-BUS-027 keeps
// per-device order), so a transport driver applies its filed events before
// the response it just received.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>

#include "vmsg/common/result.hpp"
#include "vmsg/driver/fifo_link.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::driver {

/// Counters of one BusDriver.
struct BusDriverStats {
  std::uint64_t requests = 0;         ///< request() calls
  std::uint64_t events_sent = 0;      ///< send_event() messages posted
  std::uint64_t frames_pumped = 0;    ///< frames pump() took from the device queue
  std::uint64_t events_filed = 0;     ///< EVENT_USED/EVENT_CONFIG/EVENT_DEVICE filed per device
  std::uint64_t stray_frames = 0;     ///< responses nobody waits for, device-sent requests: dropped
  std::uint64_t malformed = 0;        ///< frames that did not decode: dropped
  std::uint64_t msis = 0;             ///< MSI words consumed by pump()
  std::uint64_t full_retries = 0;     ///< send_event() waits for a free driver-queue slot
};

/// Shares one FifoLink between the drivers of the devices behind it.
/// Holds a non-owning reference: the link must outlive it. Not thread-safe.
class BusDriver {
 public:
  explicit BusDriver(FifoLink& link) : link_(&link) {}

  /// FifoLink::request, then files what the link parked meanwhile.
  Result<wire::Message, LinkError> request(const wire::Message& m);
  /// Posts a one-way message (EVENT_AVAIL) and rings the doorbell; no
  /// response is expected. While the driver queue is full, drains the device
  /// queue and lets time pass, up to the link's poll budget (QueueFull then).
  Result<std::size_t, LinkError> send_event(const wire::Message& m);

  /// Consumes the FIFO's MSI word if set, then files everything the device
  /// queue holds. Returns the number of frames taken from the device queue.
  std::size_t pump();
  /// Advances the target's clock (devices complete work, deferred frames flush).
  void idle(std::uint64_t ns);

  /// Events filed for `dev` so far, oldest first, removed from the bus driver.
  [[nodiscard]] std::deque<wire::Message> take_events(std::uint16_t dev);
  [[nodiscard]] bool has_events(std::uint16_t dev) const;
  /// Drops what is filed for `dev` (after a reset those events are stale).
  void discard_events(std::uint16_t dev);

  /// The wire profile of the link: the one place every driver above it
  /// takes its layout (PR28 or REV1) and bus maximum from.
  [[nodiscard]] const wire::Profile& profile() const noexcept { return link_->config().profile; }
  /// The bus maximum message size every sender must respect (VMSG-DRV-001/012).
  [[nodiscard]] std::uint32_t max_msg_size() const noexcept { return profile().max_msg_size; }
  [[nodiscard]] FifoLink& link() noexcept { return *link_; }
  [[nodiscard]] const BusDriverStats& stats() const noexcept { return stats_; }

 private:
  void file(wire::Message m);
  void file_parked();

  FifoLink* link_;
  std::map<std::uint16_t, std::deque<wire::Message>> events_;
  BusDriverStats stats_{};
};

}  // namespace vmsg::driver

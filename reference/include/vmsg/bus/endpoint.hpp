// The contract between the virtio-msg bus and the devices behind it.
#pragma once

#include <cstdint>

#include "vmsg/common/snapshot.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::bus {

/// Where a device posts messages for the driver: responses and events.
/// The bus implements it (stamping token, encoding, queueing); a device never
/// sees bytes.
class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual void post(const wire::Message& m) = 0;
};

/// A device behind the bus (device side of the transport), addressed by its
/// device number. The bus hands it only well-formed transport requests and
/// driver events for its own number; everything malformed is dropped before.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  /// Called once when plugged at `dev_num`. The endpoint keeps `out` to post
  /// asynchronous events (EVENT_USED, EVENT_CONFIG) later.
  virtual void attach(std::uint16_t dev_num, Outbox& out) = 0;
  /// Gives the device its bus-master view of guest memory (for virtqueues).
  /// Called by the PCI function that hosts the bus, before attach(); devices
  /// that never touch guest memory ignore it.
  virtual void attach_memory(pci::DmaSpace& memory) { (void)memory; }
  /// A transport request or driver event for this device. A request must be
  /// answered by posting exactly one response before returning; an event is
  /// never answered (it may cause other events, e.g. EVENT_USED).
  virtual void receive(const wire::Message& m) = 0;
  /// Virtual time passed (backends complete work, timers fire).
  virtual void advance_time(std::uint64_t ns) { (void)ns; }

  /// The device's own state at one instant, by value, without its wiring
  /// (device number, outbox, memory view: the host restores those). The
  /// default throws vmsg::SnapshotError: an endpoint that does not implement
  /// it cannot be snapshotted, and a caller falls back to a rebuild or reset.
  [[nodiscard]] virtual snapshot::Handle save_state() const { snapshot::unsupported("this endpoint"); }
  /// Puts a state this endpoint saved back; SnapshotError (nothing changed)
  /// for any other.
  virtual void restore_state(const snapshot::Handle& state) {
    (void)state;
    snapshot::unsupported("this endpoint");
  }
};

}  // namespace vmsg::bus

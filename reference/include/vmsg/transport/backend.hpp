// The contract between the device side of the virtio-msg transport and a
// virtio device type (rng, blk, balloon, ...). The transport owns the
// protocol: status machine, feature negotiation, configuration generation,
// queue setup, notifications. A backend owns what the device type means:
// its features, its configuration bytes and what it does with buffers.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "vmsg/common/snapshot.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/virtqueue/split_queue.hpp"

namespace vmsg::transport {

/// What a backend may ask of its transport, at any time after bind().
class DeviceContext {
 public:
  virtual ~DeviceContext() = default;
  /// The device's bus-master view of guest memory (fails while BME is off).
  virtual pci::DmaSpace& memory() = 0;
  /// The backend changed driver-visible config bytes [offset, offset+length)
  /// on its own: the transport bumps the generation and sends EVENT_CONFIG.
  /// Call it right after updating the bytes, before returning to whoever
  /// triggered the change: the model is single-threaded, so no GET_CONFIG can
  /// see the new bytes with the old generation (VMSG-DEV-006).
  virtual void config_changed(std::uint32_t offset, std::uint32_t length) = 0;
  /// Something unrecoverable happened: DEVICE_NEEDS_RESET is set and announced.
  virtual void needs_reset() = 0;
  /// Buffers were used on queue `q` outside process() (asynchronous
  /// completion): the transport decides whether to send EVENT_USED.
  virtual void used(unsigned q) = 0;
  /// Whether the driver has set DRIVER_OK (and not reset since).
  [[nodiscard]] virtual bool driver_ok() const = 0;
  /// Queue `q` as currently configured, or nullptr (not configured, or out of
  /// range). For asynchronous completion: a backend must not keep the
  /// SplitQueue& given to process(), because RESET_VQUEUE, a new SET_VQUEUE
  /// or a device reset replaces the queue; it looks the queue up again here.
  /// (Not pure so that test doubles of the context need not implement it.)
  [[nodiscard]] virtual virtqueue::SplitQueue* queue(unsigned q) {
    (void)q;
    return nullptr;
  }
  /// The driver broke a rule of the device type that only the backend sees
  /// (what a request says, e.g. a blk read past capacity): the transport
  /// passes it on to the rule sink a validating setup gave it, and drops it
  /// otherwise. The backend still answers the request exactly as it would.
  /// `kind` names the request, `detail` what was wrong with it.
  virtual void driver_rule(std::string_view rule, std::string_view kind, std::string_view detail) {
    (void)rule;
    (void)kind;
    (void)detail;
  }
};

/// A virtio device type behind the transport.
class Backend {
 public:
  virtual ~Backend() = default;

  /// Called once by the transport before anything else.
  virtual void bind(DeviceContext& ctx) { (void)ctx; }

  /// Virtio device ID (e.g. 4 = entropy, 2 = block, 5 = balloon).
  [[nodiscard]] virtual std::uint32_t device_id() const = 0;
  /// Device-type feature bits offered (bits 0..23 and any others the type
  /// defines). The transport adds the transport bits it implements
  /// (VERSION_1, INDIRECT_DESC, EVENT_IDX, RING_RESET) itself.
  [[nodiscard]] virtual std::uint64_t device_features() const = 0;
  /// Called when the driver sets FEATURES_OK with `features` (device-type
  /// and transport bits together). Return false to refuse the set.
  [[nodiscard]] virtual bool accept_features(std::uint64_t features) { (void)features; return true; }

  /// Number of virtqueues and the largest size of each (0 = queue unusable).
  [[nodiscard]] virtual unsigned num_queues() const = 0;
  [[nodiscard]] virtual std::uint32_t max_queue_size(unsigned q) const = 0;

  /// Size of the device configuration space in bytes.
  [[nodiscard]] virtual std::uint32_t config_size() const = 0;
  /// Fills `out` with config bytes from `offset`; the caller keeps
  /// offset + out.size() <= config_size().
  virtual void read_config(std::uint32_t offset, std::span<std::uint8_t> out) const = 0;
  /// A driver write of config bytes (bounds already checked). Returns false
  /// to refuse it without changing anything (e.g. a read-only field).
  [[nodiscard]] virtual bool write_config(std::uint32_t offset, std::span<const std::uint8_t> data) = 0;

  /// Device reset (status 0): back to the power-on state; config stays as
  /// the device defines it (e.g. capacity), pending work is dropped.
  virtual void reset() = 0;
  /// Queue `q` was dropped (RESET_VQUEUE, or a SET_VQUEUE replacing it):
  /// forget pending work on it; its buffers will not be used. Not called on a
  /// device reset, where reset() covers every queue.
  virtual void queue_reset(unsigned q) { (void)q; }
  /// Queue `q` (configured) has new buffers and the driver is OK: use what
  /// can be used now. Return an error to break the device (NEEDS_RESET).
  [[nodiscard]] virtual virtqueue::Status process(unsigned q, virtqueue::SplitQueue& queue) = 0;
  /// Virtual time passed; asynchronous backends complete work here.
  virtual void advance_time(std::uint64_t ns) { (void)ns; }
  /// How long (virtual ns) the device keeps polling a queue after a kick,
  /// with the used ring's NO_NOTIFY set so the driver need not kick again;
  /// 0 (the default) = never polls, every buffer waits for EVENT_AVAIL.
  [[nodiscard]] virtual std::uint64_t poll_window_ns() const { return 0; }

  /// The device type's own state at one instant, by value, without the
  /// context binding. The default throws vmsg::SnapshotError, which makes the
  /// transport's save_state refuse too.
  [[nodiscard]] virtual snapshot::Handle save_state() const { snapshot::unsupported("this backend"); }
  /// Puts a state this backend saved back; SnapshotError (nothing changed) for any other.
  virtual void restore_state(const snapshot::Handle& state) {
    (void)state;
    snapshot::unsupported("this backend");
  }
};

}  // namespace vmsg::transport

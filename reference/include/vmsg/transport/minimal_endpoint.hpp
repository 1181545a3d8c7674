// A minimal device behind the bus: a virtio device with no device-specific
// features, no configuration space, no virtqueues and no shared memory. It
// answers every transport request exactly once, as the PR28 draft and the
// project readings (virtio-msg.md §14.2) say, so the bus and the AMP device
// can be exercised end to end before the full transport exists.
#pragma once

#include <cstdint>

#include "vmsg/bus/endpoint.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::transport {

/// Identity a MinimalEndpoint reports in GET_DEVICE_INFO.
struct MinimalIdentity {
  std::uint32_t device_id = 0;      ///< virtio device type
  std::uint32_t vendor_id = 0x4D534756;  ///< "VGSM" little-endian: the reference's vendor tag
};

/// Featureless device: offers only VIRTIO_F_VERSION_1, accepts FEATURES_OK
/// exactly when the driver acknowledged a subset of that. `layout` is the
/// draft of the bus it is plugged into: GET_DEVICE_INFO differs (PR28
/// num_feature_bits, REV1 num_feature_blocks and a device UUID), and an answer
/// in the other draft's fields cannot be encoded, so it would be lost.
class MinimalEndpoint final : public bus::Endpoint {
 public:
  explicit MinimalEndpoint(MinimalIdentity id = {}, wire::Layout layout = wire::Layout::Pr28)
      : id_(id), layout_(layout) {}

  void attach(std::uint16_t dev_num, bus::Outbox& out) override;
  void receive(const wire::Message& m) override;
  [[nodiscard]] snapshot::Handle save_state() const override;
  void restore_state(const snapshot::Handle& state) override;

  [[nodiscard]] std::uint32_t status() const noexcept { return status_; }
  [[nodiscard]] std::uint64_t requests() const noexcept { return requests_; }
  [[nodiscard]] wire::Layout layout() const noexcept { return layout_; }

 private:
  void reply(const wire::Message& req, wire::Body body);

  /// What save_state() keeps: everything but identity and wiring.
  struct State {
    std::uint32_t status = 0;
    std::uint64_t driver_features = 0;
    std::uint64_t requests = 0;
  };

  MinimalIdentity id_;
  wire::Layout layout_;
  std::uint16_t dev_num_ = 0;
  bus::Outbox* out_ = nullptr;
  std::uint32_t status_ = 0;
  std::uint64_t driver_features_ = 0;
  std::uint64_t requests_ = 0;
};

}  // namespace vmsg::transport

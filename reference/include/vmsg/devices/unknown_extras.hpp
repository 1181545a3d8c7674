// A backend wrapper that makes a device look newer than its drivers: it offers
// feature bits on top of the device type's and has configuration bytes past
// the fields the type defines. Drivers must cope with both (VIRTIO content.tex
// L156-157: an unknown offered feature is no reason to fail; L301-304: no
// upper bound on the configuration size). The reference's `extra-features`
// and `config-pad` properties build it (make_backend).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "vmsg/transport/forwarding_backend.hpp"

namespace vmsg::devices {

/// Offers `extra_features` besides the inner backend's and appends
/// `config_pad` zero bytes to its configuration space, which the driver may
/// read and may not write. Which bits the type leaves undefined is the
/// caller's choice; the constructor only keeps them in the ranges a device
/// type owns (0-23, 50-63) and apart from the bits the inner backend offers.
/// Throws vmsg::ConfigError otherwise, or when the padded size overflows.
class UnknownExtrasBackend final : public transport::ForwardingBackend {
 public:
  UnknownExtrasBackend(std::shared_ptr<transport::Backend> inner, std::uint64_t extra_features,
                       std::uint32_t config_pad);

  [[nodiscard]] std::uint64_t device_features() const override;
  /// The inner backend judges only the bits it offered itself: accepting an
  /// extra bit is the driver's mistake (VIRTIO-CORE-009), not a refusal here.
  [[nodiscard]] bool accept_features(std::uint64_t features) override;
  [[nodiscard]] std::uint32_t config_size() const override;
  void read_config(std::uint32_t offset, std::span<std::uint8_t> out) const override;
  [[nodiscard]] bool write_config(std::uint32_t offset, std::span<const std::uint8_t> data) override;

  [[nodiscard]] std::uint64_t extra_features() const noexcept { return extra_; }
  [[nodiscard]] std::uint32_t config_pad() const noexcept { return pad_; }

 private:
  std::uint64_t extra_;
  std::uint32_t pad_;
};

}  // namespace vmsg::devices

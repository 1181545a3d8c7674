// UnknownExtrasBackend: extra offered feature bits and zero config padding.
#include "vmsg/devices/unknown_extras.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "vmsg/common/errors.hpp"

namespace vmsg::devices {

namespace {

// content.tex L98-106: bits 0-23 and 50 upwards belong to the device type;
// 24-49 are the transport's and the reserved extension range.
constexpr std::uint64_t kTypeOwned = 0xFFFFFFULL | (~0ULL << 50);

}  // namespace

UnknownExtrasBackend::UnknownExtrasBackend(std::shared_ptr<transport::Backend> inner, std::uint64_t extra_features,
                                           std::uint32_t config_pad)
    : ForwardingBackend(std::move(inner)), extra_(extra_features), pad_(config_pad) {
  if ((extra_ & ~kTypeOwned) != 0) {
    throw ConfigError("extra features must lie in bits 0-23 or 50-63 (the device type's ranges)");
  }
  if ((extra_ & this->inner()->device_features()) != 0) {
    throw ConfigError("extra features overlap the bits the device type already offers");
  }
  if (pad_ > std::numeric_limits<std::uint32_t>::max() - this->inner()->config_size()) {
    throw ConfigError("config padding makes the configuration space too large");
  }
}

std::uint64_t UnknownExtrasBackend::device_features() const { return inner()->device_features() | extra_; }

bool UnknownExtrasBackend::accept_features(std::uint64_t features) { return inner()->accept_features(features & ~extra_); }

std::uint32_t UnknownExtrasBackend::config_size() const { return inner()->config_size() + pad_; }

void UnknownExtrasBackend::read_config(std::uint32_t offset, std::span<std::uint8_t> out) const {
  const std::uint32_t known = inner()->config_size();
  // The caller keeps the range inside config_size(); split it at the known end.
  const std::size_t head = offset < known ? std::min<std::size_t>(out.size(), known - offset) : 0;
  if (head != 0) inner()->read_config(offset, out.first(head));
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(head), out.end(), std::uint8_t{0});
}

bool UnknownExtrasBackend::write_config(std::uint32_t offset, std::span<const std::uint8_t> data) {
  // The padding is no field at all: a write reaching it is refused whole.
  if (offset + data.size() > inner()->config_size()) return false;
  return inner()->write_config(offset, data);
}

}  // namespace vmsg::devices

// Internal to src/driver: turns a FifoLink failure into the VirtioError the
// drivers above it report (shared by the transport driver and enumeration).
#pragma once

#include <string>
#include <string_view>

#include "vmsg/driver/fifo_link.hpp"
#include "vmsg/driver/virtio_error.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::driver {

/// `what` names the request. A malformed answer carries the decode failure
/// with the rule ID of the link's profile; a size mismatch also says which
/// profile the driver decodes with, since a device speaking the other draft's
/// layouts shows up exactly that way (e.g. a 32-byte PR28 GET_DEVICE_INFO
/// answer to a REV1 driver, which expects 52: REV1 L1256-1267).
inline VirtioError link_error(LinkError e, std::string_view what, const FifoLink& link) {
  const wire::Profile& p = link.config().profile;
  const bool rev1 = p.layout == wire::Layout::Rev1;  // PR28 wording stays as it always was
  std::string m = std::string(what) + ": " + std::string(to_string(e));
  switch (e) {
    case LinkError::NoResponse:
      if (rev1) {
        m += " within " + std::to_string(link.config().timeout_ns()) + " ns x " +
             std::to_string(link.config().retries + 1) + " attempts";
      }
      return {VirtioErrc::NoResponse, m};
    case LinkError::Malformed:
      if (const auto& f = link.last_failure()) {
        m += " (" + wire::describe(*f, p.layout) + ")";
        if (rev1 && f->error == wire::DecodeError::SizeMismatch) {
          m += "; decoded with the " + std::string(p.name()) + " layouts: is the device speaking another profile?";
        }
      }
      return {VirtioErrc::MalformedResponse, m};
    case LinkError::Unencodable:
    case LinkError::QueueFull:
      break;
  }
  return {VirtioErrc::LinkFailure, m};
}

}  // namespace vmsg::driver

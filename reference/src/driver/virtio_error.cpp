#include "vmsg/driver/virtio_error.hpp"

namespace vmsg::driver {

std::string_view to_string(VirtioErrc e) noexcept {
  switch (e) {
    case VirtioErrc::NoResponse: return "no-response";
    case VirtioErrc::MalformedResponse: return "malformed-response";
    case VirtioErrc::LinkFailure: return "link-failure";
    case VirtioErrc::BadResponse: return "bad-response";
    case VirtioErrc::NotReady: return "not-ready";
    case VirtioErrc::OutOfRange: return "out-of-range";
    case VirtioErrc::FeaturesRefused: return "features-refused";
    case VirtioErrc::StatusRejected: return "status-rejected";
    case VirtioErrc::NeedsReset: return "needs-reset";
    case VirtioErrc::DeviceRemoved: return "device-removed";
    case VirtioErrc::EnumerationStuck: return "enumeration-stuck";
    case VirtioErrc::GenerationUnstable: return "generation-unstable";
    case VirtioErrc::ConfigRejected: return "config-rejected";
    case VirtioErrc::QueueUnavailable: return "queue-unavailable";
    case VirtioErrc::QueueInUse: return "queue-in-use";
    case VirtioErrc::QueueTooLarge: return "queue-too-large";
    case VirtioErrc::BadQueueSize: return "bad-queue-size";
    case VirtioErrc::QueueNotConfirmed: return "queue-not-confirmed";
    case VirtioErrc::RingFull: return "ring-full";
    case VirtioErrc::BadUsedId: return "bad-used-id";
    case VirtioErrc::BadUsedLength: return "bad-used-length";
    case VirtioErrc::UsedIndexJump: return "used-index-jump";
    case VirtioErrc::QueueBroken: return "queue-broken";
    case VirtioErrc::Timeout: return "timeout";
    case VirtioErrc::BadRequest: return "bad-request";
    case VirtioErrc::IoError: return "io-error";
    case VirtioErrc::Unsupported: return "unsupported";
  }
  return "?";
}

std::string describe(const VirtioError& e) {
  std::string s(to_string(e.code));
  if (!e.message.empty()) s += ": " + e.message;
  return s;
}

}  // namespace vmsg::driver

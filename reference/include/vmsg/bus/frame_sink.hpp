// Where the bus delivers encoded device-to-driver frames (the FIFO's device queue).
#pragma once

#include <cstdint>
#include <span>

namespace vmsg::bus {

/// Accepts one encoded message (msg_size bytes) for delivery to the driver.
/// The AMP FIFO channel implements it with the device ring plus a bounded
/// pending queue; it must never drop a frame silently.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void send(std::span<const std::uint8_t> frame) = 0;
};

}  // namespace vmsg::bus

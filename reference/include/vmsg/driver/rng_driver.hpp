// virtio-rng (entropy, device ID 4) driver over a TransportDriver: one
// request queue, device-writable buffers in guest RAM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "vmsg/driver/guest_alloc.hpp"
#include "vmsg/driver/transport_driver.hpp"
#include "vmsg/driver/virtio_error.hpp"

namespace vmsg::driver {

/// Tunables of an RngDriver.
struct RngDriverOptions {
  /// Ring size wanted; capped at the device's max_size and rounded down to a
  /// power of two (TransportDriver::setup_queue_fitted).
  std::uint32_t queue_size = 64;
  std::uint32_t buffer_size = 4096;  ///< bytes per posted buffer
  /// Buffers in flight at most (each one descriptor); never more than the ring holds.
  std::uint32_t buffers = 16;
  bool event_idx = true;             ///< ask for VIRTIO_F_EVENT_IDX
  bool no_interrupt = false;         ///< suppress EVENT_USED and poll the used ring
  /// Rounds in a row in which the device returns only empty buffers before
  /// read() gives up (an entropy source may be slow, not silent forever).
  unsigned max_empty_rounds = 64;
};

/// Counters of an RngDriver.
struct RngDriverStats {
  std::uint64_t buffers_posted = 0;
  std::uint64_t buffers_used = 0;
  std::uint64_t bytes = 0;
  std::uint64_t short_buffers = 0;  ///< used with fewer bytes than posted
};

/// Entropy driver. Holds non-owning references (transport, allocator).
class RngDriver {
 public:
  static constexpr std::uint32_t kDeviceId = 4;

  RngDriver(TransportDriver& transport, GuestAllocator& ram, const RngDriverOptions& options = {});

  /// Full initialisation: the device must be an entropy device (BadResponse
  /// otherwise), features VERSION_1 (+ EVENT_IDX), queue 0, DRIVER_OK.
  /// Buffers are allocated once and reused by later init() calls.
  VStatus init();
  /// Fills `out` completely, in the order the device returns the buffers.
  VStatus read_into(std::span<std::uint8_t> out);
  /// `n` fresh bytes.
  VResult<std::vector<std::uint8_t>> read(std::size_t n);

  [[nodiscard]] const RngDriverStats& stats() const noexcept { return stats_; }
  [[nodiscard]] TransportDriver& transport() noexcept { return *t_; }

 private:
  TransportDriver* t_;
  GuestAllocator* ram_;
  RngDriverOptions options_;
  /// A buffer the device holds.
  struct Posted {
    std::size_t buf = 0;
    std::uint32_t len = 0;
  };

  std::size_t in_flight_limit_ = 0;     ///< min(buffers, ring size), set by init()
  std::vector<std::uint64_t> buffers_;  ///< guest addresses
  std::vector<std::size_t> free_bufs_;  ///< indices into buffers_ not posted
  /// Posted buffers by head. Kept across read() calls: after a timeout the
  /// device still owns them, and their bytes serve the next read.
  std::map<std::uint16_t, Posted> posted_;
  RngDriverStats stats_{};
};

}  // namespace vmsg::driver

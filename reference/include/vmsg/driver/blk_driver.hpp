// virtio-blk (block device, device ID 2) driver over a TransportDriver: one
// request queue, requests as header / data / status chains with bounce
// buffers in guest RAM, several in flight at once.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "vmsg/driver/guest_alloc.hpp"
#include "vmsg/driver/transport_driver.hpp"
#include "vmsg/driver/virtio_error.hpp"

namespace vmsg::driver {

/// virtio-blk numbers the driver uses (core spec §5.2; kept apart from the
/// device-side headers on purpose).
namespace vblk {
inline constexpr std::uint32_t kSectorSize = 512;
inline constexpr std::uint32_t kHeaderSize = 16;
inline constexpr std::uint32_t kIdBytes = 20;
inline constexpr unsigned kFeatSizeMax = 1;
inline constexpr unsigned kFeatSegMax = 2;
inline constexpr unsigned kFeatRo = 5;
inline constexpr unsigned kFeatBlkSize = 6;
inline constexpr unsigned kFeatFlush = 9;
inline constexpr std::uint32_t kCfgCapacity = 0;
inline constexpr std::uint32_t kCfgSizeMax = 8;
inline constexpr std::uint32_t kCfgSegMax = 12;
inline constexpr std::uint32_t kCfgBlkSize = 20;
inline constexpr std::uint32_t kTypeIn = 0;
inline constexpr std::uint32_t kTypeOut = 1;
inline constexpr std::uint32_t kTypeFlush = 4;
inline constexpr std::uint32_t kTypeGetId = 8;
inline constexpr std::uint8_t kStatusOk = 0;
inline constexpr std::uint8_t kStatusIoErr = 1;
inline constexpr std::uint8_t kStatusUnsupp = 2;
}  // namespace vblk

/// Tunables of a BlkDriver.
struct BlkDriverOptions {
  /// Ring size wanted; capped at the device's max_size and rounded down to a
  /// power of two (TransportDriver::setup_queue_fitted).
  std::uint32_t queue_size = 128;
  std::uint32_t slots = 16;                  ///< requests in flight at most (never more than ring entries)
  std::uint32_t max_request_bytes = 65536;   ///< data bytes per request (a multiple of 512)
  bool event_idx = true;                     ///< ask for VIRTIO_F_EVENT_IDX
  bool no_interrupt = false;                 ///< suppress EVENT_USED and poll the used ring
  /// Refuse (OutOfRange, nothing sent) transfers beyond the capacity. Tests
  /// turn it off to see what the device answers.
  bool bounds_check = true;
};

/// One raw request: what the device reads after the header, and how many
/// data bytes it may write before the status byte.
struct BlkRequest {
  std::uint32_t type = vblk::kTypeIn;
  std::uint64_t sector = 0;
  std::span<const std::uint8_t> out;  ///< device-readable data (OUT)
  std::uint32_t in_len = 0;           ///< device-writable data bytes (IN, GET_ID)
};

/// Counters of a BlkDriver.
struct BlkDriverStats {
  std::uint64_t requests = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t max_in_flight = 0;
};

/// Block driver. Holds non-owning references (transport, allocator).
class BlkDriver {
 public:
  static constexpr std::uint32_t kDeviceId = 2;

  BlkDriver(TransportDriver& transport, GuestAllocator& ram, const BlkDriverOptions& options = {});

  /// Full initialisation: the device must be a block device (BadResponse
  /// otherwise); features VERSION_1, FLUSH, RO, BLK_SIZE, SEG_MAX, SIZE_MAX
  /// (+ EVENT_IDX); capacity and limits from config; queue 0; DRIVER_OK.
  VStatus init();
  /// Re-reads the capacity. Every request does so first when an EVENT_CONFIG
  /// arrived since the last read (blk description.tex L868-869).
  VResult<std::uint64_t> refresh_capacity();

  /// Reads out.size() bytes (a multiple of 512) from `sector`.
  VStatus read(std::uint64_t sector, std::span<std::uint8_t> out);
  /// Writes data (a multiple of 512) at `sector`. Unsupported if RO was negotiated.
  VStatus write(std::uint64_t sector, std::span<const std::uint8_t> data);
  /// VIRTIO_BLK_T_FLUSH; Unsupported (nothing sent) without VIRTIO_BLK_F_FLUSH.
  VStatus flush();
  /// VIRTIO_BLK_T_GET_ID: the serial, up to its first NUL.
  VResult<std::string> get_id();
  /// One request of any type; returns the `in_len` data bytes the device
  /// wrote. The status byte decides: IOERR -> IoError, UNSUPP -> Unsupported,
  /// anything else but OK -> BadResponse.
  VResult<std::vector<std::uint8_t>> execute(const BlkRequest& req);

  /// Capacity in 512-byte sectors, as last read.
  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool read_only() const noexcept { return t_->has_feature(vblk::kFeatRo); }
  [[nodiscard]] std::uint32_t max_request_bytes() const noexcept { return request_bytes_; }
  [[nodiscard]] const BlkDriverStats& stats() const noexcept { return stats_; }
  [[nodiscard]] TransportDriver& transport() noexcept { return *t_; }

 private:
  /// Bounce memory of one in-flight request.
  struct Slot {
    std::uint64_t header = 0;  ///< 16-byte request header
    std::uint64_t status = 0;  ///< 1-byte status
    std::uint64_t data = 0;    ///< max_request_bytes of data
  };
  /// A request in flight: which slot, and where its IN data goes.
  struct Pending {
    std::size_t slot = 0;
    std::uint32_t type = 0;
    std::uint64_t sector = 0;
    std::uint32_t in_offset = 0;    ///< where IN data starts in the slot's data area
    std::span<std::uint8_t> in;     ///< the caller's buffer for it
    bool orphan = false;            ///< its caller gave up (timeout): complete silently
  };
  /// One request of a batch: a raw request plus where its IN data goes.
  struct Job {
    BlkRequest req;
    std::span<std::uint8_t> in;
  };

  /// Runs `jobs` with up to `slots` in flight; returns the first error after
  /// every submitted request has come back.
  VStatus run(std::vector<Job>& jobs);
  VResult<std::uint16_t> submit(const Job& job, std::size_t slot);
  VStatus complete(const Pending& p, std::uint32_t used_len);
  VStatus check_transfer(std::uint64_t sector, std::size_t bytes);
  VStatus check_split(std::size_t bytes);
  /// refresh_capacity() if an EVENT_CONFIG arrived since capacity_ was read.
  VStatus follow_config_changes();

  TransportDriver* t_;
  GuestAllocator* ram_;
  BlkDriverOptions options_;
  std::vector<Slot> slots_;
  std::vector<std::size_t> free_slots_;
  std::map<std::uint16_t, Pending> pending_;  ///< by head
  std::uint64_t capacity_ = 0;
  std::uint64_t config_events_seen_ = 0;  ///< the transport's EVENT_CONFIG count when capacity_ was read
  std::uint32_t request_bytes_ = 0;  ///< max data bytes per request after SEG_MAX/SIZE_MAX
  std::uint32_t seg_bytes_ = 0;      ///< max bytes per data segment (SIZE_MAX), 0 = unlimited
  BlkDriverStats stats_{};
};

}  // namespace vmsg::driver

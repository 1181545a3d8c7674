// virtio-blk (block device, virtio 1.x device ID 2) over a RAM disk.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmsg/common/result.hpp"
#include "vmsg/transport/backend.hpp"

namespace vmsg::devices {

/// Constants of the virtio-blk device type (virtio 1.x §5.2).
namespace blk {
inline constexpr std::uint32_t kSectorSize = 512;  ///< the request sector unit, whatever blk_size says
inline constexpr std::uint32_t kHeaderSize = 16;   ///< le32 type, le32 reserved, le64 sector
inline constexpr std::uint32_t kIdSize = 20;       ///< VIRTIO_BLK_ID_BYTES
inline constexpr std::uint32_t kConfigSize = 24;   ///< capacity .. blk_size

// Feature bits.
inline constexpr unsigned kFeatSegMax = 2;   ///< VIRTIO_BLK_F_SEG_MAX
inline constexpr unsigned kFeatRo = 5;       ///< VIRTIO_BLK_F_RO
inline constexpr unsigned kFeatBlkSize = 6;  ///< VIRTIO_BLK_F_BLK_SIZE
inline constexpr unsigned kFeatFlush = 9;    ///< VIRTIO_BLK_F_FLUSH

// Config offsets (struct virtio_blk_config).
inline constexpr std::uint32_t kCfgCapacity = 0;   ///< le64, in 512-byte sectors
inline constexpr std::uint32_t kCfgSizeMax = 8;    ///< le32 (SIZE_MAX not offered: 0)
inline constexpr std::uint32_t kCfgSegMax = 12;    ///< le32
inline constexpr std::uint32_t kCfgGeometry = 16;  ///< le16 cylinders, u8 heads, u8 sectors (not offered: 0)
inline constexpr std::uint32_t kCfgBlkSize = 20;   ///< le32

// Request types.
inline constexpr std::uint32_t kTypeIn = 0;
inline constexpr std::uint32_t kTypeOut = 1;
inline constexpr std::uint32_t kTypeFlush = 4;
inline constexpr std::uint32_t kTypeGetId = 8;

// Status byte values.
inline constexpr std::uint8_t kStatusOk = 0;
inline constexpr std::uint8_t kStatusIoErr = 1;
inline constexpr std::uint8_t kStatusUnsupp = 2;

/// Queue maximum unless BlkOptions asks for another (as QEMU's default queue-size).
inline constexpr std::uint32_t kDefaultMaxQueueSize = 256;

/// Largest RAM disk the model allocates (a guard against typos like 1T).
inline constexpr std::uint64_t kMaxCapacitySectors = (std::uint64_t{1} << 30) / kSectorSize;
}  // namespace blk

/// How a BlkBackend is built. Checked by the constructor (ConfigError).
struct BlkOptions {
  std::uint64_t capacity_sectors = 2048;  ///< 1 MiB; at most blk::kMaxCapacitySectors, 0 allowed (no medium data)
  bool read_only = false;                 ///< offers VIRTIO_BLK_F_RO; OUT requests fail with IOERR
  std::optional<std::uint32_t> blk_size;  ///< offers VIRTIO_BLK_F_BLK_SIZE: power of two, 512..65536, divides the disk
  std::uint32_t seg_max = 254;            ///< offers VIRTIO_BLK_F_SEG_MAX when non-zero (advisory, not enforced)
  std::string serial = "vmsg-blk";        ///< GET_ID string, at most blk::kIdSize bytes
  /// What GET_VQUEUE reports for queue 0: a power of two in 1..32768 (make_backend checks it).
  std::uint32_t max_queue_size = blk::kDefaultMaxQueueSize;
  /// Sectors whose media is "bad": a read or write touching one completes
  /// with VIRTIO_BLK_S_IOERR and moves no data.
  std::vector<std::uint64_t> bad_sectors = {};
  /// > 0: the device polls its queue this long after each kick (Backend::poll_window_ns).
  std::uint64_t poll_ns = 0;
};

/// Sectors a host-side resize adds at a time (a stimulus, QMP block_resize's
/// stand-in): one logical block, so a BLK_SIZE device stays whole.
[[nodiscard]] inline std::uint64_t blk_growth_sectors(const BlkOptions& o) noexcept {
  return o.blk_size ? *o.blk_size / blk::kSectorSize : 1;
}

/// Counters of a BlkBackend (never reset: they describe the whole run).
struct BlkStats {
  std::uint64_t reads = 0;        ///< IN requests completed OK
  std::uint64_t writes = 0;       ///< OUT requests completed OK
  std::uint64_t flushes = 0;      ///< FLUSH requests completed OK
  std::uint64_t get_ids = 0;      ///< GET_ID requests completed OK
  std::uint64_t errors = 0;       ///< requests answered IOERR
  std::uint64_t unsupported = 0;  ///< requests answered UNSUPP
  std::uint64_t malformed = 0;    ///< chains without a writable status byte (used with len 0, no status)
  std::uint64_t bytes_read = 0;   ///< disk bytes sent to the driver
  std::uint64_t bytes_written = 0;  ///< disk bytes received from the driver
};

/// The block device: one request queue, requests completed synchronously in
/// process(). Config space is read-only. The disk contents survive reset()
/// (they are the medium, not device state).
class BlkBackend final : public transport::Backend {
 public:
  static constexpr std::uint32_t kDeviceId = 2;
  static constexpr std::uint32_t kDefaultMaxQueueSize = blk::kDefaultMaxQueueSize;

  /// Throws ConfigError for options the device cannot honour.
  explicit BlkBackend(BlkOptions options = {});

  [[nodiscard]] std::uint32_t device_id() const override { return kDeviceId; }
  [[nodiscard]] std::uint64_t device_features() const override;
  [[nodiscard]] unsigned num_queues() const override { return 1; }
  [[nodiscard]] std::uint32_t max_queue_size(unsigned q) const override { return q == 0 ? st_.options.max_queue_size : 0; }
  [[nodiscard]] std::uint32_t config_size() const override { return blk::kConfigSize; }
  void read_config(std::uint32_t offset, std::span<std::uint8_t> out) const override;
  /// Always false: every virtio-blk field we expose is read-only.
  [[nodiscard]] bool write_config(std::uint32_t offset, std::span<const std::uint8_t> data) override;
  void reset() override {}
  void bind(transport::DeviceContext& ctx) override { ctx_ = &ctx; }
  [[nodiscard]] virtqueue::Status process(unsigned q, virtqueue::SplitQueue& queue) override;
  [[nodiscard]] std::uint64_t poll_window_ns() const override { return st_.options.poll_ns; }

  /// The host resizes the medium (QMP block_resize): new bytes read as zero,
  /// then the transport is told capacity changed (config_changed(0, 8)) when
  /// bound. ConfigError for a capacity the constructor would refuse.
  void resize(std::uint64_t capacity_sectors);
  /// The medium (a copy of the whole disk), its capacity and the counters.
  [[nodiscard]] snapshot::Handle save_state() const override;
  void restore_state(const snapshot::Handle& state) override;

  [[nodiscard]] const BlkOptions& options() const noexcept { return st_.options; }
  [[nodiscard]] const BlkStats& stats() const noexcept { return st_.stats; }
  /// The medium, for tests and tools (capacity_sectors * 512 bytes).
  [[nodiscard]] std::span<std::uint8_t> disk() noexcept { return st_.disk; }
  [[nodiscard]] std::span<const std::uint8_t> disk() const noexcept { return st_.disk; }

 private:
  /// Outcome of one request: the status byte and data bytes put into the chain.
  struct Outcome {
    std::uint8_t status = blk::kStatusOk;
    std::uint32_t data_written = 0;
  };
  [[nodiscard]] Result<Outcome, virtqueue::QueueError> execute(virtqueue::SplitQueue& queue,
                                                               const virtqueue::Chain& chain);
  /// Byte offset of [sector, sector + len) on the disk, or nullopt when the
  /// range is not a whole number of sectors inside it.
  [[nodiscard]] std::optional<std::size_t> range(std::uint64_t sector, std::uint64_t len) const noexcept;
  /// Whether [sector, sector + len) (bytes, inside the disk) touches a bad sector.
  [[nodiscard]] bool touches_bad_sector(std::uint64_t sector, std::uint64_t len) const noexcept;

  /// Reports to the context the driver rules a request breaks (blk
  /// description.tex L871-886); `data_len` is the request's data: writable
  /// bytes before the status for IN and GET_ID, both kinds for FLUSH, readable
  /// ones after the header otherwise. Changes nothing: the request is answered as before.
  void check_driver_rules(std::uint32_t type, std::uint64_t sector, std::uint64_t data_len) const;

  transport::DeviceContext* ctx_ = nullptr;
  /// Everything a snapshot keeps, in one struct copied whole, so a field
  /// added here is saved and restored without further code.
  struct State {
    BlkOptions options;
    std::vector<std::uint8_t> disk;
    BlkStats stats;
  };
  State st_;
};

}  // namespace vmsg::devices

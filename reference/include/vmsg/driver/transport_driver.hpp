// The driver side of the virtio-msg transport for one device number
// (virtio-msg.md §4, §7-§11): device information, the status machine and
// feature negotiation, the configuration space with its generation count,
// virtqueue setup and notifications.
//
// It speaks the profile of its bus driver's link (BusDriver::profile(), set
// once in FifoLinkConfig). Under REV1-2026 it counts feature blocks, sends
// SET_CONFIG generation 0 unless the strict configuration profile is chosen
// (REV1 L375-420), enables queues with the SET_VQUEUE state op and checks the
// GET_VQUEUE enabled flag (L1565-1700), never negotiates NOTIF_CONFIG_DATA
// (L890-903), polls a reset that did not complete synchronously
// (L1530-1535), reads the configuration again until the generation holds
// still (L399-402), refreshes it with GET_CONFIG after an EVENT_CONFIG
// without data before the next notification (L405-407, L1046-1049), and
// resets the device when a request goes unanswered through every retry
// (L563-568).
//
// Written against BusDriver (and so the port) only. Every message it sends is
// a wire::Message with dev_num set and reserved type bits 0, encoded by the
// codec, so type bits 2..7 are zero and msg_size is exact (VMSG-DRV-009/011/
// 013). Nothing the device answers can crash it: every missing, malformed or
// contradictory response becomes a VirtioError.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vmsg/driver/bus_driver.hpp"
#include "vmsg/driver/guest_alloc.hpp"
#include "vmsg/driver/split_queue_driver.hpp"
#include "vmsg/driver/virtio_error.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::driver {

/// Core feature bits the transport driver knows about.
namespace vfeature {
inline constexpr unsigned kEventIdx = 29;          ///< VIRTIO_F_EVENT_IDX
inline constexpr unsigned kVersion1 = 32;          ///< VIRTIO_F_VERSION_1
inline constexpr unsigned kRingPacked = 34;        ///< VIRTIO_F_RING_PACKED (never requested: split rings only)
inline constexpr unsigned kNotificationData = 38;  ///< VIRTIO_F_NOTIFICATION_DATA (never requested)
inline constexpr unsigned kNotifConfigData = 39;   ///< VIRTIO_F_NOTIF_CONFIG_DATA (never requested under REV1, L895)
inline constexpr unsigned kRingReset = 40;         ///< VIRTIO_F_RING_RESET
[[nodiscard]] constexpr std::uint64_t bit(unsigned n) noexcept { return std::uint64_t{1} << n; }
}  // namespace vfeature

/// Tunables of a TransportDriver.
struct TransportDriverOptions {
  /// Whole-read restarts when a multi-chunk GET_CONFIG sees the generation move.
  unsigned config_read_retries = 8;
  /// SET_CONFIG retries after a generation-mismatch rejection.
  unsigned config_write_retries = 4;
  /// wait_used(): polls of the device queue, advancing time between them.
  unsigned wait_polls = 2000;
  std::uint64_t wait_step_ns = 10'000;
  /// Carry on where the device deviates in a way a real driver (Linux) works
  /// around, recording each case in TransportDriver::deviations(), so that a
  /// test can still reach what it is about. Off: every deviation is an error.
  /// Worked around: a non-zero cur_size before SET_VQUEUE (VMSG-DEV-055).
  bool tolerate_deviations = false;
  /// REV1 only: the bus advertises VIRTIO_MSG_F_STRICT_CONFIG_GENERATION, so
  /// SET_CONFIG carries the latest generation seen and a refusal is followed
  /// by GET_CONFIG before a retry, as under PR28. Off (the AMP bus advertises
  /// no transport feature bits): the baseline profile, generation 0 and no
  /// generation retries (REV1 L375-420, L1407-1465). PR28 is always strict.
  bool strict_config_generation = false;
  /// REV1 only: when a request goes unanswered through every attempt of the
  /// link (FifoLinkConfig::retries), the request fails with NoResponse and
  /// the driver resets the device, polling the status to 0 (REV1 L565-568,
  /// L1490-1493): the driver must then init() again. Off: it only fails.
  bool recover_on_no_response = true;
  /// REV1 only: GET_DEVICE_STATUS polls (wait_step_ns apart) after a
  /// SET_DEVICE_STATUS(0) answered with a status other than 0, before the
  /// reset counts as failed (REV1 L1490-1493, L1532-1535). PR28: no polling.
  unsigned reset_polls = 16;
};

/// A device deviation the driver worked around in tolerant mode.
struct Deviation {
  std::string requirement;  ///< catalogue ID the device broke, e.g. "VMSG-DEV-055"
  std::string detail;       ///< what the driver saw, naming the queue or message
  friend bool operator==(const Deviation&, const Deviation&) = default;
};

/// Counters of one TransportDriver.
struct TransportDriverStats {
  std::uint64_t requests = 0;
  std::uint64_t kicks = 0;                 ///< EVENT_AVAIL sent
  std::uint64_t used_events = 0;           ///< EVENT_USED for a configured queue (examined)
  std::uint64_t stray_used_events = 0;     ///< EVENT_USED for a queue that is not configured
  std::uint64_t config_events = 0;         ///< EVENT_CONFIG received
  std::uint64_t config_events_ignored = 0; ///< EVENT_CONFIG data outside config_size (not applied)
  std::uint64_t config_read_restarts = 0;  ///< reads restarted because the generation moved
  std::uint64_t config_write_rejects = 0;  ///< SET_CONFIG answered with length 0
  std::uint64_t device_events = 0;         ///< bus EVENT_DEVICE about this device
};

/// Where the driver is in the initialisation sequence (§7).
enum class Phase : std::uint8_t {
  Reset,       ///< status 0 (or unknown): only info, status and reset make sense
  FeaturesOk,  ///< features negotiated: queues may be set up
  Live,        ///< DRIVER_OK: I/O allowed
  Failed,      ///< FAILED written after a refusal: reset before anything else
};

/// Driver of one virtio device behind a BusDriver. Owns the device's
/// SplitQueueDrivers; reset() destroys them, so never keep a queue pointer
/// across a reset. Not thread-safe; the bus driver must outlive it.
class TransportDriver {
 public:
  /// Throws vmsg::ConfigError if the bus maximum is below 44 (VMSG-BUS-008),
  /// or below 52 under REV1 (REV1 L272-277).
  TransportDriver(BusDriver& bus, std::uint16_t dev_num, const TransportDriverOptions& options = {});

  // ---- identity and status ------------------------------------------------
  /// GET_DEVICE_INFO (VMSG-DRV-016/020); the answer is authoritative for
  /// feature count, config size and queue limits (VMSG-DRV-052) and cached.
  VResult<wire::GetDeviceInfoResp> get_info();
  [[nodiscard]] const std::optional<wire::GetDeviceInfoResp>& info() const noexcept { return info_; }
  /// GET_DEVICE_STATUS (VMSG-DRV-033/059).
  VResult<std::uint32_t> get_status();
  /// SET_DEVICE_STATUS(0) (VMSG-DRV-035/058): drops every queue, the
  /// negotiated features and the events filed for this device.
  VStatus reset();
  /// §7 steps 2-6: GET_DEVICE_INFO, reset, ACKNOWLEDGE, DRIVER, read all
  /// feature blocks, write offered ∩ wanted (minus NOTIFICATION_DATA and
  /// RING_PACKED, which this driver does not implement), FEATURES_OK, check
  /// it in the response and again with GET_DEVICE_STATUS. On refusal writes
  /// FAILED and returns FeaturesRefused. Returns the negotiated set.
  VResult<std::uint64_t> init(std::uint64_t wanted);
  /// §7 step 9: DRIVER_OK (VMSG-DRV-019/036), after init().
  VStatus driver_ok();

  [[nodiscard]] Phase phase() const noexcept { return phase_; }
  /// The status last written or reported.
  [[nodiscard]] std::uint32_t status() const noexcept { return status_; }
  /// Offered features (blocks 0 and 1) as read by init().
  [[nodiscard]] std::uint64_t device_features() const noexcept { return device_features_; }
  /// Negotiated features (0 before init()).
  [[nodiscard]] std::uint64_t features() const noexcept { return features_; }
  [[nodiscard]] bool has_feature(unsigned bit) const noexcept { return ((features_ >> bit) & 1U) != 0; }

  // ---- configuration space (§10) --------------------------------------------
  /// Reads [offset, offset + len): OutOfRange beyond config_size (nothing
  /// sent, VMSG-DRV-021/026/055); chunks whose responses fit the bus
  /// maximum; restarts when the generation differs between chunks
  /// (GenerationUnstable after config_read_retries restarts).
  VResult<std::vector<std::uint8_t>> read_config(std::uint32_t offset, std::uint32_t len);
  /// Writes `data` at `offset` carrying the latest generation (VMSG-DRV-006/
  /// 027/056); with none seen yet, a GET_CONFIG of the range learns it first. A length-0 answer is followed by a GET_CONFIG of the range
  /// (VMSG-DRV-007/028); the write is retried only if that showed a newer
  /// generation (otherwise the device refused the bytes: ConfigRejected).
  /// REV1 baseline profile (no strict_config_generation): generation 0, no
  /// read first, and a length-0 answer is ConfigRejected at once.
  VStatus write_config(std::uint32_t offset, std::span<const std::uint8_t> data);
  /// Little-endian helpers over read_config.
  VResult<std::uint32_t> read_config32(std::uint32_t offset);
  VResult<std::uint64_t> read_config64(std::uint32_t offset);
  /// The latest generation seen (GET_CONFIG, SET_CONFIG, EVENT_CONFIG).
  [[nodiscard]] std::uint32_t generation() const noexcept { return generation_; }
  /// Cached bytes of [offset, offset + len) if all of them are known and not
  /// invalidated by an EVENT_CONFIG without data.
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> cached_config(std::uint32_t offset, std::uint32_t len) const;
  /// Re-reads the configuration space if an EVENT_CONFIG left parts of the
  /// cache stale (VMSG-DRV-043/046/064). No traffic when nothing is stale.
  VStatus refresh_config();
  /// Whether some config bytes of the view are unknown: never read, or
  /// invalidated by an EVENT_CONFIG that carried no data.
  [[nodiscard]] bool config_stale() const noexcept;
  /// The configuration ranges ({offset, length}) a refresh reads and
  /// config_stale() looks at; empty (the default) is the whole space. A
  /// device-type driver narrows it to the fields that exist with the features
  /// offered: the others must not be read (VIRTIO content.tex L294-296).
  void set_config_view(std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges) {
    config_view_ = std::move(ranges);
  }

  // ---- virtqueues (§11) -----------------------------------------------------
  /// GET_VQUEUE (max_size, and cur_size must be 0: VMSG-DRV-029), size
  /// checks (VMSG-DRV-030), aligned rings from `ram`, SET_VQUEUE, and a
  /// confirming GET_VQUEUE (VMSG-DRV-018). Needs FEATURES_OK (VMSG-DRV-017);
  /// EVENT_IDX follows the negotiated features.
  VResult<SplitQueueDriver*> setup_queue(std::uint32_t q, std::uint32_t size, GuestAllocator& ram,
                                         bool no_interrupt = false);
  /// setup_queue with the ring size Linux would pick: `size` capped at the
  /// device's max_size and rounded down to a power of two, so a device with
  /// a small maximum (QEMU's virtio-rng: 8) still gets a queue. `size` is an
  /// upper bound here (1..32768, any value).
  VResult<SplitQueueDriver*> setup_queue_fitted(std::uint32_t q, std::uint32_t size, GuestAllocator& ram,
                                                bool no_interrupt = false);
  /// RESET_VQUEUE (only with RING_RESET negotiated, VMSG-DRV-062) and forget the queue.
  VStatus reset_queue(std::uint32_t q);
  /// The configured queue `q`, or null.
  [[nodiscard]] SplitQueueDriver* queue(std::uint32_t q) noexcept;

  // ---- shared memory ------------------------------------------------------------
  /// GET_SHM for region `shmid` (PR28 `index`): the answer must echo the id.
  /// Length 0 means no such region (REV1 L1756-1775). REV1 answers carry
  /// 64-bit length and address, PR28 ones 32-bit (zero-extended here).
  VResult<wire::GetShmResp> get_shm(std::uint32_t shmid);
  /// Publishes what was added to `q` and sends EVENT_AVAIL{q, 0}
  /// unconditionally (VMSG-DRV-039/040/042/065). No response is expected.
  VStatus kick(std::uint32_t q);
  /// Publishes, then kicks only if the device asked (EVENT_IDX or NO_NOTIFY).
  VStatus notify(std::uint32_t q);

  // ---- device events ----------------------------------------------------------
  /// Drains the FIFO and applies the events filed for this device:
  /// EVENT_CONFIG updates generation, cache and NEEDS_RESET (VMSG-DRV-043/
  /// 050/063/064); EVENT_USED makes the named queue be examined, its used
  /// elements kept for take_used() (VMSG-DRV-044/067); EVENT_DEVICE updates
  /// removed(). Errors: a queue broken by its used ring.
  VStatus poll();
  /// Used elements of `q` found so far (by EVENT_USED handling and by
  /// reaping now), oldest first.
  VResult<std::vector<UsedElem>> take_used(std::uint32_t q);
  /// take_used until something arrives, polling and advancing time up to the
  /// configured budget: Timeout, NeedsReset or DeviceRemoved otherwise.
  VResult<std::vector<UsedElem>> wait_used(std::uint32_t q);

  [[nodiscard]] bool needs_reset() const noexcept { return needs_reset_; }
  [[nodiscard]] bool removed() const noexcept { return removed_; }
  [[nodiscard]] std::uint16_t dev_num() const noexcept { return dev_num_; }
  [[nodiscard]] BusDriver& bus() noexcept { return *bus_; }
  [[nodiscard]] const TransportDriverStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const TransportDriverOptions& options() const noexcept { return options_; }
  /// The wire profile, as the bus driver's link has it.
  [[nodiscard]] const wire::Profile& profile() const noexcept { return bus_->profile(); }
  /// Deviations worked around so far (tolerate_deviations), oldest first.
  /// Append-only for the life of the driver object; a reset keeps them.
  [[nodiscard]] const std::vector<Deviation>& deviations() const noexcept { return deviations_; }

 private:
  struct QueueSlot {
    std::unique_ptr<SplitQueueDriver> ring;
    std::vector<UsedElem> used;  ///< reaped but not yet taken
  };

  /// One request/response exchange: applies filed events before and after
  /// (they are older than the response), checks the response kind.
  template <typename Resp>
  VResult<Resp> exchange(wire::Body body);
  VResult<std::uint32_t> set_status(std::uint32_t status);
  VResult<std::vector<std::uint8_t>> read_config_once(std::uint32_t offset, std::uint32_t len, bool& moved);
  VStatus check_range(std::uint32_t offset, std::uint64_t len, const char* what);
  VStatus ensure_info();
  void apply_events();
  void apply(const wire::Message& m);
  void note_status(std::uint32_t status);
  void note_config(std::uint32_t generation, std::uint32_t offset, std::span<const std::uint8_t> data);
  VResult<SplitQueueDriver*> setup_queue_sized(std::uint32_t q, std::uint32_t size, GuestAllocator& ram,
                                               bool no_interrupt, bool fit);
  VStatus reap_into(std::uint32_t q);
  VStatus ready_for_io(std::uint32_t q);
  void forget_device_state();
  VResult<std::uint32_t> await_reset(std::uint32_t answered);
  /// REV1 L565-568: a request whose bounded retries ran out has failed; the
  /// device is reset (and polled to 0) before anything else is sent.
  void recover();
  VStatus refresh_if_announced();
  /// Reads every range of the view (the whole space when it is empty).
  VStatus read_view();
  [[nodiscard]] bool rev1() const noexcept { return profile().layout == wire::Layout::Rev1; }
  /// Whether SET_CONFIG carries the tracked generation (PR28, or REV1 strict).
  [[nodiscard]] bool tracks_generation() const noexcept { return !rev1() || options_.strict_config_generation; }

  BusDriver* bus_;
  std::uint16_t dev_num_;
  TransportDriverOptions options_;
  std::optional<wire::GetDeviceInfoResp> info_;
  Phase phase_ = Phase::Reset;
  std::uint32_t status_ = 0;
  std::uint64_t device_features_ = 0;
  std::uint64_t features_ = 0;
  std::uint32_t generation_ = 0;
  bool generation_known_ = false;  ///< some message carried a generation already
  /// REV1: the generation of the latest GET_CONFIG or SET_CONFIG answer since
  /// the last reset; a read answered with another one is read again until
  /// two answers agree (REV1 L399-402).
  std::optional<std::uint32_t> config_answer_generation_;
  /// REV1: an EVENT_CONFIG without data arrived; GET_CONFIG before the next
  /// notification or config write (REV1 L405-407, L1046-1049).
  bool refresh_due_ = false;
  bool recovering_ = false;  ///< inside recover(): a failure there is not recovered again
  std::vector<std::uint8_t> config_;
  std::vector<bool> config_known_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> config_view_;  ///< set_config_view
  bool needs_reset_ = false;
  bool removed_ = false;
  std::map<std::uint32_t, QueueSlot> queues_;
  std::optional<VirtioError> queue_error_;  ///< a used-ring error found while handling EVENT_USED
  TransportDriverStats stats_{};
  std::vector<Deviation> deviations_;
};

}  // namespace vmsg::driver

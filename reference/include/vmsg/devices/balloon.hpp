// virtio-balloon (traditional memory balloon, virtio 1.x device ID 5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <span>

#include "vmsg/transport/backend.hpp"

namespace vmsg::devices {

/// Constants of the virtio-balloon device type (virtio 1.x §5.5).
namespace balloon {
inline constexpr unsigned kFeatMustTellHost = 0;  ///< VIRTIO_BALLOON_F_MUST_TELL_HOST
inline constexpr unsigned kInflateQueue = 0;
inline constexpr unsigned kDeflateQueue = 1;
inline constexpr std::uint32_t kCfgNumPages = 0;  ///< le32, device-set target in 4 KiB pages
inline constexpr std::uint32_t kCfgActual = 4;    ///< le32, driver-written current size
inline constexpr std::uint32_t kConfigSize = 8;
/// Default bound on distinct PFNs tracked as inflated (64 GiB of 4 KiB pages);
/// beyond it PFNs are counted as dropped, so a hostile driver cannot exhaust
/// host memory.
inline constexpr std::size_t kMaxTrackedPages = std::size_t{1} << 24;
}  // namespace balloon

/// Counters of a BalloonBackend (never reset).
struct BalloonStats {
  std::uint64_t inflate_chains = 0;
  std::uint64_t deflate_chains = 0;
  std::uint64_t inflated_pfns = 0;    ///< PFNs received on the inflate queue
  std::uint64_t deflated_pfns = 0;    ///< PFNs received on the deflate queue
  std::uint64_t unknown_deflates = 0; ///< deflated PFNs that were not inflated
  std::uint64_t dropped_pfns = 0;     ///< new inflate PFNs refused: the tracking bound was reached
  std::uint64_t trailing_bytes = 0;   ///< readable bytes not forming a whole le32 (ignored)
};

/// The balloon: the device sets a target (num_pages), the driver inflates or
/// deflates by sending PFNs and reports `actual`. Only MUST_TELL_HOST is
/// offered (no stats queue, no free page hinting), so there are two queues.
class BalloonBackend final : public transport::Backend {
 public:
  static constexpr std::uint32_t kDeviceId = 5;
  /// Maximum of both queues unless the device is built with another (as QEMU's).
  static constexpr std::uint32_t kDefaultMaxQueueSize = 128;

  /// `max_tracked` bounds the inflated set (tests lower it to reach the bound).
  /// `max_queue_size` is what GET_VQUEUE reports for both queues: a power of
  /// two in 1..32768 (make_backend checks it).
  explicit BalloonBackend(std::uint32_t initial_target = 0,
                          std::size_t max_tracked = balloon::kMaxTrackedPages,
                          std::uint32_t max_queue_size = kDefaultMaxQueueSize) noexcept
      : max_tracked_(max_tracked), queue_max_(max_queue_size), st_{.num_pages = initial_target, .actual = 0, .inflated = {}, .stats = {}} {}

  void bind(transport::DeviceContext& ctx) override { ctx_ = &ctx; }
  [[nodiscard]] std::uint32_t device_id() const override { return kDeviceId; }
  [[nodiscard]] std::uint64_t device_features() const override;
  [[nodiscard]] unsigned num_queues() const override { return 2; }
  [[nodiscard]] std::uint32_t max_queue_size(unsigned q) const override { return q < 2 ? queue_max_ : 0; }
  [[nodiscard]] std::uint32_t config_size() const override { return balloon::kConfigSize; }
  void read_config(std::uint32_t offset, std::span<std::uint8_t> out) const override;
  /// Accepts writes inside `actual` (bytes 4..7); refuses any touching num_pages.
  [[nodiscard]] bool write_config(std::uint32_t offset, std::span<const std::uint8_t> data) override;
  /// Clears the inflated set and `actual`; the target is the host's and stays.
  void reset() override;
  [[nodiscard]] virtqueue::Status process(unsigned q, virtqueue::SplitQueue& queue) override;

  /// The host asks for a new balloon size: updates num_pages, then tells the
  /// transport (config_changed(0, 4)) when bound.
  void set_target(std::uint32_t pages);
  /// Target, actual size, the inflated pages and the counters.
  [[nodiscard]] snapshot::Handle save_state() const override;
  void restore_state(const snapshot::Handle& state) override;

  [[nodiscard]] std::uint32_t target() const noexcept { return st_.num_pages; }
  [[nodiscard]] std::uint32_t actual() const noexcept { return st_.actual; }
  [[nodiscard]] std::size_t inflated_count() const noexcept { return st_.inflated.size(); }
  [[nodiscard]] bool is_inflated(std::uint32_t pfn) const { return st_.inflated.contains(pfn); }
  [[nodiscard]] const std::set<std::uint32_t>& inflated() const noexcept { return st_.inflated; }
  [[nodiscard]] const BalloonStats& stats() const noexcept { return st_.stats; }

 private:
  /// Which driver rules a chain has been reported for already (once each per chain).
  struct ChainRules {
    bool reinflated = false;
    bool unknown = false;
    bool below_target = false;
  };
  /// Reports to the context the driver rules one PFN of a chain breaks, just
  /// before the balloon takes it (balloon description.tex L188-218). Changes nothing.
  void check_pfn_rules(bool inflate, std::uint32_t pfn, ChainRules& done) const;
  /// The same for a driver write of `actual` (L179-180, L220-224), after it.
  void check_actual_rules() const;

  transport::DeviceContext* ctx_ = nullptr;
  std::size_t max_tracked_;
  std::uint32_t queue_max_;
  /// Everything a snapshot keeps, in one struct copied whole, so a field
  /// added here is saved and restored without further code.
  struct State {
    std::uint32_t num_pages = 0;
    std::uint32_t actual = 0;
    std::set<std::uint32_t> inflated;
    BalloonStats stats;
    /// num_pages rose above the balloon's size and no page was given since
    /// (balloon description.tex L179-180, judged when the driver reports `actual`).
    bool target_unanswered = false;
  };
  State st_;
};

}  // namespace vmsg::devices

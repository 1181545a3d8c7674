// What the validating peer remembers for the virtio core and device-type
// driver rules (VIRTIO-CORE-*, VIRTIO-BLK-*, VIRTIO-BALLOON-* with role
// driver) it checks at message level. Part of ValidatorModel, so it is saved
// and restored with the rest of the validator's model by value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace vmsg::transport::detail {

/// A configuration byte range a GET_CONFIG read, [offset, offset + length).
struct ConfigRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  friend bool operator==(const ConfigRange&, const ConfigRange&) = default;
};

/// The validator's memory for the virtio driver rules (checks in
/// validating_endpoint_virtio.cpp).
struct VirtioRuleModel {
  /// The driver has reset the device (SET_DEVICE_STATUS 0 answered) since the
  /// validator started watching: step 1 of the initialization (content.tex L518-545).
  bool reset_seen = false;
  /// SET_DEVICE_STATUS(0) was answered with a non-zero status and no status
  /// read has shown 0 since: the reset is not known complete (content.tex L259-260).
  bool reset_incomplete = false;
  /// FEATURES_OK was asked for and the device's answer did not keep it: the
  /// initialization failed (content.tex L539-541, L547-550); cleared by a reset.
  bool features_refused = false;
  /// Queues reset with RESET_VQUEUE and not read back with GET_VQUEUE since
  /// (content.tex L421-422).
  std::set<std::uint32_t> reset_unverified;
  /// Queues reset with RESET_VQUEUE and set up again since: their re-enable
  /// must be confirmed as at first discovery before use (content.tex L439-441).
  std::set<std::uint32_t> reenabled;
  /// Where the rings of each queue set up with an accepted SET_VQUEUE lie
  /// (driver area, device area), to see whether the device holds buffers
  /// when the queue is replaced (content.tex L631); dropped by either reset.
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> rings;
  /// The running sequence of back-to-back GET_CONFIG reads (content.tex
  /// L281-283): the ranges read at the latest generation, the ones read at an
  /// earlier generation, and that latest generation.
  std::vector<ConfigRange> reads_fresh;
  std::vector<ConfigRange> reads_stale;
  std::optional<std::uint32_t> reads_generation;
  /// blk: an EVENT_CONFIG that may have moved the capacity was posted, and
  /// (once a later response is posted) reached the driver; cleared by a read
  /// of the capacity (blk description.tex L868-869).
  bool capacity_event_posted = false;
  bool capacity_check_owed = false;
  friend bool operator==(const VirtioRuleModel&, const VirtioRuleModel&) = default;
};

/// Back-to-back reads tracked at most; a driver spraying reads beyond this is
/// judged on the first ones only (the model stays bounded).
inline constexpr std::size_t kMaxTrackedReads = 256;

}  // namespace vmsg::transport::detail

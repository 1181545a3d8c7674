// Named, off-by-default fault modes of the reference device.
//
// A fault makes the reference behave like a known-buggy implementation (QEMU's
// virtio-msg-amp-pci bugs in amp-pci-device.md §10/§11, classic ring bugs), so
// the conformance suite can prove that it catches each one: with fault F on,
// at least one test fails, and the failing tests cite a requirement F breaks.
//
// The set travels in the construction options of each layer that can
// misbehave (AmpConfig, TransportOptions); a layer only consults the faults it
// implements. All faults off is the conforming reference.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vmsg::fault {

/// Every fault mode. Names (kebab-case) are stable; they are what users type
/// after `--fault`. Append new ones before kCount.
enum class Fault : std::uint8_t {
  NoGetShmResponse,        ///< "no-get-shm-response": GET_SHM dropped unanswered (D8, bug 13)
  LoseOnFullRing,          ///< "lose-on-full-ring": a frame that meets a full device queue is lost (bug 10)
  StaleSlotBytes,          ///< "stale-slot-bytes": slot bytes after msg_size keep old content (bug 19)
  TrustSharedOwnIndex,     ///< "trust-shared-own-index": own ring index re-read from shared memory
  MsixIgnoresMask,         ///< "msix-ignores-mask": MSI written although the vector or function is masked
  GenerationNotBumped,     ///< "generation-not-bumped": config changes keep the old generation
  ResetKeepsQueues,        ///< "reset-keeps-queues": status 0 leaves virtqueue state configured
  NoConfigEvent,           ///< "no-config-event": device-side config change sends no EVENT_CONFIG (bug 11)
  SetConfigIgnoresGeneration, ///< "set-config-ignores-generation": stale SET_CONFIG applied (D3)
  EchoReservedTypeBits,    ///< "echo-reserved-type-bits": response type = request type | RESPONSE (D15)
  AnswerEmptySlot,         ///< "answer-empty-slot": transport requests to absent dev_num answered (D9)
  GetDevicesUnaligned,     ///< "get-devices-unaligned": unaligned GET_DEVICES answered, next_offset never 0 (D12, bug 15)
  AnswerBusResponses,      ///< "answer-bus-responses": a bus message with the RESPONSE bit is answered (D13)
  NoSizeCheck,             ///< "no-size-check": msg_size longer than the content accepted (D14, D16)
  MaxMessage48,            ///< "max-message-48": messages over 48 bytes dropped, features clipped (D1, D2, D20)
  IgnoreBusMaster,         ///< "ignore-bus-master": virtqueue DMA while Bus Master Enable is clear (D32, bug 20)
  StatusHighBitsKept,      ///< "status-high-bits-kept": SET_DEVICE_STATUS keeps bits 8..31 (D18)
  UsedIgnoresSuppression,  ///< "used-ignores-suppression": EVENT_USED despite NO_INTERRUPT / used_event
  NotifyAnyWidth,          ///< "notify-any-width": byte/halfword/8-byte NOTIFY writes ring FIFOs (bug 17)
  DuplicateResponse,       ///< "duplicate-response": every transport request answered twice
  CurSizeReportsMax,       ///< "cur-size-reports-max": GET_VQUEUE of an unconfigured queue reports max_size
  AcceptUnofferedFeatures, ///< "accept-unoffered-features": FEATURES_OK accepted with unoffered bits acked
  ConfigOutOfRangeFf,      ///< "config-out-of-range-ff": config access past config_size answered (D4, D5)
  AsanResetVqueueOverflow, ///< "asan-reset-vqueue-overflow": RESET_VQUEUE index >= 1024 is fatal, as under ASan (bug 3)
  Rev1TokenNotCopied,      ///< "rev1-token-not-copied": responses carry token 0, bus responses included (REV1 only)
  Rev1VqueueFlagsIgnored,  ///< "rev1-vqueue-flags-ignored": SET_VQUEUE configures and enables whatever its flags say (REV1 only)
  Rev1ShmPr28Layout,       ///< "rev1-shm-pr28-layout": GET_SHM answered in PR28's 20-byte layout (REV1 only)
  Rev1StaleGenerationRejected, ///< "rev1-stale-generation-rejected": baseline profile, stale SET_CONFIG refused (REV1 only)
  UsedLenWholeChain,       ///< "used-len-whole-chain": used len counts the whole chain, readable bytes included
  EventUsedWrongQueue,     ///< "event-used-wrong-queue": EVENT_USED names the next queue of a multi-queue device
  NoInterruptIgnored,      ///< "no-interrupt-ignored": EVENT_USED although avail flags say NO_INTERRUPT
  UsedWrongId,             ///< "used-wrong-id": a used element's id names the descriptor after the chain's head
  FeatureBlockShifted,     ///< "feature-block-shifted": GET_DEVICE_FEATURES block n carries block n + 1's bits
  UsedOutOfOrder,          ///< "used-out-of-order": a conforming variation, each batch's used elements in reverse
  kCount
};

inline constexpr std::size_t kFaultCount = static_cast<std::size_t>(Fault::kCount);

/// Both wire profiles, as FaultInfo::profiles spells them.
inline constexpr std::string_view kAllProfiles = "pr28 rev1-2026";

/// Facts about one fault: its name, what it does, which catalogue
/// requirements it breaks (space-separated IDs; empty for a conforming
/// variation, which a fault matrix must see pass), what it is modelled on, and
/// the wire profiles (space-separated wire::Profile names) whose rules it is
/// judged against. A fault is accepted under every profile, but a fault
/// matrix skips it under a profile it does not list: there it does nothing
/// (the rev1-* faults under PR28, get-devices-unaligned under REV1) or
/// nothing that profile forbids (set-config-ignores-generation under REV1's
/// baseline profile).
struct FaultInfo {
  Fault fault;
  std::string_view name;
  std::string_view summary;
  std::string_view breaks;
  std::string_view modelled_on;
  std::string_view profiles = kAllProfiles;
};

/// Whether `fi` lists the profile named `profile` ("pr28", "rev1-2026").
[[nodiscard]] bool applies_to(const FaultInfo& fi, std::string_view profile) noexcept;

/// A named group of faults that together stand in for one implementation
/// (e.g. "qemu-v2": what QEMU's device was observed to do). Accepted wherever
/// a fault name is; a set name is never also a fault name.
struct FaultSetInfo {
  std::string_view name;
  std::string_view summary;
  std::span<const Fault> members;  ///< in enum order, no repeats
};

/// Every fault, in enum order.
[[nodiscard]] std::span<const FaultInfo> all_faults() noexcept;
[[nodiscard]] const FaultInfo& info(Fault f) noexcept;
/// The fault with this name, or nullopt.
[[nodiscard]] std::optional<Fault> parse(std::string_view name) noexcept;

/// Every named fault set.
[[nodiscard]] std::span<const FaultSetInfo> all_fault_sets() noexcept;
/// The fault set with this name, or nullptr.
[[nodiscard]] const FaultSetInfo* find_fault_set(std::string_view name) noexcept;

/// A set of active faults. Empty = the conforming reference.
class FaultSet {
 public:
  FaultSet() = default;
  /// Parses a comma-separated list of fault or fault-set names ("" =
  /// empty); a set name adds all its members. Throws vmsg::ConfigError
  /// naming the unknown entry.
  [[nodiscard]] static FaultSet parse_list(std::string_view names);
  /// The members of a named set.
  [[nodiscard]] static FaultSet of(const FaultSetInfo& set) noexcept;

  [[nodiscard]] bool has(Fault f) const noexcept { return bits_.test(static_cast<std::size_t>(f)); }
  FaultSet& set(Fault f, bool on = true) noexcept {
    bits_.set(static_cast<std::size_t>(f), on);
    return *this;
  }
  /// Adds every fault of `other`.
  FaultSet& merge(const FaultSet& other) noexcept {
    bits_ |= other.bits_;
    return *this;
  }
  [[nodiscard]] bool empty() const noexcept { return bits_.none(); }
  /// Comma-separated names in enum order ("" when empty).
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const FaultSet&, const FaultSet&) = default;

 private:
  std::bitset<kFaultCount> bits_;
};

}  // namespace vmsg::fault

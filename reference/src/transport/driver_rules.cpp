#include "vmsg/transport/driver_rules.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace vmsg::transport {

namespace {

using P = RuleCheckPoint;

// The wording is ours; requirements.md has the paraphrases, the TeX the text.
constexpr std::array kRules{
    // ---- per device (ValidatingEndpoint) ----------------------------------
    DriverRuleInfo{"VMSG-DRV-007", P::Endpoint,
                   "SET_CONFIG sent again after a SET_CONFIG was refused for a stale generation, with no "
                   "GET_CONFIG in between"},
    DriverRuleInfo{"VMSG-DRV-014", P::Endpoint, "SET_VQUEUE with a non-zero reserved word"},
    DriverRuleInfo{"VMSG-DRV-016", P::Endpoint,
                   "GET_DEVICE_FEATURES, SET_DRIVER_FEATURES, GET_VQUEUE, SET_VQUEUE or RESET_VQUEUE before the "
                   "device ever answered a GET_DEVICE_INFO"},
    DriverRuleInfo{"VMSG-DRV-017", P::Endpoint,
                   "SET_VQUEUE while the device's reported status does not have FEATURES_OK"},
    DriverRuleInfo{"VMSG-DRV-018", P::Endpoint,
                   "EVENT_AVAIL for a queue whose latest SET_VQUEUE was not confirmed by a GET_VQUEUE of it"},
    DriverRuleInfo{"VMSG-DRV-021", P::Endpoint,
                   "GET_CONFIG or SET_CONFIG before the device ever answered a GET_DEVICE_INFO (config_size unknown)"},
    DriverRuleInfo{"VMSG-DRV-022", P::Endpoint,
                   "SET_DRIVER_FEATURES sets a bit in a feature block never read with GET_DEVICE_FEATURES"},
    DriverRuleInfo{"VMSG-DRV-024", P::Endpoint,
                   "FEATURES_OK set with no SET_DRIVER_FEATURES since the last reset"},
    DriverRuleInfo{"VMSG-DRV-024", P::Endpoint,
                   "SET_DRIVER_FEATURES while the device reports FEATURES_OK (negotiation already closed)"},
    DriverRuleInfo{"VMSG-DRV-029", P::Endpoint,
                   "SET_VQUEUE for a queue not read with GET_VQUEUE since the last reset (max_size and "
                   "inactivity unchecked)"},
    DriverRuleInfo{"VMSG-DRV-031", P::Endpoint,
                   "SET_VQUEUE whose descriptor table, driver area and device area overlap or wrap past 2^64"},
    DriverRuleInfo{"VMSG-DRV-032", P::Endpoint,
                   "before DRIVER_OK, with RING_RESET negotiated: SET_VQUEUE reprograms a configured queue "
                   "without RESET_VQUEUE first"},
    DriverRuleInfo{"VMSG-DRV-034", P::Endpoint,
                   "non-zero SET_DEVICE_STATUS that clears a bit the device reports, sets DRIVER without "
                   "ACKNOWLEDGE, FEATURES_OK without DRIVER, DEVICE_NEEDS_RESET, or a bit above 7"},
    DriverRuleInfo{"VMSG-DRV-036", P::Endpoint,
                   "DRIVER_OK set while the device's reported status does not have FEATURES_OK"},
    DriverRuleInfo{"VMSG-DRV-037", P::Endpoint,
                   "EVENT_AVAIL while the device's reported status does not have DRIVER_OK"},
    DriverRuleInfo{"VMSG-DRV-038", P::Endpoint,
                   "EVENT_AVAIL for a queue index that is not configured (never set, set with invalid "
                   "parameters, reset, or beyond max_virtqueues)"},
    DriverRuleInfo{"VMSG-DRV-048", P::Endpoint,
                   "after DRIVER_OK, with RING_RESET negotiated: SET_VQUEUE reprograms a configured queue "
                   "without RESET_VQUEUE first"},
    DriverRuleInfo{"VMSG-DRV-050", P::Endpoint,
                   "EVENT_AVAIL after the device reported DEVICE_NEEDS_RESET and a later response reached the "
                   "driver, with no reset in between"},
    DriverRuleInfo{"VMSG-DRV-054", P::Endpoint,
                   "SET_DRIVER_FEATURES sets a bit the device's GET_DEVICE_FEATURES answer did not offer"},
    DriverRuleInfo{"VMSG-DRV-055", P::Endpoint,
                   "GET_CONFIG with offset + length beyond config_size from GET_DEVICE_INFO"},
    DriverRuleInfo{"VMSG-DRV-056", P::Endpoint,
                   "SET_CONFIG whose generation is neither the one in the latest GET_CONFIG/SET_CONFIG answer nor "
                   "one carried by a later EVENT_CONFIG (or no generation was shown yet)"},
    DriverRuleInfo{"VMSG-DRV-057", P::Endpoint,
                   "SET_CONFIG with offset + length beyond config_size from GET_DEVICE_INFO"},
    DriverRuleInfo{"VMSG-DRV-060", P::Endpoint,
                   "SET_VQUEUE size 0, above the max_size GET_VQUEUE reported, or not a power of two (split rings "
                   "only: the device never offers RING_PACKED)"},
    DriverRuleInfo{"VMSG-DRV-061", P::Endpoint,
                   "SET_VQUEUE with a descriptor table not 16-byte, driver area not 2-byte or device area not "
                   "4-byte aligned"},
    DriverRuleInfo{"VMSG-DRV-062", P::Endpoint, "RESET_VQUEUE when VIRTIO_F_RING_RESET was not negotiated"},
    DriverRuleInfo{"VMSG-DRV-065", P::Endpoint,
                   "EVENT_AVAIL with a non-zero next_offset when VIRTIO_F_NOTIFICATION_DATA was not negotiated"},
    // ---- bus (malformed frames, dropped before any endpoint) --------------
    DriverRuleInfo{"VMSG-BUS-042", P::Bus,
                   "GET_DEVICES whose offset or count is not a multiple of 8 (the responder must refuse it)"},
    DriverRuleInfo{"VMSG-DRV-009", P::Bus, "a frame whose type byte has any of bits 2..7 set"},
    DriverRuleInfo{"VMSG-DRV-011", P::Bus,
                   "msg_size below the header or different from the size the message and its counts imply"},
    DriverRuleInfo{"VMSG-DRV-012", P::Bus, "msg_size above the bus maximum message size"},
    DriverRuleInfo{"VMSG-DRV-013", P::Bus, "a transport message for a device number with no device behind it"},
    DriverRuleInfo{"AMP-015", P::Bus, "slot bytes after msg_size that are not zero"},
    // ---- BAR0 registers ----------------------------------------------------
    DriverRuleInfo{"AMP-005", P::Registers, "a NOTIFY doorbell written with a value other than 1"},
    DriverRuleInfo{"AMP-006", P::Registers, "a BAR0 write that is not 32 bits wide"},
};

// The REV1-2026 checks (requirements-rev1.toml), for a validator built with
// ValidationProfile{Layout::Rev1} on a REV1 bus.
constexpr std::array kRev1Rules{
    // ---- per device (ValidatingEndpoint) ----------------------------------
    DriverRuleInfo{"R1-DRV-008", P::Endpoint,
                   "after a GET_CONFIG answer whose generation differs from the previous GET_CONFIG or SET_CONFIG "
                   "answer, a next message that is not GET_CONFIG (no re-read until the generation holds still)"},
    DriverRuleInfo{"R1-DRV-009", P::Endpoint, "baseline configuration profile: SET_CONFIG with a non-zero generation"},
    DriverRuleInfo{"R1-DRV-010", P::Endpoint,
                   "baseline profile: EVENT_AVAIL or SET_CONFIG after an EVENT_CONFIG without data reached the "
                   "driver, with no GET_CONFIG in between"},
    DriverRuleInfo{"R1-DRV-016", P::Endpoint,
                   "after a request the device never answered, a message other than its retry, GET_DEVICE_STATUS "
                   "or a reset (SET_DEVICE_STATUS 0)"},
    DriverRuleInfo{"R1-DRV-025", P::Endpoint,
                   "GET_DEVICE_FEATURES, SET_DRIVER_FEATURES, GET_VQUEUE, SET_VQUEUE or RESET_VQUEUE before the "
                   "device ever answered a GET_DEVICE_INFO"},
    DriverRuleInfo{"R1-DRV-026", P::Endpoint,
                   "SET_VQUEUE with state op 1 (enable) while the device's reported status does not have FEATURES_OK"},
    DriverRuleInfo{"R1-DRV-027", P::Endpoint,
                   "EVENT_AVAIL for a queue whose latest SET_VQUEUE was not confirmed by a GET_VQUEUE of it"},
    DriverRuleInfo{"R1-DRV-029", P::Endpoint,
                   "GET_CONFIG or SET_CONFIG before the device ever answered a GET_DEVICE_INFO (config_size unknown)"},
    DriverRuleInfo{"R1-DRV-030", P::Endpoint,
                   "SET_DRIVER_FEATURES sets a bit in a feature block never read with GET_DEVICE_FEATURES"},
    DriverRuleInfo{"R1-DRV-032", P::Endpoint, "SET_DRIVER_FEATURES accepts VIRTIO_F_NOTIF_CONFIG_DATA (bit 39)"},
    DriverRuleInfo{"R1-DRV-033", P::Endpoint, "FEATURES_OK set with no SET_DRIVER_FEATURES since the last reset"},
    DriverRuleInfo{"R1-DRV-033", P::Endpoint,
                   "SET_DRIVER_FEATURES while the device reports FEATURES_OK (negotiation already closed)"},
    DriverRuleInfo{"R1-DRV-035", P::Endpoint,
                   "DRIVER_OK set while the device's reported status does not have FEATURES_OK"},
    DriverRuleInfo{"R1-DRV-036", P::Endpoint,
                   "EVENT_AVAIL while the device's reported status does not have DRIVER_OK"},
    DriverRuleInfo{"R1-DRV-037", P::Endpoint, "EVENT_AVAIL for a queue that is not enabled (GET_VQUEUE flags bit 0)"},
    DriverRuleInfo{"R1-DRV-040", P::Endpoint,
                   "after DRIVER_OK, a message other than EVENT_AVAIL for the queue while an enabled queue's avail "
                   "index moved past the last EVENT_AVAIL and the device asked to be notified"},
    DriverRuleInfo{"R1-DRV-042", P::Endpoint,
                   "EVENT_AVAIL or SET_CONFIG after an EVENT_CONFIG with no data, offset 0 and length 0 reached the "
                   "driver, with no GET_CONFIG in between"},
    DriverRuleInfo{"R1-DRV-051", P::Endpoint,
                   "SET_DRIVER_FEATURES sets a bit the device's GET_DEVICE_FEATURES answer did not offer"},
    DriverRuleInfo{"R1-DRV-053", P::Endpoint,
                   "GET_CONFIG with offset + length beyond config_size from GET_DEVICE_INFO"},
    DriverRuleInfo{"R1-DRV-054", P::Endpoint,
                   "SET_CONFIG with offset + length beyond config_size from GET_DEVICE_INFO"},
    DriverRuleInfo{"R1-DRV-058", P::Endpoint,
                   "EVENT_AVAIL after the device reported DEVICE_NEEDS_RESET and a later response reached the "
                   "driver, with no reset in between"},
    DriverRuleInfo{"R1-DRV-059", P::Endpoint,
                   "after SET_DEVICE_STATUS(0) answered non-zero, a request other than GET_DEVICE_STATUS or another "
                   "reset before a status read shows 0"},
    DriverRuleInfo{"R1-DRV-061", P::Endpoint,
                   "after SET_DEVICE_STATUS(0) answered non-zero, starting over before GET_DEVICE_STATUS shows 0"},
    DriverRuleInfo{"R1-DRV-062", P::Endpoint,
                   "SET_VQUEUE for a queue not read with GET_VQUEUE since the last reset"},
    DriverRuleInfo{"R1-DRV-062", P::Endpoint,
                   "SET_VQUEUE enabling a queue whose GET_VQUEUE reported max_size 0"},
    DriverRuleInfo{"R1-DRV-063", P::Endpoint,
                   "SET_VQUEUE applying a size above the max_size GET_VQUEUE reported"},
    DriverRuleInfo{"R1-DRV-064", P::Endpoint, "SET_VQUEUE with a non-zero reserved word or flags bits 31..6 set"},
    DriverRuleInfo{"R1-DRV-065", P::Endpoint, "SET_VQUEUE with state operation 3"},
    DriverRuleInfo{"R1-DRV-066", P::Endpoint,
                   "SET_VQUEUE for a queue not read with GET_VQUEUE since the last reset"},
    DriverRuleInfo{"R1-DRV-067", P::Endpoint, "SET_VQUEUE with state operation 0 for a queue that is enabled"},
    DriverRuleInfo{"R1-DRV-068", P::Endpoint,
                   "SET_VQUEUE with size_ignore clear and a size above the max_size GET_VQUEUE reported"},
    DriverRuleInfo{"R1-DRV-069", P::Endpoint,
                   "SET_VQUEUE applying a descriptor table not 16-byte, driver area not 2-byte or device area not "
                   "4-byte aligned"},
    DriverRuleInfo{"R1-DRV-070", P::Endpoint,
                   "SET_VQUEUE changing the size or a ring address of a queue that is enabled"},
    DriverRuleInfo{"R1-DRV-071", P::Endpoint,
                   "with RING_RESET negotiated: SET_VQUEUE reprogramming an enabled queue without RESET_VQUEUE first"},
    DriverRuleInfo{"R1-DRV-073", P::Endpoint, "RESET_VQUEUE when VIRTIO_F_RING_RESET was not negotiated"},
    DriverRuleInfo{"R1-DRV-074", P::Endpoint, "RESET_VQUEUE for a queue not read with GET_VQUEUE since the last reset"},
    DriverRuleInfo{"R1-DRV-077", P::Endpoint,
                   "EVENT_AVAIL with a non-zero next_offset when VIRTIO_F_NOTIFICATION_DATA was not negotiated"},
    // ---- bus (malformed frames, dropped before any endpoint) --------------
    DriverRuleInfo{"AMP-015", P::Bus, "slot bytes after msg_size that are not zero"},
    DriverRuleInfo{"R1-DRV-014", P::Bus,
                   "a transport message with the RESPONSE bit: a reply to a device message (REV1 has no device "
                   "request a driver answers, so whatever it answered was one to discard)"},
    DriverRuleInfo{"R1-DRV-018", P::Bus, "a frame whose type byte has any of bits 2..7 set"},
    DriverRuleInfo{"R1-DRV-020", P::Bus,
                   "msg_size below the header or different from the size the message and its counts imply"},
    DriverRuleInfo{"R1-DRV-021", P::Bus, "msg_size above the bus maximum message size"},
    DriverRuleInfo{"R1-DRV-022", P::Bus, "a transport message for a device number with no device behind it"},
    DriverRuleInfo{"R1-GEN-001", P::Bus, "a bus message (GET_DEVICES, PING) with a non-zero dev_num"},
    // ---- BAR0 registers (the AMP rules hold under both profiles) -----------
    DriverRuleInfo{"AMP-005", P::Registers, "a NOTIFY doorbell written with a value other than 1"},
    DriverRuleInfo{"AMP-006", P::Registers, "a BAR0 write that is not 32 bits wide"},
};

// The virtio core's driver rules (requirements-virtio.toml), the same under
// both drafts, appended to each profile's table below: the split-ring rules
// VirtqueueMonitor reads from guest memory (VIRTIO-RING-001 rides on the
// SET_VQUEUE alignment check), the status, feature and configuration rules of
// validating_endpoint_virtio.cpp, and the device-type request rules the
// backends report through DeviceContext::driver_rule.
constexpr std::array kVirtioRules{
    DriverRuleInfo{"VIRTIO-BALLOON-001", P::Endpoint,
                   "balloon: FEATURES_OK set without VIRTIO_BALLOON_F_MUST_TELL_HOST while it was offered"},
    DriverRuleInfo{"VIRTIO-BLK-010", P::Endpoint,
                   "blk: EVENT_AVAIL after an EVENT_CONFIG that may move capacity (and did not carry it) reached the "
                   "driver, with no GET_CONFIG of capacity in between"},
    DriverRuleInfo{"VIRTIO-BLK-012", P::Endpoint, "blk: FEATURES_OK set without VIRTIO_BLK_F_RO while it was offered"},
    DriverRuleInfo{"VIRTIO-CORE-001", P::Endpoint,
                   "SET_DRIVER_FEATURES while the device's reported status lacks ACKNOWLEDGE or DRIVER"},
    DriverRuleInfo{"VIRTIO-CORE-002", P::Endpoint,
                   "non-zero SET_DEVICE_STATUS that clears a bit the device reports (DEVICE_NEEDS_RESET aside)"},
    DriverRuleInfo{"VIRTIO-CORE-003", P::Endpoint,
                   "after FAILED, with no reset: a status write setting another bit, SET_DRIVER_FEATURES or SET_VQUEUE"},
    DriverRuleInfo{"VIRTIO-CORE-008", P::Endpoint,
                   "SET_DRIVER_FEATURES sets a bit of a block read with GET_DEVICE_FEATURES that was not offered"},
    DriverRuleInfo{"VIRTIO-CORE-009", P::Endpoint,
                   "SET_DRIVER_FEATURES sets a bit the draft reserves or does not define for the device type"},
    DriverRuleInfo{"VIRTIO-CORE-018", P::Endpoint,
                   "after SET_DEVICE_STATUS(0) answered non-zero, a request other than GET_DEVICE_STATUS or another "
                   "reset before a status read shows 0"},
    DriverRuleInfo{"VIRTIO-CORE-019", P::Endpoint,
                   "a run of GET_CONFIG reads ends with a range read before the generation moved and not read "
                   "again at the final generation"},
    DriverRuleInfo{"VIRTIO-CORE-020", P::Endpoint,
                   "GET_CONFIG or SET_CONFIG touching an optional blk or balloon field whose feature the device was "
                   "not seen offering"},
    DriverRuleInfo{"VIRTIO-CORE-025", P::Endpoint,
                   "SET_VQUEUE for a queue reset with RESET_VQUEUE, with no GET_VQUEUE of it since"},
    DriverRuleInfo{"VIRTIO-CORE-028", P::Endpoint,
                   "EVENT_AVAIL for a queue re-enabled after RESET_VQUEUE whose SET_VQUEUE no GET_VQUEUE confirmed"},
    DriverRuleInfo{"VIRTIO-CORE-029", P::Endpoint, "ACKNOWLEDGE set before the driver ever reset the device"},
    DriverRuleInfo{"VIRTIO-CORE-030", P::Endpoint,
                   "SET_CONFIG while the reported status has DRIVER but not FEATURES_OK (negotiation)"},
    DriverRuleInfo{"VIRTIO-CORE-031", P::Endpoint,
                   "SET_DRIVER_FEATURES adding a bit to the negotiated set while the device reports FEATURES_OK"},
    DriverRuleInfo{"VIRTIO-CORE-032", P::Endpoint,
                   "after the device refused FEATURES_OK, with no reset: GET_VQUEUE, SET_VQUEUE or DRIVER_OK"},
    DriverRuleInfo{"VIRTIO-CORE-033", P::Endpoint,
                   "EVENT_AVAIL with no SET_DEVICE_STATUS setting DRIVER_OK since the last reset"},
    DriverRuleInfo{"VIRTIO-CORE-034", P::Endpoint,
                   "a descriptor (or indirect table entry) of a chain the device holds (exposed, not yet in the "
                   "used ring) changed between two driver messages"},
    DriverRuleInfo{"VIRTIO-CORE-035", P::Endpoint,
                   "after DRIVER_OK, SET_VQUEUE replacing a configured queue whose avail index is ahead of its used "
                   "index (buffers the device holds), with no device or queue reset"},
    DriverRuleInfo{"VIRTIO-CORE-036", P::Endpoint,
                   "FEATURES_OK set without VIRTIO_F_VERSION_1 while the device offered it"},
    DriverRuleInfo{"VIRTIO-RING-001", P::Endpoint,
                   "SET_VQUEUE with a descriptor table not 16-byte, driver area not 2-byte or device area not "
                   "4-byte aligned"},
    DriverRuleInfo{"VIRTIO-RING-004", P::Endpoint,
                   "an exposed chain (indirect table included) with a device-readable descriptor after a "
                   "device-writable one"},
    DriverRuleInfo{"VIRTIO-RING-009", P::Endpoint,
                   "an exposed chain that reaches a descriptor twice (a loop) or whose lengths add up to more than "
                   "2^32 bytes"},
    DriverRuleInfo{"VIRTIO-RING-011", P::Endpoint, "an exposed descriptor with INDIRECT, INDIRECT_DESC not negotiated"},
    DriverRuleInfo{"VIRTIO-RING-012", P::Endpoint, "an indirect table entry with INDIRECT"},
    DriverRuleInfo{"VIRTIO-RING-013", P::Endpoint,
                   "an exposed chain with more descriptors (indirect table entries included) than the queue size"},
    DriverRuleInfo{"VIRTIO-RING-014", P::Endpoint, "an exposed descriptor with both INDIRECT and NEXT"},
    DriverRuleInfo{"VIRTIO-RING-018", P::Endpoint, "the avail ring's idx lower than at the previous driver message"},
    DriverRuleInfo{"VIRTIO-RING-019", P::Endpoint, "EVENT_IDX not negotiated: avail ring flags other than 0 or 1"},
    DriverRuleInfo{"VIRTIO-RING-021", P::Endpoint, "EVENT_IDX negotiated: avail ring flags not 0"},
    DriverRuleInfo{"VIRTIO-RING-034", P::Endpoint, "a queue set up (made live) with non-zero used ring flags"},
    DriverRuleInfo{"VIRTIO-RING-035", P::Endpoint,
                   "EVENT_IDX not negotiated: a notification RING-037 finds missing where avail_event would have "
                   "excused it (the driver may have heeded avail_event)"},
    DriverRuleInfo{"VIRTIO-RING-036", P::Endpoint,
                   "EVENT_IDX not negotiated: EVENT_AVAIL for new entries while the used flags had NO_NOTIFY"},
    DriverRuleInfo{"VIRTIO-RING-037", P::Endpoint,
                   "EVENT_IDX not negotiated, after DRIVER_OK: the avail idx moved while the used flags were 0, "
                   "and the next driver message is not EVENT_AVAIL for that queue"},
    DriverRuleInfo{"VIRTIO-RING-038", P::Endpoint,
                   "EVENT_IDX negotiated: a notification RING-039 finds missing while the used flags had NO_NOTIFY "
                   "(the driver may have heeded the flag)"},
    DriverRuleInfo{"VIRTIO-RING-039", P::Endpoint,
                   "EVENT_IDX negotiated, after DRIVER_OK: the new avail entries include the one avail_event names, "
                   "and the next driver message is not EVENT_AVAIL for that queue"},
    DriverRuleInfo{"VIRTIO-RING-040", P::Endpoint,
                   "EVENT_IDX negotiated: EVENT_AVAIL for new entries none of which avail_event names"},
    DriverRuleInfo{"VIRTIO-RNG-001", P::Endpoint,
                   "an exposed chain on the entropy request queue with a device-readable descriptor"},
    DriverRuleInfo{"VIRTIO-BALLOON-006", P::Backend,
                   "balloon: `actual` reported below num_pages with no page given since num_pages rose"},
    DriverRuleInfo{"VIRTIO-BALLOON-008", P::Backend,
                   "balloon: a page deflated while the balloon holds num_pages pages or fewer (DEFLATE_ON_OOM never "
                   "offered)"},
    DriverRuleInfo{"VIRTIO-BALLOON-010", P::Backend,
                   "balloon: an inflate naming a page still in the balloon (reused without a deflate)"},
    DriverRuleInfo{"VIRTIO-BALLOON-014", P::Backend,
                   "balloon: a deflate naming a page no returned inflate request gave"},
    DriverRuleInfo{"VIRTIO-BALLOON-015", P::Backend,
                   "balloon: a whole write of `actual` that differs from the pages in the balloon"},
    DriverRuleInfo{"VIRTIO-BLK-011", P::Backend, "blk IN or OUT request whose sectors reach past capacity"},
    DriverRuleInfo{"VIRTIO-BLK-013", P::Backend, "blk FLUSH request with a non-zero sector"},
    DriverRuleInfo{"VIRTIO-BLK-033", P::Backend, "blk FLUSH request with data bytes besides header and status"},
    DriverRuleInfo{"VIRTIO-BLK-014", P::Backend, "blk IN or OUT request whose data is not whole 512-byte sectors"},
    DriverRuleInfo{"VIRTIO-BLK-016", P::Backend, "blk GET_ID request whose data is not 20 bytes"},
};

template <std::size_t A, std::size_t B>
constexpr std::array<DriverRuleInfo, A + B> joined(const std::array<DriverRuleInfo, A>& a,
                                                   const std::array<DriverRuleInfo, B>& b) {
  std::array<DriverRuleInfo, A + B> out{};
  std::copy(a.begin(), a.end(), out.begin());
  std::copy(b.begin(), b.end(), out.begin() + A);
  return out;
}

constexpr auto kPr28All = joined(kRules, kVirtioRules);
constexpr auto kRev1All = joined(kRev1Rules, kVirtioRules);

}  // namespace

std::span<const DriverRuleInfo> checked_driver_rules() noexcept { return kPr28All; }

std::span<const DriverRuleInfo> checked_driver_rules(wire::Layout layout) noexcept {
  if (layout == wire::Layout::Rev1) return kRev1All;
  return kPr28All;
}

std::string_view to_string(RuleCheckPoint p) noexcept {
  switch (p) {
    case RuleCheckPoint::Endpoint:
      return "endpoint";
    case RuleCheckPoint::Bus:
      return "bus";
    case RuleCheckPoint::Registers:
      return "registers";
    case RuleCheckPoint::Backend:
      return "backend";
  }
  return "?";
}

std::string to_string(const RuleViolation& v) {
  return v.rule + " dev " + std::to_string(v.dev_num) + " " + v.kind + ": " + v.detail;
}

void DriverRuleLog::driver_rule(std::string_view rule, std::uint16_t dev_num, std::string_view kind,
                                std::string_view detail) {
  record(RuleViolation{std::string(rule), dev_num, std::string(kind), std::string(detail)});
}

void DriverRuleLog::record(RuleViolation v) { violations_.push_back(std::move(v)); }

std::size_t DriverRuleLog::count(std::string_view rule) const noexcept {
  return static_cast<std::size_t>(
      std::count_if(violations_.begin(), violations_.end(), [rule](const RuleViolation& v) { return v.rule == rule; }));
}

std::vector<std::string> DriverRuleLog::rules() const {
  std::vector<std::string> out;
  for (const RuleViolation& v : violations_) out.push_back(v.rule);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace vmsg::transport

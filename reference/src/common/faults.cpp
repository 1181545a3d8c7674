// The fault table: names, summaries, broken requirements and origins. The
// table is the single source the Python catalogue (fault_catalogue) reads.
#include "vmsg/common/faults.hpp"

#include <array>

#include "vmsg/common/errors.hpp"

namespace vmsg::fault {
namespace {

using F = Fault;

/// Faults judged under one profile only. PR28-only: REV1's baseline profile
/// ignores the SET_CONFIG generation (REV1 L431-434) and has no GET_DEVICES
/// alignment, and its EVENT_USED rule (REV1 L1032-1035) leaves notification
/// suppression to the virtio core; REV1-only: rules PR28 does not have.
/// A fault breaking an R1 ID under REV1 only (GET_SHM made mandatory, a
/// 52-byte GET_DEVICE_INFO) lists it beside the PR28 IDs.
constexpr std::string_view kPr28 = "pr28";
constexpr std::string_view kRev1 = "rev1-2026";

// One row per enum value, in enum order (checked below).
constexpr std::array<FaultInfo, kFaultCount> kTable{{
    {F::NoGetShmResponse, "no-get-shm-response", "GET_SHM requests are consumed and never answered.",
     "VMSG-DEV-059 VMSG-BUS-028 R1-DEV-048", "QEMU D8, bug 13 (amp-pci-device.md §10, §11)"},
    {F::LoseOnFullRing, "lose-on-full-ring",
     "A response or event that finds the device queue full is discarded instead of waiting, and no MSI is raised "
     "for it.",
     "VMSG-BUS-028 AMP-016", "QEMU bug 10 (amp-pci-device.md §11; bug 9 in v1; qemu-observed.md §5)"},
    {F::StaleSlotBytes, "stale-slot-bytes",
     "The device writes only msg_size bytes into a slot, so older bytes after the message stay visible.",
     "AMP-015 VMSG-BUS-024", "QEMU bug 19, D17 (amp-pci-device.md §10, §11)"},
    {F::TrustSharedOwnIndex, "trust-shared-own-index",
     "The device re-reads its own ring indices from shared memory on every operation, so a driver that overwrites "
     "them makes it replay or skip slots.",
     "VMSG-BUS-028 AMP-010", "QEMU ring caches (amp-pci-device.md §5.3), classic ring bug"},
    {F::MsixIgnoresMask, "msix-ignores-mask",
     "MSI-X messages are written even while the vector or the whole function is masked, instead of being held in "
     "the PBA.",
     "PCI-002 AMP-016", "classic MSI-X bug (PCI masking rules, amp-pci-device.md §7)"},
    {F::GenerationNotBumped, "generation-not-bumped",
     "Configuration changes, by the device or by SET_CONFIG, leave the generation count unchanged.",
     "VMSG-DEV-006 VMSG-DEV-007 VMSG-DEV-035 VMSG-DEV-038 VMSG-DEV-061", "classic config-generation bug"},
    {F::ResetKeepsQueues, "reset-keeps-queues",
     "Writing status 0 leaves every virtqueue configured, so GET_VQUEUE still reports its size and addresses.",
     "VMSG-DEV-030 VMSG-DEV-041 VMSG-DEV-055", "classic reset bug"},
    {F::NoConfigEvent, "no-config-event", "A device-side configuration change is not announced with EVENT_CONFIG.",
     "VMSG-DEV-034 VMSG-DEV-038 VMSG-DEV-061 VMSG-BUS-035 VIRTIO-BLK-021",
     "QEMU bug 11, D6 (amp-pci-device.md §10, §11)"},
    {F::SetConfigIgnoresGeneration, "set-config-ignores-generation",
     "SET_CONFIG is applied and answered with its length even when it carries a stale generation.",
     "VMSG-DEV-010 VMSG-DEV-025 VMSG-DEV-051", "QEMU D3 (amp-pci-device.md §10)", kPr28},
    {F::EchoReservedTypeBits, "echo-reserved-type-bits",
     "Responses copy the reserved type bits 2..7 of the request instead of sending them as zero.",
     "VMSG-DEV-015 VMSG-BUS-022 VMSG-GEN-001", "QEMU D15 (amp-pci-device.md §6.5, §10)"},
    {F::AnswerEmptySlot, "answer-empty-slot",
     "Transport requests for a device number with no device behind it get zero-filled responses.",
     "VMSG-BUS-013", "QEMU D9 (amp-pci-device.md §6.4, §10)"},
    {F::GetDevicesUnaligned, "get-devices-unaligned",
     "GET_DEVICES with an offset or count that is not a multiple of 8 is answered, and next_offset is always "
     "offset + count, never 0.",
     "VMSG-BUS-042 VMSG-BUS-043 VMSG-BUS-044 VMSG-BUS-045", "QEMU D12, bug 15 (amp-pci-device.md §6.3, §10, §11)",
     kPr28},
    {F::AnswerBusResponses, "answer-bus-responses",
     "A bus PING or GET_DEVICES that carries the RESPONSE bit is answered as if it were a request.",
     "VMSG-BUS-016 VMSG-BUS-017 READ-G12", "QEMU D13 (amp-pci-device.md §6.4, §10)"},
    {F::NoSizeCheck, "no-size-check",
     "A frame whose msg_size is larger than its message needs is accepted and the extra bytes are ignored.",
     "VMSG-BUS-016 VMSG-BUS-017 VMSG-DEV-012 READ-G12", "QEMU D14, D16 (amp-pci-device.md §10)"},
    {F::MaxMessage48, "max-message-48",
     "Transport requests and responses longer than 48 bytes are dropped, as if the bus maximum were 48; "
     "GET_DEVICE_FEATURES returns only the blocks that fit 48 bytes (8).",
     "VMSG-BUS-028 VMSG-BUS-006 VMSG-DEV-043 AMP-014 READ-G03 R1-DEV-049",
     "QEMU D1, D2, D20 (amp-pci-device.md §6.1, §10; qemu-observed.md §9)"},
    {F::IgnoreBusMaster, "ignore-bus-master",
     "Device DMA to virtqueues works while the PCI Bus Master Enable bit is clear.",
     "PCI-001", "QEMU bug 20, D32 (amp-pci-device.md §10, §11)"},
    {F::StatusHighBitsKept, "status-high-bits-kept",
     "SET_DEVICE_STATUS stores bits 8..31 and reports them back in the status.",
     "VMSG-DEV-031 VMSG-DEV-053 VMSG-GEN-001", "QEMU D18, bug 5 (amp-pci-device.md §10, §11)"},
    {F::UsedIgnoresSuppression, "used-ignores-suppression",
     "EVENT_USED is sent even when the driver suppressed used notifications (NO_INTERRUPT or used_event).",
     "VMSG-DEV-062 VIRTIO-RING-025 VIRTIO-RING-029", "classic virtqueue notification bug", kPr28},
    {F::NotifyAnyWidth, "notify-any-width",
     "Byte, halfword and 8-byte writes to NOTIFY ring doorbells; an 8-byte write at 0x20 rings FIFO0 and FIFO1.",
     "AMP-005 AMP-006", "QEMU bug 17, D30 (amp-pci-device.md §4, §11)"},
    {F::DuplicateResponse, "duplicate-response", "Every transport request is answered twice.", "VMSG-BUS-028",
     "classic response-path bug"},
    {F::CurSizeReportsMax, "cur-size-reports-max",
     "GET_VQUEUE for a queue that is not configured (never set, after a reset or RESET_VQUEUE) reports cur_size "
     "= max_size instead of 0; the addresses stay 0.",
     "VMSG-DEV-055", "QEMU rfc-latest (qemu-observed.md §9; after RESET_VQUEUE §6)"},
    {F::AcceptUnofferedFeatures, "accept-unoffered-features",
     "FEATURES_OK is accepted although the driver acknowledged feature bits the device never offered; the device "
     "silently negotiates the acknowledged bits it offered.",
     "VMSG-DEV-049 READ-G04 VIRTIO-CORE-050", "QEMU rfc-latest (qemu-observed.md §9)"},
    {F::ConfigOutOfRangeFf, "config-out-of-range-ff",
     "GET_CONFIG reaching past config_size is answered with the full length, the bytes past the end reading 0xFF; "
     "SET_CONFIG past config_size writes the bytes inside and echoes the full length.",
     "READ-G01", "QEMU D4, D5 (amp-pci-device.md §10; qemu-observed.md §4 row 9)"},
    {F::AsanResetVqueueOverflow, "asan-reset-vqueue-overflow",
     "RESET_VQUEUE with an index of 1024 or more is fatal, as in an AddressSanitizer build of QEMU: the device "
     "reports a heap-buffer-overflow in __virtio_queue_reset to its host instead of answering. vmsg-ref-qtest prints "
     "the report to stderr and exits with status 1; in-process hosts fail the port access with PortError.",
     "VMSG-DEV-012 VMSG-DEV-058 READ-G08",
     "QEMU bug 3, D25 under AddressSanitizer (amp-pci-device.md §10, §11; qemu-observed.md §7, §9)"},
    {F::Rev1TokenNotCopied, "rev1-token-not-copied",
     "Responses carry token 0 instead of the request's token, the bus's own PING and GET_DEVICES answers included.",
     "R1-DEV-037", "a device that treats the token as PR28 did, bus-owned and opaque (virtio-msg-rev1.md delta 9)",
     kRev1},
    {F::Rev1VqueueFlagsIgnored, "rev1-vqueue-flags-ignored",
     "SET_VQUEUE ignores its flags and reserved word: every request with a usable size and addresses configures "
     "and enables the queue, an enabled one included.",
     "R1-DEV-075 R1-DEV-076 R1-DEV-078 R1-DEV-079 R1-DEV-080",
     "QEMU's v2 device, PR28 wire format, where the flags word is reserved (virtio-msg-rev1.md delta 4)", kRev1},
    {F::Rev1ShmPr28Layout, "rev1-shm-pr28-layout",
     "GET_SHM is answered in PR28's 20-byte layout (32-bit length and address, no reserved word), which a REV1 "
     "driver cannot decode.",
     "R1-DEV-048 R1-DEV-085 R1-DEV-087", "a PR28 device under a REV1 driver (virtio-msg-rev1.md delta 6)", kRev1},
    {F::Rev1StaleGenerationRejected, "rev1-stale-generation-rejected",
     "Under the baseline configuration profile (no STRICT_CONFIG_GENERATION), SET_CONFIG with a generation other "
     "than the current one is refused with length 0, as under the strict profile.",
     "R1-DEV-006 R1-DEV-011 R1-DEV-012",
     "a PR28 device, always strict, on a REV1 bus without the transport feature (virtio-msg-rev1.md delta 10)", kRev1},
    {F::UsedLenWholeChain, "used-len-whole-chain",
     "A used element's len is the chain's whole length, device-readable bytes included, instead of the bytes the "
     "device wrote: a blk read reports its 16-byte header too, a blk write its header and data. Chains without "
     "device-writable bytes (balloon's) keep len 0.",
     "VIRTIO-RING-031", "classic used-length bug (the element's total size pushed as len)"},
    {F::EventUsedWrongQueue, "event-used-wrong-queue",
     "EVENT_USED names the next queue (index + 1, wrapping) instead of the one whose buffers were used; a "
     "single-queue device is unaffected, balloon's inflate and deflate queues swap.",
     "VMSG-DEV-037 VIRTIO-RING-026", "classic notification bug (queue index off by one on the interrupt path)"},
    {F::NoInterruptIgnored, "no-interrupt-ignored",
     "Without EVENT_IDX the available ring's flags are never read: EVENT_USED follows every used buffer although "
     "the driver set VIRTQ_AVAIL_F_NO_INTERRUPT. used_event (EVENT_IDX) is still honoured.",
     "VIRTIO-RING-025 VMSG-DEV-062", "classic virtqueue notification bug (avail flags ignored)"},
    {F::UsedWrongId, "used-wrong-id",
     "A used element's id names the descriptor after the chain's head (head + 1, wrapping at the queue size) "
     "instead of the head itself; len and the used index are right.",
     "VIRTIO-RING-048", "classic used-ring bug (the id of the last descriptor or a neighbour returned)"},
    {F::FeatureBlockShifted, "feature-block-shifted",
     "GET_DEVICE_FEATURES answers block n with the bits of block n + 1: VERSION_1 (bit 32) shows as bit 0 of "
     "block 0, and the real bits 0-31 are never seen.",
     "VIRTIO-CORE-043 VIRTIO-CORE-014", "classic feature-window bug (block index off by one)"},
    {F::UsedOutOfOrder, "used-out-of-order",
     "A conforming variation, not a bug: the used elements of each batch the device completes are published "
     "in reverse order. Without IN_ORDER the driver must accept any order, so a matrix expects no finding.",
     "", "devices that complete requests out of order (virtio-blk over a real disk)"},
}};

// qemu-v2: every fault QEMU's rfc-latest device was OBSERVED to show under
// qtest (qemu-observed.md §4-§9); a set claims only what a run has shown.
// Left out on purpose: echo-reserved-type-bits and msix-ignores-mask, because
// the device was observed to conform (§4 row 23 and §9; §5 masked entry);
// and ignore-bus-master, set-config-ignores-generation, status-high-bits-kept
// (status 0x100 aborts QEMU instead, §7), generation-not-bumped,
// reset-keeps-queues, used-ignores-suppression, duplicate-response,
// trust-shared-own-index, used-len-whole-chain, event-used-wrong-queue and
// no-interrupt-ignored, which come from reading the code or are classic
// bugs, not from anything a run showed. asan-reset-vqueue-overflow stands for
// a sanitizer build: the plain build the set models survives RESET_VQUEUE
// 0x400 silently (§9).
constexpr std::array kQemuV2{
    F::NoGetShmResponse,   F::LoseOnFullRing,      F::StaleSlotBytes,         F::NoConfigEvent,
    F::AnswerEmptySlot,    F::GetDevicesUnaligned, F::AnswerBusResponses,     F::NoSizeCheck,
    F::MaxMessage48,       F::NotifyAnyWidth,      F::CurSizeReportsMax,      F::AcceptUnofferedFeatures,
    F::ConfigOutOfRangeFf,
};

constexpr std::array<FaultSetInfo, 1> kSets{{
    {"qemu-v2",
     "Every fault QEMU's rfc-latest virtio-msg-amp-pci device was observed to show (qemu-observed.md §4-§9).",
     kQemuV2},
}};

constexpr bool table_in_order() {
  for (std::size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<std::size_t>(kTable[i].fault) != i) return false;
  }
  return true;
}
static_assert(table_in_order(), "kTable rows must follow the Fault enum order");

// A set name that is also a fault name would make "--fault NAME" ambiguous;
// members in enum order keep each set free of repeats.
constexpr bool sets_well_formed() {
  for (std::size_t i = 0; i < kSets.size(); ++i) {
    for (const FaultInfo& fi : kTable) {
      if (fi.name == kSets[i].name) return false;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (kSets[j].name == kSets[i].name) return false;
    }
    if (kSets[i].members.empty()) return false;
    for (std::size_t k = 1; k < kSets[i].members.size(); ++k) {
      if (kSets[i].members[k - 1] >= kSets[i].members[k]) return false;
    }
  }
  return true;
}
static_assert(sets_well_formed(), "fault set names must differ from fault names and each other; members in enum order");

}  // namespace

std::span<const FaultInfo> all_faults() noexcept { return kTable; }

bool applies_to(const FaultInfo& fi, std::string_view profile) noexcept {
  std::string_view rest = fi.profiles;
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    if (rest.substr(0, space) == profile) return true;
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
  }
  return false;
}

const FaultInfo& info(Fault f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  // kCount (or a cast-in value) is not a fault: answer with the first row
  // rather than read past the table.
  return i < kTable.size() ? kTable[i] : kTable[0];
}

std::optional<Fault> parse(std::string_view name) noexcept {
  for (const FaultInfo& fi : kTable) {
    if (fi.name == name) return fi.fault;
  }
  return std::nullopt;
}

std::span<const FaultSetInfo> all_fault_sets() noexcept { return kSets; }

const FaultSetInfo* find_fault_set(std::string_view name) noexcept {
  for (const FaultSetInfo& s : kSets) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

FaultSet FaultSet::of(const FaultSetInfo& set) noexcept {
  FaultSet out;
  for (const Fault f : set.members) out.set(f);
  return out;
}

FaultSet FaultSet::parse_list(std::string_view names) {
  FaultSet set;
  while (!names.empty()) {
    const std::size_t comma = names.find(',');
    std::string_view item = names.substr(0, comma);
    names = comma == std::string_view::npos ? std::string_view{} : names.substr(comma + 1);
    // Tolerate spaces around entries ("a, b") but not empty entries in the middle.
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (const FaultSetInfo* group = find_fault_set(item)) {
      set.merge(of(*group));
      continue;
    }
    const std::optional<Fault> f = parse(item);
    if (!f) {
      std::string known;
      for (const FaultInfo& fi : kTable) known += (known.empty() ? "" : ", ") + std::string(fi.name);
      std::string sets;
      for (const FaultSetInfo& fs : kSets) sets += (sets.empty() ? "" : ", ") + std::string(fs.name);
      throw ConfigError("unknown fault \"" + std::string(item) + "\"; known faults: " + known +
                        "; fault sets: " + sets);
    }
    set.set(*f);
  }
  return set;
}

std::string FaultSet::to_string() const {
  std::string out;
  for (const FaultInfo& fi : kTable) {
    if (!has(fi.fault)) continue;
    if (!out.empty()) out += ',';
    out += fi.name;
  }
  return out;
}

}  // namespace vmsg::fault

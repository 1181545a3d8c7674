#include "vmsg/transport/virtqueue_monitor.hpp"

#include <array>
#include <limits>
#include <set>
#include <span>
#include <string_view>
#include <utility>

#include "validation_helpers.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/virtqueue/ring.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::transport {

namespace {

namespace ring = virtqueue::ring;

constexpr std::uint64_t kMaxChainBytes = 1ULL << 32;  // VIRTIO split-ring.tex L223-224
constexpr std::uint64_t kMaxTableEntries = 1U << 16;  // no u16 `next` names more

std::optional<std::uint16_t> read_u16(pci::DmaSpace& mem, std::uint64_t addr) { return detail::read_le<std::uint16_t>(mem, addr); }

std::optional<std::uint32_t> read_u32(pci::DmaSpace& mem, std::uint64_t addr) { return detail::read_le<std::uint32_t>(mem, addr); }

/// One descriptor, decoded field by field (little-endian), and its raw bytes.
struct Desc {
  std::array<std::uint8_t, ring::kDescSize> raw{};
  std::uint64_t addr = 0;
  std::uint32_t len = 0;
  std::uint16_t flags = 0;
  std::uint16_t next = 0;
};

std::optional<Desc> read_desc(pci::DmaSpace& mem, std::uint64_t table, std::uint64_t i) {
  Desc d;
  const std::uint64_t at = table + ring::kDescSize * i;
  const bool wraps = at < table || at > std::numeric_limits<std::uint64_t>::max() - (ring::kDescSize - 1);
  if (wraps || !mem.dma_read(at, d.raw)) return std::nullopt;
  d.addr = le::load64(d.raw, ring::kDescAddrOffset);
  d.len = le::load32(d.raw, ring::kDescLenOffset);
  d.flags = le::load16(d.raw, ring::kDescFlagsOffset);
  d.next = le::load16(d.raw, ring::kDescNextOffset);
  return d;
}

/// Follows one chain from `head`: its digest (FNV-1a over the descriptors
/// met, so a later walk tells whether any changed) and the rules it breaks,
/// each once.
class ChainWalk {
 public:
  ChainWalk(pci::DmaSpace& mem, const MonitoredQueue& q, std::uint16_t head) : mem_(mem), q_(q), head_(head) {}

  std::uint64_t run() {
    follow(q_.desc_addr, q_.size, head_, false);
    if (total_ > kMaxChainBytes) flag("VIRTIO-RING-009", std::to_string(total_) + " bytes in all (above 2^32)");
    if (count_ > q_.size) {
      flag("VIRTIO-RING-013", std::to_string(count_) + " descriptors, queue size " + std::to_string(q_.size));
    }
    return digest_;
  }

  std::vector<RingFinding> findings;

 private:
  /// Follows `next` through a table of `n` descriptors at `table` from
  /// `start`: the descriptor table, or (`in_table`) an indirect table.
  void follow(std::uint64_t table, std::uint64_t n, std::uint64_t start, bool in_table) {
    const std::string where = in_table ? "indirect table entry " : "descriptor ";
    std::vector<bool> seen(n, false);
    std::uint64_t i = start;
    while (i < n) {  // an index beyond the table is no rule of ours: stop
      if (seen[i]) {
        flag("VIRTIO-RING-009", "loops back to " + where + std::to_string(i));
        return;
      }
      seen[i] = true;
      const auto d = read_desc(mem_, table, i);
      if (!d) return;
      take(*d);
      if ((d->flags & ring::kDescFIndirect) != 0) {
        indirect(*d, where + std::to_string(i), in_table);
        return;  // an indirect descriptor ends the chain; a nested table is not followed
      }
      segment(*d);
      if ((d->flags & ring::kDescFNext) == 0) return;
      i = d->next;
    }
  }

  void indirect(const Desc& d, const std::string& name, bool nested) {
    if (nested) {
      flag("VIRTIO-RING-012", name + " is INDIRECT");
      return;
    }
    if (!q_.indirect) flag("VIRTIO-RING-011", name + " is INDIRECT, not negotiated");
    if ((d.flags & ring::kDescFNext) != 0) flag("VIRTIO-RING-014", name + " has INDIRECT and NEXT");
    if (d.len == 0 || d.len % ring::kDescSize != 0) return;  // not a table at all: the device's concern
    follow(d.addr, std::min<std::uint64_t>(d.len / ring::kDescSize, kMaxTableEntries), 0, true);
  }

  void take(const Desc& d) {
    for (std::uint8_t b : d.raw) digest_ = (digest_ ^ b) * 0x100000001B3ULL;
  }

  // A descriptor that describes a buffer (not an indirect table): these are
  // what the chain length of split-ring.tex L271-272 counts.
  void segment(const Desc& d) {
    ++count_;
    total_ += d.len;
    const bool writable = (d.flags & ring::kDescFWrite) != 0;
    if (writable) {
      writable_seen_ = true;
    } else {
      if (writable_seen_) flag("VIRTIO-RING-004", "a device-readable descriptor follows a device-writable one");
      if (q_.writable_only) flag("VIRTIO-RNG-001", "a device-readable descriptor on the request queue");
    }
  }

  void flag(const char* rule, const std::string& what) {
    if (!flagged_.insert(rule).second) return;
    findings.push_back(RingFinding{rule, "chain at head " + std::to_string(head_) + ": " + what});
  }

  pci::DmaSpace& mem_;
  const MonitoredQueue& q_;
  std::uint16_t head_;
  std::uint64_t digest_ = 0xCBF29CE484222325ULL;
  std::uint64_t total_ = 0;
  std::uint64_t count_ = 0;
  bool writable_seen_ = false;
  std::set<std::string_view> flagged_;
};

std::string queue_name(std::uint32_t index) { return "queue " + std::to_string(index) + ": "; }

}  // namespace

std::vector<RingFinding> VirtqueueMonitor::start(std::uint32_t index, const MonitoredQueue& q, pci::DmaSpace& mem) {
  Queue fresh;
  fresh.cfg = q;
  queues_[index] = std::move(fresh);
  std::vector<RingFinding> out;
  // VIRTIO split-ring.tex L515-516: the used ring's flags start at 0.
  const auto flags = read_u16(mem, q.device_addr + ring::kUsedFlagsOffset);
  if (flags && *flags != 0) {
    out.push_back(
        {"VIRTIO-RING-034", queue_name(index) + "used ring flags " + std::to_string(*flags) + " when set up"});
  }
  return out;
}

void VirtqueueMonitor::clear() noexcept {
  queues_.clear();
  driver_ok_written_ = false;
}

void VirtqueueMonitor::driver_status(std::uint32_t status) noexcept {
  if ((status & 0xFF) == 0) {
    driver_ok_written_ = false;  // a reset: DRIVER_OK must be written again
  } else if ((status & wire::status::kDriverOk) != 0) {
    driver_ok_written_ = true;
  }
}

std::vector<RingFinding> VirtqueueMonitor::observe(pci::DmaSpace& mem, std::optional<std::uint32_t> notified,
                                                   bool notifications_owed) {
  std::vector<RingFinding> out;
  if (notified && !driver_ok_written_) {  // VIRTIO content.tex L552-553
    out.push_back({"VIRTIO-CORE-033", queue_name(*notified) + "notified before the driver set DRIVER_OK"});
  }
  for (auto& [index, q] : queues_) {
    observe_queue(index, q, mem, notified == index, notifications_owed && driver_ok_written_, out);
  }
  return out;
}

void VirtqueueMonitor::observe_queue(std::uint32_t index, Queue& q, pci::DmaSpace& mem, bool notified, bool owed,
                                     std::vector<RingFinding>& out) {
  const MonitoredQueue& c = q.cfg;
  const std::string name = queue_name(index);
  const auto now = read_u16(mem, c.driver_addr + ring::kAvailIdxOffset);
  if (!now) return;

  // Chains the device handed back are the driver's again.
  if (const auto used = read_u16(mem, c.device_addr + ring::kUsedIdxOffset)) {
    if (static_cast<std::uint16_t>(*used - q.used_seen) > c.size) {
      q.held.clear();  // the device's used idx makes no sense: judge nothing it may have returned
    } else {
      for (; q.used_seen != *used; ++q.used_seen) {
        const auto id = read_u32(mem, c.device_addr + ring::used_ring_offset(q.used_seen % c.size));
        if (id) q.held.erase(static_cast<std::uint16_t>(*id));
      }
    }
    q.used_seen = *used;
  }
  // VIRTIO content.tex L626-629: what the device still holds stays as exposed.
  for (auto& [head, digest] : q.held) {
    ChainWalk again(mem, c, head);
    const std::uint64_t d = again.run();
    if (d != digest) {
      out.push_back({"VIRTIO-CORE-034", name + "chain at head " + std::to_string(head) +
                                            " changed while the device holds it (not yet used)"});
      digest = d;  // reported once per change
    }
  }

  // New avail entries. The idx is free-running; a legitimate move is at most
  // a queue's worth ahead of what was already checked.
  const auto ahead = static_cast<std::uint16_t>(*now - q.walked);
  if (ahead > c.size) {
    if (ahead >= 0x8000) {  // VIRTIO split-ring.tex L321-322
      out.push_back({"VIRTIO-RING-018", name + "avail idx went back from " + std::to_string(q.walked) + " to " +
                                            std::to_string(*now)});
    }
    q.walked = q.notified = *now;  // start over from what is there now
    return;
  }
  for (; q.walked != *now; ++q.walked) {
    const auto head = read_u16(mem, c.driver_addr + ring::avail_ring_offset(q.walked % c.size));
    if (!head || *head >= c.size) continue;  // no chain to walk
    ChainWalk walk(mem, c, *head);
    q.held[*head] = walk.run();
    for (RingFinding& f : walk.findings) out.push_back({f.rule, name + f.detail});
  }

  // VIRTIO split-ring.tex L341 / L348: the avail ring's flags.
  if (const auto flags = read_u16(mem, c.driver_addr + ring::kAvailFlagsOffset)) {
    const bool bad = c.event_idx ? *flags != 0 : *flags > 1;
    if (bad && q.bad_flags != *flags) {
      out.push_back({c.event_idx ? "VIRTIO-RING-021" : "VIRTIO-RING-019",
                     name + "avail flags " + std::to_string(*flags) + (c.event_idx ? " with EVENT_IDX" : "")});
    }
    q.bad_flags = bad ? flags : std::nullopt;
  }

  // VIRTIO split-ring.tex L518-536: whether the entries added since the last
  // judgement asked for a notification.
  const std::uint16_t from = q.notified;
  q.notified = *now;
  if (!owed || from == *now) return;
  const auto used_flags = read_u16(mem, c.device_addr + ring::kUsedFlagsOffset);
  const auto avail_event = read_u16(mem, c.device_addr + ring::avail_event_offset(c.size));
  if (!used_flags || !avail_event) return;
  const bool no_notify = (*used_flags & ring::kUsedFNoNotify) != 0;
  const bool crossed = ring::need_event(*avail_event, *now, from);
  const bool wanted = c.event_idx ? crossed : !no_notify;
  const std::string range = name + "avail idx " + std::to_string(from) + " -> " + std::to_string(*now) +
                            ", used flags " + std::to_string(*used_flags) + ", avail_event " +
                            std::to_string(*avail_event);
  if (notified) {
    if (!wanted) out.push_back({c.event_idx ? "VIRTIO-RING-040" : "VIRTIO-RING-036", range + ": notified unasked"});
    return;
  }
  if (!wanted) return;
  if (c.event_idx) {
    out.push_back({"VIRTIO-RING-039", range + ": avail_event crossed, no notification"});
    if (no_notify) out.push_back({"VIRTIO-RING-038", range + ": NO_NOTIFY may have been heeded under EVENT_IDX"});
  } else {
    out.push_back({"VIRTIO-RING-037", range + ": no notification"});
    // Only a field someone wrote counts: the driver zeroes the ring, and
    // without EVENT_IDX a device has no reason to write avail_event, so a
    // driver heeding a 0 there looks just like one that forgot (RING-037).
    if (*avail_event != 0 && !crossed) {
      out.push_back({"VIRTIO-RING-035", range + ": avail_event may have been heeded without EVENT_IDX"});
    }
  }
}

}  // namespace vmsg::transport

#include "vmsg/virtqueue/split_queue.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "vmsg/common/le.hpp"

namespace vmsg::virtqueue {

namespace {

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kMaxChainBytes = 0xFFFF'FFFFu;
// A u16 `next` names at most this many distinct entries of any table.
constexpr std::uint32_t kMaxReachable = 65536;

/// Whether [addr, addr + bytes) stays below 2^64 (bytes > 0).
constexpr bool fits(std::uint64_t addr, std::uint64_t bytes) noexcept { return addr <= kU64Max - (bytes - 1); }

/// One descriptor, decoded from its 16 little-endian bytes.
struct Desc {
  std::uint64_t addr = 0;
  std::uint32_t len = 0;
  std::uint16_t flags = 0;
  std::uint16_t next = 0;
};

bool read_desc(pci::DmaSpace& memory, std::uint64_t addr, Desc& d) {
  std::array<std::uint8_t, ring::kDescSize> raw{};
  if (!memory.dma_read(addr, raw)) return false;
  const std::span<const std::uint8_t> b{raw};
  d.addr = le::load64(b, ring::kDescAddrOffset);
  d.len = le::load32(b, ring::kDescLenOffset);
  d.flags = le::load16(b, ring::kDescFlagsOffset);
  d.next = le::load16(b, ring::kDescNextOffset);
  return true;
}

/// Splits the byte range [offset, offset + total) of `segs` into per-segment
/// pieces and hands each to io(addr, position in the caller's buffer, n).
/// Returns the bytes covered, or nullopt when a piece wraps or io fails.
template <typename Io>
std::optional<std::size_t> for_each_piece(const std::vector<Segment>& segs, std::uint64_t offset, std::size_t total,
                                          Io&& io) {
  std::size_t done = 0;
  for (const Segment& s : segs) {
    if (done == total) break;
    if (offset >= s.len) {
      offset -= s.len;
      continue;
    }
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.len - offset, total - done));
    // A segment the driver placed across 2^64 is unreachable memory: never
    // hand DmaSpace a wrapping range.
    if (!fits(s.addr, offset + 1)) return std::nullopt;
    const std::uint64_t addr = s.addr + offset;
    if (!fits(addr, n)) return std::nullopt;
    if (!io(addr, done, n)) return std::nullopt;
    done += n;
    offset = 0;
  }
  return done;
}

}  // namespace

std::string_view to_string(LayoutError e) noexcept {
  switch (e) {
    case LayoutError::BadSize: return "BadSize";
    case LayoutError::Misaligned: return "Misaligned";
    case LayoutError::AddressOverflow: return "AddressOverflow";
  }
  return "LayoutError(?)";
}

std::string_view to_string(QueueError e) noexcept {
  switch (e) {
    case QueueError::DmaFault: return "DmaFault";
    case QueueError::AvailIndexJump: return "AvailIndexJump";
    case QueueError::DescIndexOutOfRange: return "DescIndexOutOfRange";
    case QueueError::ChainLoop: return "ChainLoop";
    case QueueError::WritableBeforeReadable: return "WritableBeforeReadable";
    case QueueError::BadIndirect: return "BadIndirect";
    case QueueError::LengthOverflow: return "LengthOverflow";
  }
  return "QueueError(?)";
}

std::uint64_t Chain::readable_bytes() const noexcept {
  std::uint64_t n = 0;
  for (const Segment& s : readable) n += s.len;
  return n;
}

std::uint64_t Chain::writable_bytes() const noexcept {
  std::uint64_t n = 0;
  for (const Segment& s : writable) n += s.len;
  return n;
}

Result<SplitQueue, LayoutError> SplitQueue::create(pci::DmaSpace& memory, const QueueLayout& layout,
                                                   const QueueFeatures& features, const QueueFaults& faults) {
  const std::uint32_t n = layout.size;
  if (n == 0 || n > kMaxQueueSize || (n & (n - 1)) != 0) return Err{LayoutError::BadSize};
  if (layout.desc_addr % 16 != 0 || layout.driver_addr % 2 != 0 || layout.device_addr % 4 != 0) {
    return Err{LayoutError::Misaligned};
  }
  if (!fits(layout.desc_addr, ring::desc_table_bytes(n)) || !fits(layout.driver_addr, ring::avail_ring_bytes(n)) ||
      !fits(layout.device_addr, ring::used_ring_bytes(n))) {
    return Err{LayoutError::AddressOverflow};
  }
  return SplitQueue(memory, layout, features, faults);
}

bool SplitQueue::read_u16(std::uint64_t addr, std::uint16_t& out) {
  std::array<std::uint8_t, 2> raw{};
  if (!memory_->dma_read(addr, raw)) return false;
  out = le::load16(raw, 0);
  return true;
}

bool SplitQueue::write_u16(std::uint64_t addr, std::uint16_t value) {
  std::array<std::uint8_t, 2> raw{};
  le::store16(raw, 0, value);
  return memory_->dma_write(addr, raw);
}

Result<std::optional<Chain>, QueueError> SplitQueue::pop() {
  if (broken_) return Err{*broken_};
  const std::uint32_t size = layout_.size;
  const std::uint64_t avail_idx_addr = layout_.driver_addr + ring::kAvailIdxOffset;

  std::uint16_t avail_idx = 0;
  if (!read_u16(avail_idx_addr, avail_idx)) return fail(QueueError::DmaFault);
  auto pending = static_cast<std::uint16_t>(avail_idx - last_avail_);
  if (pending > size) return fail(QueueError::AvailIndexJump);

  if (pending == 0) {
    if (!features_.event_idx) return std::optional<Chain>{};
    // Ask for a kick at the next entry, then look again: the driver may have
    // published after our read but before it could see avail_event, and
    // would then not kick.
    if (!write_u16(layout_.device_addr + ring::avail_event_offset(size), last_avail_)) {
      return fail(QueueError::DmaFault);
    }
    if (!read_u16(avail_idx_addr, avail_idx)) return fail(QueueError::DmaFault);
    pending = static_cast<std::uint16_t>(avail_idx - last_avail_);
    if (pending > size) return fail(QueueError::AvailIndexJump);
    if (pending == 0) return std::optional<Chain>{};
  }

  const std::uint32_t slot = last_avail_ & (size - 1);
  std::uint16_t head = 0;
  if (!read_u16(layout_.driver_addr + ring::avail_ring_offset(slot), head)) return fail(QueueError::DmaFault);
  if (head >= size) return fail(QueueError::DescIndexOutOfRange);

  auto chain = walk_chain(head);
  if (!chain) return fail(chain.error());
  if (!chain_bytes_.empty()) {
    // Only chains the device can write into (0 = report as asked). Each side
    // fits 32 bits (LengthOverflow); their sum may not, so it saturates.
    const std::uint64_t writable = chain->writable_bytes();
    chain_bytes_[head] = writable == 0 ? 0
                                       : static_cast<std::uint32_t>(std::min<std::uint64_t>(
                                             chain->readable_bytes() + writable, kMaxChainBytes));
  }
  last_avail_ = static_cast<std::uint16_t>(last_avail_ + 1);
  return std::optional<Chain>{std::move(chain).value()};
}

Result<Chain, QueueError> SplitQueue::walk_chain(std::uint16_t head) {
  Chain chain;
  chain.head = head;

  // The table being walked: the descriptor table, then possibly one indirect table.
  std::uint64_t table = layout_.desc_addr;
  std::uint32_t entries = layout_.size;  // valid indices are < entries
  std::uint32_t limit = layout_.size;    // descriptors a loop-free walk can visit
  bool in_indirect = false;

  std::uint32_t idx = head;
  std::uint32_t visited = 0;
  bool seen_writable = false;
  std::uint64_t readable = 0;
  std::uint64_t writable = 0;

  for (;;) {
    if (idx >= entries) return Err{QueueError::DescIndexOutOfRange};
    // Distinct indices are bounded, so one visit too many proves a loop.
    if (++visited > limit) return Err{QueueError::ChainLoop};
    Desc d;
    if (!read_desc(*memory_, table + ring::kDescSize * idx, d)) return Err{QueueError::DmaFault};

    if ((d.flags & ring::kDescFIndirect) != 0) {
      if (!features_.indirect || in_indirect || (d.flags & ring::kDescFNext) != 0 || d.len == 0 ||
          d.len % ring::kDescSize != 0) {
        return Err{QueueError::BadIndirect};
      }
      if (!fits(d.addr, d.len)) return Err{QueueError::DmaFault};
      in_indirect = true;
      table = d.addr;
      entries = static_cast<std::uint32_t>(d.len / ring::kDescSize);
      limit = std::min(entries, kMaxReachable);
      idx = 0;
      visited = 0;
      continue;
    }

    const bool is_writable = (d.flags & ring::kDescFWrite) != 0;
    if (is_writable) {
      seen_writable = true;
    } else if (seen_writable) {
      return Err{QueueError::WritableBeforeReadable};
    }
    if (d.len != 0) {
      std::uint64_t& total = is_writable ? writable : readable;
      total += d.len;
      if (total > kMaxChainBytes) return Err{QueueError::LengthOverflow};
      (is_writable ? chain.writable : chain.readable).push_back(Segment{d.addr, d.len});
    }
    if ((d.flags & ring::kDescFNext) == 0) return chain;
    idx = d.next;
  }
}

Result<std::size_t, QueueError> SplitQueue::read(const Chain& chain, std::uint64_t offset,
                                                 std::span<std::uint8_t> out) {
  if (broken_) return Err{*broken_};
  const auto done = for_each_piece(chain.readable, offset, out.size(),
                                   [&](std::uint64_t addr, std::size_t at, std::size_t n) {
                                     return memory_->dma_read(addr, out.subspan(at, n));
                                   });
  if (!done) return fail(QueueError::DmaFault);
  return *done;
}

Result<std::size_t, QueueError> SplitQueue::write(const Chain& chain, std::uint64_t offset,
                                                  std::span<const std::uint8_t> in) {
  if (broken_) return Err{*broken_};
  const auto done = for_each_piece(chain.writable, offset, in.size(),
                                   [&](std::uint64_t addr, std::size_t at, std::size_t n) {
                                     return memory_->dma_write(addr, in.subspan(at, n));
                                   });
  if (!done) return fail(QueueError::DmaFault);
  return *done;
}

bool SplitQueue::write_used_elem(std::uint16_t at, std::uint32_t id, std::uint32_t len) {
  std::array<std::uint8_t, ring::kUsedElemSize> elem{};
  le::store32(elem, 0, id);
  le::store32(elem, 4, len);
  const std::uint32_t slot = at & (layout_.size - 1);
  return memory_->dma_write(layout_.device_addr + ring::used_ring_offset(slot), elem);
}

Status SplitQueue::push_used(std::uint16_t head, std::uint32_t len) {
  if (broken_) return broken_;
  if (head >= layout_.size) return fail(QueueError::DescIndexOutOfRange).error;
  if (!chain_bytes_.empty() && chain_bytes_[head] != 0) len = chain_bytes_[head];  // used-len-whole-chain
  // used-wrong-id: the neighbour of the head, as a device that returns the wrong descriptor's index.
  const std::uint32_t id = faults_.used_wrong_id ? (head + 1u) & (layout_.size - 1) : head;
  if (faults_.used_out_of_order) {
    held_.emplace_back(id, len);
    return std::nullopt;
  }
  if (!write_used_elem(used_idx_, id, len)) return fail(QueueError::DmaFault).error;
  const auto next = static_cast<std::uint16_t>(used_idx_ + 1);
  if (!write_u16(layout_.device_addr + ring::kUsedIdxOffset, next)) return fail(QueueError::DmaFault).error;
  used_idx_ = next;
  return std::nullopt;
}

Status SplitQueue::publish_used() {
  if (broken_) return broken_;
  if (held_.empty()) return std::nullopt;
  // Every element before the index that publishes them (VIRTIO-RING-030).
  std::uint16_t at = used_idx_;
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
    if (!write_used_elem(at, it->first, it->second)) return fail(QueueError::DmaFault).error;
    at = static_cast<std::uint16_t>(at + 1);
  }
  held_.clear();
  if (!write_u16(layout_.device_addr + ring::kUsedIdxOffset, at)) return fail(QueueError::DmaFault).error;
  used_idx_ = at;
  return std::nullopt;
}

Status SplitQueue::set_no_notify(bool on) {
  if (broken_) return broken_;
  if (features_.event_idx) return std::nullopt;  // flags must stay 0 with EVENT_IDX
  if (!write_u16(layout_.device_addr + ring::kUsedFlagsOffset, on ? ring::kUsedFNoNotify : 0)) {
    return fail(QueueError::DmaFault).error;
  }
  return std::nullopt;
}

Result<bool, QueueError> SplitQueue::should_notify() {
  if (broken_) return Err{*broken_};
  // Equal indices mean nothing new. Devices ask after each batch of pushes;
  // exactly 65536 pushes between two calls would alias to "nothing new", as
  // it would for vring_need_event itself.
  if (used_idx_ == signalled_used_) return false;
  bool notify = false;
  if (features_.event_idx) {
    std::uint16_t used_event = 0;
    if (!read_u16(layout_.driver_addr + ring::used_event_offset(layout_.size), used_event)) {
      return fail(QueueError::DmaFault);
    }
    notify = ring::need_event(used_event, used_idx_, signalled_used_);
  } else {
    std::uint16_t flags = 0;
    if (!read_u16(layout_.driver_addr + ring::kAvailFlagsOffset, flags)) return fail(QueueError::DmaFault);
    notify = (flags & ring::kAvailFNoInterrupt) == 0;
  }
  signalled_used_ = used_idx_;
  return notify;
}

}  // namespace vmsg::virtqueue

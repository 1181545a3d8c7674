#include "vmsg/pci/msix.hpp"

#include <algorithm>
#include <bit>
#include <string>

#include "vmsg/common/errors.hpp"

namespace vmsg::pci {

namespace {

constexpr std::uint32_t kMinBarSize = 4096;

// Bytes of PBA QEMU reserves: whole 64-bit words.
constexpr std::uint32_t pba_bytes(unsigned vectors) noexcept {
  return static_cast<std::uint32_t>((vectors + 63u) / 64u * 8u);
}

}  // namespace

std::uint32_t Msix::pba_offset_for(unsigned vectors) noexcept {
  const unsigned n = std::min(vectors, msix::kMaxVectors);
  return std::max(msix::kDefaultPbaOffset, static_cast<std::uint32_t>(n * msix::kEntrySize));
}

std::uint32_t Msix::required_bar_size(unsigned vectors) noexcept {
  const unsigned n = std::min(vectors, msix::kMaxVectors);
  const std::uint32_t end = pba_offset_for(n) + pba_bytes(n);
  return std::bit_ceil(std::max(kMinBarSize, end));
}

Msix::Msix(ConfigSpace& config, unsigned vectors, unsigned bir)
    : config_(config), vectors_(vectors), bir_(bir), pba_offset_(pba_offset_for(vectors)) {
  if (vectors < 1 || vectors > msix::kMaxVectors) {
    throw ConfigError("msix: " + std::to_string(vectors) + " vectors, must be 1.." +
                      std::to_string(msix::kMaxVectors));
  }
  if (bir >= cfg::kNumBars) {
    throw ConfigError("msix: BIR " + std::to_string(bir) + " is not a BAR");
  }
  const std::uint32_t bar_size = config.bar_spec(bir).size;
  if (bar_size < required_bar_size(vectors)) {
    throw ConfigError("msix: BAR" + std::to_string(bir) + " is " + std::to_string(bar_size) +
                      " bytes, needs " + std::to_string(required_bar_size(vectors)));
  }
  table_.assign(vectors, MsixEntry{});
  pba_.assign((vectors + 63u) / 64u, 0);

  cap_ = config.add_capability(msix::kCapabilityId, msix::kCapabilityLength);
  const auto at = [this](std::uint16_t rel) { return static_cast<std::uint16_t>(cap_ + rel); };
  config.raw_write(at(msix::kControlOffset), 2, vectors - 1);
  config.raw_write(at(msix::kTableOffset), 4, bir);  // table at offset 0 of the BAR
  config.raw_write(at(msix::kPbaOffset), 4, pba_offset_ | bir);
  // Only Enable and Function Mask (bits 15:14, the high byte) are writable.
  config.set_write_mask(at(msix::kControlOffset), 2, msix::kControlEnable | msix::kControlFunctionMask);
}

void Msix::attach(DmaSpace& dma) {
  dma_ = &dma;
  deliver_unblocked();
}

std::uint16_t Msix::control() const noexcept {
  return static_cast<std::uint16_t>(config_.raw_read(static_cast<std::uint16_t>(cap_ + msix::kControlOffset), 2));
}

bool Msix::enabled() const noexcept { return (control() & msix::kControlEnable) != 0; }
bool Msix::function_masked() const noexcept { return (control() & msix::kControlFunctionMask) != 0; }

bool Msix::function_blocked() const noexcept {
  const bool masked = function_masked() && !ignore_mask_;
  return !enabled() || masked || !config_.bus_master() || dma_ == nullptr;
}

bool Msix::entry_blocked(unsigned vector) const noexcept { return table_[vector].masked() && !ignore_mask_; }

MsixEntry Msix::entry(unsigned vector) const noexcept {
  return vector < vectors_ ? table_[vector] : MsixEntry{};
}

bool Msix::pending(unsigned vector) const noexcept {
  return vector < vectors_ && ((pba_[vector / 64] >> (vector % 64)) & 1u) != 0;
}

void Msix::set_pending_bit(unsigned vector, bool on) noexcept {
  const std::uint64_t bit = std::uint64_t{1} << (vector % 64);
  if (on) {
    pba_[vector / 64] |= bit;
  } else {
    pba_[vector / 64] &= ~bit;
  }
}

void Msix::deliver(unsigned vector) {
  const MsixEntry& e = table_[vector];
  if (dma_->msi_write(e.address, e.data)) {
    ++stats_.delivered;
  } else {
    ++stats_.lost;  // nothing at that address: the write goes nowhere, as on a real bus
  }
}

void Msix::notify(unsigned vector) {
  if (vector >= vectors_) {
    ++stats_.out_of_range;
    return;
  }
  if (function_blocked() || entry_blocked(vector)) {
    set_pending_bit(vector, true);
    ++stats_.set_pending;
    return;
  }
  deliver(vector);
}

void Msix::deliver_unblocked() {
  if (function_blocked()) return;
  for (unsigned v = 0; v < vectors_; ++v) {
    // Skip whole empty PBA words quickly; N can be 2048.
    if (v % 64 == 0 && pba_[v / 64] == 0) {
      v += 63;
      continue;
    }
    if (pending(v) && !entry_blocked(v)) {
      set_pending_bit(v, false);
      deliver(v);
    }
  }
}

void Msix::update() { deliver_unblocked(); }

void Msix::config_written(std::uint16_t offset, unsigned size) {
  const unsigned lo = cap_ + msix::kControlOffset;
  const unsigned hi = lo + 2;
  if (offset < hi && offset + size > lo) deliver_unblocked();
}

void Msix::restore(const State& s) {
  if (s.table.size() != table_.size() || s.pba.size() != pba_.size()) {
    throw SnapshotError("MSI-X: the saved state has " + std::to_string(s.table.size()) + " vectors, this one " +
                        std::to_string(table_.size()));
  }
  table_ = s.table;
  pba_ = s.pba;
  stats_ = s.stats;
}

void Msix::reset() {
  std::fill(table_.begin(), table_.end(), MsixEntry{});
  std::fill(pba_.begin(), pba_.end(), 0);
}

std::uint32_t Msix::read32(std::uint64_t offset) const noexcept {
  const std::uint64_t table_end = std::uint64_t{vectors_} * msix::kEntrySize;
  if (offset < table_end) {
    const MsixEntry& e = table_[offset / msix::kEntrySize];
    switch (offset % msix::kEntrySize) {
      case msix::kEntryAddrLo: return static_cast<std::uint32_t>(e.address);
      case msix::kEntryAddrHi: return static_cast<std::uint32_t>(e.address >> 32);
      case msix::kEntryData: return e.data;
      default: return e.vector_control;
    }
  }
  if (offset >= pba_offset_ && offset < pba_offset_ + std::uint64_t{pba_bytes(vectors_)}) {
    const std::uint64_t rel = offset - pba_offset_;
    return static_cast<std::uint32_t>(pba_[rel / 8] >> (rel % 8 * 8));
  }
  return 0;  // nothing decoded here, like the gaps of QEMU's MSI-X BAR
}

void Msix::write32(std::uint64_t offset, std::uint32_t value) {
  const std::uint64_t table_end = std::uint64_t{vectors_} * msix::kEntrySize;
  if (offset >= table_end) {
    ++stats_.ignored_accesses;  // PBA is read-only; gaps decode nothing
    return;
  }
  const auto vector = static_cast<unsigned>(offset / msix::kEntrySize);
  MsixEntry& e = table_[vector];
  switch (offset % msix::kEntrySize) {
    case msix::kEntryAddrLo:
      e.address = (e.address & 0xFFFFFFFF00000000u) | value;
      break;
    case msix::kEntryAddrHi:
      e.address = (e.address & 0xFFFFFFFFu) | (std::uint64_t{value} << 32);
      break;
    case msix::kEntryData:
      e.data = value;
      break;
    default:
      // Reserved bits 31:1 are stored as written, as QEMU does.
      e.vector_control = value;
      break;
  }
  // An unmask (or any other table write) may unblock a pending vector.
  if (pending(vector) && !entry_blocked(vector) && !function_blocked()) {
    set_pending_bit(vector, false);
    deliver(vector);
  }
}

std::uint64_t Msix::mmio_read(std::uint64_t offset, unsigned size) {
  if ((size != 4 && size != 8) || offset % size != 0) {
    ++stats_.ignored_accesses;
    return 0;
  }
  std::uint64_t v = read32(offset);
  if (size == 8) v |= std::uint64_t{read32(offset + 4)} << 32;
  return v;
}

void Msix::mmio_write(std::uint64_t offset, unsigned size, std::uint64_t value) {
  if ((size != 4 && size != 8) || offset % size != 0) {
    ++stats_.ignored_accesses;
    return;
  }
  // QEMU implements 4-byte accesses only and splits an 8-byte one, low dword first.
  write32(offset, static_cast<std::uint32_t>(value));
  if (size == 8) write32(offset + 4, static_cast<std::uint32_t>(value >> 32));
}

}  // namespace vmsg::pci

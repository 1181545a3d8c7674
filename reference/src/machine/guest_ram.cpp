#include "vmsg/machine/guest_ram.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "vmsg/common/errors.hpp"

namespace vmsg::machine {

GuestRam::GuestRam(std::uint64_t size) : size_(size) {
  if (size == 0) {
    throw ConfigError("GuestRam: size must be non-zero");
  }
  if constexpr (sizeof(std::size_t) < sizeof(std::uint64_t)) {
    if (size > std::numeric_limits<std::size_t>::max()) {
      throw ConfigError("GuestRam: size exceeds the host address space");
    }
  }
  // calloc, not new[]{}: the kernel hands out zero pages lazily, so untouched
  // RAM is free even for large machines.
  bytes_.reset(static_cast<std::uint8_t*>(std::calloc(static_cast<std::size_t>(size), 1)));
  if (!bytes_) {
    throw ConfigError("GuestRam: cannot allocate " + std::to_string(size) + " bytes");
  }
  const std::uint64_t pages = (size + kDirtyPage - 1) / kDirtyPage;
  dirty_.assign(static_cast<std::size_t>((pages + 63) / 64), 0);
  written_ = dirty_;
}

void GuestRam::mark_dirty(std::uint64_t addr, std::uint64_t len) noexcept {
  if (len == 0) return;
  const std::uint64_t last = (addr + len - 1) / kDirtyPage;  // callers checked contains(), so no overflow
  for (std::uint64_t p = addr / kDirtyPage; p <= last; ++p) {
    const std::uint64_t bit = std::uint64_t{1} << (p % 64);
    dirty_[static_cast<std::size_t>(p / 64)] |= bit;
    written_[static_cast<std::size_t>(p / 64)] |= bit;
  }
}

namespace {

/// Calls f(page) for every set bit of `bits`, ascending.
template <typename F>
void for_each_page(const std::vector<std::uint64_t>& bits, F f) {
  for (std::size_t w = 0; w < bits.size(); ++w) {
    std::uint64_t b = bits[w];
    while (b != 0) {
      f(std::uint64_t{w} * 64 + static_cast<unsigned>(__builtin_ctzll(b)));
      b &= b - 1;
    }
  }
}

}  // namespace

GuestRam::Snapshot GuestRam::save() {
  auto d = std::make_shared<Snapshot::Data>();
  d->owner = this;
  d->size = size_;
  d->id = ++saves_;
  d->pages = dirty_;
  for_each_page(dirty_, [&](std::uint64_t p) { d->index.push_back(static_cast<std::uint32_t>(p)); });
  d->bytes.resize(d->index.size() * kDirtyPage);
  for (std::size_t i = 0; i < d->index.size(); ++i) {
    const std::uint64_t base = std::uint64_t{d->index[i]} * kDirtyPage;
    std::memcpy(d->bytes.data() + i * kDirtyPage, bytes_.get() + base,
                static_cast<std::size_t>(std::min(kDirtyPage, size_ - base)));
  }
  std::fill(written_.begin(), written_.end(), 0);
  mark_ = d->id;
  Snapshot s;
  s.data_ = std::move(d);
  return s;
}

void GuestRam::put_page(const Snapshot::Data& s, std::uint64_t p) noexcept {
  const std::uint64_t base = p * kDirtyPage;
  const auto n = static_cast<std::size_t>(std::min(kDirtyPage, size_ - base));
  const auto it = std::lower_bound(s.index.begin(), s.index.end(), static_cast<std::uint32_t>(p));
  if (it != s.index.end() && *it == p) {
    std::memcpy(bytes_.get() + base, s.bytes.data() + static_cast<std::size_t>(it - s.index.begin()) * kDirtyPage, n);
  } else {
    std::memset(bytes_.get() + base, 0, n);
  }
}

void GuestRam::restore(const Snapshot& snap) {
  const Snapshot::Data* s = snap.data_.get();
  if (s == nullptr || s->owner != this || s->size != size_ || s->id > saves_) {
    throw SnapshotError("GuestRam: the snapshot was taken of another RAM");
  }
  if (s->id == mark_) {
    // Only what changed since the snapshot: the point of dirty tracking.
    for_each_page(written_, [&](std::uint64_t p) { put_page(*s, p); });
  } else {
    // Every page that may differ: non-zero now (dirty_) or in the snapshot.
    std::vector<std::uint64_t> either = dirty_;
    for (std::size_t w = 0; w < either.size(); ++w) either[w] |= s->pages[w];
    for_each_page(either, [&](std::uint64_t p) { put_page(*s, p); });
    dirty_ = s->pages;
    mark_ = s->id;
  }
  std::fill(written_.begin(), written_.end(), 0);
}

void GuestRam::clear() noexcept {
  for (std::size_t w = 0; w < dirty_.size(); ++w) {
    std::uint64_t bits = dirty_[w];
    while (bits != 0) {
      const auto bit = static_cast<unsigned>(__builtin_ctzll(bits));
      bits &= bits - 1;
      const std::uint64_t base = (std::uint64_t{w} * 64 + bit) * kDirtyPage;
      const std::uint64_t n = std::min(kDirtyPage, size_ - base);
      std::memset(bytes_.get() + base, 0, static_cast<std::size_t>(n));
    }
    dirty_[w] = 0;
  }
  mark_ = 0;  // written_ no longer says what differs from the mark
}

bool GuestRam::read(std::uint64_t addr, std::span<std::uint8_t> out) const noexcept {
  if (!contains(addr, out.size())) {
    return false;
  }
  if (!out.empty()) {  // memcpy with a null destination is undefined even for 0 bytes
    std::memcpy(out.data(), bytes_.get() + addr, out.size());
  }
  return true;
}

bool GuestRam::write(std::uint64_t addr, std::span<const std::uint8_t> data) noexcept {
  if (!contains(addr, data.size())) {
    return false;
  }
  if (!data.empty()) {
    mark_dirty(addr, data.size());
    std::memcpy(bytes_.get() + addr, data.data(), data.size());
  }
  return true;
}

std::optional<std::uint64_t> GuestRam::load(std::uint64_t addr, unsigned size) const noexcept {
  if (size == 0 || size > 8 || !contains(addr, size)) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    v |= std::uint64_t{bytes_[addr + i]} << (8 * i);
  }
  return v;
}

bool GuestRam::store(std::uint64_t addr, unsigned size, std::uint64_t value) noexcept {
  if (size == 0 || size > 8 || !contains(addr, size)) {
    return false;
  }
  mark_dirty(addr, size);
  for (unsigned i = 0; i < size; ++i) {
    bytes_[addr + i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
  return true;
}

}  // namespace vmsg::machine

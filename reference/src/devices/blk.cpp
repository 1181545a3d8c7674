// virtio-blk backend over a RAM disk.
#include "vmsg/devices/blk.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <string>
#include <utility>

#include "vmsg/common/errors.hpp"
#include "vmsg/common/le.hpp"

namespace vmsg::devices {

using virtqueue::Chain;
using virtqueue::QueueError;
using virtqueue::SplitQueue;

BlkBackend::BlkBackend(BlkOptions options) : st_{.options = std::move(options), .disk = {}, .stats = {}} {
  if (st_.options.capacity_sectors > blk::kMaxCapacitySectors) {
    throw ConfigError("virtio-blk-device: capacity of " + std::to_string(st_.options.capacity_sectors) +
                      " sectors exceeds the RAM disk limit of " + std::to_string(blk::kMaxCapacitySectors));
  }
  if (st_.options.blk_size) {
    const std::uint32_t bs = *st_.options.blk_size;
    if (bs < blk::kSectorSize || bs > 65536 || !std::has_single_bit(bs)) {
      throw ConfigError("virtio-blk-device: blk_size " + std::to_string(bs) + " is not a power of two in 512..65536");
    }
    if ((st_.options.capacity_sectors * blk::kSectorSize) % bs != 0) {
      throw ConfigError("virtio-blk-device: capacity of " + std::to_string(st_.options.capacity_sectors) +
                        " sectors is not a whole number of " + std::to_string(bs) + "-byte blocks");
    }
  }
  if (st_.options.serial.size() > blk::kIdSize) {
    throw ConfigError("virtio-blk-device: serial '" + st_.options.serial + "' is longer than " +
                      std::to_string(blk::kIdSize) + " bytes");
  }
  st_.disk.assign(static_cast<std::size_t>(st_.options.capacity_sectors * blk::kSectorSize), std::uint8_t{0});
}

void BlkBackend::resize(std::uint64_t capacity_sectors) {
  if (capacity_sectors > blk::kMaxCapacitySectors) {
    throw ConfigError("virtio-blk-device: capacity of " + std::to_string(capacity_sectors) +
                      " sectors exceeds the RAM disk limit of " + std::to_string(blk::kMaxCapacitySectors));
  }
  if (st_.options.blk_size && (capacity_sectors * blk::kSectorSize) % *st_.options.blk_size != 0) {
    throw ConfigError("virtio-blk-device: capacity of " + std::to_string(capacity_sectors) +
                      " sectors is not a whole number of " + std::to_string(*st_.options.blk_size) + "-byte blocks");
  }
  st_.options.capacity_sectors = capacity_sectors;
  st_.disk.resize(static_cast<std::size_t>(capacity_sectors * blk::kSectorSize), std::uint8_t{0});
  if (ctx_ != nullptr) ctx_->config_changed(blk::kCfgCapacity, 8);
}

std::uint64_t BlkBackend::device_features() const {
  std::uint64_t f = virtqueue::feature::bit(blk::kFeatFlush);
  if (st_.options.seg_max != 0) f |= virtqueue::feature::bit(blk::kFeatSegMax);
  if (st_.options.read_only) f |= virtqueue::feature::bit(blk::kFeatRo);
  if (st_.options.blk_size) f |= virtqueue::feature::bit(blk::kFeatBlkSize);
  return f;
}

void BlkBackend::read_config(std::uint32_t offset, std::span<std::uint8_t> out) const {
  std::array<std::uint8_t, blk::kConfigSize> cfg{};
  le::store64(cfg, blk::kCfgCapacity, st_.options.capacity_sectors);
  // size_max and geometry stay 0: SIZE_MAX and GEOMETRY are not offered.
  le::store32(cfg, blk::kCfgSegMax, st_.options.seg_max);
  le::store32(cfg, blk::kCfgBlkSize, st_.options.blk_size.value_or(0));
  // The transport checks bounds; clamp anyway so a caller bug reads zeros, not past cfg.
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t at = std::size_t{offset} + i;
    out[i] = at < cfg.size() ? cfg[at] : std::uint8_t{0};
  }
}

bool BlkBackend::write_config(std::uint32_t /*offset*/, std::span<const std::uint8_t> /*data*/) { return false; }

std::optional<std::size_t> BlkBackend::range(std::uint64_t sector, std::uint64_t len) const noexcept {
  if (len % blk::kSectorSize != 0) return std::nullopt;
  const std::uint64_t cap = st_.options.capacity_sectors;
  // Written as two comparisons so sector + n never overflows (sector may be 2^64-1).
  if (sector > cap || len / blk::kSectorSize > cap - sector) return std::nullopt;
  return static_cast<std::size_t>(sector * blk::kSectorSize);
}

bool BlkBackend::touches_bad_sector(std::uint64_t sector, std::uint64_t len) const noexcept {
  const std::uint64_t n = len / blk::kSectorSize;  // range() has checked the sum fits the disk
  return std::any_of(st_.options.bad_sectors.begin(), st_.options.bad_sectors.end(),
                     [&](std::uint64_t bad) { return bad >= sector && bad - sector < n; });
}

void BlkBackend::check_driver_rules(std::uint32_t type, std::uint64_t sector, std::uint64_t data_len) const {
  if (ctx_ == nullptr) return;
  const std::string kind = "blk request type " + std::to_string(type);
  const std::string where = "sector " + std::to_string(sector) + ", " + std::to_string(data_len) + " data bytes";
  if (type == blk::kTypeIn || type == blk::kTypeOut) {
    if (data_len % blk::kSectorSize != 0) {
      ctx_->driver_rule("VIRTIO-BLK-014", kind, where + ": not whole 512-byte sectors");
    }
    // Partial sectors count as touched: any byte past capacity is past it.
    const std::uint64_t cap = st_.options.capacity_sectors;
    const std::uint64_t sectors = data_len / blk::kSectorSize + (data_len % blk::kSectorSize != 0 ? 1 : 0);
    if (sector > cap || sectors > cap - sector) {
      ctx_->driver_rule("VIRTIO-BLK-011", kind, where + ": reaches past capacity " + std::to_string(cap));
    }
  } else if (type == blk::kTypeFlush) {
    if (sector != 0) ctx_->driver_rule("VIRTIO-BLK-013", kind, where + ": FLUSH with a non-zero sector");
    // blk description.tex L877: a FLUSH has no data either way (a SHOULD NOT, judged apart).
    if (data_len != 0) ctx_->driver_rule("VIRTIO-BLK-033", kind, where + ": FLUSH carrying data");
  } else if (type == blk::kTypeGetId && data_len != blk::kIdSize) {
    ctx_->driver_rule("VIRTIO-BLK-016", kind, where + ": GET_ID data is not 20 bytes");
  }
}

Result<BlkBackend::Outcome, QueueError> BlkBackend::execute(SplitQueue& queue, const Chain& chain) {
  // The status byte is the last writable byte; everything writable before it is data space.
  const std::uint64_t data_space = chain.writable_bytes() - 1;
  constexpr Outcome kIoErr{blk::kStatusIoErr, 0};

  std::array<std::uint8_t, blk::kHeaderSize> hdr{};
  if (chain.readable_bytes() < blk::kHeaderSize) return kIoErr;
  auto got = queue.read(chain, 0, hdr);
  if (!got) return Err{got.error()};
  if (*got < hdr.size()) return kIoErr;
  const std::uint32_t type = le::load32(hdr, 0);
  const std::uint64_t sector = le::load64(hdr, 8);
  const bool device_writes = type == blk::kTypeIn || type == blk::kTypeGetId;
  const std::uint64_t data_out = chain.readable_bytes() - blk::kHeaderSize;
  // A FLUSH's data is whatever it carries besides header and status, in either direction.
  check_driver_rules(type, sector,
                     type == blk::kTypeFlush ? data_out + data_space : device_writes ? data_space : data_out);

  switch (type) {
    case blk::kTypeIn: {
      const auto at = range(sector, data_space);
      if (!at || touches_bad_sector(sector, data_space)) return kIoErr;
      const std::size_t len = static_cast<std::size_t>(data_space);
      auto wrote = queue.write(chain, 0, std::span<const std::uint8_t>(st_.disk).subspan(*at, len));
      if (!wrote) return Err{wrote.error()};
      st_.stats.bytes_read += *wrote;
      ++st_.stats.reads;
      return Outcome{blk::kStatusOk, static_cast<std::uint32_t>(*wrote)};
    }
    case blk::kTypeOut: {
      if (st_.options.read_only) return kIoErr;
      const std::uint64_t data_len = chain.readable_bytes() - blk::kHeaderSize;
      const auto at = range(sector, data_len);
      if (!at || touches_bad_sector(sector, data_len)) return kIoErr;
      // Straight into the medium: a DMA fault midway leaves a partial write,
      // as on real hardware, and breaks the device anyway.
      auto read = queue.read(chain, blk::kHeaderSize,
                             std::span<std::uint8_t>(st_.disk).subspan(*at, static_cast<std::size_t>(data_len)));
      if (!read) return Err{read.error()};
      st_.stats.bytes_written += *read;
      ++st_.stats.writes;
      return Outcome{blk::kStatusOk, 0};
    }
    case blk::kTypeFlush:
      // A RAM disk has no volatile cache: nothing to write back.
      ++st_.stats.flushes;
      return Outcome{blk::kStatusOk, 0};
    case blk::kTypeGetId: {
      std::array<std::uint8_t, blk::kIdSize> id{};
      std::copy(st_.options.serial.begin(), st_.options.serial.end(), id.begin());
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(id.size(), data_space));
      auto wrote = queue.write(chain, 0, std::span<const std::uint8_t>(id).first(n));
      if (!wrote) return Err{wrote.error()};
      ++st_.stats.get_ids;
      return Outcome{blk::kStatusOk, static_cast<std::uint32_t>(*wrote)};
    }
    default:
      return Outcome{blk::kStatusUnsupp, 0};
  }
}

virtqueue::Status BlkBackend::process(unsigned q, SplitQueue& queue) {
  if (q != 0) return std::nullopt;
  for (;;) {
    auto popped = queue.pop();
    if (!popped) return popped.error();
    if (!popped->has_value()) return std::nullopt;
    const Chain& chain = **popped;

    if (chain.writable_bytes() == 0) {
      // Nowhere to put a status: give the buffer back so the driver is not stuck.
      ++st_.stats.malformed;
      if (auto st = queue.push_used(chain.head, 0); st) return st;
      continue;
    }

    auto outcome = execute(queue, chain);
    if (!outcome) return outcome.error();
    if (outcome->status == blk::kStatusIoErr) ++st_.stats.errors;
    if (outcome->status == blk::kStatusUnsupp) ++st_.stats.unsupported;

    const std::array<std::uint8_t, 1> status{outcome->status};
    auto wrote = queue.write(chain, chain.writable_bytes() - 1, status);
    if (!wrote) return wrote.error();
    // data_written <= writable_bytes - 1 < 2^32, so the sum fits.
    if (auto st = queue.push_used(chain.head, outcome->data_written + static_cast<std::uint32_t>(*wrote)); st) return st;
  }
}

snapshot::Handle BlkBackend::save_state() const {
  return snapshot::make(this, st_);
}

void BlkBackend::restore_state(const snapshot::Handle& state) {
  st_ = snapshot::get<State>(state, this, "virtio-blk");
}

}  // namespace vmsg::devices

#include "vmsg/pci/config_space.hpp"

#include <cassert>
#include <string>
#include <utility>

#include "vmsg/common/errors.hpp"
#include "vmsg/common/no_coverage.hpp"

namespace vmsg::pci {

namespace {

constexpr std::uint32_t all_ones(unsigned size) noexcept {
  return size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu;
}

constexpr bool is_pow2(std::uint32_t v) noexcept { return v != 0 && (v & (v - 1)) == 0; }

constexpr std::uint16_t bar_offset(unsigned bar) noexcept {
  return static_cast<std::uint16_t>(cfg::kBar0 + 4 * bar);
}

}  // namespace

ConfigSpace::ConfigSpace(const PciIdentity& identity, const BarSpecs& bars) : bars_(bars) {
  if (identity.class_code > 0xFFFFFFu) {
    throw ConfigError("pci: class code wider than 24 bits");
  }
  raw_write(cfg::kVendorId, 2, identity.vendor_id);
  raw_write(cfg::kDeviceId, 2, identity.device_id);
  // Class code occupies bytes 0x09..0x0B: the dword at 0x08 is class << 8 | revision.
  raw_write(cfg::kRevision, 4, identity.class_code << 8 | identity.revision);
  raw_write(cfg::kSubsystemVendorId, 2, identity.subsystem_vendor_id);
  raw_write(cfg::kSubsystemId, 2, identity.subsystem_id);
  // Header type 0, interrupt pin 0 (no INTx), expansion ROM absent: all stay 0.

  set_write_mask(cfg::kCommand, 2, cfg::kCommandWritable);
  // Scratch bytes firmware writes; QEMU keeps them writable as well.
  set_write_mask(cfg::kCacheLineSize, 1, 0xFF);
  set_write_mask(cfg::kInterruptLine, 1, 0xFF);

  for (unsigned i = 0; i < cfg::kNumBars; ++i) {
    const BarSpec& b = bars_[i];
    if (b.size == 0) {
      if (b.prefetchable) {
        throw ConfigError("pci: BAR" + std::to_string(i) + " is unimplemented but marked prefetchable");
      }
      continue;
    }
    if (!is_pow2(b.size) || b.size < 16 || b.size > 0x80000000u) {
      throw ConfigError("pci: BAR" + std::to_string(i) + " size " + std::to_string(b.size) +
                        " is not a power of two in [16, 2 GiB]");
    }
    // Flag bits (type 00 = 32-bit memory, prefetchable) are read-only and
    // present from reset; the address bits below the size are hard-wired to
    // 0, which is what makes the all-ones sizing readback ~(size-1) | flags.
    raw_write(bar_offset(i), 4, b.prefetchable ? cfg::kBarPrefetchable : 0u);
    set_write_mask(bar_offset(i), 4, ~(b.size - 1));
  }
}

bool ConfigSpace::valid_access(std::uint16_t offset, unsigned size) noexcept {
  if (size != 1 && size != 2 && size != 4) return false;
  if (offset % size != 0) return false;
  return offset + size <= cfg::kHeaderSize;
}

std::uint32_t ConfigSpace::read(std::uint16_t offset, unsigned size) const noexcept {
  if (!valid_access(offset, size)) {
    ++ignored_;
    return all_ones(size);
  }
  return raw_read(offset, size);
}

void ConfigSpace::write(std::uint16_t offset, unsigned size, std::uint32_t value) {
  if (!valid_access(offset, size)) {
    ++ignored_;
    return;
  }
  const std::uint16_t old_command = command();
  ++generation_;
  for (unsigned i = 0; i < size; ++i) {
    const std::size_t at = offset + i;
    const auto v = static_cast<std::uint8_t>(value >> (8 * i));
    bytes_[at] = static_cast<std::uint8_t>((bytes_[at] & ~wmask_[at]) | (v & wmask_[at]));
  }
  notify_command(old_command);
}

VMSG_NO_COVERAGE_FEEDBACK std::uint32_t ConfigSpace::raw_read(std::uint16_t offset, unsigned size) const noexcept {
  assert(valid_access(offset, size));
  if (!valid_access(offset, size)) return 0;
  std::uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    v |= static_cast<std::uint32_t>(bytes_[offset + i]) << (8 * i);
  }
  return v;
}

VMSG_NO_COVERAGE_FEEDBACK void ConfigSpace::raw_write(std::uint16_t offset, unsigned size, std::uint32_t value) noexcept {
  assert(valid_access(offset, size));
  if (!valid_access(offset, size)) return;
  ++generation_;
  for (unsigned i = 0; i < size; ++i) {
    bytes_[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

void ConfigSpace::set_write_mask(std::uint16_t offset, unsigned size, std::uint32_t mask) noexcept {
  assert(valid_access(offset, size));
  if (!valid_access(offset, size)) return;
  for (unsigned i = 0; i < size; ++i) {
    wmask_[offset + i] = static_cast<std::uint8_t>(mask >> (8 * i));
  }
}

std::uint32_t ConfigSpace::write_mask(std::uint16_t offset, unsigned size) const noexcept {
  assert(valid_access(offset, size));
  if (!valid_access(offset, size)) return 0;
  std::uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    v |= static_cast<std::uint32_t>(wmask_[offset + i]) << (8 * i);
  }
  return v;
}

std::uint8_t ConfigSpace::add_capability(std::uint8_t id, std::uint8_t length) {
  if (length < 2) {
    throw ConfigError("pci: capability length below 2");
  }
  // Capability pointers are dword aligned (their low two bits are reserved).
  const unsigned at = (next_free_ + 3u) & ~3u;
  if (at + length > cfg::kHeaderSize) {
    throw ConfigError("pci: no room for a " + std::to_string(length) + "-byte capability");
  }
  const auto off = static_cast<std::uint8_t>(at);
  raw_write(off, 1, id);
  raw_write(static_cast<std::uint16_t>(off + 1), 1, 0);
  if (last_cap_ == 0) {
    raw_write(cfg::kCapabilityPointer, 1, off);
  } else {
    raw_write(static_cast<std::uint16_t>(last_cap_ + 1), 1, off);
  }
  raw_write(cfg::kStatus, 2, status() | cfg::kStatusCapList);
  last_cap_ = off;
  next_free_ = static_cast<std::uint16_t>(at + length);
  return off;
}

std::optional<std::uint8_t> ConfigSpace::find_capability(std::uint8_t id) const noexcept {
  if ((status() & cfg::kStatusCapList) == 0) return std::nullopt;
  std::uint8_t at = bytes_[cfg::kCapabilityPointer];
  // At most 48 dword-aligned capabilities fit in 0x40..0xFF; the bound also
  // stops a corrupted (looping) list.
  for (int hops = 0; at >= cfg::kFirstCapability && hops < 48; ++hops) {
    if (bytes_[at] == id) return at;
    at = bytes_[at + 1u];
  }
  return std::nullopt;
}

void ConfigSpace::reset() {
  const std::uint16_t old_command = command();
  ++generation_;
  for (std::size_t i = 0; i < bytes_.size(); ++i) {
    bytes_[i] = static_cast<std::uint8_t>(bytes_[i] & ~wmask_[i]);
  }
  notify_command(old_command);
}

std::uint16_t ConfigSpace::command() const noexcept {
  return static_cast<std::uint16_t>(raw_read(cfg::kCommand, 2));
}
std::uint16_t ConfigSpace::status() const noexcept {
  return static_cast<std::uint16_t>(raw_read(cfg::kStatus, 2));
}
bool ConfigSpace::memory_enabled() const noexcept { return (command() & cfg::kCommandMemory) != 0; }
bool ConfigSpace::bus_master() const noexcept { return (command() & cfg::kCommandBusMaster) != 0; }
bool ConfigSpace::intx_disabled() const noexcept { return (command() & cfg::kCommandIntxDisable) != 0; }

BarSpec ConfigSpace::bar_spec(unsigned bar) const noexcept {
  return bar < cfg::kNumBars ? bars_[bar] : BarSpec{};
}

std::uint32_t ConfigSpace::bar_address(unsigned bar) const noexcept {
  if (bar >= cfg::kNumBars || bars_[bar].size == 0) return 0;
  return raw_read(bar_offset(bar), 4) & ~0xFu;
}

void ConfigSpace::set_command_observer(CommandObserver observer) { observer_ = std::move(observer); }

void ConfigSpace::notify_command(std::uint16_t old_command) {
  const std::uint16_t now = command();
  if (now != old_command && observer_) observer_(old_command, now);
}

}  // namespace vmsg::pci

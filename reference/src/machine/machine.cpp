#include "vmsg/machine/machine.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "vmsg/common/errors.hpp"
#include "vmsg/common/no_coverage.hpp"

namespace vmsg::machine {

namespace {

constexpr unsigned kMaxDevice = 31;
constexpr unsigned kMaxFunction = 7;
constexpr unsigned kBarCount = 6;

std::uint64_t size_mask(unsigned size) noexcept {
  return size >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * size)) - 1;
}

void check_mmio_size(unsigned size) {
  if (size != 1 && size != 2 && size != 4 && size != 8) {
    throw PortError("mmio access size " + std::to_string(size) + " (must be 1, 2, 4 or 8)");
  }
}

void check_config_access(std::uint16_t offset, unsigned size) {
  if (size != 1 && size != 2 && size != 4) {
    throw PortError("config access size " + std::to_string(size) + " (must be 1, 2 or 4)");
  }
  if (unsigned{offset} + size > Machine::kConfigSpaceSize) {
    throw PortError("config access at " + std::to_string(offset) + " runs past 4 KiB");
  }
}

/// True when [addr, addr + size) lies inside [base, base + region_size) (overflow-safe).
bool fits(std::uint64_t base, std::uint64_t region_size, std::uint64_t addr, std::uint64_t size) noexcept {
  return addr >= base && size <= region_size && addr - base <= region_size - size;
}

/// Largest naturally aligned power-of-two access at `addr`, at most `max_size`
/// and `remaining` bytes: QEMU's memory core splits a block transfer the same way.
unsigned piece_size(std::uint64_t addr, std::uint64_t remaining, unsigned max_size) noexcept {
  unsigned s = max_size;
  while (s > 1 && ((addr & (s - 1)) != 0 || s > remaining)) {
    s /= 2;
  }
  return s;
}

/// Bytes from `a` up to the next region (or all `left` when none lies above).
std::uint64_t gap_length(std::optional<std::uint64_t> next, std::uint64_t a, std::uint64_t left) noexcept {
  return next ? std::min(left, *next - a) : left;
}

std::string to_string(port::PciAddress a) {
  return std::to_string(a.bus) + ":" + std::to_string(a.device) + "." + std::to_string(a.function);
}

}  // namespace

/// The DmaSpace of one function: forwards to the machine, tagged with the
/// function's address so the MSI log can say who raised each interrupt.
class Machine::BusMaster final : public pci::DmaSpace {
 public:
  BusMaster(Machine& m, port::PciAddress source) : machine_(m), source_(source) {}
  bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out) override { return machine_.dma_read(addr, out); }
  bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    return machine_.dma_write(addr, data);
  }
  bool msi_write(std::uint64_t addr, std::uint32_t data) override { return machine_.msi_write(source_, addr, data); }
  void report_fatal(std::string_view report) override { machine_.device_fatal(source_, report); }

 private:
  Machine& machine_;
  port::PciAddress source_;
};

Machine::Machine(MachineConfig config)
    : type_(config.type),
      layout_(layout_of(config.type)),
      ram_([&] {
        if (config.ram_size <= kDriverRamOffset || config.ram_size > layout_.ram_max) {
          throw ConfigError("Machine: ram_size " + std::to_string(config.ram_size) + " outside (1 MiB, " +
                            std::to_string(layout_.ram_max) + "] on " + std::string(to_string(type_)));
        }
        return config.ram_size;
      }()) {
  for (PlatformFunction& p : platform_functions(type_)) plug(p.address, std::move(p.function));
}

Machine::~Machine() = default;

void Machine::plug(port::PciAddress where, std::shared_ptr<pci::PciDevice> device) {
  if (!device) {
    throw ConfigError("Machine::plug: null device");
  }
  if (where.bus != 0 || where.device > kMaxDevice || where.function > kMaxFunction) {
    throw ConfigError("Machine::plug: " + to_string(where) + " is not bus 0, device 0..31, function 0..7");
  }
  if (slots_.contains(where)) {
    throw ConfigError("Machine::plug: " + to_string(where) + " is occupied");
  }
  Slot slot{std::move(device), std::make_unique<BusMaster>(*this, where)};
  slot.device->attach(*slot.bus_master);
  slots_.emplace(where, std::move(slot));
  decode_valid_ = false;
}

std::shared_ptr<pci::PciDevice> Machine::device(port::PciAddress where) const {
  auto it = slots_.find(where);
  return it == slots_.end() ? nullptr : it->second.device;
}

pci::DmaSpace& Machine::dma_space(port::PciAddress where) {
  auto it = slots_.find(where);
  if (it == slots_.end()) {
    throw ConfigError("Machine::dma_space: no device at " + to_string(where));
  }
  return *it->second.bus_master;
}

pci::PciDevice* Machine::find(port::PciAddress fn) const {
  auto it = slots_.find(fn);
  return it == slots_.end() ? nullptr : it->second.device.get();
}

// --- configuration space -----------------------------------------------------

std::uint32_t Machine::config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) {
  check_config_access(offset, size);
  const auto mask = static_cast<std::uint32_t>(size_mask(size));
  pci::PciDevice* dev = find(fn);
  if (dev == nullptr) {
    return mask;  // master abort: all-ones, as the host bridge returns
  }
  check_alive();
  std::uint32_t v = 0;
  if (offset % size == 0) {
    v = dev->config_read(offset, size) & mask;
  } else {
    for (unsigned i = 0; i < size; ++i) {
      v |= (dev->config_read(static_cast<std::uint16_t>(offset + i), 1) & 0xFFu) << (8 * i);
    }
  }
  check_alive();
  return v;
}

void Machine::config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) {
  check_config_access(offset, size);
  pci::PciDevice* dev = find(fn);
  if (dev == nullptr) {
    return;
  }
  check_alive();
  value &= static_cast<std::uint32_t>(size_mask(size));
  if (offset % size == 0) {
    dev->config_write(offset, size, value);
  } else {
    for (unsigned i = 0; i < size; ++i) {
      dev->config_write(static_cast<std::uint16_t>(offset + i), 1, (value >> (8 * i)) & 0xFFu);
    }
  }
  check_alive();
}

// --- address decode ------------------------------------------------------------

VMSG_NO_COVERAGE_FEEDBACK Machine::Region Machine::region_at(std::uint64_t addr) const {
  if (addr >= layout_.ram_base && addr - layout_.ram_base < ram_.size()) {
    return {RegionKind::kRam, layout_.ram_base, ram_.size(), nullptr, 0};
  }
  if (addr >= layout_.ecam_base && addr - layout_.ecam_base < layout_.ecam_size) {
    return {RegionKind::kEcam, layout_.ecam_base, layout_.ecam_size, nullptr, 0};
  }
  for (const Region& r : bar_regions()) {
    if (addr >= r.base && addr - r.base < r.size) return r;
  }
  return {};
}

VMSG_NO_COVERAGE_FEEDBACK const std::vector<Machine::Region>& Machine::bar_regions() const {
  // A config write may move or disable a BAR at any time, so the decode is
  // checked against every device's generation counter at each access;
  // rebuilding it only when one moved keeps the per-access cost to one load
  // and compare per slot (this runs for every MMIO access and bulk piece).
  bool valid = decode_valid_;
  for (std::size_t i = 0; valid && i < watched_.size(); ++i) valid = *watched_[i].counter == watched_[i].seen;
  if (valid) return bar_regions_;
  bar_regions_.clear();
  watched_.clear();
  decode_valid_ = true;
  for (const auto& [where, slot] : slots_) {
    const std::uint64_t* g = slot.device->decode_generation();
    const bool fixed = slot.device->decode_fixed();
    decode_valid_ = decode_valid_ && (g != nullptr || fixed);
    // A fixed decode cannot move: one counter fewer to compare per access.
    if (g != nullptr && !fixed) watched_.push_back({g, *g});
    for (unsigned bar = 0; bar < kBarCount; ++bar) {
      auto m = slot.device->bar_mapping(bar);
      if (m && m->size != 0) bar_regions_.push_back({RegionKind::kBar, m->base, m->size, slot.device.get(), bar});
    }
  }
  return bar_regions_;
}

std::optional<std::uint64_t> Machine::next_region_start(std::uint64_t addr) const {
  std::optional<std::uint64_t> next;
  for (const std::uint64_t fixed : {layout_.ram_base, layout_.ecam_base}) {
    if (fixed > addr) next = std::min(next.value_or(fixed), fixed);
  }
  for (const auto& [where, slot] : slots_) {
    for (unsigned bar = 0; bar < kBarCount; ++bar) {
      auto m = slot.device->bar_mapping(bar);
      if (m && m->size != 0 && m->base > addr) {
        next = std::min(next.value_or(m->base), m->base);
      }
    }
  }
  return next;
}

std::uint64_t Machine::region_read(const Region& r, std::uint64_t addr, unsigned size) {
  switch (r.kind) {
    case RegionKind::kRam:
      return ram_.load(addr - r.base, size).value_or(0);
    case RegionKind::kEcam: {
      const auto [fn, reg] = ecam_decode(addr);
      return config_read(fn, reg, size);
    }
    case RegionKind::kBar: {
      check_alive();
      const std::uint64_t v = r.device->bar_read(r.bar, addr - r.base, size) & size_mask(size);
      check_alive();
      return v;
    }
    case RegionKind::kNone:
      break;
  }
  return 0;
}

void Machine::region_write(const Region& r, std::uint64_t addr, unsigned size, std::uint64_t value) {
  switch (r.kind) {
    case RegionKind::kRam:
      (void)ram_.store(addr - r.base, size, value);  // range already checked by the caller
      return;
    case RegionKind::kEcam: {
      const auto [fn, reg] = ecam_decode(addr);
      config_write(fn, reg, size, static_cast<std::uint32_t>(value));
      return;
    }
    case RegionKind::kBar:
      check_alive();
      r.device->bar_write(r.bar, addr - r.base, size, value);
      check_alive();
      return;
    case RegionKind::kNone:
      return;
  }
}

std::pair<port::PciAddress, std::uint16_t> Machine::ecam_decode(std::uint64_t addr) const noexcept {
  const std::uint64_t off = addr - layout_.ecam_base;
  const port::PciAddress fn{static_cast<std::uint8_t>((off >> 20) & 0xFF), static_cast<std::uint8_t>((off >> 15) & 0x1F),
                            static_cast<std::uint8_t>((off >> 12) & 0x7)};
  return {fn, static_cast<std::uint16_t>(off & 0xFFF)};
}

/// ECAM takes config-sized accesses that stay inside one function's 4 KiB;
/// anything else (8 bytes, crossing a function) has nothing behind it.
bool Machine::ecam_access_ok(std::uint64_t addr, unsigned size) const noexcept {
  return size <= 4 && ((addr - layout_.ecam_base) & 0xFFF) + size <= kConfigSpaceSize;
}

// --- single MMIO accesses -------------------------------------------------------

std::uint64_t Machine::mmio_read(std::uint64_t addr, unsigned size) {
  check_mmio_size(size);
  const Region r = region_at(addr);
  if (r.kind == RegionKind::kNone || !fits(r.base, r.size, addr, size) ||
      (r.kind == RegionKind::kEcam && !ecam_access_ok(addr, size))) {
    ++stats_.unbacked_reads;
    return 0;
  }
  return region_read(r, addr, size);
}

void Machine::mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) {
  check_mmio_size(size);
  const Region r = region_at(addr);
  if (r.kind == RegionKind::kNone || !fits(r.base, r.size, addr, size) ||
      (r.kind == RegionKind::kEcam && !ecam_access_ok(addr, size))) {
    ++stats_.unbacked_writes;
    return;
  }
  region_write(r, addr, size, value & size_mask(size));
}

// --- bulk transfers ------------------------------------------------------------------
//
// Both walk the range region by region, resolving the region again at every
// step, so a device that remaps itself in the middle of a transfer is honoured.

template <typename OnGap, typename OnRam, typename OnBulk, typename OnPiece>
void Machine::walk_bulk(std::uint64_t addr, std::uint64_t n, OnGap on_gap, OnRam on_ram, OnBulk on_bulk,
                        OnPiece on_piece) {
  std::uint64_t done = 0;
  while (done < n) {
    const std::uint64_t a = addr + done;
    const std::uint64_t left = n - done;
    if (a < addr) {  // wrapped past the top of the address space: nothing there
      on_gap(done, left);
      stats_.unbacked_bulk_bytes += left;
      return;
    }
    const Region r = region_at(a);
    std::uint64_t chunk = 0;
    switch (r.kind) {
      case RegionKind::kNone:
        chunk = gap_length(next_region_start(a), a, left);
        on_gap(done, chunk);
        stats_.unbacked_bulk_bytes += chunk;
        break;
      case RegionKind::kRam:
        chunk = std::min(left, r.size - (a - r.base));
        on_ram(a, done, chunk);
        break;
      case RegionKind::kBar: {
        // Plain-memory BAR ranges go in one copy; anything with registers
        // in it piece by piece, resolving the region again each time.
        const std::uint64_t in_bar = std::min(left, r.size - (a - r.base));
        if (on_bulk(r, a, done, in_bar)) {
          chunk = in_bar;
          break;
        }
        chunk = piece_size(a, in_bar, 8U);
        on_piece(r, a, done, static_cast<unsigned>(chunk));
        break;
      }
      case RegionKind::kEcam: {
        chunk = piece_size(a, std::min(left, r.size - (a - r.base)), 4U);
        on_piece(r, a, done, static_cast<unsigned>(chunk));
        break;
      }
    }
    done += chunk;
  }
}

void Machine::mem_read(std::uint64_t addr, std::span<std::uint8_t> out) {
  const auto part = [&](std::uint64_t done, std::uint64_t len) {
    return out.subspan(static_cast<std::size_t>(done), static_cast<std::size_t>(len));
  };
  walk_bulk(
      addr, out.size(),
      [&](std::uint64_t done, std::uint64_t len) {
        auto dst = part(done, len);
        std::fill(dst.begin(), dst.end(), std::uint8_t{0});
      },
      [&](std::uint64_t a, std::uint64_t done, std::uint64_t len) {
        (void)ram_.read(a - layout_.ram_base, part(done, len));
      },
      [&](const Region& r, std::uint64_t a, std::uint64_t done, std::uint64_t len) {
        check_alive();
        return r.device->bar_read_bulk(r.bar, a - r.base, part(done, len));
      },
      [&](const Region& r, std::uint64_t a, std::uint64_t done, unsigned size) {
        const std::uint64_t v = region_read(r, a, size);
        for (unsigned i = 0; i < size; ++i) {
          out[static_cast<std::size_t>(done + i)] = static_cast<std::uint8_t>(v >> (8 * i));
        }
      });
}

void Machine::mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  walk_bulk(
      addr, data.size(), [](std::uint64_t, std::uint64_t) {},
      [&](std::uint64_t a, std::uint64_t done, std::uint64_t len) {
        (void)ram_.write(a - layout_.ram_base,
                         data.subspan(static_cast<std::size_t>(done), static_cast<std::size_t>(len)));
      },
      [&](const Region& r, std::uint64_t a, std::uint64_t done, std::uint64_t len) {
        check_alive();
        return r.device->bar_write_bulk(r.bar, a - r.base,
                                        data.subspan(static_cast<std::size_t>(done), static_cast<std::size_t>(len)));
      },
      [&](const Region& r, std::uint64_t a, std::uint64_t done, unsigned size) {
        std::uint64_t v = 0;
        for (unsigned i = 0; i < size; ++i) v |= std::uint64_t{data[static_cast<std::size_t>(done + i)]} << (8 * i);
        region_write(r, a, size, v);
      });
}

// --- time and layout -----------------------------------------------------------------

void Machine::advance_time(std::uint64_t ns) {
  now_ns_ = port::clock_after(now_ns_, ns);
  if (!slots_.empty()) check_alive();  // the step would reach the devices
  for (auto& [where, slot] : slots_) {
    slot.device->advance_time(ns);
  }
  check_alive();
}

port::AddressMap Machine::address_map() const {
  return {layout_.ram_base + kDriverRamOffset, ram_.size() - kDriverRamOffset, layout_.mmio_base,
          layout_.mmio_end - layout_.mmio_base};
}

// --- bus-master side ------------------------------------------------------------------

std::optional<std::uint64_t> Machine::ram_offset(std::uint64_t addr) const noexcept {
  if (addr < layout_.ram_base) return std::nullopt;
  return addr - layout_.ram_base;
}

bool Machine::dma_read(std::uint64_t addr, std::span<std::uint8_t> out) {
  const auto at = ram_offset(addr);
  if (!at || !ram_.read(*at, out)) {
    ++stats_.dma_faults;
    return false;
  }
  return true;
}

bool Machine::dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  const auto at = ram_offset(addr);
  if (!at || !ram_.write(*at, data)) {
    ++stats_.dma_faults;
    return false;
  }
  return true;
}

bool Machine::msi_write(port::PciAddress source, std::uint64_t addr, std::uint32_t data) {
  const auto at = ram_offset(addr);
  if (!at || !ram_.store(*at, 4, data)) {
    ++stats_.stray_msis;
    return false;
  }
  ++stats_.msis;
  msi_log_.push_back({addr, data, now_ns_, source});
  return true;
}

void Machine::device_fatal(port::PciAddress source, std::string_view report) {
  if (!crash_report_.empty()) return;  // the first crash is the one a process would have died of
  crash_report_ = report.empty() ? std::string("(no report)\n") : std::string(report);
  crashed_device_ = source;
}

void Machine::check_alive() const {
  if (crash_report_.empty()) return;
  throw PortError("device " + to_string(crashed_device_) + " crashed: " + crash_report_);
}

void Machine::reset() noexcept {
  ram_.clear();
  now_ns_ = 0;
  stats_ = {};
  msi_log_.clear();
  crash_report_.clear();
  crashed_device_ = {};
}

Machine::State Machine::save() {
  return {ram_.save(), now_ns_, stats_, msi_log_, crash_report_, crashed_device_};
}

void Machine::restore(const State& s) {
  ram_.restore(s.ram);  // first: it is what refuses a foreign state
  now_ns_ = s.now_ns;
  stats_ = s.stats;
  msi_log_ = s.msi_log;
  crash_report_ = s.crash_report;
  crashed_device_ = s.crashed_device;
  // The decode cache stays: it depends on the devices alone, whose decode
  // generations say whether their restore changed anything.
}

}  // namespace vmsg::machine

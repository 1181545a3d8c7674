#include "vmsg/common/hex.hpp"
#include "vmsg/dut/lib_port.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "vmsg/common/errors.hpp"

namespace vmsg::dut {
namespace {

using machine::Machine;

constexpr std::size_t kMaxLogLines = 1000;

std::uint64_t size_mask(unsigned size) noexcept {
  return size >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * size)) - 1;
}

void check_config_access(std::uint16_t offset, unsigned size) {
  if (size != 1 && size != 2 && size != 4) {
    throw PortError("config access size " + std::to_string(size) + " (must be 1, 2 or 4)");
  }
  if (unsigned{offset} + size > Machine::kConfigSpaceSize) {
    throw PortError("config access at " + std::to_string(offset) + " runs past 4 KiB");
  }
}

void check_mmio_size(unsigned size) {
  if (size != 1 && size != 2 && size != 4 && size != 8) {
    throw PortError("mmio access size " + std::to_string(size) + " (must be 1, 2, 4 or 8)");
  }
}

bool in_ecam(std::uint64_t addr) noexcept { return addr >= Machine::kEcamBase && addr - Machine::kEcamBase < Machine::kEcamSize; }

/// Largest naturally aligned power-of-two piece at `addr`, at most `max_size` and `remaining`.
unsigned piece_size(std::uint64_t addr, std::uint64_t remaining, unsigned max_size) noexcept {
  unsigned s = max_size;
  while (s > 1 && ((addr & (s - 1)) != 0 || s > remaining)) s /= 2;
  return s;
}

std::string bdf(port::PciAddress a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02x:%02x.%x", unsigned{a.bus}, unsigned{a.device}, unsigned{a.function});
  return buf;
}

}  // namespace

/// The host callbacks handed to the library; ctx is the LibPort. They run
/// inside a call the port made, never throw, and touch only RAM and counters.
struct LibPort::Host {
  static LibPort& self(void* ctx) noexcept { return *static_cast<LibPort*>(ctx); }

  static int mem_read(void* ctx, std::uint64_t addr, void* buf, std::size_t len) noexcept {
    LibPort& p = self(ctx);
    if (len != 0 && buf == nullptr) return 1;
    if (!p.ram_.read(addr, std::span<std::uint8_t>(static_cast<std::uint8_t*>(buf), len))) {
      ++p.stats_.dma_faults;
      return 1;
    }
    return 0;
  }

  static int mem_write(void* ctx, std::uint64_t addr, const void* buf, std::size_t len) noexcept {
    LibPort& p = self(ctx);
    if (len != 0 && buf == nullptr) return 1;
    if (!p.ram_.write(addr, std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(buf), len))) {
      ++p.stats_.dma_faults;
      return 1;
    }
    return 0;
  }

  static int msi_write(void* ctx, std::uint16_t rid, std::uint64_t addr, std::uint32_t data) noexcept {
    LibPort& p = self(ctx);
    if (!p.ram_.store(addr, 4, data)) {
      ++p.stats_.stray_msis;
      return 1;
    }
    ++p.stats_.msis;
    const port::PciAddress source{static_cast<std::uint8_t>(rid >> 8), static_cast<std::uint8_t>((rid >> 3) & 0x1F),
                                  static_cast<std::uint8_t>(rid & 0x7)};
    try {
      p.msi_log_.push_back({addr, data, p.now_ns_, source});
    } catch (...) {
      // Out of memory for the log: the interrupt itself landed; only the record is lost.
    }
    return 0;
  }

  static void log(void* ctx, int level, const char* message) noexcept {
    LibPort& p = self(ctx);
    if (p.log_.size() >= kMaxLogLines) return;
    static constexpr const char* kLevels[] = {"error", "warn", "info", "debug"};
    const char* lv = level >= 0 && level <= 3 ? kLevels[level] : "log";
    try {
      p.log_.push_back(std::string(lv) + ": " + (message != nullptr ? message : ""));
    } catch (...) {
    }
  }
};

LibPort::LibPort(const std::string& path, LibPortOptions options) : LibPort(Library::open(path), std::move(options)) {}

LibPort::LibPort(std::shared_ptr<Library> library, LibPortOptions options)
    : library_(std::move(library)),
      options_(std::move(options)),
      ram_([&] {
        if (options_.ram_size <= Machine::kDriverRamBase || options_.ram_size > Machine::kEcamBase) {
          throw ConfigError("LibPort: ram_size " + std::to_string(options_.ram_size) + " outside (1 MiB, 0xB0000000]");
        }
        return options_.ram_size;
      }()) {
  if (!library_) throw PortError("LibPort: no library");
  create_instance();
}

void LibPort::create_instance() {
  vmsg_dut_host host{};
  host.struct_size = sizeof host;
  host.ctx = this;
  host.mem_read = &Host::mem_read;
  host.mem_write = &Host::mem_write;
  host.msi_write = &Host::msi_write;
  host.log = &Host::log;
  char err[512] = {};
  dut_ = library_->api().create(options_.config.c_str(), &host, err, sizeof err);
  if (dut_ == nullptr) {
    err[sizeof err - 1] = '\0';
    throw ConfigRefused("DUT library " + library_->path() + ": create(\"" + options_.config +
                        "\") failed: " + (err[0] != '\0' ? err : "no message"));
  }
  // The chipset would hide such a function, and silently: refuse it instead.
  // Only a function the library answers for counts (a failing call is not one).
  for (const machine::PlatformFunction& p : platform_) {
    std::uint32_t v = 0;
    const port::PciAddress a = p.address;
    if (library_->api().config_read(dut_, a.bus, a.device, a.function, 0, 2, &v) == VMSG_DUT_OK) {
      library_->api().destroy(dut_);
      dut_ = nullptr;
      throw PortError("DUT library " + library_->path() + ": create(\"" + options_.config + "\") put a function at " +
                      bdf(a) + ", which q35's chipset occupies");
    }
  }
}

void LibPort::recreate(std::string config) {
  if (dut_ != nullptr) library_->api().destroy(dut_);
  dut_ = nullptr;
  ram_.clear();
  now_ns_ = 0;
  stats_ = {};
  msi_log_.clear();
  log_.clear();
  violations_.clear();
  options_.config = std::move(config);
  create_instance();
}

void LibPort::release() noexcept {
  if (dut_ != nullptr) library_->api().destroy(dut_);
  dut_ = nullptr;
  msi_log_.clear();
  log_.clear();
  violations_.clear();
  // The configuration text too (recreate() sets the next one): a run that
  // kept it would free it only in the next run, which libFuzzer counts as a
  // leak suspect and runs again.
  std::string().swap(options_.config);
}

vmsg_dut* LibPort::instance() const {
  if (dut_ == nullptr) throw PortError("DUT library " + library_->path() + ": no instance (the last recreate() failed)");
  return dut_;
}

LibPort::~LibPort() {
  if (dut_ != nullptr) library_->api().destroy(dut_);
}

void LibPort::check(int status, const std::string& what) {
  if (status == VMSG_DUT_OK) return;
  const char* msg = library_->api().last_error(dut_);
  std::string text = msg != nullptr && msg[0] != '\0' ? msg : "no message";
  std::string code = status == VMSG_DUT_ERR_INVALID  ? "invalid argument"
                     : status == VMSG_DUT_ERR_FAILED ? "failed"
                                                     : "status " + std::to_string(status);
  throw PortError("DUT library " + library_->path() + ": " + what + ": " + code + ": " + text);
}

// --- optional capabilities (ABI 1.1) ---------------------------------------------

bool LibPort::stimulus(const std::string& action) {
  const auto fn = library_->stimulus_fn();
  if (fn == nullptr) throw PortError("DUT library " + library_->path() + ": no stimulus entry (ABI 1.1 capability)");
  const int st = fn(instance(), action.c_str());
  if (st == VMSG_DUT_UNSUPPORTED) return false;
  check(st, "stimulus(" + action + ")");
  return true;
}

void LibPort::fetch_violations() {
  const auto fn = library_->violations_fn();
  if (fn == nullptr) throw PortError("DUT library " + library_->path() + ": no violations entry (ABI 1.1 capability)");
  // A library that keeps answering MORE would hang the host: bound the rounds.
  constexpr int kMaxRounds = 100000;
  std::vector<char> buf(4096);
  for (int round = 0; round < kMaxRounds; ++round) {
    buf[0] = '\0';
    const int st = fn(instance(), buf.data(), buf.size());
    if (st != VMSG_DUT_MORE) check(st, "violations()");
    buf.back() = '\0';  // never trust the library to terminate the text
    // Each call holds whole lines; an unterminated tail is a line cut to fit.
    const std::string text(buf.data());
    std::size_t start = 0;
    for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
      violations_.push_back(text.substr(start, nl - start));
    }
    if (start < text.size()) violations_.push_back(text.substr(start));
    if (st == VMSG_DUT_OK) return;
  }
  throw PortError("DUT library " + library_->path() + ": violations() still answers MORE after " +
                  std::to_string(kMaxRounds) + " calls");
}

const std::vector<std::string>& LibPort::peek_violations() {
  fetch_violations();
  return violations_;
}

std::vector<std::string> LibPort::take_violations() {
  fetch_violations();
  return std::exchange(violations_, {});
}

void LibPort::clear_violations() {
  const auto fn = library_->violations_fn();
  if (fn == nullptr) throw PortError("DUT library " + library_->path() + ": no violations entry (ABI 1.1 capability)");
  violations_.clear();
  check(fn(instance(), nullptr, 0), "violations(clear)");
}

// --- configuration space --------------------------------------------------------

pci::PciDevice* LibPort::platform_function(port::PciAddress fn) const {
  for (const machine::PlatformFunction& p : platform_) {
    if (p.address == fn) return p.function.get();
  }
  return nullptr;
}

std::uint32_t LibPort::lib_config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) {
  if (pci::PciDevice* chip = platform_function(fn)) {
    return chip->config_read(offset, size) & static_cast<std::uint32_t>(size_mask(size));
  }
  std::uint32_t v = 0;
  const int st = library_->api().config_read(instance(), fn.bus, fn.device, fn.function, offset, size, &v);
  if (st == VMSG_DUT_NO_FUNCTION) return static_cast<std::uint32_t>(size_mask(size));  // master abort
  check(st, "config_read(" + bdf(fn) + ", " + hex(offset) + ", " + std::to_string(size) + ")");
  return v & static_cast<std::uint32_t>(size_mask(size));
}

void LibPort::lib_config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) {
  if (pci::PciDevice* chip = platform_function(fn)) {
    chip->config_write(offset, size, value);
    return;
  }
  const int st = library_->api().config_write(instance(), fn.bus, fn.device, fn.function, offset, size, value);
  if (st == VMSG_DUT_NO_FUNCTION) return;
  check(st, "config_write(" + bdf(fn) + ", " + hex(offset) + ", " + std::to_string(size) + ", " + hex(value) + ")");
}

std::uint32_t LibPort::config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) {
  check_config_access(offset, size);
  if (offset % size == 0) return lib_config_read(fn, offset, size);
  // The ABI only carries naturally aligned accesses; split as the Machine does.
  std::uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    v |= (lib_config_read(fn, static_cast<std::uint16_t>(offset + i), 1) & 0xFFu) << (8 * i);
  }
  return v;
}

void LibPort::config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) {
  check_config_access(offset, size);
  value &= static_cast<std::uint32_t>(size_mask(size));
  if (offset % size == 0) {
    lib_config_write(fn, offset, size, value);
    return;
  }
  for (unsigned i = 0; i < size; ++i) {
    lib_config_write(fn, static_cast<std::uint16_t>(offset + i), 1, (value >> (8 * i)) & 0xFFu);
  }
}

// --- single accesses -----------------------------------------------------------

namespace {

/// ECAM address -> function and register, or false when the access would
/// leave one function's 4 KiB or is wider than a config access.
bool ecam_decode(std::uint64_t addr, unsigned size, port::PciAddress& fn, std::uint16_t& reg) noexcept {
  const std::uint64_t off = addr - Machine::kEcamBase;
  if (size > 4 || (off & 0xFFF) + size > Machine::kConfigSpaceSize) return false;
  fn = {static_cast<std::uint8_t>((off >> 20) & 0xFF), static_cast<std::uint8_t>((off >> 15) & 0x1F),
        static_cast<std::uint8_t>((off >> 12) & 0x7)};
  reg = static_cast<std::uint16_t>(off & 0xFFF);
  return true;
}

}  // namespace

bool LibPort::outer_read(std::uint64_t addr, unsigned size, std::uint64_t& value) {
  if (in_ecam(addr)) {
    port::PciAddress fn;
    std::uint16_t reg = 0;
    if (!ecam_decode(addr, size, fn, reg)) return false;
    value = config_read(fn, reg, size);
    return true;
  }
  std::uint64_t v = 0;
  const int st = library_->api().mmio_read(instance(), addr, size, &v);
  if (st == VMSG_DUT_UNMAPPED) return false;
  check(st, "mmio_read(" + hex(addr) + ", " + std::to_string(size) + ")");
  value = v & size_mask(size);
  return true;
}

bool LibPort::outer_write(std::uint64_t addr, unsigned size, std::uint64_t value) {
  value &= size_mask(size);
  if (in_ecam(addr)) {
    port::PciAddress fn;
    std::uint16_t reg = 0;
    if (!ecam_decode(addr, size, fn, reg)) return false;
    config_write(fn, reg, size, static_cast<std::uint32_t>(value));
    return true;
  }
  const int st = library_->api().mmio_write(instance(), addr, size, value);
  if (st == VMSG_DUT_UNMAPPED) return false;
  check(st, "mmio_write(" + hex(addr) + ", " + std::to_string(size) + ", " + hex(value) + ")");
  return true;
}

bool LibPort::outer_bulk_read(std::uint64_t addr, std::span<std::uint8_t> out) {
  const auto fn = library_->mmio_read_bulk_fn();
  if (fn == nullptr || out.empty() || in_ecam(addr)) return false;
  const int st = fn(instance(), addr, out.data(), out.size());
  if (st == VMSG_DUT_UNSUPPORTED || st == VMSG_DUT_UNMAPPED) return false;
  check(st, "mmio_read_bulk(" + hex(addr) + ", " + std::to_string(out.size()) + ")");
  return true;
}

bool LibPort::outer_bulk_write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  const auto fn = library_->mmio_write_bulk_fn();
  if (fn == nullptr || data.empty() || in_ecam(addr)) return false;
  const int st = fn(instance(), addr, data.data(), data.size());
  if (st == VMSG_DUT_UNSUPPORTED || st == VMSG_DUT_UNMAPPED) return false;
  check(st, "mmio_write_bulk(" + hex(addr) + ", " + std::to_string(data.size()) + ")");
  return true;
}

std::uint64_t LibPort::mmio_read(std::uint64_t addr, unsigned size) {
  check_mmio_size(size);
  if (addr < ram_.size()) {
    if (auto v = ram_.load(addr, size)) return *v;
    ++stats_.unbacked_reads;  // straddles the end of RAM: not inside one region
    return 0;
  }
  std::uint64_t v = 0;
  if (!outer_read(addr, size, v)) {
    ++stats_.unbacked_reads;
    return 0;
  }
  return v;
}

void LibPort::mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) {
  check_mmio_size(size);
  if (addr < ram_.size()) {
    if (!ram_.store(addr, size, value & size_mask(size))) ++stats_.unbacked_writes;
    return;
  }
  if (!outer_write(addr, size, value)) ++stats_.unbacked_writes;
}

// --- bulk transfers ----------------------------------------------------------------

void LibPort::mem_read(std::uint64_t addr, std::span<std::uint8_t> out) {
  const std::uint64_t n = out.size();
  std::uint64_t done = 0;
  bool offered = false;
  while (done < n) {
    const std::uint64_t a = addr + done;
    const std::uint64_t left = n - done;
    if (a < addr) {  // wrapped past the top of the address space
      std::fill(out.begin() + static_cast<std::ptrdiff_t>(done), out.end(), std::uint8_t{0});
      stats_.unbacked_bulk_bytes += left;
      return;
    }
    if (a < ram_.size()) {
      const std::uint64_t chunk = std::min(left, ram_.size() - a);
      (void)ram_.read(a, out.subspan(static_cast<std::size_t>(done), static_cast<std::size_t>(chunk)));
      done += chunk;
      continue;
    }
    // One offer of the whole rest to the library (declined: pieces from here on).
    if (!offered) {
      offered = true;
      if (outer_bulk_read(a, out.subspan(static_cast<std::size_t>(done)))) return;
    }
    const unsigned size = piece_size(a, left, in_ecam(a) ? 4U : 8U);
    std::uint64_t v = 0;
    if (!outer_read(a, size, v)) {
      v = 0;
      stats_.unbacked_bulk_bytes += size;
    }
    for (unsigned i = 0; i < size; ++i) out[static_cast<std::size_t>(done + i)] = static_cast<std::uint8_t>(v >> (8 * i));
    done += size;
  }
}

void LibPort::mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  const std::uint64_t n = data.size();
  std::uint64_t done = 0;
  bool offered = false;
  while (done < n) {
    const std::uint64_t a = addr + done;
    const std::uint64_t left = n - done;
    if (a < addr) {
      stats_.unbacked_bulk_bytes += left;
      return;
    }
    if (a < ram_.size()) {
      const std::uint64_t chunk = std::min(left, ram_.size() - a);
      (void)ram_.write(a, data.subspan(static_cast<std::size_t>(done), static_cast<std::size_t>(chunk)));
      done += chunk;
      continue;
    }
    if (!offered) {
      offered = true;
      if (outer_bulk_write(a, data.subspan(static_cast<std::size_t>(done)))) return;
    }
    const unsigned size = piece_size(a, left, in_ecam(a) ? 4U : 8U);
    std::uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= std::uint64_t{data[static_cast<std::size_t>(done + i)]} << (8 * i);
    if (!outer_write(a, size, v)) stats_.unbacked_bulk_bytes += size;
    done += size;
  }
}

// --- time and layout ------------------------------------------------------------

void LibPort::advance_time(std::uint64_t ns) {
  // Refused before the library sees the step, so both clocks stay in step.
  now_ns_ = port::clock_after(now_ns_, ns);
  check(library_->api().advance_time(instance(), ns), "advance_time(" + std::to_string(ns) + ")");
}

port::AddressMap LibPort::address_map() const {
  return {Machine::kDriverRamBase, ram_.size() - Machine::kDriverRamBase, Machine::kMmioBase,
          Machine::kMmioEnd - Machine::kMmioBase};
}

}  // namespace vmsg::dut

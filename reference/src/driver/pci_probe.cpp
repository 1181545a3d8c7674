#include "vmsg/common/hex.hpp"
#include "vmsg/driver/pci_probe.hpp"

#include <bitset>
#include <cstdio>
#include <string>

#include "vmsg/driver/errors.hpp"

namespace vmsg::driver {

namespace {

using namespace pcireg;

constexpr unsigned kBarCount = 6;
constexpr std::uint64_t k4GiB = 1ULL << 32;

std::string name(port::PciAddress a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02x:%02x.%x", unsigned{a.bus}, unsigned{a.device}, unsigned{a.function});
  return buf;
}

bool is_pow2(std::uint64_t v) noexcept { return v != 0 && (v & (v - 1)) == 0; }

std::uint16_t bar_reg(unsigned i) { return static_cast<std::uint16_t>(kBar0 + 4 * i); }

bool present(port::Port& port, port::PciAddress fn) { return port.config_read(fn, kVendorId, 2) != 0xFFFF; }

void require_type0(port::Port& port, port::PciAddress fn) {
  if (!present(port, fn)) {
    throw ProbeError("no PCI function at " + name(fn));
  }
  const std::uint32_t ht = port.config_read(fn, kHeaderType, 1);
  if ((ht & 0x7F) != 0) {
    throw ProbeError(name(fn) + ": header type " + hex(ht) + " is not an endpoint (type 0)");
  }
}

/// The all-ones probe of one BAR dword; the original value is put back.
std::uint32_t size_probe(port::Port& port, port::PciAddress fn, std::uint16_t reg) {
  const std::uint32_t orig = port.config_read(fn, reg, 4);
  port.config_write(fn, reg, 4, 0xFFFF'FFFF);
  const std::uint32_t mask = port.config_read(fn, reg, 4);
  port.config_write(fn, reg, 4, orig);
  return mask;
}

}  // namespace

std::optional<std::uint8_t> ProbedFunction::capability(std::uint8_t id) const {
  for (const Capability& c : capabilities) {
    if (c.id == id) {
      return c.offset;
    }
  }
  return std::nullopt;
}

std::vector<port::PciAddress> scan_bus0(port::Port& port) {
  std::vector<port::PciAddress> found;
  for (unsigned dev = 0; dev < 32; ++dev) {
    const port::PciAddress fn0{0, static_cast<std::uint8_t>(dev), 0};
    // Function 0 absent means the whole device is absent (PCI requires fn 0).
    if (!present(port, fn0)) {
      continue;
    }
    found.push_back(fn0);
    if ((port.config_read(fn0, kHeaderType, 1) & kHeaderMultiFunction) == 0) {
      continue;
    }
    for (unsigned f = 1; f < 8; ++f) {
      const port::PciAddress fn{0, static_cast<std::uint8_t>(dev), static_cast<std::uint8_t>(f)};
      if (present(port, fn)) {
        found.push_back(fn);
      }
    }
  }
  return found;
}

std::vector<port::PciAddress> find_functions(port::Port& port, std::uint16_t vendor, std::uint16_t device) {
  std::vector<port::PciAddress> matches;
  const std::uint32_t want = std::uint32_t{device} << 16 | vendor;
  for (port::PciAddress fn : scan_bus0(port)) {
    if (port.config_read(fn, kVendorId, 4) == want) {
      matches.push_back(fn);
    }
  }
  return matches;
}

namespace {

/// The sizing loop of size_bars, with decode already off.
std::array<BarInfo, 6> size_all(port::Port& port, port::PciAddress fn) {
  std::array<BarInfo, 6> bars{};
  for (unsigned i = 0; i < kBarCount; ++i) {
    const std::uint32_t lo = size_probe(port, fn, bar_reg(i));
    if (lo == 0) {
      continue;  // not implemented: no writable bits, no type bits
    }
    BarInfo& b = bars[i];
    if ((lo & 0x1) != 0) {
      b.io = true;
      std::uint32_t mask = lo & ~0x3U;
      if ((mask & 0xFFFF'0000U) == 0) {
        mask |= 0xFFFF'0000U;  // a 16-bit I/O decoder leaves the upper half zero
      }
      b.size = std::uint32_t{~mask + 1U};
    } else {
      const unsigned type = (lo >> 1) & 0x3;
      if (type == 3) {
        throw ProbeError(name(fn) + ": BAR" + std::to_string(i) + " has reserved memory type 11b");
      }
      b.prefetchable = (lo & 0x8) != 0;
      std::uint64_t mask = lo & ~0xFULL;
      if (type == 2) {
        if (i == kBarCount - 1) {
          throw ProbeError(name(fn) + ": BAR5 claims to be 64-bit");
        }
        b.is64 = true;
        mask |= std::uint64_t{size_probe(port, fn, bar_reg(i + 1))} << 32;
      }
      if (mask == 0) {
        b = BarInfo{};  // type bits but no address bits: Linux treats it as absent too
        continue;
      }
      if (!b.is64) {
        mask |= 0xFFFF'FFFF'0000'0000ULL;  // 32-bit (or legacy below-1M) BAR
      }
      b.size = ~mask + 1;
    }
    if (!is_pow2(b.size)) {
      throw ProbeError(name(fn) + ": BAR" + std::to_string(i) + " readback " + hex(lo) +
                       " is not a contiguous size mask");
    }
    if (b.is64) {
      ++i;  // the upper half is not a BAR of its own
    }
  }
  return bars;
}

}  // namespace

std::array<BarInfo, 6> size_bars(port::Port& port, port::PciAddress fn) {
  require_type0(port, fn);
  const std::uint32_t cmd = port.config_read(fn, kCommand, 2);
  // 16-bit writes: a dword write would also hit Status, whose error bits are write-1-to-clear.
  port.config_write(fn, kCommand, 2, cmd & ~std::uint32_t{kCommandMem | kCommandIo});
  std::array<BarInfo, 6> bars{};
  try {
    bars = size_all(port, fn);
  } catch (const ProbeError&) {
    port.config_write(fn, kCommand, 2, cmd);  // leave the function as found even when it is malformed
    throw;
  }
  port.config_write(fn, kCommand, 2, cmd);
  return bars;
}

std::vector<Capability> walk_capabilities(port::Port& port, port::PciAddress fn) {
  if (!present(port, fn)) {
    throw ProbeError("no PCI function at " + name(fn));
  }
  std::vector<Capability> caps;
  if ((port.config_read(fn, kStatus, 2) & kStatusCapList) == 0) {
    return caps;
  }
  // Pointers are dword-aligned and >= 0x40, so there are only 48 distinct
  // ones: remembering the visited offsets both detects any loop and bounds
  // the walk at 48 hops (Linux's PCI_FIND_CAP_TTL) without a separate counter.
  std::bitset<256> seen;
  auto ptr = static_cast<std::uint8_t>(port.config_read(fn, kCapPtr, 1) & 0xFC);
  while (ptr != 0) {
    if (ptr < 0x40) {
      throw ProbeError(name(fn) + ": capability pointer " + hex(ptr) + " points into the header");
    }
    if (seen.test(ptr)) {
      throw ProbeError(name(fn) + ": capability list loops back to " + hex(ptr));
    }
    seen.set(ptr);
    const std::uint32_t hdr = port.config_read(fn, ptr, 2);
    caps.push_back({static_cast<std::uint8_t>(hdr & 0xFF), ptr});
    ptr = static_cast<std::uint8_t>((hdr >> 8) & 0xFC);
  }
  return caps;
}

std::optional<std::uint8_t> find_capability(port::Port& port, port::PciAddress fn, std::uint8_t id) {
  for (const Capability& c : walk_capabilities(port, fn)) {
    if (c.id == id) {
      return c.offset;
    }
  }
  return std::nullopt;
}

ProbedFunction probe_function(port::Port& port, port::PciAddress fn, BarWindowAllocator& window) {
  require_type0(port, fn);
  ProbedFunction f;
  f.addr = fn;
  const std::uint32_t id = port.config_read(fn, kVendorId, 4);
  f.vendor_id = static_cast<std::uint16_t>(id);
  f.device_id = static_cast<std::uint16_t>(id >> 16);
  const std::uint32_t rc = port.config_read(fn, kRevisionClass, 4);
  f.revision = static_cast<std::uint8_t>(rc);
  f.class_code = rc >> 8;
  f.header_type = static_cast<std::uint8_t>(port.config_read(fn, kHeaderType, 1));
  f.bars = size_bars(port, fn);

  for (unsigned i = 0; i < kBarCount; ++i) {
    BarInfo& b = f.bars[i];
    if (!b.implemented() || b.io) {
      continue;
    }
    const std::uint64_t base = window.alloc(b.size);
    if (!b.is64 && base + b.size > k4GiB) {
      throw ProbeError(name(fn) + ": 32-bit BAR" + std::to_string(i) + " cannot be placed at " + hex(base));
    }
    port.config_write(fn, bar_reg(i), 4, static_cast<std::uint32_t>(base));
    std::uint64_t latched = port.config_read(fn, bar_reg(i), 4) & ~0xFULL;
    if (b.is64) {
      port.config_write(fn, bar_reg(i + 1), 4, static_cast<std::uint32_t>(base >> 32));
      latched |= std::uint64_t{port.config_read(fn, bar_reg(i + 1), 4)} << 32;
    }
    if (latched != base) {
      throw ProbeError(name(fn) + ": BAR" + std::to_string(i) + " written " + hex(base) + " reads back " +
                       hex(latched));
    }
    b.base = base;
  }

  const std::uint32_t cmd = port.config_read(fn, kCommand, 2);
  port.config_write(fn, kCommand, 2, cmd | kCommandMem | kCommandBusMaster);
  f.capabilities = walk_capabilities(port, fn);
  return f;
}

std::optional<ProbedFunction> probe(port::Port& port, std::uint16_t vendor, std::uint16_t device,
                                    BarWindowAllocator& window, unsigned index) {
  const std::vector<port::PciAddress> fns = find_functions(port, vendor, device);
  if (index >= fns.size()) {
    return std::nullopt;
  }
  return probe_function(port, fns[index], window);
}

}  // namespace vmsg::driver

#include "vmsg/driver/msix_setup.hpp"

#include <string>

#include "vmsg/common/errors.hpp"
#include "vmsg/driver/errors.hpp"

namespace vmsg::driver {

namespace {

using namespace msixreg;

std::uint16_t cfg(std::uint8_t cap, std::uint16_t off) { return static_cast<std::uint16_t>(cap + off); }

/// Checks that [offset, offset + len) of BAR `bir` is usable MMIO and returns its address.
std::uint64_t resolve(const ProbedFunction& f, const char* what, unsigned bir, std::uint32_t offset,
                      std::uint64_t len) {
  if (bir >= f.bars.size()) {
    throw ProbeError(std::string("MSI-X ") + what + " BIR " + std::to_string(bir) + " is reserved");
  }
  const BarInfo& b = f.bars[bir];
  if (!b.implemented() || b.io || b.base == 0) {
    throw ProbeError(std::string("MSI-X ") + what + " is in BAR" + std::to_string(bir) +
                     ", which is not an assigned memory BAR");
  }
  if (offset > b.size || len > b.size - offset) {
    throw ProbeError(std::string("MSI-X ") + what + " at offset " + std::to_string(offset) + " (+" +
                     std::to_string(len) + ") does not fit BAR" + std::to_string(bir) + " of " +
                     std::to_string(b.size) + " bytes");
  }
  return b.base + offset;
}

std::uint64_t entry_addr(const MsixInfo& m, unsigned entry) {
  if (entry >= m.table_size) {
    throw ConfigError("MSI-X entry " + std::to_string(entry) + " out of range (table size " +
                      std::to_string(m.table_size) + ")");
  }
  return m.table_addr + kEntrySize * entry;
}

void update_control(port::Port& port, const MsixInfo& m, std::uint32_t set, std::uint32_t clear) {
  const std::uint32_t ctrl = port.config_read(m.fn, cfg(m.cap, kControl), 2);
  port.config_write(m.fn, cfg(m.cap, kControl), 2, (ctrl | set) & ~clear);
}

std::uint32_t read32(port::Port& port, std::uint64_t addr) {
  return static_cast<std::uint32_t>(port.mmio_read(addr, 4));
}

}  // namespace

MsixInfo msix_info(port::Port& port, const ProbedFunction& f) {
  // Walk the live list rather than trust f.capabilities: the caller may have
  // built or kept `f` across a device change.
  const std::optional<std::uint8_t> cap = find_capability(port, f.addr, pcireg::kCapIdMsix);
  if (!cap) {
    throw ProbeError("function has no MSI-X capability");
  }
  MsixInfo m;
  m.fn = f.addr;
  m.cap = *cap;
  m.table_size = static_cast<std::uint16_t>((port.config_read(f.addr, cfg(m.cap, kControl), 2) & kControlTableSize) + 1);
  const std::uint32_t table = port.config_read(f.addr, cfg(m.cap, kTable), 4);
  const std::uint32_t pba = port.config_read(f.addr, cfg(m.cap, kPba), 4);
  m.table_bar = table & 0x7;
  m.table_offset = table & ~0x7U;
  m.pba_bar = pba & 0x7;
  m.pba_offset = pba & ~0x7U;
  m.table_addr = resolve(f, "table", m.table_bar, m.table_offset, kEntrySize * m.table_size);
  // One pending bit per entry, in whole qwords.
  m.pba_addr = resolve(f, "PBA", m.pba_bar, m.pba_offset, 8 * ((m.table_size + 63U) / 64U));
  return m;
}

void msix_enable(port::Port& port, const MsixInfo& m) { update_control(port, m, kControlEnable, kControlFunctionMask); }

void msix_disable(port::Port& port, const MsixInfo& m) { update_control(port, m, 0, kControlEnable); }

void msix_set_function_mask(port::Port& port, const MsixInfo& m, bool masked) {
  if (masked) {
    update_control(port, m, kControlFunctionMask, 0);
  } else {
    update_control(port, m, 0, kControlFunctionMask);
  }
}

std::uint32_t msix_vector_control(port::Port& port, const MsixInfo& m, unsigned entry) {
  return read32(port, entry_addr(m, entry) + kEntryControl);
}

void msix_set_masked(port::Port& port, const MsixInfo& m, unsigned entry, bool masked) {
  const std::uint64_t at = entry_addr(m, entry) + kEntryControl;
  const std::uint32_t ctrl = read32(port, at);
  port.mmio_write(at, 4, masked ? (ctrl | kEntryMasked) : (ctrl & ~kEntryMasked));
}

void msix_program(port::Port& port, const MsixInfo& m, unsigned entry, std::uint64_t addr, std::uint32_t data) {
  const std::uint64_t e = entry_addr(m, entry);
  msix_set_masked(port, m, entry, true);
  port.mmio_write(e + kEntryAddrLo, 4, static_cast<std::uint32_t>(addr));
  port.mmio_write(e + kEntryAddrHi, 4, static_cast<std::uint32_t>(addr >> 32));
  port.mmio_write(e + kEntryData, 4, data);
  msix_set_masked(port, m, entry, false);
}

bool msix_pending(port::Port& port, const MsixInfo& m, unsigned entry) {
  (void)entry_addr(m, entry);  // range check
  const std::uint32_t word = read32(port, m.pba_addr + 4ULL * (entry / 32));
  return ((word >> (entry % 32)) & 1U) != 0;
}

MsiTarget msix_setup_vector(port::Port& port, const MsixInfo& m, unsigned entry, GuestAllocator& ram,
                            std::uint32_t data) {
  if (data == 0) {
    throw ConfigError("MSI data word 0 cannot be told apart from a cleared word");
  }
  (void)entry_addr(m, entry);  // range check before allocating
  const MsiTarget t{ram.alloc(4, 4), data};
  clear_msi(port, t);
  msix_program(port, m, entry, t.addr, data);
  return t;
}

std::uint32_t msi_word(port::Port& port, const MsiTarget& t) { return read32(port, t.addr); }

void clear_msi(port::Port& port, const MsiTarget& t) { port.mmio_write(t.addr, 4, 0); }

bool msi_fired(port::Port& port, const MsiTarget& t) { return msi_word(port, t) == t.data; }

bool take_msi(port::Port& port, const MsiTarget& t) {
  if (!msi_fired(port, t)) {
    return false;
  }
  clear_msi(port, t);
  return true;
}

}  // namespace vmsg::driver

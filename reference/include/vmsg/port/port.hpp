// The port: the one seam between drivers/tests/fuzzers and a target.
//
// Every target implements it: the in-process machine (machine/machine.hpp),
// QEMU over qtest, and a vendor library behind the C ABI. Drivers are written
// against this interface only (the libqos model), so they run unchanged on
// every target. Interrupts are not a call: the device's MSI-X writes land in
// guest RAM, and a driver observes them with mem_read, as it would under qtest.
//
// Batching is an optional capability (run/post/holding/pipelines below): every
// port supports it through the single calls, and a port whose round trips are
// dear (qtest) overrides it to carry a whole batch in one.
#pragma once

#include <compare>
#include <cstdint>
#include <span>
#include <string>

#include "vmsg/common/errors.hpp"

namespace vmsg::port {

/// Bus/device/function of a PCI function on the target.
struct PciAddress {
  std::uint8_t bus = 0;
  std::uint8_t device = 0;
  std::uint8_t function = 0;
  friend constexpr auto operator<=>(const PciAddress&, const PciAddress&) = default;
};

/// Where a driver may place things: free guest RAM for rings, buffers and
/// MSI targets, and the window in which it assigns BAR addresses.
struct AddressMap {
  std::uint64_t ram_base = 0;   ///< first byte of RAM the driver may use
  std::uint64_t ram_size = 0;   ///< bytes of RAM from ram_base
  std::uint64_t mmio_base = 0;  ///< first address of the BAR window
  std::uint64_t mmio_size = 0;  ///< size of the BAR window
};

/// One MMIO or memory access in a batch (Port::run, Port::post). Reads are
/// answered in place: `value` for an MMIO read, the bytes behind `out` for a
/// memory read (the caller owns them, as it owns those behind `in`).
struct Access {
  enum class Op : std::uint8_t { MmioRead, MmioWrite, MemRead, MemWrite };
  Op op = Op::MmioRead;
  unsigned size = 0;                 ///< MMIO width in bytes (1, 2, 4 or 8)
  std::uint64_t addr = 0;
  std::uint64_t value = 0;           ///< MMIO: the value written, or the value read
  std::span<std::uint8_t> out;       ///< MemRead: where the bytes go
  std::span<const std::uint8_t> in;  ///< MemWrite: the bytes written

  [[nodiscard]] static Access mmio_read(std::uint64_t addr, unsigned size) {
    Access a;
    a.size = size;
    a.addr = addr;
    return a;
  }
  [[nodiscard]] static Access mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) {
    Access a = mmio_read(addr, size);
    a.op = Op::MmioWrite;
    a.value = value;
    return a;
  }
  [[nodiscard]] static Access mem_read(std::uint64_t addr, std::span<std::uint8_t> out) {
    Access a;
    a.op = Op::MemRead;
    a.addr = addr;
    a.out = out;
    return a;
  }
  [[nodiscard]] static Access mem_write(std::uint64_t addr, std::span<const std::uint8_t> in) {
    Access a;
    a.op = Op::MemWrite;
    a.addr = addr;
    a.in = in;
    return a;
  }
  [[nodiscard]] bool is_write() const noexcept { return op == Op::MmioWrite || op == Op::MemWrite; }
};

/// Target-neutral access to a machine hosting the device under test.
///
/// Sizes: config accesses are 1, 2 or 4 bytes, MMIO accesses 1, 2, 4 or 8
/// bytes. A size outside those sets throws vmsg::PortError; so does a target
/// that is gone (crashed QEMU, timed-out command). Alignment is not checked
/// here: unaligned MMIO is passed to the target, whose behaviour is under test.
class Port {
 public:
  virtual ~Port() = default;

  /// Reads PCI configuration space. An absent function reads all-ones.
  virtual std::uint32_t config_read(PciAddress fn, std::uint16_t offset, unsigned size) = 0;
  virtual void config_write(PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) = 0;

  /// One MMIO (or RAM) access of exactly `size` bytes at a guest-physical address.
  virtual std::uint64_t mmio_read(std::uint64_t addr, unsigned size) = 0;
  virtual void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) = 0;

  /// Bulk guest-physical memory transfer (RAM, or RAM-like BARs such as the
  /// FIFO window). Unbacked addresses read as zero and ignore writes.
  virtual void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) = 0;
  virtual void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) = 0;

  /// Advances the target's virtual clock by `ns` nanoseconds. A step that
  /// would carry the clock past 2^64-1 ns throws PortError and advances
  /// nothing: virtual time never wraps round to the past.
  virtual void advance_time(std::uint64_t ns) = 0;

  /// Memory layout facts a driver needs for placing BARs and buffers.
  [[nodiscard]] virtual AddressMap address_map() const = 0;

  // ---- batching (optional; the defaults are the single calls) ----------------
  /// Performs `batch` in order, with exactly the effect of the matching single
  /// calls, and fills in what the reads return. A port that pipelines carries
  /// the batch in one round trip. Throws as the single calls do; accesses
  /// before the failing one have taken effect.
  virtual void run(std::span<Access> batch) {
    for (Access& a : batch) perform(a);
  }
  /// Writes that the port may hold back and send just before its next
  /// operation of any kind, so the target still sees the same sequence of
  /// accesses; only the wait for their acknowledgement moves. The port keeps
  /// copies: the bytes behind `writes` may go once post() returns. Returns a
  /// ticket for holding(); 0 means they were performed at once (the default).
  /// A read in `writes` throws vmsg::ConfigError before anything is done.
  /// An error of a held write is thrown by the operation that sends it.
  virtual std::uint64_t post(std::span<const Access> writes) {
    check_writes(writes);
    for (Access a : writes) perform(a);
    return 0;
  }
  /// True while the writes of `ticket` are the latest posted and still held
  /// back: then nothing at all has reached the target since. False when unsure.
  [[nodiscard]] virtual bool holding(std::uint64_t ticket) const noexcept {
    (void)ticket;
    return false;
  }
  /// True when run() costs about one round trip whatever the batch holds, so
  /// a driver gains by adding reads it may not need (reads of RAM have no
  /// effect on the target). False for in-process and library targets.
  [[nodiscard]] virtual bool pipelines() const noexcept { return false; }

 protected:
  /// One access through the single calls.
  void perform(Access& a) {
    switch (a.op) {
      case Access::Op::MmioRead:
        a.value = mmio_read(a.addr, a.size);
        return;
      case Access::Op::MmioWrite:
        mmio_write(a.addr, a.size, a.value);
        return;
      case Access::Op::MemRead:
        mem_read(a.addr, a.out);
        return;
      case Access::Op::MemWrite:
        mem_write(a.addr, a.in);
        return;
    }
  }
  static void check_writes(std::span<const Access> writes) {
    for (const Access& a : writes) {
      if (!a.is_write()) throw ConfigError("port post: only writes may be posted");
    }
  }
};

/// The clock after a step of `ns` from `now`, for ports that keep the clock
/// themselves; throws PortError when it would pass 2^64-1 (see advance_time).
[[nodiscard]] inline std::uint64_t clock_after(std::uint64_t now, std::uint64_t ns) {
  if (ns > UINT64_MAX - now) {
    throw PortError("advance_time(" + std::to_string(ns) + "): the clock at " + std::to_string(now) +
                    " ns would overflow");
  }
  return now + ns;
}

}  // namespace vmsg::port

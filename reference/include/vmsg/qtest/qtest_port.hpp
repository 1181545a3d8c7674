// QtestPort: the port interface over QEMU's qtest protocol (libqtest's role).
//
// A client over an already connected socket (QemuProcess makes one). Config
// space goes through CF8/CFC port I/O on q35 or ECAM MMIO on arm virt, MMIO
// through readX/writeX, bulk memory through chunked b64read/b64write, and
// virtual time through clock_step (amp-pci-device.md §9).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vmsg/port/port.hpp"
#include "vmsg/qtest/address_map.hpp"
#include "vmsg/qtest/line_channel.hpp"
#include "vmsg/qtest/protocol.hpp"

namespace vmsg::qtest {

/// Choices of a QtestPort.
struct QtestPortOptions {
  MachineType machine = MachineType::Q35;
  std::uint64_t ram_bytes = 128ULL << 20;  ///< the -m the target was started with
  /// How long one reply may take before the command fails with PortError.
  std::chrono::milliseconds timeout{10'000};
  /// Bytes per b64read/b64write command in bulk transfers.
  std::size_t chunk_bytes = 16 * 1024;
  /// Commands in flight at once in a pipelined batch (bounds both socket buffers).
  std::size_t window = 64;
};

/// port::Port over qtest. Not thread-safe.
///
/// Errors: every failure throws vmsg::PortError naming the command: a
/// FAIL/ERR reply, a reply that does not parse, no reply within the timeout,
/// a peer that closed the socket. After a timeout, a garbled reply or a dead
/// peer the request/reply pairing is lost, so the port is unusable from then
/// on and every later call throws at once.
///
/// Batches: run() sends a whole batch in one round trip (pipelines() is
/// true). Posted writes are held, unsent, and go out first with the next
/// command of any kind, so the target sees the accesses in program order; a
/// FAIL/ERR answer to one is a PortError of that later call naming the
/// posted command. Writes still held when the port is destroyed are sent
/// without waiting for their answers.
///
/// Time: a target without clock_step (QEMU built without the qtest
/// accelerator, run with -S instead) answers "FAIL Unknown command"; from then
/// on advance_time is a no-op and clock_supported() is false. A stopped
/// machine has no time-driven behaviour, so nothing is lost by that. QEMU's
/// virtual clock is a signed 64-bit count: a step that would take the clock
/// (as last reported) past kMaxClockNs throws PortError and sends nothing.
class QtestPort final : public port::Port {
 public:
  static constexpr std::uint64_t kMaxClockNs = 0x7FFF'FFFF'FFFF'FFFFULL;
  /// Takes ownership of the connected socket `fd`.
  explicit QtestPort(int fd, QtestPortOptions options = {});
  ~QtestPort() override;
  QtestPort(const QtestPort&) = delete;
  QtestPort& operator=(const QtestPort&) = delete;

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override;
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override;
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override;
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override;
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override;
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override;
  void advance_time(std::uint64_t ns) override;
  [[nodiscard]] port::AddressMap address_map() const override { return layout_.map; }
  void run(std::span<port::Access> batch) override;
  std::uint64_t post(std::span<const port::Access> writes) override;
  [[nodiscard]] bool holding(std::uint64_t ticket) const noexcept override {
    return ticket != 0 && ticket == held_ticket_ && !held_.empty();
  }
  [[nodiscard]] bool pipelines() const noexcept override { return true; }

  // ---- beyond the port ------------------------------------------------------
  /// Sends one command and returns its reply, whatever its kind (FAIL and ERR
  /// are returned, not thrown). Transport failures still throw PortError.
  Reply command(const Command& c);
  /// Sends one vendor extension line (server.hpp: "vmsg_" then the name and
  /// arguments, no newline) and returns the reply; QEMU answers FAIL. Throws
  /// PortError for a line without the prefix or with a line break.
  Reply extension(std::string_view line);
  /// Pipelining: sends the commands `window` at a time and then reads their
  /// replies, in order. Every reply must be OK, else PortError naming the
  /// first failing command. Posted writes still held go out first. The port
  /// operations use this.
  std::vector<Reply> transact(std::span<const Command> commands);

  /// Port-I/O helpers (x86 machines).
  std::uint32_t port_in(std::uint16_t port, unsigned size);
  void port_out(std::uint16_t port, unsigned size, std::uint32_t value);

  /// IRQ lines the target reported so far ("IRQ raise/lower N"), in order.
  [[nodiscard]] const std::vector<IrqLine>& irq_events() const noexcept { return irqs_; }
  void clear_irq_events() noexcept { irqs_.clear(); }
  [[nodiscard]] bool clock_supported() const noexcept { return clock_supported_; }
  /// Virtual time the target reported on the last clock_step.
  [[nodiscard]] std::uint64_t clock_now_ns() const noexcept { return clock_now_; }
  /// True once a transport failure made the connection unusable.
  [[nodiscard]] bool broken() const noexcept { return !broken_reason_.empty(); }
  [[nodiscard]] const QtestPortOptions& options() const noexcept { return options_; }

 private:
  /// Reads the next reply line, recording IRQ lines on the way. `what()`
  /// names the command, and is only called to word an error.
  template <typename What>
  Reply read_reply(const What& what);
  /// Held writes, then `commands`: sent `window` at a time, every reply of a
  /// window read. Sending stops after a window with a FAIL/ERR reply. A held
  /// write not answered OK throws PortError (after its window was read).
  /// Returns the replies to `commands` received.
  std::vector<Reply> exchange(std::span<const Command> commands);
  /// The commands that carry `a` (validated: a bad size throws before anything is sent).
  void append_commands(const port::Access& a, std::vector<Command>& out) const;
  /// Fills in the result of `a` from its replies starting at `at`; returns the index after them.
  std::size_t take_replies(port::Access& a, std::span<const Command> cmds, std::span<const Reply> replies,
                           std::size_t at);
  [[noreturn]] void fail_hard(const std::string& what, const std::string& why);
  void check_usable() const;
  std::uint32_t config_dword_address(port::PciAddress fn, std::uint16_t offset) const;
  std::uint32_t config_read_aligned(port::PciAddress fn, std::uint16_t offset, unsigned size);
  void config_write_aligned(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value);

  LineChannel chan_;
  QtestPortOptions options_;
  MachineLayout layout_;
  std::vector<IrqLine> irqs_;
  bool clock_supported_ = true;
  std::uint64_t clock_now_ = 0;
  std::string broken_reason_;
  std::vector<Command> held_;      ///< posted writes not sent yet, oldest first
  std::uint64_t held_ticket_ = 0;  ///< the ticket of the latest post()
  std::uint64_t tickets_ = 0;
};

/// The command line of `c` without its newline, for messages.
[[nodiscard]] std::string describe(const Command& c);

}  // namespace vmsg::qtest

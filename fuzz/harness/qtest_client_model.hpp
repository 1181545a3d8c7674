// An independent model of QtestPort (reference/include/vmsg/qtest/qtest_port.hpp)
// against a peer whose whole reply text is known in advance: which commands
// each port call sends, which reply lines it consumes (IRQ lines recorded on
// the way), and what it must return or throw. fuzz_qtest's client mode runs
// the real port and this model side by side.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/qtest_ops.hpp"
#include "vmsg/port/port.hpp"
#include "vmsg/qtest/protocol.hpp"

namespace vmsg::fuzz {

/// What one port call must do.
struct PortOutcome {
  enum class Kind : std::uint8_t { Done, Value, Bytes, Reply, PortError, ConfigError };
  Kind kind = Kind::Done;
  std::uint64_t value = 0;
  std::vector<std::uint8_t> bytes;
  qtest::Reply reply;
  std::string sent;  ///< command text the call writes, in order
};

/// Why QtestPort refuses `op` before sending anything (size, range, limit
/// checks), or nullopt. Shared with the differential mode, which then skips
/// the direct side.
[[nodiscard]] std::optional<std::string> port_precheck(const qtest_ops::ClientOp& op, bool virt);

/// The PCI address of a config op.
[[nodiscard]] port::PciAddress config_fn(const qtest_ops::ClientOp& op);
/// The CF8 value QtestPort writes last for a q35 config op (the server keeps it).
[[nodiscard]] std::uint32_t last_cf8(const qtest_ops::ClientOp& op);
/// The ECAM address QtestPort uses on arm virt for a config op.
[[nodiscard]] std::uint64_t ecam_address(const qtest_ops::ClientOp& op);
/// The extension line of a client Extension op.
[[nodiscard]] std::string client_extension_line(const qtest_ops::ClientOp& op);

/// QtestPort's documented behaviour, replayed on a known reply text.
class ScriptedPortModel {
 public:
  /// `text`: every line the peer will ever send. Lines end at "\n" (one
  /// trailing "\r" dropped); bytes after the last "\n" never form a line.
  /// `writes_fail`: the peer has closed, so every command fails to send.
  ScriptedPortModel(std::string_view text, bool virt, std::size_t window, std::size_t chunk, bool writes_fail = false);

  /// Predicts `op` and advances the model (replies consumed, IRQs, clock).
  PortOutcome apply(const qtest_ops::ClientOp& op);

  [[nodiscard]] const std::vector<qtest::IrqLine>& irqs() const noexcept { return irqs_; }
  [[nodiscard]] bool broken() const noexcept { return broken_; }
  [[nodiscard]] bool clock_supported() const noexcept { return clock_supported_; }
  [[nodiscard]] std::uint64_t clock_now() const noexcept { return clock_now_; }
  /// Reply lines not consumed yet (the seed generator splits a recording by it).
  [[nodiscard]] std::size_t lines_left() const noexcept { return lines_.size(); }

 private:
  /// The next reply (IRQ lines recorded); nullopt breaks the port.
  std::optional<qtest::Reply> next_reply();
  /// QtestPort::transact: replies, or nullopt with `out` set to the error.
  std::optional<std::vector<qtest::Reply>> transact(const std::vector<qtest::Command>& cmds, PortOutcome& out);
  std::optional<std::uint64_t> read_number(const std::vector<qtest::Command>& cmds, std::size_t which, unsigned size,
                                           bool width_checked, PortOutcome& out);
  void config(const qtest_ops::ClientOp& op, bool write, PortOutcome& out);
  void fail(PortOutcome& out, bool breaks);
  /// Sends `text` (false, port broken, when the peer is gone).
  bool send(const std::string& text, PortOutcome& out);

  std::deque<std::string> lines_;
  bool virt_;
  bool writes_fail_;
  std::size_t window_;
  std::size_t chunk_;
  std::vector<qtest::IrqLine> irqs_;
  bool broken_ = false;
  bool clock_supported_ = true;
  std::uint64_t clock_now_ = 0;
};

}  // namespace vmsg::fuzz

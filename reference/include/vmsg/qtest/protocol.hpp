// The qtest text protocol, as a pure codec: command lines, reply lines and
// the asynchronous IRQ lines, with typed errors for anything garbled.
//
// One line per command and one reply line per command ("OK ...", "FAIL ...",
// "ERR ..."); "IRQ raise N" / "IRQ lower N" may arrive between replies once
// an IRQ intercept is installed (amp-pci-device.md §9). No I/O here: the
// client (qtest/qtest_port.hpp) and the server (qtest/server.hpp) own the
// sockets. Formats follow what QEMU 7.2 answers (checked against the Debian
// binary): register reads reply "OK 0x%016x", port reads "OK 0x%04x".
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vmsg/common/result.hpp"

namespace vmsg::qtest {

/// Longest line either side accepts (a 64 KiB b64 chunk is ~87 KiB of text).
inline constexpr std::size_t kMaxLineBytes = 1U << 20;

/// Every command this codec knows.
enum class Op : std::uint8_t {
  ReadB, ReadW, ReadL, ReadQ,          ///< readX ADDR
  WriteB, WriteW, WriteL, WriteQ,      ///< writeX ADDR VALUE
  InB, InW, InL,                       ///< inX PORT
  OutB, OutW, OutL,                    ///< outX PORT VALUE
  Read, Write,                         ///< read ADDR LEN / write ADDR LEN 0xHEX
  B64Read, B64Write,                   ///< b64read ADDR LEN / b64write ADDR LEN BASE64
  Memset,                              ///< memset ADDR LEN BYTE
  ClockStep, ClockSet,                 ///< clock_step [NS] / clock_set NS
  IrqInterceptIn, IrqInterceptOut,     ///< irq_intercept_in/out QOM-PATH
  Endianness,                          ///< endianness
};

/// The command word of `op` ("readl", "b64write", ...).
[[nodiscard]] std::string_view op_name(Op op) noexcept;
/// Access width in bytes of a readX/writeX/inX/outX op; 0 for the others.
[[nodiscard]] unsigned op_width(Op op) noexcept;
/// readX/writeX/inX/outX for a width of 1, 2, 4 (or 8 for memory); ConfigError otherwise.
[[nodiscard]] Op read_op(unsigned width);
[[nodiscard]] Op write_op(unsigned width);
[[nodiscard]] Op in_op(unsigned width);
[[nodiscard]] Op out_op(unsigned width);

/// One command. Fields unused by an op stay at their defaults.
struct Command {
  Op op = Op::ReadB;
  std::uint64_t addr = 0;   ///< address or port
  std::uint64_t value = 0;  ///< writeX/outX value, memset byte, clock ns
  std::uint64_t len = 0;    ///< read/write/b64read/b64write/memset length
  bool has_value = false;   ///< clock_step with an explicit NS
  std::vector<std::uint8_t> data;  ///< write/b64write payload (len bytes)
  std::string path;                ///< irq_intercept QOM path
  friend bool operator==(const Command&, const Command&) = default;
};

/// Why a line was rejected.
enum class LineErrc : std::uint8_t {
  Empty,         ///< nothing but whitespace
  TooLong,       ///< longer than kMaxLineBytes
  UnknownOp,     ///< command word not known (QEMU answers FAIL)
  MissingField,  ///< fewer words than the op needs
  ExtraField,    ///< more words than the op takes
  BadNumber,     ///< not a number, or out of range for the field
  BadHex,        ///< hex payload malformed
  BadBase64,     ///< base64 payload malformed
  BadLength,     ///< a length of 0, above the limit, or not matching the payload
  BadWidth,      ///< value too wide for the access
  BadReply,      ///< reply line is neither OK, FAIL, ERR nor IRQ
};
[[nodiscard]] std::string_view to_string(LineErrc e) noexcept;

/// A rejected line: the code and a human-readable detail.
struct LineError {
  LineErrc code = LineErrc::Empty;
  std::string detail;
};

/// The command line for `c`, newline included. Throws ConfigError for a
/// command QEMU would assert on (zero length, payload size mismatch, a value
/// wider than the access, a port above 0xffff) or could not allocate for (a
/// length above kMaxLineBytes), so the client can never crash the peer by
/// accident; whatever it formats, parse_command reads back unchanged.
[[nodiscard]] std::string format_command(const Command& c);
/// Parses one command line (trailing "\n" / "\r\n" allowed). Numbers are
/// decimal or 0x-hex, as QEMU's qemu_strtou64 accepts.
[[nodiscard]] Result<Command, LineError> parse_command(std::string_view line);

/// A reply line.
struct Reply {
  enum class Kind : std::uint8_t { Ok, Fail, Err };
  Kind kind = Kind::Ok;
  std::vector<std::string> words;  ///< after "OK"
  std::string text;                ///< the rest of a FAIL/ERR line
  friend bool operator==(const Reply&, const Reply&) = default;
};

/// An asynchronous interrupt line ("IRQ raise 3").
struct IrqLine {
  bool raise = false;
  std::uint32_t line = 0;
  friend bool operator==(const IrqLine&, const IrqLine&) = default;
};

/// Anything a server sends.
using Incoming = std::variant<Reply, IrqLine>;
[[nodiscard]] Result<Incoming, LineError> parse_incoming(std::string_view line);

/// Reply payload accessors: the single number of "OK 0x..", the bytes of
/// "OK 0x<hex>" (read) or "OK <base64>" (b64read), which must be `len` long.
[[nodiscard]] Result<std::uint64_t, LineError> reply_number(const Reply& r);
[[nodiscard]] Result<std::vector<std::uint8_t>, LineError> reply_hex(const Reply& r, std::size_t len);
[[nodiscard]] Result<std::vector<std::uint8_t>, LineError> reply_base64(const Reply& r, std::size_t len);

/// Server-side reply lines, newline included, in QEMU's formats.
[[nodiscard]] std::string format_ok();
[[nodiscard]] std::string format_ok_word(std::string_view word);
[[nodiscard]] std::string format_ok_mem(std::uint64_t value);   ///< readX: "OK 0x%016x"
[[nodiscard]] std::string format_ok_port(std::uint64_t value);  ///< inX: "OK 0x%04x"
[[nodiscard]] std::string format_fail(std::string_view text);
[[nodiscard]] std::string format_err(std::string_view text);
[[nodiscard]] std::string format_irq(const IrqLine& irq);

/// Hex ("0x" + two lower-case digits per byte, in memory order) and RFC 4648
/// base64 with padding. Decoders reject anything else.
[[nodiscard]] std::string hex_encode(std::span<const std::uint8_t> bytes);
[[nodiscard]] Result<std::vector<std::uint8_t>, LineError> hex_decode(std::string_view text);
[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> bytes);
[[nodiscard]] Result<std::vector<std::uint8_t>, LineError> base64_decode(std::string_view text);

/// A number as QEMU reads it (strtoull, base 0): decimal, hex with a 0x
/// prefix, octal with a leading 0; full range of u64. Unlike QEMU, a sign is
/// refused (QEMU would wrap "-1" round to 2^64-1 or assert on it).
[[nodiscard]] Result<std::uint64_t, LineError> parse_number(std::string_view word);

}  // namespace vmsg::qtest

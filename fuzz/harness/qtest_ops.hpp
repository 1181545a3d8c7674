// fuzz_qtest's input format, shared by the target and the seed generator
// (tools/corpus_qtest.cpp), written once over common/stream_io.hpp.
//
// An input is a Setup (which side is fuzzed, port options, the scripted
// peer's reply text) followed by operations until the input runs out:
//   Server mode  ServerOps: raw lines, word-level hostile lines, commands made
//                by the protocol's own formatter, extension lines; each goes
//                to a qtest::Server over a fresh reference machine.
//   Client mode  ClientOps on a QtestPort whose peer answers with
//                Setup::peer_text (written before the first operation).
//   Diff mode    ClientOps on a QtestPort whose peer is the genuine Server
//                (own thread), and on an identical machine directly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vmsg::fuzz::qtest_ops {

enum class Mode : std::uint8_t { Server, Client, Diff };
inline constexpr std::uint8_t kModeCount = 3;

/// Bounds that keep one input cheap.
inline constexpr std::size_t kMaxServerOps = 64;
inline constexpr std::size_t kMaxClientOps = 256;
inline constexpr std::size_t kMaxLineText = 4096;   ///< raw line bytes
inline constexpr std::size_t kMaxPeerText = 16384;  ///< scripted reply text (fits a socket buffer)
inline constexpr std::size_t kMaxPayload = 512;     ///< write/mem_write bytes
inline constexpr std::uint8_t kMaxWindow = 8;
inline constexpr std::uint16_t kMaxChunk = 256;

/// The machine behind the server: 2 MiB of RAM (the first MiB reserved, as on
/// q35), so addresses are meaningful and a RAM access is cheap.
inline constexpr std::uint64_t kRamBytes = 2ULL << 20;
inline constexpr std::uint64_t kDriverRam = 1ULL << 20;
inline constexpr std::uint64_t kBarWindow = 0xE000'0000ULL;

/// What the scripted peer does once its text is written.
enum class PeerEnd : std::uint8_t {
  Eof,      ///< closes its sending side: reads past the text see EOF
  Silent,   ///< stays open and says nothing: reads time out (1 ms)
  Gone,     ///< closes the socket: the client's writes fail
  Endless,  ///< sends a line longer than kMaxLineBytes (from a thread), then EOF
};
inline constexpr std::uint8_t kPeerEndCount = 4;

struct Setup {
  std::uint8_t mode = 0;       ///< Mode
  bool extensions = true;      ///< server answers vmsg_* lines (RefExtensions)
  bool virt = false;           ///< client: arm virt layout (ECAM) instead of q35 (CF8/CFC)
  std::uint8_t peer = 0;       ///< client: after its text the peer (PeerEnd)
  std::uint8_t window = 4;     ///< QtestPortOptions::window (0 is refused by the port)
  std::uint16_t chunk = 64;    ///< QtestPortOptions::chunk_bytes (0 is refused)
  std::vector<std::uint8_t> peer_text;
};

template <class IO>
void io_setup(IO& io, Setup& s) {
  io.range(s.mode, std::uint8_t{0}, static_cast<std::uint8_t>(kModeCount - 1));
  io.flag(s.extensions);
  if (s.mode == static_cast<std::uint8_t>(Mode::Server)) return;
  io.flag(s.virt);
  io.range(s.peer, std::uint8_t{0}, static_cast<std::uint8_t>(kPeerEndCount - 1));
  io.range(s.window, std::uint8_t{0}, kMaxWindow);
  io.range(s.chunk, std::uint16_t{0}, kMaxChunk);
  if (s.mode != static_cast<std::uint8_t>(Mode::Client)) return;
  std::size_t n = s.peer_text.size();
  io.range(n, std::size_t{0}, kMaxPeerText);
  io.bytes(s.peer_text, n);
}

// ---- server side ------------------------------------------------------------------

/// How a number is written in a word-level hostile line.
enum class NumStyle : std::uint8_t {
  Hex, HexUpper, Decimal, LeadingZeros, Negative, Plus, EmptyHex, TimesTen, TwoToThe64, Hex17,
  Octal, Binary, TrailingJunk, Empty,
};
inline constexpr std::uint8_t kNumStyleCount = 14;

/// Values hostile lines like: field limits, widths, the line limit, RAM and BAR edges.
inline constexpr std::array<std::uint64_t, 18> kBoundaries{
    0, 1, 0xFF, 0x100, 0xFFFF, 0x10000, 0xFFFF'FFFFULL, 0x1'0000'0000ULL, 0x8000'0000'0000'0000ULL,
    ~0ULL, (1ULL << 20), (1ULL << 20) + 1, kRamBytes - 1, kRamBytes, kBarWindow, 0xCF8, 0xCFC, kDriverRam};

/// A number field: a boundary, an offset into driver RAM, or any u64.
struct Number {
  std::uint8_t source = 0;  ///< 0 boundary, 1 RAM offset, 2 literal
  std::uint64_t raw = 0;
  std::uint8_t style = 0;   ///< NumStyle (hostile lines only)
};

template <class IO>
void io_number(IO& io, Number& n, bool styled) {
  io.range(n.source, std::uint8_t{0}, std::uint8_t{2});
  if (n.source == 0) {
    io.range(n.raw, std::uint64_t{0}, std::uint64_t{kBoundaries.size() - 1});
  } else if (n.source == 1) {
    io.range(n.raw, std::uint64_t{0}, std::uint64_t{0xFFFFF});
  } else {
    io.any(n.raw);
  }
  if (styled) io.range(n.style, std::uint8_t{0}, static_cast<std::uint8_t>(kNumStyleCount - 1));
}

/// The value a Number stands for.
inline std::uint64_t value_of(const Number& n) {
  if (n.source == 0) return kBoundaries[static_cast<std::size_t>(n.raw % kBoundaries.size())];
  if (n.source == 1) return kDriverRam + n.raw;
  return n.raw;
}

enum class ServerKind : std::uint8_t {
  Raw,        ///< text as is
  Hostile,    ///< a command word (or a mangled one) and styled numbers/payload, odd spacing
  Formatted,  ///< a Command through format_command: round trip, then (RAM) write/read-back
  Extension,  ///< vmsg_stimulus / vmsg_violations / another vmsg_ word, with argument text
};
inline constexpr std::uint8_t kServerKindCount = 4;

/// Number of qtest::Op values (protocol.hpp).
inline constexpr std::uint8_t kOpCount = 24;

struct ServerOp {
  std::uint8_t kind = 0;  ///< ServerKind
  std::vector<std::uint8_t> text;  ///< Raw line / Extension arguments / Hostile payload bytes
  std::uint8_t op = 0;             ///< qtest::Op (Hostile, Formatted); Extension: verb
  std::uint8_t name_mangle = 0;    ///< Hostile: 0 as is, 1 upper case, 2 suffix, 3 prefix
  std::uint8_t words = 0;          ///< Hostile: argument count (0..5)
  std::uint8_t spacing = 0;        ///< Hostile: 0 one space, 1 tabs, 2 runs, 3 leading blanks + CRLF
  std::uint8_t payload = 0;        ///< Hostile: 0 hex, 1 base64, 2 hex odd, 3 hex bad digit, 4 b64 bad, 5 no 0x
  std::array<Number, 3> nums{};
  bool flag = false;               ///< Formatted: clock_step with a value
};

template <class IO>
void io_text(IO& io, std::vector<std::uint8_t>& t, std::size_t max) {
  std::size_t n = t.size();
  io.range(n, std::size_t{0}, max);
  io.bytes(t, n);
}

/// The fields of a Formatted op (also a client's Command op).
template <class IO>
void io_formatted(IO& io, ServerOp& op) {
  io.range(op.op, std::uint8_t{0}, static_cast<std::uint8_t>(kOpCount - 1));
  for (Number& n : op.nums) io_number(io, n, false);
  io.flag(op.flag);
  io_text(io, op.text, kMaxPayload);
}

template <class IO>
void io_server_op(IO& io, ServerOp& op) {
  io.range(op.kind, std::uint8_t{0}, static_cast<std::uint8_t>(kServerKindCount - 1));
  switch (static_cast<ServerKind>(op.kind)) {
    case ServerKind::Raw:
      io_text(io, op.text, kMaxLineText);
      break;
    case ServerKind::Hostile:
      io.range(op.op, std::uint8_t{0}, static_cast<std::uint8_t>(kOpCount - 1));
      io.range(op.name_mangle, std::uint8_t{0}, std::uint8_t{3});
      io.range(op.words, std::uint8_t{0}, std::uint8_t{5});
      io.range(op.spacing, std::uint8_t{0}, std::uint8_t{3});
      io.range(op.payload, std::uint8_t{0}, std::uint8_t{5});
      for (Number& n : op.nums) io_number(io, n, true);
      io_text(io, op.text, kMaxPayload);
      break;
    case ServerKind::Formatted:
      io_formatted(io, op);
      break;
    case ServerKind::Extension:
      io.range(op.op, std::uint8_t{0}, std::uint8_t{2});
      io_text(io, op.text, 256);
      break;
  }
}

// ---- client side ------------------------------------------------------------------

enum class ClientKind : std::uint8_t {
  ConfigRead, ConfigWrite, MmioRead, MmioWrite, MemRead, MemWrite, AdvanceTime, PortIn, PortOut, Command, Extension,
};
inline constexpr std::uint8_t kClientKindCount = 11;

/// One call on the port. Addresses are a base (driver RAM, BAR window, zero)
/// plus an offset, so recorded driver traffic and mutations stay near real places.
struct ClientOp {
  std::uint8_t kind = 0;  ///< ClientKind
  std::uint8_t device = 0, function = 0, bus = 0;  ///< config (device/function may be out of range)
  std::uint16_t offset = 0;  ///< config offset
  std::uint8_t size = 0;     ///< access size 0..9
  std::uint8_t base = 0;     ///< 0 driver RAM, 1 BAR window, 2 absolute
  std::uint64_t addr = 0;
  std::uint64_t value = 0;
  std::uint16_t len = 0;     ///< mem_read length
  std::vector<std::uint8_t> data;  ///< mem_write bytes / extension text
  ServerOp command;               ///< Command: a Formatted server op's fields
};

inline std::uint64_t address_of(const ClientOp& op) {
  if (op.base == 0) return kDriverRam + op.addr;
  if (op.base == 1) return kBarWindow + op.addr;
  return op.addr;
}

template <class IO>
void io_client_op(IO& io, ClientOp& op) {
  io.range(op.kind, std::uint8_t{0}, static_cast<std::uint8_t>(kClientKindCount - 1));
  auto where = [&] {
    io.range(op.base, std::uint8_t{0}, std::uint8_t{2});
    if (op.base == 2) {
      io.any(op.addr);
    } else {
      io.range(op.addr, std::uint64_t{0}, std::uint64_t{0xFFFF'FFFF});
    }
  };
  switch (static_cast<ClientKind>(op.kind)) {
    case ClientKind::ConfigRead:
    case ClientKind::ConfigWrite:
      io.range(op.bus, std::uint8_t{0}, std::uint8_t{1});
      io.range(op.device, std::uint8_t{0}, std::uint8_t{40});
      io.range(op.function, std::uint8_t{0}, std::uint8_t{9});
      io.any(op.offset);
      io.range(op.size, std::uint8_t{0}, std::uint8_t{9});
      if (op.kind == static_cast<std::uint8_t>(ClientKind::ConfigWrite)) io.any(op.value);
      break;
    case ClientKind::MmioRead:
    case ClientKind::MmioWrite:
      where();
      io.range(op.size, std::uint8_t{0}, std::uint8_t{9});
      if (op.kind == static_cast<std::uint8_t>(ClientKind::MmioWrite)) io.any(op.value);
      break;
    case ClientKind::MemRead:
      where();
      io.range(op.len, std::uint16_t{0}, static_cast<std::uint16_t>(kMaxPayload));
      break;
    case ClientKind::MemWrite:
      where();
      io_text(io, op.data, kMaxPayload);
      break;
    case ClientKind::AdvanceTime:
      io.any(op.value);
      break;
    case ClientKind::PortIn:
    case ClientKind::PortOut:
      io.any(op.offset);
      io.range(op.size, std::uint8_t{0}, std::uint8_t{9});
      if (op.kind == static_cast<std::uint8_t>(ClientKind::PortOut)) io.any(op.value);
      break;
    case ClientKind::Command:
      op.command.kind = static_cast<std::uint8_t>(ServerKind::Formatted);
      io_formatted(io, op.command);
      break;
    case ClientKind::Extension:
      io_text(io, op.data, 256);
      break;
  }
}

}  // namespace vmsg::fuzz::qtest_ops

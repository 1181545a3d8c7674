#include "vmsg/qtest/protocol.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <initializer_list>

#include "vmsg/common/errors.hpp"

namespace vmsg::qtest {
namespace {

struct OpInfo {
  Op op;
  std::string_view name;
  unsigned width;
};

constexpr std::array<OpInfo, 24> kOps{{
    {Op::ReadB, "readb", 1},   {Op::ReadW, "readw", 2},   {Op::ReadL, "readl", 4},
    {Op::ReadQ, "readq", 8},   {Op::WriteB, "writeb", 1}, {Op::WriteW, "writew", 2},
    {Op::WriteL, "writel", 4}, {Op::WriteQ, "writeq", 8}, {Op::InB, "inb", 1},
    {Op::InW, "inw", 2},       {Op::InL, "inl", 4},       {Op::OutB, "outb", 1},
    {Op::OutW, "outw", 2},     {Op::OutL, "outl", 4},     {Op::Read, "read", 0},
    {Op::Write, "write", 0},   {Op::B64Read, "b64read", 0}, {Op::B64Write, "b64write", 0},
    {Op::Memset, "memset", 0}, {Op::ClockStep, "clock_step", 0}, {Op::ClockSet, "clock_set", 0},
    {Op::IrqInterceptIn, "irq_intercept_in", 0}, {Op::IrqInterceptOut, "irq_intercept_out", 0},
    {Op::Endianness, "endianness", 0},
}};

/// Concatenation by append: GCC 12 at -O3 warns (-Wrestrict, a false
/// positive) on `"literal" + std::string` temporaries.
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (std::string_view p : parts) s.append(p);
  return s;
}

Err<LineError> fail(LineErrc c, std::string detail) { return Err{LineError{c, std::move(detail)}}; }

std::string_view strip_eol(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// Splits on spaces/tabs, as QEMU's g_strsplit(" ") would after collapsing runs.
std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_mem_read(Op op) { return op == Op::ReadB || op == Op::ReadW || op == Op::ReadL || op == Op::ReadQ; }
bool is_mem_write(Op op) { return op == Op::WriteB || op == Op::WriteW || op == Op::WriteL || op == Op::WriteQ; }
bool is_in(Op op) { return op == Op::InB || op == Op::InW || op == Op::InL; }
bool is_out(Op op) { return op == Op::OutB || op == Op::OutW || op == Op::OutL; }

std::uint64_t width_mask(unsigned width) { return width >= 8 ? ~0ULL : (1ULL << (8U * width)) - 1U; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string hex_word(std::uint64_t v, int digits) {
  std::array<char, 32> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), "0x%0*llx", digits, static_cast<unsigned long long>(v));
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

}  // namespace

std::string_view op_name(Op op) noexcept {
  for (const OpInfo& i : kOps) {
    if (i.op == op) return i.name;
  }
  return "?";
}

unsigned op_width(Op op) noexcept {
  for (const OpInfo& i : kOps) {
    if (i.op == op) return i.width;
  }
  return 0;
}

Op read_op(unsigned width) {
  switch (width) {
    case 1: return Op::ReadB;
    case 2: return Op::ReadW;
    case 4: return Op::ReadL;
    case 8: return Op::ReadQ;
    default: throw ConfigError("qtest: no read of width " + std::to_string(width));
  }
}
Op write_op(unsigned width) {
  switch (width) {
    case 1: return Op::WriteB;
    case 2: return Op::WriteW;
    case 4: return Op::WriteL;
    case 8: return Op::WriteQ;
    default: throw ConfigError("qtest: no write of width " + std::to_string(width));
  }
}
Op in_op(unsigned width) {
  switch (width) {
    case 1: return Op::InB;
    case 2: return Op::InW;
    case 4: return Op::InL;
    default: throw ConfigError("qtest: no port read of width " + std::to_string(width));
  }
}
Op out_op(unsigned width) {
  switch (width) {
    case 1: return Op::OutB;
    case 2: return Op::OutW;
    case 4: return Op::OutL;
    default: throw ConfigError("qtest: no port write of width " + std::to_string(width));
  }
}

std::string_view to_string(LineErrc e) noexcept {
  switch (e) {
    case LineErrc::Empty: return "empty line";
    case LineErrc::TooLong: return "line too long";
    case LineErrc::UnknownOp: return "unknown command";
    case LineErrc::MissingField: return "missing field";
    case LineErrc::ExtraField: return "extra field";
    case LineErrc::BadNumber: return "bad number";
    case LineErrc::BadHex: return "bad hex payload";
    case LineErrc::BadBase64: return "bad base64 payload";
    case LineErrc::BadLength: return "bad length";
    case LineErrc::BadWidth: return "value too wide";
    case LineErrc::BadReply: return "bad reply";
  }
  return "?";
}

Result<std::uint64_t, LineError> parse_number(std::string_view w) {
  int base = 10;
  std::string_view digits = w;
  if (w.size() > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) {
    base = 16;
    digits = w.substr(2);
  } else if (w.size() > 1 && w[0] == '0') {
    base = 8;  // QEMU reads with base 0 (strtoull): a leading 0 means octal
    digits = w.substr(1);
  }
  if (digits.empty()) return fail(LineErrc::BadNumber, cat({"'", w, "' is not a number"}));
  std::uint64_t v = 0;
  const char* end = digits.data() + digits.size();
  auto [p, ec] = std::from_chars(digits.data(), end, v, base);
  if (ec != std::errc{} || p != end) return fail(LineErrc::BadNumber, cat({"'", w, "' is not a u64"}));
  return v;
}

// ---- payload codecs -----------------------------------------------------------

std::string hex_encode(std::span<const std::uint8_t> bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string s = "0x";
  s.reserve(2 + 2 * bytes.size());
  for (std::uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 0xF]);
  }
  return s;
}

Result<std::vector<std::uint8_t>, LineError> hex_decode(std::string_view t) {
  if (t.size() < 2 || t[0] != '0' || (t[1] != 'x' && t[1] != 'X')) return fail(LineErrc::BadHex, "no 0x prefix");
  t.remove_prefix(2);
  if (t.size() % 2 != 0) return fail(LineErrc::BadHex, "odd number of hex digits");
  std::vector<std::uint8_t> out(t.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(t[2 * i]);
    const int lo = hex_digit(t[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail(LineErrc::BadHex, "non-hex digit at byte " + std::to_string(i));
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  static constexpr std::string_view kAlpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  s.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
    s.push_back(kAlpha[v >> 18 & 63]);
    s.push_back(kAlpha[v >> 12 & 63]);
    s.push_back(kAlpha[v >> 6 & 63]);
    s.push_back(kAlpha[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest != 0) {
    std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
    s.push_back(kAlpha[v >> 18 & 63]);
    s.push_back(kAlpha[v >> 12 & 63]);
    s.push_back(rest == 2 ? kAlpha[v >> 6 & 63] : '=');
    s.push_back('=');
  }
  return s;
}

Result<std::vector<std::uint8_t>, LineError> base64_decode(std::string_view t) {
  if (t.size() % 4 != 0) return fail(LineErrc::BadBase64, "length not a multiple of 4");
  std::vector<std::uint8_t> out;
  out.reserve(t.size() / 4 * 3);
  for (std::size_t i = 0; i < t.size(); i += 4) {
    const bool last = i + 4 == t.size();
    std::array<int, 4> v{};
    unsigned pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = t[i + k];
      if (c == '=' && last && k >= 2) {
        ++pad;
        v[k] = 0;
        continue;
      }
      if (pad != 0) return fail(LineErrc::BadBase64, "data after padding");
      v[k] = b64_value(c);
      if (v[k] < 0) return fail(LineErrc::BadBase64, "invalid character at " + std::to_string(i + k));
    }
    const auto w = static_cast<std::uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out.push_back(static_cast<std::uint8_t>(w >> 16));
    if (pad < 2) out.push_back(static_cast<std::uint8_t>(w >> 8 & 0xFF));
    if (pad < 1) out.push_back(static_cast<std::uint8_t>(w & 0xFF));
    // Non-canonical encodings (bits set under the padding) are refused: they
    // cannot come from a correct encoder and would hide corruption.
    if ((pad == 2 && (w & 0xFFFF) != 0) || (pad == 1 && (w & 0xFF) != 0)) {
      return fail(LineErrc::BadBase64, "non-zero bits under padding");
    }
  }
  return out;
}

// ---- commands ---------------------------------------------------------------------

std::string format_command(const Command& c) {
  const std::string name(op_name(c.op));
  const unsigned w = op_width(c.op);
  auto need_len = [&] {
    if (c.len == 0) throw ConfigError("qtest: " + name + " with length 0 (QEMU asserts on it)");
    // QEMU allocates the length at once (and aborts when it cannot); parse_command refuses it too.
    if (c.len > kMaxLineBytes) throw ConfigError("qtest: " + name + " length above " + std::to_string(kMaxLineBytes));
  };
  // QEMU asserts port <= 0xffff for inX/outX; parse_command refuses it too.
  if ((is_in(c.op) || is_out(c.op)) && c.addr > 0xFFFF) throw ConfigError("qtest: " + name + " port above 0xffff");
  std::string s = name;
  if (is_mem_read(c.op) || is_in(c.op)) {
    s += cat({" ", hex_word(c.addr, 0)});
  } else if (is_mem_write(c.op) || is_out(c.op)) {
    if ((c.value & ~width_mask(w)) != 0) throw ConfigError("qtest: value too wide for " + name);
    s += cat({" ", hex_word(c.addr, 0), " ", hex_word(c.value, 0)});
  } else {
    switch (c.op) {
      case Op::Read:
      case Op::B64Read:
        need_len();
        s += cat({" ", hex_word(c.addr, 0), " ", hex_word(c.len, 0)});
        break;
      case Op::Write:
      case Op::B64Write:
        need_len();
        if (c.data.size() != c.len) throw ConfigError("qtest: " + name + " payload size differs from its length");
        s += cat({" ", hex_word(c.addr, 0), " ", hex_word(c.len, 0), " ",
                  c.op == Op::Write ? hex_encode(c.data) : base64_encode(c.data)});
        break;
      case Op::Memset:
        need_len();
        if (c.value > 0xFF) throw ConfigError("qtest: memset byte above 0xff");
        s += cat({" ", hex_word(c.addr, 0), " ", hex_word(c.len, 0), " ", hex_word(c.value, 0)});
        break;
      case Op::ClockStep:
        if (c.has_value) s += cat({" ", std::to_string(c.value)});
        break;
      case Op::ClockSet:
        s += cat({" ", std::to_string(c.value)});
        break;
      case Op::IrqInterceptIn:
      case Op::IrqInterceptOut:
        if (c.path.empty() || c.path.find_first_of(" \t\r\n") != std::string::npos) {
          throw ConfigError("qtest: " + name + " needs a path without blanks");
        }
        s += cat({" ", c.path});
        break;
      default:
        break;
    }
  }
  s += "\n";
  return s;
}

Result<Command, LineError> parse_command(std::string_view line) {
  if (line.size() > kMaxLineBytes) return fail(LineErrc::TooLong, std::to_string(line.size()) + " bytes");
  const std::vector<std::string_view> w = split_words(strip_eol(line));
  if (w.empty()) return fail(LineErrc::Empty, "");
  Command c;
  bool known = false;
  for (const OpInfo& i : kOps) {
    if (i.name == w[0]) {
      c.op = i.op;
      known = true;
    }
  }
  if (!known) return fail(LineErrc::UnknownOp, std::string(w[0]));

  const std::string name(w[0]);
  std::size_t want_min = 1;
  std::size_t want_max = 1;
  if (is_mem_read(c.op) || is_in(c.op)) {
    want_min = want_max = 2;
  } else if (is_mem_write(c.op) || is_out(c.op)) {
    want_min = want_max = 3;
  } else if (c.op == Op::Read || c.op == Op::B64Read) {
    want_min = want_max = 3;
  } else if (c.op == Op::Write || c.op == Op::B64Write || c.op == Op::Memset) {
    want_min = want_max = 4;
  } else if (c.op == Op::ClockStep) {
    want_max = 2;
  } else if (c.op == Op::ClockSet || c.op == Op::IrqInterceptIn || c.op == Op::IrqInterceptOut) {
    want_min = want_max = 2;
  }
  if (w.size() < want_min) return fail(LineErrc::MissingField, name + " needs " + std::to_string(want_min - 1) + " argument(s)");
  if (w.size() > want_max) return fail(LineErrc::ExtraField, name + " takes " + std::to_string(want_max - 1) + " argument(s)");

  auto num = [&](std::size_t i) { return parse_number(w[i]); };
  if (c.op == Op::IrqInterceptIn || c.op == Op::IrqInterceptOut) {
    c.path = std::string(w[1]);
    return c;
  }
  if (c.op == Op::Endianness) return c;
  if (c.op == Op::ClockStep || c.op == Op::ClockSet) {
    if (w.size() == 2) {
      auto n = num(1);
      if (!n) return Err{n.error()};
      c.value = *n;
      c.has_value = true;
    }
    return c;
  }
  auto a = num(1);
  if (!a) return Err{a.error()};
  c.addr = *a;
  if (is_mem_read(c.op) || is_in(c.op)) {
    if (is_in(c.op) && c.addr > 0xFFFF) return fail(LineErrc::BadNumber, "port above 0xffff");
    return c;
  }
  auto b = num(2);
  if (!b) return Err{b.error()};
  if (is_mem_write(c.op) || is_out(c.op)) {
    if (is_out(c.op) && c.addr > 0xFFFF) return fail(LineErrc::BadNumber, "port above 0xffff");
    if ((*b & ~width_mask(op_width(c.op))) != 0) return fail(LineErrc::BadWidth, name + " value " + std::string(w[2]));
    c.value = *b;
    return c;
  }
  c.len = *b;
  if (c.len == 0 || c.len > kMaxLineBytes) return fail(LineErrc::BadLength, name + " length " + std::string(w[2]));
  if (c.op == Op::Read || c.op == Op::B64Read) return c;
  if (c.op == Op::Memset) {
    auto v = num(3);
    if (!v) return Err{v.error()};
    if (*v > 0xFF) return fail(LineErrc::BadWidth, "memset byte " + std::string(w[3]));
    c.value = *v;
    return c;
  }
  auto d = c.op == Op::Write ? hex_decode(w[3]) : base64_decode(w[3]);
  if (!d) return Err{d.error()};
  // QEMU zero-fills a short hex payload; a longer one, or a base64 payload of
  // another size, is refused here (QEMU would silently truncate).
  if (c.op == Op::Write && d->size() < c.len) d->resize(c.len, 0);
  if (d->size() != c.len) {
    return fail(LineErrc::BadLength, name + " payload is " + std::to_string(d->size()) + " bytes, length says " +
                                         std::to_string(c.len));
  }
  c.data = std::move(*d);
  return c;
}

// ---- replies ----------------------------------------------------------------------

Result<Incoming, LineError> parse_incoming(std::string_view line) {
  if (line.size() > kMaxLineBytes) return fail(LineErrc::TooLong, std::to_string(line.size()) + " bytes");
  const std::string_view s = strip_eol(line);
  const std::vector<std::string_view> w = split_words(s);
  if (w.empty()) return fail(LineErrc::Empty, "");
  if (w[0] == "OK") {
    Reply r;
    for (std::size_t i = 1; i < w.size(); ++i) r.words.emplace_back(w[i]);
    return Incoming{std::move(r)};
  }
  if (w[0] == "FAIL" || w[0] == "ERR") {
    Reply r;
    r.kind = w[0] == "FAIL" ? Reply::Kind::Fail : Reply::Kind::Err;
    const std::size_t at = s.find(w[0]) + w[0].size();
    std::string_view rest = s.substr(at);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    r.text = std::string(rest);
    return Incoming{std::move(r)};
  }
  if (w[0] == "IRQ") {
    if (w.size() != 3 || (w[1] != "raise" && w[1] != "lower")) {
      return fail(LineErrc::BadReply, cat({"malformed IRQ line '", s.substr(0, 80), "'"}));
    }
    auto n = parse_number(w[2]);
    if (!n || *n > 0xFFFFFFFFULL) return fail(LineErrc::BadNumber, cat({"IRQ line number '", w[2], "'"}));
    return Incoming{IrqLine{w[1] == "raise", static_cast<std::uint32_t>(*n)}};
  }
  return fail(LineErrc::BadReply, cat({"'", s.substr(0, 80), "'"}));
}

Result<std::uint64_t, LineError> reply_number(const Reply& r) {
  if (r.kind != Reply::Kind::Ok) return fail(LineErrc::BadReply, "not OK: " + r.text);
  if (r.words.size() != 1) return fail(LineErrc::BadReply, "expected one value, got " + std::to_string(r.words.size()));
  return parse_number(r.words[0]);
}

Result<std::vector<std::uint8_t>, LineError> reply_hex(const Reply& r, std::size_t len) {
  if (r.kind != Reply::Kind::Ok) return fail(LineErrc::BadReply, "not OK: " + r.text);
  if (r.words.size() != 1) return fail(LineErrc::BadReply, "expected one payload");
  auto d = hex_decode(r.words[0]);
  if (d && d->size() != len) return fail(LineErrc::BadLength, "got " + std::to_string(d->size()) + " bytes, wanted " + std::to_string(len));
  return d;
}

Result<std::vector<std::uint8_t>, LineError> reply_base64(const Reply& r, std::size_t len) {
  if (r.kind != Reply::Kind::Ok) return fail(LineErrc::BadReply, "not OK: " + r.text);
  if (r.words.size() != 1) return fail(LineErrc::BadReply, "expected one payload");
  auto d = base64_decode(r.words[0]);
  if (d && d->size() != len) return fail(LineErrc::BadLength, "got " + std::to_string(d->size()) + " bytes, wanted " + std::to_string(len));
  return d;
}

std::string format_ok() { return "OK\n"; }
std::string format_ok_word(std::string_view word) { return cat({"OK ", word, "\n"}); }
std::string format_ok_mem(std::uint64_t v) { return cat({"OK ", hex_word(v, 16), "\n"}); }
std::string format_ok_port(std::uint64_t v) { return cat({"OK ", hex_word(v, 4), "\n"}); }
std::string format_fail(std::string_view t) { return cat({"FAIL ", t, "\n"}); }
std::string format_err(std::string_view t) { return cat({"ERR ", t, "\n"}); }
std::string format_irq(const IrqLine& irq) {
  return std::string("IRQ ") + (irq.raise ? "raise " : "lower ") + std::to_string(irq.line) + "\n";
}

}  // namespace vmsg::qtest

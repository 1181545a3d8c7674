#include "vmsg/qtest/json.hpp"

#include <cstdio>
#include <limits>

namespace vmsg::qtest::json {
namespace {

/// A recursive-descent reader over one text; every failure is a ParseError.
class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  Value document() {
    Value v = value(0);
    skip_ws();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw ParseError(what, i_); }

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  char peek() {
    skip_ws();
    if (i_ >= s_.size()) fail("unexpected end of input");
    return s_[i_];
  }

  void expect_word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) fail("invalid literal");
    i_ += w.size();
  }

  Value value(unsigned depth) {
    if (depth >= kMaxDepth) fail("nesting too deep");
    const char c = peek();
    switch (c) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return string();
      case 't': expect_word("true"); return true;
      case 'f': expect_word("false"); return false;
      case 'n': expect_word("null"); return nullptr;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        fail(std::string("unexpected character '") + (c >= 0x20 && c < 0x7F ? std::string(1, c) : "?") + "'");
    }
  }

  Value object(unsigned depth) {
    ++i_;  // '{'
    Object o;
    if (peek() == '}') {
      ++i_;
      return o;
    }
    for (;;) {
      if (peek() != '"') fail("expected a member name");
      std::string key = string();
      if (peek() != ':') fail("expected ':'");
      ++i_;
      Value v = value(depth + 1);
      o.emplace_back(std::move(key), std::move(v));
      const char c = peek();
      ++i_;
      if (c == '}') return o;
      if (c != ',') fail("expected ',' or '}'");
    }
  }

  Value array(unsigned depth) {
    ++i_;  // '['
    Array a;
    if (peek() == ']') {
      ++i_;
      return a;
    }
    for (;;) {
      a.push_back(value(depth + 1));
      const char c = peek();
      ++i_;
      if (c == ']') return a;
      if (c != ',') fail("expected ',' or ']'");
    }
  }

  Value number() {
    const bool neg = s_[i_] == '-';
    if (neg) ++i_;
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') fail("expected a digit");
    if (s_[i_] == '0' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9') fail("leading zero");
    // Accumulated as a negative number, whose range includes INT64_MIN.
    std::int64_t acc = 0;
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      const int d = s_[i_] - '0';
      if (acc < (kMin + d) / 10) fail("integer out of range");
      acc = acc * 10 - d;
      ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) fail("non-integer numbers are not supported");
    if (!neg) {
      if (acc == kMin) fail("integer out of range");
      acc = -acc;
    }
    return acc;
  }

  unsigned hex4() {
    if (s_.size() - i_ < 4) fail("truncated \\u escape");
    unsigned u = 0;
    for (int k = 0; k < 4; ++k, ++i_) {
      const char c = s_[i_];
      u <<= 4;
      if (c >= '0' && c <= '9') u |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') u |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') u |= static_cast<unsigned>(c - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return u;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++i_;  // '"'
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            // A high surrogate must be followed by its low half.
            if (s_.substr(i_, 2) != "\\u") fail("lone high surrogate");
            i_ += 2;
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("lone low surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default: --i_; fail("unknown escape");
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void write(std::string& out, const Value& v) {
  if (v.is_null()) {
    out += "null";
  } else if (const bool* b = v.as_bool()) {
    out += *b ? "true" : "false";
  } else if (const std::int64_t* i = v.as_int()) {
    out += std::to_string(*i);
  } else if (const std::string* s = v.as_string()) {
    write_string(out, *s);
  } else if (const Array* a = v.as_array()) {
    out += '[';
    for (std::size_t k = 0; k < a->size(); ++k) {
      if (k != 0) out += ", ";
      write(out, (*a)[k]);
    }
    out += ']';
  } else if (const Object* o = v.as_object()) {
    out += '{';
    for (std::size_t k = 0; k < o->size(); ++k) {
      if (k != 0) out += ", ";
      write_string(out, (*o)[k].first);
      out += ": ";
      write(out, (*o)[k].second);
    }
    out += '}';
  }
}

}  // namespace

const Value* Value::find(std::string_view key) const noexcept {
  const Object* o = as_object();
  if (o == nullptr) return nullptr;
  const Value* hit = nullptr;
  for (const auto& [k, val] : *o) {
    if (k == key) hit = &val;
  }
  return hit;
}

Value parse(std::string_view text) { return Reader(text).document(); }

std::string dump(const Value& value) {
  std::string out;
  write(out, value);
  return out;
}

}  // namespace vmsg::qtest::json

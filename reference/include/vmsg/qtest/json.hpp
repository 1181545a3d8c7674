// A minimal JSON value, reader and writer: what QMP needs (objects, arrays,
// strings with escapes, integers, true/false/null) and nothing more. Pure,
// so both the QMP client and vmsg-ref-qtest's QMP server share it and it can
// be fuzzed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace vmsg::qtest::json {

struct Value;
using Array = std::vector<Value>;
/// Members in the order written (QMP never repeats a key; a repeated key reads as the last one).
using Object = std::vector<std::pair<std::string, Value>>;

/// One JSON value. Numbers are integers only: QMP's replies and arguments
/// that we use never carry fractions.
struct Value {
  std::variant<std::nullptr_t, bool, std::int64_t, std::string, Array, Object> v;

  Value() : v(nullptr) {}
  Value(std::nullptr_t) : v(nullptr) {}                         // NOLINT: implicit by design
  Value(bool b) : v(b) {}                                       // NOLINT
  Value(std::int64_t i) : v(i) {}                               // NOLINT
  Value(int i) : v(std::int64_t{i}) {}                          // NOLINT
  Value(std::string s) : v(std::move(s)) {}                     // NOLINT
  Value(const char* s) : v(std::string(s)) {}                   // NOLINT
  Value(Array a) : v(std::move(a)) {}                           // NOLINT
  Value(Object o) : v(std::move(o)) {}                          // NOLINT

  [[nodiscard]] bool is_null() const noexcept { return std::holds_alternative<std::nullptr_t>(v); }
  [[nodiscard]] const bool* as_bool() const noexcept { return std::get_if<bool>(&v); }
  [[nodiscard]] const std::int64_t* as_int() const noexcept { return std::get_if<std::int64_t>(&v); }
  [[nodiscard]] const std::string* as_string() const noexcept { return std::get_if<std::string>(&v); }
  [[nodiscard]] const Array* as_array() const noexcept { return std::get_if<Array>(&v); }
  [[nodiscard]] const Object* as_object() const noexcept { return std::get_if<Object>(&v); }
  /// The member `key` of an object (the last one if repeated), or nullptr.
  [[nodiscard]] const Value* find(std::string_view key) const noexcept;

  friend bool operator==(const Value&, const Value&) = default;
};

/// Why a text is not a JSON value we accept; `offset` is where reading stopped.
class ParseError : public std::runtime_error {
 public:
  ParseError(const std::string& what, std::size_t offset)
      : std::runtime_error("JSON: " + what + " at offset " + std::to_string(offset)), offset_(offset) {}
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

/// Nesting deeper than this is refused (bounds the reader's recursion).
inline constexpr unsigned kMaxDepth = 64;

/// Parses exactly one value (surrounding whitespace allowed). Throws ParseError.
[[nodiscard]] Value parse(std::string_view text);
/// Compact text on one line (control characters escaped, non-ASCII bytes as is).
[[nodiscard]] std::string dump(const Value& value);

}  // namespace vmsg::qtest::json

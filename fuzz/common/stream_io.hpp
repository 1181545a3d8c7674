// Two directions of one input format.
//
// Structure-aware targets decode their input with FuzzedDataProvider. The
// seed generator (tools/make_corpus.cpp) must produce inputs that decode to
// exactly the operations it means, so every input format is written once, as
// a function template over an IO type, and instantiated twice:
//   FdpReader   fills the fields from a FuzzedDataProvider (the target);
//   FdpWriter   emits the bytes that make FuzzedDataProvider return the
//               fields' current values (the generator).
// Calls mirror FuzzedDataProvider exactly: integers come from the END of the
// input (most significant byte first, as many bytes as the range needs),
// byte strings from the FRONT. A format that only uses range/any/flag/bytes
// therefore round-trips by construction.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

namespace vmsg::fuzz {

/// Reads fields from a FuzzedDataProvider.
class FdpReader {
 public:
  static constexpr bool kReading = true;
  explicit FdpReader(FuzzedDataProvider& p) : p_(p) {}

  template <typename T>
  void range(T& v, T lo, T hi) {
    v = p_.ConsumeIntegralInRange<T>(lo, hi);
  }
  template <typename T>
  void any(T& v) {
    v = p_.ConsumeIntegral<T>();
  }
  void flag(bool& b) { b = p_.ConsumeBool(); }
  /// Up to `n` bytes from the front (fewer at the end of the input).
  void bytes(std::vector<std::uint8_t>& b, std::size_t n) { b = p_.ConsumeBytes<std::uint8_t>(n); }
  [[nodiscard]] bool more() const { return p_.remaining_bytes() > 0; }

 private:
  FuzzedDataProvider& p_;
};

/// Builds an input that FdpReader reads back as the values given.
class FdpWriter {
 public:
  static constexpr bool kReading = false;

  template <typename T>
  void range(T& v, T lo, T hi) {
    static_assert(std::is_integral_v<T>);
    if (v < lo || v > hi) throw std::logic_error("FdpWriter: value outside its range");
    // Same byte count as ConsumeIntegralInRange: one byte per 8 bits of range.
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    const std::uint64_t val = static_cast<std::uint64_t>(v) - static_cast<std::uint64_t>(lo);
    unsigned n = 0;
    while (n < sizeof(T) && n < 8 && (span >> (8 * n)) > 0) ++n;
    for (unsigned i = n; i-- > 0;) tail_.push_back(static_cast<std::uint8_t>(val >> (8 * i)));
  }
  template <typename T>
  void any(T& v) {
    range(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  }
  void flag(bool& b) {
    std::uint8_t x = b ? 1 : 0;
    any(x);
  }
  void bytes(std::vector<std::uint8_t>& b, std::size_t n) {
    if (b.size() != n) throw std::logic_error("FdpWriter: byte string length differs from its length field");
    front_.insert(front_.end(), b.begin(), b.end());
  }
  [[nodiscard]] static bool more() { return true; }

  /// The input: front bytes, then the integer bytes in reverse read order.
  [[nodiscard]] std::vector<std::uint8_t> finish() const {
    std::vector<std::uint8_t> out = front_;
    out.insert(out.end(), tail_.rbegin(), tail_.rend());
    return out;
  }

 private:
  std::vector<std::uint8_t> front_;
  std::vector<std::uint8_t> tail_;
};

}  // namespace vmsg::fuzz

// A minimal value-or-error type (std::expected is C++23; we target C++20).
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace vmsg {

/// Wraps an error value so Result<T, E> can be built from it unambiguously.
template <typename E>
struct Err {
  E error;
};
template <typename E>
Err(E) -> Err<E>;

/// Holds either a value of type T or an error of type E. Accessing the wrong
/// alternative is a programming error (asserts in debug builds).
template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  template <typename E2>
  Result(Err<E2> e) : v_(std::in_place_index<1>, E(std::move(e.error))) {}  // NOLINT(implicit)

  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  [[nodiscard]] T& value() & { assert(ok()); return std::get<0>(v_); }
  [[nodiscard]] const T& value() const& { assert(ok()); return std::get<0>(v_); }
  [[nodiscard]] T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  [[nodiscard]] const E& error() const { assert(!ok()); return std::get<1>(v_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, E> v_;
};

}  // namespace vmsg

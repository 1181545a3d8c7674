// Opaque saved state of a model object (save/restore, e.g. of the endpoints
// behind a bus: target::ReferenceTarget::save). A state is a value: it is
// never changed once made, so copies share it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "vmsg/common/errors.hpp"

namespace vmsg::snapshot {

/// Base of every saved state. Concrete states are Value<T>; the owner is the
/// object that saved it, the one object that may restore it (a state may
/// refer to its owner's internals, e.g. a virtqueue's memory view).
class State {
 public:
  explicit State(const void* owner) noexcept : owner_(owner) {}
  virtual ~State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  [[nodiscard]] const void* owner() const noexcept { return owner_; }

 private:
  const void* owner_;
};

/// A state holding a plain value of type T.
template <typename T>
class Value final : public State {
 public:
  Value(const void* owner, T v) : State(owner), value(std::move(v)) {}
  const T value;
};

/// How saved states are passed around: shared and immutable.
using Handle = std::shared_ptr<const State>;

/// Wraps `value`, saved by `owner`.
template <typename T>
[[nodiscard]] Handle make(const void* owner, T value) {
  return std::make_shared<const Value<T>>(owner, std::move(value));
}

/// The T inside `h` when `owner` saved it; SnapshotError naming `who`
/// otherwise (empty handle, another object's state, another type's).
template <typename T>
[[nodiscard]] const T& get(const Handle& h, const void* owner, std::string_view who) {
  const auto* v = dynamic_cast<const Value<T>*>(h.get());
  if (v == nullptr) throw SnapshotError(std::string(who) + ": the saved state is not one of this type");
  if (v->owner() != owner) throw SnapshotError(std::string(who) + ": the saved state belongs to another object");
  return v->value;
}

/// SnapshotError for an object of kind `who` that cannot save its state.
[[noreturn]] inline void unsupported(std::string_view who) {
  throw SnapshotError(std::string(who) + " cannot save or restore its state");
}

}  // namespace vmsg::snapshot

// Helpers shared by the bind_<area>.cpp files: keyword-constructible plain
// structs, bytes conversions, and the mapping of Result errors to the Python
// exceptions named in conformance/README.md ("Native module naming rule").
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "vmsg/common/result.hpp"
#include "vmsg/driver/fifo_link.hpp"
#include "vmsg/driver/virtio_error.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::pyb {

namespace py = pybind11;

/// One bindings call per area; module.cpp calls them in dependency order.
void bind_wire(py::module_& m);
void bind_fifo(py::module_& m);
void bind_pci(py::module_& m);
void bind_port(py::module_& m);
void bind_bus(py::module_& m);
void bind_amp(py::module_& m);
void bind_virtqueue(py::module_& m);
void bind_transport(py::module_& m);
void bind_devices(py::module_& m);
void bind_machine(py::module_& m);
void bind_target(py::module_& m);
void bind_driver(py::module_& m);
void bind_fault(py::module_& m);
void bind_monitor(py::module_& m);

/// The exception types the Result mapping raises. Created once at import by
/// module.cpp; the handles stay valid for the interpreter's lifetime because
/// the module keeps a reference to each type.
struct ErrorTypes {
  py::handle link_failure;
  py::handle virtio_failure;
  py::handle decode_failure;
  py::handle encode_failure;
};
ErrorTypes& error_types();

// ---- bytes ------------------------------------------------------------------

inline py::bytes to_bytes(std::span<const std::uint8_t> data) {
  return py::bytes(reinterpret_cast<const char*>(data.data()), data.size());
}

/// Bytes from bytes, bytearray, memoryview or any iterable of ints 0..255.
inline std::vector<std::uint8_t> from_bytes(const py::handle& obj) {
  if (py::isinstance<py::bytes>(obj)) {
    const std::string_view s = obj.cast<std::string_view>();
    return {s.begin(), s.end()};
  }
  if (py::isinstance<py::bytearray>(obj) || py::isinstance<py::memoryview>(obj)) {
    return from_bytes(py::bytes(py::reinterpret_steal<py::object>(PyBytes_FromObject(obj.ptr()))));
  }
  std::vector<std::uint8_t> out;
  for (const py::handle item : obj) {
    const int v = item.cast<int>();
    if (v < 0 || v > 255) throw py::value_error("byte value out of range: " + std::to_string(v));
    out.push_back(static_cast<std::uint8_t>(v));
  }
  return out;
}

// ---- Result -> exception -------------------------------------------------------

/// Builds an instance of `type` with `msg` and the given attributes (not raised).
py::object make_error(py::handle type, const std::string& msg);

[[noreturn]] void raise_link(driver::LinkError e);
[[noreturn]] void raise_virtio(const driver::VirtioError& e);
[[noreturn]] void raise_decode(const wire::DecodeFailure& f);
[[noreturn]] void raise_encode(wire::EncodeError e);
/// The DecodeFailure exception object for `f`, not raised (FifoLink.last_failure).
py::object decode_failure_object(const wire::DecodeFailure& f);

inline void raise_error(driver::LinkError e) { raise_link(e); }
inline void raise_error(const driver::VirtioError& e) { raise_virtio(e); }
inline void raise_error(const wire::DecodeFailure& f) { raise_decode(f); }
inline void raise_error(wire::EncodeError e) { raise_encode(e); }

/// The value of a Result, or the matching Python exception.
template <typename T, typename E>
T unwrap(Result<T, E>&& r) {
  if (!r.ok()) raise_error(r.error());
  return std::move(r).value();
}
/// For Result<Unit, E>: raises or returns nothing.
template <typename T, typename E>
void check(Result<T, E>&& r) {
  if (!r.ok()) raise_error(r.error());
}

// ---- plain structs ------------------------------------------------------------

/// A named data member of T, for bind_struct.
template <typename T, typename M>
struct Field {
  const char* name;
  M T::*ptr;
};
template <typename T, typename M>
Field<T, M> field(const char* name, M T::*ptr) {
  return {name, ptr};
}

template <typename V>
struct is_variant : std::false_type {};
template <typename... A>
struct is_variant<std::variant<A...>> : std::true_type {};

/// Sets a variant member from Python by the exact type of the value, looked
/// up among the alternatives' Python types (taken once, at binding time).
/// pybind11's variant caster tries the alternatives in order instead, and
/// each miss raises and swallows an AttributeError (its foreign-module
/// probe): about 8 us for a late alternative such as PingReq, more than the
/// rest of a PING round trip over qtest.
template <typename V>
class VariantSetter {
 public:
  VariantSetter() : VariantSetter(std::make_index_sequence<std::variant_size_v<V>>{}) {}

  /// False when `h`'s type is none of the alternatives (the caller falls back).
  bool assign(V& out, const py::handle& h) const {
    const PyObject* type = reinterpret_cast<PyObject*>(Py_TYPE(h.ptr()));
    for (std::size_t k = 0; k < types_.size(); ++k) {
      if (types_[k] != nullptr && types_[k] == type) {
        setters_[k](out, h);
        return true;
      }
    }
    return false;
  }

 private:
  using Set = void (*)(V&, const py::handle&);

  template <std::size_t... I>
  explicit VariantSetter(std::index_sequence<I...>)
      : types_{type_of<std::variant_alternative_t<I, V>>()...},
        setters_{[](V& out, const py::handle& h) { out = h.cast<const std::variant_alternative_t<I, V>&>(); }...} {}

  template <typename A>
  static PyObject* type_of() {
    const py::handle t = py::detail::get_type_handle(typeid(A), false);
    return t.ptr();  // null when A is not a bound class: never matches
  }

  std::array<PyObject*, std::variant_size_v<V>> types_;
  std::array<Set, std::variant_size_v<V>> setters_;
};

template <typename C, typename T, typename M>
void add_field(C& cls, const Field<T, M>& f) {
  if constexpr (std::is_same_v<M, std::vector<std::uint8_t>>) {
    // Byte vectors read and write as bytes, not as lists of ints.
    auto ptr = f.ptr;
    cls.def_property(
        f.name, [ptr](const T& self) { return to_bytes(self.*ptr); },
        [ptr](T& self, const py::object& v) { self.*ptr = from_bytes(v); });
  } else if constexpr (is_variant<M>::value) {
    // Variants read as a copy of the held alternative: a reference would
    // dangle as soon as the member is assigned another alternative.
    auto ptr = f.ptr;
    cls.def_property(
        f.name, [ptr](const T& self) { return M(self.*ptr); },
        [ptr, name = std::string(f.name), fast = VariantSetter<M>()](T& self, const py::object& v) {
          if (fast.assign(self.*ptr, v)) return;
          try {
            self.*ptr = v.cast<M>();  // anything else: pybind11's rules
          } catch (const py::cast_error&) {
            throw py::type_error("cannot set " + name + " from " + std::string(py::str(py::type::of(v))));
          }
        });
  } else {
    cls.def_readwrite(f.name, f.ptr);
  }
}

/// Binds a plain struct: a read/write attribute per field, a constructor that
/// takes the fields positionally (in the order given) or by keyword, with the
/// C++ default for the rest, a repr listing every field, and == when T has it.
template <typename T, typename... Ms>
py::class_<T> bind_struct(py::handle scope, const char* name, const char* doc, Field<T, Ms>... fields) {
  py::class_<T> cls(scope, name, doc);
  (add_field(cls, fields), ...);
  std::vector<std::string> names{fields.name...};
  const std::string type_name = name;
  cls.def(py::init([names, type_name](const py::args& args, const py::kwargs& kwargs) {
    T value{};
    py::object obj = py::cast(&value, py::return_value_policy::reference);
    if (args.size() > names.size()) {
      throw py::type_error(type_name + "() takes at most " + std::to_string(names.size()) + " positional arguments");
    }
    for (std::size_t i = 0; i < args.size(); ++i) obj.attr(names[i].c_str()) = args[i];
    for (const auto& kv : kwargs) {
      const std::string key = py::str(kv.first);
      if (std::find(names.begin(), names.end(), key) == names.end()) {
        throw py::type_error(type_name + "() got an unexpected keyword argument '" + key + "'");
      }
      obj.attr(key.c_str()) = kv.second;
    }
    return value;
  }));
  cls.def("__repr__", [names, type_name](const py::object& self) {
    std::string s = type_name + "(";
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i != 0) s += ", ";
      s += names[i] + "=" + std::string(py::repr(self.attr(names[i].c_str())));
    }
    return s + ")";
  });
  cls.def("_fields", [names](const py::object&) { return names; });
  if constexpr (std::equality_comparable<T>) {
    cls.def("__eq__", [](const T& a, const T& b) { return a == b; }, py::is_operator());
    cls.def("__ne__", [](const T& a, const T& b) { return !(a == b); }, py::is_operator());
    cls.attr("__hash__") = py::none();
  }
  cls.def("__copy__", [](const T& self) { return T(self); });
  cls.def("__deepcopy__", [](const T& self, const py::object&) { return T(self); });
  return cls;
}

/// Binds a counters struct read-only: attributes, repr and as_dict().
template <typename T, typename... Ms>
py::class_<T> bind_stats(py::handle scope, const char* name, const char* doc, Field<T, Ms>... fields) {
  py::class_<T> cls = bind_struct<T>(scope, name, doc, fields...);
  std::vector<std::string> names{fields.name...};
  cls.def("as_dict", [names](const py::object& self) {
    py::dict d;
    for (const std::string& n : names) d[n.c_str()] = self.attr(n.c_str());
    return d;
  });
  return cls;
}

/// Sets integer constants on a scope: consts(m, {{"kA", 1}, ...}).
inline void consts(py::handle scope, std::initializer_list<std::pair<const char*, std::uint64_t>> values) {
  for (const auto& [n, v] : values) scope.attr(n) = py::int_(v);
}

}  // namespace vmsg::pyb

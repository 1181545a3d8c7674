// vmsg::port: the Port interface (subclassable from Python), PciAddress,
// AddressMap and PortError.
#include <cstdio>

#include "common.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::pyb {

namespace {

using port::AddressMap;
using port::PciAddress;
using port::Port;

/// Lets a Python class implement Port: C++ callers (drivers) reach the
/// Python methods. Bulk memory goes through bytes: mem_read(addr, length)
/// returns bytes, mem_write(addr, data) takes bytes.
class PyPort : public Port {
 public:
  std::uint32_t config_read(PciAddress fn, std::uint16_t offset, unsigned size) override {
    PYBIND11_OVERRIDE_PURE(std::uint32_t, Port, config_read, fn, offset, size);
  }
  void config_write(PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override {
    PYBIND11_OVERRIDE_PURE(void, Port, config_write, fn, offset, size, value);
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    PYBIND11_OVERRIDE_PURE(std::uint64_t, Port, mmio_read, addr, size);
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    PYBIND11_OVERRIDE_PURE(void, Port, mmio_write, addr, size, value);
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    py::gil_scoped_acquire gil;
    py::function f = py::get_override(static_cast<const Port*>(this), "mem_read");
    if (!f) throw PortError("Port.mem_read is not implemented by the Python port");
    const std::vector<std::uint8_t> data = from_bytes(f(addr, out.size()));
    if (data.size() != out.size()) {
      throw PortError("Port.mem_read returned " + std::to_string(data.size()) + " bytes, " +
                      std::to_string(out.size()) + " were asked for");
    }
    std::copy(data.begin(), data.end(), out.begin());
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    py::gil_scoped_acquire gil;
    py::function f = py::get_override(static_cast<const Port*>(this), "mem_write");
    if (!f) throw PortError("Port.mem_write is not implemented by the Python port");
    f(addr, to_bytes(data));
  }
  void advance_time(std::uint64_t ns) override { PYBIND11_OVERRIDE_PURE(void, Port, advance_time, ns); }
  [[nodiscard]] AddressMap address_map() const override {
    PYBIND11_OVERRIDE_PURE(AddressMap, Port, address_map, );
  }
};

}  // namespace

void bind_port(py::module_& m) {
  py::register_exception<PortError>(m, "PortError", PyExc_RuntimeError);

  bind_struct<PciAddress>(m, "PciAddress", "bus/device/function of a PCI function",
                          field("bus", &PciAddress::bus), field("device", &PciAddress::device),
                          field("function", &PciAddress::function))
      .def("__lt__", [](const PciAddress& a, const PciAddress& b) { return a < b; })
      .def("__hash__", [](const PciAddress& a) { return (a.bus << 16) | (a.device << 8) | a.function; })
      .def("__str__", [](const PciAddress& a) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%02x:%02x.%x", a.bus, a.device, a.function);
        return std::string(buf);
      });
  bind_struct<AddressMap>(m, "AddressMap", "free guest RAM and the BAR window of a target",
                          field("ram_base", &AddressMap::ram_base), field("ram_size", &AddressMap::ram_size),
                          field("mmio_base", &AddressMap::mmio_base), field("mmio_size", &AddressMap::mmio_size));

  py::class_<Port, PyPort>(m, "Port",
                           "Target-neutral access to a machine. Subclass it in Python to write a target.")
      .def(py::init<>())
      .def("config_read", &Port::config_read, py::arg("fn"), py::arg("offset"), py::arg("size"))
      .def("config_write", &Port::config_write, py::arg("fn"), py::arg("offset"), py::arg("size"), py::arg("value"))
      .def("mmio_read", &Port::mmio_read, py::arg("addr"), py::arg("size"))
      .def("mmio_write", &Port::mmio_write, py::arg("addr"), py::arg("size"), py::arg("value"))
      .def(
          "mem_read",
          [](Port& p, std::uint64_t addr, std::size_t length) {
            std::vector<std::uint8_t> out(length);
            p.mem_read(addr, out);
            return to_bytes(out);
          },
          py::arg("addr"), py::arg("length"), "length bytes of guest memory at addr, as bytes")
      .def(
          "mem_write", [](Port& p, std::uint64_t addr, const py::object& data) { p.mem_write(addr, from_bytes(data)); },
          py::arg("addr"), py::arg("data"))
      .def("advance_time", &Port::advance_time, py::arg("ns"))
      .def("address_map", &Port::address_map);
}

}  // namespace vmsg::pyb

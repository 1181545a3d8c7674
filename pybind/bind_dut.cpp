// vmsg::dut: LibPort (a port over a DUT shared library, vmsg_dut.h) and the
// configuration grammar every library takes. Registered by module.cpp after
// the machine submodule, whose MsiRecord and MachineStats it returns.
#include "common.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/dut/config.hpp"
#include "vmsg/dut/lib_port.hpp"

namespace vmsg::pyb {

void bind_dut(py::module_& m) {
  using dut::LibPort;
  m.attr("ABI_MAJOR") = VMSG_DUT_ABI_MAJOR;
  m.attr("ABI_MINOR") = VMSG_DUT_ABI_MINOR;
  // True when this module also exports vmsg_dut_get_api (the pip build links
  // the reference DUT in), so `lib:ref` can load the module file itself.
#ifdef VMSG_MODULE_IS_REF_DUT
  m.attr("MODULE_IS_REF_DUT") = true;
#else
  m.attr("MODULE_IS_REF_DUT") = false;
#endif

  py::class_<LibPort, port::Port>(m, "LibPort",
                                  "port over a device-under-test shared library (vmsg_dut.h); "
                                  "raises port.PortError when the library cannot be loaded or refuses the config")
      .def(py::init([](const std::string& path, const std::string& config, std::uint64_t ram_size) {
             return std::make_unique<LibPort>(path, dut::LibPortOptions{.config = config, .ram_size = ram_size});
           }),
           py::arg("path"), py::arg("config") = "", py::arg("ram_size") = std::uint64_t{128} << 20)
      .def("library_name", [](const LibPort& p) { return p.library().name(); })
      .def("library_path", [](const LibPort& p) { return p.library().path(); })
      .def("config", [](const LibPort& p) { return p.options().config; })
      .def("now_ns", &LibPort::now_ns)
      .def("stats", &LibPort::stats, py::return_value_policy::copy)
      .def("reset_stats", &LibPort::reset_stats)
      .def("msi_log", &LibPort::msi_log, py::return_value_policy::copy)
      .def("clear_msi_log", &LibPort::clear_msi_log)
      .def("log", &LibPort::log, py::return_value_policy::copy, "lines the library logged, oldest first")
      .def("has_stimulus", &LibPort::has_stimulus, "the library offers the optional stimulus entry (ABI 1.1)")
      .def("stimulus", &LibPort::stimulus, py::arg("action"),
           "runs a stimulus action; False when the library cannot do it (PortError when absent or failing)")
      .def("has_violations", &LibPort::has_violations, "the library offers the optional violations entry (ABI 1.1)")
      .def("peek_violations", &LibPort::peek_violations, py::return_value_policy::copy,
           "violation lines fetched since the last take/clear, oldest first")
      .def("take_violations", &LibPort::take_violations, "as peek_violations, and forgets them")
      .def("clear_violations", &LibPort::clear_violations, "drops the lines here and in the library");

  m.def(
      "library_name",
      [](const std::string& path) { return dut::Library::open(path)->name(); }, py::arg("path"),
      "loads and checks a DUT library (PortError when unusable) and returns its self-description");
  m.def(
      "normalise_config", [](const std::string& text) { return dut::format_config(dut::parse_config(text)); },
      py::arg("text"), "the canonical form of a configuration string (ValueError when malformed)");
}

}  // namespace vmsg::pyb

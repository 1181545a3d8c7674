// vmsg::pci: the PCI device interface, the generic function, its config
// space and MSI-X state (read helpers for white-box checks on the reference).
#include "common.hpp"
#include "vmsg/pci/config_space.hpp"
#include "vmsg/pci/function.hpp"
#include "vmsg/pci/msix.hpp"
#include "vmsg/pci/pci_device.hpp"

namespace vmsg::pyb {

void bind_pci(py::module_& m) {
  using namespace vmsg::pci;

  bind_struct<BarMapping>(m, "BarMapping", "a decoded memory BAR", field("base", &BarMapping::base),
                          field("size", &BarMapping::size));
  bind_struct<PciIdentity>(m, "PciIdentity", "read-only identity registers",
                           field("vendor_id", &PciIdentity::vendor_id), field("device_id", &PciIdentity::device_id),
                           field("revision", &PciIdentity::revision), field("class_code", &PciIdentity::class_code),
                           field("subsystem_vendor_id", &PciIdentity::subsystem_vendor_id),
                           field("subsystem_id", &PciIdentity::subsystem_id));
  bind_struct<MsixEntry>(m, "MsixEntry", "one MSI-X table entry", field("address", &MsixEntry::address),
                         field("data", &MsixEntry::data), field("vector_control", &MsixEntry::vector_control))
      .def("masked", &MsixEntry::masked);
  bind_stats<MsixStats>(m, "MsixStats", "MSI-X counters", field("delivered", &MsixStats::delivered),
                        field("lost", &MsixStats::lost), field("set_pending", &MsixStats::set_pending),
                        field("out_of_range", &MsixStats::out_of_range),
                        field("ignored_accesses", &MsixStats::ignored_accesses));

  py::class_<ConfigSpace>(m, "ConfigSpace", "a type-0 configuration header (owned by its function)")
      .def("read", &ConfigSpace::read, py::arg("offset"), py::arg("size"))
      .def("command", &ConfigSpace::command)
      .def("status", &ConfigSpace::status)
      .def("memory_enabled", &ConfigSpace::memory_enabled)
      .def("bus_master", &ConfigSpace::bus_master)
      .def("intx_disabled", &ConfigSpace::intx_disabled)
      .def("bar_address", &ConfigSpace::bar_address, py::arg("bar"))
      .def("find_capability", &ConfigSpace::find_capability, py::arg("id"))
      .def("ignored_accesses", &ConfigSpace::ignored_accesses);

  py::class_<Msix>(m, "Msix", "MSI-X capability, table and PBA of a function (owned by it)")
      .def("vectors", &Msix::vectors)
      .def("bir", &Msix::bir)
      .def("capability_offset", &Msix::capability_offset)
      .def("pba_offset", &Msix::pba_offset)
      .def("enabled", &Msix::enabled)
      .def("function_masked", &Msix::function_masked)
      .def("entry", &Msix::entry, py::arg("vector"))
      .def("pending", &Msix::pending, py::arg("vector"))
      .def("stats", &Msix::stats, py::return_value_policy::copy)
      .def("ignores_mask", &Msix::ignores_mask);

  py::class_<PciDevice, std::shared_ptr<PciDevice>>(m, "PciDevice", "a PCI function as the host bridge sees it")
      .def("config_read", &PciDevice::config_read, py::arg("offset"), py::arg("size"))
      .def("config_write", &PciDevice::config_write, py::arg("offset"), py::arg("size"), py::arg("value"))
      .def("bar_mapping", &PciDevice::bar_mapping, py::arg("bar"))
      .def("bar_read", &PciDevice::bar_read, py::arg("bar"), py::arg("offset"), py::arg("size"))
      .def("bar_write", &PciDevice::bar_write, py::arg("bar"), py::arg("offset"), py::arg("size"), py::arg("value"))
      .def("advance_time", &PciDevice::advance_time, py::arg("ns"));

  py::class_<PciFunction, PciDevice, std::shared_ptr<PciFunction>>(m, "PciFunction",
                                                                   "config space + optional MSI-X")
      .def("config", py::overload_cast<>(&PciFunction::config), py::return_value_policy::reference_internal)
      .def("msix", py::overload_cast<>(&PciFunction::msix), py::return_value_policy::reference_internal)
      .def("notify", &PciFunction::notify, py::arg("vector"))
      .def("reset", &PciFunction::reset);
}

}  // namespace vmsg::pyb

// vmsg::machine: the in-process q35-shaped machine (a Port) and its counters.
#include "common.hpp"
#include "vmsg/machine/machine.hpp"

namespace vmsg::pyb {

void bind_machine(py::module_& m) {
  using namespace vmsg::machine;

  bind_struct<MachineConfig>(m, "MachineConfig", "machine construction parameters",
                             field("ram_size", &MachineConfig::ram_size));
  bind_struct<MsiRecord>(m, "MsiRecord", "one MSI that landed in RAM", field("addr", &MsiRecord::addr),
                         field("data", &MsiRecord::data), field("time_ns", &MsiRecord::time_ns),
                         field("source", &MsiRecord::source));
  bind_stats<MachineStats>(m, "MachineStats", "machine counters",
                           field("unbacked_reads", &MachineStats::unbacked_reads),
                           field("unbacked_writes", &MachineStats::unbacked_writes),
                           field("unbacked_bulk_bytes", &MachineStats::unbacked_bulk_bytes),
                           field("dma_faults", &MachineStats::dma_faults),
                           field("stray_msis", &MachineStats::stray_msis), field("msis", &MachineStats::msis));

  py::class_<Machine, port::Port> cls(m, "Machine", "the in-process machine: RAM, ECAM and PCI functions on bus 0");
  cls.def(py::init<MachineConfig>(), py::arg("config") = MachineConfig{})
      .def("plug", &Machine::plug, py::arg("where"), py::arg("device"))
      .def("device", &Machine::device, py::arg("where"))
      .def("now_ns", &Machine::now_ns)
      .def("stats", &Machine::stats, py::return_value_policy::copy)
      .def("reset_stats", &Machine::reset_stats)
      .def("msi_log", &Machine::msi_log, py::return_value_policy::copy)
      .def("clear_msi_log", &Machine::clear_msi_log)
      .def("ram_size", [](const Machine& mc) { return mc.ram().size(); })
      .def(
          "ram_read",
          [](const Machine& mc, std::uint64_t addr, std::size_t length) -> py::object {
            std::vector<std::uint8_t> out(length);
            if (!mc.ram().read(addr, out)) return py::none();
            return to_bytes(out);
          },
          py::arg("addr"), py::arg("length"), "RAM bytes, or None when not entirely inside RAM")
      .def(
          "ram_write",
          [](Machine& mc, std::uint64_t addr, const py::object& data) { return mc.ram().write(addr, from_bytes(data)); },
          py::arg("addr"), py::arg("data"));
  consts(cls, {{"kEcamBase", Machine::kEcamBase},
               {"kEcamSize", Machine::kEcamSize},
               {"kMmioBase", Machine::kMmioBase},
               {"kMmioEnd", Machine::kMmioEnd},
               {"kDriverRamBase", Machine::kDriverRamBase},
               {"kConfigSpaceSize", Machine::kConfigSpaceSize}});
}

}  // namespace vmsg::pyb

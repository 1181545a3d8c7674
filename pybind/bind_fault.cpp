// vmsg::fault: the named fault modes of the reference (common/faults.hpp).
#include <algorithm>

#include "common.hpp"
#include "vmsg/common/faults.hpp"

namespace vmsg::pyb {

void bind_fault(py::module_& m) {
  using namespace vmsg::fault;
  py::enum_<Fault> e(m, "Fault", "every fault mode");
  for (const FaultInfo& fi : all_faults()) {
    // Python names are the kebab-case names with '_' (valid identifiers).
    std::string n(fi.name);
    std::replace(n.begin(), n.end(), '-', '_');
    e.value(n.c_str(), fi.fault);
  }
  consts(m, {{"kFaultCount", kFaultCount}});

  py::class_<FaultInfo>(m, "FaultInfo", "facts about one fault")
      .def_readonly("fault", &FaultInfo::fault)
      .def_property_readonly("name", [](const FaultInfo& f) { return std::string(f.name); })
      .def_property_readonly("summary", [](const FaultInfo& f) { return std::string(f.summary); })
      .def_property_readonly("breaks", [](const FaultInfo& f) { return std::string(f.breaks); })
      .def_property_readonly("modelled_on", [](const FaultInfo& f) { return std::string(f.modelled_on); })
      .def_property_readonly("profiles", [](const FaultInfo& f) { return std::string(f.profiles); },
                             "space-separated wire profiles the fault is judged under")
      .def("__repr__", [](const FaultInfo& f) { return "FaultInfo(" + std::string(f.name) + ")"; });
  m.def("all_faults", [] { return std::vector<FaultInfo>(all_faults().begin(), all_faults().end()); });
  m.def("info", &info, py::arg("fault"), py::return_value_policy::copy);
  m.def("parse", &parse, py::arg("name"));

  py::class_<FaultSetInfo>(m, "FaultSetInfo", "a named group of faults, accepted wherever a fault name is")
      .def_property_readonly("name", [](const FaultSetInfo& s) { return std::string(s.name); })
      .def_property_readonly("summary", [](const FaultSetInfo& s) { return std::string(s.summary); })
      .def_property_readonly("members",
                             [](const FaultSetInfo& s) {
                               std::vector<std::string> names;
                               for (const Fault f : s.members) names.emplace_back(info(f).name);
                               return names;
                             },
                             "the member fault names, in table order")
      .def("__repr__", [](const FaultSetInfo& s) { return "FaultSetInfo(" + std::string(s.name) + ")"; });
  // The table is static: references into it stay valid for the process.
  m.def("all_fault_sets", [] {
    std::vector<const FaultSetInfo*> out;
    for (const FaultSetInfo& s : all_fault_sets()) out.push_back(&s);
    return out;
  }, py::return_value_policy::reference);
  m.def("find_fault_set", &find_fault_set, py::arg("name"), py::return_value_policy::reference,
        "the set with this name, or None");

  py::class_<FaultSet>(m, "FaultSet", "a set of active faults (empty = the conforming reference)")
      .def(py::init<>())
      .def_static("parse_list", &FaultSet::parse_list, py::arg("names"),
                  "comma-separated names; ValueError naming an unknown entry")
      .def_static("of", &FaultSet::of, py::arg("set"), "the members of a FaultSetInfo")
      .def("has", &FaultSet::has, py::arg("fault"))
      .def("set", &FaultSet::set, py::arg("fault"), py::arg("on") = true, py::return_value_policy::reference_internal)
      .def("empty", &FaultSet::empty)
      .def("to_string", &FaultSet::to_string)
      .def("__str__", &FaultSet::to_string)
      .def("__repr__", [](const FaultSet& s) { return "FaultSet('" + s.to_string() + "')"; })
      .def("__eq__", [](const FaultSet& a, const FaultSet& b) { return a == b; }, py::is_operator());
}

}  // namespace vmsg::pyb

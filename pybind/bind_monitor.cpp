// The validating reference (transport/validating_endpoint.hpp and
// driver_rules.hpp), bound into the transport submodule: the rule table, the
// violation log and the endpoint decorator that fills it.
#include "common.hpp"
#include "vmsg/transport/driver_rules.hpp"
#include "vmsg/transport/validating_endpoint.hpp"

namespace vmsg::pyb {

void bind_monitor(py::module_& m) {
  using namespace vmsg::transport;

  bind_struct<RuleViolation>(m, "RuleViolation", "one broken driver rule", field("rule", &RuleViolation::rule),
                             field("dev_num", &RuleViolation::dev_num), field("kind", &RuleViolation::kind),
                             field("detail", &RuleViolation::detail))
      .def("__str__", [](const RuleViolation& v) { return to_string(v); });

  py::enum_<RuleCheckPoint>(m, "RuleCheckPoint", "which layer of the reference performs a check")
      .value("Endpoint", RuleCheckPoint::Endpoint)
      .value("Bus", RuleCheckPoint::Bus)
      .value("Registers", RuleCheckPoint::Registers)
      .value("Backend", RuleCheckPoint::Backend);
  m.def("check_point_name", [](RuleCheckPoint p) { return std::string(to_string(p)); }, py::arg("point"));

  py::class_<DriverRuleInfo>(m, "DriverRuleInfo", "one check of the validating reference")
      .def_property_readonly("rule", [](const DriverRuleInfo& i) { return std::string(i.rule); })
      .def_readonly("where", &DriverRuleInfo::where)
      .def_property_readonly("checks", [](const DriverRuleInfo& i) { return std::string(i.checks); })
      .def("__repr__", [](const DriverRuleInfo& i) {
        return "DriverRuleInfo(" + std::string(i.rule) + ", " + std::string(to_string(i.where)) + ")";
      });
  m.def("checked_driver_rules", [] {
    const auto rules = checked_driver_rules();
    return std::vector<DriverRuleInfo>(rules.begin(), rules.end());
  });
  m.def(
      "checked_driver_rules_for",
      [](wire::Layout layout) {
        const auto rules = checked_driver_rules(layout);
        return std::vector<DriverRuleInfo>(rules.begin(), rules.end());
      },
      py::arg("layout"), "the checks under a profile's layout (REV1: R1-* IDs)");

  bind_struct<ValidationProfile>(m, "ValidationProfile", "which draft's driver rules a validator checks",
                                 field("layout", &ValidationProfile::layout),
                                 field("strict_config_generation", &ValidationProfile::strict_config_generation));

  py::class_<DriverRuleLog, bus::DriverRuleSink, std::shared_ptr<DriverRuleLog>>(
      m, "DriverRuleLog", "append-only record of driver-rule violations")
      .def(py::init<>())
      .def("record", &DriverRuleLog::record, py::arg("violation"))
      .def("violations",
           [](const DriverRuleLog& l) {
             const auto v = l.violations();
             return std::vector<RuleViolation>(v.begin(), v.end());
           })
      .def("size", &DriverRuleLog::size)
      .def("__len__", &DriverRuleLog::size)
      .def("empty", &DriverRuleLog::empty)
      .def("count", [](const DriverRuleLog& l, const std::string& rule) { return l.count(rule); }, py::arg("rule"))
      .def("rules", &DriverRuleLog::rules)
      .def("clear", &DriverRuleLog::clear);

  py::class_<ValidatingEndpoint, bus::Endpoint, std::shared_ptr<ValidatingEndpoint>>(
      m, "ValidatingEndpoint", "endpoint decorator recording the driver rules the driver breaks")
      .def(py::init<std::shared_ptr<bus::Endpoint>, std::shared_ptr<DriverRuleLog>, ValidationProfile>(),
           py::arg("inner"), py::arg("log"), py::arg("profile") = ValidationProfile{})
      .def("inner", &ValidatingEndpoint::inner, py::return_value_policy::reference_internal)
      .def("log", &ValidatingEndpoint::log)
      .def("reported_status", &ValidatingEndpoint::reported_status)
      .def("negotiated_features", &ValidatingEndpoint::negotiated_features)
      .def("profile", &ValidatingEndpoint::profile);
}

}  // namespace vmsg::pyb

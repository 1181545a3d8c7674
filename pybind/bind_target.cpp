// vmsg::target: the embedded reference target (machine + amp device +
// endpoints, owned together) and its specification.
#include "common.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/driver_rules.hpp"

namespace vmsg::pyb {

void bind_target(py::module_& m) {
  using namespace vmsg::target;

  bind_struct<DeviceSlot>(m, "DeviceSlot", "one device behind the amp function", field("fifo", &DeviceSlot::fifo),
                          field("dev_num", &DeviceSlot::dev_num), field("endpoint", &DeviceSlot::endpoint));
  bind_struct<ReferenceSpec>(m, "ReferenceSpec", "what a ReferenceTarget builds", field("amp", &ReferenceSpec::amp),
                             field("devices", &ReferenceSpec::devices), field("ram_size", &ReferenceSpec::ram_size),
                             field("address", &ReferenceSpec::address));

  py::class_<ReferenceTarget>(m, "ReferenceTarget", "the in-process machine with one amp function and its devices")
      .def(py::init([](ReferenceSpec spec, std::shared_ptr<transport::DriverRuleLog> log) {
             // The bus and the registers report into the log through a raw
             // pointer; keep_alive below ties the log's lifetime to the target.
             spec.amp.bus.rule_sink = log.get();
             return std::make_unique<ReferenceTarget>(spec);
           }),
           py::arg("spec"), py::arg("rule_log") = nullptr, py::keep_alive<1, 3>(),
           "builds the target; with rule_log, bus and register driver-rule checks report into it")
      .def("port", &ReferenceTarget::port, py::return_value_policy::reference_internal)
      .def("machine", &ReferenceTarget::machine, py::return_value_policy::reference_internal)
      .def("device", &ReferenceTarget::device, py::return_value_policy::reference_internal)
      .def("spec", &ReferenceTarget::spec, py::return_value_policy::copy);
}

}  // namespace vmsg::pyb

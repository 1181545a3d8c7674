// The native module vmsg_conform._vmsg: one submodule per C++ namespace
// (conformance/README.md, "Native module naming rule"), filled by the
// bind_<area>.cpp files in dependency order so default arguments of one
// area's types are registered before another area uses them.
#include <string>

#include "common.hpp"

namespace vmsg::pyb {

void bind_dut(py::module_& m);  // bind_dut.cpp
void bind_qtest(py::module_& m);  // bind_qtest.cpp

ErrorTypes& error_types() {
  // The one piece of process-wide state: pybind11 exception translation needs
  // the Python type objects outside any call frame that could carry them.
  static ErrorTypes types;
  return types;
}

py::object make_error(py::handle type, const std::string& msg) {
  return py::reinterpret_borrow<py::object>(type)(msg);
}

void raise_link(driver::LinkError e) {
  py::object exc = make_error(error_types().link_failure, "link error: " + std::string(driver::to_string(e)));
  exc.attr("code") = py::cast(e);
  PyErr_SetObject(error_types().link_failure.ptr(), exc.ptr());
  throw py::error_already_set();
}

void raise_virtio(const driver::VirtioError& e) {
  py::object exc = make_error(error_types().virtio_failure, driver::describe(e));
  exc.attr("code") = py::cast(e.code);
  exc.attr("message") = py::str(e.message);
  PyErr_SetObject(error_types().virtio_failure.ptr(), exc.ptr());
  throw py::error_already_set();
}

py::object decode_failure_object(const wire::DecodeFailure& f) {
  const std::string text = wire::describe(f);
  py::object exc = make_error(error_types().decode_failure, text);
  exc.attr("error") = py::cast(f.error);
  exc.attr("value") = py::int_(f.value);
  exc.attr("rule") = py::str(std::string(wire::rule_id(f.error)));
  exc.attr("message") = py::str(text);
  return exc;
}

void raise_decode(const wire::DecodeFailure& f) {
  py::object exc = decode_failure_object(f);
  PyErr_SetObject(error_types().decode_failure.ptr(), exc.ptr());
  throw py::error_already_set();
}

void raise_encode(wire::EncodeError e) {
  py::object exc = make_error(error_types().encode_failure, "encode error: " + std::string(wire::to_string(e)));
  exc.attr("error") = py::cast(e);
  PyErr_SetObject(error_types().encode_failure.ptr(), exc.ptr());
  throw py::error_already_set();
}

namespace {

/// Creates `name` in `scope` as a subclass of `base`, kept alive by the module.
py::handle new_exception(py::module_& scope, const char* name, py::handle base, const char* doc) {
  const std::string full = std::string(py::str(scope.attr("__name__"))) + "." + name;
  PyObject* type = PyErr_NewExceptionWithDoc(full.c_str(), doc, base.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  scope.attr(name) = py::reinterpret_steal<py::object>(type);
  return type;
}

}  // namespace
}  // namespace vmsg::pyb

PYBIND11_MODULE(_vmsg, m) {
  namespace py = pybind11;
  using namespace vmsg::pyb;
  m.doc() = "Thin bindings of the vmsg-conform C++ reference model (see conformance/README.md).";

  py::module_ wire = m.def_submodule("wire", "vmsg::wire: the message codec");
  py::module_ fifo = m.def_submodule("fifo", "vmsg::fifo: the AMP FIFO ring");
  py::module_ pci = m.def_submodule("pci", "vmsg::pci: PCI function building blocks");
  py::module_ port = m.def_submodule("port", "vmsg::port: the port interface");
  py::module_ bus = m.def_submodule("bus", "vmsg::bus: the device-side virtio-msg bus");
  py::module_ amp = m.def_submodule("amp", "vmsg::amp: the virtio-msg-amp-pci device");
  py::module_ vq = m.def_submodule("virtqueue", "vmsg::virtqueue: device-side split virtqueue");
  py::module_ transport = m.def_submodule("transport", "vmsg::transport: device side of the transport");
  py::module_ devices = m.def_submodule("devices", "vmsg::devices: virtio device backends");
  py::module_ machine = m.def_submodule("machine", "vmsg::machine: the in-process machine");
  py::module_ target = m.def_submodule("target", "vmsg::target: the embedded reference target");
  py::module_ driver = m.def_submodule("driver", "vmsg::driver: the driver stack over a port");
  py::module_ fault = m.def_submodule("fault", "vmsg::fault: named fault modes of the reference");

  ErrorTypes& errs = error_types();
  errs.decode_failure = new_exception(wire, "DecodeFailure", PyExc_ValueError,
                                      "Bytes that are not a valid message: .error (DecodeError), .value, .rule, .message");
  errs.encode_failure = new_exception(wire, "EncodeFailure", PyExc_ValueError,
                                      "A message that cannot be encoded: .error (EncodeError)");
  errs.link_failure = new_exception(driver, "LinkFailure", PyExc_RuntimeError,
                                    "A FIFO exchange failed: .code (LinkError)");
  errs.virtio_failure = new_exception(driver, "VirtioFailure", PyExc_RuntimeError,
                                      "A virtio driver operation failed: .code (VirtioErrc), .message");

  bind_wire(wire);
  bind_fault(fault);
  bind_fifo(fifo);
  bind_pci(pci);
  bind_port(port);
  bind_bus(bus);
  bind_amp(amp);
  bind_virtqueue(vq);
  bind_transport(transport);
  bind_devices(devices);
  bind_machine(machine);
  bind_target(target);
  bind_driver(driver);
  bind_monitor(transport);
  { py::module_ dut = m.def_submodule("dut", "vmsg::dut: DUT shared libraries (vmsg_dut.h)"); bind_dut(dut); }
  { py::module_ qt = m.def_submodule("qtest", "vmsg::qtest: qtest client, QEMU launcher, vmsg-ref-qtest"); bind_qtest(qt); }
}

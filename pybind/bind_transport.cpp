// vmsg::transport: the Backend contract, DeviceTransport (built around a
// backend shared with Python) and the minimal endpoint.
#include "common.hpp"
#include "shared_backend.hpp"
#include "vmsg/transport/backend.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/transport/stimulus_endpoint.hpp"
#include "vmsg/transport/minimal_endpoint.hpp"

namespace vmsg::pyb {

void bind_transport(py::module_& m) {
  using namespace vmsg::transport;

  py::class_<Backend, std::shared_ptr<Backend>>(m, "Backend", "a virtio device type behind the transport")
      .def("device_id", &Backend::device_id)
      .def("device_features", &Backend::device_features)
      .def("num_queues", &Backend::num_queues)
      .def("max_queue_size", &Backend::max_queue_size, py::arg("q"))
      .def("config_size", &Backend::config_size)
      .def(
          "read_config",
          [](const Backend& b, std::uint32_t offset, std::uint32_t length) {
            if (offset > b.config_size() || length > b.config_size() - offset) {
              throw py::value_error("read_config: range outside config_size");
            }
            std::vector<std::uint8_t> out(length);
            b.read_config(offset, out);
            return to_bytes(out);
          },
          py::arg("offset"), py::arg("length"));

  bind_struct<TransportOptions>(m, "TransportOptions", "choices of a DeviceTransport",
                                field("vendor_id", &TransportOptions::vendor_id),
                                field("initial_generation", &TransportOptions::initial_generation),
                                field("max_msg_size", &TransportOptions::max_msg_size),
                                field("offer_indirect", &TransportOptions::offer_indirect),
                                field("offer_event_idx", &TransportOptions::offer_event_idx),
                                field("offer_ring_reset", &TransportOptions::offer_ring_reset),
                                field("faults", &TransportOptions::faults),
                                field("layout", &TransportOptions::layout),
                                field("strict_config_generation", &TransportOptions::strict_config_generation),
                                field("device_uuid", &TransportOptions::device_uuid));
  bind_stats<TransportStats>(m, "TransportStats", "counters of one transport instance",
                             field("requests", &TransportStats::requests),
                             field("event_avail", &TransportStats::event_avail),
                             field("event_avail_ignored", &TransportStats::event_avail_ignored),
                             field("event_used_sent", &TransportStats::event_used_sent),
                             field("event_config_sent", &TransportStats::event_config_sent),
                             field("config_rejected", &TransportStats::config_rejected),
                             field("features_refused", &TransportStats::features_refused),
                             field("queue_errors", &TransportStats::queue_errors),
                             field("vqueue_noops", &TransportStats::vqueue_noops),
                             field("resets", &TransportStats::resets));

  py::class_<DeviceTransport, bus::Endpoint, std::shared_ptr<DeviceTransport>>(
      m, "DeviceTransport", "device side of the transport for one device number")
      .def(py::init([](std::shared_ptr<Backend> backend, const TransportOptions& options) {
             return std::make_shared<DeviceTransport>(std::make_unique<SharedBackend>(std::move(backend)), options);
           }),
           py::arg("backend"), py::arg("options") = TransportOptions{})
      .def("backend",
           [](DeviceTransport& t) -> std::shared_ptr<Backend> {
             auto* shared = dynamic_cast<SharedBackend*>(&t.backend());
             if (shared == nullptr) throw py::type_error("backend not shared with Python");
             return shared->inner();
           })
      .def("set_driver_rule_sink", &DeviceTransport::set_driver_rule_sink, py::arg("sink"),
           "where the backend's driver-rule reports go (None drops them)")
      .def("status", &DeviceTransport::status)
      .def("generation", &DeviceTransport::generation)
      .def("offered_features", &DeviceTransport::offered_features)
      .def("driver_features", &DeviceTransport::driver_features)
      .def("features_accepted", &DeviceTransport::features_accepted)
      .def("configured_queue", &DeviceTransport::configured_queue, py::arg("q"),
           py::return_value_policy::reference_internal)
      .def("stats", &DeviceTransport::stats, py::return_value_policy::copy)
      .def(
          "config_changed",
          // The backends' DeviceContext entry, called as a device-side change would call it.
          [](DeviceTransport& t, std::uint32_t offset, std::uint32_t length) {
            auto* shared = dynamic_cast<SharedBackend*>(&t.backend());
            if (shared == nullptr) throw py::type_error("backend not shared with Python");
            shared->context().config_changed(offset, length);
          },
          py::arg("offset"), py::arg("length"),
           "a device-side change of [offset, offset + length): new generation and EVENT_CONFIG "
           "(length 0: an event without data)");

  bind_struct<StimulusStats>(m, "StimulusStats", "counters of a StimulusEndpoint",
                             field("dropped_requests", &StimulusStats::dropped_requests),
                             field("slow_status", &StimulusStats::slow_status));
  py::class_<StimulusEndpoint, bus::Endpoint, std::shared_ptr<StimulusEndpoint>>(
      m, "StimulusEndpoint", "endpoint decorator with armable device behaviours (slow reset, dropped requests)")
      .def(py::init<std::shared_ptr<bus::Endpoint>>(), py::arg("inner"))
      .def("slow_reset", &StimulusEndpoint::slow_reset, py::arg("reads"))
      .def("drop_requests", &StimulusEndpoint::drop_requests, py::arg("n"))
      .def("stats", &StimulusEndpoint::stats, py::return_value_policy::copy);

  bind_struct<MinimalIdentity>(m, "MinimalIdentity", "identity of a MinimalEndpoint",
                               field("device_id", &MinimalIdentity::device_id),
                               field("vendor_id", &MinimalIdentity::vendor_id));
  py::class_<MinimalEndpoint, bus::Endpoint, std::shared_ptr<MinimalEndpoint>>(
      m, "MinimalEndpoint", "a bare transport endpoint: no virtqueues, VERSION_1 only")
      .def(py::init<MinimalIdentity>(), py::arg("id") = MinimalIdentity{})
      .def("status", &MinimalEndpoint::status)
      .def("requests", &MinimalEndpoint::requests);
}

}  // namespace vmsg::pyb

// vmsg::bus: the device-side bus (owned by its FIFO channel), its counters
// and the Endpoint base of everything plugged into it.
#include "common.hpp"
#include "vmsg/bus/bus.hpp"
#include "vmsg/bus/driver_rule_sink.hpp"
#include "vmsg/bus/endpoint.hpp"
#include "vmsg/bus/stats.hpp"

namespace vmsg::pyb {

void bind_bus(py::module_& m) {
  using namespace vmsg::bus;
  consts(m, {{"kMaxDevices", kMaxDevices}, {"kMinBusMaxMsgSize", kMinBusMaxMsgSize}, {"kFaultMaxMessage", kFaultMaxMessage},
             {"kDecodeErrorKinds", kDecodeErrorKinds}});

  py::class_<DriverRuleSink, std::shared_ptr<DriverRuleSink>>(m, "DriverRuleSink",
                                                              "where the device side reports broken driver rules");
  // rule_sink is a non-owning pointer: it is set by target.ReferenceTarget,
  // which keeps the log alive, and only its presence is visible here.
  bind_struct<BusOptions>(m, "BusOptions", "bus construction choices",
                          field("announce_hotplug", &BusOptions::announce_hotplug),
                          field("faults", &BusOptions::faults),
                          field("strict_config_generation", &BusOptions::strict_config_generation),
                          field("rule_layout", &BusOptions::rule_layout))
      .def_property_readonly("has_rule_sink", [](const BusOptions& o) { return o.rule_sink != nullptr; });
  bind_stats<BusStats>(
      m, "BusStats", "what one bus instance has seen and done", field("frames_received", &BusStats::frames_received),
      field("forwarded_requests", &BusStats::forwarded_requests), field("forwarded_events", &BusStats::forwarded_events),
      field("bus_requests_answered", &BusStats::bus_requests_answered), field("dropped_decode", &BusStats::dropped_decode),
      field("dropped_response_from_driver", &BusStats::dropped_response_from_driver),
      field("dropped_wrong_direction_event", &BusStats::dropped_wrong_direction_event),
      field("dropped_no_device", &BusStats::dropped_no_device),
      field("dropped_unknown_bus_message", &BusStats::dropped_unknown_bus_message),
      field("responses_sent", &BusStats::responses_sent), field("events_sent", &BusStats::events_sent),
      field("missing_responses", &BusStats::missing_responses), field("extra_responses", &BusStats::extra_responses),
      field("mismatched_responses", &BusStats::mismatched_responses), field("unencodable", &BusStats::unencodable),
      field("unsolicited_responses", &BusStats::unsolicited_responses), field("wrong_dev_num", &BusStats::wrong_dev_num),
      field("invalid_posts", &BusStats::invalid_posts), field("posts_after_unplug", &BusStats::posts_after_unplug))
      .def(
          "decode_drops",
          [](const BusStats& s, std::optional<wire::DecodeError> e) { return e ? s.decode_drops(*e) : s.decode_drops(); },
          py::arg("error") = py::none(), "drops of one DecodeError kind, or of all kinds")
      .def("dropped", &BusStats::dropped)
      .def("endpoint_faults", &BusStats::endpoint_faults);

  py::class_<Endpoint, std::shared_ptr<Endpoint>>(m, "Endpoint", "a device behind the bus (addressed by dev_num)");

  py::class_<Bus>(m, "Bus", "one device-side bus instance (owned by its FIFO channel)")
      .def("present", &Bus::present, py::arg("dev_num"))
      .def("device_count", &Bus::device_count)
      .def(
          "receive", [](Bus& b, const py::object& frame) { b.receive(from_bytes(frame)); }, py::arg("frame"),
          "hand one driver->device frame to the bus directly (bypassing the FIFO)")
      .def("advance_time", &Bus::advance_time, py::arg("ns"))
      .def("stats", &Bus::stats, py::return_value_policy::copy)
      .def("reset_stats", &Bus::reset_stats)
      .def("profile", &Bus::profile, py::return_value_policy::copy)
      .def("options", &Bus::options, py::return_value_policy::copy)
      .def("max_get_devices_count", &Bus::max_get_devices_count)
      .def("transport_features", &Bus::transport_features)
      .def("unplug", &Bus::unplug, py::arg("dev_num"));
}

}  // namespace vmsg::pyb

// vmsg::amp: the virtio-msg-amp-pci function, its configuration, BAR0
// register decode and per-FIFO channel counters.
#include <span>
#include <string>

#include "common.hpp"
#include "vmsg/amp/amp_device.hpp"
#include "vmsg/amp/fifo_channel.hpp"
#include "vmsg/amp/registers.hpp"

namespace vmsg::pyb {

void bind_amp(py::module_& m) {
  using namespace vmsg::amp;

  py::module_ id = m.def_submodule("ident", "PCI identity of the device");
  consts(id, {{"kVendorId", ident::kVendorId},
              {"kDeviceId", ident::kDeviceId},
              {"kRevision", ident::kRevision},
              {"kClassCode", ident::kClassCode},
              {"kSubsystemVendorId", ident::kSubsystemVendorId},
              {"kSubsystemId", ident::kSubsystemId}});
  py::module_ b = m.def_submodule("bars", "BAR numbers and sizes");
  consts(b, {{"kRegisters", bars::kRegisters}, {"kFifoRam", bars::kFifoRam}, {"kMsix", bars::kMsix},
             {"kMsixSize", bars::kMsixSize}});
  py::module_ r = m.def_submodule("reg", "BAR0 layout");
  consts(r, {{"kBar0Size", reg::kBar0Size},
             {"kVersion", reg::kVersion},
             {"kFeatures", reg::kFeatures},
             {"kNotifyBase", reg::kNotifyBase},
             {"kVersionValue", reg::kVersionValue},
             {"kFeaturesValue", reg::kFeaturesValue}});
  r.def("notify", &reg::notify, py::arg("fifo"));

  bind_struct<ChannelOptions>(m, "ChannelOptions", "FIFO channel tunables",
                              field("pending_capacity", &ChannelOptions::pending_capacity),
                              field("event_reserve", &ChannelOptions::event_reserve),
                              field("ring", &ChannelOptions::ring));
  bind_struct<AmpConfig>(m, "AmpConfig", "amp device construction parameters",
                         field("num_fifos", &AmpConfig::num_fifos), field("profile", &AmpConfig::profile),
                         field("channel", &AmpConfig::channel), field("bus", &AmpConfig::bus),
                         field("faults", &AmpConfig::faults));
  bind_stats<RegisterStats>(m, "RegisterStats", "BAR0 accesses, by effect",
                            field("doorbells", &RegisterStats::doorbells),
                            field("read_only_writes", &RegisterStats::read_only_writes),
                            field("no_such_fifo", &RegisterStats::no_such_fifo),
                            field("bad_width", &RegisterStats::bad_width),
                            field("unaligned", &RegisterStats::unaligned));
  bind_stats<ChannelStats>(m, "ChannelStats", "counters of one FIFO channel",
                           field("doorbells", &ChannelStats::doorbells),
                           field("frames_consumed", &ChannelStats::frames_consumed),
                           field("frames_placed", &ChannelStats::frames_placed),
                           field("frames_deferred", &ChannelStats::frames_deferred),
                           field("pending_high_water", &ChannelStats::pending_high_water),
                           field("backpressure_stalls", &ChannelStats::backpressure_stalls),
                           field("events_coalesced", &ChannelStats::events_coalesced),
                           field("overflow_drops", &ChannelStats::overflow_drops),
                           field("resyncs", &ChannelStats::resyncs));

  py::class_<FifoChannel>(m, "FifoChannel", "one FIFO as the device runs it (owned by the device)")
      .def("bus", py::overload_cast<>(&FifoChannel::bus), py::return_value_policy::reference_internal)
      .def("index", &FifoChannel::index)
      .def("pending", &FifoChannel::pending)
      .def("stats", &FifoChannel::stats, py::return_value_policy::copy)
      .def("rx_stats", &FifoChannel::rx_stats, py::return_value_policy::copy, "driver-queue consumer counters")
      .def("tx_stats", &FifoChannel::tx_stats, py::return_value_policy::copy, "device-queue producer counters")
      .def(
          "send",
          [](FifoChannel& c, const py::bytes& frame) {
            const std::string b = frame;
            if (b.empty() || b.size() > fifo::kSlotSize) throw py::value_error("a frame is 1..64 bytes");
            c.send(std::span(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
          },
          py::arg("frame"), "puts raw bytes in the device queue as a device->driver frame (a test stimulus)");

  py::class_<AmpPciDevice, pci::PciFunction, std::shared_ptr<AmpPciDevice>>(m, "AmpPciDevice",
                                                                            "the virtio-msg-amp-pci function")
      .def(py::init<const AmpConfig&>(), py::arg("config") = AmpConfig{})
      .def("num_fifos", &AmpPciDevice::num_fifos)
      .def("bus", &AmpPciDevice::bus, py::arg("fifo"), py::return_value_policy::reference_internal)
      .def("channel", py::overload_cast<unsigned>(&AmpPciDevice::channel), py::arg("fifo"),
           py::return_value_policy::reference_internal)
      .def("plug", &AmpPciDevice::plug, py::arg("fifo"), py::arg("dev_num"), py::arg("endpoint"),
           py::keep_alive<1, 4>())
      .def("register_stats", &AmpPciDevice::register_stats, py::return_value_policy::copy)
      .def("config_params", &AmpPciDevice::config_params, py::return_value_policy::copy);
}

}  // namespace vmsg::pyb

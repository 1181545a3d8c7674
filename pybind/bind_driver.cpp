// vmsg::driver: allocators, PCI probe and MSI-X helpers, AmpDriver, FifoLink,
// BusDriver, TransportDriver, SplitQueueDriver and the rng/blk drivers.
// Result errors raise LinkFailure / VirtioFailure (common.hpp); the
// non-owning references the C++ classes hold are mirrored with keep_alive.
#include "common.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/driver/blk_driver.hpp"
#include "vmsg/driver/bus_driver.hpp"
#include "vmsg/driver/device_enumeration.hpp"
#include "vmsg/driver/errors.hpp"
#include "vmsg/driver/fifo_link.hpp"
#include "vmsg/driver/guest_alloc.hpp"
#include "vmsg/driver/msix_setup.hpp"
#include "vmsg/driver/pci_probe.hpp"
#include "vmsg/driver/rng_driver.hpp"
#include "vmsg/driver/split_queue_driver.hpp"
#include "vmsg/driver/transport_driver.hpp"
#include "vmsg/driver/virtio_error.hpp"

// TransportDriver owns unique_ptrs inside a std::map, whose copy constructor
// is declared anyway: tell pybind11 it is not copyable.
template <>
struct pybind11::detail::is_copy_constructible<vmsg::driver::TransportDriver> : std::false_type {};
// Likewise AmpDriver: its vector of FifoLinks, which own their batchers.
template <>
struct pybind11::detail::is_copy_constructible<vmsg::driver::AmpDriver> : std::false_type {};

namespace vmsg::pyb {

namespace {

using namespace vmsg::driver;

void bind_errors(py::module_& m) {
  auto driver_error = py::register_exception<DriverError>(m, "DriverError", PyExc_RuntimeError);
  py::register_exception<ProbeError>(m, "ProbeError", driver_error);
  py::register_exception<OutOfSpace>(m, "OutOfSpace", driver_error);

  py::enum_<LinkError>(m, "LinkError", "why a message-level FIFO exchange failed")
      .value("Unencodable", LinkError::Unencodable)
      .value("QueueFull", LinkError::QueueFull)
      .value("NoResponse", LinkError::NoResponse)
      .value("Malformed", LinkError::Malformed);
  py::enum_<VirtioErrc>(m, "VirtioErrc", "what a virtio driver operation found wrong")
      .value("NoResponse", VirtioErrc::NoResponse)
      .value("MalformedResponse", VirtioErrc::MalformedResponse)
      .value("LinkFailure", VirtioErrc::LinkFailure)
      .value("BadResponse", VirtioErrc::BadResponse)
      .value("NotReady", VirtioErrc::NotReady)
      .value("OutOfRange", VirtioErrc::OutOfRange)
      .value("FeaturesRefused", VirtioErrc::FeaturesRefused)
      .value("StatusRejected", VirtioErrc::StatusRejected)
      .value("NeedsReset", VirtioErrc::NeedsReset)
      .value("DeviceRemoved", VirtioErrc::DeviceRemoved)
      .value("GenerationUnstable", VirtioErrc::GenerationUnstable)
      .value("ConfigRejected", VirtioErrc::ConfigRejected)
      .value("QueueUnavailable", VirtioErrc::QueueUnavailable)
      .value("QueueInUse", VirtioErrc::QueueInUse)
      .value("QueueTooLarge", VirtioErrc::QueueTooLarge)
      .value("BadQueueSize", VirtioErrc::BadQueueSize)
      .value("QueueNotConfirmed", VirtioErrc::QueueNotConfirmed)
      .value("RingFull", VirtioErrc::RingFull)
      .value("BadUsedId", VirtioErrc::BadUsedId)
      .value("BadUsedLength", VirtioErrc::BadUsedLength)
      .value("UsedIndexJump", VirtioErrc::UsedIndexJump)
      .value("QueueBroken", VirtioErrc::QueueBroken)
      .value("Timeout", VirtioErrc::Timeout)
      .value("BadRequest", VirtioErrc::BadRequest)
      .value("IoError", VirtioErrc::IoError)
      .value("Unsupported", VirtioErrc::Unsupported)
      .value("EnumerationStuck", VirtioErrc::EnumerationStuck);
  m.def("errc_name", [](VirtioErrc e) { return std::string(to_string(e)); }, py::arg("code"));
  m.def("link_error_name", [](LinkError e) { return std::string(to_string(e)); }, py::arg("code"));
  bind_struct<VirtioError>(m, "VirtioError", "an error code plus its account", field("code", &VirtioError::code),
                           field("message", &VirtioError::message));
}

void bind_alloc(py::module_& m) {
  py::class_<BumpAllocator>(m, "BumpAllocator", "increasing aligned sub-ranges, never freed")
      .def(py::init<std::string, std::uint64_t, std::uint64_t>(), py::arg("pool"), py::arg("base"), py::arg("size"))
      .def("alloc", &BumpAllocator::alloc, py::arg("size"), py::arg("align"))
      .def("base", &BumpAllocator::base)
      .def("size", &BumpAllocator::size)
      .def("used", &BumpAllocator::used)
      .def("remaining", &BumpAllocator::remaining)
      .def("reset", &BumpAllocator::reset);
  py::class_<GuestAllocator> ga(m, "GuestAllocator", "driver-usable guest RAM");
  ga.def(py::init<const port::AddressMap&>(), py::arg("map"))
      .def("alloc", &GuestAllocator::alloc, py::arg("size"), py::arg("align") = GuestAllocator::kDefaultAlign)
      .def("pool", &GuestAllocator::pool, py::return_value_policy::reference_internal)
      .def("reset", &GuestAllocator::reset);
  consts(ga, {{"kDefaultAlign", GuestAllocator::kDefaultAlign}});
  py::class_<BarWindowAllocator>(m, "BarWindowAllocator", "the BAR window; ranges aligned to their size")
      .def(py::init<const port::AddressMap&>(), py::arg("map"))
      .def("alloc", &BarWindowAllocator::alloc, py::arg("size"))
      .def("pool", &BarWindowAllocator::pool, py::return_value_policy::reference_internal)
      .def("reset", &BarWindowAllocator::reset);
}

void bind_probe(py::module_& m) {
  py::module_ r = m.def_submodule("pcireg", "type-0 header offsets and bits the driver uses");
  consts(r, {{"kVendorId", pcireg::kVendorId}, {"kDeviceId", pcireg::kDeviceId}, {"kCommand", pcireg::kCommand},
             {"kStatus", pcireg::kStatus}, {"kRevisionClass", pcireg::kRevisionClass},
             {"kHeaderType", pcireg::kHeaderType}, {"kBar0", pcireg::kBar0}, {"kCapPtr", pcireg::kCapPtr},
             {"kCommandIo", pcireg::kCommandIo}, {"kCommandMem", pcireg::kCommandMem},
             {"kCommandBusMaster", pcireg::kCommandBusMaster}, {"kStatusCapList", pcireg::kStatusCapList},
             {"kHeaderMultiFunction", pcireg::kHeaderMultiFunction}, {"kCapIdMsix", pcireg::kCapIdMsix},
             {"kMaxCapabilities", pcireg::kMaxCapabilities}});
  consts(m, {{"kAmpVendorId", kAmpVendorId}, {"kAmpDeviceId", kAmpDeviceId}});

  bind_struct<BarInfo>(m, "BarInfo", "one BAR as sized/assigned", field("base", &BarInfo::base),
                       field("size", &BarInfo::size), field("prefetchable", &BarInfo::prefetchable),
                       field("is64", &BarInfo::is64), field("io", &BarInfo::io))
      .def("implemented", &BarInfo::implemented);
  bind_struct<Capability>(m, "Capability", "one capability list entry", field("id", &Capability::id),
                          field("offset", &Capability::offset));
  bind_struct<ProbedFunction>(m, "ProbedFunction", "a function after probe_function",
                              field("addr", &ProbedFunction::addr), field("vendor_id", &ProbedFunction::vendor_id),
                              field("device_id", &ProbedFunction::device_id),
                              field("revision", &ProbedFunction::revision),
                              field("class_code", &ProbedFunction::class_code),
                              field("header_type", &ProbedFunction::header_type), field("bars", &ProbedFunction::bars),
                              field("capabilities", &ProbedFunction::capabilities))
      .def("capability", &ProbedFunction::capability, py::arg("id"));

  m.def("scan_bus0", &scan_bus0, py::arg("port"));
  m.def("find_functions", &find_functions, py::arg("port"), py::arg("vendor"), py::arg("device"));
  m.def("size_bars", &size_bars, py::arg("port"), py::arg("fn"));
  m.def("walk_capabilities", &walk_capabilities, py::arg("port"), py::arg("fn"));
  m.def("find_capability", &find_capability, py::arg("port"), py::arg("fn"), py::arg("id"));
  m.def("probe_function", &probe_function, py::arg("port"), py::arg("fn"), py::arg("window"));
  m.def("probe", &probe, py::arg("port"), py::arg("vendor"), py::arg("device"), py::arg("window"),
        py::arg("index") = 0);
}

void bind_msix(py::module_& m) {
  py::module_ r = m.def_submodule("msixreg", "MSI-X capability and table layout");
  consts(r, {{"kControl", msixreg::kControl}, {"kTable", msixreg::kTable}, {"kPba", msixreg::kPba},
             {"kControlEnable", msixreg::kControlEnable}, {"kControlFunctionMask", msixreg::kControlFunctionMask},
             {"kControlTableSize", msixreg::kControlTableSize}, {"kEntrySize", msixreg::kEntrySize},
             {"kEntryAddrLo", msixreg::kEntryAddrLo}, {"kEntryAddrHi", msixreg::kEntryAddrHi},
             {"kEntryData", msixreg::kEntryData}, {"kEntryControl", msixreg::kEntryControl},
             {"kEntryMasked", msixreg::kEntryMasked}});
  bind_struct<MsixInfo>(m, "MsixInfo", "the MSI-X capability resolved to guest addresses",
                        field("fn", &MsixInfo::fn), field("cap", &MsixInfo::cap),
                        field("table_size", &MsixInfo::table_size), field("table_bar", &MsixInfo::table_bar),
                        field("table_offset", &MsixInfo::table_offset), field("pba_bar", &MsixInfo::pba_bar),
                        field("pba_offset", &MsixInfo::pba_offset), field("table_addr", &MsixInfo::table_addr),
                        field("pba_addr", &MsixInfo::pba_addr));
  bind_struct<MsiTarget>(m, "MsiTarget", "where one vector's interrupts land", field("addr", &MsiTarget::addr),
                         field("data", &MsiTarget::data));
  m.def("msix_info", &msix_info, py::arg("port"), py::arg("function"));
  m.def("msix_enable", &msix_enable, py::arg("port"), py::arg("msix"));
  m.def("msix_disable", &msix_disable, py::arg("port"), py::arg("msix"));
  m.def("msix_set_function_mask", &msix_set_function_mask, py::arg("port"), py::arg("msix"), py::arg("masked"));
  m.def("msix_program", &msix_program, py::arg("port"), py::arg("msix"), py::arg("entry"), py::arg("addr"),
        py::arg("data"));
  m.def("msix_set_masked", &msix_set_masked, py::arg("port"), py::arg("msix"), py::arg("entry"), py::arg("masked"));
  m.def("msix_vector_control", &msix_vector_control, py::arg("port"), py::arg("msix"), py::arg("entry"));
  m.def("msix_pending", &msix_pending, py::arg("port"), py::arg("msix"), py::arg("entry"));
  m.def("msix_setup_vector", &msix_setup_vector, py::arg("port"), py::arg("msix"), py::arg("entry"), py::arg("ram"),
        py::arg("data"));
  m.def("msi_word", &msi_word, py::arg("port"), py::arg("target"));
  m.def("clear_msi", &clear_msi, py::arg("port"), py::arg("target"));
  m.def("msi_fired", &msi_fired, py::arg("port"), py::arg("target"));
  m.def("take_msi", py::overload_cast<port::Port&, const MsiTarget&>(&take_msi), py::arg("port"),
        py::arg("target"));
}

void bind_link(py::module_& m) {
  bind_struct<FifoLinkConfig>(m, "FifoLinkConfig", "where a FIFO lives and how request() polls",
                              field("bar0", &FifoLinkConfig::bar0), field("bar1", &FifoLinkConfig::bar1),
                              field("fifo", &FifoLinkConfig::fifo), field("msi", &FifoLinkConfig::msi),
                              field("profile", &FifoLinkConfig::profile),
                              field("max_polls", &FifoLinkConfig::max_polls),
                              field("poll_step_ns", &FifoLinkConfig::poll_step_ns),
                              field("retries", &FifoLinkConfig::retries));

  py::class_<FifoLink>(m, "FifoLink", "the driver's end of one FIFO: raw frames and messages")
      .def(py::init<port::Port&, const FifoLinkConfig&>(), py::arg("port"), py::arg("config"), py::keep_alive<1, 2>())
      .def(
          "post", [](FifoLink& l, const py::object& frame) { return l.post(from_bytes(frame)); }, py::arg("frame"),
          "put a frame (<= 64 bytes, zero-padded) into the driver queue; no doorbell")
      .def("ring", &FifoLink::ring, "write NOTIFY for this FIFO")
      .def(
          "poll",
          [](FifoLink& l) -> py::object {
            auto s = l.poll();
            if (!s) return py::none();
            return to_bytes(*s);
          },
          "the next 64-byte slot of the device queue, or None")
      .def("waiting", &FifoLink::waiting)
      .def("stray_responses", &FifoLink::stray_responses,
           "responses request() dropped because no request was waiting for them")
      .def("resends", &FifoLink::resends, "requests sent again after a timed-out attempt (FifoLinkConfig.retries)")
      .def("take_msi", &FifoLink::take_msi, "True if the MSI word was written since the last call (clears it)")
      .def(
          "send", [](FifoLink& l, const wire::Message& msg) { return unwrap(l.send(msg)); }, py::arg("msg"))
      .def(
          "receive",
          [](FifoLink& l) -> py::object {
            auto r = l.receive();
            if (!r) return py::none();
            return py::cast(unwrap(std::move(*r)));
          },
          "the next message, None when empty; raises wire.DecodeFailure for a malformed frame")
      .def(
          "request", [](FifoLink& l, const wire::Message& msg) { return unwrap(l.request(msg)); }, py::arg("msg"),
          "send + ring + wait for the matching response; raises LinkFailure")
      .def("events", [](FifoLink& l) { return std::vector<wire::Message>(l.events().begin(), l.events().end()); })
      .def("take_events",
           [](FifoLink& l) {
             std::vector<wire::Message> out(l.events().begin(), l.events().end());
             l.events().clear();
             return out;
           })
      .def("last_failure",
           [](const FifoLink& l) -> py::object {
             if (!l.last_failure()) return py::none();
             return decode_failure_object(*l.last_failure());
           })
      .def("config", &FifoLink::config, py::return_value_policy::copy)
      .def("port", &FifoLink::port, py::return_value_policy::reference);
}

void bind_amp_driver(py::module_& m) {
  bind_struct<AmpDriverOptions>(m, "AmpDriverOptions", "choices of AmpDriver.open",
                                field("index", &AmpDriverOptions::index), field("use_msix", &AmpDriverOptions::use_msix),
                                field("msi_data", &AmpDriverOptions::msi_data),
                                field("profile", &AmpDriverOptions::profile));
  py::class_<AmpDriver>(m, "AmpDriver", "an opened amp-pci function with one FifoLink per FIFO")
      .def_static("open", &AmpDriver::open, py::arg("port"), py::arg("ram"), py::arg("window"),
                  py::arg("options") = AmpDriverOptions{}, py::keep_alive<0, 1>())
      .def("num_fifos", &AmpDriver::num_fifos)
      .def("fifo", &AmpDriver::fifo, py::arg("fifo"), py::return_value_policy::reference_internal)
      .def("function", &AmpDriver::function, py::return_value_policy::copy)
      .def("msix", &AmpDriver::msix, py::return_value_policy::copy)
      .def("bar0", &AmpDriver::bar0)
      .def("bar1", &AmpDriver::bar1)
      .def("bar2", &AmpDriver::bar2);
}

void bind_bus_driver(py::module_& m) {
  bind_stats<BusDriverStats>(m, "BusDriverStats", "BusDriver counters", field("requests", &BusDriverStats::requests),
                             field("events_sent", &BusDriverStats::events_sent),
                             field("frames_pumped", &BusDriverStats::frames_pumped),
                             field("events_filed", &BusDriverStats::events_filed),
                             field("stray_frames", &BusDriverStats::stray_frames),
                             field("malformed", &BusDriverStats::malformed), field("msis", &BusDriverStats::msis),
                             field("full_retries", &BusDriverStats::full_retries));
  py::class_<BusDriver>(m, "BusDriver", "one FifoLink shared by the drivers of the devices behind it")
      .def(py::init<FifoLink&>(), py::arg("link"), py::keep_alive<1, 2>())
      .def(
          "request", [](BusDriver& b, const wire::Message& msg) { return unwrap(b.request(msg)); }, py::arg("msg"))
      .def(
          "send_event", [](BusDriver& b, const wire::Message& msg) { return unwrap(b.send_event(msg)); },
          py::arg("msg"))
      .def("pump", &BusDriver::pump)
      .def("idle", &BusDriver::idle, py::arg("ns"))
      .def(
          "take_events",
          [](BusDriver& b, std::uint16_t dev) {
            auto q = b.take_events(dev);
            return std::vector<wire::Message>(q.begin(), q.end());
          },
          py::arg("dev"))
      .def("has_events", &BusDriver::has_events, py::arg("dev"))
      .def("discard_events", &BusDriver::discard_events, py::arg("dev"))
      .def("max_msg_size", &BusDriver::max_msg_size)
      .def("profile", &BusDriver::profile, py::return_value_policy::copy)
      .def("link", &BusDriver::link, py::return_value_policy::reference_internal)
      .def("stats", &BusDriver::stats, py::return_value_policy::copy);

  bind_struct<EnumerationOptions>(m, "EnumerationOptions", "choices of enumerate_devices",
                                  field("window", &EnumerationOptions::window),
                                  field("max_windows", &EnumerationOptions::max_windows));
  bind_struct<Enumeration>(m, "Enumeration", "what enumerate_devices found",
                           field("devices", &Enumeration::devices), field("windows", &Enumeration::windows));
  m.def(
      "enumerate_devices",
      [](BusDriver& b, const EnumerationOptions& o) { return unwrap(enumerate_devices(b, o)); }, py::arg("bus"),
      py::arg("options") = EnumerationOptions{}, "GET_DEVICES window by window; raises VirtioFailure");
}

void bind_split_queue(py::module_& m) {
  py::module_ v = m.def_submodule("vring", "split-ring constants");
  consts(v, {{"kDescFNext", vring::kDescFNext}, {"kDescFWrite", vring::kDescFWrite},
             {"kAvailFNoInterrupt", vring::kAvailFNoInterrupt}, {"kUsedFNoNotify", vring::kUsedFNoNotify},
             {"kMaxSize", vring::kMaxSize}, {"kDescAlign", vring::kDescAlign}, {"kAvailAlign", vring::kAvailAlign},
             {"kUsedAlign", vring::kUsedAlign}, {"kDescSize", vring::kDescSize}});
  v.def("desc_bytes", &vring::desc_bytes, py::arg("size"));
  v.def("avail_bytes", &vring::avail_bytes, py::arg("size"));
  v.def("used_bytes", &vring::used_bytes, py::arg("size"));
  v.def("need_event", &vring::need_event, py::arg("event"), py::arg("new_idx"), py::arg("old_idx"));

  bind_struct<RingLayout>(m, "RingLayout", "where a split ring lives", field("size", &RingLayout::size),
                          field("desc", &RingLayout::desc), field("avail", &RingLayout::avail),
                          field("used", &RingLayout::used));
  bind_struct<BufferSegment>(m, "BufferSegment", "one guest buffer of a chain", field("addr", &BufferSegment::addr),
                             field("len", &BufferSegment::len));
  bind_struct<UsedElem>(m, "UsedElem", "one used element", field("id", &UsedElem::id), field("len", &UsedElem::len));
  bind_struct<SplitQueueOptions>(m, "SplitQueueOptions", "notification choices of a queue",
                                 field("event_idx", &SplitQueueOptions::event_idx),
                                 field("no_interrupt", &SplitQueueOptions::no_interrupt));
  bind_stats<SplitQueueStats>(m, "SplitQueueStats", "queue counters", field("added", &SplitQueueStats::added),
                              field("published", &SplitQueueStats::published),
                              field("reaped", &SplitQueueStats::reaped),
                              field("kicks_needed", &SplitQueueStats::kicks_needed),
                              field("kicks_suppressed", &SplitQueueStats::kicks_suppressed));

  py::class_<SplitQueueDriver>(m, "SplitQueueDriver", "driver side of one split ring in guest RAM")
      .def(py::init<port::Port&, const RingLayout&, const SplitQueueOptions&>(), py::arg("port"), py::arg("layout"),
           py::arg("options") = SplitQueueOptions{}, py::keep_alive<1, 2>())
      .def(
          "add",
          [](SplitQueueDriver& q, const std::vector<BufferSegment>& readable,
             const std::vector<BufferSegment>& writable) { return unwrap(q.add(readable, writable)); },
          py::arg("readable") = std::vector<BufferSegment>{}, py::arg("writable") = std::vector<BufferSegment>{},
          "writes a chain; returns its head")
      .def("publish", &SplitQueueDriver::publish)
      .def("needs_kick", &SplitQueueDriver::needs_kick)
      .def("reap", [](SplitQueueDriver& q) { return unwrap(q.reap()); })
      .def("has_used", &SplitQueueDriver::has_used)
      .def("set_interrupts", &SplitQueueDriver::set_interrupts, py::arg("enabled"))
      .def("layout", &SplitQueueDriver::layout, py::return_value_policy::copy)
      .def("options", &SplitQueueDriver::options, py::return_value_policy::copy)
      .def("size", &SplitQueueDriver::size)
      .def("num_free", &SplitQueueDriver::num_free)
      .def("in_flight", &SplitQueueDriver::in_flight)
      .def("avail_idx", &SplitQueueDriver::avail_idx)
      .def("last_used", &SplitQueueDriver::last_used)
      .def("broken", &SplitQueueDriver::broken, py::return_value_policy::copy)
      .def("stats", &SplitQueueDriver::stats, py::return_value_policy::copy);
}

void bind_transport_driver(py::module_& m) {
  py::module_ f = m.def_submodule("vfeature", "core feature bits");
  consts(f, {{"kEventIdx", vfeature::kEventIdx}, {"kVersion1", vfeature::kVersion1},
             {"kRingPacked", vfeature::kRingPacked}, {"kNotificationData", vfeature::kNotificationData},
             {"kRingReset", vfeature::kRingReset}});
  f.def("bit", &vfeature::bit, py::arg("n"));

  bind_struct<TransportDriverOptions>(m, "TransportDriverOptions", "TransportDriver tunables",
                                      field("config_read_retries", &TransportDriverOptions::config_read_retries),
                                      field("config_write_retries", &TransportDriverOptions::config_write_retries),
                                      field("wait_polls", &TransportDriverOptions::wait_polls),
                                      field("wait_step_ns", &TransportDriverOptions::wait_step_ns),
                                      field("tolerate_deviations", &TransportDriverOptions::tolerate_deviations),
                                      field("strict_config_generation",
                                            &TransportDriverOptions::strict_config_generation),
                                      field("reset_polls", &TransportDriverOptions::reset_polls));
  bind_struct<Deviation>(m, "Deviation", "a device deviation the tolerant driver worked around",
                         field("requirement", &Deviation::requirement), field("detail", &Deviation::detail));
  bind_stats<TransportDriverStats>(
      m, "TransportDriverStats", "TransportDriver counters", field("requests", &TransportDriverStats::requests),
      field("kicks", &TransportDriverStats::kicks), field("used_events", &TransportDriverStats::used_events),
      field("stray_used_events", &TransportDriverStats::stray_used_events),
      field("config_events", &TransportDriverStats::config_events),
      field("config_events_ignored", &TransportDriverStats::config_events_ignored),
      field("config_read_restarts", &TransportDriverStats::config_read_restarts),
      field("config_write_rejects", &TransportDriverStats::config_write_rejects),
      field("device_events", &TransportDriverStats::device_events));
  py::enum_<Phase>(m, "Phase", "where the driver is in initialisation")
      .value("Reset", Phase::Reset)
      .value("FeaturesOk", Phase::FeaturesOk)
      .value("Live", Phase::Live)
      .value("Failed", Phase::Failed);

  using TD = TransportDriver;
  py::class_<TD>(m, "TransportDriver", "driver of one virtio device behind a BusDriver")
      .def(py::init<BusDriver&, std::uint16_t, const TransportDriverOptions&>(), py::arg("bus"), py::arg("dev_num"),
           py::arg("options") = TransportDriverOptions{}, py::keep_alive<1, 2>())
      .def("get_info", [](TD& t) { return unwrap(t.get_info()); })
      .def("info", &TD::info, py::return_value_policy::copy)
      .def("get_status", [](TD& t) { return unwrap(t.get_status()); })
      .def("get_shm", [](TD& t, std::uint32_t shmid) { return unwrap(t.get_shm(shmid)); }, py::arg("shmid"))
      .def("reset", [](TD& t) { check(t.reset()); })
      .def(
          "init", [](TD& t, std::uint64_t wanted) { return unwrap(t.init(wanted)); }, py::arg("wanted"),
          "negotiate features (steps 2-6); returns the negotiated set")
      .def("driver_ok", [](TD& t) { check(t.driver_ok()); })
      .def("phase", &TD::phase)
      .def("status", &TD::status)
      .def("device_features", &TD::device_features)
      .def("features", &TD::features)
      .def("has_feature", &TD::has_feature, py::arg("bit"))
      .def(
          "read_config",
          [](TD& t, std::uint32_t offset, std::uint32_t length) { return to_bytes(unwrap(t.read_config(offset, length))); },
          py::arg("offset"), py::arg("length"))
      .def(
          "write_config",
          [](TD& t, std::uint32_t offset, const py::object& data) { check(t.write_config(offset, from_bytes(data))); },
          py::arg("offset"), py::arg("data"))
      .def(
          "read_config32", [](TD& t, std::uint32_t offset) { return unwrap(t.read_config32(offset)); },
          py::arg("offset"))
      .def(
          "read_config64", [](TD& t, std::uint32_t offset) { return unwrap(t.read_config64(offset)); },
          py::arg("offset"))
      .def("generation", &TD::generation)
      .def(
          "cached_config",
          [](const TD& t, std::uint32_t offset, std::uint32_t length) -> py::object {
            auto c = t.cached_config(offset, length);
            if (!c) return py::none();
            return to_bytes(*c);
          },
          py::arg("offset"), py::arg("length"))
      .def("refresh_config", [](TD& t) { check(t.refresh_config()); })
      .def("config_stale", &TD::config_stale)
      .def(
          "setup_queue",
          [](TD& t, std::uint32_t q, std::uint32_t size, GuestAllocator& ram, bool no_interrupt) {
            return unwrap(t.setup_queue(q, size, ram, no_interrupt));
          },
          py::arg("q"), py::arg("size"), py::arg("ram"), py::arg("no_interrupt") = false,
          py::return_value_policy::reference_internal, "returns the queue (valid until the next reset)")
      .def(
          "setup_queue_fitted",
          [](TD& t, std::uint32_t q, std::uint32_t size, GuestAllocator& ram, bool no_interrupt) {
            return unwrap(t.setup_queue_fitted(q, size, ram, no_interrupt));
          },
          py::arg("q"), py::arg("size"), py::arg("ram"), py::arg("no_interrupt") = false,
          py::return_value_policy::reference_internal,
          "setup_queue with size capped at the device's max_size, rounded down to a power of two")
      .def(
          "reset_queue", [](TD& t, std::uint32_t q) { check(t.reset_queue(q)); }, py::arg("q"))
      .def("queue", &TD::queue, py::arg("q"), py::return_value_policy::reference_internal)
      .def(
          "kick", [](TD& t, std::uint32_t q) { check(t.kick(q)); }, py::arg("q"))
      .def(
          "notify", [](TD& t, std::uint32_t q) { check(t.notify(q)); }, py::arg("q"))
      .def("poll", [](TD& t) { check(t.poll()); })
      .def(
          "take_used", [](TD& t, std::uint32_t q) { return unwrap(t.take_used(q)); }, py::arg("q"))
      .def(
          "wait_used", [](TD& t, std::uint32_t q) { return unwrap(t.wait_used(q)); }, py::arg("q"))
      .def("needs_reset", &TD::needs_reset)
      .def("removed", &TD::removed)
      .def("dev_num", &TD::dev_num)
      .def("bus", &TD::bus, py::return_value_policy::reference_internal)
      .def("stats", &TD::stats, py::return_value_policy::copy)
      .def("options", &TD::options, py::return_value_policy::copy)
      .def("deviations", &TD::deviations, py::return_value_policy::copy,
           "deviations worked around so far (tolerate_deviations), oldest first");
}

void bind_device_drivers(py::module_& m) {
  bind_struct<RngDriverOptions>(m, "RngDriverOptions", "RngDriver tunables",
                                field("queue_size", &RngDriverOptions::queue_size),
                                field("buffer_size", &RngDriverOptions::buffer_size),
                                field("buffers", &RngDriverOptions::buffers),
                                field("event_idx", &RngDriverOptions::event_idx),
                                field("no_interrupt", &RngDriverOptions::no_interrupt),
                                field("max_empty_rounds", &RngDriverOptions::max_empty_rounds));
  bind_stats<RngDriverStats>(m, "RngDriverStats", "RngDriver counters",
                             field("buffers_posted", &RngDriverStats::buffers_posted),
                             field("buffers_used", &RngDriverStats::buffers_used),
                             field("bytes", &RngDriverStats::bytes),
                             field("short_buffers", &RngDriverStats::short_buffers));
  py::class_<RngDriver> rng(m, "RngDriver", "virtio-rng driver over a TransportDriver");
  rng.def(py::init<TransportDriver&, GuestAllocator&, const RngDriverOptions&>(), py::arg("transport"),
          py::arg("ram"), py::arg("options") = RngDriverOptions{}, py::keep_alive<1, 2>(), py::keep_alive<1, 3>())
      .def("init", [](RngDriver& d) { check(d.init()); })
      .def(
          "read", [](RngDriver& d, std::size_t n) { return to_bytes(unwrap(d.read(n))); }, py::arg("n"))
      .def("stats", &RngDriver::stats, py::return_value_policy::copy)
      .def("transport", &RngDriver::transport, py::return_value_policy::reference_internal);
  consts(rng, {{"kDeviceId", RngDriver::kDeviceId}});

  py::module_ vb = m.def_submodule("vblk", "virtio-blk numbers the driver uses");
  consts(vb, {{"kSectorSize", vblk::kSectorSize}, {"kHeaderSize", vblk::kHeaderSize}, {"kIdBytes", vblk::kIdBytes},
              {"kFeatSizeMax", vblk::kFeatSizeMax}, {"kFeatSegMax", vblk::kFeatSegMax}, {"kFeatRo", vblk::kFeatRo},
              {"kFeatBlkSize", vblk::kFeatBlkSize}, {"kFeatFlush", vblk::kFeatFlush},
              {"kCfgCapacity", vblk::kCfgCapacity}, {"kCfgSizeMax", vblk::kCfgSizeMax},
              {"kCfgSegMax", vblk::kCfgSegMax}, {"kCfgBlkSize", vblk::kCfgBlkSize}, {"kTypeIn", vblk::kTypeIn},
              {"kTypeOut", vblk::kTypeOut}, {"kTypeFlush", vblk::kTypeFlush}, {"kTypeGetId", vblk::kTypeGetId},
              {"kStatusOk", vblk::kStatusOk}, {"kStatusIoErr", vblk::kStatusIoErr},
              {"kStatusUnsupp", vblk::kStatusUnsupp}});
  bind_struct<BlkDriverOptions>(m, "BlkDriverOptions", "BlkDriver tunables",
                                field("queue_size", &BlkDriverOptions::queue_size),
                                field("slots", &BlkDriverOptions::slots),
                                field("max_request_bytes", &BlkDriverOptions::max_request_bytes),
                                field("event_idx", &BlkDriverOptions::event_idx),
                                field("no_interrupt", &BlkDriverOptions::no_interrupt),
                                field("bounds_check", &BlkDriverOptions::bounds_check));
  bind_stats<BlkDriverStats>(m, "BlkDriverStats", "BlkDriver counters", field("requests", &BlkDriverStats::requests),
                             field("bytes_read", &BlkDriverStats::bytes_read),
                             field("bytes_written", &BlkDriverStats::bytes_written),
                             field("max_in_flight", &BlkDriverStats::max_in_flight));
  py::class_<BlkDriver> blk(m, "BlkDriver", "virtio-blk driver over a TransportDriver");
  blk.def(py::init<TransportDriver&, GuestAllocator&, const BlkDriverOptions&>(), py::arg("transport"),
          py::arg("ram"), py::arg("options") = BlkDriverOptions{}, py::keep_alive<1, 2>(), py::keep_alive<1, 3>())
      .def("init", [](BlkDriver& d) { check(d.init()); })
      .def("refresh_capacity", [](BlkDriver& d) { return unwrap(d.refresh_capacity()); })
      .def(
          "read",
          [](BlkDriver& d, std::uint64_t sector, std::size_t length) {
            std::vector<std::uint8_t> out(length);
            check(d.read(sector, out));
            return to_bytes(out);
          },
          py::arg("sector"), py::arg("length"))
      .def(
          "write", [](BlkDriver& d, std::uint64_t sector, const py::object& data) { check(d.write(sector, from_bytes(data))); },
          py::arg("sector"), py::arg("data"))
      .def("flush", [](BlkDriver& d) { check(d.flush()); })
      .def("get_id", [](BlkDriver& d) { return unwrap(d.get_id()); })
      .def(
          "execute",
          [](BlkDriver& d, std::uint32_t type, std::uint64_t sector, const py::object& out, std::uint32_t in_len) {
            const std::vector<std::uint8_t> data = from_bytes(out);
            BlkRequest req{.type = type, .sector = sector, .out = data, .in_len = in_len};
            return to_bytes(unwrap(d.execute(req)));
          },
          py::arg("type"), py::arg("sector") = 0, py::arg("out") = py::bytes(), py::arg("in_len") = 0,
          "one raw request; returns the in_len data bytes the device wrote")
      .def("capacity", &BlkDriver::capacity)
      .def("read_only", &BlkDriver::read_only)
      .def("max_request_bytes", &BlkDriver::max_request_bytes)
      .def("stats", &BlkDriver::stats, py::return_value_policy::copy)
      .def("transport", &BlkDriver::transport, py::return_value_policy::reference_internal);
  consts(blk, {{"kDeviceId", BlkDriver::kDeviceId}});
}

}  // namespace

void bind_driver(py::module_& m) {
  bind_errors(m);
  bind_alloc(m);
  bind_probe(m);
  bind_msix(m);
  bind_link(m);
  bind_amp_driver(m);
  bind_bus_driver(m);
  bind_split_queue(m);
  bind_transport_driver(m);
  bind_device_drivers(m);
}

}  // namespace vmsg::pyb

// vmsg::devices: the rng, blk and balloon backends and the factory by QEMU
// device name. Every backend made here is shareable with a DeviceTransport
// (shared_backend.hpp).
#include "common.hpp"
#include "shared_backend.hpp"
#include "vmsg/devices/balloon.hpp"
#include "vmsg/devices/blk.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/devices/rng.hpp"
#include "vmsg/devices/stimulus.hpp"

namespace vmsg::pyb {

namespace {

using namespace vmsg::devices;

/// Property values as a command line would spell them: bools on/off, the rest str().
DeviceProps to_props(const py::dict& props) {
  DeviceProps out;
  for (const auto& kv : props) {
    const std::string key = py::str(kv.first);
    if (py::isinstance<py::bool_>(kv.second)) {
      out[key] = kv.second.cast<bool>() ? "on" : "off";
    } else {
      out[key] = py::str(kv.second);
    }
  }
  return out;
}

void bind_blk(py::module_& m) {
  py::module_ c = m.def_submodule("blk", "virtio-blk constants");
  consts(c, {{"kSectorSize", blk::kSectorSize}, {"kHeaderSize", blk::kHeaderSize}, {"kIdSize", blk::kIdSize},
             {"kConfigSize", blk::kConfigSize}, {"kFeatSegMax", blk::kFeatSegMax}, {"kFeatRo", blk::kFeatRo},
             {"kFeatBlkSize", blk::kFeatBlkSize}, {"kFeatFlush", blk::kFeatFlush},
             {"kCfgCapacity", blk::kCfgCapacity}, {"kCfgSizeMax", blk::kCfgSizeMax}, {"kCfgSegMax", blk::kCfgSegMax},
             {"kCfgGeometry", blk::kCfgGeometry}, {"kCfgBlkSize", blk::kCfgBlkSize}, {"kTypeIn", blk::kTypeIn},
             {"kTypeOut", blk::kTypeOut}, {"kTypeFlush", blk::kTypeFlush}, {"kTypeGetId", blk::kTypeGetId},
             {"kStatusOk", blk::kStatusOk}, {"kStatusIoErr", blk::kStatusIoErr},
             {"kStatusUnsupp", blk::kStatusUnsupp}, {"kMaxCapacitySectors", blk::kMaxCapacitySectors}});
  bind_struct<BlkOptions>(m, "BlkOptions", "how a BlkBackend is built",
                          field("capacity_sectors", &BlkOptions::capacity_sectors),
                          field("read_only", &BlkOptions::read_only), field("blk_size", &BlkOptions::blk_size),
                          field("seg_max", &BlkOptions::seg_max), field("serial", &BlkOptions::serial),
                          field("max_queue_size", &BlkOptions::max_queue_size),
                          field("bad_sectors", &BlkOptions::bad_sectors), field("poll_ns", &BlkOptions::poll_ns));
  bind_stats<BlkStats>(m, "BlkStats", "BlkBackend counters", field("reads", &BlkStats::reads),
                       field("writes", &BlkStats::writes), field("flushes", &BlkStats::flushes),
                       field("get_ids", &BlkStats::get_ids), field("errors", &BlkStats::errors),
                       field("unsupported", &BlkStats::unsupported), field("malformed", &BlkStats::malformed),
                       field("bytes_read", &BlkStats::bytes_read), field("bytes_written", &BlkStats::bytes_written));
  py::class_<BlkBackend, transport::Backend, std::shared_ptr<BlkBackend>> cls(m, "BlkBackend",
                                                                              "virtio-blk over a RAM disk");
  cls.def(py::init([](const BlkOptions& o) { return share_backend(std::make_unique<BlkBackend>(o)); }),
          py::arg("options") = BlkOptions{})
      .def("options", &BlkBackend::options, py::return_value_policy::copy)
      .def("stats", &BlkBackend::stats, py::return_value_policy::copy)
      .def(
          "disk_read",
          [](const BlkBackend& b, std::uint64_t offset, std::uint64_t length) {
            const auto d = b.disk();
            if (offset > d.size() || length > d.size() - offset) throw py::index_error("outside the disk");
            return to_bytes(d.subspan(offset, length));
          },
          py::arg("offset"), py::arg("length"))
      .def(
          "disk_write",
          [](BlkBackend& b, std::uint64_t offset, const py::object& data) {
            const std::vector<std::uint8_t> v = from_bytes(data);
            const auto d = b.disk();
            if (offset > d.size() || v.size() > d.size() - offset) throw py::index_error("outside the disk");
            std::copy(v.begin(), v.end(), d.begin() + static_cast<std::ptrdiff_t>(offset));
          },
          py::arg("offset"), py::arg("data"))
      .def("disk_size", [](const BlkBackend& b) { return b.disk().size(); });
  consts(cls, {{"kDeviceId", BlkBackend::kDeviceId}, {"kDefaultMaxQueueSize", BlkBackend::kDefaultMaxQueueSize}});
}

void bind_balloon(py::module_& m) {
  py::module_ c = m.def_submodule("balloon", "virtio-balloon constants");
  consts(c, {{"kFeatMustTellHost", balloon::kFeatMustTellHost}, {"kInflateQueue", balloon::kInflateQueue},
             {"kDeflateQueue", balloon::kDeflateQueue}, {"kCfgNumPages", balloon::kCfgNumPages},
             {"kCfgActual", balloon::kCfgActual}, {"kConfigSize", balloon::kConfigSize},
             {"kMaxTrackedPages", balloon::kMaxTrackedPages}});
  bind_stats<BalloonStats>(m, "BalloonStats", "BalloonBackend counters",
                           field("inflate_chains", &BalloonStats::inflate_chains),
                           field("deflate_chains", &BalloonStats::deflate_chains),
                           field("inflated_pfns", &BalloonStats::inflated_pfns),
                           field("deflated_pfns", &BalloonStats::deflated_pfns),
                           field("unknown_deflates", &BalloonStats::unknown_deflates),
                           field("dropped_pfns", &BalloonStats::dropped_pfns),
                           field("trailing_bytes", &BalloonStats::trailing_bytes));
  py::class_<BalloonBackend, transport::Backend, std::shared_ptr<BalloonBackend>> cls(m, "BalloonBackend",
                                                                                      "virtio-balloon");
  cls.def(py::init([](std::uint32_t initial_target, std::size_t max_tracked, std::uint32_t max_queue_size) {
            return share_backend(std::make_unique<BalloonBackend>(initial_target, max_tracked, max_queue_size));
          }),
          py::arg("initial_target") = 0, py::arg("max_tracked") = balloon::kMaxTrackedPages,
          py::arg("max_queue_size") = BalloonBackend::kDefaultMaxQueueSize)
      .def("set_target", &BalloonBackend::set_target, py::arg("pages"),
           "device-side config change: new num_pages, generation bump and EVENT_CONFIG")
      .def("target", &BalloonBackend::target)
      .def("actual", &BalloonBackend::actual)
      .def("inflated_count", &BalloonBackend::inflated_count)
      .def("is_inflated", &BalloonBackend::is_inflated, py::arg("pfn"))
      .def("inflated", &BalloonBackend::inflated, py::return_value_policy::copy)
      .def("stats", &BalloonBackend::stats, py::return_value_policy::copy);
  consts(cls, {{"kDeviceId", BalloonBackend::kDeviceId},
               {"kDefaultMaxQueueSize", BalloonBackend::kDefaultMaxQueueSize}});
}

}  // namespace

void bind_devices(py::module_& m) {
  py::class_<RngBackend, transport::Backend, std::shared_ptr<RngBackend>> rng(m, "RngBackend",
                                                                              "virtio-rng with a seeded stream");
  rng.def(py::init([](std::uint64_t seed, std::uint32_t max_queue_size) {
            return share_backend(std::make_unique<RngBackend>(seed, max_queue_size));
          }),
          py::arg("seed") = RngBackend::kDefaultSeed, py::arg("max_queue_size") = RngBackend::kDefaultMaxQueueSize)
      .def("seed", &RngBackend::seed)
      .def("bytes_generated", &RngBackend::bytes_generated)
      .def("requests", &RngBackend::requests);
  consts(rng, {{"kDeviceId", RngBackend::kDeviceId}, {"kDefaultMaxQueueSize", RngBackend::kDefaultMaxQueueSize},
               {"kDefaultSeed", RngBackend::kDefaultSeed}});
  bind_blk(m);
  bind_balloon(m);

  m.def(
      "make_backend",
      [](const std::string& kind, const py::dict& props) -> std::shared_ptr<transport::Backend> {
        return share_backend(make_backend(kind, to_props(props)));
      },
      py::arg("kind"), py::arg("props") = py::dict(),
      "Builds a backend from a QEMU device name and properties; ValueError for what it cannot use.");
  m.def(
      "apply_stimulus",
      [](const std::string& action, transport::Backend& backend) {
        return apply_stimulus(parse_stimulus(action), backend);
      },
      py::arg("action"), py::arg("backend"),
      "Runs a stimulus action (\"config-change dev=N\") on a backend; False when it has no such behaviour.");
  m.def("backend_kinds", [] {
    std::vector<std::string> out;
    for (std::string_view k : backend_kinds()) out.emplace_back(k);
    return out;
  });
}

}  // namespace vmsg::pyb

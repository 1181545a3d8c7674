// vmsg::fifo: layout constants, ring options and counters, and the ring ends
// over a Python-visible 4 KiB queue buffer, so Python can run stateful ring
// tests (and play a hostile peer by writing the buffer directly).
#include <array>
#include <memory>

#include "common.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/fifo/shared_memory.hpp"

namespace vmsg::pyb {

namespace {

using namespace vmsg::fifo;

/// One queue's 4 KiB of shared memory, zero at start, owned by Python.
struct QueueBuffer {
  alignas(64) std::array<std::uint8_t, kQueueSize> bytes{};
  [[nodiscard]] SharedQueueMemory memory() { return SharedQueueMemory(bytes); }
};

void check_range(std::uint64_t off, std::uint64_t len) {
  if (off > kQueueSize || len > kQueueSize - off) throw py::index_error("access outside the 4096-byte queue");
}

template <typename End>
void bind_end_common(py::class_<End>& cls) {
  // Lambdas, not member pointers: the members live in the RingEnd base,
  // which pybind11 would otherwise expect as `self`.
  cls.def("sync", [](End& e) { return e.sync(); }, "re-read the own index from memory (sanitised) and adopt it")
      .def("reset_to", [](End& e, std::uint32_t i) { e.reset_to(i); }, py::arg("index"))
      .def("index", [](const End& e) { return e.index(); }, "the private own index")
      .def("stats", [](const End& e) { return e.stats(); })
      .def("options", [](const End& e) { return e.options(); });
}

}  // namespace

void bind_fifo(py::module_& m) {
  consts(m, {{"kWindowSize", kWindowSize},
             {"kDriverQueueOffset", kDriverQueueOffset},
             {"kDeviceQueueOffset", kDeviceQueueOffset},
             {"kQueueSize", kQueueSize},
             {"kHeadOffset", kHeadOffset},
             {"kTailOffset", kTailOffset},
             {"kSlotsOffset", kSlotsOffset},
             {"kSlotSize", kSlotSize},
             {"kSlotCount", kSlotCount},
             {"kUsableSlots", kUsableSlots},
             {"kMaxMessageSize", kMaxMessageSize}});
  py::enum_<QueueKind>(m, "QueueKind", "which of a FIFO window's two queues")
      .value("Driver", QueueKind::Driver)
      .value("Device", QueueKind::Device);
  m.def("queue_offset", &queue_offset, py::arg("fifo"), py::arg("kind"));
  m.def("slot_offset", &slot_offset, py::arg("index"));
  m.def("next_index", &next_index, py::arg("index"));

  bind_struct<RingOptions>(m, "RingOptions", "ring behaviour knobs (defaults conform)",
                           field("zero_pad", &RingOptions::zero_pad),
                           field("trust_own_index", &RingOptions::trust_own_index));
  bind_stats<RingStats>(m, "RingStats", "ring counters", field("pushes", &RingStats::pushes),
                        field("full_hits", &RingStats::full_hits), field("too_large", &RingStats::too_large),
                        field("pops", &RingStats::pops), field("empty_polls", &RingStats::empty_polls),
                        field("peer_index_out_of_range", &RingStats::peer_index_out_of_range),
                        field("own_index_out_of_range", &RingStats::own_index_out_of_range));
  py::enum_<PushResult>(m, "PushResult", "outcome of a push")
      .value("Ok", PushResult::Ok)
      .value("Full", PushResult::Full)
      .value("TooLarge", PushResult::TooLarge);

  py::class_<QueueBuffer, std::shared_ptr<QueueBuffer>>(m, "QueueBuffer", py::buffer_protocol(),
                                                       "4096 bytes of queue memory (buffer protocol: memoryview(q))")
      .def(py::init<>())
      .def_buffer([](QueueBuffer& q) {
        return py::buffer_info(q.bytes.data(), static_cast<py::ssize_t>(q.bytes.size()));
      })
      .def("__len__", [](const QueueBuffer& q) { return q.bytes.size(); })
      .def(
          "read",
          [](const QueueBuffer& q, std::uint32_t off, std::uint32_t len) {
            check_range(off, len);
            return to_bytes(std::span(q.bytes).subspan(off, len));
          },
          py::arg("offset"), py::arg("length"))
      .def(
          "write",
          [](QueueBuffer& q, std::uint32_t off, const py::object& data) {
            const std::vector<std::uint8_t> v = from_bytes(data);
            check_range(off, v.size());
            std::copy(v.begin(), v.end(), q.bytes.begin() + off);
          },
          py::arg("offset"), py::arg("data"))
      .def(
          "load_index", [](QueueBuffer& q, std::uint32_t off) { check_range(off, 4); return q.memory().load_index(off); },
          py::arg("offset"))
      .def(
          "store_index",
          [](QueueBuffer& q, std::uint32_t off, std::uint32_t v) {
            check_range(off, 4);
            q.memory().store_index(off, v);
          },
          py::arg("offset"), py::arg("value"))
      .def("head", [](QueueBuffer& q) { return q.memory().load_index(kHeadOffset); })
      .def("tail", [](QueueBuffer& q) { return q.memory().load_index(kTailOffset); })
      .def(
          "slot", [](const QueueBuffer& q, std::uint32_t i) {
            if (i >= kSlotCount) throw py::index_error("slot index >= kSlotCount");
            return to_bytes(std::span(q.bytes).subspan(slot_offset(i), kSlotSize));
          },
          py::arg("index"));

  using Producer = RingProducer<SharedQueueMemory>;
  using Consumer = RingConsumer<SharedQueueMemory>;
  py::class_<Producer> producer(m, "RingProducer", "producer end over a QueueBuffer (owns head)");
  producer
      .def(py::init([](QueueBuffer& q, const RingOptions& o) { return Producer(q.memory(), o); }), py::arg("buffer"),
           py::arg("options") = RingOptions{}, py::keep_alive<1, 2>())
      .def(
          "push", [](Producer& p, const py::object& msg) { return p.push(from_bytes(msg)); }, py::arg("msg"))
      .def("free_slots", &Producer::free_slots);
  bind_end_common(producer);

  py::class_<Consumer> consumer(m, "RingConsumer", "consumer end over a QueueBuffer (owns tail)");
  consumer
      .def(py::init([](QueueBuffer& q, const RingOptions& o) { return Consumer(q.memory(), o); }), py::arg("buffer"),
           py::arg("options") = RingOptions{}, py::keep_alive<1, 2>())
      .def(
          "pop",
          [](Consumer& c) -> py::object {
            Slot s{};
            if (!c.pop(s)) return py::none();
            return to_bytes(s);
          },
          "the next 64-byte slot, or None when empty")
      .def("available", &Consumer::available);
  bind_end_common(consumer);
}

}  // namespace vmsg::pyb

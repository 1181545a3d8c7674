// vmsg::virtqueue: the device-side split queue, read-only (what a transport
// has configured), plus its layout and error enums.
#include "common.hpp"
#include "vmsg/virtqueue/split_queue.hpp"

namespace vmsg::pyb {

void bind_virtqueue(py::module_& m) {
  using namespace vmsg::virtqueue;
  consts(m, {{"kMaxQueueSize", kMaxQueueSize}});

  bind_struct<QueueLayout>(m, "QueueLayout", "where a queue's three areas are",
                           field("size", &QueueLayout::size), field("desc_addr", &QueueLayout::desc_addr),
                           field("driver_addr", &QueueLayout::driver_addr),
                           field("device_addr", &QueueLayout::device_addr));
  bind_struct<QueueFeatures>(m, "QueueFeatures", "negotiated features affecting a queue",
                             field("indirect", &QueueFeatures::indirect), field("event_idx", &QueueFeatures::event_idx));
  bind_struct<Segment>(m, "Segment", "one guest buffer segment", field("addr", &Segment::addr),
                       field("len", &Segment::len));
  py::enum_<LayoutError>(m, "LayoutError", "why a layout cannot be used")
      .value("BadSize", LayoutError::BadSize)
      .value("Misaligned", LayoutError::Misaligned)
      .value("AddressOverflow", LayoutError::AddressOverflow);
  py::enum_<QueueError>(m, "QueueError", "why a queue is broken")
      .value("DmaFault", QueueError::DmaFault)
      .value("AvailIndexJump", QueueError::AvailIndexJump)
      .value("DescIndexOutOfRange", QueueError::DescIndexOutOfRange)
      .value("ChainLoop", QueueError::ChainLoop)
      .value("WritableBeforeReadable", QueueError::WritableBeforeReadable)
      .value("BadIndirect", QueueError::BadIndirect)
      .value("LengthOverflow", QueueError::LengthOverflow);

  py::class_<SplitQueue>(m, "SplitQueue", "a configured device-side queue (owned by its transport)")
      .def("layout", &SplitQueue::layout, py::return_value_policy::copy)
      .def("features", &SplitQueue::features, py::return_value_policy::copy)
      .def("last_avail_idx", &SplitQueue::last_avail_idx)
      .def("used_idx", &SplitQueue::used_idx)
      .def("broken", &SplitQueue::broken, py::return_value_policy::copy);
}

}  // namespace vmsg::pyb

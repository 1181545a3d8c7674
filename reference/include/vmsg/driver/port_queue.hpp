// The driver's view of one AMP queue, reached through the port: the same ring
// code the device uses, over guest-physical accesses to BAR1 (§9.5).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vmsg/common/errors.hpp"
#include "vmsg/driver/port_batcher.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/memory.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::driver {

/// fifo::QueueMemory over a port and the guest-physical base of one queue
/// (BAR1 + fifo::queue_offset(f, kind)).
///
/// Indices are single 4-byte MMIO accesses (readl/writel, as the §9.5 recipe
/// and the Linux driver do); the port carries them little-endian, so no byte
/// swapping here. Slots go through mem_read/mem_write. Port calls complete
/// synchronously and in program order, which gives the acquire/release
/// ordering the ring needs.
///
/// Through a PortBatcher (FifoLink's), accesses may be posted or answered
/// from a fetch during an exchange; the batcher keeps their order.
///
/// Holds a non-owning pointer to the port (or batcher), which must outlive the view.
class PortQueueMemory {
 public:
  /// Throws vmsg::ConfigError if `base` is not 4-byte aligned (index accesses
  /// must be naturally aligned 32-bit MMIO, §4).
  PortQueueMemory(port::Port& port, std::uint64_t base) : port_(&port), base_(checked(base)) {}
  PortQueueMemory(PortBatcher& batcher, std::uint64_t base)
      : port_(&batcher.port()), batcher_(&batcher), base_(checked(base)) {}

  /// The view of queue `kind` of FIFO `fifo`, BAR1 being at `bar1`.
  [[nodiscard]] static PortQueueMemory at(port::Port& port, std::uint64_t bar1, std::uint32_t fifo,
                                          fifo::QueueKind kind) {
    return PortQueueMemory(port, bar1 + fifo::queue_offset(fifo, kind));
  }
  [[nodiscard]] static PortQueueMemory at(PortBatcher& batcher, std::uint64_t bar1, std::uint32_t fifo,
                                          fifo::QueueKind kind) {
    return PortQueueMemory(batcher, bar1 + fifo::queue_offset(fifo, kind));
  }

  [[nodiscard]] std::uint32_t load_index(std::uint32_t off) {
    return batcher_ ? batcher_->read32(base_ + off) : static_cast<std::uint32_t>(port_->mmio_read(base_ + off, 4));
  }
  void store_index(std::uint32_t off, std::uint32_t v) {
    if (batcher_) {
      batcher_->write32(base_ + off, v);
    } else {
      port_->mmio_write(base_ + off, 4, v);
    }
  }
  void read_bytes(std::uint32_t off, std::span<std::uint8_t> out) {
    if (batcher_) {
      batcher_->read(base_ + off, out);
    } else {
      port_->mem_read(base_ + off, out);
    }
  }
  void write_bytes(std::uint32_t off, std::span<const std::uint8_t> data) {
    if (batcher_) {
      batcher_->write(base_ + off, data);
    } else {
      port_->mem_write(base_ + off, data);
    }
  }

  /// Guest-physical address of the queue base.
  [[nodiscard]] std::uint64_t base() const noexcept { return base_; }

 private:
  static std::uint64_t checked(std::uint64_t base) {
    if (base % 4 != 0) throw ConfigError("PortQueueMemory: queue base " + std::to_string(base) + " not aligned");
    return base;
  }

  port::Port* port_;
  PortBatcher* batcher_ = nullptr;
  std::uint64_t base_;
};

static_assert(fifo::QueueMemory<PortQueueMemory>);

}  // namespace vmsg::driver

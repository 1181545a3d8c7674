// The device's view of one queue: the 4 KiB of BAR1 RAM it shares with the
// driver (or, in the in-process machine, with another thread).
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>

#include "vmsg/common/errors.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/memory.hpp"

namespace vmsg::fifo {

/// QueueMemory over a byte span of exactly kQueueSize bytes, 4-byte aligned.
///
/// Indices are accessed with std::atomic_ref<std::uint32_t> (acquire loads,
/// release stores), as QEMU and Linux do with 32-bit atomics; slots are plain
/// memcpy, ordered by those index accesses. Indices are le32 in memory
/// (AMP-008) and converted explicitly on big-endian hosts.
///
/// The view does not own the bytes; they must outlive it. It holds no state
/// besides the span, so copies are cheap and equivalent. Accessing the bytes
/// through atomic_ref<uint32_t> is how shared-memory rings are written in
/// practice (the storage is raw bytes owned by the BAR model).
class SharedQueueMemory {
 public:
  /// Throws vmsg::ConfigError unless `queue` is kQueueSize bytes and suitably
  /// aligned for 32-bit atomics.
  explicit SharedQueueMemory(std::span<std::uint8_t> queue) : bytes_(queue) {
    if (queue.size() != kQueueSize) {
      throw ConfigError("SharedQueueMemory: queue must be " + std::to_string(kQueueSize) + " bytes, got " +
                        std::to_string(queue.size()));
    }
    if (reinterpret_cast<std::uintptr_t>(queue.data()) % std::atomic_ref<std::uint32_t>::required_alignment != 0) {
      throw ConfigError("SharedQueueMemory: queue base is not 4-byte aligned");
    }
  }

  /// The view of queue `kind` of FIFO `fifo` inside a whole BAR1 span.
  /// Throws vmsg::ConfigError if that queue does not lie inside `bar1`.
  [[nodiscard]] static SharedQueueMemory in_bar(std::span<std::uint8_t> bar1, std::uint32_t fifo, QueueKind kind) {
    const std::uint64_t off = queue_offset(fifo, kind);
    if (off + kQueueSize > bar1.size()) {
      throw ConfigError("SharedQueueMemory: FIFO " + std::to_string(fifo) + " lies outside BAR1");
    }
    return SharedQueueMemory(bar1.subspan(static_cast<std::size_t>(off), kQueueSize));
  }

  /// Atomic 32-bit load with acquire ordering; le32 in memory.
  [[nodiscard]] std::uint32_t load_index(std::uint32_t off) const {
    return from_le(ref(off).load(std::memory_order_acquire));
  }

  /// Atomic 32-bit store with release ordering; le32 in memory.
  void store_index(std::uint32_t off, std::uint32_t v) const { ref(off).store(to_le(v), std::memory_order_release); }

  void read_bytes(std::uint32_t off, std::span<std::uint8_t> out) const {
    check_range(off, out.size());
    if (!out.empty()) std::memcpy(out.data(), bytes_.data() + off, out.size());
  }

  void write_bytes(std::uint32_t off, std::span<const std::uint8_t> data) const {
    check_range(off, data.size());
    if (!data.empty()) std::memcpy(bytes_.data() + off, data.data(), data.size());
  }

  /// The underlying bytes (for tests and for zeroing a queue at reset).
  [[nodiscard]] std::span<std::uint8_t> bytes() const noexcept { return bytes_; }

 private:
  // Only a broken caller gets here (the ring never passes such offsets); a
  // logic_error beats silent corruption of the neighbouring BAR bytes.
  void check_range(std::uint32_t off, std::size_t len) const {
    if (off > kQueueSize || len > kQueueSize - off) {
      throw std::out_of_range("SharedQueueMemory: access outside the queue");
    }
  }

  [[nodiscard]] std::atomic_ref<std::uint32_t> ref(std::uint32_t off) const {
    if (off % 4 != 0) throw std::out_of_range("SharedQueueMemory: misaligned index access");
    check_range(off, 4);
    return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(bytes_.data() + off));
  }

  [[nodiscard]] static constexpr std::uint32_t bswap(std::uint32_t v) noexcept {
    return ((v & 0xFFu) << 24) | ((v & 0xFF00u) << 8) | ((v >> 8) & 0xFF00u) | (v >> 24);
  }
  [[nodiscard]] static constexpr std::uint32_t to_le(std::uint32_t v) noexcept {
    if constexpr (std::endian::native == std::endian::big) return bswap(v);
    return v;
  }
  [[nodiscard]] static constexpr std::uint32_t from_le(std::uint32_t v) noexcept { return to_le(v); }

  std::span<std::uint8_t> bytes_;
};

static_assert(QueueMemory<SharedQueueMemory>);

}  // namespace vmsg::fifo

// virtio-rng (entropy device, virtio 1.x device ID 4) backed by a seeded
// deterministic generator, so every run of the suite sees the same bytes.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "vmsg/transport/backend.hpp"

namespace vmsg::devices {

/// xoshiro256** 1.0 (Blackman & Vigna), state seeded from one 64-bit value
/// through splitmix64 as the authors recommend. Implemented here rather than
/// taken from <random> so the byte stream is identical on every platform.
class Xoshiro256 {
 public:
  explicit Xoshiro256(std::uint64_t seed) noexcept;
  /// The next 64-bit output.
  [[nodiscard]] std::uint64_t next() noexcept;

 private:
  std::array<std::uint64_t, 4> s_{};
};

/// A continuous byte stream over Xoshiro256: each output word gives 8 bytes,
/// least significant first; unused bytes are kept for the next fill, so the
/// stream does not depend on how callers split it.
class ByteStream {
 public:
  explicit ByteStream(std::uint64_t seed) noexcept : gen_(seed) {}
  void fill(std::span<std::uint8_t> out) noexcept;

 private:
  Xoshiro256 gen_;
  std::uint64_t word_ = 0;
  unsigned left_ = 0;  ///< bytes of word_ not handed out yet (low bytes first)
};

/// The entropy device: no features, one request queue, no config space.
/// Every writable byte of every chain is filled from the stream.
///
/// reset() keeps the stream position: a reset device must not replay bytes
/// it already handed out (replayed entropy would be a real defect), and tests
/// still get reproducible output from the construction seed.
class RngBackend final : public transport::Backend {
 public:
  static constexpr std::uint32_t kDeviceId = 4;
  /// Queue maximum unless the device is built with another (QEMU's is 8).
  static constexpr std::uint32_t kDefaultMaxQueueSize = 256;
  static constexpr std::uint64_t kDefaultSeed = 0x766D'7367'726E'6700;  // "vmsgrng"

  /// `max_queue_size` is what GET_VQUEUE reports for queue 0: a power of two
  /// in 1..32768 (make_backend checks it). `poll_ns` > 0 makes the device poll
  /// its queue that long after each kick (Backend::poll_window_ns).
  explicit RngBackend(std::uint64_t seed = kDefaultSeed,
                      std::uint32_t max_queue_size = kDefaultMaxQueueSize, std::uint64_t poll_ns = 0) noexcept
      : seed_(seed), queue_max_(max_queue_size), poll_ns_(poll_ns), st_{ByteStream(seed)} {}

  [[nodiscard]] std::uint32_t device_id() const override { return kDeviceId; }
  [[nodiscard]] std::uint64_t device_features() const override { return 0; }
  [[nodiscard]] unsigned num_queues() const override { return 1; }
  [[nodiscard]] std::uint32_t max_queue_size(unsigned q) const override { return q == 0 ? queue_max_ : 0; }
  [[nodiscard]] std::uint32_t config_size() const override { return 0; }
  void read_config(std::uint32_t offset, std::span<std::uint8_t> out) const override;
  [[nodiscard]] bool write_config(std::uint32_t offset, std::span<const std::uint8_t> data) override;
  void reset() override {}
  [[nodiscard]] virtqueue::Status process(unsigned q, virtqueue::SplitQueue& queue) override;
  [[nodiscard]] std::uint64_t poll_window_ns() const override { return poll_ns_; }
  /// The generator's position and the counters.
  [[nodiscard]] snapshot::Handle save_state() const override;
  void restore_state(const snapshot::Handle& state) override;

  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
  /// Bytes written into guest buffers since construction (reset keeps it).
  [[nodiscard]] std::uint64_t bytes_generated() const noexcept { return st_.bytes_generated; }
  /// Chains used since construction.
  [[nodiscard]] std::uint64_t requests() const noexcept { return st_.requests; }

 private:
  std::uint64_t seed_;
  std::uint32_t queue_max_;
  std::uint64_t poll_ns_;
  /// Everything a snapshot keeps, in one struct copied whole, so a field
  /// added here is saved and restored without further code.
  struct State {
    ByteStream stream;
    std::uint64_t bytes_generated = 0;
    std::uint64_t requests = 0;
  };
  State st_;
};

}  // namespace vmsg::devices

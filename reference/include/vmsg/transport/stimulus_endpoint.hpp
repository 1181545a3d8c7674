// Target-side stimuli the conformance suite arms on the reference device to
// watch how a driver reacts (REV1-2026 driver rules): a device reset that
// completes only after some status reads (REV1 L1490-1493, L1530-1535), and
// requests the device stops answering (REV1 L563-568).
//
// A decorator around a device endpoint (normally a DeviceTransport), placed
// between it and the ValidatingEndpoint so the validator judges the driver
// against what the device was seen to do. Nothing is armed by default, and
// then every message passes through unchanged.
#pragma once

#include <cstdint>
#include <memory>

#include "vmsg/bus/endpoint.hpp"

namespace vmsg::transport {

/// Counters of one StimulusEndpoint.
struct StimulusStats {
  std::uint64_t dropped_requests = 0;  ///< requests consumed without effect or answer
  std::uint64_t slow_status = 0;       ///< status answers reported as "reset still running"
};

/// Endpoint decorator with armable device behaviours. Not copyable or movable
/// (the outbox rewrite points back at it).
class StimulusEndpoint final : public bus::Endpoint {
 public:
  /// `inner` must not be null (vmsg::ConfigError).
  explicit StimulusEndpoint(std::shared_ptr<bus::Endpoint> inner);
  ~StimulusEndpoint() override;
  StimulusEndpoint(const StimulusEndpoint&) = delete;
  StimulusEndpoint& operator=(const StimulusEndpoint&) = delete;

  void attach(std::uint16_t dev_num, bus::Outbox& out) override;
  void attach_memory(pci::DmaSpace& memory) override;
  void receive(const wire::Message& m) override;
  void advance_time(std::uint64_t ns) override;
  /// What is armed, the reset in progress, the counters, and the inner
  /// endpoint's state (which may refuse).
  [[nodiscard]] snapshot::Handle save_state() const override;
  void restore_state(const snapshot::Handle& state) override;

  /// The next reset (SET_DEVICE_STATUS 0) is carried out at once, but its
  /// answer and the next `reads - 1` GET_DEVICE_STATUS answers report the
  /// status from before it, as a device whose reset is still running; later
  /// reads report the real status (0). 0 disarms.
  void slow_reset(unsigned reads) noexcept { slow_reads_ = reads; }
  /// The next `n` transport requests (EVENT_AVAIL is no request) are consumed
  /// without reaching the device and without an answer.
  void drop_requests(unsigned n) noexcept { drop_ = n; }

  [[nodiscard]] bus::Endpoint& inner() noexcept { return *inner_; }
  [[nodiscard]] const StimulusStats& stats() const noexcept { return stats_; }

 private:
  class Rewrite;

  std::shared_ptr<bus::Endpoint> inner_;
  std::unique_ptr<Rewrite> rewrite_;
  unsigned slow_reads_ = 0;
  unsigned drop_ = 0;
  unsigned stale_reads_left_ = 0;  ///< GET_DEVICE_STATUS answers still to report stale_status_
  std::uint32_t stale_status_ = 0; ///< what a running reset reports
  std::uint32_t last_status_ = 0;  ///< the status the device last reported
  bool rewrite_now_ = false;       ///< the request being handled gets stale_status_
  StimulusStats stats_{};

  struct State {
    unsigned slow_reads;
    unsigned drop;
    unsigned stale_reads_left;
    std::uint32_t stale_status;
    std::uint32_t last_status;
    bool rewrite_now;
    StimulusStats stats;
    snapshot::Handle inner;
  };
};

}  // namespace vmsg::transport

// An endpoint decorator that records everything passing through it, in both
// directions, and changes nothing. fuzz_transport puts one on each side of
// the validating endpoint: if the validator is transparent, both probes see
// the very same driver messages, time steps and device messages.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "vmsg/bus/endpoint.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::fuzz {

/// Records the traffic of the endpoint it wraps (see the file comment).
/// Not copyable or movable: the inner endpoint posts to a member outbox.
class TrafficProbe final : public bus::Endpoint {
 public:
  /// What went through since the last clear(), in order.
  struct Traffic {
    std::vector<wire::Message> in;     ///< driver messages handed to receive()
    std::vector<wire::Message> out;    ///< messages the inner endpoint posted
    std::vector<std::uint64_t> time;   ///< advance_time() steps
    friend bool operator==(const Traffic&, const Traffic&) = default;
  };

  explicit TrafficProbe(std::shared_ptr<bus::Endpoint> inner);
  ~TrafficProbe() override;
  TrafficProbe(const TrafficProbe&) = delete;
  TrafficProbe& operator=(const TrafficProbe&) = delete;

  void attach(std::uint16_t dev_num, bus::Outbox& out) override;
  void attach_memory(pci::DmaSpace& memory) override;
  void receive(const wire::Message& m) override;
  void advance_time(std::uint64_t ns) override;
  /// The inner endpoint's state with the probe's own (traffic, count).
  [[nodiscard]] snapshot::Handle save_state() const override;
  void restore_state(const snapshot::Handle& state) override;

  [[nodiscard]] const Traffic& traffic() const noexcept { return traffic_; }
  /// Driver messages received since construction (never cleared).
  [[nodiscard]] std::uint64_t received() const noexcept { return received_; }
  void clear() noexcept;

 private:
  class Tap;
  struct State {
    snapshot::Handle inner;
    Traffic traffic;
    std::uint64_t received = 0;
  };

  std::shared_ptr<bus::Endpoint> inner_;
  std::unique_ptr<Tap> tap_;
  Traffic traffic_;
  std::uint64_t received_ = 0;
};

}  // namespace vmsg::fuzz

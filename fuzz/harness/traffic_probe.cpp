#include "harness/traffic_probe.hpp"

#include <utility>

namespace vmsg::fuzz {

/// The outbox handed to the inner endpoint: notes each post, then forwards it.
class TrafficProbe::Tap final : public bus::Outbox {
 public:
  Tap(TrafficProbe& owner, bus::Outbox& out) : owner_(owner), out_(out) {}
  void post(const wire::Message& m) override {
    owner_.traffic_.out.push_back(m);
    out_.post(m);
  }

 private:
  TrafficProbe& owner_;
  bus::Outbox& out_;
};

TrafficProbe::TrafficProbe(std::shared_ptr<bus::Endpoint> inner) : inner_(std::move(inner)) {}

TrafficProbe::~TrafficProbe() = default;

void TrafficProbe::attach(std::uint16_t dev_num, bus::Outbox& out) {
  tap_ = std::make_unique<Tap>(*this, out);
  inner_->attach(dev_num, *tap_);
}

void TrafficProbe::attach_memory(pci::DmaSpace& memory) { inner_->attach_memory(memory); }

void TrafficProbe::receive(const wire::Message& m) {
  traffic_.in.push_back(m);
  ++received_;
  inner_->receive(m);
}

void TrafficProbe::advance_time(std::uint64_t ns) {
  traffic_.time.push_back(ns);
  inner_->advance_time(ns);
}

snapshot::Handle TrafficProbe::save_state() const {
  return snapshot::make(this, State{inner_->save_state(), traffic_, received_});
}

void TrafficProbe::restore_state(const snapshot::Handle& state) {
  const State& s = snapshot::get<State>(state, this, "traffic probe");
  inner_->restore_state(s.inner);  // first: it may refuse
  traffic_ = s.traffic;
  received_ = s.received;
}

void TrafficProbe::clear() noexcept {
  traffic_.in.clear();
  traffic_.out.clear();
  traffic_.time.clear();
}

}  // namespace vmsg::fuzz

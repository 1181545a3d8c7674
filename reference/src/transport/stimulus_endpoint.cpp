#include "vmsg/transport/stimulus_endpoint.hpp"

#include <utility>
#include <variant>

#include "vmsg/common/errors.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::transport {

/// The Outbox the inner endpoint posts to: remembers the reported status and
/// replaces it in the answers a running reset rewrites.
class StimulusEndpoint::Rewrite final : public bus::Outbox {
 public:
  Rewrite(StimulusEndpoint& owner, bus::Outbox& out) : owner_(owner), out_(out) {}
  void post(const wire::Message& m) override {
    wire::Message copy = m;
    if (auto* ss = std::get_if<wire::SetDeviceStatusResp>(&copy.body)) {
      owner_.last_status_ = ss->status;
      if (owner_.rewrite_now_) rewrite(ss->status);
    } else if (auto* gs = std::get_if<wire::GetDeviceStatusResp>(&copy.body)) {
      owner_.last_status_ = gs->status;
      if (owner_.rewrite_now_) rewrite(gs->status);
    } else if (const auto* ev = std::get_if<wire::EventConfig>(&copy.body)) {
      owner_.last_status_ = ev->device_status;
    }
    out_.post(copy);
  }

 private:
  void rewrite(std::uint32_t& status) {
    status = owner_.stale_status_;
    ++owner_.stats_.slow_status;
  }
  StimulusEndpoint& owner_;
  bus::Outbox& out_;
};

StimulusEndpoint::StimulusEndpoint(std::shared_ptr<bus::Endpoint> inner) : inner_(std::move(inner)) {
  if (!inner_) throw ConfigError("StimulusEndpoint: inner endpoint is required");
}

StimulusEndpoint::~StimulusEndpoint() = default;

void StimulusEndpoint::attach(std::uint16_t dev_num, bus::Outbox& out) {
  rewrite_ = std::make_unique<Rewrite>(*this, out);
  inner_->attach(dev_num, *rewrite_);
}

snapshot::Handle StimulusEndpoint::save_state() const {
  return snapshot::make(this, State{slow_reads_, drop_, stale_reads_left_, stale_status_, last_status_, rewrite_now_,
                                    stats_, inner_->save_state()});
}

void StimulusEndpoint::restore_state(const snapshot::Handle& state) {
  const State& s = snapshot::get<State>(state, this, "stimulus endpoint");
  inner_->restore_state(s.inner);  // first: it may refuse
  slow_reads_ = s.slow_reads;
  drop_ = s.drop;
  stale_reads_left_ = s.stale_reads_left;
  stale_status_ = s.stale_status;
  last_status_ = s.last_status;
  rewrite_now_ = s.rewrite_now;
  stats_ = s.stats;
}

void StimulusEndpoint::attach_memory(pci::DmaSpace& memory) { inner_->attach_memory(memory); }

void StimulusEndpoint::advance_time(std::uint64_t ns) { inner_->advance_time(ns); }

void StimulusEndpoint::receive(const wire::Message& m) {
  if (drop_ > 0 && !std::holds_alternative<wire::EventAvail>(m.body)) {
    --drop_;
    ++stats_.dropped_requests;
    return;
  }
  const auto* ss = std::get_if<wire::SetDeviceStatusReq>(&m.body);
  const bool reset = ss != nullptr && (ss->status & 0xFF) == 0;
  if (reset && slow_reads_ > 0) {
    // "Still running" must read non-zero (REV1 L1532-1535), even for a reset
    // of a device that had status 0 already.
    stale_status_ = last_status_ != 0 ? last_status_ : wire::status::kAcknowledge;
    stale_reads_left_ = slow_reads_ - 1;
    slow_reads_ = 0;
    rewrite_now_ = true;
  } else if (std::holds_alternative<wire::GetDeviceStatusReq>(m.body) && stale_reads_left_ > 0) {
    --stale_reads_left_;
    rewrite_now_ = true;
  } else if (reset) {
    stale_reads_left_ = 0;  // a later plain reset completes at once
  }
  try {
    inner_->receive(m);
  } catch (...) {
    rewrite_now_ = false;
    throw;
  }
  rewrite_now_ = false;
}

}  // namespace vmsg::transport

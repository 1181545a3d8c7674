#include "vmsg/driver/bus_driver.hpp"

#include <utility>
#include <variant>

namespace vmsg::driver {

Result<wire::Message, LinkError> BusDriver::request(const wire::Message& m) {
  ++stats_.requests;
  auto r = link_->request(m);
  if (!r && r.error() == LinkError::Malformed) ++stats_.malformed;
  // Whatever arrived before the response is older than it: file it now so the
  // caller can apply it before the response.
  file_parked();
  return r;
}

Result<std::size_t, LinkError> BusDriver::send_event(const wire::Message& m) {
  const unsigned budget = link_->config().max_polls;
  for (unsigned i = 0;; ++i) {
    auto sent = link_->send(m);
    if (sent) {
      link_->ring();
      ++stats_.events_sent;
      return sent;
    }
    if (sent.error() != LinkError::QueueFull || i >= budget) return sent;
    // The device takes requests only while it has room for responses: make
    // room on our side, ring so it drains, and give it time.
    ++stats_.full_retries;
    link_->ring();
    pump();
    idle(link_->config().poll_step_ns);
  }
}

std::size_t BusDriver::pump() {
  if (link_->take_msi()) ++stats_.msis;
  file_parked();
  std::size_t n = 0;
  while (auto r = link_->receive()) {
    ++n;
    if (!*r) {
      ++stats_.malformed;  // VMSG-DRV-005: never act on what does not decode
      continue;
    }
    file(std::move(*r).value());
  }
  stats_.frames_pumped += n;
  return n;
}

void BusDriver::idle(std::uint64_t ns) { link_->port().advance_time(ns); }

std::deque<wire::Message> BusDriver::take_events(std::uint16_t dev) {
  auto it = events_.find(dev);
  if (it == events_.end()) return {};
  std::deque<wire::Message> out = std::move(it->second);
  events_.erase(it);
  return out;
}

bool BusDriver::has_events(std::uint16_t dev) const {
  auto it = events_.find(dev);
  return it != events_.end() && !it->second.empty();
}

void BusDriver::discard_events(std::uint16_t dev) { events_.erase(dev); }

void BusDriver::file_parked() {
  auto& parked = link_->events();
  while (!parked.empty()) {
    wire::Message m = std::move(parked.front());
    parked.pop_front();
    file(std::move(m));
  }
}

void BusDriver::file(wire::Message m) {
  std::uint16_t dev = 0;
  if (std::holds_alternative<wire::EventUsed>(m.body) || std::holds_alternative<wire::EventConfig>(m.body)) {
    dev = m.dev_num;  // the device puts its own number there (VMSG-DEV-018)
  } else if (const auto* d = std::get_if<wire::EventDevice>(&m.body)) {
    dev = d->device_number;  // bus event (dev_num 0): filed under the device it is about
  } else {
    // A response nobody is waiting for, or a request from the device side:
    // nothing in this driver asked for it.
    ++stats_.stray_frames;
    return;
  }
  ++stats_.events_filed;
  events_[dev].push_back(std::move(m));
}

}  // namespace vmsg::driver

#include "vmsg/driver/rng_driver.hpp"

#include <algorithm>
#include <string>

#include "vmsg/common/errors.hpp"

namespace vmsg::driver {

RngDriver::RngDriver(TransportDriver& transport, GuestAllocator& ram, const RngDriverOptions& options)
    : t_(&transport), ram_(&ram), options_(options) {
  if (options.buffer_size == 0 || options.buffers == 0) throw ConfigError("rng driver: buffer_size and buffers must be > 0");
}

VStatus RngDriver::init() {
  auto info = t_->get_info();
  if (!info) return Err{info.error()};
  if (info->device_id != kDeviceId) {
    return fail(VirtioErrc::BadResponse, "rng driver: device " + std::to_string(t_->dev_num()) + " has device_id " +
                                             std::to_string(info->device_id) + ", not 4");
  }
  std::uint64_t wanted = vfeature::bit(vfeature::kVersion1);
  if (options_.event_idx) wanted |= vfeature::bit(vfeature::kEventIdx);
  // The reset inside init() takes every buffer back from the device.
  posted_.clear();
  free_bufs_.clear();
  if (auto r = t_->init(wanted); !r) return Err{r.error()};
  auto q = t_->setup_queue_fitted(0, options_.queue_size, *ram_, options_.no_interrupt);
  if (!q) return Err{q.error()};
  // A device with a small maximum (QEMU: 8) gets a small ring; one buffer per
  // descriptor, so no more in flight than it has entries.
  in_flight_limit_ = std::min<std::size_t>(options_.buffers, (*q)->size());
  while (buffers_.size() < options_.buffers) buffers_.push_back(ram_->alloc(options_.buffer_size));
  for (std::size_t i = buffers_.size(); i > 0; --i) free_bufs_.push_back(i - 1);
  return t_->driver_ok();
}

VStatus RngDriver::read_into(std::span<std::uint8_t> out) {
  SplitQueueDriver* ring = t_->queue(0);
  if (ring == nullptr || t_->phase() != Phase::Live) return fail(VirtioErrc::NotReady, "rng driver: init() first");
  std::size_t outstanding = 0;  // bytes asked for and not yet returned
  for (const auto& [head, p] : posted_) outstanding += p.len;
  std::size_t got = 0;
  unsigned empty_rounds = 0;
  while (got < out.size()) {
    while (!free_bufs_.empty() && posted_.size() < in_flight_limit_ && ring->num_free() > 0 &&
           got + outstanding < out.size()) {
      const auto len =
          static_cast<std::uint32_t>(std::min<std::size_t>(options_.buffer_size, out.size() - got - outstanding));
      const BufferSegment seg{buffers_[free_bufs_.back()], len};
      auto head = ring->add({}, std::span<const BufferSegment>(&seg, 1));
      if (!head) return Err{head.error()};
      posted_[*head] = Posted{free_bufs_.back(), len};
      free_bufs_.pop_back();
      outstanding += len;
      ++stats_.buffers_posted;
    }
    if (auto s = t_->notify(0); !s) return s;
    auto used = t_->wait_used(0);
    if (!used) return Err{used.error()};
    std::size_t round = 0;
    for (const UsedElem& u : *used) {
      auto it = posted_.find(u.id);
      if (it == posted_.end()) {
        // The ring checked the id is an in-flight head, and only we add to this queue.
        return fail(VirtioErrc::BadUsedId, "rng driver: used id " + std::to_string(u.id) + " was not posted here");
      }
      const Posted p = it->second;
      posted_.erase(it);
      // The ring checked u.len <= p.len. Buffers left over from an earlier,
      // failed read may bring more than this read still needs.
      const std::size_t take = std::min<std::size_t>(u.len, out.size() - got);
      t_->bus().link().port().mem_read(buffers_[p.buf], out.subspan(got, take));
      got += take;
      round += u.len;
      outstanding -= std::min<std::size_t>(outstanding, p.len);
      free_bufs_.push_back(p.buf);
      ++stats_.buffers_used;
      if (u.len < p.len) ++stats_.short_buffers;
    }
    stats_.bytes += round;
    empty_rounds = round == 0 ? empty_rounds + 1 : 0;
    if (empty_rounds > options_.max_empty_rounds) {
      return fail(VirtioErrc::Timeout, "rng driver: " + std::to_string(empty_rounds) + " rounds of empty buffers");
    }
  }
  return Unit{};
}

VResult<std::vector<std::uint8_t>> RngDriver::read(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  if (auto s = read_into(out); !s) return Err{s.error()};
  return out;
}

}  // namespace vmsg::driver

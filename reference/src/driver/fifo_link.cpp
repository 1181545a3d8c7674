#include "vmsg/driver/fifo_link.hpp"

#include <array>
#include <optional>
#include <utility>

#include "vmsg/fifo/layout.hpp"

namespace vmsg::driver {

namespace {

inline constexpr std::uint64_t kNotifyBase = 0x20;  // BAR0 + 0x20 + 4q (AMP-005)

bool answers(const wire::Message& req, const wire::Message& resp) {
  return wire::is_response(resp.body) && wire::msg_id(resp.body) == wire::msg_id(req.body) &&
         wire::is_bus(resp.body) == wire::is_bus(req.body) &&
         (wire::is_bus(req.body) || resp.dev_num == req.dev_num);
}

}  // namespace

std::string_view to_string(LinkError e) noexcept {
  switch (e) {
    case LinkError::Unencodable:
      return "unencodable";
    case LinkError::QueueFull:
      return "queue-full";
    case LinkError::NoResponse:
      return "no-response";
    case LinkError::Malformed:
      return "malformed";
  }
  return "?";
}

FifoLink::FifoLink(port::Port& port, const FifoLinkConfig& config)
    : port_(&port),
      config_(config),
      io_(std::make_unique<PortBatcher>(port)),
      tx_(PortQueueMemory::at(*io_, config.bar1, config.fifo, fifo::QueueKind::Driver),
          fifo::RingOptions{.cache_peer_index = config.cache_peer_index}),
      rx_(PortQueueMemory::at(*io_, config.bar1, config.fifo, fifo::QueueKind::Device),
          fifo::RingOptions{.cache_peer_index = config.cache_peer_index}) {
  // Adopt whatever state the rings are in (fresh RAM reads as zero).
  tx_.sync();
  rx_.sync();
}

fifo::PushResult FifoLink::post(std::span<const std::uint8_t> frame) { return tx_.push(frame); }

void FifoLink::ring() { io_->kick(config_.bar0 + kNotifyBase + 4u * config_.fifo, 1); }

std::optional<fifo::Slot> FifoLink::poll() {
  fifo::Slot s;
  if (!rx_.pop(s)) return std::nullopt;
  return s;
}

std::uint32_t FifoLink::waiting() { return rx_.available(); }

bool FifoLink::take_msi() { return config_.msi && driver::take_msi(*port_, *config_.msi); }

Result<std::size_t, LinkError> FifoLink::send(const wire::Message& m) {
  std::array<std::uint8_t, fifo::kSlotSize> buf{};
  auto n = wire::encode(m, config_.profile, buf);
  if (!n) return Err{LinkError::Unencodable};
  if (post(std::span<const std::uint8_t>(buf.data(), *n)) != fifo::PushResult::Ok) return Err{LinkError::QueueFull};
  return *n;
}

std::optional<Result<wire::Message, wire::DecodeFailure>> FifoLink::receive() {
  auto s = poll();
  if (!s) return std::nullopt;
  return wire::decode(*s, config_.profile);
}

Result<wire::Message, LinkError> FifoLink::request(const wire::Message& m) {
  const PortBatcher::Exchange exchange(*io_);
  const std::uint64_t device_head = rx_.memory().base() + fifo::kHeadOffset;
  const std::uint64_t driver_tail = tx_.memory().base() + fifo::kTailOffset;
  // The two checks below (frames left over, room to send) in one round trip,
  // or none when the previous exchange's fetch still holds.
  io_->fetch({device_head, driver_tail}, {});
  while (auto r = receive()) {  // left over from earlier exchanges
    if (!*r) {
      last_failure_ = r->error();  // nothing asked for it: not this request's failure
    } else if (wire::is_response(r->value().body)) {
      ++stray_responses_;
    } else {
      events_.push_back(std::move(*r).value());
    }
  }
  for (unsigned attempt = 0;; ++attempt) {
    if (auto sent = send(m); !sent) return Err{sent.error()};
    ring();
    if (auto done = await_answer(m)) return std::move(*done);
    if (attempt >= config_.retries) return Err{LinkError::NoResponse};
    ++resends_;  // the bounded retry of REV1 L563-564
  }
}

std::optional<Result<wire::Message, LinkError>> FifoLink::await_answer(const wire::Message& m) {
  const std::uint64_t device_head = rx_.memory().base() + fifo::kHeadOffset;
  const std::uint64_t driver_tail = tx_.memory().base() + fifo::kTailOffset;
  // Everything that arrives until the answer: events are kept, a frame that
  // does not decode ends the exchange. nullopt while the answer is not there.
  auto take_answer = [&]() -> std::optional<Result<wire::Message, LinkError>> {
    while (auto r = receive()) {
      if (!*r) {
        last_failure_ = r->error();
        return Err{LinkError::Malformed};
      }
      if (answers(m, r->value())) return std::move(*r).value();
      events_.push_back(std::move(*r).value());
    }
    return std::nullopt;
  };
  // The head, the slot the next frame would be in, and the driver-queue tail
  // (for the next request's room check).
  auto look = [&] {
    io_->fetch({device_head, driver_tail}, {rx_.memory().base() + fifo::slot_offset(rx_.index())});
  };
  for (unsigned i = 0; i <= config_.max_polls; ++i) {
    look();  // the first goes out behind the posted request: QEMU answers inside the doorbell write
    if (auto done = take_answer()) return done;
    if (i == 0 && io_->port().pipelines()) {
      // A target runs its event loop between round trips, not inside a batch:
      // look once more in a trip of its own, as the unbatched exchange's
      // first poll did, before any time passes.
      io_->forget();
      look();
      if (auto done = take_answer()) return done;
    }
    if (i < config_.max_polls) io_->advance_time(config_.poll_step_ns);
  }
  return std::nullopt;
}

}  // namespace vmsg::driver

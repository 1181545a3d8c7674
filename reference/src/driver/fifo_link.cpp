#include "vmsg/driver/fifo_link.hpp"

#include <array>

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
      tx_(PortQueueMemory::at(port, config.bar1, config.fifo, fifo::QueueKind::Driver)),
      rx_(PortQueueMemory::at(port, config.bar1, config.fifo, fifo::QueueKind::Device)) {
  // Adopt whatever state the rings are in (fresh RAM reads as zero).
  tx_.sync();
  rx_.sync();
}

fifo::PushResult FifoLink::post(std::span<const std::uint8_t> frame) { return tx_.push(frame); }

void FifoLink::ring() { port_->mmio_write(config_.bar0 + kNotifyBase + 4u * config_.fifo, 4, 1); }

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
  while (auto r = receive()) {  // left over from earlier exchanges
    if (!*r) {
      last_failure_ = r->error();  // nothing asked for it: not this request's failure
    } else if (wire::is_response(r->value().body)) {
      ++stray_responses_;
    } else {
      events_.push_back(std::move(*r).value());
    }
  }
  if (auto sent = send(m); !sent) return Err{sent.error()};
  ring();
  for (unsigned i = 0; i <= config_.max_polls; ++i) {
    while (auto r = receive()) {
      if (!*r) {
        last_failure_ = r->error();
        return Err{LinkError::Malformed};
      }
      if (answers(m, r->value())) return std::move(*r).value();
      events_.push_back(std::move(*r).value());
    }
    if (i < config_.max_polls) port_->advance_time(config_.poll_step_ns);
  }
  return Err{LinkError::NoResponse};
}

}  // namespace vmsg::driver

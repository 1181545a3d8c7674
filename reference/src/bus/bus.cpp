// Device-side virtio-msg bus: validation, routing, bus messages, stamping.
//
// The routing rules are documented on Bus::receive (bus.hpp).
#include "vmsg/bus/bus.hpp"

#include <algorithm>
#include <string>
#include <variant>

#include "vmsg/bus/driver_frame_rules.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::bus {
namespace {

/// GET_DEVICES response bytes before the bitmap (header, offset, count, next_offset).
constexpr std::uint32_t kGetDevicesFixed = 14;
/// Largest count a le16 field can carry that is a multiple of 8 (PR28), or at all (REV1).
constexpr std::uint32_t kMaxAlignedCount = 0xFFF8;
constexpr std::uint32_t kMaxRev1Count = 0xFFFF;
/// Device numbers are le16: a window never reaches past 65536 (VMSG-BUS-045/046).
constexpr std::uint32_t kDeviceNumberSpace = 0x10000;

/// Device->driver transport events: the only non-responses a device may post.
bool is_device_event(const wire::Body& b) {
  return std::holds_alternative<wire::EventConfig>(b) || std::holds_alternative<wire::EventUsed>(b);
}

}  // namespace

/// The request an endpoint is handling right now; lives on receive()'s stack.
struct Bus::InFlight {
  std::uint16_t token = 0;
  std::uint8_t msg_id = 0;
  std::uint32_t responses = 0;  ///< responses posted so far
  std::uint8_t reserved_type_bits = 0;  ///< the request's, echoed only by a fault mode
};

/// The Outbox handed to the endpoint at one plug. Detached on unplug rather
/// than destroyed, because the endpoint may still hold the reference.
class Bus::DeviceOutbox final : public Outbox {
 public:
  DeviceOutbox(Bus& bus, std::uint16_t dev_num) : bus_(bus), dev_num_(dev_num) {}
  void post(const wire::Message& m) override { bus_.post_from(dev_num_, *this, m); }
  void detach() noexcept { attached_ = false; }
  void reattach() noexcept { attached_ = true; }
  [[nodiscard]] bool attached() const noexcept { return attached_; }

 private:
  Bus& bus_;
  std::uint16_t dev_num_;
  bool attached_ = true;
};

Bus::Bus(wire::Profile profile, FrameSink& sink, BusOptions options)
    : profile_(profile), sink_(sink), options_(options) {
  const bool rev1 = profile_.layout == wire::Layout::Rev1;
  const std::uint32_t min = rev1 ? wire::kRev1MinMaxMsgSize : kMinBusMaxMsgSize;
  if (profile_.max_msg_size < min || profile_.max_msg_size > wire::kMaxEncodableSize) {
    throw ConfigError("virtio-msg bus: max_msg_size " + std::to_string(profile_.max_msg_size) + " outside [" +
                      std::to_string(min) + ", 65535] (" + (rev1 ? "REV1 L252, L274-275" : "VMSG-BUS-008") + ")");
  }
}

Bus::~Bus() = default;

void Bus::plug(std::uint16_t dev_num, Endpoint& endpoint) {
  if (dev_num >= kMaxDevices) {
    throw ConfigError("virtio-msg bus: device number " + std::to_string(dev_num) +
                      " out of range (0.." + std::to_string(kMaxDevices - 1) + ")");
  }
  Slot& slot = slots_[dev_num];
  if (slot.endpoint != nullptr) {
    throw ConfigError("virtio-msg bus: device number " + std::to_string(dev_num) + " already in use");
  }
  outboxes_.push_back(std::make_unique<DeviceOutbox>(*this, dev_num));
  DeviceOutbox* box = outboxes_.back().get();
  // Occupy the slot before attach() so an endpoint may post (e.g. an initial
  // event) from inside attach; undo if attach throws.
  slot.endpoint = &endpoint;
  slot.outbox = box;
  try {
    endpoint.attach(dev_num, *box);
  } catch (...) {
    box->detach();
    slot = Slot{};
    throw;
  }
  if (options_.announce_hotplug) announce(dev_num, wire::bus_state::kReady);
}

void Bus::unplug(std::uint16_t dev_num) {
  if (!present(dev_num)) {
    throw ConfigError("virtio-msg bus: no device plugged at " + std::to_string(dev_num));
  }
  Slot& slot = slots_[dev_num];
  slot.outbox->detach();
  slot = Slot{};
  if (options_.announce_hotplug) announce(dev_num, wire::bus_state::kRemoved);
}

void Bus::unplug_all() noexcept {
  for (auto& box : outboxes_) box->detach();
  slots_ = {};
  outboxes_.clear();
  ++epoch_;
}

void Bus::reset() noexcept {
  unplug_all();
  stats_ = BusStats{};
}

Bus::State Bus::save() const noexcept {
  State s{this, epoch_, stats_, {}, {}};
  for (std::uint16_t d = 0; d < kMaxDevices; ++d) {
    s.endpoints[d] = slots_[d].endpoint;
    s.outboxes[d] = slots_[d].outbox;
  }
  return s;
}

void Bus::restore(const State& s, bool plugs) {
  if (s.owner != this) throw SnapshotError("virtio-msg bus: the saved state belongs to another bus");
  stats_ = s.stats;
  if (!plugs) return;
  for (std::uint16_t d = 0; d < kMaxDevices; ++d) {
    Slot& slot = slots_[d];
    Endpoint* const want = s.endpoints[d];
    if (slot.endpoint == want) continue;  // plugged by this bus, so its wiring is valid
    if (slot.outbox != nullptr) slot.outbox->detach();
    slot = Slot{};
    if (want == nullptr) continue;
    // The saved outbox was this endpoint's and only ever its: reusing it
    // keeps outboxes_ from growing with every restore.
    DeviceOutbox* box = s.epoch == epoch_ ? static_cast<DeviceOutbox*>(s.outboxes[d]) : nullptr;
    if (box != nullptr) {
      box->reattach();
    } else {
      outboxes_.push_back(std::make_unique<DeviceOutbox>(*this, d));
      box = outboxes_.back().get();
    }
    slot.endpoint = want;
    slot.outbox = box;
    want->attach(d, *box);
  }
}

bool Bus::present(std::uint16_t dev_num) const noexcept {
  return dev_num < kMaxDevices && slots_[dev_num].endpoint != nullptr;
}

std::size_t Bus::device_count() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.endpoint != nullptr; }));
}

std::uint32_t Bus::max_get_devices_count() const noexcept {
  // The constructor guarantees max_msg_size >= 44 > 14.
  const std::uint32_t by_size = (profile_.max_msg_size - kGetDevicesFixed) * 8;
  return std::min(by_size, profile_.layout == wire::Layout::Rev1 ? kMaxRev1Count : kMaxAlignedCount);
}

std::uint64_t Bus::transport_features() const noexcept {
  if (profile_.layout != wire::Layout::Rev1) return 0;
  return options_.strict_config_generation ? wire::transport_feature::kStrictConfigGeneration : 0;
}

void Bus::receive(std::span<const std::uint8_t> frame) {
  ++stats_.frames_received;
  // Decoding is pure, so the bus decodes first and the rule check reuses it.
  auto decoded = wire::decode(frame, profile_);
  if (options_.rule_sink != nullptr) check_driver_frame(*options_.rule_sink, frame, *this, &decoded);
  if (!options_.faults.empty() && fault_pre_decode(frame)) return;
  if (!decoded && decoded.error().error == wire::DecodeError::SizeMismatch &&
      options_.faults.has(fault::Fault::NoSizeCheck)) {
    decoded = fault_decode_shorter(frame);
  }
  if (!decoded) {
    ++stats_.dropped_decode[static_cast<std::size_t>(decoded.error().error)];
    return;
  }
  const wire::Message& m = decoded.value();
  if (wire::is_bus(m.body)) {
    handle_bus(m);
    return;
  }
  if (wire::is_response(m.body)) {
    ++stats_.dropped_response_from_driver;
    return;
  }
  if (is_device_event(m.body)) {
    ++stats_.dropped_wrong_direction_event;
    return;
  }
  if (!present(m.dev_num)) {
    // QEMU answers only for its own 32 slots; numbers past them it drops (D10).
    if (options_.faults.has(fault::Fault::AnswerEmptySlot) && m.dev_num < kMaxDevices && fault_answer_empty_slot(m)) {
      return;
    }
    ++stats_.dropped_no_device;
    return;
  }
  forward(m.dev_num, m);
}

void Bus::handle_bus(const wire::Message& m) {
  // The request's dev_num is not checked: bus messages are addressed to the
  // bus, not a device, and an unexpected value is ignored on receive like any
  // unspecified header value (VMSG-GEN-001). The answer carries 0 (VMSG-BUS-020).
  wire::Message resp;
  resp.dev_num = 0;
  resp.token = response_token(m.token);  // echoed (D36): opaque under PR28, required by REV1 L692-694
  resp.reserved_type_bits =
      options_.faults.has(fault::Fault::EchoReservedTypeBits) ? m.reserved_type_bits : std::uint8_t{0};
  if (const auto* ping = std::get_if<wire::PingReq>(&m.body)) {
    resp.body = wire::PingResp{ping->data};  // exact echo (VMSG-BUS-047)
  } else if (const auto* gd = std::get_if<wire::GetDevicesReq>(&m.body)) {
    resp.body = answer_get_devices(*gd);
  } else if (wire::is_response(m.body)) {
    ++stats_.dropped_response_from_driver;
    return;
  } else if (std::holds_alternative<wire::EventDevice>(m.body)) {
    ++stats_.dropped_wrong_direction_event;  // device-side bus sends it, never receives it
    return;
  } else {
    ++stats_.dropped_unknown_bus_message;
    return;
  }
  if (send(resp)) {
    ++stats_.bus_requests_answered;
    ++stats_.responses_sent;
  }
}

wire::GetDevicesResp Bus::answer_get_devices(const wire::GetDevicesReq& req) const {
  // PR28: the codec has already dropped unaligned offset/count (VMSG-BUS-042,
  // G13), so every bound below is a multiple of 8 and the reduced count stays
  // aligned. REV1 has no alignment: any count, 0 included (L1945-1958).
  const bool rev1 = profile_.layout == wire::Layout::Rev1;
  const std::uint32_t offset = req.offset;
  const std::uint32_t count =
      std::min({static_cast<std::uint32_t>(req.count), max_get_devices_count(),
                kDeviceNumberSpace - offset});  // VMSG-BUS-045, REV1 L1982-1984: reduce only as required
  wire::GetDevicesResp r;
  r.offset = req.offset;
  // Exactly the echoed window (VMSG-BUS-043/046); REV1 L1974-1978: (count + 7) / 8
  // bytes, the bits past count left zero (L1985-1987).
  r.bitmap.assign(rev1 ? (count + 7) / 8 : count / 8, 0);
  if (rev1) r.count = static_cast<std::uint16_t>(count);
  bool more = false;  // a device at or above offset + count
  for (std::uint16_t d = 0; d < kMaxDevices; ++d) {
    if (!present(d) || d < offset) continue;
    const std::uint32_t n = d - offset;
    if (n < count) {
      r.bitmap[n / 8] = static_cast<std::uint8_t>(r.bitmap[n / 8] | (1u << (n % 8)));  // LSB first
    } else {
      more = true;
    }
  }
  // G14 / VMSG-BUS-044: 0 ends the walk; otherwise the window's end, which is
  // aligned and below 65536 because a device (< 32) lies at or beyond it.
  // QEMU returns offset + count even at the end (bug 15). REV1 L1988-1992: a
  // non-terminal next_offset lies above the request offset, so an empty
  // window (count 0), which cannot point past itself, is terminal.
  if (rev1 && count == 0) more = false;
  r.next_offset = more ? static_cast<std::uint16_t>(offset + count) : std::uint16_t{0};
  return r;
}

void Bus::forward(std::uint16_t dev_num, const wire::Message& m) {
  Slot& slot = slots_[dev_num];
  Endpoint& ep = *slot.endpoint;
  if (wire::is_event(m.body)) {
    // EVENT_AVAIL: one-way, never answered (VMSG-BUS-019). No InFlight, so a
    // response posted while handling it counts as unsolicited.
    ++stats_.forwarded_events;
    InFlight* const outer = slot.in_flight;
    slot.in_flight = nullptr;
    ep.receive(m);
    slot.in_flight = outer;
    return;
  }
  ++stats_.forwarded_requests;
  InFlight ctx{m.token, wire::msg_id(m.body), 0, m.reserved_type_bits};
  // Saved and restored so that a (pathological) re-entrant receive for the
  // same device cannot leave a dangling pointer behind.
  InFlight* const outer = slot.in_flight;
  slot.in_flight = &ctx;
  try {
    ep.receive(m);
  } catch (...) {
    slot.in_flight = outer;
    throw;
  }
  slot.in_flight = outer;
  // VMSG-BUS-028: exactly one response per forwarded request. The bus cannot
  // repair a violation (there is no error message), so it records it.
  if (ctx.responses == 0) {
    ++stats_.missing_responses;
  } else if (ctx.responses > 1) {
    stats_.extra_responses += ctx.responses - 1;
  }
}

void Bus::post_from(std::uint16_t dev_num, const DeviceOutbox& from, const wire::Message& m) {
  if (!from.attached()) {
    ++stats_.posts_after_unplug;
    return;
  }
  const bool response = wire::is_response(m.body);
  if (wire::is_bus(m.body) || (!response && !is_device_event(m.body))) {
    ++stats_.invalid_posts;  // requests, EVENT_AVAIL, bus messages are not a device's to send
    return;
  }
  wire::Message out = m;
  if (out.dev_num != dev_num) {
    ++stats_.wrong_dev_num;
    out.dev_num = dev_num;
  }
  out.reserved_type_bits = 0;  // VMSG-BUS-022 / VMSG-DEV-015
  InFlight* const ctx = slots_[dev_num].in_flight;
  if (response) {
    if (ctx == nullptr) {
      ++stats_.unsolicited_responses;
      return;
    }
    ++ctx->responses;
    if (wire::msg_id(out.body) != ctx->msg_id) ++stats_.mismatched_responses;
    out.token = response_token(ctx->token);  // responses echo the request token (D36, REV1 L692-694)
    if (options_.faults.has(fault::Fault::EchoReservedTypeBits)) out.reserved_type_bits = ctx->reserved_type_bits;
    if (send(out)) ++stats_.responses_sent;
  } else {
    out.token = 0;  // events correlate with nothing
    if (send(out)) ++stats_.events_sent;
  }
}

bool Bus::send(const wire::Message& m) {
  auto bytes = wire::encode(m, options_.faults.empty() ? profile_ : encoding_profile(m));
  if (!bytes) {
    ++stats_.unencodable;  // VMSG-DEV-001: never put an oversized message on the wire
    return false;
  }
  if (options_.faults.has(fault::Fault::MaxMessage48) && !wire::is_bus(m.body) &&
      bytes.value().size() > kFaultMaxMessage) {
    ++stats_.suppressed_by_fault;  // QEMU's 48-byte message struct cannot hold it (D2)
    return false;
  }
  sink_.send(bytes.value());
  return true;
}

void Bus::announce(std::uint16_t dev_num, std::uint16_t state) {
  wire::Message ev;
  ev.dev_num = 0;  // bus message (VMSG-BUS-020)
  ev.token = 0;
  ev.body = wire::EventDevice{dev_num, state};
  if (send(ev)) ++stats_.events_sent;
}

void Bus::advance_time(std::uint64_t ns) {
  for (Slot& slot : slots_) {
    if (slot.endpoint != nullptr) slot.endpoint->advance_time(ns);
  }
}

}  // namespace vmsg::bus

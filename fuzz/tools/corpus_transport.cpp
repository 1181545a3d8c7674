// fuzz_transport seeds aimed at the validating peer (corpus_seeds.hpp).
#include <array>
#include <utility>

#include "tools/corpus_seeds.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/constants.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::fuzz::seeds {
namespace {

namespace tops = transport_ops;
using tops::Kind;
namespace st = wire::status;

tops::Op message(wire::Body b, std::uint16_t dev = tops::kDevNum, std::uint8_t type_bits = 0) {
  tops::Op op;
  op.kind = Kind::Message;
  op.flag = dev != tops::kDevNum;  // keep a foreign device number
  op.message = wire::Message{.dev_num = dev, .token = 9, .reserved_type_bits = type_bits, .body = std::move(b)};
  return op;
}

tops::Op status(std::uint32_t s) { return message(wire::SetDeviceStatusReq{s}); }

tops::Op simple(Kind k, std::uint8_t queue = 0, std::uint32_t size = 0) {
  tops::Op op;
  op.kind = k;
  op.queue = queue;
  op.size = size;
  op.count = 0;
  return op;
}

tops::Op bring_up(std::uint8_t queues, std::uint32_t size) {
  tops::Op op;
  op.kind = Kind::BringUp;
  op.count = queues;
  op.size = size;
  op.value = ~std::uint64_t{0};
  return op;
}

tops::Op buffer(std::uint8_t q, std::uint16_t at, bool notify = true) {
  tops::Op op;
  op.kind = Kind::AddBuffer;
  op.queue = q;
  op.chain = {{at, 32, false}, {static_cast<std::uint16_t>(at + 0x40), 64, true}};
  op.notify = notify;
  return op;
}

/// A valid message in a 64-byte slot, then `patch` applied to the bytes.
template <typename Patch>
tops::Op frame(const wire::Message& m, Patch patch, std::size_t keep = fifo::kSlotSize) {
  std::array<std::uint8_t, fifo::kSlotSize> slot{};
  (void)wire::encode(m, wire::Profile::pr28(), slot);
  patch(slot);
  tops::Op op;
  op.kind = Kind::Frame;
  op.bytes.assign(slot.begin(), slot.begin() + static_cast<std::ptrdiff_t>(keep));
  return op;
}

wire::Message to_dev(wire::Body b, std::uint16_t dev = tops::kDevNum) {
  return {.dev_num = dev, .token = 3, .reserved_type_bits = 0, .body = std::move(b)};
}

/// Endpoint rules, one message after another, in an order that reaches each.
std::vector<tops::Op> endpoint_rules() {
  const wire::SetVqueueReq good{.index = 0, .flags = 0, .size = 8, .reserved = 0,
                                .desc_addr = tops::kQueueBase, .driver_addr = tops::kQueueBase + tops::kAvailOffset,
                                .device_addr = tops::kQueueBase + tops::kUsedOffset};
  wire::SetVqueueReq bad{.index = 1, .flags = 1, .size = 3, .reserved = 2,
                         .desc_addr = 0x2001, .driver_addr = 0x2001, .device_addr = 0x2003};
  wire::SetVqueueReq wraps = good;
  wraps.desc_addr = ~std::uint64_t{0} - 15;
  wire::SetVqueueReq huge = good;
  huge.size = 1u << 15;
  return {
      // Before GET_DEVICE_INFO: config and feature/queue traffic.
      message(wire::GetConfigReq{0, 4}), message(wire::SetConfigReq{0, 0, {1}}),
      message(wire::GetDeviceFeaturesReq{0, 2}), message(wire::SetDriverFeaturesReq{0, {1}}),
      message(wire::GetVqueueReq{0}), message(good), message(wire::ResetVqueueReq{0}),
      message(wire::EventAvail{0, 5}),
      message(wire::GetDeviceInfoReq{}),
      // Status sequencing.
      status(0x101), status(st::kDriver), status(st::kAcknowledge), status(st::kAcknowledge | st::kFeaturesOk),
      status(0), status(st::kAcknowledge), status(st::kAcknowledge | st::kDriver),
      status(st::kAcknowledge | st::kDriver | st::kDriverOk), status(st::kAcknowledge | st::kDriver | st::kNeedsReset),
      status(0), status(st::kAcknowledge), status(st::kAcknowledge | st::kDriver),
      status(st::kAcknowledge | st::kDriver | st::kFeaturesOk),  // no SET_DRIVER_FEATURES since the reset
      status(0), status(st::kAcknowledge), status(st::kAcknowledge | st::kDriver),
      // Features: a block never read, bits never offered, then a write after FEATURES_OK.
      message(wire::SetDriverFeaturesReq{5, {1}}), message(wire::GetDeviceFeaturesReq{0, 2}),
      message(wire::SetDriverFeaturesReq{0, {0xFFFFFFFF, 0xFFFFFFFF}}), message(wire::SetDriverFeaturesReq{0, {0, 1}}),
      status(st::kAcknowledge | st::kDriver | st::kFeaturesOk), message(wire::SetDriverFeaturesReq{0, {0, 0x100}}),
      // Queues: unqueried, bad fields, wrapping areas, above max_size.
      message(bad), message(wraps), message(wire::GetVqueueReq{0}), message(huge), message(good),
      message(wire::EventAvail{0, 0}), message(wire::EventAvail{7, 0}),
      // Config: beyond config_size, stale generation, retry after the refusal.
      message(wire::GetConfigReq{0, 0x1000}), message(wire::SetConfigReq{77, 0x1000, {1, 2}}),
      message(wire::SetConfigReq{77, 0, {1}}), message(wire::SetConfigReq{78, 0, {1}}),
      message(wire::GetConfigReq{0, 0}), message(wire::GetDeviceStatusReq{}),
      status(st::kAcknowledge), status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk),
      message(wire::EventAvail{0, 1}), message(wire::ResetVqueueReq{0}), message(wire::GetVqueueReq{0}),
  };
}

/// RING_RESET negotiated: reprogramming live queues before and after DRIVER_OK.
std::vector<tops::Op> ring_reset_rules() {
  const wire::SetVqueueReq q0{.index = 0, .flags = 0, .size = 8, .reserved = 0,
                              .desc_addr = tops::kQueueBase, .driver_addr = tops::kQueueBase + tops::kAvailOffset,
                              .device_addr = tops::kQueueBase + tops::kUsedOffset};
  return {
      bring_up(2, 8), simple(Kind::SetQueue, 0, 8), buffer(0, 0), status(0), message(wire::GetDeviceInfoReq{}),
      status(st::kAcknowledge), status(st::kAcknowledge | st::kDriver), message(wire::GetDeviceFeaturesReq{0, 2}),
      message(wire::SetDriverFeaturesReq{0, {0, 0x101}}), status(st::kAcknowledge | st::kDriver | st::kFeaturesOk),
      message(wire::GetVqueueReq{0}), message(q0), message(q0), message(wire::ResetVqueueReq{0}), message(q0),
      message(wire::GetVqueueReq{0}), status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk),
      message(q0), message(wire::EventAvail{0, 0}),
  };
}

/// A looping chain sets DEVICE_NEEDS_RESET; notifying after a later response breaks a rule.
std::vector<tops::Op> needs_reset_rules() {
  tops::Op loop;
  loop.kind = Kind::RawWrite;
  loop.value = tops::kQueueBase + 12;
  loop.bytes = {0x03, 0x00, 0x00, 0x00};  // desc 0: NEXT|WRITE, next 0
  tops::Op time;
  time.kind = Kind::AdvanceTime;
  time.value = 1000;
  return {bring_up(1, 8), buffer(0, 0, false), loop, simple(Kind::Notify), time,
          message(wire::GetDeviceStatusReq{}), simple(Kind::Notify), message(wire::EventAvail{0, 0}),
          status(0), message(wire::EventAvail{0, 0})};
}

/// Malformed and misaddressed frames: each bus rule, and drops no rule covers.
std::vector<tops::Op> frame_rules() {
  const auto none = [](auto&) {};
  const auto set16 = [](std::size_t at, std::uint16_t v) {
    return [at, v](auto& s) {
      s[at] = static_cast<std::uint8_t>(v);
      s[at + 1] = static_cast<std::uint8_t>(v >> 8);
    };
  };
  const wire::Message ping{.dev_num = 0, .token = 1, .reserved_type_bits = 0, .body = wire::PingReq{1}};
  const wire::Message info = to_dev(wire::GetDeviceInfoReq{});
  const wire::Message devices{.dev_num = 0, .token = 2, .reserved_type_bits = 0, .body = wire::GetDevicesReq{0, 8}};
  std::vector<tops::Op> v = {
      frame(ping, [](auto& s) { s[0] |= 0x10; }),           // reserved type bits (still answered)
      frame(info, [](auto& s) { s[40] = 0xAA; }),           // non-zero slot padding
      frame(info, none, 4),                                  // shorter than a header
      frame(info, set16(6, 4)),                              // msg_size below the header
      frame(info, set16(6, 60)),                             // msg_size beyond the message
      frame(info, set16(6, 200)),                            // msg_size above the bus maximum
      frame(info, set16(6, 40), 24),                         // msg_size beyond the frame
      frame(devices, set16(8, 3)),                           // unaligned GET_DEVICES offset
      frame(devices, set16(10, 12)),                         // unaligned GET_DEVICES count
      frame(info, [](auto& s) { s[1] = 0x7F; }),             // unknown message ID
      frame(info, [](auto& s) { s[0] |= 0x04; s[2] = 9; }),  // reserved bits and an empty device number
      frame(to_dev(wire::GetDeviceInfoReq{}, 9), none),      // empty device number
      frame(to_dev(wire::EventAvail{0, 0}, 9), none),        // event to an empty device number
      frame(to_dev(wire::EventUsed{0}), none),               // device event from the driver
      frame(to_dev(wire::GetDeviceInfoResp{}), none),        // response from the driver
      message(wire::GetDeviceInfoReq{}, 3, 0x08),            // structured: foreign number, type bits
  };
  v.back().flag = true;
  tops::Op padded = frame(info, none, 16);
  padded.flag = true;  // padded back to a whole slot by the harness
  v.push_back(padded);
  return v;
}

/// A polite driver: every operation kind, some of which the harness must drop.
std::vector<tops::Op> polite_stream() {
  tops::Op bad_status = simple(Kind::SetStatus);
  bad_status.count = 4;
  tops::Op reset = simple(Kind::SetStatus);
  tops::Op raw_queue = simple(Kind::SetQueue, 0, 8);
  raw_queue.flag = true;
  tops::Op frame_op;
  frame_op.kind = Kind::Frame;
  frame_op.bytes = {1, 2, 3};
  tops::Op time;
  time.kind = Kind::AdvanceTime;
  time.value = 2'000'000;
  tops::Op far_notify = simple(Kind::Notify, 3);
  return {
      message(wire::GetDeviceInfoReq{}), message(wire::GetDevicesReq{0, 32}), message(wire::GetDevicesReq{4, 8}),
      message(wire::GetDeviceFeaturesReq{0, 2}), message(wire::PingReq{5}), bring_up(2, 6),
      message(wire::GetConfigReq{0, 4}), message(wire::GetConfigReq{0, 0x1000}), message(wire::GetVqueueReq{1}),
      message(wire::GetDeviceStatusReq{}), message(wire::GetShmReq{0}), message(wire::SetConfigReq{0, 0, {1}}),
      buffer(0, 0x100), time, simple(Kind::SetQueue, 0, 16), buffer(0, 0x200), simple(Kind::Notify, 0), time,
      simple(Kind::ResetQueue, 1), simple(Kind::SetQueue, 1, 100), buffer(1, 0x300), far_notify, bad_status,
      raw_queue, frame_op, time, reset, simple(Kind::Notify, 0), buffer(0, 0x400), bring_up(1, 4), buffer(0, 0x500),
      time,
  };
}

}  // namespace

std::vector<TransportSeed> transport_rule_seeds() {
  std::vector<TransportSeed> out;
  for (std::uint8_t kind = 0; kind < tops::kKindCount; ++kind) {
    const std::string tag = std::string(tops::kKinds[kind]).substr(7, 4);
    tops::Setup hostile;
    hostile.kind = kind;
    tops::Setup polite = hostile;
    polite.polite = true;
    out.push_back({"rules-endpoint-" + tag, hostile, endpoint_rules()});
    out.push_back({"rules-ring-reset-" + tag, hostile, ring_reset_rules()});
    out.push_back({"rules-needs-reset-" + tag, hostile, needs_reset_rules()});
    out.push_back({"polite-" + tag, polite, polite_stream()});
    polite.event_idx = false;
    polite.indirect = false;
    out.push_back({"polite-plain-" + tag, polite, polite_stream()});
    // REV1-2026: the same drivers judged by the second draft's rules (R1-*),
    // the polite one under both configuration profiles.
    hostile.profile.rev1 = true;
    polite.profile.rev1 = true;
    out.push_back({"r1-rules-endpoint-" + tag, hostile, endpoint_rules()});
    out.push_back({"r1-rules-ring-reset-" + tag, hostile, ring_reset_rules()});
    out.push_back({"r1-polite-plain-" + tag, polite, polite_stream()});
    polite.event_idx = true;
    polite.indirect = true;
    polite.profile.strict_config_generation = true;
    out.push_back({"r1s-polite-" + tag, polite, polite_stream()});
  }
  out.push_back({"rules-frames", tops::Setup{}, frame_rules()});
  tops::Setup r1_frames;
  r1_frames.profile.rev1 = true;
  out.push_back({"r1-rules-frames", r1_frames, frame_rules()});
  return out;
}

}  // namespace vmsg::fuzz::seeds

// Input format of fuzz_transport (see targets/fuzz_transport.cpp and
// harness/transport_harness.hpp), shared with the seed generator through
// stream_io. Guest RAM is small and laid out like a driver would lay it out
// (kQueueArea per queue: descriptor table, available ring, used ring,
// indirect tables; data buffers after them), so structured operations land
// in meaningful places while raw writes and raw messages can still go anywhere.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/message_io.hpp"
#include "common/profile_prefix.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::fuzz::transport_ops {

/// Backends the target can be built with (devices::make_backend names).
inline constexpr const char* kKinds[] = {"virtio-rng-device", "virtio-blk-device", "virtio-balloon-device"};
inline constexpr std::uint8_t kKindCount = 3;

inline constexpr std::uint64_t kRamSize = 0x10000;
inline constexpr unsigned kMaxQueues = 4;          ///< queues with a harness-managed area
inline constexpr std::uint64_t kQueueBase = 0x1000;
inline constexpr std::uint64_t kQueueArea = 0x1000;  ///< per queue
inline constexpr std::uint64_t kAvailOffset = 0x400;
inline constexpr std::uint64_t kUsedOffset = 0x600;
inline constexpr std::uint64_t kIndirectOffset = 0x900;  ///< indirect tables, to the end of the area
inline constexpr std::uint32_t kMaxRingSize = 64;       ///< largest size the area holds
inline constexpr std::uint64_t kDataBase = kQueueBase + kMaxQueues * kQueueArea;
inline constexpr std::uint64_t kDataSize = kRamSize - kDataBase;
inline constexpr std::uint16_t kDevNum = 1;  ///< where the device under test is plugged
inline constexpr std::size_t kMaxChain = 6;
inline constexpr std::size_t kMaxRaw = 64;
/// Operations run per input: a long input cannot time out the run.
inline constexpr std::size_t kMaxOps = 256;
inline constexpr std::size_t kMaxFrame = 64;  ///< one AMP FIFO slot
/// Messages must fit the 64-byte bus the AMP transport uses.
inline constexpr MessageLimits kLimits{.max_words = 14, .max_bytes = 48};

/// Target shape, from the start of the input.
struct Setup {
  std::uint8_t kind = 0;  ///< index into kKinds
  bool indirect = true;   ///< TransportOptions::offer_indirect
  bool event_idx = true;  ///< TransportOptions::offer_event_idx
  /// Well-behaved driver: the harness drops or adjusts every operation that
  /// would break a driver rule (see TransportHarness), so the validating
  /// peer must record nothing. Hostile otherwise.
  bool polite = false;
  /// The draft of device, bus and validator: from the input's prefix
  /// (take_profile), not from the stream io_setup reads.
  ProfileChoice profile;
};

enum class Kind : std::uint8_t {
  BringUp,     ///< reset, ACK, DRIVER, features (offered & mask), FEATURES_OK, `count` queues, DRIVER_OK
  Message,     ///< a message built from the input (dev_num forced to the device unless `flag`)
  SetStatus,   ///< SET_DEVICE_STATUS: kStatuses[count], or `value` when count is 8
  SetQueue,    ///< SET_VQUEUE for queue `queue`: the harness area (size `size`) or arbitrary addresses
  ResetQueue,  ///< RESET_VQUEUE
  AddBuffer,   ///< a descriptor chain written into the queue's table, made available, optionally notified
  Notify,      ///< EVENT_AVAIL for `queue`
  RawWrite,    ///< bytes written anywhere in RAM (the harness stops predicting rings they touch)
  AdvanceTime, ///< virtual time for asynchronous backends
  Frame,       ///< raw frame bytes (bad sizes, padding, type bits), padded to a 64-byte slot when `flag`
  kCount,
};

/// One buffer of a chain.
struct Segment {
  std::uint16_t offset = 0;  ///< into the data area (reduced modulo its size)
  std::uint16_t len = 0;
  bool write = false;        ///< device-writable
};

struct Op {
  Kind kind = Kind::AdvanceTime;
  std::uint8_t queue = 0;
  std::uint8_t count = 0;        ///< BringUp: queues to configure
  std::uint32_t size = 0;        ///< SetQueue: ring size
  std::uint64_t value = 0;       ///< SetStatus value, BringUp feature mask, time, RawWrite offset
  bool flag = false;             ///< Message: keep dev_num; SetQueue: arbitrary addresses; AddBuffer: indirect
  bool notify = true;            ///< AddBuffer: send EVENT_AVAIL afterwards
  std::array<std::uint64_t, 3> addrs{};  ///< SetQueue with flag: desc, driver, device addresses
  std::vector<Segment> chain;    ///< AddBuffer
  std::vector<std::uint8_t> bytes;  ///< RawWrite, Frame
  wire::Message message;         ///< Message
};

template <class IO>
void io_setup(IO& io, Setup& s) {
  io.range(s.kind, std::uint8_t{0}, static_cast<std::uint8_t>(kKindCount - 1));
  io.flag(s.indirect);
  io.flag(s.event_idx);
  io.flag(s.polite);
}

/// Statuses a driver writes, plus "anything".
inline constexpr std::uint32_t kStatuses[] = {0, 0x1, 0x3, 0xB, 0xF, 0x80, 0x4, 0x40};

template <class IO>
void io_op(IO& io, Op& op) {
  auto k = static_cast<std::uint8_t>(op.kind);
  io.range(k, std::uint8_t{0}, static_cast<std::uint8_t>(static_cast<std::uint8_t>(Kind::kCount) - 1));
  op.kind = static_cast<Kind>(k);
  switch (op.kind) {
    case Kind::BringUp:
      io.range(op.count, std::uint8_t{0}, static_cast<std::uint8_t>(kMaxQueues));
      io.any(op.value);
      io.range(op.size, std::uint32_t{1}, kMaxRingSize);
      break;
    case Kind::Message:
      io.flag(op.flag);
      io_message(io, op.message, kLimits);
      break;
    case Kind::SetStatus:
      io.range(op.count, std::uint8_t{0}, std::uint8_t{8});  // 8: take `value` as is
      if (op.count == 8) io.range(op.value, std::uint64_t{0}, std::uint64_t{0xFFFFFFFF});
      break;
    case Kind::SetQueue:
      io.range(op.queue, std::uint8_t{0}, std::uint8_t{7});
      io.any(op.size);
      io.flag(op.flag);
      if (op.flag) {
        for (auto& a : op.addrs) io.any(a);
      }
      break;
    case Kind::ResetQueue:
    case Kind::Notify:
      io.range(op.queue, std::uint8_t{0}, std::uint8_t{7});
      break;
    case Kind::AddBuffer: {
      io.range(op.queue, std::uint8_t{0}, static_cast<std::uint8_t>(kMaxQueues - 1));
      io.flag(op.flag);
      io.flag(op.notify);
      std::size_t n = op.chain.size();
      io.range(n, std::size_t{1}, kMaxChain);
      if constexpr (IO::kReading) op.chain.assign(n, Segment{});
      for (Segment& s : op.chain) {
        io.any(s.offset);
        io.range(s.len, std::uint16_t{0}, std::uint16_t{0x1000});
        io.flag(s.write);
      }
      break;
    }
    case Kind::RawWrite: {
      io.range(op.value, std::uint64_t{0}, kRamSize + 16);
      std::size_t n = op.bytes.size();
      io.range(n, std::size_t{0}, kMaxRaw);
      io.bytes(op.bytes, n);
      break;
    }
    case Kind::AdvanceTime:
      io.range(op.value, std::uint64_t{0}, std::uint64_t{100'000'000});
      break;
    case Kind::Frame: {
      io.flag(op.flag);
      std::size_t n = op.bytes.size();
      io.range(n, std::size_t{0}, kMaxFrame);
      io.bytes(op.bytes, n);
      break;
    }
    case Kind::kCount:
      break;
  }
}

}  // namespace vmsg::fuzz::transport_ops

// Input format of fuzz_driver (see targets/fuzz_driver.cpp and
// harness/driver_harness.hpp), shared with the seed generator through
// stream_io.
//
// An input is a Setup (what the scripted device claims to be: identity,
// features, config bytes, queue limits; and the driver tunables) followed by
// operations. An operation is either a driver call (which public API of the
// transport, rng or blk driver, with its arguments) carrying a short fault
// plan for the device while that call runs, or a device-side action between
// calls (an unsolicited message, raw bytes in the device queue, DMA into
// guest RAM, a config change, time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/message_io.hpp"
#include "common/profile_prefix.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::fuzz::driver_ops {

inline constexpr std::uint16_t kDevNum = 1;        ///< where the scripted device sits
inline constexpr std::size_t kMaxConfig = 48;      ///< config bytes the device may declare
inline constexpr std::size_t kMaxFaults = 6;       ///< faults per driver call
inline constexpr std::size_t kMaxRaw = 64;         ///< raw frame / DMA bytes
inline constexpr std::uint32_t kDiskSectors = 16;  ///< the blk model's medium
inline constexpr std::uint32_t kMaxQueues = 4;
inline constexpr std::uint32_t kMaxBlkBytes = 4 * 512;  ///< blk read/write length
/// Messages must fit the 64-byte AMP slot.
inline constexpr MessageLimits kLimits{.max_words = 14, .max_bytes = 44};

/// Device kinds: which device ID the model reports.
enum class DevKind : std::uint8_t { Rng, Blk, Other, kCount };

/// What the device claims, and how the drivers are tuned.
struct Setup {
  DevKind kind = DevKind::Rng;
  std::uint32_t other_id = 0;        ///< device ID when kind is Other
  std::uint64_t features = 0;        ///< offered feature bits 0..63 (higher blocks offer nothing)
  std::uint16_t feature_bits = 64;   ///< num_feature_bits in GET_DEVICE_INFO
  std::uint8_t max_queues = 1;       ///< max_virtqueues
  std::uint16_t max_size = 64;       ///< GET_VQUEUE max_size of every existing queue
  std::uint32_t generation = 0;      ///< initial config generation
  std::vector<std::uint8_t> config;  ///< config space (its size is config_size)
  std::uint8_t queue_log2 = 3;       ///< rng/blk queue size 1 << queue_log2 (0..6)
  bool event_idx = true;             ///< rng/blk ask for EVENT_IDX
  bool no_interrupt = false;         ///< rng/blk poll instead of EVENT_USED
  std::uint8_t slots = 2;            ///< blk requests in flight (1..3)
  std::uint8_t request_sectors = 2;  ///< blk max_request_bytes / 512 (1..4)
  std::uint16_t rng_buffer = 64;     ///< rng buffer_size (1..256)
  std::uint8_t rng_buffers = 2;      ///< rng buffers (1..4)
  /// The draft of the drivers' link and the scripted device: from the
  /// input's prefix (take_profile), not from the stream io_setup reads.
  /// Under REV1 feature_bits / 32 rounded up is num_feature_blocks.
  ProfileChoice profile;
};

/// How the device misbehaves at one of its actions. Actions are counted per
/// driver call: every frame the device takes from the driver queue and every
/// descriptor chain it completes is one action.
enum class FaultKind : std::uint8_t {
  // Frames (requests and driver events).
  Drop,        ///< no answer
  Twice,       ///< the answer, then the same answer again
  Late,        ///< the answer only after `a % 8 + 1` time steps
  WrongKind,   ///< a default message of body kind `a` instead of the answer
  WrongDev,    ///< the answer with dev_num ^ (1 + a)
  Token,       ///< the answer with token `a`
  Patch,       ///< the encoded answer with 4 bytes `b` written at byte `a` (may no longer decode)
  Garbage,     ///< 8..64 bytes derived from `b` instead of the answer
  EventFirst,  ///< an event (EVENT_CONFIG / EVENT_USED / EVENT_DEVICE by `a`, fields from `b`) before the answer
  Generation,  ///< the config generation moves (+1 + a) before answering
  Status,      ///< status bits `a` (e.g. NEEDS_RESET) set before answering
  Refuse,      ///< a well-formed refusal: SET_CONFIG length 0, GET_CONFIG no data, status unchanged, queue not programmed
  Deaf,        ///< the device ignores the next `a % 128 + 1` doorbells (the driver queue fills up)
  Terse,       ///< SET_CONFIG applied and acknowledged without echoing the bytes
  // Chains (completions).
  UsedId,      ///< used element id `a`
  UsedLen,     ///< used element len `a`
  UsedJump,    ///< used idx advanced by 2 + a % 4 instead of 1
  Skip,        ///< the chain is never completed
  BlkStatus,   ///< blk status byte `a`
  Short,       ///< only `a % (len + 1)` bytes written and reported
  kCount,
};

struct Fault {
  std::uint8_t at = 0;  ///< action index within the call
  FaultKind kind = FaultKind::Drop;
  std::uint32_t a = 0;
  std::uint64_t b = 0;
};

enum class Kind : std::uint8_t {
  // TransportDriver.
  GetInfo,
  GetStatus,
  Reset,
  Init,           ///< init(value)
  DriverOk,
  ReadConfig,     ///< read_config(offset, len); len 4 / 8 also via read_config32/64 when `flag`
  WriteConfig,    ///< write_config(offset, bytes)
  RefreshConfig,
  SetupQueue,     ///< setup_queue(queue, size, flag)
  ResetQueue,
  Kick,
  Notify,
  Poll,
  TakeUsed,
  WaitUsed,
  CachedConfig,   ///< cached_config(offset, len) and config_stale()
  BusEvents,      ///< BusDriver::has_events, FifoLink::waiting; discard_events when `flag`
  // RngDriver.
  RngInit,
  RngRead,        ///< read(len)
  // BlkDriver.
  BlkInit,
  BlkRead,        ///< read(sector, len bytes)
  BlkWrite,       ///< write(sector, len bytes: `bytes` repeated)
  BlkFlush,
  BlkGetId,
  BlkCapacity,    ///< refresh_capacity()
  BlkExecute,     ///< execute({value type, sector, bytes out, len in})
  // Device-side actions between calls.
  Inject,         ///< the device posts `message` (dev_num forced to the device unless `flag`)
  RawFrame,       ///< `bytes` pushed into the device queue as one slot
  Dma,            ///< `bytes` written at guest address ram_base + offset (inside what the driver allocated unless `flag`)
  RingWrite,      ///< the device writes `value` into field `len` of queue `queue`'s used ring
  ConfigChange,   ///< config byte `offset` becomes `value`, generation + 1, EVENT_CONFIG unless `flag`
  Time,           ///< the bus driver idles `value` ns
  kCount,
};

inline constexpr bool is_driver_call(Kind k) noexcept { return k < Kind::Inject; }

struct Op {
  Kind kind = Kind::Poll;
  std::uint8_t queue = 0;
  std::uint32_t offset = 0;
  std::uint32_t len = 0;
  std::uint64_t sector = 0;
  std::uint64_t value = 0;
  bool flag = false;
  std::vector<std::uint8_t> bytes;
  std::vector<Fault> faults;  ///< driver calls only
  wire::Message message;      ///< Inject
};

template <class IO>
void io_setup(IO& io, Setup& s) {
  auto k = static_cast<std::uint8_t>(s.kind);
  io.range(k, std::uint8_t{0}, static_cast<std::uint8_t>(static_cast<std::uint8_t>(DevKind::kCount) - 1));
  s.kind = static_cast<DevKind>(k);
  if (s.kind == DevKind::Other) io.any(s.other_id);
  io.any(s.features);
  io.range(s.feature_bits, std::uint16_t{0}, std::uint16_t{512});
  io.range(s.max_queues, std::uint8_t{0}, static_cast<std::uint8_t>(kMaxQueues));
  io.any(s.max_size);
  io.any(s.generation);
  std::size_t n = s.config.size();
  io.range(n, std::size_t{0}, kMaxConfig);
  io.bytes(s.config, n);
  io.range(s.queue_log2, std::uint8_t{0}, std::uint8_t{6});
  io.flag(s.event_idx);
  io.flag(s.no_interrupt);
  io.range(s.slots, std::uint8_t{1}, std::uint8_t{3});
  io.range(s.request_sectors, std::uint8_t{1}, std::uint8_t{4});
  io.range(s.rng_buffer, std::uint16_t{1}, std::uint16_t{256});
  io.range(s.rng_buffers, std::uint8_t{1}, std::uint8_t{4});
}

template <class IO>
void io_fault(IO& io, Fault& f) {
  io.range(f.at, std::uint8_t{0}, std::uint8_t{31});
  auto k = static_cast<std::uint8_t>(f.kind);
  io.range(k, std::uint8_t{0}, static_cast<std::uint8_t>(static_cast<std::uint8_t>(FaultKind::kCount) - 1));
  f.kind = static_cast<FaultKind>(k);
  io.any(f.a);
  io.any(f.b);
}

template <class IO>
void io_op(IO& io, Op& op) {
  auto k = static_cast<std::uint8_t>(op.kind);
  io.range(k, std::uint8_t{0}, static_cast<std::uint8_t>(static_cast<std::uint8_t>(Kind::kCount) - 1));
  op.kind = static_cast<Kind>(k);
  const auto raw_bytes = [&](std::size_t max) {
    std::size_t n = op.bytes.size();
    io.range(n, std::size_t{0}, max);
    io.bytes(op.bytes, n);
  };
  switch (op.kind) {
    case Kind::Init:
      io.any(op.value);
      break;
    case Kind::CachedConfig:
    case Kind::ReadConfig:
      io.range(op.offset, std::uint32_t{0}, std::uint32_t{64});
      io.range(op.len, std::uint32_t{0}, std::uint32_t{128});
      io.flag(op.flag);
      break;
    case Kind::WriteConfig:
      io.range(op.offset, std::uint32_t{0}, std::uint32_t{64});
      raw_bytes(kMaxRaw);
      break;
    case Kind::SetupQueue:
      io.range(op.queue, std::uint8_t{0}, static_cast<std::uint8_t>(kMaxQueues));
      io.range(op.len, std::uint32_t{0}, std::uint32_t{128});
      io.flag(op.flag);
      break;
    case Kind::ResetQueue:
    case Kind::Kick:
    case Kind::Notify:
    case Kind::TakeUsed:
    case Kind::WaitUsed:
      io.range(op.queue, std::uint8_t{0}, static_cast<std::uint8_t>(kMaxQueues));
      break;
    case Kind::RngRead:
      io.range(op.len, std::uint32_t{0}, std::uint32_t{512});
      break;
    case Kind::BlkRead:
      io.range(op.sector, std::uint64_t{0}, std::uint64_t{kDiskSectors + 2});
      io.range(op.len, std::uint32_t{0}, std::uint32_t{kMaxBlkBytes});
      break;
    case Kind::BlkWrite:
      io.range(op.sector, std::uint64_t{0}, std::uint64_t{kDiskSectors + 2});
      io.range(op.len, std::uint32_t{0}, std::uint32_t{kMaxBlkBytes});
      raw_bytes(16);
      break;
    case Kind::BlkExecute:
      io.any(op.value);
      io.any(op.sector);
      io.range(op.len, std::uint32_t{0}, std::uint32_t{2048});
      raw_bytes(kMaxRaw);
      break;
    case Kind::Inject:
      io.flag(op.flag);
      io_message(io, op.message, kLimits);
      break;
    case Kind::RawFrame:
      raw_bytes(kMaxRaw);
      break;
    case Kind::Dma:
      io.range(op.offset, std::uint32_t{0}, std::uint32_t{0xFFFF});
      io.flag(op.flag);
      raw_bytes(kMaxRaw);
      break;
    case Kind::BusEvents:
      io.flag(op.flag);
      break;
    case Kind::RingWrite:
      io.range(op.queue, std::uint8_t{0}, static_cast<std::uint8_t>(kMaxQueues - 1));
      io.range(op.len, std::uint32_t{0}, std::uint32_t{18});
      io.any(op.value);
      break;
    case Kind::ConfigChange:
      io.range(op.offset, std::uint32_t{0}, static_cast<std::uint32_t>(kMaxConfig));
      io.any(op.value);
      io.flag(op.flag);
      break;
    case Kind::Time:
      io.range(op.value, std::uint64_t{0}, std::uint64_t{10'000'000});
      break;
    default:
      break;
  }
  if (is_driver_call(op.kind)) {
    std::size_t n = op.faults.size();
    io.range(n, std::size_t{0}, kMaxFaults);
    if constexpr (IO::kReading) op.faults.assign(n, Fault{});
    for (Fault& f : op.faults) io_fault(io, f);
  }
}

}  // namespace vmsg::fuzz::driver_ops

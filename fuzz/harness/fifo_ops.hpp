// Input format of fuzz_fifo (see targets/fuzz_fifo.cpp), shared with the
// seed generator through stream_io.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vmsg/fifo/layout.hpp"

namespace vmsg::fuzz::fifo_ops {

/// Ring options under test, from the start of the input.
struct Setup {
  bool zero_pad = true;
  bool trust_own_index = false;
  bool cache_peer_index = false;
};

enum class Kind : std::uint8_t {
  Push,          ///< producer pushes a sequence-numbered message of `len` bytes (> 64: TooLarge)
  Pop,           ///< consumer pops one slot
  PeerHead,      ///< the peer overwrites head (le32 at 0x00)
  PeerTail,      ///< the peer overwrites tail (le32 at 0x40)
  PeerRaw,       ///< the peer writes raw bytes anywhere in the queue
  SyncProducer,  ///< producer re-adopts head from memory
  SyncConsumer,  ///< consumer re-adopts tail from memory
  Reinit,        ///< a clean restart: indices set to one value, both ends follow
  FreeSlots,     ///< producer asks how much room there is
  Available,     ///< consumer asks how much is waiting
  kCount,
};

/// How a peer picks an index value.
enum class IndexMode : std::uint8_t { Absolute, Boundary, Relative, kCount };
/// Values around the ring's edges (kSlotCount = 62).
inline constexpr std::uint32_t kBoundaryValues[] = {0, 1, 60, 61, 62, 63, 123, 124, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF};
inline constexpr std::size_t kBoundaryCount = sizeof(kBoundaryValues) / sizeof(kBoundaryValues[0]);

inline constexpr std::uint8_t kMaxPushLen = 72;  ///< a few past the 64-byte slot
inline constexpr std::size_t kMaxRawLen = 160;   ///< spans more than two slots

struct Op {
  Kind kind = Kind::Pop;
  std::uint8_t len = 0;                   ///< Push
  IndexMode mode = IndexMode::Absolute;   ///< PeerHead/PeerTail
  std::uint32_t value = 0;                ///< Absolute value, boundary index or relative delta
  std::uint16_t offset = 0;               ///< PeerRaw
  std::vector<std::uint8_t> bytes;        ///< PeerRaw
  std::uint8_t reinit_index = 0;          ///< Reinit: 0..61
  bool reinit_reset_to = false;           ///< Reinit: ends use reset_to (else sync)
};

template <class IO>
void io_setup(IO& io, Setup& s) {
  io.flag(s.zero_pad);
  // One byte: bit 0 trust_own_index (read as a flag before the cache option
  // existed, so older inputs keep their meaning), bit 1 cache_peer_index.
  auto bits = static_cast<std::uint8_t>((s.trust_own_index ? 1 : 0) | (s.cache_peer_index ? 2 : 0));
  io.any(bits);
  s.trust_own_index = (bits & 1) != 0;
  s.cache_peer_index = (bits & 2) != 0;
}

template <class IO>
void io_op(IO& io, Op& op) {
  auto k = static_cast<std::uint8_t>(op.kind);
  io.range(k, std::uint8_t{0}, static_cast<std::uint8_t>(static_cast<std::uint8_t>(Kind::kCount) - 1));
  op.kind = static_cast<Kind>(k);
  switch (op.kind) {
    case Kind::Push:
      io.range(op.len, std::uint8_t{0}, kMaxPushLen);
      break;
    case Kind::PeerHead:
    case Kind::PeerTail: {
      auto m = static_cast<std::uint8_t>(op.mode);
      io.range(m, std::uint8_t{0}, static_cast<std::uint8_t>(static_cast<std::uint8_t>(IndexMode::kCount) - 1));
      op.mode = static_cast<IndexMode>(m);
      if (op.mode == IndexMode::Absolute) {
        io.any(op.value);
      } else if (op.mode == IndexMode::Boundary) {
        io.range(op.value, std::uint32_t{0}, static_cast<std::uint32_t>(kBoundaryCount - 1));
      } else {
        io.range(op.value, std::uint32_t{0}, std::uint32_t{2 * fifo::kSlotCount});
      }
      break;
    }
    case Kind::PeerRaw: {
      io.range(op.offset, std::uint16_t{0}, static_cast<std::uint16_t>(fifo::kQueueSize - 1));
      std::size_t n = op.bytes.size();
      io.range(n, std::size_t{0}, std::min<std::size_t>(kMaxRawLen, fifo::kQueueSize - op.offset));
      io.bytes(op.bytes, n);
      break;
    }
    case Kind::Reinit:
      io.range(op.reinit_index, std::uint8_t{0}, static_cast<std::uint8_t>(fifo::kSlotCount - 1));
      io.flag(op.reinit_reset_to);
      break;
    default:
      break;
  }
}

}  // namespace vmsg::fuzz::fifo_ops

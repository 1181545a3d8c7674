// fuzz_fifo: the AMP SPSC ring (reference/include/vmsg/fifo/ring.hpp) with a
// hostile peer.
//
// One 4 KiB queue, a RingProducer and a RingConsumer over it, and a third
// party ("the peer") that rewrites indices and slot bytes between ring
// operations. The queue memory is a bounds-checking QueueMemory: any access
// outside [0, 4096), a misaligned or misplaced index access, a slot access
// that is not inside one slot, or an end storing the other end's index aborts.
//
// Oracles, after every operation:
//  - Exact effect. An independent model of the ring rules (ring.hpp's trust
//    model: private own index, peer index re-read and reduced mod 62) predicts
//    the result, the exact list of writes the ends make (which bytes, in which
//    order: the slot before the index that publishes it, AMP-012) and their
//    contents, both private indices and every RingStats counter. All memory
//    access goes through the checked wrapper, which logs every write, so
//    "nothing else was written" is checked without comparing all 4 KiB.
//  - Sequence. While the peer has not written since the last clean restart
//    (Reinit), the consumer sees exactly the pushed messages, in order, each
//    once, with zero padding when zero_pad is on; Full, empty, free_slots()
//    and available() agree with the number in flight.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/check.hpp"
#include "common/stream_io.hpp"
#include "harness/fifo_ops.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/ring.hpp"

namespace {

using namespace vmsg::fifo;
namespace ops = vmsg::fuzz::fifo_ops;

constexpr std::size_t kMaxOps = 2000;

std::uint32_t load32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
void store32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

enum class Role : std::uint8_t { Producer, Consumer };

/// One write an end made, in order.
struct Write {
  std::uint32_t off;
  std::size_t len;
  friend bool operator==(const Write&, const Write&) = default;
};

/// QueueMemory that enforces memory.hpp's contract on every access and logs
/// every write (the only way the ring reaches the bytes is through it).
class CheckedQueueMemory {
 public:
  CheckedQueueMemory(std::uint8_t* queue, Role role, std::vector<Write>* log) : q_(queue), role_(role), log_(log) {}

  std::uint32_t load_index(std::uint32_t off) {
    check_index(off);
    return load32(q_ + off);
  }
  void store_index(std::uint32_t off, std::uint32_t v) {
    check_index(off);
    const std::uint32_t own = role_ == Role::Producer ? kHeadOffset : kTailOffset;
    VMSG_FUZZ_CHECK(off == own, "an end stored the other end's index (offset " + std::to_string(off) + ")");
    store32(q_ + off, v);
    log_->push_back({off, 4});
  }
  void read_bytes(std::uint32_t off, std::span<std::uint8_t> out) {
    check_slot(off, out.size());
    if (!out.empty()) std::memcpy(out.data(), q_ + off, out.size());
  }
  void write_bytes(std::uint32_t off, std::span<const std::uint8_t> in) {
    check_slot(off, in.size());
    if (!in.empty()) std::memcpy(q_ + off, in.data(), in.size());
    log_->push_back({off, in.size()});
  }

 private:
  static void check_index(std::uint32_t off) {
    VMSG_FUZZ_CHECK(off < kQueueSize && off % 4 == 0, "misaligned or out-of-range index access at " + std::to_string(off));
    VMSG_FUZZ_CHECK(off == kHeadOffset || off == kTailOffset, "index access off the index words at " + std::to_string(off));
  }
  static void check_slot(std::uint32_t off, std::size_t len) {
    VMSG_FUZZ_CHECK(off < kQueueSize && len <= kQueueSize - off,
                    "slot access outside the queue: " + std::to_string(off) + "+" + std::to_string(len));
    VMSG_FUZZ_CHECK(off >= kSlotsOffset && (off - kSlotsOffset) % kSlotSize + len <= kSlotSize,
                    "byte access not inside one slot: " + std::to_string(off) + "+" + std::to_string(len));
  }
  std::uint8_t* q_;
  Role role_;
  std::vector<Write>* log_;
};

static_assert(QueueMemory<CheckedQueueMemory>);

/// Payload of message `seq`: distinct for distinct sequence numbers (seq in
/// the first bytes), so a duplicate or a stale slot cannot pass for the next one.
std::vector<std::uint8_t> payload(std::uint64_t seq, std::size_t len) {
  std::vector<std::uint8_t> m(len);
  for (std::size_t i = 0; i < len; ++i) {
    m[i] = i < 8 ? static_cast<std::uint8_t>(seq >> (8 * i)) : static_cast<std::uint8_t>(seq * 131 + i * 7 + len);
  }
  return m;
}

/// What one end's private index and counters must be, per ring.hpp.
struct EndModel {
  std::uint32_t own = 0;
  RingStats stats{};
  std::uint32_t peer = 0;  ///< the peer index the end last read (cache_peer_index)
  bool peer_known = false;
};

std::uint32_t sanitise(std::uint32_t raw, std::uint64_t& out_of_range) {
  if (raw < kSlotCount) return raw;
  ++out_of_range;
  return raw % kSlotCount;
}

bool same_stats(const RingStats& a, const RingStats& b) {
  return a.pushes == b.pushes && a.full_hits == b.full_hits && a.too_large == b.too_large && a.pops == b.pops &&
         a.empty_polls == b.empty_polls && a.peer_index_out_of_range == b.peer_index_out_of_range &&
         a.own_index_out_of_range == b.own_index_out_of_range;
}

struct Sent {
  std::uint64_t seq;
  std::size_t len;
};

class Harness {
 public:
  explicit Harness(const ops::Setup& s)
      : opts_{.zero_pad = s.zero_pad, .trust_own_index = s.trust_own_index, .cache_peer_index = s.cache_peer_index},
        mem_(new std::uint8_t[kQueueSize]()),  // exact size: ASan catches a stray access too
        prod_(CheckedQueueMemory(mem_.get(), Role::Producer, &writes_), opts_),
        cons_(CheckedQueueMemory(mem_.get(), Role::Consumer, &writes_), opts_) {}

  void run(const ops::Op& op) {
    writes_.clear();
    want_.clear();
    head0_ = load32(mem_.get() + kHeadOffset);
    tail0_ = load32(mem_.get() + kTailOffset);
    switch (op.kind) {
      case ops::Kind::Push: push(op.len); break;
      case ops::Kind::Pop: pop(); break;
      case ops::Kind::PeerHead: peer_index(kHeadOffset, op); break;
      case ops::Kind::PeerTail: peer_index(kTailOffset, op); break;
      case ops::Kind::PeerRaw: peer_raw(op); break;
      case ops::Kind::SyncProducer: {
        p_.own = sanitise(head0_, p_.stats.own_index_out_of_range);
        p_.peer_known = false;
        VMSG_FUZZ_CHECK(prod_.sync() == p_.own, "producer sync adopted the wrong index");
        break;
      }
      case ops::Kind::SyncConsumer: {
        c_.own = sanitise(tail0_, c_.stats.own_index_out_of_range);
        c_.peer_known = false;
        VMSG_FUZZ_CHECK(cons_.sync() == c_.own, "consumer sync adopted the wrong index");
        break;
      }
      case ops::Kind::Reinit: reinit(op); break;
      case ops::Kind::FreeSlots: free_slots(); break;
      case ops::Kind::Available: available(); break;
      case ops::Kind::kCount: break;
    }
    check_state();
  }

 private:
  void refresh(EndModel& e, std::uint32_t raw_own) {
    if (opts_.trust_own_index) {
      e.own = sanitise(raw_own, e.stats.own_index_out_of_range);
      e.peer_known = false;
    }
  }

  /// The peer index an end reads now from `raw` (a fresh, sanitised read).
  static std::uint32_t read_peer(EndModel& e, std::uint32_t raw) {
    e.peer = sanitise(raw, e.stats.peer_index_out_of_range);
    e.peer_known = true;
    return e.peer;
  }

  /// The peer index a push or pop acts on: with cache_peer_index the last one
  /// read, unless it says `stop` (full or empty); otherwise a fresh read.
  std::uint32_t peer_for(EndModel& e, std::uint32_t raw, std::uint32_t stop) const {
    if (opts_.cache_peer_index && e.peer_known && e.peer != stop) return e.peer;
    return read_peer(e, raw);
  }

  void push(std::size_t len) {
    const auto msg = payload(seq_, len);
    const PushResult r = prod_.push(msg);
    PushResult want = PushResult::Ok;
    if (len > kMaxMessageSize) {
      want = PushResult::TooLarge;
      ++p_.stats.too_large;
    } else {
      refresh(p_, head0_);
      const std::uint32_t next = next_index(p_.own);
      const std::uint32_t tail = peer_for(p_, tail0_, next);
      if (next == tail) {
        want = PushResult::Full;
        ++p_.stats.full_hits;
      } else {
        // Slot first, then the index that publishes it (AMP-012).
        const std::uint32_t slot = slot_offset(p_.own);
        if (opts_.zero_pad) {
          want_.push_back({slot, kSlotSize});
        } else if (len != 0) {
          want_.push_back({slot, len});
        }
        want_.push_back({kHeadOffset, 4});
        const std::uint8_t* now = mem_.get() + slot;
        VMSG_FUZZ_CHECK(r != PushResult::Ok || len == 0 || std::memcmp(now, msg.data(), len) == 0,
                        "slot does not hold the message");
        if (opts_.zero_pad && r == PushResult::Ok) {
          VMSG_FUZZ_CHECK(std::all_of(now + len, now + kSlotSize, [](std::uint8_t b) { return b == 0; }),
                          "slot not zero-padded (AMP-015)");
        }
        VMSG_FUZZ_CHECK(r != PushResult::Ok || load32(mem_.get() + kHeadOffset) == next, "head not published as own + 1");
        p_.own = next;
        ++p_.stats.pushes;
      }
    }
    VMSG_FUZZ_CHECK(r == want, "push returned " + std::to_string(static_cast<int>(r)) + ", model says " +
                                   std::to_string(static_cast<int>(want)));
    if (clean_) {
      if (len <= kMaxMessageSize) {
        VMSG_FUZZ_CHECK((r == PushResult::Full) == (inflight_.size() == kUsableSlots),
                        "Full with " + std::to_string(inflight_.size()) + " messages in flight");
      }
      if (r == PushResult::Ok) inflight_.push_back({seq_, len});
    }
    if (r == PushResult::Ok) ++seq_;
  }

  void pop() {
    Slot out{};
    const bool got = cons_.pop(out);
    refresh(c_, tail0_);
    const std::uint32_t head = peer_for(c_, head0_, c_.own);
    const bool want = head != c_.own;
    VMSG_FUZZ_CHECK(got == want, std::string("pop ") + (got ? "returned a slot" : "found the queue empty") +
                                     ", model disagrees");
    if (want) {
      // Slots are not written by a pop (the write log proves it), so memory
      // still holds what the consumer should have copied.
      VMSG_FUZZ_CHECK(std::memcmp(out.data(), mem_.get() + slot_offset(c_.own), kSlotSize) == 0,
                      "pop returned bytes other than slot[tail]");
      want_.push_back({kTailOffset, 4});
      c_.own = next_index(c_.own);
      VMSG_FUZZ_CHECK(load32(mem_.get() + kTailOffset) == c_.own, "tail not released as own + 1");
      ++c_.stats.pops;
    } else {
      ++c_.stats.empty_polls;
    }
    if (!clean_) return;
    if (!got) {
      VMSG_FUZZ_CHECK(inflight_.empty(), "empty while " + std::to_string(inflight_.size()) + " messages are in flight");
      return;
    }
    VMSG_FUZZ_CHECK(!inflight_.empty(), "popped a message nobody pushed");
    const Sent s = inflight_.front();
    inflight_.pop_front();
    const auto msg = payload(s.seq, s.len);
    VMSG_FUZZ_CHECK(std::equal(msg.begin(), msg.end(), out.begin()),
                    "popped message is not #" + std::to_string(s.seq) + " (lost, duplicated or reordered)");
    if (opts_.zero_pad) {
      VMSG_FUZZ_CHECK(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(s.len), out.end(),
                                  [](std::uint8_t b) { return b == 0; }),
                      "slot padding is not zero");
    }
  }

  void peer_index(std::uint32_t off, const ops::Op& op) {
    std::uint32_t v = op.value;
    if (op.mode == ops::IndexMode::Boundary) v = ops::kBoundaryValues[op.value % ops::kBoundaryCount];
    if (op.mode == ops::IndexMode::Relative) v = load32(mem_.get() + off) + op.value;
    store32(mem_.get() + off, v);
    clean_ = false;
  }

  void peer_raw(const ops::Op& op) {
    const std::size_t n = std::min<std::size_t>(op.bytes.size(), kQueueSize - op.offset);
    std::copy_n(op.bytes.begin(), n, mem_.get() + op.offset);
    if (n != 0) clean_ = false;
  }

  void reinit(const ops::Op& op) {
    // The peer (re)initialises the indices, then both ends adopt them.
    const std::uint32_t k = op.reinit_index % kSlotCount;
    store32(mem_.get() + kHeadOffset, k);
    store32(mem_.get() + kTailOffset, k);
    if (op.reinit_reset_to) {
      prod_.reset_to(k);
      cons_.reset_to(k);
      want_.push_back({kHeadOffset, 4});
      want_.push_back({kTailOffset, 4});
    } else {
      VMSG_FUZZ_CHECK(prod_.sync() == k && cons_.sync() == k, "sync after reinit adopted the wrong index");
    }
    VMSG_FUZZ_CHECK(load32(mem_.get() + kHeadOffset) == k && load32(mem_.get() + kTailOffset) == k,
                    "reset_to published another index");
    p_.own = c_.own = k;
    p_.peer_known = c_.peer_known = false;
    clean_ = true;
    inflight_.clear();
  }

  void free_slots() {
    const std::uint32_t r = prod_.free_slots();
    refresh(p_, head0_);
    const std::uint32_t tail = read_peer(p_, tail0_);
    const std::uint32_t want = (tail + kSlotCount - p_.own - 1) % kSlotCount;
    VMSG_FUZZ_CHECK(r == want, "free_slots " + std::to_string(r) + ", model " + std::to_string(want));
    if (clean_) VMSG_FUZZ_CHECK(r == kUsableSlots - inflight_.size(), "free_slots disagrees with messages in flight");
  }

  void available() {
    const std::uint32_t r = cons_.available();
    refresh(c_, tail0_);
    const std::uint32_t head = read_peer(c_, head0_);
    const std::uint32_t want = (head + kSlotCount - c_.own) % kSlotCount;
    VMSG_FUZZ_CHECK(r == want, "available " + std::to_string(r) + ", model " + std::to_string(want));
    if (clean_) VMSG_FUZZ_CHECK(r == inflight_.size(), "available disagrees with messages in flight");
  }

  void check_state() {
    VMSG_FUZZ_CHECK(writes_ == want_, "the ends wrote " + describe(writes_) + ", the rules allow " + describe(want_));
    VMSG_FUZZ_CHECK(prod_.index() == p_.own && cons_.index() == c_.own,
                    "private index moved: producer " + std::to_string(prod_.index()) + "/" + std::to_string(p_.own) +
                        ", consumer " + std::to_string(cons_.index()) + "/" + std::to_string(c_.own));
    VMSG_FUZZ_CHECK(prod_.index() < kSlotCount && cons_.index() < kSlotCount, "private index out of range");
    VMSG_FUZZ_CHECK(same_stats(prod_.stats(), p_.stats), "producer counters differ from the model");
    VMSG_FUZZ_CHECK(same_stats(cons_.stats(), c_.stats), "consumer counters differ from the model");
  }

  static std::string describe(const std::vector<Write>& w) {
    std::string s = "[";
    for (const Write& x : w) {
      // Appended piece by piece: gcc 12 at -O3 reports a false -Wrestrict on "a" + to_string(..).
      s += ' ';
      s += std::to_string(x.off);
      s += '+';
      s += std::to_string(x.len);
    }
    return s + " ]";
  }

  RingOptions opts_;
  std::unique_ptr<std::uint8_t[]> mem_;
  std::vector<Write> writes_;  ///< what the ends wrote during the current op, in order
  std::vector<Write> want_;    ///< what the model says they must have written
  RingProducer<CheckedQueueMemory> prod_;
  RingConsumer<CheckedQueueMemory> cons_;
  EndModel p_, c_;
  std::uint32_t head0_ = 0;  ///< raw indices in memory when the op started
  std::uint32_t tail0_ = 0;
  bool clean_ = true;
  std::deque<Sent> inflight_;
  std::uint64_t seq_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  vmsg::fuzz::FdpReader in(fdp);
  ops::Setup setup;
  ops::io_setup(in, setup);
  Harness h(setup);
  for (std::size_t i = 0; i < kMaxOps && in.more(); ++i) {
    ops::Op op;
    ops::io_op(in, op);
    h.run(op);
  }
  return 0;
}

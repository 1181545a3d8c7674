// fuzz_transport's harnesses, kept across inputs. One TransportHarness per
// Setup, put back after each input into the state it had when built; and a
// memo of bring-up results: an input whose first operation is a BringUp
// already run for its Setup starts from the state that operation left
// (TransportHarness::save), instead of running its dozen messages through
// every oracle again. The bring-up is deterministic, so the state is the
// same; transport_memo_check proves it over the corpus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "harness/transport_harness.hpp"
#include "harness/transport_ops.hpp"
#include "vmsg/machine/guest_ram.hpp"

namespace vmsg::fuzz {

/// Harnesses by Setup, each with its fresh state and its memoised bring-ups.
class TransportPool {
 public:
  /// Bring-up results kept over all Setups (each holds RAM pages and a
  /// device state: tens of KiB); later distinct ones run unmemoised.
  static constexpr std::size_t kMaxMemo = 512;

  TransportPool();
  ~TransportPool();
  TransportPool(const TransportPool&) = delete;
  TransportPool& operator=(const TransportPool&) = delete;

  /// The harness for `setup` as just built.
  TransportHarness& start(const transport_ops::Setup& setup);
  /// The harness for `setup` after `first` ran on it as just built: taken
  /// from the memo when `first` is a BringUp seen before.
  TransportHarness& start(const transport_ops::Setup& setup, const transport_ops::Op& first);

  /// Puts `setup`'s harness back into its built state once its input is
  /// over, so what the input allocated (rule logs, frames, the validator's
  /// and backend's growth) is freed within it: libFuzzer runs an input again
  /// to look for a leak whenever it allocated more than it freed. The next
  /// start() for the same Setup then has nothing to restore.
  void finish(const transport_ops::Setup& setup);

  /// Inputs that started from a memoised bring-up.
  [[nodiscard]] std::uint64_t hits() const noexcept { return hits_; }

 private:
  struct Entry;
  using SetupKey = std::tuple<std::uint8_t, bool, bool, bool, unsigned>;
  using BringUpKey = std::tuple<std::uint8_t, std::uint64_t, std::uint32_t>;
  Entry& entry(const transport_ops::Setup& setup);

  machine::GuestRam ram_;  ///< shared: only one harness runs at a time, and restore rewrites it
  std::map<SetupKey, std::unique_ptr<Entry>> entries_;
  const Entry* at_fresh_ = nullptr;  ///< the entry finish() left as built (shared RAM included), if still so
  std::size_t memoised_ = 0;
  std::uint64_t hits_ = 0;
};

/// What an input did, as far as a replay can compare it.
struct TransportOutcome {
  std::uint64_t trace = 0;       ///< TransportHarness::trace()
  std::uint64_t ram = 0;         ///< TransportHarness::ram_digest()
  std::uint64_t frames_out = 0;
  std::size_t violations = 0;
  friend bool operator==(const TransportOutcome&, const TransportOutcome&) = default;
};

/// Runs one fuzz_transport input (profile prefix, Setup, at most
/// transport_ops::kMaxOps operations, finish()): on `pool`'s harnesses (put
/// back into their built state at the end, TransportPool::finish), or on a harness built for
/// it alone when `pool` is null. The outcome's RAM digest is only computed
/// when `digest` is set (it reads all of guest RAM).
TransportOutcome run_transport_input(const std::uint8_t* data, std::size_t size, TransportPool* pool,
                                     bool digest = false);

}  // namespace vmsg::fuzz

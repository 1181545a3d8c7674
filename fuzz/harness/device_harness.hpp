// The whole reference target under a hostile driver, with oracles on every
// port access. Used by fuzz_device; meant to be reused by later targets
// (transport, virtqueue, differential) that drive the same machine.
//
// Construction: a ReferenceTarget (2 MiB RAM, amp device at 00:04.0, one
// MinimalEndpoint per chosen device number, in the Setup's draft: PR28 or
// REV1-2026, the driver's links and every oracle's codec likewise), the device's bus-master path
// rerouted through a counting DmaSpace (the "spy"), and AmpDriver::open run
// through an OraclePort so bring-up is checked like everything else.
//
// Oracles (each one exact; the file names the check that fails):
//  (a) MSI accounting, per port access. For vector v let k_v be the frames
//      the device placed into FIFO v's device queue during the access and
//      blocked(v) = !MSI-X enable || function mask || !BME || entry(v) masked.
//      Then: MSI writes issued during the access ==
//        sum over unblocked v of k_v  +  number of PBA bits that went 1 -> 0;
//      a blocked v with k_v > 0 ends with its PBA bit set; a PBA bit is only
//      set by such a v; an unblocked vector never stays pending. (No access
//      can both place frames and change blocked(): bulk transfers are capped
//      at device_ops::kMaxBulk bytes, shorter than any distance between an
//      MSI-X table and a doorbell. If it ever happens the access is counted
//      as ambiguous and only bounded.) Every MSI write must match the
//      programmed, unmasked table entry of some vector while nothing blocks
//      delivery, and at the end spy MSI writes == Msix delivered + lost ==
//      machine msis + stray_msis.
//  (b) Memory ownership. The device reaches guest memory only through the
//      spy: MinimalEndpoints do no DMA, so dma_read/dma_write must never be
//      called. RAM is shadowed line by line (every port write into RAM and
//      every logged MSI applied in order) and every touched line must equal
//      the shadow at the end.
//  (c) Exactly one answer per valid request. Per FIFO, after every operation:
//      bus frames_received == channel frames_consumed == forwarded requests
//      + forwarded events + bus requests answered + drops; responses_sent ==
//      forwarded requests + bus requests answered; no endpoint faults, no
//      events, no overflow drops or coalescing; frames placed + pending ==
//      frames the bus emitted; ring counters equal channel counters. And at
//      the driver: while a FIFO is "tracked" (nothing but the driver link
//      has written its BAR1 window since the last re-initialisation) every
//      frame polled decodes strictly, is zero-padded to the slot end, and is the response the bus rules
//      predict for the oldest unanswered request (ID space, msg_id, token,
//      dev_num, PING data, GET_DEVICES window); at the end none is missing.
//  (e) Driver rules. The device reports the frame and register rules a driver
//      breaks (bus::DriverRuleSink, as the validating reference does). Every
//      report must name a bus- or register-level rule of the catalogue
//      (transport::checked_driver_rules); an input that only posted frames
//      our codec accepts, with zero reserved type bits and a plugged device
//      number for device-bound messages, and wrote nothing outside RAM, must
//      leave no report at all; the final PINGs must add none.
//  (d) No wedge. finish() restores a sane layout, drains, re-initialises the
//      rings and links as a driver would (when anything but the link wrote
//      BAR1), and a PING on every FIFO the input reached must be answered.
//      A FIFO counts as reached when the input posted, polled or rang on it,
//      wrote its BAR1 window from outside the link, or did anything that
//      acts on the whole function (config writes, MMIO or bulk writes that
//      are not plain RAM, re-inits); and, as a backstop, whenever its channel
//      shows a doorbell, a frame or a pending answer. A FIFO not reached is
//      in exactly its post-bring-up state, where the model is deterministic,
//      so pinging it again would only repeat a known answer.
//
// Cost: the driver's bring-up runs on the bare machine (it raises no
// interrupt and writes only zeros into zeroed RAM), everything after it
// through the OraclePort. With a TargetPool (fuzz_device) the target is
// restored to its snapshot after the first bring-up instead of rebuilt and
// probed again, and the oracles' bookkeeping (shadow RAM, expected answers) lives in the pool, so a
// steady-state input allocates almost nothing (under ASan every fresh
// allocation is fresh memory because of the quarantine: page faults). The
// harness TU is left out of coverage instrumentation in the libFuzzer build
// (fuzz/CMakeLists.txt), since its comparisons are oracles, not input structure.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/device_ops.hpp"
#include "vmsg/bus/driver_rule_sink.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/driver_rules.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::fuzz {

/// The answer a posted frame must get (oracle (c)).
struct ExpectedAnswer {
  bool bus = false;
  std::uint8_t msg_id = 0;
  std::uint16_t token = 0;
  std::uint16_t dev_num = 0;
  std::optional<std::uint32_t> ping;
  std::optional<wire::GetDevicesReq> get_devices;
};

/// A FIFO of expected answers that keeps its storage when cleared.
class AnswerQueue {
 public:
  void push(const ExpectedAnswer& e) { items_.push_back(e); }
  /// Room for `n` answers up front: storage first taken by a later input
  /// would count as its allocation that nothing freed (libFuzzer then runs
  /// that input again to look for a leak).
  void reserve(std::size_t n) { items_.reserve(n); }
  [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
  [[nodiscard]] ExpectedAnswer pop() { return items_[head_++]; }
  void clear() noexcept {
    items_.clear();
    head_ = 0;
  }

 private:
  std::vector<ExpectedAnswer> items_;
  std::size_t head_ = 0;
};

/// Shadow of guest RAM in 64-byte lines (oracle (b)): what the driver's
/// writes and the landed MSIs put there. Only touched lines are compared and
/// cleared, so reuse across inputs costs what the input wrote.
class ShadowRam {
 public:
  static constexpr std::uint64_t kLine = 64;
  explicit ShadowRam(std::uint64_t size);
  /// False (and nothing recorded) outside the shadowed range.
  [[nodiscard]] bool write(std::uint64_t addr, std::uint8_t value);
  /// Lines written since clear(), in first-write order.
  [[nodiscard]] const std::vector<std::uint32_t>& lines() const noexcept { return lines_; }
  [[nodiscard]] std::span<const std::uint8_t> line(std::uint32_t l) const {
    return std::span<const std::uint8_t>(bytes_).subspan(l * kLine, kLine);
  }
  void clear();

 private:
  std::vector<std::uint8_t> bytes_;
  std::vector<bool> used_;
  std::vector<std::uint32_t> lines_;
};

/// The device's driver-rule sink for oracle (e). Each report is judged when
/// it arrives (is it a bus- or register-level rule of the catalogue of the
/// input's draft?) and only counted: a report allocates nothing and the end
/// of an input searches no strings (a DriverRuleLog keeps three strings per
/// report, and comparing every report against the catalogue at the end
/// went through the sanitizers' memcmp hooks).
class RuleTally final : public bus::DriverRuleSink {
 public:
  explicit RuleTally(wire::Layout layout) : known_(transport::checked_driver_rules(layout)) {}
  void driver_rule(std::string_view rule, std::uint16_t dev_num, std::string_view kind,
                   std::string_view detail) override;
  /// Only rules are judged here: reporters need not format what went wrong.
  [[nodiscard]] bool wants_detail() const noexcept override { return false; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  /// The first rule reported since clear() (empty when none).
  [[nodiscard]] const std::string& first() const noexcept { return first_; }
  /// The first reported rule that is not a bus or register rule of the catalogue (empty when none).
  [[nodiscard]] const std::string& unlisted() const noexcept { return unlisted_; }
  void clear() noexcept;

 private:
  [[nodiscard]] bool listed(std::string_view rule) const noexcept;
  [[nodiscard]] bool row_is(std::size_t row, std::string_view rule) const noexcept;
  std::span<const transport::DriverRuleInfo> known_;
  /// Catalogue row (+1, 0: none) last matched by a rule whose text sat at an
  /// address with these low bits: reporters pass the same literals again and
  /// again, so most reports compare one row instead of scanning the catalogue.
  mutable std::array<std::uint16_t, 32> recent_{};
  std::size_t count_ = 0;
  std::string first_;
  std::string unlisted_;
};

/// Oracle bookkeeping a DeviceHarness reuses across inputs. `rules` is the
/// device's driver-rule sink (oracle (e)), so it must outlive the target.
struct HarnessScratch {
  HarnessScratch(std::uint64_t ram_size, wire::Layout layout) : shadow(ram_size), rules(layout) {
    for (AnswerQueue& q : expect) q.reserve(64);  // see AnswerQueue::reserve
  }
  ShadowRam shadow;
  std::array<AnswerQueue, 8> expect;
  RuleTally rules;
};

/// Reference targets kept across inputs, one per FIFO count and profile. get()
/// restores the one for `setup` to the snapshot taken right after the
/// driver's first bring-up, with fresh MinimalEndpoints as the setup asks
/// (ReferenceTarget::restore with a device list: the bring-up never reaches
/// a bus, so the snapshot holds no endpoint state): RAM by dirty page, the
/// function by value, and the driver object (BAR layout, MSI-X info, link
/// configs) stays valid. Should the target refuse that restore, the entry
/// falls back for good to ReferenceTarget::reset and a replay of the port
/// writes the bring-up made (reads have no side effects in the model, so the
/// writes alone rebuild the same state). Either is far cheaper than building
/// a machine and probing it per input.
class TargetPool {
 public:
  /// One target and its brought-up driver.
  struct Entry {
    std::unique_ptr<target::ReferenceTarget> target;
    std::unique_ptr<port::Port> recorder;  ///< the port the driver was opened on (kept alive with it)
    std::optional<driver::AmpDriver> driver;
    struct Write {
      enum class Kind : std::uint8_t { Config, Mmio, Mem, Time } kind = Kind::Config;
      std::uint64_t addr = 0;
      unsigned size = 0;
      std::uint64_t value = 0;
      std::vector<std::uint8_t> bytes;
    };
    std::vector<Write> bringup;  ///< what the driver wrote during open(), in order (the fallback)
    std::optional<target::TargetSnapshot> snapshot;  ///< right after open(); empty once refused
    std::unique_ptr<HarnessScratch> scratch;
  };
  [[nodiscard]] Entry& get(const device_ops::Setup& setup);

 private:
  std::array<Entry, 4 * kProfileChoices> entries_;  ///< [profile index * 4 + FIFO choice]
};

class DeviceHarness {
 public:
  /// The machine needs more than the 1 MiB below the driver area; the driver
  /// only places MSI words there. Small RAM keeps ASan's per-input shadow work small.
  static constexpr std::uint64_t kRamSize = (1ULL << 20) + 0x1000;
  static constexpr port::PciAddress kAddr{0, 4, 0};

  /// With a pool, the target comes from it (reset, not rebuilt) and goes back
  /// to it afterwards; without one, the harness builds its own.
  explicit DeviceHarness(const device_ops::Setup& setup, TargetPool* pool = nullptr);
  ~DeviceHarness();
  DeviceHarness(const DeviceHarness&) = delete;
  DeviceHarness& operator=(const DeviceHarness&) = delete;

  /// One operation of the stream, checked.
  void run(const device_ops::Op& op);
  /// Restore, drain, re-initialise, PING every FIFO, final oracles.
  void finish();

  /// Accesses where oracle (a) could only bound (see file comment).
  [[nodiscard]] std::uint64_t ambiguous_accesses() const noexcept { return ambiguous_; }

 private:
  class Spy;
  class OraclePort;
  friend class Spy;
  friend class OraclePort;

  /// Device state oracle (a) compares across one port access.
  struct Snap {
    std::array<std::uint64_t, 8> placed{};
    std::array<bool, 8> pending{};
    std::array<bool, 8> blocked{};
    std::uint64_t msi_writes = 0;
  };
  using Expect = ExpectedAnswer;

  // Oracle hooks (OraclePort calls them around every access).
  [[nodiscard]] Snap snap() const;
  void after_access(const Snap& before);
  void note_write(std::uint64_t addr, std::span<const std::uint8_t> data, bool single);
  /// A write to [addr, addr+n) is about to happen: drop the cached blocked
  /// state if it may reach the MSI-X table.
  void note_msix_write(std::uint64_t addr, std::uint64_t n);
  void check_msi(const Snap& b, const Snap& a);
  void check_counters() const;
  [[nodiscard]] bool function_blocked() const;
  void check_msi_write(std::uint64_t addr, std::uint32_t data) const;

  // Operations.
  [[nodiscard]] std::uint64_t resolve(device_ops::Region r, std::uint64_t raw) const;
  [[nodiscard]] bool sane() const;
  /// BAR k's decode (k < 3), as the device answers bar_mapping(k).
  [[nodiscard]] const std::optional<pci::BarMapping>& mapping(unsigned k) const;
  /// Refreshes the decode cache below when config space moved on.
  void refresh_decode() const;
  [[nodiscard]] bool pristine() const;
  /// MSI-X entry `q` is unmasked and still targets link q's MSI address and data.
  [[nodiscard]] bool vector_intact(unsigned q) const;
  /// Posts through the link (if the layout is sane); true when the frame went in.
  bool post(unsigned q, std::span<const std::uint8_t> frame, bool ring);
  void poll(unsigned q, unsigned max);
  void check_frame(unsigned q, std::span<const std::uint8_t> slot);
  [[nodiscard]] std::optional<Expect> expect_for(unsigned q, std::span<const std::uint8_t> slot) const;
  void untrack(unsigned q);
  /// Records what an operation reaches (see (d)); addr/n: the resolved target of a write.
  void note_reach(const device_ops::Op& op, std::uint64_t addr, std::uint64_t n);
  /// Whether a frame breaks none of the frame rules (oracle (e)), said independently of bus::check_driver_frame.
  [[nodiscard]] bool frame_clean(unsigned q, std::span<const std::uint8_t> frame) const;
  void check_rules() const;
  /// Whether FIFO q needs the final drain and PING (see (d)).
  [[nodiscard]] bool reached(unsigned q) const;

  // Restore sequence.
  void restore_layout();
  void quiesce();
  void reinit();
  void ping_all();
  void final_checks();

  device_ops::Setup setup_;
  unsigned nf_;
  wire::Profile profile_;  ///< the input's draft: every frame the harness builds or judges
  std::array<std::uint32_t, 8> plugged_{};  ///< per FIFO: bit d = device number d plugged
  std::unique_ptr<HarnessScratch> own_scratch_;  ///< without a pool (before owned_: its sink outlives the target)
  std::unique_ptr<target::ReferenceTarget> owned_;  ///< null when borrowed from a pool
  target::ReferenceTarget* target_;
  std::vector<amp::FifoChannel*> channels_;  ///< cached: snap() runs twice per port access
  /// Each channel's counters (stable members of the channels): snap() reads
  /// them without a call per FIFO through the polymorphic channel.
  std::array<const amp::ChannelStats*, 8> channel_stats_{};
  const std::vector<machine::MsiRecord>* msi_log_ = nullptr;  ///< the machine's (after_access, per access)
  pci::Msix* msix_ = nullptr;
  std::unique_ptr<Spy> spy_;
  std::unique_ptr<OraclePort> port_;
  std::optional<driver::AmpDriver> own_drv_;  ///< without a pool
  driver::AmpDriver* drv_ = nullptr;
  std::vector<driver::FifoLink> links_;
  std::array<std::uint64_t, 3> bar_base_{};
  std::array<std::uint64_t, 3> bar_size_{};

  std::array<bool, 8> tracked_{};
  std::array<bool, 8> touched_{};  ///< the input reached this FIFO directly
  bool device_wide_ = false;       ///< the input did something that acts on every FIFO
  HarnessScratch* scratch_ = nullptr;
  bool clean_ = true;  ///< the input broke no frame or register rule (oracle (e))
  bool in_link_ = false;  ///< the driver link is accessing BAR1: not a stray write
  std::size_t msi_seen_ = 0;  ///< machine MSI log entries already applied to the shadow
  std::uint64_t ambiguous_ = 0;
  // The BAR decode and sane(), cached per config generation: the oracles ask
  // around every port access, and only a config write can change the answers.
  const std::uint64_t* config_gen_ = nullptr;
  mutable std::array<std::optional<pci::BarMapping>, 3> maps_{};
  mutable bool sane_ = false;
  mutable std::uint64_t maps_gen_ = 0;
  mutable bool maps_valid_ = false;
  // snap()'s cache of blocked(v) (see snap()).
  mutable std::array<bool, 8> blocked_{};
  mutable std::uint64_t blocked_gen_ = 0;
  mutable bool blocked_valid_ = false;
  static constexpr unsigned kMaxReinits = 2;  ///< Reinit ops honoured per input
  unsigned reinits_ = 0;
};

}  // namespace vmsg::fuzz

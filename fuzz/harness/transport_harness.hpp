// The device side of the virtio-msg transport (DeviceTransport + one backend
// behind a bus::Bus) under a hostile driver that owns guest memory: it places
// rings and descriptor chains, makes buffers available, rewrites memory, and
// sends any transport message. Used by fuzz_transport.
//
// The bus delivers frames synchronously, so the harness sees every frame a
// request causes before the next operation. No AMP FIFO in between: the
// FIFO path has its own target (fuzz_device), and leaving it out keeps this
// target fast.
//
// Oracles (each exact; the failing check is named):
//  (a) Exactly one answer per valid request: a frame that decodes and is a
//      transport request to the plugged device number, or a PING or aligned
//      GET_DEVICES, gets exactly one response, with its msg_id and token;
//      anything else (drops, events, wrong numbers) gets none. Device events
//      are EVENT_USED for an existing queue or EVENT_CONFIG, from that device.
//  (b) Memory: the device only writes guest memory inside the used ring of a
//      configured queue or inside a device-writable buffer of a descriptor
//      (direct, or one level of indirect table) that is, or was before a raw
//      overwrite, in a configured queue's table. Accesses outside RAM are
//      refused by the spy and counted (hostile descriptors may point there).
//  (c) NEEDS_RESET: the status bit is never set without one EVENT_CONFIG
//      announcing it, and announced at most once between two device resets;
//      while it is set, no used-ring progress and no EVENT_USED.
//  (d) Used ring: on a queue the harness configured and whose memory only the
//      harness wrote, every new used element names a head the driver made
//      available and that was not used yet, and used idx never runs ahead of
//      what was made available.
//  (e) No wedge: after the stream, PING and GET_DEVICE_INFO are answered (the
//      latter with the backend's device ID).
//
// The validating peer: the DeviceTransport sits behind a
// transport::ValidatingEndpoint (with a TrafficProbe on either side of it),
// and the bus reports frame-level driver rules to a second log. Oracles:
//  (f) Transparency: after every step both probes saw the same driver
//      messages, time steps and device messages, in order, field for field
//      (so (a)-(e) hold for the validated device exactly as before).
//  (g) Rule logs (rule_log_check.hpp): entries name catalogue rules of the
//      right check point; a frame breaks exactly the bus rules its bytes
//      imply; a message that is wrong by itself is reported once it reaches
//      the endpoint; nothing is recorded for frames the endpoint never saw
//      or during time steps; with Setup::polite, nothing is recorded at all.
//  (h) Nothing throws out of Bus::receive or Bus::advance_time.
// Setup::polite makes the harness a well-behaved driver: operations that
// would break a driver rule are dropped or adjusted (polite_copy()).
// Setup::profile (the input's prefix) puts bus, device, validator and every
// oracle in PR28 or REV1-2026; under REV1 the harness's SET_VQUEUE enables
// the queue (state op 1) and the rule oracles use the R1-* IDs.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "harness/rule_log_check.hpp"
#include "harness/traffic_probe.hpp"
#include "harness/transport_ops.hpp"
#include "vmsg/bus/bus.hpp"
#include "vmsg/machine/guest_ram.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/transport/driver_rules.hpp"
#include "vmsg/transport/validating_endpoint.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::fuzz {

class TransportHarness {
 public:
  /// `ram`, when given, is guest RAM of transport_ops::kRamSize kept across
  /// inputs: it is cleared here (only the pages written since its last clear),
  /// which under ASan costs far less than fresh memory per input.
  explicit TransportHarness(const transport_ops::Setup& setup, machine::GuestRam* ram = nullptr);
  ~TransportHarness();
  TransportHarness(const TransportHarness&) = delete;
  TransportHarness& operator=(const TransportHarness&) = delete;

  void run(const transport_ops::Op& op);
  /// PING and GET_DEVICE_INFO must still be answered; final counters.
  void finish();

  /// Frames the device emitted so far (for the seed generator's sanity checks).
  [[nodiscard]] std::uint64_t frames_out() const noexcept { return rs_.frames_out; }
  /// A digest of the traffic so far, in order: every frame handed to the bus,
  /// every frame the bus emitted, every time step. Equal traces, equal traffic
  /// (up to hash collisions); used to prove restore() changes nothing.
  [[nodiscard]] std::uint64_t trace() const noexcept { return rs_.trace; }
  /// A digest of guest RAM's contents.
  [[nodiscard]] std::uint64_t ram_digest() const;

  /// Everything the harness holds between two operations: device, validator
  /// and probes (their save_state), bus counters, rule logs, guest RAM and the
  /// harness's own bookkeeping. Only the harness that saved it restores it.
  class Saved;
  [[nodiscard]] std::shared_ptr<const Saved> save();
  /// Back to `s`: the operations that follow behave exactly as they did after
  /// the save. vmsg::SnapshotError for another harness's state.
  void restore(const Saved& s);
  /// Driver-rule violations recorded so far (endpoint + bus), for the generator.
  [[nodiscard]] std::size_t violations() const noexcept { return ep_log_->size() + bus_log_.size(); }

 private:
  class Spy;
  class Sink;
  friend class Spy;
  friend class Sink;

  /// What the harness knows about one queue it configured in its own area.
  struct Track {
    bool on = false;
    std::uint32_t size = 0;
    std::uint16_t avail_idx = 0;  ///< driver's next avail index
    std::uint16_t used_seen = 0;  ///< used idx already checked
    std::uint16_t next_desc = 0;  ///< next free descriptor (cyclic)
    std::uint64_t next_indirect = 0;
    std::map<std::uint16_t, unsigned> outstanding;  ///< head -> times made available and not yet used
  };
  struct Range {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
  };
  static constexpr std::uint64_t kTraceSeed = 0xcbf29ce484222325ULL;  ///< FNV-1a offset basis
  /// Folds `bytes`, tagged with `tag` (what they are), into the trace.
  void note(std::uint8_t tag, std::span<const std::uint8_t> bytes) noexcept;

  /// Sends one message; returns the response (if any) after checking (a).
  std::optional<wire::Message> send(const wire::Message& m);
  std::optional<wire::Message> send_frame(std::span<const std::uint8_t> frame);
  void check_events(std::span<const wire::Message> events, bool needs_reset_before);
  void check_write(std::uint64_t addr, std::uint64_t len);
  [[nodiscard]] bool write_justified(std::uint64_t addr, std::uint64_t len) const;
  void collect_writable(std::vector<Range>& out) const;
  void check_used();
  void after_op(bool needs_reset_before);
  void check_transparency();
  void check_rules(std::span<const std::uint8_t> frame, const std::optional<wire::Message>& req, bool reached,
                   const DriverView& view_before);
  void check_polite() const;
  /// rules()/count()/to_string() agree with the entries; validator accessors.
  void check_log_accessors() const;

  /// The operation as a well-behaved driver would do it, or nullopt to drop it.
  [[nodiscard]] std::optional<transport_ops::Op> polite_copy(const transport_ops::Op& op) const;
  [[nodiscard]] bool polite_message(const wire::Message& m) const;
  [[nodiscard]] bool can_notify(unsigned q) const;

  void bring_up(const transport_ops::Op& op);
  bool set_queue(unsigned q, std::uint32_t size);
  /// set_queue() as a driver following the rules: GET_VQUEUE first (size a
  /// power of two within max_size), RESET_VQUEUE before reprogramming a live
  /// queue when RING_RESET was negotiated, GET_VQUEUE again to confirm.
  bool polite_set_queue(unsigned q, std::uint32_t size);
  void add_buffer(const transport_ops::Op& op);
  void raw_write(const transport_ops::Op& op);
  void untrack_overlapping(std::uint64_t lo, std::uint64_t hi);
  void on_device_reset();

  [[nodiscard]] bool rev1() const noexcept { return profile_.layout == wire::Layout::Rev1; }
  /// SET_VQUEUE flags of the structured operations: REV1 enables the queue
  /// with every field applied (state op 1); PR28's word is reserved.
  [[nodiscard]] std::uint32_t queue_flags() const noexcept { return rev1() ? wire::vqueue_flags::kEnable : 0U; }

  transport_ops::Setup setup_;
  wire::Profile profile_;                       ///< the input's draft: bus, device, codec of every oracle
  transport::ValidationProfile validation_;     ///< the validator's and the rule oracles' draft
  std::optional<machine::GuestRam> own_ram_;  ///< without a pooled RAM
  machine::GuestRam& ram_;
  std::unique_ptr<Spy> spy_;
  std::unique_ptr<Sink> sink_;
  // The endpoint chain: bus -> outer_ -> validator_ -> inner_ -> dev_. Declared
  // before bus_ so it outlives the bus it is plugged into.
  std::shared_ptr<transport::DeviceTransport> dev_;
  std::shared_ptr<transport::DriverRuleLog> ep_log_;
  transport::DriverRuleLog bus_log_;
  std::shared_ptr<TrafficProbe> inner_;
  std::shared_ptr<transport::ValidatingEndpoint> validator_;
  std::shared_ptr<TrafficProbe> outer_;
  RuleLogWatch ep_watch_;
  RuleLogWatch bus_watch_;
  std::unique_ptr<bus::Bus> bus_;
  std::uint32_t device_id_ = 0;
  unsigned num_queues_ = 0;
  std::vector<std::vector<std::uint8_t>> out_;  ///< frames emitted during the current send

  /// What the harness knows and has counted, copied whole by save(): a field
  /// added here is part of every snapshot without further code.
  struct RunState {
    DriverView view;                   ///< GET_DEVICE_INFO as the driver last saw it
    std::uint64_t negotiated = 0;      ///< features accepted with FEATURES_OK by the harness's bring-up
    std::uint64_t frames_out = 0;
    std::uint64_t used_checked = 0;    ///< used elements oracle (d) checked (VMSG_FUZZ_VERBOSE)
    std::uint64_t trace = kTraceSeed;  ///< digest of the traffic so far (trace())
    std::uint16_t token = 1;
    std::array<Track, transport_ops::kMaxQueues> track{};
    std::vector<Range> ever_writable;  ///< writable buffers the harness made available, and ones seen before raw overwrites (oracle b)
    bool write_oracle = true;          ///< off once ever_writable would grow past its bound
    bool announced = false;            ///< NEEDS_RESET announced in this reset cycle
  };
  RunState rs_;
};

}  // namespace vmsg::fuzz

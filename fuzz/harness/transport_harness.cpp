#include "harness/transport_harness.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <utility>

#include "common/check.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/virtqueue/ring.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::fuzz {

namespace {

namespace ops = transport_ops;
using ops::Kind;
namespace vq = virtqueue;
namespace ring = virtqueue::ring;

constexpr std::size_t kMaxRanges = 4096;  ///< bound of the writable-range history
constexpr std::uint32_t kScanCap = 1024;  ///< descriptors scanned per table (oracle b)

std::uint64_t area(unsigned q) { return ops::kQueueBase + std::uint64_t{q} * ops::kQueueArea; }

bool overlaps(std::uint64_t a_lo, std::uint64_t a_hi, std::uint64_t b_lo, std::uint64_t b_hi) {
  return a_lo < b_hi && b_lo < a_hi;
}

/// [lo, lo + len) saturated at the top of the address space.
std::uint64_t end_of(std::uint64_t lo, std::uint64_t len) { return lo + len < lo ? ~std::uint64_t{0} : lo + len; }

// What a trace entry is (TransportHarness::note).
constexpr std::uint8_t kTagSent = 0;
constexpr std::uint8_t kTagEmitted = 1;
constexpr std::uint8_t kTagTime = 2;

constexpr std::uint64_t kRingResetBit = std::uint64_t{1} << 40;         // VIRTIO_F_RING_RESET
constexpr std::uint64_t kNotificationDataBit = std::uint64_t{1} << 38;  // VIRTIO_F_NOTIFICATION_DATA
constexpr std::uint64_t kVersion1Bit = std::uint64_t{1} << 32;          // VIRTIO_F_VERSION_1

/// What a well-behaved driver accepts whenever it is offered: VERSION_1 (VIRTIO-CORE-036),
/// blk RO (VIRTIO-BLK-012), balloon MUST_TELL_HOST (VIRTIO-BALLOON-001).
std::uint64_t polite_must_accept(std::uint32_t device_id) {
  std::uint64_t bits = kVersion1Bit;
  if (device_id == 2) bits |= std::uint64_t{1} << 5;
  if (device_id == 5) bits |= std::uint64_t{1};
  return bits;
}

/// Config bytes every device kind here has whatever it offers (blk capacity,
/// balloon num_pages and actual): a polite read stays inside them (VIRTIO-CORE-020).
constexpr std::uint64_t kPoliteConfigBytes = 8;

/// Messages that may reconfigure or drop queues: the harness stops predicting them.
bool touches_queues(const wire::Body& b) {
  return std::holds_alternative<wire::SetVqueueReq>(b) || std::holds_alternative<wire::ResetVqueueReq>(b) ||
         std::holds_alternative<wire::SetDeviceStatusReq>(b);
}

std::string log_text(std::span<const transport::RuleViolation> v) {
  std::string s;
  for (const auto& e : v) s += "\n    " + transport::to_string(e);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------
// Guest memory as the device reaches it: RAM only, every write justified.
class TransportHarness::Spy final : public pci::DmaSpace {
 public:
  explicit Spy(TransportHarness& h) : h_(h) {}
  bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out) override { return h_.ram_.read(addr, out); }
  bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    h_.check_write(addr, data.size());
    return h_.ram_.write(addr, data);
  }
  bool msi_write(std::uint64_t /*addr*/, std::uint32_t /*data*/) override {
    VMSG_FUZZ_CHECK(false, "a transport endpoint raised an MSI: only the PCI function may");
    return false;
  }

 private:
  TransportHarness& h_;
};

/// Collects what the bus emits.
class TransportHarness::Sink final : public bus::FrameSink {
 public:
  explicit Sink(TransportHarness& h) : h_(h) {}
  void send(std::span<const std::uint8_t> frame) override {
    h_.out_.emplace_back(frame.begin(), frame.end());
    ++h_.rs_.frames_out;
    h_.note(kTagEmitted, frame);
  }

 private:
  TransportHarness& h_;
};

TransportHarness::TransportHarness(const ops::Setup& setup, machine::GuestRam* ram)
    : setup_(setup),
      profile_(setup.profile.wire()),
      validation_{setup.profile.layout(), setup.profile.strict_config_generation},
      own_ram_(ram == nullptr ? std::optional<machine::GuestRam>(std::in_place, ops::kRamSize) : std::nullopt),
      ram_(ram != nullptr ? *ram : *own_ram_),
      spy_(std::make_unique<Spy>(*this)),
      sink_(std::make_unique<Sink>(*this)),
      ep_log_(std::make_shared<transport::DriverRuleLog>()),
      ep_watch_(*ep_log_, transport::RuleCheckPoint::Endpoint, profile_.layout),
      bus_watch_(bus_log_, transport::RuleCheckPoint::Bus, profile_.layout) {
  if (ram != nullptr) {
    VMSG_FUZZ_CHECK(ram->size() == ops::kRamSize, "pooled guest RAM of the wrong size");
    ram->clear();
  }
  // Bus, device and validator in the input's draft (as the reference target assembles them).
  bus::BusOptions bus_options;
  bus_options.rule_sink = &bus_log_;
  bus_options.strict_config_generation = setup.profile.strict_config_generation;
  bus_ = std::make_unique<bus::Bus>(profile_, *sink_, bus_options);
  devices::DeviceProps props;
  const char* kind = ops::kKinds[setup.kind % ops::kKindCount];
  if (std::string(kind) == "virtio-blk-device") props["capacity"] = "16K";  // small medium: cheap to build
  transport::TransportOptions o = transport::options_for_bus(profile_, bus_options, {});
  o.offer_indirect = setup.indirect;
  o.offer_event_idx = setup.event_idx;
  dev_ = std::make_shared<transport::DeviceTransport>(devices::make_backend(kind, props), o);
  device_id_ = dev_->backend().device_id();
  num_queues_ = dev_->backend().num_queues();
  inner_ = std::make_shared<TrafficProbe>(dev_);
  validator_ = std::make_shared<transport::ValidatingEndpoint>(inner_, ep_log_, validation_);
  outer_ = std::make_shared<TrafficProbe>(validator_);
  outer_->attach_memory(*spy_);  // through the validator: it must hand memory on, too
  bus_->plug(ops::kDevNum, *outer_);
}

TransportHarness::~TransportHarness() = default;

// ---- snapshots and the trace ----------------------------------------------------

class TransportHarness::Saved {
 public:
  const TransportHarness* owner = nullptr;
  machine::GuestRam::Snapshot ram;
  bus::Bus::State bus;
  snapshot::Handle endpoints;  ///< outer probe, validator, inner probe, device and backend
  transport::DriverRuleLog ep_log;
  transport::DriverRuleLog bus_log;
  RunState run;
};

std::shared_ptr<const TransportHarness::Saved> TransportHarness::save() {
  auto s = std::make_shared<Saved>();
  s->owner = this;
  s->endpoints = outer_->save_state();  // first: it may refuse, before RAM moves its mark
  s->ram = ram_.save();
  s->bus = bus_->save();
  s->ep_log = *ep_log_;
  s->bus_log = bus_log_;
  s->run = rs_;
  return s;
}

void TransportHarness::restore(const Saved& s) {
  if (s.owner != this) throw SnapshotError("transport harness: the saved state belongs to another harness");
  outer_->restore_state(s.endpoints);
  ram_.restore(s.ram);
  bus_->restore(s.bus);
  *ep_log_ = s.ep_log;
  bus_log_ = s.bus_log;
  rs_ = s.run;
  out_.clear();
  ep_watch_.mark();  // the logs may be shorter than at the last mark
  bus_watch_.mark();
}

namespace {
/// One FNV-1a step per byte of `bytes`, from `h`.
std::uint64_t fnv1a(std::uint64_t h, std::span<const std::uint8_t> bytes) noexcept {
  for (const std::uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ULL;
  return h;
}
}  // namespace

void TransportHarness::note(std::uint8_t tag, std::span<const std::uint8_t> bytes) noexcept {
  // The tag and the length (4 bytes) keep entries apart.
  std::array<std::uint8_t, 5> head{tag};
  for (unsigned i = 0; i < 4; ++i) head[1 + i] = static_cast<std::uint8_t>(bytes.size() >> (8 * i));
  rs_.trace = fnv1a(fnv1a(rs_.trace, head), bytes);
}

std::uint64_t TransportHarness::ram_digest() const {
  std::vector<std::uint8_t> all(static_cast<std::size_t>(ram_.size()));
  (void)ram_.read(0, all);
  return fnv1a(kTraceSeed, all);
}

// ---- oracle (b) ----------------------------------------------------------------

void TransportHarness::collect_writable(std::vector<Range>& out) const {
  const auto desc = [this](std::uint64_t at, std::uint64_t& addr, std::uint32_t& len, std::uint16_t& flags) {
    std::array<std::uint8_t, ring::kDescSize> d{};
    if (!ram_.read(at, d)) return false;
    addr = 0;
    for (unsigned i = 0; i < 8; ++i) addr |= std::uint64_t{d[i]} << (8 * i);
    len = std::uint32_t{d[8]} | (std::uint32_t{d[9]} << 8) | (std::uint32_t{d[10]} << 16) | (std::uint32_t{d[11]} << 24);
    flags = static_cast<std::uint16_t>(unsigned{d[12]} | (unsigned{d[13]} << 8));
    return true;
  };
  for (unsigned q = 0; q < num_queues_; ++q) {
    const vq::SplitQueue* sq = dev_->configured_queue(q);
    if (sq == nullptr) continue;
    const vq::QueueLayout& l = sq->layout();
    for (std::uint32_t i = 0; i < std::min(l.size, kScanCap); ++i) {
      std::uint64_t a = 0;
      std::uint32_t n = 0;
      std::uint16_t f = 0;
      if (!desc(l.desc_addr + std::uint64_t{i} * ring::kDescSize, a, n, f)) break;
      if ((f & ring::kDescFIndirect) != 0) {
        for (std::uint32_t j = 0; j < std::min<std::uint32_t>(n / 16, kScanCap); ++j) {
          std::uint64_t a2 = 0;
          std::uint32_t n2 = 0;
          std::uint16_t f2 = 0;
          if (!desc(a + std::uint64_t{j} * ring::kDescSize, a2, n2, f2)) break;
          if ((f2 & ring::kDescFWrite) != 0) out.push_back({a2, end_of(a2, n2)});
        }
      } else if ((f & ring::kDescFWrite) != 0) {
        out.push_back({a, end_of(a, n)});
      }
    }
  }
}

bool TransportHarness::write_justified(std::uint64_t addr, std::uint64_t len) const {
  const std::uint64_t hi = end_of(addr, len);
  for (unsigned q = 0; q < num_queues_; ++q) {
    const vq::SplitQueue* sq = dev_->configured_queue(q);
    if (sq == nullptr) continue;
    const vq::QueueLayout& l = sq->layout();
    if (addr >= l.device_addr && hi <= end_of(l.device_addr, ring::used_ring_bytes(l.size))) return true;
  }
  const auto inside = [&](const Range& r) { return addr >= r.lo && hi <= r.hi; };
  if (std::any_of(rs_.ever_writable.begin(), rs_.ever_writable.end(), inside)) return true;
  std::vector<Range> now;
  collect_writable(now);
  return std::any_of(now.begin(), now.end(), inside);
}

void TransportHarness::check_write(std::uint64_t addr, std::uint64_t len) {
  if (!rs_.write_oracle || len == 0) return;
  VMSG_FUZZ_CHECK(write_justified(addr, len),
                  "device wrote " + std::to_string(len) + " bytes at " + std::to_string(addr) +
                      ": neither a used ring nor a device-writable buffer the driver made available");
}

// ---- oracles (a), (c), (d) ---------------------------------------------------

std::optional<wire::Message> TransportHarness::send(const wire::Message& m) {
  std::array<std::uint8_t, fifo::kSlotSize> slot{};
  auto n = wire::encode(m, profile_, slot);
  if (!n.ok()) return std::nullopt;  // cannot be sent on a 64-byte bus
  return send_frame(slot);
}

std::optional<wire::Message> TransportHarness::send_frame(std::span<const std::uint8_t> frame) {
  // What the bus rules (bus.hpp) say this frame gets: one response or none.
  bool answer = false;
  wire::Message req;
  std::optional<wire::Message> decoded;
  if (auto d = wire::decode(frame, profile_)) {
    req = d.value();
    decoded = req;
    if (wire::is_bus(req.body)) {
      answer = std::holds_alternative<wire::PingReq>(req.body) || std::holds_alternative<wire::GetDevicesReq>(req.body);
    } else {
      answer = !wire::is_response(req.body) && !wire::is_event(req.body) && req.dev_num == ops::kDevNum;
    }
  }
  const bool nr_before = (dev_->status() & wire::status::kNeedsReset) != 0;
  const DriverView view_before = rs_.view;
  const std::uint64_t reached_before = outer_->received();
  ep_watch_.mark();
  bus_watch_.mark();
  out_.clear();
  note(kTagSent, frame);
  try {
    bus_->receive(frame);
  } catch (const std::exception& e) {
    VMSG_FUZZ_CHECK(false, std::string("exception out of Bus::receive: ") + e.what());
  } catch (...) {
    VMSG_FUZZ_CHECK(false, "unknown exception out of Bus::receive");
  }
  check_transparency();
  std::optional<wire::Message> resp;
  std::vector<wire::Message> events;
  for (const auto& f : out_) {
    auto d = wire::decode(f, profile_, wire::DecodeOptions{.strict_type_bits = true});
    VMSG_FUZZ_CHECK(d.ok(), "device emitted a malformed frame: " + (d.ok() ? "" : wire::describe(d.error())));
    if (wire::is_response(d.value().body)) {
      VMSG_FUZZ_CHECK(answer, std::string("response ") + std::string(wire::name(d.value().body)) +
                                  " to a frame that gets none");
      VMSG_FUZZ_CHECK(!resp, "two responses to one request");
      resp = d.value();
    } else {
      events.push_back(d.value());
    }
  }
  if (answer) {
    VMSG_FUZZ_CHECK(resp.has_value(), std::string("request ") + std::string(wire::name(req.body)) + " not answered");
    VMSG_FUZZ_CHECK(wire::msg_id(resp->body) == wire::msg_id(req.body) && wire::is_bus(resp->body) == wire::is_bus(req.body),
                    "response has the wrong msg_id");
    VMSG_FUZZ_CHECK(resp->token == req.token, "token not echoed");
    if (!wire::is_bus(req.body)) VMSG_FUZZ_CHECK(resp->dev_num == ops::kDevNum, "response from the wrong device");
  }
  if (resp) {
    if (const auto* info = std::get_if<wire::GetDeviceInfoResp>(&resp->body)) rs_.view.config_size = info->config_size;
  }
  check_rules(frame, decoded, outer_->received() != reached_before, view_before);
  check_events(events, nr_before);
  if (dev_->status() == 0) on_device_reset();
  return resp;
}

void TransportHarness::check_events(std::span<const wire::Message> events, bool needs_reset_before) {
  for (const wire::Message& e : events) {
    VMSG_FUZZ_CHECK(e.dev_num == ops::kDevNum, "event from a device number nobody occupies");
    if (const auto* u = std::get_if<wire::EventUsed>(&e.body)) {
      VMSG_FUZZ_CHECK(u->vq_index < num_queues_, "EVENT_USED for a queue the device does not have");
      VMSG_FUZZ_CHECK(!needs_reset_before, "EVENT_USED while NEEDS_RESET is set");
    } else if (const auto* c = std::get_if<wire::EventConfig>(&e.body)) {
      if ((c->device_status & wire::status::kNeedsReset) != 0 && c->length == 0) {
        VMSG_FUZZ_CHECK(!rs_.announced, "NEEDS_RESET announced twice in one reset cycle");
        rs_.announced = true;
      }
    } else {
      VMSG_FUZZ_CHECK(false, std::string("unexpected device event ") + std::string(wire::name(e.body)));
    }
  }
}

void TransportHarness::on_device_reset() {
  rs_.announced = false;
  rs_.negotiated = 0;
  for (auto& t : rs_.track) t.on = false;
  // Pending work was dropped with the reset; old buffers are no longer writable.
  rs_.ever_writable.clear();
  rs_.write_oracle = true;
}

void TransportHarness::check_used() {
  for (unsigned q = 0; q < ops::kMaxQueues; ++q) {
    Track& t = rs_.track[q];
    if (!t.on) continue;
    const std::uint64_t used = area(q) + ops::kUsedOffset;
    const auto idx = static_cast<std::uint16_t>(ram_.load(used + ring::kUsedIdxOffset, 2).value_or(0));
    const auto delta = static_cast<std::uint16_t>(idx - t.used_seen);
    if (delta == 0) continue;
    std::size_t avail = 0;
    for (const auto& [h, c] : t.outstanding) avail += c;
    VMSG_FUZZ_CHECK(delta <= avail, "queue " + std::to_string(q) + ": used idx ran " + std::to_string(delta) +
                                        " ahead with only " + std::to_string(avail) + " buffers available");
    for (std::uint16_t i = 0; i < delta; ++i) {
      const std::uint32_t slot = static_cast<std::uint16_t>(t.used_seen + i) % t.size;
      const auto id = ram_.load(used + 4 + std::uint64_t{slot} * ring::kUsedElemSize, 4).value_or(~0ull);
      auto it = id < 0x10000 ? t.outstanding.find(static_cast<std::uint16_t>(id)) : t.outstanding.end();
      VMSG_FUZZ_CHECK(it != t.outstanding.end(), "queue " + std::to_string(q) + ": used element names head " +
                                                     std::to_string(id) + ", which the driver did not make available");
      if (--it->second == 0) t.outstanding.erase(it);
      ++rs_.used_checked;
    }
    t.used_seen = idx;
  }
}

void TransportHarness::after_op(bool needs_reset_before) {
  const std::uint32_t st = dev_->status();
  if ((st & wire::status::kNeedsReset) != 0) {
    VMSG_FUZZ_CHECK(rs_.announced, "NEEDS_RESET set without an EVENT_CONFIG announcing it");
  }
  if (needs_reset_before && (st & wire::status::kNeedsReset) != 0) {
    // Still broken: the used rings must not have moved.
    for (unsigned q = 0; q < ops::kMaxQueues; ++q) {
      const Track& t = rs_.track[q];
      if (!t.on) continue;
      const auto idx = ram_.load(area(q) + ops::kUsedOffset + ring::kUsedIdxOffset, 2).value_or(0);
      VMSG_FUZZ_CHECK(idx == t.used_seen, "used ring moved while NEEDS_RESET was set");
    }
  }
  check_used();
  // Every status change reaches the driver (responses, EVENT_CONFIG), so the
  // validator's picture of the status is the device's own.
  VMSG_FUZZ_CHECK(validator_->reported_status() == dev_->status(),
                  "validator believes status " + std::to_string(validator_->reported_status()) + ", device has " +
                      std::to_string(dev_->status()));
  const bus::BusStats& bs = bus_->stats();
  VMSG_FUZZ_CHECK(bs.endpoint_faults() == 0, "endpoint contract violated (missing/extra/unsolicited response)");
}

// ---- oracles (f), (g) --------------------------------------------------------------

void TransportHarness::check_transparency() {
  // Message equality is field for field, reserved type bits and vectors
  // included: what encodes to the same frame bytes.
  VMSG_FUZZ_CHECK(outer_->traffic().in == inner_->traffic().in,
                  "validating endpoint changed, dropped or added a driver message");
  VMSG_FUZZ_CHECK(outer_->traffic().out == inner_->traffic().out,
                  "validating endpoint changed, dropped or added a device message");
  VMSG_FUZZ_CHECK(outer_->traffic().time == inner_->traffic().time, "validating endpoint changed a time step");
  outer_->clear();
  inner_->clear();
}

void TransportHarness::check_rules(std::span<const std::uint8_t> frame, const std::optional<wire::Message>& req,
                                   bool reached, const DriverView& view_before) {
  ep_watch_.check_catalogue(ops::kDevNum);
  bus_watch_.check_catalogue(std::nullopt);
  check_frame_rules(bus_watch_, frame, ops::kDevNum, profile_.layout);
  if (!reached || !req) {
    VMSG_FUZZ_CHECK(ep_watch_.fresh().empty(),
                    "endpoint rules recorded for a frame the endpoint never saw:" + log_text(ep_watch_.fresh()));
  } else {
    const std::string_view kind = wire::name(req->body);
    for (const auto& v : ep_watch_.fresh()) {
      VMSG_FUZZ_CHECK(v.kind == kind, "endpoint rule recorded under kind " + v.kind + " for a " + std::string(kind));
    }
    for (std::string_view rule : rules_broken_alone(*req, view_before, validation_)) {
      VMSG_FUZZ_CHECK(ep_watch_.fresh_count(rule) > 0, std::string(kind) + " breaks " + std::string(rule) +
                                                           " by itself, but it was not recorded:" +
                                                           log_text(ep_watch_.fresh()));
    }
  }
  check_polite();
}

void TransportHarness::check_log_accessors() const {
  // The log's summaries agree with its entries.
  const std::array<const transport::DriverRuleLog*, 2> logs{ep_log_.get(), &bus_log_};
  for (const transport::DriverRuleLog* log : logs) {
    const std::vector<std::string> rules = log->rules();
    VMSG_FUZZ_CHECK(std::is_sorted(rules.begin(), rules.end()) &&
                        std::adjacent_find(rules.begin(), rules.end()) == rules.end(),
                    "DriverRuleLog::rules() not sorted and distinct");
    std::size_t total = 0;
    for (const std::string& r : rules) total += log->count(r);
    VMSG_FUZZ_CHECK(total == log->size(), "DriverRuleLog::count() over rules() misses entries");
    for (const transport::RuleViolation& v : log->violations()) {
      VMSG_FUZZ_CHECK(transport::to_string(v).rfind(v.rule + " dev " + std::to_string(v.dev_num) + " " + v.kind, 0) == 0,
                      "to_string(RuleViolation) does not lead with rule, device and kind");
    }
  }
  for (const transport::DriverRuleInfo& row : transport::checked_driver_rules(profile_.layout)) {
    const std::string_view where = transport::to_string(row.where);
    VMSG_FUZZ_CHECK(where == "endpoint" || where == "bus" || where == "registers" || where == "backend",
                    "catalogue row " + std::string(row.rule) + " has no check point name");
  }
  VMSG_FUZZ_CHECK(validator_->log() == ep_log_ && &validator_->inner() == inner_.get(),
                  "validating endpoint lost its log or inner endpoint");
  if (setup_.polite) {
    VMSG_FUZZ_CHECK(validator_->negotiated_features() == rs_.negotiated,
                    "validator and a polite driver disagree about the negotiated features");
  }
}

void TransportHarness::check_polite() const {
  if (!setup_.polite) return;
  // Politeness covers the transport's driver rules and the virtio core's
  // status, feature, configuration and request rules. The rings are the
  // fuzzer's: chains of any shape, descriptors reused whatever the device
  // holds, notifications whatever the suppression fields say, so the rules
  // VirtqueueMonitor reads from the rings are not part of it.
  const auto polite_rules = [](const transport::DriverRuleLog& log) {
    return static_cast<std::size_t>(std::count_if(log.violations().begin(), log.violations().end(),
                                                  [](const transport::RuleViolation& v) {
                                                    const std::string& r = v.rule;
                                                    const bool ring_rule = r.rfind("VIRTIO-RING-", 0) == 0 ||
                                                                           r == "VIRTIO-RNG-001" ||
                                                                           r == "VIRTIO-CORE-033" ||
                                                                           r == "VIRTIO-CORE-034";
                                                    return !ring_rule;
                                                  }));
  };
  VMSG_FUZZ_CHECK(polite_rules(*ep_log_) == 0 && bus_log_.empty(), "a well-behaved driver was reported:" +
                                                                       log_text(ep_log_->violations()) +
                                                                       log_text(bus_log_.violations()));
}

// ---- the well-behaved driver ------------------------------------------------------

bool TransportHarness::can_notify(unsigned q) const {
  const std::uint32_t st = dev_->status();
  return q < ops::kMaxQueues && q < num_queues_ && rs_.track[q].on && (st & wire::status::kDriverOk) != 0 &&
         (st & (wire::status::kNeedsReset | wire::status::kFailed)) == 0;
}

bool TransportHarness::polite_message(const wire::Message& m) const {
  const wire::Body& b = m.body;
  if (std::holds_alternative<wire::PingReq>(b) || std::holds_alternative<wire::GetDeviceInfoReq>(b) ||
      std::holds_alternative<wire::GetDeviceStatusReq>(b) || std::holds_alternative<wire::GetShmReq>(b)) {
    return true;
  }
  if (const auto* gd = std::get_if<wire::GetDevicesReq>(&b)) return gd->offset % 8 == 0 && gd->count % 8 == 0;
  if (!rs_.view.config_size) return false;  // everything else needs GET_DEVICE_INFO first
  if (std::holds_alternative<wire::GetDeviceFeaturesReq>(b) || std::holds_alternative<wire::GetVqueueReq>(b)) return true;
  if (const auto* gc = std::get_if<wire::GetConfigReq>(&b)) {
    return std::uint64_t{gc->offset} + gc->length <= std::min<std::uint64_t>(*rs_.view.config_size, kPoliteConfigBytes);
  }
  return false;  // writes, events and responses: left to the structured operations
}

std::optional<ops::Op> TransportHarness::polite_copy(const ops::Op& op) const {
  ops::Op p = op;
  const std::uint32_t st = dev_->status();
  switch (op.kind) {
    case Kind::Message:
      // REV1: bus messages carry dev_num 0 (R1-GEN-001), kept by `flag`; PR28 leaves it to the receiver.
      p.flag = rev1() && wire::is_bus(p.message.body);
      p.message.dev_num = p.flag ? std::uint16_t{0} : ops::kDevNum;
      p.message.reserved_type_bits = 0;
      if (!polite_message(p.message)) return std::nullopt;
      break;
    case Kind::SetStatus:
      // Only a reset: every other value depends on what the device reported.
      if (!(op.count == 0 || (op.count == 8 && op.value == 0))) return std::nullopt;
      break;
    case Kind::SetQueue:
      if (op.flag || op.queue >= std::min<unsigned>(num_queues_, ops::kMaxQueues) || !rs_.view.config_size ||
          (st & wire::status::kFeaturesOk) == 0 || (st & wire::status::kNeedsReset) != 0) {
        return std::nullopt;
      }
      break;
    case Kind::ResetQueue:
      if ((rs_.negotiated & kRingResetBit) == 0) return std::nullopt;
      break;
    case Kind::Notify:
      if (!can_notify(op.queue)) return std::nullopt;
      break;
    case Kind::Frame:
      return std::nullopt;
    case Kind::RawWrite:
      // A driver scribbling over its own rings publishes what it never
      // announced (REV1: R1-DRV-040, read from the avail index) and may leave
      // the device holding buffers when it replaces the queue (VIRTIO-CORE-035),
      // so polite writes stay out of them.
      {
        const std::uint64_t lo = op.value;
        const std::uint64_t hi = end_of(lo, op.bytes.size());
        for (unsigned q = 0; q < ops::kMaxQueues; ++q) {
          if (overlaps(lo, hi, area(q), area(q) + ops::kQueueArea)) return std::nullopt;
        }
      }
      break;
    case Kind::BringUp:
    case Kind::AddBuffer:  // notifies only when can_notify()
    case Kind::AdvanceTime:
    case Kind::kCount:
      break;
  }
  return p;
}

bool TransportHarness::polite_set_queue(unsigned q, std::uint32_t size) {
  const auto query = [&]() -> std::optional<wire::GetVqueueResp> {
    auto r = send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0, .body = wire::GetVqueueReq{q}});
    if (!r) return std::nullopt;
    if (const auto* g = std::get_if<wire::GetVqueueResp>(&r->body)) return *g;
    return std::nullopt;
  };
  const auto before = query();
  if (!before || before->max_size == 0) return false;
  if (rev1()) {
    // REV1: an enabled queue (flags bit 0) is only reprogrammed after
    // RESET_VQUEUE (R1-DRV-070/071); without RING_RESET a driver leaves it.
    if ((before->flags & wire::vqueue_flags::kEnabled) != 0) {
      if ((rs_.negotiated & kRingResetBit) == 0) return false;
      rs_.track[q].on = false;
      (void)send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0, .body = wire::ResetVqueueReq{q}});
      if (!query()) return false;  // read again after the reset, before SET_VQUEUE (R1-DRV-062)
    }
  } else if (before->cur_size != 0 && (rs_.negotiated & kRingResetBit) != 0) {
    rs_.track[q].on = false;
    (void)send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0, .body = wire::ResetVqueueReq{q}});
    if (!query()) return false;  // the reset verified before the queue is set up again (VIRTIO-CORE-025)
  }
  const std::uint32_t n = std::bit_floor(std::min({size, before->max_size, ops::kMaxRingSize}));
  if (n == 0) return false;
  const bool ok = set_queue(q, n);
  (void)query();  // confirms the new layout, as EVENT_AVAIL requires
  return ok;
}

// ---- operations -------------------------------------------------------------------

void TransportHarness::untrack_overlapping(std::uint64_t lo, std::uint64_t hi) {
  for (unsigned q = 0; q < ops::kMaxQueues; ++q) {
    if (overlaps(lo, hi, area(q), area(q) + ops::kQueueArea)) rs_.track[q].on = false;
  }
}

bool TransportHarness::set_queue(unsigned q, std::uint32_t size) {
  // REV1: a SET_VQUEUE that names any field of an enabled queue changes
  // nothing (L1692-1696), so the queue keeps its ring indices even when its
  // layout is the one asked for: never a fresh queue to track.
  const bool was_enabled = rev1() && dev_->configured_queue(q) != nullptr;
  // A driver clears the rings before handing them over.
  const std::uint64_t base = area(q);
  std::vector<std::uint8_t> zeros(ops::kIndirectOffset, 0);
  (void)ram_.write(base, zeros);
  rs_.track[q] = Track{};
  wire::SetVqueueReq r;
  r.index = q;
  r.flags = queue_flags();
  r.size = size;
  r.desc_addr = base;
  r.driver_addr = base + ops::kAvailOffset;
  r.device_addr = base + ops::kUsedOffset;
  (void)send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0, .body = r});
  // The device may refuse the request (size 0, above max_size, not a power of
  // two, bad alignment) and then leaves any queue already configured exactly
  // as it was (G9: a bad SET_VQUEUE changes nothing). That old queue may sit at
  // these same addresses with another size and with its own ring indices, so
  // matching desc_addr alone is not proof the new queue took effect: only
  // track it when the whole layout is the one just asked for.
  const vq::SplitQueue* sq = dev_->configured_queue(q);
  if (was_enabled || sq == nullptr || size == 0 || size > ops::kMaxRingSize) return false;
  const vq::QueueLayout& l = sq->layout();
  if (l.size != size || l.desc_addr != r.desc_addr || l.driver_addr != r.driver_addr || l.device_addr != r.device_addr) {
    return false;
  }
  rs_.track[q].on = true;
  rs_.track[q].size = size;
  return true;
}

void TransportHarness::bring_up(const ops::Op& op) {
  namespace st = wire::status;
  const auto status = [this](std::uint32_t s) {
    return send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0, .body = wire::SetDeviceStatusReq{s}});
  };
  status(0);
  if (setup_.polite) {
    (void)send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0, .body = wire::GetDeviceInfoReq{}});
  }
  status(st::kAcknowledge);
  status(st::kAcknowledge | st::kDriver);
  std::uint64_t offered = 0;
  auto f = send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0,
                 .body = wire::GetDeviceFeaturesReq{.block_index = 0, .num_blocks = 2}});
  if (f) {
    if (const auto* r = std::get_if<wire::GetDeviceFeaturesResp>(&f->body)) {
      for (std::size_t i = 0; i < r->features.size() && i < 2; ++i) offered |= std::uint64_t{r->features[i]} << (32 * i);
    }
  }
  const std::uint64_t want = offered & (op.value | (setup_.polite ? polite_must_accept(device_id_) : 0));
  (void)send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0,
              .body = wire::SetDriverFeaturesReq{.block_index = 0,
                                                 .features = {static_cast<std::uint32_t>(want),
                                                              static_cast<std::uint32_t>(want >> 32)}}});
  const auto fok = status(st::kAcknowledge | st::kDriver | st::kFeaturesOk);
  const auto* fok_resp = fok ? std::get_if<wire::SetDeviceStatusResp>(&fok->body) : nullptr;
  if (fok_resp != nullptr && (fok_resp->status & st::kFeaturesOk) != 0) {
    rs_.negotiated = want;
  } else if (setup_.polite) {
    return;  // features refused: a driver gives up here
  }
  const unsigned n = std::min<unsigned>({op.count, num_queues_, ops::kMaxQueues});
  for (unsigned q = 0; q < n; ++q) {
    if (setup_.polite) {
      (void)polite_set_queue(q, op.size);
      continue;
    }
    const std::uint32_t max = dev_->backend().max_queue_size(q);
    (void)set_queue(q, std::min(op.size, max == 0 ? op.size : max));
  }
  status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
}

void TransportHarness::add_buffer(const ops::Op& op) {
  const unsigned q = op.queue % ops::kMaxQueues;
  Track& t = rs_.track[q];
  if (!t.on || op.chain.empty()) return;  // only queues whose layout the harness knows
  const std::uint64_t base = area(q);
  const auto put_desc = [this](std::uint64_t at, std::uint64_t addr, std::uint32_t len, std::uint16_t flags,
                               std::uint16_t next) {
    (void)ram_.store(at + ring::kDescAddrOffset, 8, addr);
    (void)ram_.store(at + ring::kDescLenOffset, 4, len);
    (void)ram_.store(at + ring::kDescFlagsOffset, 2, flags);
    (void)ram_.store(at + ring::kDescNextOffset, 2, next);
  };
  const auto seg_addr = [](const ops::Segment& s) { return ops::kDataBase + s.offset % ops::kDataSize; };
  if (rs_.ever_writable.size() + op.chain.size() > kMaxRanges) rs_.write_oracle = false;
  for (const ops::Segment& s : op.chain) {
    if (s.write && rs_.write_oracle) rs_.ever_writable.push_back({seg_addr(s), end_of(seg_addr(s), s.len)});
  }
  const std::size_t n = op.chain.size();
  std::uint16_t head = 0;
  if (op.flag) {
    // One direct descriptor pointing at an indirect table in the queue's area.
    constexpr std::uint64_t kSlots = (ops::kQueueArea - ops::kIndirectOffset) / ring::kDescSize;
    if (t.next_indirect + n > kSlots) t.next_indirect = 0;
    const std::uint64_t table = base + ops::kIndirectOffset + t.next_indirect * ring::kDescSize;
    t.next_indirect += n;
    for (std::size_t i = 0; i < n; ++i) {
      const bool more = i + 1 < n;
      put_desc(table + i * ring::kDescSize, seg_addr(op.chain[i]), op.chain[i].len,
               static_cast<std::uint16_t>((more ? ring::kDescFNext : 0) | (op.chain[i].write ? ring::kDescFWrite : 0)),
               static_cast<std::uint16_t>(more ? i + 1 : 0));
    }
    head = static_cast<std::uint16_t>(t.next_desc % t.size);
    t.next_desc = static_cast<std::uint16_t>((head + 1) % t.size);
    put_desc(base + std::uint64_t{head} * ring::kDescSize, table, static_cast<std::uint32_t>(n * ring::kDescSize),
             ring::kDescFIndirect, 0);
  } else {
    head = static_cast<std::uint16_t>(t.next_desc % t.size);
    std::uint16_t d = head;
    for (std::size_t i = 0; i < n; ++i) {
      const bool more = i + 1 < n;
      const auto next = static_cast<std::uint16_t>((d + 1) % t.size);
      put_desc(base + std::uint64_t{d} * ring::kDescSize, seg_addr(op.chain[i]), op.chain[i].len,
               static_cast<std::uint16_t>((more ? ring::kDescFNext : 0) | (op.chain[i].write ? ring::kDescFWrite : 0)),
               more ? next : 0);
      d = next;
    }
    t.next_desc = d;
  }
  const std::uint64_t avail = base + ops::kAvailOffset;
  (void)ram_.store(avail + ring::avail_ring_offset(t.avail_idx % t.size), 2, head);
  t.avail_idx = static_cast<std::uint16_t>(t.avail_idx + 1);
  (void)ram_.store(avail + ring::kAvailIdxOffset, 2, t.avail_idx);
  ++t.outstanding[head];
  // REV1 has no polling-only mode on AMP: a polite driver always announces (R1-DRV-040).
  const bool notify = op.notify || (setup_.polite && rev1());
  if (notify && (!setup_.polite || can_notify(q))) {
    // next_offset only means something with NOTIFICATION_DATA; a polite driver leaves it 0 otherwise.
    const bool data = !setup_.polite || (rs_.negotiated & kNotificationDataBit) != 0;
    (void)send({.dev_num = ops::kDevNum, .token = 0, .reserved_type_bits = 0,
                .body = wire::EventAvail{.vq_index = q, .next_offset = data ? t.avail_idx : 0u}});
  }
}

void TransportHarness::raw_write(const ops::Op& op) {
  if (op.bytes.empty()) return;
  // Buffers the device may still be working on keep their right to be written.
  if (rs_.write_oracle) {
    collect_writable(rs_.ever_writable);
    if (rs_.ever_writable.size() > kMaxRanges) rs_.write_oracle = false;
  }
  const std::uint64_t lo = op.value;
  std::uint64_t n = op.bytes.size();
  if (lo >= ram_.size()) return;
  n = std::min(n, ram_.size() - lo);
  (void)ram_.write(lo, std::span<const std::uint8_t>(op.bytes.data(), static_cast<std::size_t>(n)));
  untrack_overlapping(lo, lo + n);
}

void TransportHarness::run(const ops::Op& input) {
  const bool nr_before = (dev_->status() & wire::status::kNeedsReset) != 0;
  std::optional<ops::Op> polite;
  if (setup_.polite) {
    polite = polite_copy(input);
    if (!polite) {
      after_op(nr_before);
      return;
    }
  }
  const ops::Op& op = polite ? *polite : input;
  switch (op.kind) {
    case Kind::BringUp:
      bring_up(op);
      break;
    case Kind::Message: {
      wire::Message m = op.message;
      if (!op.flag) m.dev_num = ops::kDevNum;
      // Anything that may reconfigure or drop queues ends the harness's predictions for them.
      if (touches_queues(m.body)) {
        for (auto& t : rs_.track) t.on = false;
      }
      (void)send(m);
      break;
    }
    case Kind::Frame: {
      std::vector<std::uint8_t> f = op.bytes;
      if (op.flag && f.size() < fifo::kSlotSize) f.resize(fifo::kSlotSize, 0);
      if (auto d = wire::decode(f, profile_); d && touches_queues(d.value().body)) {
        for (auto& t : rs_.track) t.on = false;
      }
      (void)send_frame(f);
      break;
    }
    case Kind::SetStatus: {
      const std::uint32_t s = op.count < 8 ? ops::kStatuses[op.count] : static_cast<std::uint32_t>(op.value);
      if (s == 0 || (s & wire::status::kDriverOk) == 0) {
        for (auto& t : rs_.track) t.on = false;
      }
      (void)send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0, .body = wire::SetDeviceStatusReq{s}});
      break;
    }
    case Kind::SetQueue: {
      const unsigned q = op.queue;
      if (setup_.polite) {
        (void)polite_set_queue(q, op.size);
        break;
      }
      if (!op.flag && q < ops::kMaxQueues) {
        (void)set_queue(q, op.size);
        break;
      }
      if (q < ops::kMaxQueues) rs_.track[q].on = false;
      wire::SetVqueueReq r;
      r.index = q;
      r.flags = queue_flags();
      r.size = op.size;
      r.desc_addr = op.addrs[0];
      r.driver_addr = op.addrs[1];
      r.device_addr = op.addrs[2];
      untrack_overlapping(r.desc_addr, end_of(r.desc_addr, ring::desc_table_bytes(r.size)));
      untrack_overlapping(r.driver_addr, end_of(r.driver_addr, ring::avail_ring_bytes(r.size)));
      untrack_overlapping(r.device_addr, end_of(r.device_addr, ring::used_ring_bytes(r.size)));
      (void)send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0, .body = r});
      break;
    }
    case Kind::ResetQueue:
      if (op.queue < ops::kMaxQueues) rs_.track[op.queue].on = false;
      if (setup_.polite && rev1()) {
        // REV1: RESET_VQUEUE only for a queue read with GET_VQUEUE since the last reset (R1-DRV-074).
        (void)send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0,
                    .body = wire::GetVqueueReq{op.queue}});
      }
      (void)send({.dev_num = ops::kDevNum, .token = rs_.token++, .reserved_type_bits = 0,
                  .body = wire::ResetVqueueReq{op.queue}});
      break;
    case Kind::AddBuffer:
      add_buffer(op);
      break;
    case Kind::Notify:
      (void)send({.dev_num = ops::kDevNum, .token = 0, .reserved_type_bits = 0,
                  .body = wire::EventAvail{.vq_index = op.queue, .next_offset = 0}});
      break;
    case Kind::RawWrite:
      raw_write(op);
      break;
    case Kind::AdvanceTime: {
      out_.clear();
      ep_watch_.mark();
      bus_watch_.mark();
      std::array<std::uint8_t, 8> ns{};
      for (unsigned i = 0; i < ns.size(); ++i) ns[i] = static_cast<std::uint8_t>(op.value >> (8 * i));
      note(kTagTime, ns);
      try {
        bus_->advance_time(op.value);
      } catch (const std::exception& e) {
        VMSG_FUZZ_CHECK(false, std::string("exception out of Bus::advance_time: ") + e.what());
      }
      check_transparency();
      VMSG_FUZZ_CHECK(ep_watch_.fresh().empty() && bus_watch_.fresh().empty(),
                      "driver rules recorded while only time passed");
      std::vector<wire::Message> events;
      for (const auto& f : out_) {
        auto d = wire::decode(f, profile_, wire::DecodeOptions{.strict_type_bits = true});
        VMSG_FUZZ_CHECK(d.ok(), "device emitted a malformed frame after a time step");
        VMSG_FUZZ_CHECK(!wire::is_response(d.value().body), "response emitted after a time step, nothing asked");
        events.push_back(d.value());
      }
      check_events(events, nr_before);
      break;
    }
    case Kind::kCount:
      break;
  }
  after_op(nr_before);
}

void TransportHarness::finish() {
  const auto ping = send({.dev_num = 0, .token = 0x5A5A, .reserved_type_bits = 0, .body = wire::PingReq{0xF00D1234}});
  VMSG_FUZZ_CHECK(ping && std::get<wire::PingResp>(ping->body).data == 0xF00D1234, "device wedged: PING unanswered");
  const auto info = send({.dev_num = ops::kDevNum, .token = 0x5A5B, .reserved_type_bits = 0, .body = wire::GetDeviceInfoReq{}});
  VMSG_FUZZ_CHECK(info && std::get<wire::GetDeviceInfoResp>(info->body).device_id == device_id_,
                  "device wedged: GET_DEVICE_INFO unanswered or wrong");
  after_op(false);
  check_log_accessors();
  if (std::getenv("VMSG_FUZZ_VERBOSE") != nullptr) {
    const transport::TransportStats& ts = dev_->stats();
    std::fprintf(stderr, "transport: %llu frames out, %llu used elements checked, %llu requests, %llu EVENT_USED, "
                 "%llu queue errors, status %#x\n",
                 static_cast<unsigned long long>(rs_.frames_out), static_cast<unsigned long long>(rs_.used_checked),
                 static_cast<unsigned long long>(ts.requests), static_cast<unsigned long long>(ts.event_used_sent),
                 static_cast<unsigned long long>(ts.queue_errors), dev_->status());
    std::string rules;
    for (const std::string& r : ep_log_->rules()) rules += " " + r;
    for (const std::string& r : bus_log_.rules()) rules += " bus:" + r;
    std::fprintf(stderr, "transport: driver rules broken:%s\n", rules.empty() ? " none" : rules.c_str());
  }
}

}  // namespace vmsg::fuzz

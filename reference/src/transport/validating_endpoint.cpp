#include "vmsg/transport/validating_endpoint.hpp"

#include <array>
#include <bit>
#include <limits>
#include <string>
#include <utility>
#include <variant>

#include "validation_helpers.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::transport {

using detail::aligned;
using detail::areas_overlap;
using detail::areas_wrap;
using detail::bit;
using vmsg::hex;
using detail::kModelQueues;
using detail::kNotifConfigDataBit;
using detail::kNotificationDataBit;
using detail::kRingResetBit;
namespace st = wire::status;

/// The Outbox the inner endpoint posts to: lets the validator see every
/// device message, then passes it on unchanged.
class ValidatingEndpoint::Tap final : public bus::Outbox {
 public:
  Tap(ValidatingEndpoint& owner, bus::Outbox& out) : owner_(owner), out_(out) {}
  void post(const wire::Message& m) override {
    owner_.observe(m);
    out_.post(m);
  }

 private:
  ValidatingEndpoint& owner_;
  bus::Outbox& out_;
};

ValidatingEndpoint::ValidatingEndpoint(std::shared_ptr<bus::Endpoint> inner, std::shared_ptr<DriverRuleLog> log,
                                       ValidationProfile profile)
    : inner_(std::move(inner)), log_(std::move(log)), profile_(profile), rev1_(profile.layout == wire::Layout::Rev1) {
  if (!inner_ || !log_) throw ConfigError("ValidatingEndpoint: inner endpoint and rule log are required");
}

ValidatingEndpoint::~ValidatingEndpoint() = default;

void ValidatingEndpoint::attach(std::uint16_t dev_num, bus::Outbox& out) {
  dev_num_ = dev_num;
  tap_ = std::make_unique<Tap>(*this, out);
  inner_->attach(dev_num, *tap_);
}

snapshot::Handle ValidatingEndpoint::save_state() const {
  return snapshot::make(this, State{static_cast<const detail::ValidatorModel&>(*this), inner_->save_state()});
}

void ValidatingEndpoint::restore_state(const snapshot::Handle& state) {
  const State& s = snapshot::get<State>(state, this, "validating endpoint");
  inner_->restore_state(s.inner);  // first: it may refuse
  static_cast<detail::ValidatorModel&>(*this) = s.model;
}

void ValidatingEndpoint::attach_memory(pci::DmaSpace& memory) {
  memory_ = &memory;
  inner_->attach_memory(memory);
}

void ValidatingEndpoint::advance_time(std::uint64_t ns) { inner_->advance_time(ns); }

void ValidatingEndpoint::receive(const wire::Message& m) {
  check(m);
  // Restored afterwards so a (pathological) re-entrant receive cannot leave
  // a dangling pointer behind.
  const wire::Message* const outer = current_;
  current_ = &m;
  const std::uint64_t responses_before = responses_posted_;
  try {
    inner_->receive(m);
  } catch (...) {
    current_ = outer;
    throw;
  }
  current_ = outer;
  // The device answers before receive() returns (bus/endpoint.hpp), so a
  // request with no response by now is one the device will never answer.
  if (rev1_ && !std::holds_alternative<wire::EventAvail>(m.body) && !wire::is_response(m.body)) {
    note_answer_rev1(m, responses_posted_ != responses_before);
  }
}

void ValidatingEndpoint::violation(const char* rule, const wire::Message& m, std::string detail) {
  if (rule == nullptr) return;
  log_->driver_rule(rule, dev_num_, wire::name(m.body), detail);
}

// ---- driver -> device ----------------------------------------------------------

void ValidatingEndpoint::check(const wire::Message& m) {
  const wire::Body& b = m.body;
  const bool feature_or_queue = std::holds_alternative<wire::GetDeviceFeaturesReq>(b) ||
                                std::holds_alternative<wire::SetDriverFeaturesReq>(b) ||
                                std::holds_alternative<wire::GetVqueueReq>(b) ||
                                std::holds_alternative<wire::SetVqueueReq>(b) ||
                                std::holds_alternative<wire::ResetVqueueReq>(b);
  if (feature_or_queue && !info_known()) {
    violation(id("VMSG-DRV-016", "R1-DRV-025"), m, "sent before any GET_DEVICE_INFO was answered");
  }
  check_virtio(m);
  if (rev1_) {
    check_reset_pending(m);
    check_owed_rev1(m);
    check_unnotified_rev1(m);
  }
  check_rings(m);
  if (const auto* r = std::get_if<wire::SetDriverFeaturesReq>(&b)) {
    check_features(m, *r);
  } else if (const auto* gc = std::get_if<wire::GetConfigReq>(&b)) {
    check_config(m, gc->offset, gc->length, id("VMSG-DRV-055", "R1-DRV-053"));
  } else if (const auto* sc = std::get_if<wire::SetConfigReq>(&b)) {
    check_set_config(m, *sc);
  } else if (const auto* ss = std::get_if<wire::SetDeviceStatusReq>(&b)) {
    check_status(m, *ss);
  } else if (const auto* sv = std::get_if<wire::SetVqueueReq>(&b)) {
    check_set_vqueue(m, *sv);
  } else if (const auto* rv = std::get_if<wire::ResetVqueueReq>(&b)) {
    if ((negotiated_ & bit(kRingResetBit)) == 0) {
      violation(id("VMSG-DRV-062", "R1-DRV-073"), m,
                "queue " + std::to_string(rv->index) + ": VIRTIO_F_RING_RESET not negotiated");
    }
    const auto it = queues_.find(rv->index);
    if (it == queues_.end() || !it->second.queried) {  // a SHOULD of REV1 L1724-1725
      violation(id(nullptr, "R1-DRV-074"), m,
                "queue " + std::to_string(rv->index) + ": no GET_VQUEUE of this queue since the last reset");
    }
  } else if (const auto* ea = std::get_if<wire::EventAvail>(&b)) {
    check_event_avail(m, *ea);
  }
}

void ValidatingEndpoint::check_features(const wire::Message& m, const wire::SetDriverFeaturesReq& r) {
  if ((status_ & st::kFeaturesOk) != 0) {
    violation(id("VMSG-DRV-024", "R1-DRV-033"), m,
              "feature write while the device reports FEATURES_OK (status " + hex(status_) + ")");
  }
  for (std::size_t i = 0; i < r.features.size(); ++i) {
    const std::uint32_t word = r.features[i];
    if (word == 0) continue;  // enables nothing, whatever was read
    const std::uint64_t block = std::uint64_t{r.block_index} + i;
    const auto it = block <= std::numeric_limits<std::uint32_t>::max()
                        ? offered_blocks_.find(static_cast<std::uint32_t>(block))
                        : offered_blocks_.end();
    if (rev1_ && block == kNotifConfigDataBit / 32 && (word & (1U << (kNotifConfigDataBit % 32))) != 0) {
      violation("R1-DRV-032", m, "block 1 = " + hex(word) + " accepts VIRTIO_F_NOTIF_CONFIG_DATA (bit 39)");
    }
    if (it == offered_blocks_.end()) {
      violation(id("VMSG-DRV-022", "R1-DRV-030"), m,
                "block " + std::to_string(block) + " = " + hex(word) + " never read with GET_DEVICE_FEATURES");
    } else if ((word & ~it->second) != 0) {
      violation(id("VMSG-DRV-054", "R1-DRV-051"), m,
                "block " + std::to_string(block) + " = " + hex(word) + " sets " + hex(word & ~it->second) +
                    ", not offered (offered " + hex(it->second) + ")");
    }
  }
}

void ValidatingEndpoint::check_config(const wire::Message& m, std::uint64_t offset, std::uint64_t length,
                                      const char* beyond_rule) {
  if (!info_known()) {
    violation(id("VMSG-DRV-021", "R1-DRV-029"), m,
              "config access before any GET_DEVICE_INFO was answered (config_size unknown)");
    return;
  }
  if (offset + length > info_->config_size) {
    violation(beyond_rule, m,
              "offset " + std::to_string(offset) + " + length " + std::to_string(length) + " > config_size " +
                  std::to_string(info_->config_size));
  }
}

void ValidatingEndpoint::check_set_config(const wire::Message& m, const wire::SetConfigReq& r) {
  check_config(m, r.offset, r.data.size(), id("VMSG-DRV-057", "R1-DRV-054"));
  if (rev1_) {
    // Baseline: generation 0, always (REV1 L403-404). The strict profile's
    // rules (L408-414) need a bus that advertises it, which AMP never does.
    if (!profile_.strict_config_generation && r.generation != 0) {
      violation("R1-DRV-009", m, "generation " + std::to_string(r.generation) + " under the baseline profile (must be 0)");
    }
    return;
  }
  bool current = answered_generation_ == r.generation;
  for (std::uint32_t g : event_generations_) current = current || g == r.generation;
  if (!current) {
    std::string seen = answered_generation_ ? std::to_string(*answered_generation_) : std::string("none");
    for (std::uint32_t g : event_generations_) seen += ", " + std::to_string(g);
    violation("VMSG-DRV-056", m, "generation " + std::to_string(r.generation) + " is not the latest shown (" + seen + ")");
  }
  if (generation_refused_) {
    violation("VMSG-DRV-007", m, "retried after a generation-mismatch refusal without GET_CONFIG first");
  }
}

void ValidatingEndpoint::check_status(const wire::Message& m, const wire::SetDeviceStatusReq& r) {
  const std::uint32_t s = r.status;
  if (s == 0) return;  // a reset is always allowed (VMSG-DRV-049)
  std::string wrong;
  const auto add = [&wrong](const std::string& what) { wrong += (wrong.empty() ? "" : "; ") + what; };
  const std::uint32_t low = s & 0xFF;
  if ((s & ~std::uint32_t{0xFF}) != 0) add("bits above 7 set (" + hex(s) + ")");
  // DEVICE_NEEDS_RESET is the device's; the driver need not echo it.
  const std::uint32_t cleared = status_ & ~low & 0xFF & ~st::kNeedsReset;
  if (cleared != 0) add("clears " + hex(cleared) + " of reported " + hex(status_) + " without a reset");
  const std::uint32_t added = low & ~status_;
  if ((added & st::kNeedsReset) != 0) add("sets DEVICE_NEEDS_RESET");
  if ((added & st::kDriver) != 0 && (low & st::kAcknowledge) == 0) add("DRIVER without ACKNOWLEDGE");
  if ((added & st::kFeaturesOk) != 0 && (low & st::kDriver) == 0) add("FEATURES_OK without DRIVER");
  if (!wrong.empty()) violation(id("VMSG-DRV-034", nullptr), m, hex(s) + ": " + wrong);

  if ((added & st::kFeaturesOk) != 0 && !features_written_) {
    violation(id("VMSG-DRV-024", "R1-DRV-033"), m, "FEATURES_OK with no SET_DRIVER_FEATURES since the last reset");
  }
  if ((added & st::kDriverOk) != 0 && (status_ & st::kFeaturesOk) == 0) {
    violation(id("VMSG-DRV-036", "R1-DRV-035"), m,
              "DRIVER_OK while the device reports " + hex(status_) + " (no FEATURES_OK)");
  }
}

void ValidatingEndpoint::check_set_vqueue(const wire::Message& m, const wire::SetVqueueReq& r) {
  const std::string q = "queue " + std::to_string(r.index) + ": ";
  const auto it = queues_.find(r.index);
  const QueueModel model = it != queues_.end() ? it->second : QueueModel{};
  if (rev1_) {
    check_set_vqueue_rev1(m, r, model);
    return;
  }
  if ((status_ & st::kFeaturesOk) == 0) {
    violation("VMSG-DRV-017", m, q + "device reports " + hex(status_) + " (no FEATURES_OK)");
  }
  if (!model.queried) violation("VMSG-DRV-029", m, q + "no GET_VQUEUE of this queue since the last reset");
  if (r.size == 0 || !std::has_single_bit(r.size)) {
    violation("VMSG-DRV-060", m, q + "size " + std::to_string(r.size) + " is not a power of two");
  } else if (model.queried && r.size > model.max_size) {
    violation("VMSG-DRV-060", m,
              q + "size " + std::to_string(r.size) + " > max_size " + std::to_string(model.max_size));
  }
  if (r.flags != 0 || r.reserved != 0) {
    violation("VMSG-DRV-014", m, q + "reserved words " + hex(r.flags) + ", " + hex(r.reserved));
  }
  if (!aligned(r)) {
    const std::string where = q + "desc " + hex(r.desc_addr) + " (16), driver " + hex(r.driver_addr) + " (2), device " +
                              hex(r.device_addr) + " (4)";
    violation("VMSG-DRV-061", m, where);
    violation("VIRTIO-RING-001", m, where);  // the core rule this transport rule restates (split-ring.tex L61-63)
  }
  if (r.size != 0 && (areas_wrap(r) || areas_overlap(r))) {
    violation("VMSG-DRV-031", m, q + "ring areas overlap or wrap (size " + std::to_string(r.size) + ")");
  }
  if (model.configured && (negotiated_ & bit(kRingResetBit)) != 0) {
    const bool live = (status_ & st::kDriverOk) != 0;
    violation(live ? "VMSG-DRV-048" : "VMSG-DRV-032", m, q + "reprogrammed while configured, without RESET_VQUEUE");
  }
}

void ValidatingEndpoint::check_event_avail(const wire::Message& m, const wire::EventAvail& e) {
  const std::string q = "queue " + std::to_string(e.vq_index) + ": ";
  if ((status_ & st::kDriverOk) == 0) {
    violation(id("VMSG-DRV-037", "R1-DRV-036"), m, q + "device reports " + hex(status_) + " (no DRIVER_OK)");
  }
  const auto it = queues_.find(e.vq_index);
  if (it == queues_.end() || !it->second.configured) {
    violation(id("VMSG-DRV-038", "R1-DRV-037"), m, q + (rev1_ ? "not enabled" : "not configured"));
  } else if (!it->second.confirmed) {
    violation(id("VMSG-DRV-018", "R1-DRV-027"), m, q + "SET_VQUEUE not confirmed with GET_VQUEUE");
  }
  if (e.next_offset != 0 && (negotiated_ & bit(kNotificationDataBit)) == 0) {
    violation(id("VMSG-DRV-065", "R1-DRV-077"), m,
              q + "next_offset " + hex(e.next_offset) + " without NOTIFICATION_DATA");
  }
  if (needs_reset_known_) {
    violation(id("VMSG-DRV-050", "R1-DRV-058"), m, q + "device reported DEVICE_NEEDS_RESET; no reset since");
  }
}

void ValidatingEndpoint::check_rings(const wire::Message& m) {
  if (const auto* ss = std::get_if<wire::SetDeviceStatusReq>(&m.body)) rings_.driver_status(ss->status);
  if (memory_ == nullptr) return;
  const auto* ea = std::get_if<wire::EventAvail>(&m.body);
  const auto notified = ea != nullptr ? std::optional<std::uint32_t>(ea->vq_index) : std::nullopt;
  for (const RingFinding& f : rings_.observe(*memory_, notified, notifications_owed())) violation(f.rule, m, f.detail);
}

void ValidatingEndpoint::start_ring(std::uint32_t index, std::uint32_t size, std::uint64_t desc, std::uint64_t driver,
                                    std::uint64_t device) {
  if (memory_ == nullptr || current_ == nullptr || size == 0) return;
  const MonitoredQueue q{.size = size,
                         .desc_addr = desc,
                         .driver_addr = driver,
                         .device_addr = device,
                         .indirect = (negotiated_ & bit(detail::kIndirectDescBit)) != 0,
                         .event_idx = (negotiated_ & bit(detail::kEventIdxBit)) != 0,
                         .writable_only = info_known() && info_->device_id == detail::kEntropyDeviceId && index == 0};
  for (const RingFinding& f : rings_.start(index, q, *memory_)) violation(f.rule, *current_, f.detail);
}

bool ValidatingEndpoint::notifications_owed() const noexcept {
  return (status_ & st::kDriverOk) != 0 && !needs_reset_shown_ && (status_ & (st::kNeedsReset | st::kFailed)) == 0;
}

// ---- device -> driver ------------------------------------------------------------

bool ValidatingEndpoint::valid_queue_params(const wire::SetVqueueReq& r) const {
  if (r.size == 0 || !std::has_single_bit(r.size) || !aligned(r) || areas_wrap(r)) return false;
  const auto it = queues_.find(r.index);
  if (it != queues_.end() && it->second.queried && r.size > it->second.max_size) return false;
  if (info_known() && r.index >= info_->max_virtqueues) return false;
  return true;
}

void ValidatingEndpoint::note_status(std::uint32_t status) {
  status_ = status;
  if ((status & st::kNeedsReset) != 0) needs_reset_shown_ = true;
}

void ValidatingEndpoint::reset_model() {
  status_ = 0;
  features_written_ = false;
  driver_features_ = 0;
  negotiated_ = 0;
  needs_reset_shown_ = false;
  needs_reset_known_ = false;
  reset_pending_ = false;
  config_answer_generation_.reset();
  reread_owed_ = false;
  refresh_posted_ = false;
  refresh_owed_ = false;
  unanswered_.reset();
  queues_.clear();
  rings_.clear();
  // Device info, offered features and the generation survive a reset (the
  // generation is not reset: virtio-msg.md §10).
}

void ValidatingEndpoint::observe(const wire::Message& posted) {
  observe_virtio(posted);  // first: it compares the answer with the model as it was
  if (const auto* ev = std::get_if<wire::EventConfig>(&posted.body)) {
    event_generations_.push_back(ev->generation);
    note_status(ev->device_status);
    if (rev1_) observe_config_rev1(posted);
    return;
  }
  if (!wire::is_response(posted.body)) return;
  ++responses_posted_;
  if (rev1_) observe_config_rev1(posted);
  observe_response(posted.body);
  // Responses reach the driver in order behind every earlier device message,
  // so once one is posted the driver holds whatever NEEDS_RESET report
  // preceded it.
  if (needs_reset_shown_) needs_reset_known_ = true;
}

void ValidatingEndpoint::observe_response(const wire::Body& body) {
  const wire::Body* req = current_ != nullptr ? &current_->body : nullptr;
  if (const auto* info = std::get_if<wire::GetDeviceInfoResp>(&body)) {
    info_ = *info;
  } else if (const auto* f = std::get_if<wire::GetDeviceFeaturesResp>(&body)) {
    for (std::size_t i = 0; i < f->features.size(); ++i) {
      const std::uint64_t block = std::uint64_t{f->block_index} + i;
      if (block <= std::numeric_limits<std::uint32_t>::max()) {
        offered_blocks_[static_cast<std::uint32_t>(block)] = f->features[i];
      }
    }
  } else if (std::holds_alternative<wire::SetDriverFeaturesResp>(body)) {
    const auto* r = req != nullptr ? std::get_if<wire::SetDriverFeaturesReq>(req) : nullptr;
    if (r != nullptr && (status_ & st::kFeaturesOk) == 0) {
      features_written_ = true;
      for (std::size_t i = 0; i < r->features.size(); ++i) {
        const std::uint64_t block = std::uint64_t{r->block_index} + i;
        if (block >= 2) continue;
        const unsigned shift = static_cast<unsigned>(32 * block);
        driver_features_ = (driver_features_ & ~(std::uint64_t{0xFFFFFFFF} << shift)) |
                           (std::uint64_t{r->features[i]} << shift);
      }
    }
  } else if (const auto* gc = std::get_if<wire::GetConfigResp>(&body)) {
    answered_generation_ = gc->generation;
    event_generations_.clear();
    generation_refused_ = false;
  } else if (const auto* sc = std::get_if<wire::SetConfigResp>(&body)) {
    answered_generation_ = sc->generation;
    event_generations_.clear();
    const auto* r = req != nullptr ? std::get_if<wire::SetConfigReq>(req) : nullptr;
    if (r != nullptr && sc->length == 0 && r->generation != sc->generation) generation_refused_ = true;
  } else if (const auto* gs = std::get_if<wire::GetDeviceStatusResp>(&body)) {
    note_status(gs->status);
    if (gs->status == 0) reset_pending_ = false;
  } else if (const auto* ss = std::get_if<wire::SetDeviceStatusResp>(&body)) {
    const auto* r = req != nullptr ? std::get_if<wire::SetDeviceStatusReq>(req) : nullptr;
    if (r != nullptr && (r->status & 0xFF) == 0) {
      reset_model();  // the device resets on 0 (bits 8..31 ignored, G7)
      // REV1 L1532-1535: a non-zero answer means the reset is still running.
      reset_pending_ = rev1_ && ss->status != 0;
    }
    const bool accepted_now = (ss->status & st::kFeaturesOk) != 0 && (status_ & st::kFeaturesOk) == 0;
    if (accepted_now) negotiated_ = driver_features_;
    note_status(ss->status);
  } else if (const auto* gv = std::get_if<wire::GetVqueueResp>(&body)) {
    if (gv->index < kModelQueues) {
      QueueModel& q = queues_[gv->index];
      q.queried = true;
      q.max_size = gv->max_size;
      // REV1 states the enabled state outright (REV1 L1569).
      q.configured = rev1_ ? (gv->flags & wire::vqueue_flags::kEnabled) != 0 : gv->cur_size != 0;
      q.confirmed = q.configured;
      q.size = gv->cur_size;
      q.desc_addr = gv->desc_addr;
      q.driver_addr = gv->driver_addr;
      q.device_addr = gv->device_addr;
    }
  } else if (std::holds_alternative<wire::SetVqueueResp>(body)) {
    const auto* r = req != nullptr ? std::get_if<wire::SetVqueueReq>(req) : nullptr;
    // A bad SET_VQUEUE leaves the queue as it was (G9); a good one replaces it.
    if (r != nullptr && rev1_) {
      observe_vqueue_rev1(*r);
    } else if (r != nullptr && r->index < kModelQueues && valid_queue_params(*r)) {
      QueueModel& q = queues_[r->index];
      q.configured = true;
      q.confirmed = false;
      start_ring(r->index, r->size, r->desc_addr, r->driver_addr, r->device_addr);
    }
  } else if (std::holds_alternative<wire::ResetVqueueResp>(body)) {
    const auto* r = req != nullptr ? std::get_if<wire::ResetVqueueReq>(req) : nullptr;
    if (r != nullptr) {
      auto it = queues_.find(r->index);
      if (it != queues_.end()) {
        it->second.configured = false;
        it->second.confirmed = false;
      }
      rings_.stop(r->index);
    }
  }
}

}  // namespace vmsg::transport

#include "vmsg/common/hex.hpp"
#include "vmsg/driver/transport_driver.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <string>
#include <utility>
#include <variant>

#include "link_errors.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::driver {

namespace {

namespace st = wire::status;

/// Config spaces are small; a larger claim is treated as a broken device
/// rather than allocated (a hostile GET_DEVICE_INFO must not exhaust memory).
constexpr std::uint32_t kMaxConfigSize = 1U << 20;
/// Feature blocks read at most: 2048 bits, far beyond any defined feature.
constexpr std::uint32_t kMaxFeatureBlocks = 64;
/// GET_CONFIG / SET_CONFIG carry 20 bytes besides the data; feature messages 16.
constexpr std::uint32_t kConfigOverhead = 20;
constexpr std::uint32_t kFeatureOverhead = 16;
/// The smallest bus maximum a bus may advertise: 44 in PR28 (VMSG-BUS-008),
/// 52 in REV1 (REV1 L272-277), where GET_DEVICE_INFO's answer alone is 52.
constexpr std::uint32_t kMinBusMaxMsgSize = 44;
constexpr std::uint32_t kMinBusMaxMsgSizeRev1 = 52;

}  // namespace

TransportDriver::TransportDriver(BusDriver& bus, std::uint16_t dev_num, const TransportDriverOptions& options)
    : bus_(&bus), dev_num_(dev_num), options_(options) {
  // Config chunks are max - 20 bytes: below the draft's minimum (VMSG-BUS-008)
  // they could be empty and a read would never advance.
  const std::uint32_t min = rev1() ? kMinBusMaxMsgSizeRev1 : kMinBusMaxMsgSize;
  if (bus.max_msg_size() < min) {
    throw ConfigError("transport driver: bus maximum " + std::to_string(bus.max_msg_size()) + " < " +
                      std::to_string(min));
  }
}

// ---- plumbing ----------------------------------------------------------------

template <typename Resp>
VResult<Resp> TransportDriver::exchange(wire::Body body) {
  apply_events();  // events filed by other drivers' traffic are older than what we send now
  const std::string what(wire::name(body));
  const wire::Message m{.dev_num = dev_num_, .token = 0, .reserved_type_bits = 0, .body = std::move(body)};
  ++stats_.requests;
  auto r = bus_->request(m);
  // Events parked while waiting arrived before the response: apply them first.
  apply_events();
  if (!r) {
    VirtioError e = link_error(r.error(), what, bus_->link());
    if (r.error() == LinkError::NoResponse && rev1() && options_.recover_on_no_response && !recovering_) {
      recover();
      e.message += "; the device was reset (REV1 L565-568): init() again";
    }
    return Err{std::move(e)};
  }
  auto* resp = std::get_if<Resp>(&r->body);
  if (resp == nullptr) {
    return fail(VirtioErrc::BadResponse, what + ": answered with " + std::string(wire::name(r->body)));
  }
  return std::move(*resp);
}

void TransportDriver::apply_events() {
  for (const wire::Message& m : bus_->take_events(dev_num_)) apply(m);
}

void TransportDriver::apply(const wire::Message& m) {
  if (const auto* ev = std::get_if<wire::EventConfig>(&m.body)) {
    ++stats_.config_events;
    if ((ev->device_status & st::kNeedsReset) != 0) needs_reset_ = true;  // VMSG-DRV-050
    const std::uint32_t old_gen = generation_;
    generation_ = ev->generation;  // the latest count seen (VMSG-DRV-006)
    generation_known_ = true;
    const std::uint64_t end = std::uint64_t{ev->offset} + ev->length;
    if (ev->length == 0) {
      // Status-only when the generation stands still; otherwise something
      // changed somewhere: forget it all, the next read fetches it. REV1
      // asks for a refresh whatever the generation (REV1 L405-407, L1046-1049),
      // done before the next notification or config write.
      if (rev1() || ev->generation != old_gen) std::fill(config_known_.begin(), config_known_.end(), false);
      if (rev1() && !config_.empty()) refresh_due_ = true;
    } else if (end > config_known_.size()) {
      // Not within the space the device declared: do not act on it
      // (VMSG-DRV-005), but nothing cached can be trusted now.
      ++stats_.config_events_ignored;
      std::fill(config_known_.begin(), config_known_.end(), false);
    } else if (ev->data.size() == ev->length) {
      note_config(ev->generation, ev->offset, ev->data);  // VMSG-DRV-063
    } else {
      // Range without data: re-read it before relying on it (VMSG-DRV-064).
      std::fill_n(config_known_.begin() + ev->offset, ev->length, false);
    }
  } else if (const auto* used = std::get_if<wire::EventUsed>(&m.body)) {
    auto it = queues_.find(used->vq_index);
    if (it == queues_.end()) {
      ++stats_.stray_used_events;
      return;
    }
    ++stats_.used_events;
    // VMSG-DRV-044/067: examine the queue now; the elements wait for take_used().
    if (auto s = reap_into(used->vq_index); !s && !queue_error_) queue_error_ = s.error();
  } else if (const auto* dev = std::get_if<wire::EventDevice>(&m.body)) {
    ++stats_.device_events;
    // PR28 READY and REV1 ADDED are both 1; REV1's reserved and
    // implementation-defined states (REV1 L2053-2056) mean nothing here.
    if (dev->state == wire::bus_state::kRemoved) removed_ = true;
    if (dev->state == wire::bus_state::kAdded) removed_ = false;
  }
}

void TransportDriver::note_status(std::uint32_t status) {
  status_ = status;
  if ((status & st::kNeedsReset) != 0) needs_reset_ = true;
}

void TransportDriver::note_config(std::uint32_t generation, std::uint32_t offset, std::span<const std::uint8_t> data) {
  generation_ = generation;
  generation_known_ = true;
  if (std::uint64_t{offset} + data.size() > config_.size()) return;
  std::copy(data.begin(), data.end(), config_.begin() + offset);
  std::fill_n(config_known_.begin() + offset, data.size(), true);
}

VStatus TransportDriver::ensure_info() {
  if (info_) return Unit{};
  auto r = get_info();
  if (!r) return Err{r.error()};
  return Unit{};
}

VStatus TransportDriver::check_range(std::uint32_t offset, std::uint64_t len, const char* what) {
  const std::uint64_t size = info_ ? info_->config_size : 0;
  if (std::uint64_t{offset} + len > size) {
    return fail(VirtioErrc::OutOfRange, std::string(what) + " [" + std::to_string(offset) + ", +" +
                                            std::to_string(len) + ") beyond config_size " + std::to_string(size));
  }
  return Unit{};
}

// ---- identity and status -----------------------------------------------------

VResult<wire::GetDeviceInfoResp> TransportDriver::get_info() {
  auto r = exchange<wire::GetDeviceInfoResp>(wire::GetDeviceInfoReq{});
  if (!r) return r;
  if (r->config_size > kMaxConfigSize) {
    return fail(VirtioErrc::BadResponse, "GET_DEVICE_INFO: config_size " + std::to_string(r->config_size) +
                                             " exceeds the driver's limit " + std::to_string(kMaxConfigSize));
  }
  if (!info_ || info_->config_size != r->config_size) {
    config_.assign(r->config_size, 0);
    config_known_.assign(r->config_size, false);
  }
  info_ = *r;
  return r;
}

VResult<std::uint32_t> TransportDriver::get_status() {
  auto r = exchange<wire::GetDeviceStatusResp>(wire::GetDeviceStatusReq{});
  if (!r) return Err{r.error()};
  note_status(r->status);
  return r->status;
}

VResult<std::uint32_t> TransportDriver::set_status(std::uint32_t status) {
  auto r = exchange<wire::SetDeviceStatusResp>(wire::SetDeviceStatusReq{status});
  if (!r) return Err{r.error()};
  note_status(r->status);
  return r->status;
}

void TransportDriver::forget_device_state() {
  config_answer_generation_.reset();  // a reset may change the generation (REV1 L415-416)
  queues_.clear();
  queue_error_.reset();
  features_ = 0;
  needs_reset_ = false;
  phase_ = Phase::Reset;
}

VStatus TransportDriver::reset() {
  auto r = set_status(0);
  if (!r) return Err{r.error()};
  // Whatever the device said, our queues are gone from its point of view
  // once it processed the write; the exchange already applied every event
  // that preceded the response.
  forget_device_state();
  std::uint32_t now = *r;
  if (now != 0 && rev1()) {
    auto polled = await_reset(now);
    if (!polled) return Err{polled.error()};
    now = *polled;
  }
  if (now != 0) {
    return fail(VirtioErrc::StatusRejected, "SET_DEVICE_STATUS(0): device reports " + hex(now) + " after reset");
  }
  status_ = 0;
  return Unit{};
}

VResult<std::uint32_t> TransportDriver::await_reset(std::uint32_t answered) {
  // REV1 L1532-1535: a reset not done by the time of the answer is polled
  // with GET_DEVICE_STATUS, a bounded number of times (L563-564).
  std::uint32_t now = answered;
  for (unsigned i = 0; i < options_.reset_polls && now != 0; ++i) {
    bus_->idle(options_.wait_step_ns);
    auto g = get_status();
    if (!g) return Err{g.error()};
    now = *g;
  }
  return now;
}

void TransportDriver::recover() {
  recovering_ = true;
  // Whatever the reset's own outcome, the failed request's error is what the
  // caller sees; a reset that fails too leaves the driver in Phase::Reset.
  (void)reset();
  forget_device_state();
  bus_->discard_events(dev_num_);
  recovering_ = false;
}

VResult<std::uint64_t> TransportDriver::init(std::uint64_t wanted) {
  // Split rings only, and next_offset is always 0 (VMSG-DRV-042): never
  // negotiate what would change either.
  wanted &= ~(vfeature::bit(vfeature::kNotificationData) | vfeature::bit(vfeature::kRingPacked));
  // REV1 L895: a virtio-msg driver never accepts NOTIF_CONFIG_DATA.
  if (rev1()) wanted &= ~vfeature::bit(vfeature::kNotifConfigData);

  if (auto r = get_info(); !r) return Err{r.error()};  // VMSG-DRV-016, before anything else
  if (auto r = reset(); !r) return Err{r.error()};

  const auto step = [this](std::uint32_t want) -> VStatus {
    auto r = set_status(want);
    if (!r) return Err{r.error()};
    if (*r == want) return Unit{};
    if ((*r & st::kNeedsReset) != 0) {
      return fail(VirtioErrc::NeedsReset, "SET_DEVICE_STATUS(" + hex(want) + "): device needs reset (" + hex(*r) + ")");
    }
    return fail(VirtioErrc::StatusRejected, "SET_DEVICE_STATUS(" + hex(want) + "): device reports " + hex(*r));
  };
  if (auto s = step(st::kAcknowledge); !s) return Err{s.error()};
  if (auto s = step(st::kAcknowledge | st::kDriver); !s) return Err{s.error()};

  // Features (VMSG-DRV-022/053): num_feature_bits/32 blocks in PR28, REV1
  // counts the blocks itself (REV1 L1262), as many per message as fit the
  // bus maximum.
  const std::uint32_t declared = rev1() ? info_->num_feature_blocks : (info_->num_feature_bits + 31) / 32;
  const std::uint32_t nblocks = std::min(declared, kMaxFeatureBlocks);
  const std::uint32_t per_msg = (bus_->max_msg_size() - kFeatureOverhead) / 4;
  std::vector<std::uint32_t> offered;
  while (offered.size() < nblocks) {
    const auto index = static_cast<std::uint32_t>(offered.size());
    const std::uint32_t want = std::min(per_msg, nblocks - index);
    auto r = exchange<wire::GetDeviceFeaturesResp>(wire::GetDeviceFeaturesReq{index, want});
    if (!r) return Err{r.error()};
    if (r->block_index != index || r->features.empty() || r->features.size() > want) {
      return fail(VirtioErrc::BadResponse, "GET_DEVICE_FEATURES(" + std::to_string(index) + ", " +
                                               std::to_string(want) + "): answered block " +
                                               std::to_string(r->block_index) + " x " +
                                               std::to_string(r->features.size()));
    }
    // Fewer blocks than asked is the device's way to fit the bus (G3): go on from there.
    offered.insert(offered.end(), r->features.begin(), r->features.end());
  }
  device_features_ = (offered.size() > 0 ? offered[0] : 0U) |
                     (offered.size() > 1 ? std::uint64_t{offered[1]} << 32 : 0U);
  const std::uint64_t negotiated = device_features_ & wanted;  // VMSG-DRV-023/054

  std::vector<std::uint32_t> blocks(std::max<std::uint32_t>(nblocks, 1), 0);
  blocks[0] = static_cast<std::uint32_t>(negotiated);
  if (blocks.size() > 1) blocks[1] = static_cast<std::uint32_t>(negotiated >> 32);
  for (std::uint32_t index = 0; index < blocks.size(); index += per_msg) {
    const auto n = std::min<std::size_t>(per_msg, blocks.size() - index);
    wire::SetDriverFeaturesReq req{index, std::vector<std::uint32_t>(blocks.begin() + index,
                                                                     blocks.begin() + index + static_cast<long>(n))};
    if (auto r = exchange<wire::SetDriverFeaturesResp>(std::move(req)); !r) return Err{r.error()};
  }

  // FEATURES_OK must stick in the response (VMSG-DRV-024/025) and in a fresh
  // read of the status (VMSG-DRV-059).
  const std::uint32_t fok = st::kAcknowledge | st::kDriver | st::kFeaturesOk;
  auto r = set_status(fok);
  if (!r) return Err{r.error()};
  std::string refused;
  if ((*r & st::kFeaturesOk) == 0) {
    refused = "SET_DEVICE_STATUS(" + hex(fok) + ") answered " + hex(*r);
  } else {
    auto g = get_status();
    if (!g) return Err{g.error()};
    if ((*g & st::kFeaturesOk) == 0) refused = "GET_DEVICE_STATUS after FEATURES_OK reports " + hex(*g);
  }
  if (!refused.empty()) {
    (void)set_status(status_ | st::kFailed);  // tell the device we gave up; the answer changes nothing
    phase_ = Phase::Failed;
    return fail(VirtioErrc::FeaturesRefused, "features " + hex(negotiated) + " refused: " + refused);
  }
  if ((*r & st::kNeedsReset) != 0) return fail(VirtioErrc::NeedsReset, "device needs reset after FEATURES_OK");
  features_ = negotiated;
  phase_ = Phase::FeaturesOk;
  return negotiated;
}

VStatus TransportDriver::driver_ok() {
  if (phase_ != Phase::FeaturesOk) {
    return fail(VirtioErrc::NotReady, "DRIVER_OK needs a completed feature negotiation (VMSG-DRV-036)");
  }
  const std::uint32_t want = status_ | st::kDriverOk;
  auto r = set_status(want);
  if (!r) return Err{r.error()};
  if ((*r & st::kNeedsReset) != 0) return fail(VirtioErrc::NeedsReset, "DRIVER_OK answered " + hex(*r));
  if (*r != want) return fail(VirtioErrc::StatusRejected, "SET_DEVICE_STATUS(" + hex(want) + ") answered " + hex(*r));
  phase_ = Phase::Live;
  return Unit{};
}

// ---- configuration space -------------------------------------------------------

VResult<std::vector<std::uint8_t>> TransportDriver::read_config_once(std::uint32_t offset, std::uint32_t len,
                                                                     bool& moved) {
  const std::uint32_t chunk = bus_->max_msg_size() - kConfigOverhead;
  std::vector<std::uint8_t> out;
  out.reserve(len);
  std::optional<std::uint32_t> first_gen;
  for (std::uint32_t done = 0; done < len;) {
    const std::uint32_t off = offset + done;
    const std::uint32_t n = std::min(chunk, len - done);
    auto r = exchange<wire::GetConfigResp>(wire::GetConfigReq{off, n});
    if (!r) return Err{r.error()};
    if (r->offset != off || (!r->data.empty() && r->data.size() != n)) {
      return fail(VirtioErrc::BadResponse, "GET_CONFIG(" + std::to_string(off) + ", " + std::to_string(n) +
                                               "): answered offset " + std::to_string(r->offset) + " length " +
                                               std::to_string(r->data.size()));
    }
    if (r->data.empty()) {
      return fail(VirtioErrc::ConfigRejected, "GET_CONFIG(" + std::to_string(off) + ", " + std::to_string(n) +
                                                  "): answered length 0");
    }
    generation_ = r->generation;
    generation_known_ = true;
    // REV1 L399-402: an answer at another generation than the previous config
    // answer shows a change the driver may have read across; read again
    // until two answers agree.
    const bool moved_since = rev1() && config_answer_generation_ && *config_answer_generation_ != r->generation;
    config_answer_generation_ = r->generation;
    if (!first_gen) first_gen = r->generation;
    if (r->generation != *first_gen || moved_since) {
      moved = true;  // the bytes of different chunks belong to different versions
      return out;
    }
    out.insert(out.end(), r->data.begin(), r->data.end());
    done += n;
  }
  if (first_gen) note_config(*first_gen, offset, out);
  return out;
}

VResult<std::vector<std::uint8_t>> TransportDriver::read_config(std::uint32_t offset, std::uint32_t len) {
  if (auto s = ensure_info(); !s) return Err{s.error()};
  if (auto s = check_range(offset, len, "GET_CONFIG"); !s) return Err{s.error()};
  for (unsigned attempt = 0; attempt <= options_.config_read_retries; ++attempt) {
    bool moved = false;
    auto r = read_config_once(offset, len, moved);
    if (r && !moved) refresh_due_ = false;
    if (!r || !moved) return r;
    ++stats_.config_read_restarts;
  }
  return fail(VirtioErrc::GenerationUnstable, "GET_CONFIG [" + std::to_string(offset) + ", +" + std::to_string(len) +
                                                  "): generation still moving after " +
                                                  std::to_string(options_.config_read_retries) + " restarts");
}

VResult<std::uint32_t> TransportDriver::read_config32(std::uint32_t offset) {
  auto r = read_config(offset, 4);
  if (!r) return Err{r.error()};
  return le::load32(*r, 0);
}

VResult<std::uint64_t> TransportDriver::read_config64(std::uint32_t offset) {
  auto r = read_config(offset, 8);
  if (!r) return Err{r.error()};
  return le::load64(*r, 0);
}

VStatus TransportDriver::write_config(std::uint32_t offset, std::span<const std::uint8_t> data) {
  if (auto s = ensure_info(); !s) return s;
  if (auto s = check_range(offset, data.size(), "SET_CONFIG"); !s) return s;
  if (auto s = refresh_if_announced(); !s) return s;
  if (tracks_generation() && !generation_known_ && !data.empty()) {
    // Nothing seen yet to put in SET_CONFIG: learn the count first rather
    // than send a value that can only be rejected.
    if (auto r = read_config(offset, std::min<std::uint32_t>(static_cast<std::uint32_t>(data.size()),
                                                             bus_->max_msg_size() - kConfigOverhead));
        !r) {
      return Err{r.error()};
    }
  }
  const std::uint32_t chunk = bus_->max_msg_size() - kConfigOverhead;
  for (std::uint32_t done = 0; done < data.size();) {
    const std::uint32_t off = offset + done;
    const auto n = std::min<std::uint32_t>(chunk, static_cast<std::uint32_t>(data.size()) - done);
    const auto bytes = data.subspan(done, n);
    bool applied = false;
    for (unsigned attempt = 0; attempt <= options_.config_write_retries && !applied; ++attempt) {
      // VMSG-DRV-006/027/056; REV1 baseline: always 0 (REV1 L403-404).
      const std::uint32_t sent_gen = tracks_generation() ? generation_ : 0;
      auto r = exchange<wire::SetConfigResp>(
          wire::SetConfigReq{sent_gen, off, std::vector<std::uint8_t>(bytes.begin(), bytes.end())});
      if (!r) return Err{r.error()};
      config_answer_generation_ = r->generation;  // our own write moved it: no re-read owed
      if (r->offset != off || (r->length != 0 && r->length != n)) {
        return fail(VirtioErrc::BadResponse, "SET_CONFIG(" + std::to_string(off) + ", " + std::to_string(n) +
                                                 "): answered offset " + std::to_string(r->offset) + " length " +
                                                 std::to_string(r->length));
      }
      if (r->length == n) {
        generation_ = r->generation;
        generation_known_ = true;
        if (r->data.size() == n) {
          note_config(r->generation, off, r->data);  // the device echoed what it applied
        } else {
          std::fill_n(config_known_.begin() + off, n, false);  // it may store other bytes than written
        }
        applied = true;
        break;
      }
      ++stats_.config_write_rejects;
      if (!tracks_generation()) {
        // Baseline: the device ignores the generation, so a refusal is about
        // the bytes; no retry would change it (REV1 L1446-1449).
        return fail(VirtioErrc::ConfigRejected,
                    "SET_CONFIG(" + std::to_string(off) + ", " + std::to_string(n) + ") refused (length 0)");
      }
      // VMSG-DRV-007/028: learn the current generation before any retry.
      if (auto rr = read_config(off, n); !rr) return Err{rr.error()};
      if (generation_ == sent_gen) {
        return fail(VirtioErrc::ConfigRejected, "SET_CONFIG(" + std::to_string(off) + ", " + std::to_string(n) +
                                                    ") refused at the current generation " + std::to_string(sent_gen));
      }
    }
    if (!applied) {
      return fail(VirtioErrc::ConfigRejected, "SET_CONFIG(" + std::to_string(off) + ", " + std::to_string(n) +
                                                  "): generation kept moving over " +
                                                  std::to_string(options_.config_write_retries + 1) + " attempts");
    }
    done += n;
  }
  return Unit{};
}

std::optional<std::vector<std::uint8_t>> TransportDriver::cached_config(std::uint32_t offset, std::uint32_t len) const {
  if (std::uint64_t{offset} + len > config_.size()) return std::nullopt;
  const auto first = config_known_.begin() + offset;
  if (!std::all_of(first, first + len, [](bool k) { return k; })) return std::nullopt;
  return std::vector<std::uint8_t>(config_.begin() + offset, config_.begin() + offset + len);
}

bool TransportDriver::config_stale() const noexcept {
  if (config_view_.empty()) return std::find(config_known_.begin(), config_known_.end(), false) != config_known_.end();
  for (const auto& [offset, length] : config_view_) {
    const std::size_t lo = std::min<std::size_t>(offset, config_known_.size());
    const std::size_t hi = std::min<std::size_t>(std::size_t{offset} + length, config_known_.size());
    if (std::find(config_known_.begin() + static_cast<std::ptrdiff_t>(lo),
                  config_known_.begin() + static_cast<std::ptrdiff_t>(hi), false) !=
        config_known_.begin() + static_cast<std::ptrdiff_t>(hi)) {
      return true;
    }
  }
  return false;
}

VStatus TransportDriver::read_view() {
  const auto size = static_cast<std::uint32_t>(config_.size());
  if (config_view_.empty()) {
    auto r = read_config(0, size);
    if (!r) return Err{r.error()};
    return Unit{};
  }
  for (const auto& [offset, length] : config_view_) {
    if (offset >= size) continue;
    auto r = read_config(offset, std::min(length, size - offset));
    if (!r) return Err{r.error()};
  }
  return Unit{};
}

VStatus TransportDriver::refresh_if_announced() {
  apply_events();
  if (!refresh_due_) return Unit{};
  return read_view();
}

VStatus TransportDriver::refresh_config() {
  apply_events();
  if (!config_stale() && !refresh_due_) return Unit{};
  return read_view();
}

// ---- virtqueues ------------------------------------------------------------------

VResult<SplitQueueDriver*> TransportDriver::setup_queue(std::uint32_t q, std::uint32_t size, GuestAllocator& ram,
                                                        bool no_interrupt) {
  return setup_queue_sized(q, size, ram, no_interrupt, false);
}

VResult<SplitQueueDriver*> TransportDriver::setup_queue_fitted(std::uint32_t q, std::uint32_t size, GuestAllocator& ram,
                                                               bool no_interrupt) {
  return setup_queue_sized(q, size, ram, no_interrupt, true);
}

VResult<SplitQueueDriver*> TransportDriver::setup_queue_sized(std::uint32_t q, std::uint32_t size, GuestAllocator& ram,
                                                              bool no_interrupt, bool fit) {
  if (phase_ != Phase::FeaturesOk && phase_ != Phase::Live) {
    return fail(VirtioErrc::NotReady, "queue " + std::to_string(q) + ": set up only after FEATURES_OK (VMSG-DRV-017)");
  }
  if (q >= info_->max_virtqueues) {
    return fail(VirtioErrc::QueueUnavailable, "queue " + std::to_string(q) + " >= max_virtqueues " +
                                                  std::to_string(info_->max_virtqueues));
  }
  if (queues_.count(q) != 0) {
    return fail(VirtioErrc::QueueInUse, "queue " + std::to_string(q) + " is already set up");
  }
  if (size == 0 || size > vring::kMaxSize || (!fit && !std::has_single_bit(size))) {
    return fail(VirtioErrc::BadQueueSize, "queue size " + std::to_string(size) + " is not a power of two in 1..32768");
  }
  const std::string name = "queue " + std::to_string(q);
  auto g = exchange<wire::GetVqueueResp>(wire::GetVqueueReq{q});
  if (!g) return Err{g.error()};
  if (g->index != q) return fail(VirtioErrc::BadResponse, "GET_VQUEUE(" + std::to_string(q) + ") echoed " + std::to_string(g->index));
  if (g->max_size == 0) return fail(VirtioErrc::QueueUnavailable, name + ": max_size 0");
  // REV1 L1661-1662: an enabled queue's size and addresses are not to be
  // changed with SET_VQUEUE; it takes a RESET_VQUEUE or a device reset first.
  if (rev1() && (g->flags & wire::vqueue_flags::kEnabled) != 0) {
    return fail(VirtioErrc::QueueInUse, name + ": GET_VQUEUE shows it enabled before SET_VQUEUE");
  }
  if (g->cur_size != 0) {  // VMSG-DRV-029
    const std::string seen = name + ": cur_size " + std::to_string(g->cur_size) + " before SET_VQUEUE";
    if (!options_.tolerate_deviations) return fail(VirtioErrc::QueueInUse, seen);
    // QEMU reports its default ring size here (qemu-observed.md §9); Linux
    // programs the queue regardless, and so do we.
    deviations_.push_back(Deviation{rev1() ? "R1-DEV-071" : "VMSG-DEV-055", seen + " (expected 0); programmed anyway"});
  }
  if (fit) size = std::bit_floor(std::min(size, g->max_size));  // as Linux sizes its rings
  if (size > g->max_size) {  // VMSG-DRV-030/060
    return fail(VirtioErrc::QueueTooLarge, name + ": size " + std::to_string(size) + " > max_size " + std::to_string(g->max_size));
  }

  // At least the split-ring alignments (desc 16, avail 2, used 4; VMSG-DRV-061),
  // a cache line in fact, so the areas never share one.
  static_assert(GuestAllocator::kDefaultAlign % vring::kDescAlign == 0);
  RingLayout layout;
  layout.size = size;
  layout.desc = ram.alloc(vring::desc_bytes(size));
  layout.avail = ram.alloc(vring::avail_bytes(size));
  layout.used = ram.alloc(vring::used_bytes(size));
  // The rings are valid (zeroed) before the device learns their addresses (VMSG-DRV-031).
  auto ring = std::make_unique<SplitQueueDriver>(
      bus_->link().port(), layout,
      SplitQueueOptions{.event_idx = has_feature(vfeature::kEventIdx), .no_interrupt = no_interrupt});

  // REV1: state op 1 applies every field and enables the queue (REV1
  // L1623-1638); PR28 has a reserved word there, sent as 0.
  const std::uint32_t flags = rev1() ? wire::vqueue_flags::kEnable : 0U;
  if (auto s = exchange<wire::SetVqueueResp>(
          wire::SetVqueueReq{q, flags, size, 0, layout.desc, layout.avail, layout.used});
      !s) {
    return Err{s.error()};
  }
  auto c = exchange<wire::GetVqueueResp>(wire::GetVqueueReq{q});  // VMSG-DRV-018
  if (!c) return Err{c.error()};
  // REV1 also reports whether the queue is enabled (REV1 L1569, L1665-1668).
  const bool enabled = !rev1() || (c->flags & wire::vqueue_flags::kEnabled) != 0;
  if (c->index != q || c->cur_size != size || c->desc_addr != layout.desc || c->driver_addr != layout.avail ||
      c->device_addr != layout.used || !enabled) {
    return fail(VirtioErrc::QueueNotConfirmed,
                name + ": GET_VQUEUE after SET_VQUEUE shows " + (enabled ? "" : "it not enabled, ") + "cur_size " +
                    std::to_string(c->cur_size) + " desc " +
                    hex(c->desc_addr) + " driver " + hex(c->driver_addr) + " device " + hex(c->device_addr) +
                    ", expected " + std::to_string(size) + " " + hex(layout.desc) + " " + hex(layout.avail) + " " +
                    hex(layout.used));
  }
  auto* out = ring.get();
  queues_[q].ring = std::move(ring);
  return out;
}

VStatus TransportDriver::reset_queue(std::uint32_t q) {
  if (!has_feature(vfeature::kRingReset)) {
    return fail(VirtioErrc::Unsupported, "RESET_VQUEUE without VIRTIO_F_RING_RESET (VMSG-DRV-062)");
  }
  auto r = exchange<wire::ResetVqueueResp>(wire::ResetVqueueReq{q});
  if (!r) return Err{r.error()};
  queues_.erase(q);
  return Unit{};
}

VResult<wire::GetShmResp> TransportDriver::get_shm(std::uint32_t shmid) {
  auto r = exchange<wire::GetShmResp>(wire::GetShmReq{shmid});
  if (!r) return r;
  if (r->index != shmid) {
    return fail(VirtioErrc::BadResponse, "GET_SHM(" + std::to_string(shmid) + ") echoed " + std::to_string(r->index));
  }
  return r;
}

SplitQueueDriver* TransportDriver::queue(std::uint32_t q) noexcept {
  auto it = queues_.find(q);
  return it == queues_.end() ? nullptr : it->second.ring.get();
}

VStatus TransportDriver::ready_for_io(std::uint32_t q) {
  if (removed_) return fail(VirtioErrc::DeviceRemoved, "device " + std::to_string(dev_num_) + " was removed");
  if (needs_reset_) return fail(VirtioErrc::NeedsReset, "device " + std::to_string(dev_num_) + " needs reset");
  if (phase_ != Phase::Live) return fail(VirtioErrc::NotReady, "no I/O before DRIVER_OK (VMSG-DRV-037)");
  if (queue(q) == nullptr) {
    return fail(VirtioErrc::NotReady, "queue " + std::to_string(q) + " not set up (VMSG-DRV-038)");
  }
  return Unit{};
}

VStatus TransportDriver::kick(std::uint32_t q) {
  if (auto s = ready_for_io(q); !s) return s;
  if (auto s = refresh_if_announced(); !s) return s;
  SplitQueueDriver& ring = *queue(q);
  ring.publish();
  (void)ring.needs_kick();  // keeps the EVENT_IDX bookkeeping in step with this kick
  // Without NOTIFICATION_DATA, next_offset is 0 (VMSG-DRV-042/065).
  const wire::Message m{.dev_num = dev_num_, .token = 0, .reserved_type_bits = 0, .body = wire::EventAvail{q, 0}};
  auto r = bus_->send_event(m);
  if (!r) return Err{link_error(r.error(), "EVENT_AVAIL", bus_->link())};
  ++stats_.kicks;
  return Unit{};
}

VStatus TransportDriver::notify(std::uint32_t q) {
  if (auto s = ready_for_io(q); !s) return s;
  if (auto s = refresh_if_announced(); !s) return s;
  SplitQueueDriver& ring = *queue(q);
  ring.publish();
  if (!ring.needs_kick()) return Unit{};
  const wire::Message m{.dev_num = dev_num_, .token = 0, .reserved_type_bits = 0, .body = wire::EventAvail{q, 0}};
  auto r = bus_->send_event(m);
  if (!r) return Err{link_error(r.error(), "EVENT_AVAIL", bus_->link())};
  ++stats_.kicks;
  return Unit{};
}

// ---- device events -----------------------------------------------------------------

VStatus TransportDriver::reap_into(std::uint32_t q) {
  auto it = queues_.find(q);
  if (it == queues_.end()) return fail(VirtioErrc::NotReady, "queue " + std::to_string(q) + " not set up");
  auto r = it->second.ring->reap();
  if (!r) return Err{r.error()};
  auto& used = it->second.used;
  used.insert(used.end(), r->begin(), r->end());
  return Unit{};
}

VStatus TransportDriver::poll() {
  bus_->pump();
  apply_events();
  if (queue_error_) {
    VirtioError e = std::move(*queue_error_);
    queue_error_.reset();
    return Err{std::move(e)};
  }
  return Unit{};
}

VResult<std::vector<UsedElem>> TransportDriver::take_used(std::uint32_t q) {
  if (auto s = poll(); !s) return Err{s.error()};
  if (auto s = reap_into(q); !s) return Err{s.error()};
  return std::exchange(queues_[q].used, {});
}

VResult<std::vector<UsedElem>> TransportDriver::wait_used(std::uint32_t q) {
  for (unsigned i = 0;; ++i) {
    auto r = take_used(q);
    if (!r || !r->empty()) return r;
    if (needs_reset_) return fail(VirtioErrc::NeedsReset, "device " + std::to_string(dev_num_) + " needs reset");
    if (removed_) return fail(VirtioErrc::DeviceRemoved, "device " + std::to_string(dev_num_) + " was removed");
    if (i >= options_.wait_polls) break;
    bus_->idle(options_.wait_step_ns);
  }
  return fail(VirtioErrc::Timeout, "queue " + std::to_string(q) + ": nothing used after " +
                                       std::to_string(options_.wait_polls) + " polls");
}

}  // namespace vmsg::driver

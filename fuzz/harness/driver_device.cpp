#include "harness/driver_device.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/check.hpp"
#include "vmsg/common/le.hpp"
#include "vmsg/driver/blk_driver.hpp"
#include "vmsg/driver/rng_driver.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::fuzz {

namespace {

namespace ops = driver_ops;
namespace drv = vmsg::driver;
using ops::FaultKind;

constexpr std::size_t kMaxDeferred = 64;           ///< late answers held at most
constexpr std::uint32_t kMaxChainBytes = 0x10000;  ///< bytes the model serves per chain
constexpr std::uint32_t kVendor = 0x4D534756;
constexpr std::uint64_t kEventIdx = std::uint64_t{1} << 29;

bool within(std::uint64_t addr, std::uint64_t len, std::uint64_t lo, std::uint64_t hi) {
  return addr >= lo && addr <= hi && len <= hi - addr;
}

/// splitmix64: deterministic bytes for rng buffers, the medium and garbage frames.
std::uint64_t mix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t offered_features(const ops::Setup& s) {
  const std::uint32_t blocks = (std::uint32_t{s.feature_bits} + 31) / 32;
  if (blocks == 0) return 0;
  if (blocks == 1) return s.features & 0xFFFF'FFFFULL;
  return s.features;
}

std::uint32_t device_id_of(const ops::Setup& s) {
  switch (s.kind) {
    case ops::DevKind::Rng: return drv::RngDriver::kDeviceId;
    case ops::DevKind::Blk: return drv::BlkDriver::kDeviceId;
    default: return s.other_id;
  }
}

ScriptedDevice::ScriptedDevice(const ops::Setup& s, std::span<std::uint8_t> ram, std::span<std::uint8_t> bar1)
    : setup_(s),
      profile_(s.profile.wire()),
      rev1_(s.profile.rev1),
      ram_(ram),
      rx_(fifo::SharedQueueMemory::in_bar(bar1, 0, fifo::QueueKind::Driver)),
      tx_(fifo::SharedQueueMemory::in_bar(bar1, 0, fifo::QueueKind::Device)),
      config_(s.config),
      generation_(s.generation),
      disk_(std::size_t{ops::kDiskSectors} * drv::vblk::kSectorSize),
      rng_state_(s.features ^ s.generation) {
  std::uint64_t seed = 0x5eed;
  for (auto& b : disk_) b = static_cast<std::uint8_t>(mix(seed));
  verbose_ = std::getenv("VMSG_FUZZ_VERBOSE") != nullptr;
}

void ScriptedDevice::begin_call(const std::vector<ops::Fault>& plan) {
  plan_ = plan;
  actions_ = 0;
}

std::uint64_t ScriptedDevice::negotiated() const noexcept {
  return (driver_features_.size() > 0 ? driver_features_[0] : 0U) |
         (driver_features_.size() > 1 ? std::uint64_t{driver_features_[1]} << 32 : 0U);
}

std::span<const std::uint8_t> ScriptedDevice::rng_pending() const noexcept {
  return std::span<const std::uint8_t>(rng_out_).subspan(rng_taken_);
}

const ScriptedDevice::Queue* ScriptedDevice::queue(std::uint32_t q) const {
  auto it = queues_.find(q);
  return it == queues_.end() ? nullptr : &it->second;
}

void ScriptedDevice::doorbell() {
  if (deaf_ > 0) {
    --deaf_;
    return;
  }
  fifo::Slot s;
  while (rx_.pop(s)) receive(s);
}

void ScriptedDevice::tick() {
  std::vector<std::vector<std::uint8_t>> due;
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    if (--it->first == 0) {
      due.push_back(std::move(it->second));
      it = deferred_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& f : due) push_raw(f);
}

void ScriptedDevice::push_raw(std::span<const std::uint8_t> bytes) {
  if (bytes.size() <= fifo::kSlotSize) (void)tx_.push(bytes);  // a full queue drops it, as a device must
}

void ScriptedDevice::ring_write(std::uint32_t q, std::uint32_t field, std::uint64_t value) {
  auto it = queues_.find(q);
  if (it == queues_.end()) return;
  const Queue& r = it->second;
  std::array<std::uint8_t, 4> b{};
  le::store32(b, 0, static_cast<std::uint32_t>(value));
  if (field == 0) ram_write(r.used, std::span(b).first(2));
  if (field == 1) ram_write(r.used + 2, std::span(b).first(2));
  if (field == 2) ram_write(r.used + 4 + 8ULL * r.size, std::span(b).first(2));
  if (field >= 3) {
    const std::uint32_t k = (field - 3) / 2;
    ram_write(r.used + 4 + 8ULL * (k % r.size) + ((field - 3) % 2 == 0 ? 0 : 4), b);
  }
}

void ScriptedDevice::config_change(std::uint32_t offset, std::uint8_t value, bool silent) {
  ++generation_;
  if (config_.empty()) return;
  offset %= static_cast<std::uint32_t>(config_.size());
  config_[offset] = value;
  if (!silent) {
    push_message(wire::Message{.dev_num = ops::kDevNum,
                               .body = wire::EventConfig{status_, generation_, offset, 1, {value}}});
  }
}

const ops::Fault* ScriptedDevice::fault_at(std::uint32_t action) const {
  for (const ops::Fault& f : plan_) {
    if (f.at == action) return &f;
  }
  return nullptr;
}

bool ScriptedDevice::ram_read(std::uint64_t addr, std::span<std::uint8_t> out) const {
  if (!within(addr, out.size(), 0, ram_.size())) return false;
  std::memcpy(out.data(), ram_.data() + addr, out.size());
  return true;
}

bool ScriptedDevice::ram_write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  if (!within(addr, data.size(), 0, ram_.size())) return false;
  if (!data.empty()) std::memcpy(ram_.data() + addr, data.data(), data.size());
  return true;
}

std::uint16_t ScriptedDevice::read16(std::uint64_t addr) const {
  std::array<std::uint8_t, 2> b{};
  return ram_read(addr, b) ? le::load16(b, 0) : std::uint16_t{0};
}

void ScriptedDevice::write16(std::uint64_t addr, std::uint16_t v) {
  std::array<std::uint8_t, 2> b{};
  le::store16(b, 0, v);
  ram_write(addr, b);
}

void ScriptedDevice::push_message(const wire::Message& m) {
  std::array<std::uint8_t, fifo::kSlotSize> buf{};
  auto n = wire::encode(m, profile_, buf);
  if (n) push_raw(std::span<const std::uint8_t>(buf.data(), *n));
}

void ScriptedDevice::receive(const fifo::Slot& slot) {
  // Oracle (d): what the drivers put on the wire.
  auto d = wire::decode(slot, profile_, wire::DecodeOptions{.strict_type_bits = true});
  VMSG_FUZZ_CHECK(d.ok(), "driver posted a frame that does not decode: " + (d.ok() ? "" : wire::describe(d.error())));
  const wire::Message& m = d.value();
  VMSG_FUZZ_CHECK(!wire::is_response(m.body) && !wire::is_bus(m.body) &&
                      (!wire::is_event(m.body) || std::holds_alternative<wire::EventAvail>(m.body)),
                  std::string("driver sent ") + std::string(wire::name(m.body)));
  VMSG_FUZZ_CHECK(m.dev_num == ops::kDevNum, "driver addressed device " + std::to_string(m.dev_num));

  if (verbose_) std::fprintf(stderr, "device: action %u: %s\n", actions_, std::string(wire::name(m.body)).c_str());
  const ops::Fault* f = fault_at(actions_++);
  if (f != nullptr) pre_answer(*f);
  if (const auto* ev = std::get_if<wire::EventAvail>(&m.body)) {
    if (f != nullptr && f->kind == FaultKind::Drop) {
      mark_fired();
      return;  // the kick is lost
    }
    process(ev->vq_index);
    return;
  }
  const bool refuse = f != nullptr && f->kind == FaultKind::Refuse;
  terse_ = f != nullptr && f->kind == FaultKind::Terse;
  auto body = respond(m.body, refuse);
  if (refuse || terse_) mark_fired();
  if (!body) return;
  answer(wire::Message{.dev_num = m.dev_num, .token = m.token, .body = std::move(*body)}, f);
}

void ScriptedDevice::pre_answer(const ops::Fault& f) {
  switch (f.kind) {
    case FaultKind::Generation:
      generation_ += 1 + f.a;
      break;
    case FaultKind::Status:
      status_ |= f.a;
      break;
    case FaultKind::Deaf:
      deaf_ = f.a % 128 + 1;
      break;
    case FaultKind::EventFirst: {
      const std::uint64_t b = f.b;
      wire::Message e{.dev_num = ops::kDevNum, .body = wire::EventUsed{}};
      if (f.a % 3 == 0) {
        wire::EventConfig c{static_cast<std::uint32_t>(b >> 32), generation_ + static_cast<std::uint32_t>(b & 3),
                            static_cast<std::uint32_t>((b >> 8) & 0x3F), static_cast<std::uint32_t>((b >> 16) & 7),
                            {}};
        if (((b >> 24) & 1) != 0) c.data.assign(c.length, static_cast<std::uint8_t>(b >> 40));
        generation_ = c.generation;
        e.body = c;
      } else if (f.a % 3 == 1) {
        e.body = wire::EventUsed{static_cast<std::uint32_t>(b % 6)};
      } else {
        e.dev_num = 0;
        e.body = wire::EventDevice{ops::kDevNum, (b & 1) != 0 ? wire::bus_state::kRemoved : wire::bus_state::kReady};
      }
      push_message(e);
      break;
    }
    default:
      return;  // not a pre-answer fault
  }
  mark_fired();
}

void ScriptedDevice::answer(wire::Message m, const ops::Fault* f) {
  if (f == nullptr) {
    push_message(m);
    return;
  }
  std::array<std::uint8_t, fifo::kSlotSize> buf{};
  switch (f->kind) {
    case FaultKind::Drop:
      break;
    case FaultKind::Twice:
      push_message(m);
      push_message(m);
      break;
    case FaultKind::Late: {
      auto n = wire::encode(m, profile_, buf);
      if (n && deferred_.size() < kMaxDeferred) {
        deferred_.emplace_back(f->a % 8 + 1, std::vector<std::uint8_t>(buf.begin(), buf.begin() + static_cast<long>(*n)));
      }
      break;
    }
    case FaultKind::WrongKind:
      m.body = detail::make_body(f->a % kBodyKinds, std::make_index_sequence<kBodyKinds>{});
      push_message(m);
      break;
    case FaultKind::WrongDev:
      m.dev_num = static_cast<std::uint16_t>(m.dev_num ^ (1U + (f->a & 0xFFFE)));
      push_message(m);
      break;
    case FaultKind::Token:
      m.token = static_cast<std::uint16_t>(f->a);
      push_message(m);
      break;
    case FaultKind::Patch: {
      if (!wire::encode(m, profile_, buf)) break;
      const std::size_t at = f->a % (fifo::kSlotSize - 3);
      for (std::size_t i = 0; i < 4; ++i) buf[at + i] = static_cast<std::uint8_t>(f->b >> (8 * i));
      push_raw(buf);
      break;
    }
    case FaultKind::Garbage: {
      std::uint64_t s = f->b;
      const std::size_t n = 8 + f->b % (fifo::kSlotSize - 7);
      for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<std::uint8_t>(mix(s));
      push_raw(std::span<const std::uint8_t>(buf.data(), n));
      break;
    }
    default:
      push_message(m);  // pre-answer or completion faults: the answer itself is right
      return;
  }
  mark_fired();
}

std::optional<wire::Body> ScriptedDevice::respond(const wire::Body& b, bool refuse) {
  if (std::holds_alternative<wire::GetDeviceInfoReq>(b)) {
    wire::GetDeviceInfoResp info{device_id_of(setup_), kVendor, setup_.feature_bits,
                                 static_cast<std::uint32_t>(config_.size()), setup_.max_queues, 0, 0};
    if (rev1_) {
      // REV1 counts 32-bit feature blocks (REV1 L1262); the UUID stays nil.
      info.num_feature_blocks = (std::uint32_t{setup_.feature_bits} + 31) / 32;
      info.num_feature_bits = 0;
    }
    return info;
  }
  if (const auto* r = std::get_if<wire::GetDeviceFeaturesReq>(&b)) {
    wire::GetDeviceFeaturesResp resp{r->block_index, {}};
    const std::uint32_t n = std::min<std::uint32_t>(r->num_blocks, 12);  // what fits one slot
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint64_t k = std::uint64_t{r->block_index} + i;
      resp.features.push_back(k == 0   ? static_cast<std::uint32_t>(setup_.features)
                              : k == 1 ? static_cast<std::uint32_t>(setup_.features >> 32)
                                       : 0U);
    }
    return resp;
  }
  if (const auto* r = std::get_if<wire::SetDriverFeaturesReq>(&b)) {
    const std::uint64_t end = std::uint64_t{r->block_index} + r->features.size();
    if (end <= 64) {
      if (driver_features_.size() < end) driver_features_.resize(static_cast<std::size_t>(end), 0);
      std::copy(r->features.begin(), r->features.end(), driver_features_.begin() + r->block_index);
    }
    return wire::SetDriverFeaturesResp{};
  }
  if (const auto* r = std::get_if<wire::SetDeviceStatusReq>(&b)) {
    if (r->status == 0) {
      status_ = 0;
      queues_.clear();
      driver_features_.clear();
    } else if (!refuse) {
      status_ = r->status | (status_ & wire::status::kNeedsReset);  // sticks until reset
    }
    return wire::SetDeviceStatusResp{status_};
  }
  if (std::holds_alternative<wire::GetDeviceStatusReq>(b)) return wire::GetDeviceStatusResp{status_};
  if (const auto* r = std::get_if<wire::GetConfigReq>(&b)) {
    wire::GetConfigResp resp{generation_, r->offset, {}};
    if (!refuse && std::uint64_t{r->offset} + r->length <= config_.size() && r->length <= 44) {
      resp.data.assign(config_.begin() + r->offset, config_.begin() + r->offset + r->length);
    }
    return resp;
  }
  if (const auto* r = std::get_if<wire::SetConfigReq>(&b)) {
    wire::SetConfigResp resp{generation_, r->offset, 0, {}};
    // PR28 and REV1 strict: a write at another generation is refused; the
    // REV1 baseline ignores the generation (REV1 L403-404, L1446-1449).
    const bool generation_ok = (rev1_ && !setup_.profile.strict_config_generation) || r->generation == generation_;
    if (!refuse && generation_ok && std::uint64_t{r->offset} + r->data.size() <= config_.size()) {
      std::copy(r->data.begin(), r->data.end(), config_.begin() + r->offset);
      resp.length = static_cast<std::uint32_t>(r->data.size());
      if (!terse_) resp.data = r->data;
    }
    return resp;
  }
  if (const auto* r = std::get_if<wire::GetVqueueReq>(&b)) {
    wire::GetVqueueResp resp{r->index, r->index < setup_.max_queues ? setup_.max_size : 0U, 0, 0, 0, 0, 0};
    if (const Queue* q = queue(r->index)) {
      resp.cur_size = q->size;
      resp.desc_addr = q->desc;
      resp.driver_addr = q->avail;
      resp.device_addr = q->used;
      if (rev1_ && q->enabled) resp.flags = wire::vqueue_flags::kEnabled;  // REV1 L1569
    }
    return resp;
  }
  if (const auto* r = std::get_if<wire::SetVqueueReq>(&b)) {
    if (!refuse && r->index < setup_.max_queues && r->size != 0 && r->size <= setup_.max_size) {
      // REV1: state op 1 enables, 2 keeps the queue's state, 0 (and the
      // reserved 3) leave it disabled (REV1 L1623-1638). PR28: a reserved word.
      bool enabled = true;
      if (rev1_) {
        const std::uint32_t op = r->flags & wire::vqueue_flags::kStateOpMask;
        const Queue* old = queue(r->index);
        enabled = op == wire::vqueue_flags::kEnable || (op == wire::vqueue_flags::kKeepState && old != nullptr && old->enabled);
      }
      queues_[r->index] = Queue{r->size, r->desc_addr, r->driver_addr, r->device_addr, 0, 0, enabled};
    }
    return wire::SetVqueueResp{};
  }
  if (const auto* r = std::get_if<wire::ResetVqueueReq>(&b)) {
    queues_.erase(r->index);
    return wire::ResetVqueueResp{};
  }
  if (const auto* r = std::get_if<wire::GetShmReq>(&b)) return wire::GetShmResp{r->index, 0, 0};
  return std::nullopt;
}

ScriptedDevice::Chain ScriptedDevice::walk(const Queue& q, std::uint16_t head) const {
  Chain c;
  std::uint32_t i = head;
  std::uint32_t total = 0;
  for (std::uint32_t n = 0; n < q.size && i < q.size; ++n) {
    std::array<std::uint8_t, 16> d{};
    if (!ram_read(q.desc + 16ULL * i, d)) break;
    const drv::BufferSegment s{le::load64(d, 0), std::min<std::uint32_t>(le::load32(d, 8), kMaxChainBytes - total)};
    total += s.len;
    const std::uint16_t flags = le::load16(d, 12);
    ((flags & drv::vring::kDescFWrite) != 0 ? c.writable : c.readable).push_back(s);
    if ((flags & drv::vring::kDescFNext) == 0) break;
    i = le::load16(d, 14);
  }
  return c;
}

std::uint32_t ScriptedDevice::scatter(std::span<const drv::BufferSegment> segs, std::span<const std::uint8_t> data) {
  std::size_t done = 0;
  for (const auto& s : segs) {
    const std::size_t n = std::min<std::size_t>(s.len, data.size() - done);
    if (n == 0) break;
    ram_write(s.addr, data.subspan(done, n));
    done += n;
  }
  return static_cast<std::uint32_t>(done);
}

std::vector<std::uint8_t> ScriptedDevice::gather(std::span<const drv::BufferSegment> segs) const {
  std::vector<std::uint8_t> out;
  for (const auto& s : segs) {
    std::vector<std::uint8_t> b(s.len);
    if (ram_read(s.addr, b)) out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

std::uint32_t ScriptedDevice::serve(const Chain& c, const ops::Fault* f) {
  std::uint32_t room = 0;
  for (const auto& s : c.writable) room += s.len;
  if (setup_.kind == ops::DevKind::Rng) {
    std::uint32_t n = room;
    if (f != nullptr && f->kind == FaultKind::Short) n = f->a % (room + 1);
    std::vector<std::uint8_t> bytes(n);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(mix(rng_state_));
    const std::uint32_t written = scatter(c.writable, bytes);
    rng_out_.insert(rng_out_.end(), bytes.begin(), bytes.begin() + written);
    return written;
  }
  if (setup_.kind != ops::DevKind::Blk || c.writable.empty()) return 0;
  // blk: header (16 bytes) and OUT data readable; IN data, then the status byte, writable.
  const std::vector<std::uint8_t> in = gather(c.readable);
  std::vector<drv::BufferSegment> data_in = c.writable;
  drv::BufferSegment status = data_in.back();
  data_in.pop_back();
  if (status.len == 0) return 0;
  status.addr += status.len - 1;
  std::uint32_t data_room = room - c.writable.back().len;
  data_in.push_back({c.writable.back().addr, c.writable.back().len - 1});
  data_room += c.writable.back().len - 1;
  std::uint8_t st = drv::vblk::kStatusUnsupp;
  std::uint32_t len = 0;
  if (in.size() >= drv::vblk::kHeaderSize) {
    const std::uint32_t type = le::load32(in, 0);
    const std::uint64_t sector = le::load64(in, 8);
    const std::size_t out_len = in.size() - drv::vblk::kHeaderSize;
    const auto in_medium = [&](std::uint64_t bytes) {
      return sector <= ops::kDiskSectors && bytes <= (ops::kDiskSectors - sector) * drv::vblk::kSectorSize;
    };
    if (type == drv::vblk::kTypeIn) {
      st = drv::vblk::kStatusIoErr;
      if (in_medium(data_room)) {
        len = scatter(data_in, std::span(disk_).subspan(static_cast<std::size_t>(sector * drv::vblk::kSectorSize), data_room));
        st = drv::vblk::kStatusOk;
      }
    } else if (type == drv::vblk::kTypeOut) {
      st = drv::vblk::kStatusIoErr;
      if ((negotiated() & (std::uint64_t{1} << drv::vblk::kFeatRo)) == 0 && in_medium(out_len)) {
        std::copy(in.begin() + drv::vblk::kHeaderSize, in.end(),
                  disk_.begin() + static_cast<long>(sector * drv::vblk::kSectorSize));
        st = drv::vblk::kStatusOk;
      }
    } else if (type == drv::vblk::kTypeFlush) {
      st = drv::vblk::kStatusOk;
    } else if (type == drv::vblk::kTypeGetId) {
      std::array<std::uint8_t, drv::vblk::kIdBytes> id{};
      std::memcpy(id.data(), kBlkSerial, sizeof kBlkSerial - 1);
      len = scatter(data_in, std::span(id).first(std::min<std::size_t>(id.size(), data_room)));
      st = drv::vblk::kStatusOk;
    }
  }
  if (f != nullptr && f->kind == FaultKind::BlkStatus) {
    st = static_cast<std::uint8_t>(f->a);
    mark_fired();
  }
  ram_write(status.addr, std::span<const std::uint8_t>(&st, 1));
  len += 1;
  if (f != nullptr && f->kind == FaultKind::Short) len = f->a % (len + 1);
  return len;
}

void ScriptedDevice::process(std::uint32_t qi) {
  auto it = queues_.find(qi);
  if (it == queues_.end() || !it->second.enabled) return;  // a disabled queue is not served
  Queue& q = it->second;
  const std::uint16_t avail_idx = read16(q.avail + 2);
  bool any = false;
  for (std::uint32_t n = 0; q.last_avail != avail_idx && n < q.size; ++n) {
    const std::uint16_t head = read16(q.avail + 4 + 2ULL * (q.last_avail % q.size));
    q.last_avail = static_cast<std::uint16_t>(q.last_avail + 1);
    if (verbose_) std::fprintf(stderr, "device: action %u: chain %u of queue %u\n", actions_, unsigned{head}, qi);
    const ops::Fault* f = fault_at(actions_++);
    if (f != nullptr && f->kind == FaultKind::Skip) {
      mark_fired();
      continue;
    }
    const Chain c = walk(q, head);
    std::uint32_t id = head;
    std::uint32_t len = serve(c, f);
    std::uint16_t step = 1;
    if (f != nullptr) {
      switch (f->kind) {
        case FaultKind::UsedId: id = f->a; break;
        case FaultKind::UsedLen: len = f->a; break;
        case FaultKind::UsedJump: step = static_cast<std::uint16_t>(2 + f->a % 4); break;
        case FaultKind::Short: break;
        default: f = nullptr; break;  // frame faults do not apply to chains
      }
      if (f != nullptr) mark_fired();
    }
    std::array<std::uint8_t, 8> e{};
    le::store32(e, 0, id);
    le::store32(e, 4, len);
    ram_write(q.used + 4 + 8ULL * (q.used_idx % q.size), e);
    q.used_idx = static_cast<std::uint16_t>(q.used_idx + step);
    write16(q.used + 2, q.used_idx);
    any = true;
  }
  // EVENT_IDX: ask to be told about the very next buffer.
  if ((negotiated() & kEventIdx) != 0) write16(q.used + 4 + 8ULL * q.size, q.last_avail);
  if (any) push_message(wire::Message{.dev_num = ops::kDevNum, .body = wire::EventUsed{qi}});
}

}  // namespace vmsg::fuzz

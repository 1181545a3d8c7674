#include "vmsg/driver/blk_driver.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

#include "vmsg/common/errors.hpp"
#include "vmsg/common/le.hpp"

namespace vmsg::driver {

namespace {

/// Written into the status byte before submission: a device that never
/// writes the status cannot pass for one that reported OK.
constexpr std::uint8_t kStatusSentinel = 0xFF;

/// Descriptors of the shortest data request: header, one data segment, status.
constexpr std::uint32_t kMinChain = 3;

std::string type_name(std::uint32_t type) {
  switch (type) {
    case vblk::kTypeIn: return "IN";
    case vblk::kTypeOut: return "OUT";
    case vblk::kTypeFlush: return "FLUSH";
    case vblk::kTypeGetId: return "GET_ID";
    default: return "type " + std::to_string(type);
  }
}

}  // namespace

BlkDriver::BlkDriver(TransportDriver& transport, GuestAllocator& ram, const BlkDriverOptions& options)
    : t_(&transport), ram_(&ram), options_(options) {
  if (options.slots == 0 || options.max_request_bytes < vblk::kSectorSize ||
      options.max_request_bytes % vblk::kSectorSize != 0) {
    throw ConfigError("blk driver: need slots > 0 and max_request_bytes a positive multiple of 512");
  }
}

VStatus BlkDriver::init() {
  auto info = t_->get_info();
  if (!info) return Err{info.error()};
  if (info->device_id != kDeviceId) {
    return fail(VirtioErrc::BadResponse, "blk driver: device " + std::to_string(t_->dev_num()) + " has device_id " +
                                             std::to_string(info->device_id) + ", not 2");
  }
  std::uint64_t wanted = vfeature::bit(vfeature::kVersion1) | vfeature::bit(vblk::kFeatFlush) |
                         vfeature::bit(vblk::kFeatRo) | vfeature::bit(vblk::kFeatBlkSize) |
                         vfeature::bit(vblk::kFeatSegMax) | vfeature::bit(vblk::kFeatSizeMax);
  if (options_.event_idx) wanted |= vfeature::bit(vfeature::kEventIdx);
  pending_.clear();  // the reset inside init() takes every request back
  if (auto r = t_->init(wanted); !r) return Err{r.error()};
  // Capacity always; an optional field only with its feature (content.tex L294-296).
  std::vector<std::pair<std::uint32_t, std::uint32_t>> view{{vblk::kCfgCapacity, 8}};
  if (t_->has_feature(vblk::kFeatSizeMax)) view.emplace_back(vblk::kCfgSizeMax, 4);
  if (t_->has_feature(vblk::kFeatSegMax)) view.emplace_back(vblk::kCfgSegMax, 4);
  if (t_->has_feature(vblk::kFeatBlkSize)) view.emplace_back(vblk::kCfgBlkSize, 4);
  t_->set_config_view(std::move(view));

  auto cap = refresh_capacity();
  if (!cap) return Err{cap.error()};
  seg_bytes_ = 0;
  std::uint32_t seg_max = 0;
  if (t_->has_feature(vblk::kFeatSizeMax)) {
    auto r = t_->read_config32(vblk::kCfgSizeMax);
    if (!r) return Err{r.error()};
    seg_bytes_ = *r;
  }
  if (t_->has_feature(vblk::kFeatSegMax)) {
    auto r = t_->read_config32(vblk::kCfgSegMax);
    if (!r) return Err{r.error()};
    seg_max = std::max<std::uint32_t>(*r, 1);
  }
  // Data descriptors per request: SEG_MAX of them at most, SIZE_MAX bytes each.
  std::uint64_t limit = options_.max_request_bytes;
  if (seg_max != 0 && seg_bytes_ != 0) limit = std::min<std::uint64_t>(limit, std::uint64_t{seg_bytes_} * seg_max);
  request_bytes_ = static_cast<std::uint32_t>(limit / vblk::kSectorSize * vblk::kSectorSize);
  if (request_bytes_ == 0) {
    return fail(VirtioErrc::BadResponse, "blk driver: size_max " + std::to_string(seg_bytes_) + " x seg_max " +
                                             std::to_string(seg_max) + " leaves no room for one sector");
  }

  auto q = t_->setup_queue_fitted(0, options_.queue_size, *ram_, options_.no_interrupt);
  if (!q) return Err{q.error()};
  // No indirect descriptors: a request's whole chain (header, data segments,
  // status) must fit the ring the device allowed, which may be smaller than
  // asked for (and than SEG_MAX + 2).
  const std::uint32_t ring = (*q)->size();
  if (ring < kMinChain) {
    request_bytes_ = 0;
    return fail(VirtioErrc::BadResponse, "blk driver: a ring of " + std::to_string(ring) +
                                             " entries cannot hold header, data and status");
  }
  if (seg_bytes_ != 0) {
    const std::uint64_t by_ring = std::uint64_t{seg_bytes_} * (ring - 2) / vblk::kSectorSize * vblk::kSectorSize;
    request_bytes_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(request_bytes_, by_ring));
    if (request_bytes_ == 0) {
      return fail(VirtioErrc::BadResponse, "blk driver: size_max " + std::to_string(seg_bytes_) + " x " +
                                               std::to_string(ring - 2) + " ring entries leave no room for one sector");
    }
  }
  if (slots_.empty()) {
    for (std::uint32_t i = 0; i < options_.slots; ++i) {
      Slot s;
      s.header = ram_->alloc(vblk::kHeaderSize);
      s.status = ram_->alloc(1);
      s.data = ram_->alloc(options_.max_request_bytes);
      slots_.push_back(s);
    }
  }
  // Every request takes at least one descriptor: never more in flight than
  // the ring has entries.
  free_slots_.clear();
  for (std::size_t i = std::min<std::size_t>(slots_.size(), ring); i > 0; --i) free_slots_.push_back(i - 1);
  return t_->driver_ok();
}

VResult<std::uint64_t> BlkDriver::refresh_capacity() {
  const std::uint64_t events = t_->stats().config_events;
  auto r = t_->read_config64(vblk::kCfgCapacity);
  if (!r) return Err{r.error()};
  capacity_ = *r;
  config_events_seen_ = events;
  return capacity_;
}

VStatus BlkDriver::follow_config_changes() {
  if (t_->stats().config_events == config_events_seen_) return Unit{};
  // The whole view first where the event left it stale (REV1 L405-407 wants
  // the full refresh, which a capacity read alone would count as done).
  if (auto s = t_->refresh_config(); !s) return s;
  auto r = refresh_capacity();
  if (!r) return Err{r.error()};
  return Unit{};
}

VStatus BlkDriver::check_transfer(std::uint64_t sector, std::size_t bytes) {
  if (auto s = follow_config_changes(); !s) return s;
  if (bytes % vblk::kSectorSize != 0) {
    return fail(VirtioErrc::BadRequest, "blk driver: " + std::to_string(bytes) + " bytes is not whole sectors");
  }
  const std::uint64_t count = bytes / vblk::kSectorSize;
  if (options_.bounds_check && (sector > capacity_ || count > capacity_ - sector)) {
    return fail(VirtioErrc::OutOfRange, "blk driver: sectors [" + std::to_string(sector) + ", +" +
                                            std::to_string(count) + ") beyond capacity " + std::to_string(capacity_));
  }
  return Unit{};
}

VStatus BlkDriver::check_split(std::size_t bytes) {
  // read()/write() split transfers into request_bytes_ pieces: without a
  // completed init() (never run, or refused at the size_max/seg_max step)
  // that is 0 and the split would never end.
  if (bytes != 0 && request_bytes_ == 0) return fail(VirtioErrc::NotReady, "blk driver: init() first");
  return Unit{};
}

VResult<std::uint16_t> BlkDriver::submit(const Job& job, std::size_t slot_index) {
  const Slot& slot = slots_[slot_index];
  port::Port& port = t_->bus().link().port();
  std::array<std::uint8_t, vblk::kHeaderSize> hdr{};
  le::store32(hdr, 0, job.req.type);
  le::store32(hdr, 4, 0);
  le::store64(hdr, 8, job.req.sector);
  port.mem_write(slot.header, hdr);
  const std::array<std::uint8_t, 1> sentinel{kStatusSentinel};
  port.mem_write(slot.status, sentinel);
  if (!job.req.out.empty()) port.mem_write(slot.data, job.req.out);

  const auto split = [this](std::uint64_t addr, std::uint32_t len, std::vector<BufferSegment>& segs) {
    while (len > 0) {
      const std::uint32_t n = seg_bytes_ != 0 ? std::min(len, seg_bytes_) : len;
      segs.push_back(BufferSegment{addr, n});
      addr += n;
      len -= n;
    }
  };
  std::vector<BufferSegment> readable{BufferSegment{slot.header, vblk::kHeaderSize}};
  std::vector<BufferSegment> writable;
  const auto out_len = static_cast<std::uint32_t>(job.req.out.size());
  split(slot.data, out_len, readable);
  split(slot.data + out_len, job.req.in_len, writable);
  writable.push_back(BufferSegment{slot.status, 1});
  return t_->queue(0)->add(readable, writable);
}

VStatus BlkDriver::complete(const Pending& p, std::uint32_t used_len) {
  port::Port& port = t_->bus().link().port();
  const Slot& slot = slots_[p.slot];
  std::array<std::uint8_t, 1> status{};
  port.mem_read(slot.status, status);
  const std::string what = type_name(p.type) + " sector " + std::to_string(p.sector);
  switch (status[0]) {
    case vblk::kStatusOk:
      if (!p.in.empty()) port.mem_read(slot.data + p.in_offset, p.in);
      return Unit{};
    case vblk::kStatusIoErr:
      return fail(VirtioErrc::IoError, what + ": VIRTIO_BLK_S_IOERR");
    case vblk::kStatusUnsupp:
      return fail(VirtioErrc::Unsupported, what + ": VIRTIO_BLK_S_UNSUPP");
    default:
      break;
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned>(status[0]));
  return fail(VirtioErrc::BadResponse,
              what + ": status byte " + buf + " (used len " + std::to_string(used_len) + ")");
}

VStatus BlkDriver::run(std::vector<Job>& jobs) {
  SplitQueueDriver* ring = t_->queue(0);
  if (ring == nullptr || t_->phase() != Phase::Live) return fail(VirtioErrc::NotReady, "blk driver: init() first");
  std::size_t next = 0;
  std::optional<VirtioError> first_error;
  const auto give_up = [this](VirtioError e) -> VStatus {
    // The device still owns what is in flight; their callers' buffers must
    // not be written when (if) they come back later.
    for (auto& [head, p] : pending_) p.orphan = true;
    return Err{std::move(e)};
  };
  for (;;) {
    while (!first_error && next < jobs.size() && !free_slots_.empty()) {
      auto head = submit(jobs[next], free_slots_.back());
      if (!head) {
        if (head.error().code == VirtioErrc::RingFull && !pending_.empty()) break;  // wait for descriptors
        first_error = head.error();
        break;
      }
      Pending p;
      p.slot = free_slots_.back();
      p.type = jobs[next].req.type;
      p.sector = jobs[next].req.sector;
      p.in_offset = static_cast<std::uint32_t>(jobs[next].req.out.size());
      p.in = jobs[next].in;
      pending_[*head] = p;
      free_slots_.pop_back();
      ++next;
      ++stats_.requests;
      stats_.max_in_flight = std::max<std::uint64_t>(stats_.max_in_flight, pending_.size());
    }
    if (pending_.empty()) break;
    if (auto s = t_->notify(0); !s) return give_up(s.error());
    auto used = t_->wait_used(0);
    if (!used) return give_up(used.error());
    for (const UsedElem& u : *used) {
      auto it = pending_.find(u.id);
      if (it == pending_.end()) {
        return give_up(VirtioError{VirtioErrc::BadUsedId, "blk driver: used id " + std::to_string(u.id) +
                                                              " is not a request of this driver"});
      }
      const Pending p = it->second;
      pending_.erase(it);
      free_slots_.push_back(p.slot);
      if (p.orphan) continue;
      auto s = complete(p, u.len);
      if (s) {
        if (p.type == vblk::kTypeIn) stats_.bytes_read += p.in.size();
        if (p.type == vblk::kTypeOut) stats_.bytes_written += p.in_offset;  // OUT data sits before any IN data
      } else if (!first_error) {
        first_error = s.error();  // stop submitting; collect what is in flight
      }
    }
  }
  if (first_error) return Err{std::move(*first_error)};
  return Unit{};
}

VStatus BlkDriver::read(std::uint64_t sector, std::span<std::uint8_t> out) {
  if (auto s = check_transfer(sector, out.size()); !s) return s;
  if (auto s = check_split(out.size()); !s) return s;
  std::vector<Job> jobs;
  for (std::size_t off = 0; off < out.size(); off += request_bytes_) {
    const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(request_bytes_, out.size() - off));
    jobs.push_back(Job{BlkRequest{vblk::kTypeIn, sector + off / vblk::kSectorSize, {}, n}, out.subspan(off, n)});
  }
  return run(jobs);
}

VStatus BlkDriver::write(std::uint64_t sector, std::span<const std::uint8_t> data) {
  if (read_only()) return fail(VirtioErrc::Unsupported, "blk driver: device is read-only (VIRTIO_BLK_F_RO)");
  if (auto s = check_transfer(sector, data.size()); !s) return s;
  if (auto s = check_split(data.size()); !s) return s;
  std::vector<Job> jobs;
  for (std::size_t off = 0; off < data.size(); off += request_bytes_) {
    const auto n = std::min<std::size_t>(request_bytes_, data.size() - off);
    jobs.push_back(Job{BlkRequest{vblk::kTypeOut, sector + off / vblk::kSectorSize, data.subspan(off, n), 0}, {}});
  }
  return run(jobs);
}

VStatus BlkDriver::flush() {
  if (!t_->has_feature(vblk::kFeatFlush)) {
    return fail(VirtioErrc::Unsupported, "blk driver: VIRTIO_BLK_F_FLUSH not negotiated");
  }
  auto r = execute(BlkRequest{vblk::kTypeFlush, 0, {}, 0});
  if (!r) return Err{r.error()};
  return Unit{};
}

VResult<std::string> BlkDriver::get_id() {
  auto r = execute(BlkRequest{vblk::kTypeGetId, 0, {}, vblk::kIdBytes});
  if (!r) return Err{r.error()};
  const auto end = std::find(r->begin(), r->end(), std::uint8_t{0});
  return std::string(r->begin(), end);
}

VResult<std::vector<std::uint8_t>> BlkDriver::execute(const BlkRequest& req) {
  if (auto s = follow_config_changes(); !s) return Err{s.error()};
  if (std::uint64_t{req.out.size()} + req.in_len > options_.max_request_bytes) {
    return fail(VirtioErrc::BadRequest, "blk driver: request data " + std::to_string(req.out.size() + req.in_len) +
                                            " bytes > " + std::to_string(options_.max_request_bytes));
  }
  std::vector<std::uint8_t> in(req.in_len);
  std::vector<Job> jobs{Job{req, in}};
  if (auto s = run(jobs); !s) return Err{s.error()};
  return in;
}

}  // namespace vmsg::driver

#include "vmsg/common/hex.hpp"
#include "vmsg/transport/device_transport.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstddef>
#include <string>
#include <utility>
#include <variant>

#include "vmsg/bus/bus.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::transport {

namespace {

namespace feature = virtqueue::feature;
namespace st = wire::status;

/// Transport bits the transport decides on itself, whatever the backend says:
/// it implements split rings only, never NOTIFICATION_DATA (EVENT_AVAIL on
/// AMP carries no offset; VMSG-BUS-041) and never NOTIF_CONFIG_DATA (REV1
/// L903; no backend offers it, so PR28 answers are unchanged).
constexpr std::uint64_t kTransportOwned = feature::bit(feature::kIndirectDesc) | feature::bit(feature::kEventIdx) |
                                          feature::bit(feature::kRingPacked) |
                                          feature::bit(feature::kNotificationData) |
                                          feature::bit(feature::kNotifConfigData) |
                                          feature::bit(feature::kRingReset);

/// driver_features_ holds 64 bits: blocks 0 and 1.
constexpr std::uint64_t kFeatureBlocks = 2;

/// Header + fixed payload of the messages whose size depends on a count.
constexpr std::uint64_t kFeaturesRespFixed = 16;
constexpr std::uint64_t kConfigRespFixed = 20;
constexpr std::uint64_t kEventConfigFixed = 24;

/// Status bits a driver write can carry (G7: the core status is 8 bits).
constexpr std::uint32_t kStatusMask = 0xFF;

/// What config bytes past config_size read as under config-out-of-range-ff
/// (QEMU's answer, D5).
constexpr std::uint8_t kOutOfRangeConfigByte = 0xFF;

/// QEMU's VirtQueue array (VIRTIO_QUEUE_MAX entries of 152 bytes, qemu-observed.md
/// §7): RESET_VQUEUE past it is what asan-reset-vqueue-overflow dies of.
constexpr std::uint32_t kQemuQueueMax = 1024;
constexpr std::uint64_t kQemuVirtQueueBytes = 152;
/// Invented, fixed addresses: the imitated report reads the same on every run.
constexpr std::uint64_t kFakeQueueArray = 0x7f3a'5c08'0000;
constexpr std::uint64_t kFakeShadowOffset = 0x7fff'8000;  ///< ASan's x86_64 shadow mapping
constexpr std::size_t kShadowDigits = 12;                   ///< as ASan prints shadow addresses

/// "0x" and at least `width` lower-case hex digits.
/// What an AddressSanitizer build of QEMU prints when RESET_VQUEUE `index`
/// writes past its VirtQueue array (bug 3, D25), in ASan's layout: header,
/// access stack, region, allocation stack, SUMMARY, shadow bytes. The first
/// line says it is an imitation, so nobody mistakes it for a bug of the
/// reference itself.
std::string asan_reset_vqueue_report(std::uint32_t index) {
  const std::uint64_t end = kFakeQueueArray + kQemuQueueMax * kQemuVirtQueueBytes;
  const std::uint64_t addr = kFakeQueueArray + index * kQemuVirtQueueBytes;
  const std::uint64_t shadow = ((addr >> 3) + kFakeShadowOffset) & ~std::uint64_t{0xF};
  std::string r;
  r += "vmsg: fault asan-reset-vqueue-overflow imitates an AddressSanitizer build of QEMU "
       "(RESET_VQUEUE index " + std::to_string(index) + "); the reference itself is intact\n";
  r += "=================================================================\n";
  r += "==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address " + hex(addr) +
       " at pc 0x5581a2c3d4e5 bp 0x7ffc1b2a3c40 sp 0x7ffc1b2a3c38\n";
  r += "WRITE of size 8 at " + hex(addr) + " thread T0\n";
  r += "    #0 0x5581a2c3d4e4 in __virtio_queue_reset ../hw/virtio/virtio.c:2059\n"
       "    #1 0x5581a2c3e1a0 in virtio_queue_reset ../hw/virtio/virtio.c:2085\n"
       "    #2 0x5581a2b7f2a3 in virtio_msg_reset_vqueue ../hw/virtio/virtio-msg.c:386\n"
       "    #3 0x5581a2b80c55 in virtio_msg_receive_msg ../hw/virtio/virtio-msg.c:571\n"
       "    #4 0x5581a2b6a9d0 in vmsg_bus_amp_pci_process ../hw/misc/virtio-msg-amp-pci.c:298\n"
       "    #5 0x5581a2b6b3f1 in vmsg_bus_amp_pci_write ../hw/misc/virtio-msg-amp-pci.c:352\n"
       "    #6 0x5581a31e0a17 in memory_region_write_accessor ../system/memory.c:497\n"
       "    #7 0x5581a31e1c52 in access_with_adjusted_size ../system/memory.c:573\n"
       "    #8 0x5581a31e8e3b in memory_region_dispatch_write ../system/memory.c:1521\n"
       "    #9 0x5581a3377f06 in qtest_process_command ../system/qtest.c:530\n";
  r += "\n" + hex(addr) + " is located " + std::to_string(addr - end) + " bytes after " +
       std::to_string(end - kFakeQueueArray) + "-byte region [" + hex(kFakeQueueArray) + "," + hex(end) + ")\n";
  r += "allocated by thread T0 here:\n"
       "    #0 0x7f3a6f0b9c47 in calloc ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:77\n"
       "    #1 0x7f3a6e8c2711 in g_malloc0 (/lib/x86_64-linux-gnu/libglib-2.0.so.0+0x5e711)\n"
       "    #2 0x5581a2c41a0e in virtio_init ../hw/virtio/virtio.c:3472\n"
       "    #3 0x5581a2b5d0c9 in virtio_rng_device_realize ../hw/virtio/virtio-rng.c:230\n";
  r += "\nSUMMARY: AddressSanitizer: heap-buffer-overflow ../hw/virtio/virtio.c:2059 in __virtio_queue_reset\n";
  r += "Shadow bytes around the buggy address:\n";
  r += "  " + hex(shadow - 0x10, kShadowDigits) + ": 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n";
  r += "=>" + hex(shadow, kShadowDigits) + ":[fa]fa fa fa fa fa fa fa fa fa fa fa fa fa fa fa\n";
  r += "  " + hex(shadow + 0x10, kShadowDigits) + ": fa fa fa fa fa fa fa fa fa fa fa fa fa fa fa fa\n";
  r += "Shadow byte legend (one shadow byte represents 8 application bytes):\n"
       "  Addressable:           00\n"
       "  Heap left redzone:       fa\n";
  r += "==4242==ABORTING\n";
  return r;
}

/// How many bytes of [offset, offset + length) lie inside a config space of `size`.
std::uint32_t bytes_inside(std::uint32_t offset, std::uint32_t length, std::uint32_t size) {
  if (offset >= size) return 0;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{offset} + length, size) - offset);
}

}  // namespace

bool DeviceTransport::NullDmaSpace::dma_read(std::uint64_t addr, std::span<std::uint8_t> out) {
  (void)addr;
  (void)out;
  return false;
}

bool DeviceTransport::NullDmaSpace::dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  (void)addr;
  (void)data;
  return false;
}

bool DeviceTransport::NullDmaSpace::msi_write(std::uint64_t addr, std::uint32_t data) {
  (void)addr;
  (void)data;
  return false;
}

TransportOptions options_for_bus(const wire::Profile& profile, const bus::BusOptions& bus,
                                 const fault::FaultSet& faults) {
  TransportOptions o;
  o.layout = profile.layout;
  o.max_msg_size = profile.max_msg_size;
  o.strict_config_generation = bus.strict_config_generation;
  o.faults = faults;
  return o;
}

DeviceTransport::DeviceTransport(std::unique_ptr<Backend> backend, TransportOptions options)
    : backend_(std::move(backend)), options_(options) {
  generation_ = options.initial_generation;
  if (rev1()) check_rev1_options();
  queues_.resize(backend_->num_queues());
  backend_->bind(*this);
}

DeviceTransport::~DeviceTransport() = default;

void DeviceTransport::attach(std::uint16_t dev_num, bus::Outbox& out) {
  dev_num_ = dev_num;
  out_ = &out;
}

void DeviceTransport::attach_memory(pci::DmaSpace& memory) { memory_ = &memory; }

snapshot::Handle DeviceTransport::save_state() const {
  return snapshot::make(this, State{static_cast<const detail::TransportRun&>(*this), backend_->save_state()});
}

void DeviceTransport::restore_state(const snapshot::Handle& state) {
  const State& s = snapshot::get<State>(state, this, "device transport");
  backend_->restore_state(s.backend);  // first: it may refuse
  // A SplitQueue points at this transport's memory view: restored into the same object only (snapshot::get).
  static_cast<detail::TransportRun&>(*this) = s.run;
}

void DeviceTransport::advance_time(std::uint64_t ns) {
  backend_->advance_time(ns);
  poll_queues(ns);
}

std::uint64_t DeviceTransport::offered_features() const noexcept {
  std::uint64_t f = (backend_->device_features() & ~kTransportOwned) | feature::bit(feature::kVersion1);
  if (options_.offer_indirect) f |= feature::bit(feature::kIndirectDesc);
  if (options_.offer_event_idx) f |= feature::bit(feature::kEventIdx);
  if (options_.offer_ring_reset) f |= feature::bit(feature::kRingReset);
  return f;
}

const virtqueue::SplitQueue* DeviceTransport::configured_queue(unsigned q) const noexcept {
  if (q >= queues_.size() || !queues_[q].queue) return nullptr;
  return &*queues_[q].queue;
}

// ---- posting ---------------------------------------------------------------

void DeviceTransport::post(std::uint16_t token, wire::Body body) {
  if (out_ == nullptr) return;  // not plugged yet: nobody to tell
  // VMSG-DEV-018: our own number; reserved type bits 0. Events use token 0.
  out_->post(wire::Message{.dev_num = dev_num_, .token = token, .reserved_type_bits = 0, .body = std::move(body)});
}

// ---- dispatch --------------------------------------------------------------

void DeviceTransport::receive(const wire::Message& m) {
  if (const auto* ev = std::get_if<wire::EventAvail>(&m.body)) {
    on_event_avail(*ev);
    return;
  }
  // Device->driver events, responses and bus messages are not ours to handle
  // (the bus filters them); only transport requests remain.
  if (wire::is_event(m.body) || wire::is_response(m.body) || wire::is_bus(m.body)) return;
  ++stats_.requests;
  if (has(fault::Fault::NoGetShmResponse) && std::holds_alternative<wire::GetShmReq>(m.body)) return;  // D8
  if (const auto* rv = std::get_if<wire::ResetVqueueReq>(&m.body);
      rv != nullptr && rv->index >= kQemuQueueMax && has(fault::Fault::AsanResetVqueueOverflow)) {
    // Bug 3 under ASan: the process dies in the middle of the request, so
    // nothing is answered; the host decides what dying means.
    memory().report_fatal(asan_reset_vqueue_report(rv->index));
    return;
  }
  std::optional<wire::Body> resp = std::visit(
      [this](const auto& b) -> std::optional<wire::Body> {
        if constexpr (requires { this->handle(b); }) {
          return this->handle(b);
        } else {
          return std::nullopt;
        }
      },
      m.body);
  if (!resp) return;
  if (has(fault::Fault::DuplicateResponse)) post(m.token, *resp);
  post(m.token, std::move(*resp));  // exactly one response per request
  if (start_queues_) {
    // VMSG-DEV-033: DRIVER_OK was just set; buffers may have been made
    // available before it (and their EVENT_AVAIL ignored, G15), so look at
    // every queue once. After the response, so the driver learns DRIVER_OK
    // before the first EVENT_USED.
    start_queues_ = false;
    for (unsigned q = 0; q < queues_.size(); ++q) {
      if (can_process(q)) run_queue(q);
    }
  }
}

// ---- device info and features ------------------------------------------------

std::uint32_t DeviceTransport::offered_blocks() const noexcept {
  // VERSION_1 is always offered, so there is a highest bit.
  const auto highest = static_cast<std::uint32_t>(63 - std::countl_zero(offered_features()));
  return (highest + 32) / 32;
}

wire::Body DeviceTransport::handle(const wire::GetDeviceInfoReq& r) {
  (void)r;
  // VMSG-DEV-044: answered in any state, always the same values.
  if (rev1()) return rev1_device_info();
  return wire::GetDeviceInfoResp{.device_id = backend_->device_id(),
                                 .vendor_id = options_.vendor_id,
                                 .num_feature_bits = 32 * offered_blocks(),
                                 .config_size = backend_->config_size(),
                                 .max_virtqueues = backend_->num_queues(),
                                 .admin_vq_start = 0,
                                 .admin_vq_count = 0};
}

wire::Body DeviceTransport::handle(const wire::GetDeviceFeaturesReq& r) {
  // G3: as many blocks as fit the bus maximum; the echoed count is what we
  // return. Q9: the OFFERED set, never the acknowledged one. Under
  // max-message-48 the limit is QEMU's 48-byte message (8 blocks, D20), so
  // the answer is clipped rather than dropped by the bus.
  const std::uint64_t max_msg = has(fault::Fault::MaxMessage48)
                                    ? std::min<std::uint64_t>(options_.max_msg_size, bus::kFaultMaxMessage)
                                    : options_.max_msg_size;
  const std::uint64_t room = max_msg >= kFeaturesRespFixed ? (max_msg - kFeaturesRespFixed) / 4 : 0;
  const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(r.num_blocks, room));
  const std::uint64_t offered = offered_features();
  wire::GetDeviceFeaturesResp resp{.block_index = r.block_index, .features = {}};
  resp.features.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint64_t block = std::uint64_t{r.block_index} + i;  // 64-bit: index 0xFFFFFFFF + i must not wrap
    // VMSG-DEV-011/046: blocks beyond the implemented range read as zero.
    // feature-block-shifted: the window is read one block too far on.
    const std::uint64_t source = has(fault::Fault::FeatureBlockShifted) ? block + 1 : block;
    resp.features.push_back(source < kFeatureBlocks ? static_cast<std::uint32_t>(offered >> (32 * source)) : 0);
  }
  return resp;
}

wire::Body DeviceTransport::handle(const wire::SetDriverFeaturesReq& r) {
  if (features_accepted_) return wire::SetDriverFeaturesResp{};  // G5: frozen once FEATURES_OK was accepted
  // G4: 0 blocks is answered and changes nothing (the loop does not run).
  for (std::size_t i = 0; i < r.features.size(); ++i) {
    const std::uint64_t block = std::uint64_t{r.block_index} + i;
    const std::uint32_t word = r.features[i];
    if (block < kFeatureBlocks) {
      const unsigned shift = static_cast<unsigned>(32 * block);
      const std::uint64_t mask = std::uint64_t{0xFFFFFFFF} << shift;
      driver_features_ = (driver_features_ & ~mask) | (std::uint64_t{word} << shift);
    } else if (word != 0) {
      // G4: a bit we cannot even represent, so certainly not offered. Sticks
      // until reset: the driver restarts negotiation after a refusal anyway.
      features_out_of_range_ = true;
    }
  }
  return wire::SetDriverFeaturesResp{};
}

// ---- configuration space -----------------------------------------------------

wire::Body DeviceTransport::handle(const wire::GetConfigReq& r) {
  wire::GetConfigResp resp{.generation = generation_, .offset = r.offset, .data = {}};  // VMSG-DEV-026/050
  const std::uint64_t end = std::uint64_t{r.offset} + r.length;
  const std::uint32_t size = backend_->config_size();
  if (end > size && !has(fault::Fault::ConfigOutOfRangeFf)) return resp;  // G1: length 0, no data
  if (kConfigRespFixed + r.length > options_.max_msg_size) return resp;   // G2: would not fit
  // D5 (fault only): the bytes past the end read 0xFF, the ones inside are real.
  resp.data.assign(r.length, kOutOfRangeConfigByte);
  const std::uint32_t inside = bytes_inside(r.offset, r.length, size);
  if (inside != 0) backend_->read_config(r.offset, std::span<std::uint8_t>(resp.data).first(inside));
  return resp;
}

wire::Body DeviceTransport::handle(const wire::SetConfigReq& r) {
  const auto length = static_cast<std::uint32_t>(r.data.size());
  wire::SetConfigResp reject{.generation = generation_, .offset = r.offset, .length = 0, .data = {}};
  // VMSG-DEV-010/025/051: stale generation (QEMU ignores it, D3). REV1: only
  // under the strict profile; the baseline ignores the field (L431-434).
  if (r.generation != generation_ && checks_generation()) {
    ++stats_.config_rejected;
    return reject;
  }
  const std::uint32_t size = backend_->config_size();
  const bool past_end = std::uint64_t{r.offset} + length > size;
  if (past_end && !has(fault::Fault::ConfigOutOfRangeFf)) {  // G1
    ++stats_.config_rejected;
    return reject;
  }
  if (length == 0) return reject;  // nothing to apply; "0 bytes applied" is the honest answer

  // D4 (fault only): the bytes inside the space are written, the rest
  // skipped, and the response still claims the whole length.
  const std::uint32_t inside = bytes_inside(r.offset, length, size);
  if (inside != 0 && !apply_config(r.offset, std::span<const std::uint8_t>(r.data).first(inside))) {
    ++stats_.config_rejected;  // e.g. a read-only field
    return reject;
  }

  wire::SetConfigResp resp{.generation = generation_, .offset = r.offset, .length = length, .data = {}};
  if (kConfigRespFixed + length <= options_.max_msg_size) resp.data = r.data;  // the echo is optional
  return resp;
}

bool DeviceTransport::apply_config(std::uint32_t offset, std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> before(data.size());
  backend_->read_config(offset, before);
  const std::uint32_t generation_before = generation_;
  if (!backend_->write_config(offset, data)) return false;
  std::vector<std::uint8_t> after(data.size());
  backend_->read_config(offset, after);
  // VMSG-DEV-006: the generation moves before the new bytes can be seen; the
  // response is the first thing that can show them. No EVENT_CONFIG for the
  // driver's own write: this response already carries the new generation.
  // A backend that announced the change itself (config_changed) bumped it.
  if (after != before && generation_ == generation_before && !has(fault::Fault::GenerationNotBumped)) ++generation_;
  return true;
}

// ---- status ------------------------------------------------------------------

wire::Body DeviceTransport::handle(const wire::GetDeviceStatusReq& r) {
  (void)r;
  return wire::GetDeviceStatusResp{status_};  // VMSG-DEV-031/052
}

bool DeviceTransport::features_acceptable() {
  // VMSG-DEV-024/049: only what we offered, VERSION_1 among it (no legacy
  // interface here), no unrepresentable bit (G4), and the backend agrees.
  const std::uint64_t offered = offered_features();
  if (has(fault::Fault::AcceptUnofferedFeatures)) {
    // QEMU (qemu-observed.md §9): the unoffered bits are dropped, not refused.
    driver_features_ &= offered;
    features_out_of_range_ = false;
  }
  if ((driver_features_ & ~offered) != 0) return false;
  if ((driver_features_ & feature::bit(feature::kVersion1)) == 0) return false;
  if (features_out_of_range_) return false;
  return backend_->accept_features(driver_features_);
}

wire::Body DeviceTransport::handle(const wire::SetDeviceStatusReq& r) {
  // G7: bits 8..31 are undefined; ignored, so a write of only those is a reset.
  std::uint32_t s = has(fault::Fault::StatusHighBitsKept) ? r.status : r.status & kStatusMask;
  if (s == 0) {
    reset_device();  // VMSG-DEV-030/041
    return wire::SetDeviceStatusResp{status_};
  }
  // DEVICE_NEEDS_RESET is the device's: the driver can neither set nor clear
  // it (only a reset does).
  s = (s & ~st::kNeedsReset) | (status_ & st::kNeedsReset);
  if ((s & st::kFeaturesOk) != 0 && !features_accepted_) {
    if (features_acceptable()) {
      features_accepted_ = true;
    } else {
      s &= ~st::kFeaturesOk;  // VMSG-DEV-024/053: refusal shows in the result
      ++stats_.features_refused;
    }
  }
  start_queues_ = (s & st::kDriverOk) != 0 && (status_ & st::kDriverOk) == 0;
  status_ = s;  // G6: anything else is stored as written
  return wire::SetDeviceStatusResp{status_};
}

void DeviceTransport::reset_device() {
  status_ = 0;
  driver_features_ = 0;
  features_accepted_ = false;
  features_out_of_range_ = false;
  start_queues_ = false;
  if (!has(fault::Fault::ResetKeepsQueues)) {
    for (QueueSlot& slot : queues_) {
      slot.queue.reset();
      slot.layout = {};
      slot.poll_left_ns = 0;
    }
  }
  backend_->reset();
  ++stats_.resets;
  // The generation is NOT reset (virtio-msg.md §10; L307-308).
}

// ---- virtqueues --------------------------------------------------------------

wire::Body DeviceTransport::handle(const wire::GetVqueueReq& r) {
  if (rev1()) return rev1_get_vqueue(r);
  wire::GetVqueueResp resp{.index = r.index};
  if (r.index >= queues_.size()) return resp;  // G10: echo the index, all else 0
  const unsigned q = r.index;
  resp.max_size = backend_->max_queue_size(q);
  const QueueSlot& slot = queues_[q];
  if (slot.queue) {  // VMSG-DEV-055: an unconfigured queue reads cur_size 0
    resp.cur_size = slot.layout.size;
    resp.desc_addr = slot.layout.desc_addr;
    resp.driver_addr = slot.layout.driver_addr;
    resp.device_addr = slot.layout.device_addr;
  } else if (has(fault::Fault::CurSizeReportsMax)) {
    resp.cur_size = resp.max_size;  // QEMU shows its default ring size (qemu-observed.md §9)
  }
  return resp;
}

wire::Body DeviceTransport::handle(const wire::SetVqueueReq& r) {
  if (rev1() && !has(fault::Fault::Rev1VqueueFlagsIgnored)) return rev1_set_vqueue(r);
  return set_vqueue_now(r);
}

virtqueue::QueueFeatures DeviceTransport::queue_features() const noexcept {
  // The queue follows what the driver asked for and we offered; normally
  // FEATURES_OK has frozen that set by now.
  const std::uint64_t negotiated = driver_features_ & offered_features();
  return {.indirect = (negotiated & feature::bit(feature::kIndirectDesc)) != 0,
          .event_idx = (negotiated & feature::bit(feature::kEventIdx)) != 0};
}

virtqueue::QueueFaults DeviceTransport::queue_faults() const noexcept {
  return {.used_len_whole_chain = has(fault::Fault::UsedLenWholeChain),
          .used_wrong_id = has(fault::Fault::UsedWrongId),
          .used_out_of_order = has(fault::Fault::UsedOutOfOrder)};
}

wire::Body DeviceTransport::set_vqueue_now(const wire::SetVqueueReq& r) {
  // G9: always answered; a bad request changes nothing (a configured queue
  // stays as it was). Reserved words are ignored.
  if (r.index >= queues_.size()) return wire::SetVqueueResp{};
  const unsigned q = r.index;
  const std::uint32_t max = backend_->max_queue_size(q);
  if (r.size == 0 || r.size > max || !std::has_single_bit(r.size)) return wire::SetVqueueResp{};
  const virtqueue::QueueLayout layout{
      .size = r.size, .desc_addr = r.desc_addr, .driver_addr = r.driver_addr, .device_addr = r.device_addr};
  auto created = virtqueue::SplitQueue::create(memory(), layout, queue_features(), queue_faults());
  if (!created) return wire::SetVqueueResp{};  // misaligned or wrapping: not configured
  if (queues_[q].queue) drop_queue(q);          // VMSG-DEV-039: reconfiguration at any time
  queues_[q].queue.emplace(std::move(created).value());
  queues_[q].layout = layout;  // VMSG-DEV-057: live from here on
  return wire::SetVqueueResp{};
}

void DeviceTransport::drop_queue(unsigned q) {
  queues_[q].queue.reset();
  queues_[q].layout = {};
  queues_[q].poll_left_ns = 0;
  backend_->queue_reset(q);
}

wire::Body DeviceTransport::handle(const wire::ResetVqueueReq& r) {
  if (rev1()) return rev1_reset_vqueue(r);
  // G8 / Q18: always answered; honoured with or without RING_RESET. The model
  // is synchronous, so the queue is quiesced once it is dropped
  // (VMSG-DEV-029/040/058).
  if (r.index < queues_.size() && queues_[r.index].queue) drop_queue(r.index);
  return wire::ResetVqueueResp{};
}

wire::Body DeviceTransport::handle(const wire::GetShmReq& r) {
  // VMSG-DEV-059: no backend has shared memory, so no region exists. REV1
  // (L1770-1774): the same answer, length 0 and reserved 0; the codec lays it
  // out in 32 bytes with 64-bit fields.
  return wire::GetShmResp{.index = r.index, .length = 0, .address = 0};
}

bool DeviceTransport::can_process(std::uint64_t q) const noexcept {
  // VMSG-DEV-032: nothing before DRIVER_OK; nothing on a broken device.
  if ((status_ & st::kDriverOk) == 0 || (status_ & st::kNeedsReset) != 0) return false;
  return q < queues_.size() && queues_[q].queue.has_value();
}

void DeviceTransport::on_event_avail(const wire::EventAvail& e) {
  ++stats_.event_avail;
  if (!can_process(e.vq_index)) {
    ++stats_.event_avail_ignored;  // G15: ignored, no state change
    return;
  }
  start_polling(static_cast<unsigned>(e.vq_index));
  run_queue(e.vq_index);  // never answered
}

void DeviceTransport::start_polling(unsigned q) {
  const std::uint64_t window = backend_->poll_window_ns();
  if (window == 0) return;
  // VIRTIO-RING-042: while it polls, the device may tell the driver that kicks are not needed.
  if (auto st = queues_[q].queue->set_no_notify(true); st) {
    queue_error();
    return;
  }
  queues_[q].poll_left_ns = window;
}

void DeviceTransport::poll_queues(std::uint64_t ns) {
  for (unsigned q = 0; q < queues_.size(); ++q) {
    std::uint64_t& left = queues_[q].poll_left_ns;
    if (left == 0) continue;
    if (!can_process(q)) {  // reset, broken or no longer DRIVER_OK: nothing to poll
      left = 0;
      continue;
    }
    run_queue(q);
    if (!can_process(q)) continue;
    left -= std::min(ns, left);
    if (left != 0) continue;
    // The window closed: kicks are needed again. Look once more after clearing
    // the flag, since the driver may have added a buffer without kicking
    // while it was still set.
    if (auto st = queues_[q].queue->set_no_notify(false); st) {
      queue_error();
      continue;
    }
    run_queue(q);
  }
}

void DeviceTransport::run_queue(unsigned q) {
  virtqueue::SplitQueue& queue = *queues_[q].queue;
  const virtqueue::Status result = backend_->process(q, queue);
  if (result.has_value()) {
    queue_error();
    return;
  }
  // process() may have called back into us (e.g. needs_reset, or a driver
  // event re-entering); only notify for a queue that is still there.
  if (queues_[q].queue) notify_used(q, *queues_[q].queue);
}

void DeviceTransport::notify_used(unsigned q, virtqueue::SplitQueue& queue) {
  // used-out-of-order: the batch the backend held back goes out now, reversed.
  if (auto st = queue.publish_used(); st) {
    queue_error();
    return;
  }
  const bool fresh = queue.used_since_notify();
  auto want = queue.should_notify();
  if (!want) {
    queue_error();
    return;
  }
  // VMSG-DEV-062: the driver suppressed notifications. no-interrupt-ignored
  // never reads the flags word, so only used_event (EVENT_IDX) can hold it back.
  const bool flags_ignored = has(fault::Fault::NoInterruptIgnored) && !queue.features().event_idx;
  if (!*want && !(fresh && (flags_ignored || has(fault::Fault::UsedIgnoresSuppression)))) return;
  if (out_ != nullptr) ++stats_.event_used_sent;
  // event-used-wrong-queue: off by one, which only a device with two or more queues can show.
  const auto named = has(fault::Fault::EventUsedWrongQueue) ? static_cast<unsigned>((q + 1) % queues_.size()) : q;
  post(0, wire::EventUsed{named});  // VMSG-DEV-037
}

void DeviceTransport::queue_error() {
  ++stats_.queue_errors;
  needs_reset();
}

// ---- DeviceContext -----------------------------------------------------------

pci::DmaSpace& DeviceTransport::memory() { return memory_ != nullptr ? *memory_ : null_memory_; }

void DeviceTransport::config_changed(std::uint32_t offset, std::uint32_t length) {
  // VMSG-DEV-006/007: a new, unique generation before anyone can see the bytes.
  if (!has(fault::Fault::GenerationNotBumped)) ++generation_;
  if (has(fault::Fault::NoConfigEvent)) return;  // D6 / QEMU bug 11
  wire::EventConfig ev{.device_status = status_, .generation = generation_, .offset = offset, .length = 0, .data = {}};
  const bool in_range = std::uint64_t{offset} + length <= backend_->config_size();
  if (in_range && kEventConfigFixed + length <= options_.max_msg_size) {
    ev.length = length;  // VMSG-DEV-035: the data fits, carry it
    ev.data.resize(length);
    backend_->read_config(offset, ev.data);
  }
  // Otherwise VMSG-DEV-008: length 0 and the new generation; the offset still
  // says where to re-read with GET_CONFIG (VMSG-DEV-009).
  if (out_ != nullptr) ++stats_.event_config_sent;
  post(0, std::move(ev));  // VMSG-DEV-034/061
}

void DeviceTransport::driver_rule(std::string_view rule, std::string_view kind, std::string_view detail) {
  if (rule_sink_) rule_sink_->driver_rule(rule, dev_num_, kind, detail);
}

void DeviceTransport::needs_reset() {
  if ((status_ & st::kNeedsReset) != 0) return;  // announced once per reset cycle
  status_ |= st::kNeedsReset;
  // VMSG-DEV-042/034: a status-only change: length 0, generation unchanged.
  if (out_ != nullptr) ++stats_.event_config_sent;
  post(0, wire::EventConfig{.device_status = status_, .generation = generation_, .offset = 0, .length = 0, .data = {}});
}

void DeviceTransport::used(unsigned q) {
  if (q >= queues_.size() || !queues_[q].queue) return;  // dropped meanwhile: nothing to announce
  notify_used(q, *queues_[q].queue);
}

bool DeviceTransport::driver_ok() const { return (status_ & st::kDriverOk) != 0; }

virtqueue::SplitQueue* DeviceTransport::queue(unsigned q) {
  if (q >= queues_.size() || !queues_[q].queue) return nullptr;
  return &*queues_[q].queue;
}

}  // namespace vmsg::transport

// Test stand-ins for the virtio driver unit tests: a flat-RAM port with one
// AMP FIFO in it, a scripted device peer at the other end of that FIFO, and
// a small device model the peer answers with by default (PR28, or REV1-2026
// with FakeVirtio::rev1 and a REV1 peer profile).
//
// The driver area must not depend on the device-side areas, and the unit
// tests need to misbehave on purpose (refuse, drop, garble, move the
// generation at the worst moment), hence a model written for tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "vmsg/common/le.hpp"
#include "vmsg/driver/bus_driver.hpp"
#include "vmsg/driver/virtio_error.hpp"
#include "vmsg/driver/fifo_link.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/fifo/shared_memory.hpp"
#include "vmsg/port/port.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::testing {

/// RAM from 0 (the driver allocates from 1 MiB), FIFO window at kBar1 inside
/// RAM, and a NOTIFY register at kBar0 + 0x20 that calls on_notify.
class RamPort final : public port::Port {
 public:
  static constexpr std::uint64_t kRamSize = 8ULL << 20;
  static constexpr std::uint64_t kBar0 = 0xE000'0000;
  static constexpr std::uint64_t kBar1 = 0x1'0000;  ///< one 16 KiB FIFO window, in RAM

  RamPort() : ram_(kRamSize, 0) {}

  std::uint32_t config_read(port::PciAddress, std::uint16_t, unsigned) override { return 0xFFFF'FFFFU; }
  void config_write(port::PciAddress, std::uint16_t, unsigned, std::uint32_t) override {}
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    if (addr + size > ram_.size()) return 0;
    std::uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= std::uint64_t{ram_[static_cast<std::size_t>(addr + i)]} << (8 * i);
    return v;
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    if (addr >= kBar0 + 0x20 && addr < kBar0 + 0x40 && size == 4) {
      ++doorbells;
      if (on_notify) on_notify(static_cast<unsigned>((addr - kBar0 - 0x20) / 4));
      return;
    }
    if (addr + size > ram_.size()) return;
    for (unsigned i = 0; i < size; ++i) ram_[static_cast<std::size_t>(addr + i)] = static_cast<std::uint8_t>(value >> (8 * i));
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = addr + i < ram_.size() ? ram_[static_cast<std::size_t>(addr + i)] : 0;
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (addr + i < ram_.size()) ram_[static_cast<std::size_t>(addr + i)] = data[i];
    }
  }
  void advance_time(std::uint64_t ns) override {
    now += ns;
    if (on_time) on_time();
  }
  [[nodiscard]] port::AddressMap address_map() const override {
    return port::AddressMap{1ULL << 20, kRamSize - (1ULL << 20), kBar0, 0x1000'0000};
  }

  std::span<std::uint8_t> ram() noexcept { return ram_; }
  std::uint16_t read16(std::uint64_t a) { return le::load16(ram_, static_cast<std::size_t>(a)); }
  std::uint32_t read32(std::uint64_t a) { return le::load32(ram_, static_cast<std::size_t>(a)); }
  std::uint64_t read64(std::uint64_t a) { return le::load64(ram_, static_cast<std::size_t>(a)); }
  void write16(std::uint64_t a, std::uint16_t v) { le::store16(ram_, static_cast<std::size_t>(a), v); }
  void write32(std::uint64_t a, std::uint32_t v) { le::store32(ram_, static_cast<std::size_t>(a), v); }

  std::function<void(unsigned)> on_notify;
  std::function<void()> on_time;
  unsigned doorbells = 0;
  std::uint64_t now = 0;

 private:
  std::vector<std::uint8_t> ram_;
};

/// A small PR28 device for one device number: answers every transport
/// request the driver sends, with knobs for the misbehaviour tests need.
struct FakeVirtio {
  std::uint32_t device_id = 4;
  std::uint32_t num_feature_bits = 64;
  std::vector<std::uint32_t> offered{0x2000'0000U, 0x1U};  ///< EVENT_IDX, VERSION_1
  std::uint32_t max_blocks_per_response = 100;           ///< G3: fewer blocks than asked
  std::vector<std::uint8_t> config = std::vector<std::uint8_t>(8, 0);
  std::uint32_t generation = 7;
  std::uint32_t status = 0;
  std::vector<std::uint32_t> driver_features;
  std::uint32_t max_virtqueues = 2;
  std::uint32_t max_size = 256;
  std::map<std::uint32_t, wire::SetVqueueReq> queues;
  bool refuse_features = false;        ///< clear FEATURES_OK when the driver sets it
  bool forget_features_ok = false;     ///< accept FEATURES_OK but report it cleared in GET_DEVICE_STATUS
  bool ignore_set_vqueue = false;      ///< answer SET_VQUEUE but keep the queue unconfigured
  bool config_read_only = false;       ///< refuse every SET_CONFIG at the current generation
  bool cur_size_reports_max = false;   ///< an unconfigured queue reads cur_size = max_size (QEMU)
  std::function<void(const wire::GetConfigReq&)> before_get_config;  ///< may move the generation
  // REV1-2026 behaviour.
  bool rev1 = false;                   ///< feature blocks, vqueue enabled flag, baseline SET_CONFIG
  bool strict_generation = false;      ///< REV1: refuse stale SET_CONFIG generations (strict profile)
  bool never_enable = false;           ///< REV1: accept SET_VQUEUE but never report the queue enabled
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> shm;  ///< shmid -> length, address
  std::uint32_t slow_reset_status = 0; ///< REV1: SET_DEVICE_STATUS(0) answers this while the reset runs
  unsigned slow_reset_reads = 0;       ///< ...and GET_DEVICE_STATUS reports it this many more times

  std::vector<wire::Body> handle(const wire::Body& b) {
    if (std::holds_alternative<wire::GetDeviceInfoReq>(b)) {
      wire::GetDeviceInfoResp info{device_id, 0x4D534756, num_feature_bits,
                                   static_cast<std::uint32_t>(config.size()), max_virtqueues, 0, 0};
      if (rev1) {
        info.num_feature_bits = 0;
        info.num_feature_blocks = (num_feature_bits + 31) / 32;
      }
      return {info};
    }
    if (const auto* r = std::get_if<wire::GetShmReq>(&b)) {
      const auto it = shm.find(r->index);
      return {it == shm.end() ? wire::GetShmResp{r->index, 0, 0, 0}
                              : wire::GetShmResp{r->index, it->second.first, it->second.second, 0}};
    }
    if (const auto* r = std::get_if<wire::GetDeviceFeaturesReq>(&b)) {
      wire::GetDeviceFeaturesResp resp{r->block_index, {}};
      for (std::uint32_t i = 0; i < std::min(r->num_blocks, max_blocks_per_response); ++i) {
        const std::uint32_t k = r->block_index + i;
        resp.features.push_back(k < offered.size() ? offered[k] : 0U);
      }
      return {resp};
    }
    if (const auto* r = std::get_if<wire::SetDriverFeaturesReq>(&b)) {
      if (driver_features.size() < r->block_index + r->features.size()) {
        driver_features.resize(r->block_index + r->features.size(), 0);
      }
      std::copy(r->features.begin(), r->features.end(), driver_features.begin() + r->block_index);
      return {wire::SetDriverFeaturesResp{}};
    }
    if (const auto* r = std::get_if<wire::SetDeviceStatusReq>(&b)) {
      status = r->status;
      if (status == 0) {
        queues.clear();
        driver_features.clear();
        if (slow_reset_status != 0) return {wire::SetDeviceStatusResp{slow_reset_status}};
      }
      if ((status & wire::status::kFeaturesOk) != 0 && refuse_features) status &= ~wire::status::kFeaturesOk;
      return {wire::SetDeviceStatusResp{status}};
    }
    if (std::holds_alternative<wire::GetDeviceStatusReq>(b) && status == 0 && slow_reset_reads > 0) {
      --slow_reset_reads;
      return {wire::GetDeviceStatusResp{slow_reset_status}};
    }
    if (std::holds_alternative<wire::GetDeviceStatusReq>(b)) {
      return {wire::GetDeviceStatusResp{forget_features_ok ? status & ~wire::status::kFeaturesOk : status}};
    }
    if (const auto* r = std::get_if<wire::GetConfigReq>(&b)) {
      if (before_get_config) before_get_config(*r);
      wire::GetConfigResp resp{generation, r->offset, {}};
      if (std::uint64_t{r->offset} + r->length <= config.size()) {
        resp.data.assign(config.begin() + r->offset, config.begin() + r->offset + r->length);
      }
      return {resp};
    }
    if (const auto* r = std::get_if<wire::SetConfigReq>(&b)) {
      wire::SetConfigResp resp{generation, r->offset, 0, {}};
      const bool generation_ok = (rev1 && !strict_generation) || r->generation == generation;
      if (generation_ok && !config_read_only &&
          std::uint64_t{r->offset} + r->data.size() <= config.size()) {
        std::copy(r->data.begin(), r->data.end(), config.begin() + r->offset);
        resp.length = static_cast<std::uint32_t>(r->data.size());
      }
      return {resp};
    }
    if (const auto* r = std::get_if<wire::GetVqueueReq>(&b)) {
      wire::GetVqueueResp resp{r->index, r->index < max_virtqueues ? max_size : 0U, 0, 0, 0, 0, 0};
      if (cur_size_reports_max) resp.cur_size = resp.max_size;
      if (auto it = queues.find(r->index); it != queues.end()) {
        resp.cur_size = it->second.size;
        resp.desc_addr = it->second.desc_addr;
        resp.driver_addr = it->second.driver_addr;
        resp.device_addr = it->second.device_addr;
        const bool enabled = (it->second.flags & wire::vqueue_flags::kStateOpMask) == wire::vqueue_flags::kEnable;
        if (rev1 && enabled && !never_enable) resp.flags = wire::vqueue_flags::kEnabled;
      }
      return {resp};
    }
    if (const auto* r = std::get_if<wire::SetVqueueReq>(&b)) {
      if (!ignore_set_vqueue) queues[r->index] = *r;
      return {wire::SetVqueueResp{}};
    }
    if (const auto* r = std::get_if<wire::ResetVqueueReq>(&b)) {
      queues.erase(r->index);
      return {wire::ResetVqueueResp{}};
    }
    return {};  // events (EVENT_AVAIL) and anything else: no answer
  }
};

/// The device end of the FIFO in a RamPort: takes what the driver posts,
/// records it, and answers through `handler` (default: the FakeVirtio of the
/// addressed device number, or nothing for an unknown number).
class ScriptedPeer {
 public:
  explicit ScriptedPeer(RamPort& port, const wire::Profile& peer_profile = wire::Profile::pr28())
      : profile(peer_profile),
        rx_(fifo::SharedQueueMemory::in_bar(port.ram().subspan(RamPort::kBar1, fifo::kWindowSize), 0,
                                            fifo::QueueKind::Driver)),
        tx_(fifo::SharedQueueMemory::in_bar(port.ram().subspan(RamPort::kBar1, fifo::kWindowSize), 0,
                                            fifo::QueueKind::Device)) {
    port.on_notify = [this](unsigned) { drain(); };
  }
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;

  /// The link a driver uses to reach this peer (polling only, small budget).
  [[nodiscard]] driver::FifoLinkConfig link_config() const {
    driver::FifoLinkConfig c;
    c.bar0 = RamPort::kBar0;
    c.bar1 = RamPort::kBar1;
    c.fifo = 0;
    c.max_polls = 4;
    c.poll_step_ns = 1000;
    c.profile = profile;
    return c;
  }

  void drain() {
    fifo::Slot s;
    while (rx_.pop(s)) {
      const auto h = wire::peek_header(s);
      frames.emplace_back(s.begin(), s.begin() + std::min<std::size_t>(h ? h->msg_size : 0, s.size()));
      auto m = wire::decode(s, profile, wire::DecodeOptions{.strict_type_bits = true});
      if (!m) {
        decode_failures.push_back(m.error());
        continue;
      }
      received.push_back(*m);
      std::vector<wire::Message> replies;
      if (handler) {
        replies = handler(*m);
      } else if (auto it = devices.find(m->dev_num); it != devices.end()) {
        for (auto& body : it->second.handle(m->body)) replies.push_back(wire::Message{.dev_num = m->dev_num, .body = body});
      }
      for (const auto& r : replies) push(r);
    }
  }

  /// Puts a device->driver message into the device queue.
  void push(const wire::Message& m) { push_raw(wire::encode(m, profile).value()); }
  void push_raw(std::span<const std::uint8_t> bytes) {
    if (tx_.push(bytes) != fifo::PushResult::Ok) ++push_failures;
  }
  /// Every received message's body of kind T, in order.
  template <typename T>
  [[nodiscard]] std::vector<T> sent() const {
    std::vector<T> out;
    for (const auto& m : received) {
      if (const auto* b = std::get_if<T>(&m.body)) out.push_back(*b);
    }
    return out;
  }
  /// Names of the received messages, in order ("GET_DEVICE_INFO", ...).
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& m : received) out.emplace_back(wire::name(m.body));
    return out;
  }
  void clear() {
    received.clear();
    frames.clear();
  }

  wire::Profile profile;  ///< the layouts the peer decodes and answers with
  std::map<std::uint16_t, FakeVirtio> devices;
  std::function<std::vector<wire::Message>(const wire::Message&)> handler;
  std::vector<wire::Message> received;
  std::vector<std::vector<std::uint8_t>> frames;  ///< raw bytes of each received message (msg_size long)
  std::vector<wire::DecodeFailure> decode_failures;
  unsigned push_failures = 0;

 private:
  fifo::RingConsumer<fifo::SharedQueueMemory> rx_;
  fifo::RingProducer<fifo::SharedQueueMemory> tx_;
};

/// The error code of a result, or nullopt when it succeeded: lets a test
/// assert on the code without aborting when the call unexpectedly worked.
template <typename R>
[[nodiscard]] std::optional<driver::VirtioErrc> errc(const R& r) {
  if (r.ok()) return std::nullopt;
  return r.error().code;
}

/// Port + peer + link + bus driver, wired up; the link takes the peer's profile.
struct PeerRig {
  PeerRig() = default;
  explicit PeerRig(const wire::Profile& profile) : peer{port, profile} {}
  RamPort port;
  ScriptedPeer peer{port};
  driver::FifoLink link{port, peer.link_config()};
  driver::BusDriver bus{link};
};

}  // namespace vmsg::testing

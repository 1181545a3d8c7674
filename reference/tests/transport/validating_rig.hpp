// The validating-endpoint test rig, shared by the PR28 and REV1 tests: a
// DeviceTransport (PR28 behaviour) behind a ValidatingEndpoint, with a shim
// that makes it answer like a REV1 device where the validator's REV1 model
// looks (the GET_VQUEUE enabled flag, a reset that completes after its
// answer), until the reference device speaks REV1 itself.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "transport/transport_test_support.hpp"
#include "vmsg/transport/driver_rules.hpp"
#include "vmsg/transport/stimulus_endpoint.hpp"
#include "vmsg/transport/validating_endpoint.hpp"
#include "vmsg/wire/constants.hpp"

namespace vmsg::transport::test {

inline constexpr std::uint64_t kNotificationData = bit(38);

/// Sits between the validator and a PR28 DeviceTransport: GET_VQUEUE
/// answers report flags bit 0 for a configured queue last programmed with
/// state op 1 (enable) and not reset since (REV1 L1569), and with
/// slow_reset a SET_DEVICE_STATUS(0) is answered with slow_reset_status as if
/// the reset were still running (REV1 L1530-1535).
class Rev1Shim final : public bus::Endpoint {
 public:
  explicit Rev1Shim(std::shared_ptr<bus::Endpoint> inner) : inner_(std::move(inner)) {}
  void attach(std::uint16_t dev_num, bus::Outbox& out) override {
    rewrite_ = std::make_unique<Rewrite>(*this, out);
    inner_->attach(dev_num, *rewrite_);
  }
  void attach_memory(pci::DmaSpace& memory) override { inner_->attach_memory(memory); }
  void receive(const wire::Message& m) override {
    const auto* ss = std::get_if<wire::SetDeviceStatusReq>(&m.body);
    resetting_ = ss != nullptr && ss->status == 0;
    if (resetting_) enabled_.clear();
    if (const auto* sv = std::get_if<wire::SetVqueueReq>(&m.body);
        sv != nullptr && (sv->flags & wire::vqueue_flags::kStateOpMask) == wire::vqueue_flags::kEnable) {
      enabled_.insert(sv->index);
    }
    if (const auto* rv = std::get_if<wire::ResetVqueueReq>(&m.body)) enabled_.erase(rv->index);
    inner_->receive(m);
  }
  void advance_time(std::uint64_t ns) override { inner_->advance_time(ns); }

  std::uint32_t slow_reset_status = 0;  ///< 0: resets complete synchronously

 private:
  class Rewrite final : public bus::Outbox {
   public:
    Rewrite(Rev1Shim& owner, bus::Outbox& out) : owner_(owner), out_(out) {}
    void post(const wire::Message& m) override {
      wire::Message copy = m;
      if (auto* gv = std::get_if<wire::GetVqueueResp>(&copy.body)) {
        const bool enabled = gv->cur_size != 0 && owner_.enabled_.count(gv->index) != 0;
        gv->flags = enabled ? wire::vqueue_flags::kEnabled : 0U;
      } else if (auto* ss = std::get_if<wire::SetDeviceStatusResp>(&copy.body);
                 ss != nullptr && owner_.resetting_ && owner_.slow_reset_status != 0) {
        ss->status = owner_.slow_reset_status;
      }
      out_.post(copy);
    }

   private:
    Rev1Shim& owner_;
    bus::Outbox& out_;
  };

  std::shared_ptr<bus::Endpoint> inner_;
  std::unique_ptr<Rewrite> rewrite_;
  bool resetting_ = false;
  std::set<std::uint32_t> enabled_;
};

/// A DeviceTransport with a FakeBackend (queues of max 8 and 16, 64 config
/// bytes, offering bits 0, 5, INDIRECT, EVENT_IDX, VERSION_1, RING_RESET),
/// wrapped in a ValidatingEndpoint at device number 5.
class Rig {
 public:
  static constexpr std::uint16_t kDev = 5;

  explicit Rig(bool validate = true, ValidationProfile profile = {}) {
    auto b = std::make_unique<FakeBackend>();
    backend = b.get();
    device = std::make_shared<DeviceTransport>(std::move(b));
    if (validate) {
      std::shared_ptr<bus::Endpoint> inner = device;
      if (profile.layout == wire::Layout::Rev1) {
        inner = shim = std::make_shared<Rev1Shim>(device);
        inner = stim = std::make_shared<StimulusEndpoint>(inner);
      }
      validator = std::make_shared<ValidatingEndpoint>(inner, log, profile);
      ep = validator.get();
    } else {
      ep = device.get();
    }
    ep->attach_memory(mem);
    ep->attach(kDev, out);
  }

  /// Sends a request; returns its response.
  wire::Message request(wire::Body body) {
    ep->receive(wire::Message{.dev_num = kDev, .token = 7, .reserved_type_bits = 0, .body = std::move(body)});
    // Events may follow (DRIVER_OK looks at the queues); exactly one response.
    wire::Message resp;
    unsigned responses = 0;
    for (auto& m : out.take()) {
      if (wire::is_response(m.body)) {
        resp = m;
        ++responses;
      }
    }
    EXPECT_EQ(responses, 1u);
    return resp;
  }
  template <typename Resp>
  Resp ask(wire::Body body) {
    const wire::Message m = request(std::move(body));
    const Resp* r = std::get_if<Resp>(&m.body);
    EXPECT_NE(r, nullptr) << "wrong response kind";
    return r != nullptr ? *r : Resp{};
  }

  void info() { (void)ask<wire::GetDeviceInfoResp>(wire::GetDeviceInfoReq{}); }
  std::uint32_t status(std::uint32_t s) { return ask<wire::SetDeviceStatusResp>(wire::SetDeviceStatusReq{s}).status; }
  void read_features() { (void)ask<wire::GetDeviceFeaturesResp>(wire::GetDeviceFeaturesReq{0, 2}); }
  void write_features(std::uint64_t f) {
    (void)ask<wire::SetDriverFeaturesResp>(wire::SetDriverFeaturesReq{
        .block_index = 0, .features = {static_cast<std::uint32_t>(f), static_cast<std::uint32_t>(f >> 32)}});
  }
  wire::GetVqueueResp get_vqueue(std::uint32_t q) { return ask<wire::GetVqueueResp>(wire::GetVqueueReq{q}); }
  void set_vqueue(const wire::SetVqueueReq& r) { (void)ask<wire::SetVqueueResp>(r); }
  wire::GetConfigResp get_config(std::uint32_t offset, std::uint32_t length) {
    return ask<wire::GetConfigResp>(wire::GetConfigReq{offset, length});
  }
  wire::SetConfigResp set_config(std::uint32_t generation, std::uint32_t offset, Bytes data) {
    return ask<wire::SetConfigResp>(wire::SetConfigReq{generation, offset, std::move(data)});
  }
  /// Sends a request without expecting an answer; returns what the device posted.
  std::vector<wire::Message> send(wire::Body body) {
    ep->receive(wire::Message{.dev_num = kDev, .token = 7, .reserved_type_bits = 0, .body = std::move(body)});
    return out.take();
  }
  std::vector<wire::Message> kick(std::uint32_t q, std::uint32_t next_offset = 0) {
    ep->receive(wire::Message{.dev_num = kDev, .token = 0, .reserved_type_bits = 0,
                              .body = wire::EventAvail{q, next_offset}});
    return out.take();
  }

  /// GET_DEVICE_INFO, reset, ACKNOWLEDGE, DRIVER.
  void to_driver() {
    info();
    ASSERT_EQ(status(0), 0u);
    ASSERT_EQ(status(st::kAcknowledge), st::kAcknowledge);
    ASSERT_EQ(status(st::kAcknowledge | st::kDriver), st::kAcknowledge | st::kDriver);
  }
  /// to_driver(), then the feature read: ready to write features.
  void to_features() {
    ASSERT_NO_FATAL_FAILURE(to_driver());
    read_features();
  }
  /// to_features(), the feature write, FEATURES_OK.
  void negotiate(std::uint64_t f = kVersion1) {
    ASSERT_NO_FATAL_FAILURE(to_features());
    write_features(f);
    ASSERT_EQ(status(0x0B), 0x0Bu);
  }
  /// The correct queue setup: GET_VQUEUE, SET_VQUEUE, confirming GET_VQUEUE.
  void setup_queue(std::uint32_t q, const TestRing& ring) {
    ASSERT_EQ(get_vqueue(q).cur_size, 0u);
    set_vqueue(ring.set_vqueue(q));
    ASSERT_EQ(get_vqueue(q).cur_size, ring.layout().size);
  }
  /// negotiate(), queue 0 on `ring`, DRIVER_OK.
  void bring_up(const TestRing& ring, std::uint64_t f = kVersion1) {
    negotiate(f);
    setup_queue(0, ring);
    ASSERT_EQ(status(0x0F), 0x0Fu);
  }

  /// Exactly one violation so far, of `rule`.
  void expect_only(const std::string& rule) {
    ASSERT_EQ(log->size(), 1u) << dump();
    EXPECT_EQ(log->violations()[0].rule, rule) << dump();
    EXPECT_EQ(log->violations()[0].dev_num, kDev);
  }
  void expect_clean() { EXPECT_TRUE(log->empty()) << dump(); }
  std::string dump() const {
    std::string s;
    for (const RuleViolation& v : log->violations()) s += to_string(v) + "\n";
    return s;
  }

  std::shared_ptr<DriverRuleLog> log = std::make_shared<DriverRuleLog>();
  FakeMemory mem{0x1000, 0x2000};
  RecordingOutbox out;
  FakeBackend* backend = nullptr;
  std::shared_ptr<DeviceTransport> device;
  std::shared_ptr<Rev1Shim> shim;  ///< REV1 rigs only
  std::shared_ptr<StimulusEndpoint> stim;  ///< REV1 rigs only: between the shim and the validator
  std::shared_ptr<ValidatingEndpoint> validator;
  bus::Endpoint* ep = nullptr;
};

/// Ring of 8 at 0x1000 (desc 0x1000, avail 0x1080, used 0x1098).
inline TestRing ring8(FakeMemory& mem) { return TestRing(mem, 0x1000, 8); }


}  // namespace vmsg::transport::test

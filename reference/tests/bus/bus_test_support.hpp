// Test doubles and frame builders shared by the bus tests.
//
// Frames are built byte by byte here, not with wire::encode, so the tests pin
// the wire form independently of the codec under the bus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

#include "vmsg/bus/bus.hpp"
#include "vmsg/bus/endpoint.hpp"
#include "vmsg/bus/frame_sink.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::bus::test {

using Bytes = std::vector<std::uint8_t>;

/// One AMP FIFO slot.
inline constexpr std::size_t kSlot = 64;

/// A 64-byte slot: the 8-byte header (type, msg_id, dev_num, token, msg_size,
/// exactly as given, so msg_size may lie) followed by `payload`, zero-padded.
inline Bytes slot(std::uint8_t type, std::uint8_t id, std::uint16_t dev, std::uint16_t token,
                  std::uint16_t size, std::initializer_list<std::uint8_t> payload = {}) {
  Bytes b(kSlot, 0);
  b[0] = type;
  b[1] = id;
  b[2] = static_cast<std::uint8_t>(dev);
  b[3] = static_cast<std::uint8_t>(dev >> 8);
  b[4] = static_cast<std::uint8_t>(token);
  b[5] = static_cast<std::uint8_t>(token >> 8);
  b[6] = static_cast<std::uint8_t>(size);
  b[7] = static_cast<std::uint8_t>(size >> 8);
  std::size_t i = 8;
  for (std::uint8_t v : payload) b.at(i++) = v;
  return b;
}

/// A PING request with the given data (12 bytes, type 0x02).
inline Bytes ping(std::uint32_t data, std::uint16_t token = 0, std::uint8_t type = 0x02,
                  std::uint16_t dev = 0) {
  return slot(type, 0x03, dev, token, 12,
              {static_cast<std::uint8_t>(data), static_cast<std::uint8_t>(data >> 8),
               static_cast<std::uint8_t>(data >> 16), static_cast<std::uint8_t>(data >> 24)});
}

/// A GET_DEVICES request (12 bytes, type 0x02).
inline Bytes get_devices(std::uint16_t offset, std::uint16_t count, std::uint16_t token = 0) {
  return slot(0x02, 0x02, 0, token, 12,
              {static_cast<std::uint8_t>(offset), static_cast<std::uint8_t>(offset >> 8),
               static_cast<std::uint8_t>(count), static_cast<std::uint8_t>(count >> 8)});
}

/// A GET_DEVICE_INFO request (bare header, type 0x00 unless given).
inline Bytes get_device_info(std::uint16_t dev, std::uint16_t token = 0, std::uint8_t type = 0x00) {
  return slot(type, 0x02, dev, token, 8);
}

/// A GET_DEVICE_STATUS request (bare header).
inline Bytes get_device_status(std::uint16_t dev, std::uint16_t token = 0) {
  return slot(0x00, 0x07, dev, token, 8);
}

/// An EVENT_AVAIL (16 bytes): vq_index and next_offset word.
inline Bytes event_avail(std::uint16_t dev, std::uint32_t vq, std::uint16_t token = 0) {
  return slot(0x00, 0x41, dev, token, 16,
              {static_cast<std::uint8_t>(vq), static_cast<std::uint8_t>(vq >> 8),
               static_cast<std::uint8_t>(vq >> 16), static_cast<std::uint8_t>(vq >> 24), 0, 0, 0,
               0});
}

/// The first msg_size bytes are the message; a bus frame never carries more.
inline std::uint16_t frame_size(const Bytes& f) {
  return static_cast<std::uint16_t>(f.at(6) | (f.at(7) << 8));
}
inline std::uint16_t frame_token(const Bytes& f) {
  return static_cast<std::uint16_t>(f.at(4) | (f.at(5) << 8));
}
inline std::uint16_t frame_dev(const Bytes& f) {
  return static_cast<std::uint16_t>(f.at(2) | (f.at(3) << 8));
}

/// Records every frame the bus sends, as the FIFO's device queue would.
class RecordingSink final : public FrameSink {
 public:
  void send(std::span<const std::uint8_t> frame) override { frames.emplace_back(frame.begin(), frame.end()); }
  std::vector<Bytes> frames;
};

/// A well-behaved device: answers GET_DEVICE_INFO and GET_DEVICE_STATUS /
/// SET_DEVICE_STATUS, answers every other request with its empty or
/// zero-valued response, and posts EVENT_USED for each EVENT_AVAIL.
/// Records what it was given so tests can see what the bus forwarded.
class FakeDevice : public Endpoint {
 public:
  explicit FakeDevice(std::uint32_t device_id = 1) : device_id_(device_id) {}

  void attach(std::uint16_t dev_num, Outbox& out) override {
    dev_num_ = dev_num;
    out_ = &out;
    ++attach_calls;
  }

  void receive(const wire::Message& m) override {
    received.push_back(m);
    wire::Message r;
    r.dev_num = dev_num_;
    if (std::holds_alternative<wire::GetDeviceInfoReq>(m.body)) {
      wire::GetDeviceInfoResp info;
      info.device_id = device_id_;
      info.vendor_id = 0x1AF4;
      info.num_feature_bits = 64;
      info.config_size = 8;
      info.max_virtqueues = 2;
      r.body = info;
    } else if (std::holds_alternative<wire::GetDeviceStatusReq>(m.body)) {
      r.body = wire::GetDeviceStatusResp{status};
    } else if (const auto* s = std::get_if<wire::SetDeviceStatusReq>(&m.body)) {
      status = s->status;
      r.body = wire::SetDeviceStatusResp{status};
    } else if (const auto* ea = std::get_if<wire::EventAvail>(&m.body)) {
      r.body = wire::EventUsed{ea->vq_index};
    } else if (std::holds_alternative<wire::GetShmReq>(m.body)) {
      r.body = wire::GetShmResp{};
    } else {
      return;  // not used by the tests
    }
    out_->post(r);
  }

  void advance_time(std::uint64_t ns) override { time_ns += ns; }

  /// Posts an asynchronous event as a backend completing work would.
  void post(const wire::Message& m) { out_->post(m); }

  std::uint16_t dev_num() const { return dev_num_; }

  std::vector<wire::Message> received;
  std::uint32_t status = 0;
  std::uint64_t time_ns = 0;
  int attach_calls = 0;

 private:
  std::uint32_t device_id_;
  std::uint16_t dev_num_ = 0xFFFF;
  Outbox* out_ = nullptr;
};

/// A device that answers each request with whatever `on_request` posts
/// through the outbox it is given (zero, one or several messages, of any
/// kind). `on_time` runs from advance_time.
class ScriptedDevice : public Endpoint {
 public:
  using Script = std::function<void(const wire::Message&, Outbox&)>;

  void attach(std::uint16_t dev_num, Outbox& out) override {
    dev_num_ = dev_num;
    out_ = &out;
  }
  void receive(const wire::Message& m) override {
    ++calls;
    if (on_request) on_request(m, *out_);
  }
  void advance_time(std::uint64_t ns) override {
    if (on_time) on_time(ns, *out_);
  }

  Outbox& outbox() { return *out_; }
  std::uint16_t dev_num() const { return dev_num_; }

  Script on_request;
  std::function<void(std::uint64_t, Outbox&)> on_time;
  int calls = 0;

 private:
  std::uint16_t dev_num_ = 0xFFFF;
  Outbox* out_ = nullptr;
};

/// Builds a Message with the given header fields.
inline wire::Message msg(wire::Body body, std::uint16_t dev_num = 0, std::uint16_t token = 0,
                         std::uint8_t reserved = 0) {
  wire::Message m;
  m.dev_num = dev_num;
  m.token = token;
  m.reserved_type_bits = reserved;
  m.body = std::move(body);
  return m;
}

}  // namespace vmsg::bus::test

#include "vmsg/transport/minimal_endpoint.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <variant>

#include "vmsg/wire/constants.hpp"

namespace vmsg::transport {

namespace {

inline constexpr std::uint64_t kVersion1 = std::uint64_t{1} << 32;  // VIRTIO_F_VERSION_1
inline constexpr std::uint32_t kFeatureBits = 64;

std::uint32_t feature_block(std::uint64_t bits, std::uint64_t block) {
  if (block >= kFeatureBits / 32) return 0;
  return static_cast<std::uint32_t>(bits >> (32 * block));
}

}  // namespace

void MinimalEndpoint::attach(std::uint16_t dev_num, bus::Outbox& out) {
  dev_num_ = dev_num;
  out_ = &out;
}

void MinimalEndpoint::reply(const wire::Message& req, wire::Body body) {
  if (out_ == nullptr) return;
  out_->post(wire::Message{.dev_num = dev_num_, .token = req.token, .reserved_type_bits = 0, .body = std::move(body)});
}

void MinimalEndpoint::receive(const wire::Message& m) {
  using namespace wire;
  if (is_event(m.body)) return;  // EVENT_AVAIL: no queues, nothing to do, never answered
  ++requests_;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, GetDeviceInfoReq>) {
          // REV1 counts 32-bit feature blocks (L1270-1273) and has no
          // num_feature_bits; the nil UUID stands for none (L1287-1291).
          const bool rev1 = layout_ == wire::Layout::Rev1;
          reply(m, GetDeviceInfoResp{.device_id = id_.device_id,
                                     .vendor_id = id_.vendor_id,
                                     .num_feature_bits = rev1 ? 0 : kFeatureBits,
                                     .config_size = 0,
                                     .max_virtqueues = 0,
                                     .admin_vq_start = 0,
                                     .admin_vq_count = 0,
                                     .num_feature_blocks = rev1 ? kFeatureBits / 32 : 0});
        } else if constexpr (std::is_same_v<T, GetDeviceFeaturesReq>) {
          // G3: as many blocks as fit a 64-byte response (12).
          const std::uint32_t n = std::min<std::uint32_t>(b.num_blocks, 12);
          GetDeviceFeaturesResp r{.block_index = b.block_index, .features = {}};
          for (std::uint32_t i = 0; i < n; ++i) r.features.push_back(feature_block(kVersion1, std::uint64_t{b.block_index} + i));
          reply(m, std::move(r));
        } else if constexpr (std::is_same_v<T, SetDriverFeaturesReq>) {
          // G5: ignored once FEATURES_OK is accepted.
          if ((status_ & status::kFeaturesOk) == 0) {
            for (std::size_t i = 0; i < b.features.size(); ++i) {
              const std::uint64_t block = std::uint64_t{b.block_index} + i;
              if (block < kFeatureBits / 32) {
                const std::uint64_t mask = std::uint64_t{0xFFFFFFFF} << (32 * block);
                driver_features_ = (driver_features_ & ~mask) | (std::uint64_t{b.features[i]} << (32 * block));
              } else if (b.features[i] != 0) {
                driver_features_ |= std::uint64_t{1} << 63;  // unknown bit requested: refuse FEATURES_OK later (G4)
              }
            }
          }
          reply(m, SetDriverFeaturesResp{});
        } else if constexpr (std::is_same_v<T, GetConfigReq>) {
          reply(m, GetConfigResp{.generation = 0, .offset = b.offset, .data = {}});  // G1: no config space
        } else if constexpr (std::is_same_v<T, SetConfigReq>) {
          reply(m, SetConfigResp{.generation = 0, .offset = b.offset, .length = 0, .data = {}});
        } else if constexpr (std::is_same_v<T, GetDeviceStatusReq>) {
          reply(m, GetDeviceStatusResp{status_});
        } else if constexpr (std::is_same_v<T, SetDeviceStatusReq>) {
          std::uint32_t s = b.status & 0xFF;  // G7: bits 8..31 undefined, reported as 0
          if (s == 0) {
            driver_features_ = 0;
          } else if ((s & status::kFeaturesOk) != 0 && (driver_features_ & ~kVersion1) != 0) {
            s &= ~status::kFeaturesOk;  // refuse features we never offered
          }
          status_ = s;
          reply(m, SetDeviceStatusResp{status_});
        } else if constexpr (std::is_same_v<T, GetVqueueReq>) {
          reply(m, GetVqueueResp{.index = b.index});  // G10: no queues, max_size 0
        } else if constexpr (std::is_same_v<T, SetVqueueReq>) {
          reply(m, SetVqueueResp{});  // G9: nothing configured
        } else if constexpr (std::is_same_v<T, ResetVqueueReq>) {
          reply(m, ResetVqueueResp{});
        } else if constexpr (std::is_same_v<T, GetShmReq>) {
          reply(m, GetShmResp{.index = b.index, .length = 0, .address = 0});
        }
        // Responses and bus messages never reach an endpoint (the bus filters them).
      },
      m.body);
}

snapshot::Handle MinimalEndpoint::save_state() const {
  return snapshot::make(this, State{status_, driver_features_, requests_});
}

void MinimalEndpoint::restore_state(const snapshot::Handle& state) {
  const State& s = snapshot::get<State>(state, this, "minimal endpoint");
  status_ = s.status;
  driver_features_ = s.driver_features;
  requests_ = s.requests;
}

}  // namespace vmsg::transport

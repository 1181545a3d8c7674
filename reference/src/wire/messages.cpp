// Kind facts (ID, space, direction, name) of every Body alternative.
//
// One kind_of() overload per alternative, gathered at compile time into a
// table indexed by the variant's index: a new alternative without an entry
// fails to compile there instead of misbehaving at run time, and a lookup is
// one load (every message asks several of these questions, and a visit per
// question costs the fuzzers a traced compare chain each time).
#include "vmsg/wire/messages.hpp"

#include <array>
#include <type_traits>
#include <utility>
#include <variant>

#include "vmsg/wire/constants.hpp"

namespace vmsg::wire {
namespace {

/// What the header says about a kind of body (profile-independent: both
/// drafts share the ID tables).
struct KindInfo {
  std::uint8_t id = 0;
  bool bus = false;
  bool response = false;
  std::string_view name;
};

using Tid = TransportId;
using Bid = BusId;

constexpr KindInfo req(TransportId id, std::string_view n) { return {static_cast<std::uint8_t>(id), false, false, n}; }
constexpr KindInfo resp(TransportId id, std::string_view n) { return {static_cast<std::uint8_t>(id), false, true, n}; }
constexpr KindInfo req(BusId id, std::string_view n) { return {static_cast<std::uint8_t>(id), true, false, n}; }
constexpr KindInfo resp(BusId id, std::string_view n) { return {static_cast<std::uint8_t>(id), true, true, n}; }

// Events are sent with type bit 0 clear, like requests.
constexpr KindInfo kind_of(std::type_identity<GetDeviceInfoReq>) { return req(Tid::GetDeviceInfo, "GET_DEVICE_INFO"); }
constexpr KindInfo kind_of(std::type_identity<GetDeviceInfoResp>) { return resp(Tid::GetDeviceInfo, "GET_DEVICE_INFO response"); }
constexpr KindInfo kind_of(std::type_identity<GetDeviceFeaturesReq>) { return req(Tid::GetDeviceFeatures, "GET_DEVICE_FEATURES"); }
constexpr KindInfo kind_of(std::type_identity<GetDeviceFeaturesResp>) {
  return resp(Tid::GetDeviceFeatures, "GET_DEVICE_FEATURES response");
}
constexpr KindInfo kind_of(std::type_identity<SetDriverFeaturesReq>) { return req(Tid::SetDriverFeatures, "SET_DRIVER_FEATURES"); }
constexpr KindInfo kind_of(std::type_identity<SetDriverFeaturesResp>) {
  return resp(Tid::SetDriverFeatures, "SET_DRIVER_FEATURES response");
}
constexpr KindInfo kind_of(std::type_identity<GetConfigReq>) { return req(Tid::GetConfig, "GET_CONFIG"); }
constexpr KindInfo kind_of(std::type_identity<GetConfigResp>) { return resp(Tid::GetConfig, "GET_CONFIG response"); }
constexpr KindInfo kind_of(std::type_identity<SetConfigReq>) { return req(Tid::SetConfig, "SET_CONFIG"); }
constexpr KindInfo kind_of(std::type_identity<SetConfigResp>) { return resp(Tid::SetConfig, "SET_CONFIG response"); }
constexpr KindInfo kind_of(std::type_identity<GetDeviceStatusReq>) { return req(Tid::GetDeviceStatus, "GET_DEVICE_STATUS"); }
constexpr KindInfo kind_of(std::type_identity<GetDeviceStatusResp>) {
  return resp(Tid::GetDeviceStatus, "GET_DEVICE_STATUS response");
}
constexpr KindInfo kind_of(std::type_identity<SetDeviceStatusReq>) { return req(Tid::SetDeviceStatus, "SET_DEVICE_STATUS"); }
constexpr KindInfo kind_of(std::type_identity<SetDeviceStatusResp>) {
  return resp(Tid::SetDeviceStatus, "SET_DEVICE_STATUS response");
}
constexpr KindInfo kind_of(std::type_identity<GetVqueueReq>) { return req(Tid::GetVqueue, "GET_VQUEUE"); }
constexpr KindInfo kind_of(std::type_identity<GetVqueueResp>) { return resp(Tid::GetVqueue, "GET_VQUEUE response"); }
constexpr KindInfo kind_of(std::type_identity<SetVqueueReq>) { return req(Tid::SetVqueue, "SET_VQUEUE"); }
constexpr KindInfo kind_of(std::type_identity<SetVqueueResp>) { return resp(Tid::SetVqueue, "SET_VQUEUE response"); }
constexpr KindInfo kind_of(std::type_identity<ResetVqueueReq>) { return req(Tid::ResetVqueue, "RESET_VQUEUE"); }
constexpr KindInfo kind_of(std::type_identity<ResetVqueueResp>) { return resp(Tid::ResetVqueue, "RESET_VQUEUE response"); }
constexpr KindInfo kind_of(std::type_identity<GetShmReq>) { return req(Tid::GetShm, "GET_SHM"); }
constexpr KindInfo kind_of(std::type_identity<GetShmResp>) { return resp(Tid::GetShm, "GET_SHM response"); }
constexpr KindInfo kind_of(std::type_identity<EventConfig>) { return req(Tid::EventConfig, "EVENT_CONFIG"); }
constexpr KindInfo kind_of(std::type_identity<EventAvail>) { return req(Tid::EventAvail, "EVENT_AVAIL"); }
constexpr KindInfo kind_of(std::type_identity<EventUsed>) { return req(Tid::EventUsed, "EVENT_USED"); }
constexpr KindInfo kind_of(std::type_identity<GetDevicesReq>) { return req(Bid::GetDevices, "GET_DEVICES"); }
constexpr KindInfo kind_of(std::type_identity<GetDevicesResp>) { return resp(Bid::GetDevices, "GET_DEVICES response"); }
constexpr KindInfo kind_of(std::type_identity<PingReq>) { return req(Bid::Ping, "PING"); }
constexpr KindInfo kind_of(std::type_identity<PingResp>) { return resp(Bid::Ping, "PING response"); }
constexpr KindInfo kind_of(std::type_identity<EventDevice>) { return req(Bid::EventDevice, "EVENT_DEVICE"); }

template <std::size_t... I>
constexpr std::array<KindInfo, sizeof...(I)> kind_table(std::index_sequence<I...>) {
  return {kind_of(std::type_identity<std::variant_alternative_t<I, Body>>{})...};
}
constexpr auto kKinds = kind_table(std::make_index_sequence<std::variant_size_v<Body>>{});

KindInfo info(const Body& body) noexcept {
  // A valueless body (an exception during assignment) has no kind.
  const std::size_t i = body.index();
  return i < kKinds.size() ? kKinds[i] : KindInfo{.id = 0, .bus = false, .response = false, .name = "(valueless)"};
}

}  // namespace

std::uint8_t msg_id(const Body& body) noexcept { return info(body).id; }
bool is_bus(const Body& body) noexcept { return info(body).bus; }
bool is_response(const Body& body) noexcept { return info(body).response; }
bool is_event(const Body& body) noexcept { return is_event_id(info(body).id); }

std::uint8_t type_byte(const Body& body) noexcept {
  const KindInfo k = info(body);
  return static_cast<std::uint8_t>((k.response ? type_bits::kResponse : 0) | (k.bus ? type_bits::kBus : 0));
}

std::string_view name(const Body& body) noexcept { return info(body).name; }

}  // namespace vmsg::wire

// ---- printing ---------------------------------------------------------------
// Kept here (not in the header) so the 30-way variant is compared and printed
// in one TU only.

#include <ostream>
#include <sstream>

#include "vmsg/wire/codec.hpp"

namespace vmsg::wire {

bool operator==(const Message& a, const Message& b) {
  return a.dev_num == b.dev_num && a.token == b.token && a.reserved_type_bits == b.reserved_type_bits &&
         a.body == b.body;
}

std::string to_string(const Message& m) {
  // The wire bytes say everything about the fields; encode with the largest
  // profile so any message the codec can represent prints.
  std::ostringstream os;
  os << name(m.body) << " dev=" << m.dev_num << " token=" << m.token;
  if (m.reserved_type_bits != 0) os << " type_bits=0x" << std::hex << unsigned{m.reserved_type_bits} << std::dec;
  auto bytes = encode(m, Profile::pr28(0xFFFF));
  if (!bytes) {
    os << " (unencodable: " << to_string(bytes.error()) << ")";
    return os.str();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  os << " [";
  for (std::uint8_t b : *bytes) os << kHex[b >> 4] << kHex[b & 0xF];
  os << "]";
  return os.str();
}

void PrintTo(const Message& m, std::ostream* os) { *os << to_string(m); }

void PrintTo(const Body& b, std::ostream* os) { *os << to_string(Message{.body = b}); }

}  // namespace vmsg::wire

// Kind facts (ID, space, direction, name) of every Body alternative.
//
// One kind_of() overload per alternative, gathered once into a table indexed
// by the variant's index: a new alternative without an entry fails to compile
// there instead of misbehaving at run time, and a lookup is one load (every
// message asks several of these questions, and a visit per question costs the
// fuzzers a traced compare chain each time). The table is built on first use,
// not at compile time, so the entries run like any code (and count as covered
// when they do).
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

template <class T>
using Of = std::type_identity<T>;
using Tid = TransportId;
using Bid = BusId;

KindInfo req(TransportId id, std::string_view n) { return {static_cast<std::uint8_t>(id), false, false, n}; }
KindInfo resp(TransportId id, std::string_view n) { return {static_cast<std::uint8_t>(id), false, true, n}; }
KindInfo req(BusId id, std::string_view n) { return {static_cast<std::uint8_t>(id), true, false, n}; }
KindInfo resp(BusId id, std::string_view n) { return {static_cast<std::uint8_t>(id), true, true, n}; }

// Events are sent with type bit 0 clear, like requests.
KindInfo kind_of(Of<GetDeviceInfoReq>) { return req(Tid::GetDeviceInfo, "GET_DEVICE_INFO"); }
KindInfo kind_of(Of<GetDeviceInfoResp>) { return resp(Tid::GetDeviceInfo, "GET_DEVICE_INFO response"); }
KindInfo kind_of(Of<GetDeviceFeaturesReq>) { return req(Tid::GetDeviceFeatures, "GET_DEVICE_FEATURES"); }
KindInfo kind_of(Of<GetDeviceFeaturesResp>) {
  return resp(Tid::GetDeviceFeatures, "GET_DEVICE_FEATURES response");
}
KindInfo kind_of(Of<SetDriverFeaturesReq>) { return req(Tid::SetDriverFeatures, "SET_DRIVER_FEATURES"); }
KindInfo kind_of(Of<SetDriverFeaturesResp>) {
  return resp(Tid::SetDriverFeatures, "SET_DRIVER_FEATURES response");
}
KindInfo kind_of(Of<GetConfigReq>) { return req(Tid::GetConfig, "GET_CONFIG"); }
KindInfo kind_of(Of<GetConfigResp>) { return resp(Tid::GetConfig, "GET_CONFIG response"); }
KindInfo kind_of(Of<SetConfigReq>) { return req(Tid::SetConfig, "SET_CONFIG"); }
KindInfo kind_of(Of<SetConfigResp>) { return resp(Tid::SetConfig, "SET_CONFIG response"); }
KindInfo kind_of(Of<GetDeviceStatusReq>) { return req(Tid::GetDeviceStatus, "GET_DEVICE_STATUS"); }
KindInfo kind_of(Of<GetDeviceStatusResp>) {
  return resp(Tid::GetDeviceStatus, "GET_DEVICE_STATUS response");
}
KindInfo kind_of(Of<SetDeviceStatusReq>) { return req(Tid::SetDeviceStatus, "SET_DEVICE_STATUS"); }
KindInfo kind_of(Of<SetDeviceStatusResp>) {
  return resp(Tid::SetDeviceStatus, "SET_DEVICE_STATUS response");
}
KindInfo kind_of(Of<GetVqueueReq>) { return req(Tid::GetVqueue, "GET_VQUEUE"); }
KindInfo kind_of(Of<GetVqueueResp>) { return resp(Tid::GetVqueue, "GET_VQUEUE response"); }
KindInfo kind_of(Of<SetVqueueReq>) { return req(Tid::SetVqueue, "SET_VQUEUE"); }
KindInfo kind_of(Of<SetVqueueResp>) { return resp(Tid::SetVqueue, "SET_VQUEUE response"); }
KindInfo kind_of(Of<ResetVqueueReq>) { return req(Tid::ResetVqueue, "RESET_VQUEUE"); }
KindInfo kind_of(Of<ResetVqueueResp>) { return resp(Tid::ResetVqueue, "RESET_VQUEUE response"); }
KindInfo kind_of(Of<GetShmReq>) { return req(Tid::GetShm, "GET_SHM"); }
KindInfo kind_of(Of<GetShmResp>) { return resp(Tid::GetShm, "GET_SHM response"); }
KindInfo kind_of(Of<EventConfig>) { return req(Tid::EventConfig, "EVENT_CONFIG"); }
KindInfo kind_of(Of<EventAvail>) { return req(Tid::EventAvail, "EVENT_AVAIL"); }
KindInfo kind_of(Of<EventUsed>) { return req(Tid::EventUsed, "EVENT_USED"); }
KindInfo kind_of(Of<GetDevicesReq>) { return req(Bid::GetDevices, "GET_DEVICES"); }
KindInfo kind_of(Of<GetDevicesResp>) { return resp(Bid::GetDevices, "GET_DEVICES response"); }
KindInfo kind_of(Of<PingReq>) { return req(Bid::Ping, "PING"); }
KindInfo kind_of(Of<PingResp>) { return resp(Bid::Ping, "PING response"); }
KindInfo kind_of(Of<EventDevice>) { return req(Bid::EventDevice, "EVENT_DEVICE"); }

template <std::size_t... I>
std::array<KindInfo, sizeof...(I)> kind_table(std::index_sequence<I...>) {
  return {kind_of(Of<std::variant_alternative_t<I, Body>>{})...};
}

KindInfo info(const Body& body) noexcept {
  // Function-local: safe to ask from other translation units' static initialisers.
  static const auto kinds = kind_table(std::make_index_sequence<std::variant_size_v<Body>>{});
  // A valueless body (an exception during assignment) has no kind.
  const std::size_t i = body.index();
  return i < kinds.size() ? kinds[i] : KindInfo{.id = 0, .bus = false, .response = false, .name = "(valueless)"};
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

// vmsg::wire: profiles, the 30 message bodies, Message, encode/decode.
#include "common.hpp"
#include "vmsg/wire/codec.hpp"
#include "vmsg/wire/constants.hpp"
#include "vmsg/wire/header.hpp"
#include "vmsg/wire/messages.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::pyb {

namespace {

using namespace vmsg::wire;

void bind_bodies(py::module_& m) {
  // Transport requests.
  bind_struct<GetDeviceInfoReq>(m, "GetDeviceInfoReq", "GET_DEVICE_INFO request");
  bind_struct<GetDeviceFeaturesReq>(m, "GetDeviceFeaturesReq", "GET_DEVICE_FEATURES request",
                                    field("block_index", &GetDeviceFeaturesReq::block_index),
                                    field("num_blocks", &GetDeviceFeaturesReq::num_blocks));
  bind_struct<SetDriverFeaturesReq>(m, "SetDriverFeaturesReq", "SET_DRIVER_FEATURES request (num_blocks = len(features))",
                                    field("block_index", &SetDriverFeaturesReq::block_index),
                                    field("features", &SetDriverFeaturesReq::features));
  bind_struct<GetConfigReq>(m, "GetConfigReq", "GET_CONFIG request", field("offset", &GetConfigReq::offset),
                            field("length", &GetConfigReq::length));
  bind_struct<SetConfigReq>(m, "SetConfigReq", "SET_CONFIG request (length = len(data))",
                            field("generation", &SetConfigReq::generation), field("offset", &SetConfigReq::offset),
                            field("data", &SetConfigReq::data));
  bind_struct<GetDeviceStatusReq>(m, "GetDeviceStatusReq", "GET_DEVICE_STATUS request");
  bind_struct<SetDeviceStatusReq>(m, "SetDeviceStatusReq", "SET_DEVICE_STATUS request",
                                  field("status", &SetDeviceStatusReq::status));
  bind_struct<GetVqueueReq>(m, "GetVqueueReq", "GET_VQUEUE request", field("index", &GetVqueueReq::index));
  bind_struct<SetVqueueReq>(m, "SetVqueueReq", "SET_VQUEUE request", field("index", &SetVqueueReq::index),
                            field("flags", &SetVqueueReq::flags), field("size", &SetVqueueReq::size),
                            field("reserved", &SetVqueueReq::reserved), field("desc_addr", &SetVqueueReq::desc_addr),
                            field("driver_addr", &SetVqueueReq::driver_addr),
                            field("device_addr", &SetVqueueReq::device_addr));
  bind_struct<ResetVqueueReq>(m, "ResetVqueueReq", "RESET_VQUEUE request", field("index", &ResetVqueueReq::index));
  bind_struct<GetShmReq>(m, "GetShmReq", "GET_SHM request", field("index", &GetShmReq::index));

  // Transport responses.
  bind_struct<GetDeviceInfoResp>(m, "GetDeviceInfoResp", "GET_DEVICE_INFO response",
                                 field("device_id", &GetDeviceInfoResp::device_id),
                                 field("vendor_id", &GetDeviceInfoResp::vendor_id),
                                 field("num_feature_bits", &GetDeviceInfoResp::num_feature_bits),
                                 field("config_size", &GetDeviceInfoResp::config_size),
                                 field("max_virtqueues", &GetDeviceInfoResp::max_virtqueues),
                                 field("admin_vq_start", &GetDeviceInfoResp::admin_vq_start),
                                 field("admin_vq_count", &GetDeviceInfoResp::admin_vq_count),
                                 field("num_feature_blocks", &GetDeviceInfoResp::num_feature_blocks),
                                 field("device_uuid", &GetDeviceInfoResp::device_uuid));
  bind_struct<GetDeviceFeaturesResp>(m, "GetDeviceFeaturesResp", "GET_DEVICE_FEATURES response",
                                     field("block_index", &GetDeviceFeaturesResp::block_index),
                                     field("features", &GetDeviceFeaturesResp::features));
  bind_struct<SetDriverFeaturesResp>(m, "SetDriverFeaturesResp", "SET_DRIVER_FEATURES response");
  bind_struct<GetConfigResp>(m, "GetConfigResp", "GET_CONFIG response (length = len(data))",
                             field("generation", &GetConfigResp::generation), field("offset", &GetConfigResp::offset),
                             field("data", &GetConfigResp::data));
  bind_struct<SetConfigResp>(m, "SetConfigResp", "SET_CONFIG response",
                             field("generation", &SetConfigResp::generation), field("offset", &SetConfigResp::offset),
                             field("length", &SetConfigResp::length), field("data", &SetConfigResp::data));
  bind_struct<GetDeviceStatusResp>(m, "GetDeviceStatusResp", "GET_DEVICE_STATUS response",
                                   field("status", &GetDeviceStatusResp::status));
  bind_struct<SetDeviceStatusResp>(m, "SetDeviceStatusResp", "SET_DEVICE_STATUS response",
                                   field("status", &SetDeviceStatusResp::status));
  bind_struct<GetVqueueResp>(m, "GetVqueueResp", "GET_VQUEUE response", field("index", &GetVqueueResp::index),
                             field("max_size", &GetVqueueResp::max_size), field("cur_size", &GetVqueueResp::cur_size),
                             field("flags", &GetVqueueResp::flags), field("desc_addr", &GetVqueueResp::desc_addr),
                             field("driver_addr", &GetVqueueResp::driver_addr),
                             field("device_addr", &GetVqueueResp::device_addr));
  bind_struct<SetVqueueResp>(m, "SetVqueueResp", "SET_VQUEUE response");
  bind_struct<ResetVqueueResp>(m, "ResetVqueueResp", "RESET_VQUEUE response");
  bind_struct<GetShmResp>(m, "GetShmResp", "GET_SHM response", field("index", &GetShmResp::index),
                          field("length", &GetShmResp::length), field("address", &GetShmResp::address),
                          field("reserved", &GetShmResp::reserved));

  // Transport events.
  bind_struct<EventConfig>(m, "EventConfig", "EVENT_CONFIG (device -> driver)",
                           field("device_status", &EventConfig::device_status),
                           field("generation", &EventConfig::generation), field("offset", &EventConfig::offset),
                           field("length", &EventConfig::length), field("data", &EventConfig::data));
  bind_struct<EventAvail>(m, "EventAvail", "EVENT_AVAIL (driver -> device)", field("vq_index", &EventAvail::vq_index),
                          field("next_offset", &EventAvail::next_offset));
  bind_struct<EventUsed>(m, "EventUsed", "EVENT_USED (device -> driver)", field("vq_index", &EventUsed::vq_index));

  // Bus messages.
  bind_struct<GetDevicesReq>(m, "GetDevicesReq", "bus GET_DEVICES request", field("offset", &GetDevicesReq::offset),
                             field("count", &GetDevicesReq::count));
  bind_struct<GetDevicesResp>(m, "GetDevicesResp",
                              "bus GET_DEVICES response (PR28: count = 8 * len(bitmap), count None; REV1: count given)",
                              field("offset", &GetDevicesResp::offset),
                              field("next_offset", &GetDevicesResp::next_offset),
                              field("bitmap", &GetDevicesResp::bitmap), field("count", &GetDevicesResp::count));
  bind_struct<PingReq>(m, "PingReq", "bus PING request", field("data", &PingReq::data));
  bind_struct<PingResp>(m, "PingResp", "bus PING response", field("data", &PingResp::data));
  bind_struct<EventDevice>(m, "EventDevice", "bus EVENT_DEVICE", field("device_number", &EventDevice::device_number),
                           field("state", &EventDevice::state));
}

void bind_constants(py::module_& m) {
  consts(m, {{"kHeaderSize", kHeaderSize}, {"kMaxEncodableSize", kMaxEncodableSize},
             {"kNextOffsetWrapBit", kNextOffsetWrapBit}});
  py::module_ tb = m.def_submodule("type_bits", "bits of the header type byte");
  consts(tb, {{"kResponse", type_bits::kResponse}, {"kBus", type_bits::kBus}, {"kReserved", type_bits::kReserved}});
  py::module_ st = m.def_submodule("status", "device status bits");
  consts(st, {{"kAcknowledge", status::kAcknowledge}, {"kDriver", status::kDriver}, {"kDriverOk", status::kDriverOk},
              {"kFeaturesOk", status::kFeaturesOk}, {"kNeedsReset", status::kNeedsReset},
              {"kFailed", status::kFailed}});
  py::module_ bs = m.def_submodule("bus_state", "EVENT_DEVICE states");
  consts(bs, {{"kReady", bus_state::kReady}, {"kRemoved", bus_state::kRemoved}});

  py::enum_<TransportId>(m, "TransportId", "message IDs of the transport ID space")
      .value("GetDeviceInfo", TransportId::GetDeviceInfo)
      .value("GetDeviceFeatures", TransportId::GetDeviceFeatures)
      .value("SetDriverFeatures", TransportId::SetDriverFeatures)
      .value("GetConfig", TransportId::GetConfig)
      .value("SetConfig", TransportId::SetConfig)
      .value("GetDeviceStatus", TransportId::GetDeviceStatus)
      .value("SetDeviceStatus", TransportId::SetDeviceStatus)
      .value("GetVqueue", TransportId::GetVqueue)
      .value("SetVqueue", TransportId::SetVqueue)
      .value("ResetVqueue", TransportId::ResetVqueue)
      .value("GetShm", TransportId::GetShm)
      .value("EventConfig", TransportId::EventConfig)
      .value("EventAvail", TransportId::EventAvail)
      .value("EventUsed", TransportId::EventUsed);
  py::enum_<BusId>(m, "BusId", "message IDs of the bus ID space")
      .value("GetDevices", BusId::GetDevices)
      .value("Ping", BusId::Ping)
      .value("EventDevice", BusId::EventDevice);
  m.def("is_event_id", &is_event_id, py::arg("id"));
  m.def("is_impl_defined_id", &is_impl_defined_id, py::arg("id"));
}

void bind_codec(py::module_& m) {
  py::enum_<DecodeError>(m, "DecodeError", "why bytes are not a valid message")
      .value("ShortBuffer", DecodeError::ShortBuffer)
      .value("SizeBelowHeader", DecodeError::SizeBelowHeader)
      .value("SizeExceedsBuffer", DecodeError::SizeExceedsBuffer)
      .value("SizeExceedsBusMax", DecodeError::SizeExceedsBusMax)
      .value("SizeMismatch", DecodeError::SizeMismatch)
      .value("ReservedTypeBits", DecodeError::ReservedTypeBits)
      .value("UnknownMessageId", DecodeError::UnknownMessageId)
      .value("ResponseToEvent", DecodeError::ResponseToEvent)
      .value("BadAlignment", DecodeError::BadAlignment)
      .value("BadCount", DecodeError::BadCount);
  py::enum_<EncodeError>(m, "EncodeError", "why a message cannot be encoded")
      .value("TooLarge", EncodeError::TooLarge)
      .value("BufferTooSmall", EncodeError::BufferTooSmall)
      .value("Inconsistent", EncodeError::Inconsistent);
  bind_struct<DecodeOptions>(m, "DecodeOptions", "decode knobs",
                             field("strict_type_bits", &DecodeOptions::strict_type_bits));

  m.def(
      "decode",
      [](const py::object& data, const Profile& profile, const DecodeOptions& options) {
        const std::vector<std::uint8_t> bytes = from_bytes(data);
        return unwrap(wire::decode(bytes, profile, options));
      },
      py::arg("data"), py::arg("profile") = Profile::pr28(), py::arg("options") = DecodeOptions{},
      "Decodes bytes into a Message; raises DecodeFailure naming the broken rule.");
  m.def(
      "encode",
      [](const Message& msg, const Profile& profile) {
        return to_bytes(unwrap(wire::encode(msg, profile)));
      },
      py::arg("msg"), py::arg("profile") = Profile::pr28(),
      "The exact wire form (msg_size bytes); raises EncodeFailure.");
  m.def("encoded_size", &encoded_size, py::arg("msg"), py::arg("profile") = Profile::pr28());
  m.def("rule_id", [](DecodeError e) { return std::string(rule_id(e)); }, py::arg("error"));
  m.def("error_name", [](DecodeError e) { return std::string(to_string(e)); }, py::arg("error"));
  m.def("error_name", [](EncodeError e) { return std::string(to_string(e)); }, py::arg("error"));
  m.def(
      "describe",
      [](DecodeError e, std::uint32_t value) { return describe(wire::DecodeFailure{e, value}); },
      py::arg("error"), py::arg("value") = 0);
}

void bind_header(py::module_& m) {
  bind_struct<Header>(m, "Header", "the raw 8-byte header", field("type", &Header::type),
                      field("msg_id", &Header::msg_id), field("dev_num", &Header::dev_num),
                      field("token", &Header::token), field("msg_size", &Header::msg_size))
      .def("is_response", &Header::is_response)
      .def("is_bus", &Header::is_bus)
      .def("reserved_bits", &Header::reserved_bits);
  m.def(
      "peek_header", [](const py::object& data) { return peek_header(from_bytes(data)); }, py::arg("data"),
      "The header of the first 8 bytes, or None when fewer are given.");
  m.def(
      "write_header",
      [](const Header& h) {
        std::vector<std::uint8_t> out(kHeaderSize);
        write_header(out, h);
        return to_bytes(out);
      },
      py::arg("header"), "The 8 header bytes of `header`.");
}

}  // namespace

void bind_wire(py::module_& m) {
  py::enum_<Layout>(m, "Layout", "which draft's layouts the codec uses")
      .value("Pr28", Layout::Pr28)
      .value("Rev1", Layout::Rev1);
  bind_struct<Profile>(m, "Profile", "wire profile: layout + bus maximum message size",
                       field("layout", &Profile::layout), field("max_msg_size", &Profile::max_msg_size))
      .def_static("pr28", &Profile::pr28, py::arg("max_msg_size") = 64, "PR28 layouts, 64-byte AMP messages")
      .def_static("rev1", &Profile::rev1, py::arg("max_msg_size") = 64, "REV1-2026 layouts, 64-byte AMP messages")
      .def("name", [](const Profile& p) { return std::string(p.name()); });

  bind_bodies(m);
  bind_constants(m);

  bind_struct<Message>(m, "Message", "a whole message: dev_num, token, reserved type bits and a body",
                       field("dev_num", &Message::dev_num), field("token", &Message::token),
                       field("reserved_type_bits", &Message::reserved_type_bits), field("body", &Message::body))
      .def("msg_id", [](const Message& msg) { return msg_id(msg.body); })
      .def("is_bus", [](const Message& msg) { return is_bus(msg.body); })
      .def("is_response", [](const Message& msg) { return is_response(msg.body); })
      .def("is_event", [](const Message& msg) { return is_event(msg.body); })
      .def("type_byte", [](const Message& msg) { return type_byte(msg.body); })
      .def("name", [](const Message& msg) { return std::string(name(msg.body)); })
      .def("__str__", [](const Message& msg) { return to_string(msg); });

  m.def("msg_id", [](const Body& b) { return msg_id(b); }, py::arg("body"));
  m.def("is_bus", [](const Body& b) { return is_bus(b); }, py::arg("body"));
  m.def("is_response", [](const Body& b) { return is_response(b); }, py::arg("body"));
  m.def("is_event", [](const Body& b) { return is_event(b); }, py::arg("body"));
  m.def("type_byte", [](const Body& b) { return type_byte(b); }, py::arg("body"));
  m.def("name", [](const Body& b) { return std::string(name(b)); }, py::arg("body"));
  m.def("to_string", [](const Message& msg) { return to_string(msg); }, py::arg("msg"));

  bind_codec(m);
  bind_header(m);
}

}  // namespace vmsg::pyb

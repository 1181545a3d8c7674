// Driver rules visible only in the raw frame (before any endpoint sees it).
#pragma once

#include <cstdint>
#include <span>

#include "vmsg/bus/driver_rule_sink.hpp"
#include "vmsg/common/result.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::bus {

class Bus;

/// Checks one driver->device frame as `bus` will receive it and reports to
/// `sink` every driver rule it breaks: reserved type bits (VMSG-DRV-009),
/// msg_size not the message's size (VMSG-DRV-011) or above the bus maximum
/// (VMSG-DRV-012), a transport message for an empty device number
/// (VMSG-DRV-013), an unaligned GET_DEVICES (VMSG-BUS-042), and non-zero
/// slot bytes after msg_size (AMP-015). Under a REV1 bus profile the REV1 IDs
/// (R1-DRV-018/020/021/022) are reported instead, REV1 has no alignment rule,
/// a bus message with a non-zero dev_num is reported too (R1-GEN-001), and so
/// is a transport message with the RESPONSE bit, a driver's reply to a device
/// message (R1-DRV-014).
/// Never changes what the bus does.
/// `decoded`, when given, is wire::decode(frame, bus.profile()): the bus has
/// it already, and it is used when the rules are judged in the bus's own
/// layout (BusOptions::rule_layout unset or equal), so the frame is decoded once.
void check_driver_frame(DriverRuleSink& sink, std::span<const std::uint8_t> frame, const Bus& bus,
                        const Result<wire::Message, wire::DecodeFailure>* decoded = nullptr);

}  // namespace vmsg::bus

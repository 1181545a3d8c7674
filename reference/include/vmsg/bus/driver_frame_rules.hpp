// Driver rules visible only in the raw frame (before any endpoint sees it).
#pragma once

#include <cstdint>
#include <span>

#include "vmsg/bus/driver_rule_sink.hpp"

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
void check_driver_frame(DriverRuleSink& sink, std::span<const std::uint8_t> frame, const Bus& bus);

}  // namespace vmsg::bus

// Device discovery with the bus message GET_DEVICES, window by window, under
// either profile (PR28 §5.1 or REV1 L1925-2000).
//
// REV1 lets a window hold any count (0 included) and ends enumeration with
// next_offset 0; any other next_offset must lie above the request's offset.
// A bus that breaks that could keep a driver asking forever, so the walk is
// bounded twice: a next_offset that does not advance ends it at once, and so
// does running past a fixed number of windows. Both are EnumerationStuck.
#pragma once

#include <cstdint>
#include <vector>

#include "vmsg/driver/bus_driver.hpp"
#include "vmsg/driver/virtio_error.hpp"

namespace vmsg::driver {

/// Choices of enumerate_devices.
struct EnumerationOptions {
  /// Device numbers asked for per GET_DEVICES; 0 = the largest window whose
  /// answer fits the bus maximum ((max_msg_size - 14) * 8, 400 on AMP),
  /// rounded down to a multiple of 8 under PR28 (its alignment rule).
  std::uint16_t window = 0;
  /// GET_DEVICES requests sent at most before EnumerationStuck.
  unsigned max_windows = 256;
};

/// What an enumeration found.
struct Enumeration {
  std::vector<std::uint16_t> devices;  ///< present device numbers, ascending
  unsigned windows = 0;                ///< GET_DEVICES requests it took
};

/// Walks the bus's device numbers from 0 with GET_DEVICES (dev_num 0, as bus
/// messages carry: REV1 L651-652). Errors: the link's (NoResponse,
/// MalformedResponse, ...), BadResponse for an answer that does not echo the
/// offset or returns more slots than asked (REV1 L1982-1984), and
/// EnumerationStuck as above.
[[nodiscard]] VResult<Enumeration> enumerate_devices(BusDriver& bus, const EnumerationOptions& options = {});

}  // namespace vmsg::driver

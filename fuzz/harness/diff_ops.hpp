// Input format of fuzz_diff (see targets/fuzz_diff.cpp and
// harness/diff_runner.hpp): which target to build, then the operation stream
// of fuzz_device (harness/device_ops.hpp), applied to both sides.
#pragma once

#include <array>
#include <cstdint>

#include "common/profile_prefix.hpp"
#include "harness/device_ops.hpp"
#include "vmsg/common/faults.hpp"

namespace vmsg::fuzz::diff_ops {

/// Devices the setup can place (dut config string kinds; blk gets a small medium).
inline constexpr const char* kKinds[] = {"virtio-rng-device", "virtio-blk-device", "virtio-balloon-device"};
inline constexpr std::uint8_t kKindCount = 3;
inline constexpr std::size_t kMaxDevices = 3;

/// One virtio device behind the function.
struct Device {
  std::uint8_t kind = 0;   ///< index into kKinds
  std::uint8_t fifo = 0;   ///< reduced modulo the FIFO count
  std::uint8_t dev_num = 0;  ///< 0..31; a number used twice on a FIFO is skipped
};

/// Target shape, from the start of the input.
struct Setup {
  std::uint8_t fifo_choice = 0;  ///< index into device_ops::kFifoChoices
  std::uint8_t count = 0;        ///< devices used
  std::array<Device, kMaxDevices> devices{};
  /// 0: conforming; k: fault::all_faults()[k-1] on BOTH sides (the fault
  /// paths must behave the same through the ABI as in process).
  std::uint8_t fault = 0;
  /// The draft both sides are built in: from the input's prefix
  /// (take_profile), not from the stream io_setup reads.
  ProfileChoice profile;
};

/// The fault set `s` puts on both sides.
[[nodiscard]] inline fault::FaultSet faults(const Setup& s) {
  fault::FaultSet f;
  const auto all = fault::all_faults();
  if (s.fault != 0 && s.fault <= all.size()) f.set(all[s.fault - 1].fault);
  return f;
}

template <class IO>
void io_setup(IO& io, Setup& s) {
  io.range(s.fifo_choice, std::uint8_t{0}, std::uint8_t{3});
  io.range(s.count, std::uint8_t{0}, static_cast<std::uint8_t>(kMaxDevices));
  for (std::size_t i = 0; i < s.count; ++i) {
    io.range(s.devices[i].kind, std::uint8_t{0}, static_cast<std::uint8_t>(kKindCount - 1));
    io.range(s.devices[i].fifo, std::uint8_t{0}, std::uint8_t{7});
    io.range(s.devices[i].dev_num, std::uint8_t{0}, std::uint8_t{31});
  }
  io.range(s.fault, std::uint8_t{0}, static_cast<std::uint8_t>(fault::all_faults().size()));
}

}  // namespace vmsg::fuzz::diff_ops

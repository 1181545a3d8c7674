// Input format of fuzz_device (see targets/fuzz_device.cpp and
// harness/device_harness.hpp), shared with the seed generator through
// stream_io. Addresses are relative to a region (a BAR as currently mapped,
// RAM, the device's ECAM page) and reduced modulo its size at run time, so a
// mutated input still lands somewhere meaningful whatever the BAR layout.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/message_io.hpp"
#include "common/profile_prefix.hpp"
#include "vmsg/port/port.hpp"
#include "vmsg/wire/messages.hpp"

namespace vmsg::fuzz::device_ops {

/// FIFO counts the device can be built with.
inline constexpr unsigned kFifoChoices[] = {1, 2, 4, 8};
/// Device numbers a MinimalEndpoint may occupy; bit i of a FIFO's mask plugs kDevNums[i].
inline constexpr std::uint16_t kDevNums[8] = {0, 1, 2, 3, 7, 8, 16, 31};

/// Target shape, from the start of the input.
struct Setup {
  std::uint8_t fifo_choice = 0;      ///< index into kFifoChoices
  std::array<std::uint8_t, 8> devices{};  ///< per FIFO: mask over kDevNums
  /// The draft of the whole machine: from the input's prefix (take_profile),
  /// not from the stream io_setup reads.
  ProfileChoice profile;
};

enum class Kind : std::uint8_t {
  ConfigRead,    ///< config read at a notable or arbitrary offset, width 1/2/4
  ConfigWrite,   ///< config write likewise
  MmioRead,      ///< one MMIO read, width 1/2/4/8, in a region
  MmioWrite,     ///< one MMIO write likewise
  BulkRead,      ///< mem_read of up to kMaxBulk bytes
  BulkWrite,     ///< mem_write of up to kMaxBulk bytes
  PostMessage,   ///< a message built from the input, encoded and posted by the driver link
  PostRaw,       ///< raw bytes posted by the driver link
  Doorbell,      ///< aligned 32-bit write to NOTIFYq (q may be past the last FIFO)
  AdvanceTime,   ///< machine time step
  Poll,          ///< the driver link consumes up to `count` frames
  SetCommand,    ///< PCI Command from three bits: MEM, BME, INTx-disable
  MoveBar,       ///< reprogram a BAR register
  MsixMask,      ///< mask or unmask one MSI-X table entry
  MsixControl,   ///< MSI-X Enable / Function Mask
  Reinit,        ///< the driver re-initialises: layout, rings, links (harness restore)
  Burst,         ///< `count` copies of a message, ringing whenever the driver queue is full:
                 ///< a few bursts outrun the device queue and reach back-pressure
  kCount,
};

/// Where a region-relative address points.
enum class Region : std::uint8_t { Bar0, Bar1, Bar2, Ram, Ecam, Absolute, kCount };

/// Config offsets worth hitting often; the last choice takes `offset` as is.
enum class ConfigSpot : std::uint8_t { Command, Status, Bar0, Bar1, Bar2, Bar3, MsixControl, MsixCap, CapPtr, Any, kCount };

/// What MoveBar writes.
enum class BarValue : std::uint8_t { Original, AllOnes, Zero, OtherWindow, InRam, Any, kCount };

inline constexpr std::size_t kMaxBulk = 512;  ///< see device_harness.hpp: keeps one op from both moving MSI-X state and placing frames
inline constexpr std::uint8_t kMaxPoll = 64;
inline constexpr unsigned kWidths[] = {1, 2, 4, 8};
inline constexpr unsigned kConfigWidths[] = {1, 2, 4};
/// Messages for a 64-byte slot: at most 14 feature words or 56 data bytes fit.
inline constexpr MessageLimits kSlotLimits{.max_words = 14, .max_bytes = 56};

struct Op {
  Kind kind = Kind::AdvanceTime;
  Region region = Region::Bar0;
  std::uint64_t offset = 0;       ///< region-relative (reduced at run time) or config offset
  std::uint8_t width = 0;         ///< index into kWidths / kConfigWidths
  std::uint64_t value = 0;        ///< written value, command bits, bar value, time step
  ConfigSpot spot = ConfigSpot::Command;
  BarValue bar_value = BarValue::Original;
  std::uint8_t fifo = 0;          ///< reduced modulo num_fifos (Doorbell: modulo num_fifos + 1)
  std::uint8_t count = 0;         ///< Poll, Burst
  bool flag = false;              ///< ring after posting / mask / enable
  bool flag2 = false;             ///< MsixControl: function mask
  std::vector<std::uint8_t> bytes;  ///< BulkWrite, PostRaw
  wire::Message message;          ///< PostMessage, Burst
};

template <class IO>
void io_setup(IO& io, Setup& s) {
  io.range(s.fifo_choice, std::uint8_t{0}, std::uint8_t{3});
  // The size bound is redundant (at most 8 FIFOs) but lets gcc see it.
  for (std::size_t q = 0; q < kFifoChoices[s.fifo_choice % 4] && q < s.devices.size(); ++q) io.any(s.devices[q]);
}

template <class E, class IO>
void io_enum(IO& io, E& e) {
  auto v = static_cast<std::uint8_t>(e);
  io.range(v, std::uint8_t{0}, static_cast<std::uint8_t>(static_cast<std::uint8_t>(E::kCount) - 1));
  e = static_cast<E>(v);
}

template <class IO>
void io_op(IO& io, Op& op) {
  io_enum(io, op.kind);
  switch (op.kind) {
    case Kind::ConfigRead:
    case Kind::ConfigWrite:
      io_enum(io, op.spot);
      if (op.spot == ConfigSpot::Any) io.range(op.offset, std::uint64_t{0}, std::uint64_t{0xFFF});
      io.range(op.width, std::uint8_t{0}, std::uint8_t{2});
      if (op.kind == Kind::ConfigWrite) io.range(op.value, std::uint64_t{0}, std::uint64_t{0xFFFFFFFF});
      break;
    case Kind::MmioRead:
    case Kind::MmioWrite:
      io_enum(io, op.region);
      io.any(op.offset);
      io.range(op.width, std::uint8_t{0}, std::uint8_t{3});
      if (op.kind == Kind::MmioWrite) io.any(op.value);
      break;
    case Kind::BulkRead:
    case Kind::BulkWrite: {
      io_enum(io, op.region);
      io.any(op.offset);
      std::size_t n = op.kind == Kind::BulkWrite ? op.bytes.size() : static_cast<std::size_t>(op.value);
      io.range(n, std::size_t{0}, kMaxBulk);
      if (op.kind == Kind::BulkWrite) {
        io.bytes(op.bytes, n);
      } else {
        op.value = n;
      }
      break;
    }
    case Kind::PostMessage:
      io.any(op.fifo);
      io_message(io, op.message, kSlotLimits);
      io.flag(op.flag);
      break;
    case Kind::Burst:
      io.any(op.fifo);
      io.range(op.count, std::uint8_t{1}, kMaxPoll);
      io_message(io, op.message, kSlotLimits);
      break;
    case Kind::PostRaw: {
      io.any(op.fifo);
      std::size_t n = op.bytes.size();
      io.range(n, std::size_t{0}, std::size_t{64});
      io.bytes(op.bytes, n);
      io.flag(op.flag);
      break;
    }
    case Kind::Doorbell:
      io.any(op.fifo);
      break;
    case Kind::AdvanceTime:
      io.range(op.value, std::uint64_t{0}, std::uint64_t{0xFFFFFFFF});
      break;
    case Kind::Poll:
      io.any(op.fifo);
      io.range(op.count, std::uint8_t{0}, kMaxPoll);
      break;
    case Kind::SetCommand:
      io.range(op.value, std::uint64_t{0}, std::uint64_t{7});
      break;
    case Kind::MoveBar:
      io.range(op.fifo, std::uint8_t{0}, std::uint8_t{5});  // BAR number
      io_enum(io, op.bar_value);
      if (op.bar_value == BarValue::Any || op.bar_value == BarValue::OtherWindow) {
        io.range(op.value, std::uint64_t{0}, std::uint64_t{0xFFFFFFFF});
      }
      break;
    case Kind::MsixMask:
      io.range(op.fifo, std::uint8_t{0}, std::uint8_t{8});  // vector; 8 is past every table
      io.flag(op.flag);
      break;
    case Kind::MsixControl:
      io.flag(op.flag);
      io.flag(op.flag2);
      break;
    case Kind::Reinit:
    case Kind::kCount:
      break;
  }
}

/// The config-space offset a config op touches: a named spot, or any offset
/// (12 bits), moved down so an access of `width` bytes stays inside the 4 KiB
/// space. `msix_cap` is where the function's MSI-X capability sits.
[[nodiscard]] inline std::uint16_t config_offset(const Op& op, std::uint16_t msix_cap, unsigned width) noexcept {
  auto off = static_cast<unsigned>(op.offset & 0xFFFU);
  switch (op.spot) {
    case ConfigSpot::Command: off = 0x04; break;
    case ConfigSpot::Status: off = 0x06; break;
    case ConfigSpot::Bar0: off = 0x10; break;
    case ConfigSpot::Bar1: off = 0x14; break;
    case ConfigSpot::Bar2: off = 0x18; break;
    case ConfigSpot::Bar3: off = 0x1C; break;
    case ConfigSpot::MsixControl: off = msix_cap + 2U; break;
    case ConfigSpot::MsixCap: off = msix_cap; break;
    case ConfigSpot::CapPtr: off = 0x34; break;
    case ConfigSpot::Any:
    case ConfigSpot::kCount: break;
  }
  return static_cast<std::uint16_t>(off < 0x1000U - width ? off : 0x1000U - width);
}

// Register values the operations write, shared by every harness that applies
// them (fuzz_device's DeviceHarness, fuzz_diff's DiffRunner).
inline constexpr std::uint16_t kCmdMem = 0x0002;
inline constexpr std::uint16_t kCmdBme = 0x0004;
inline constexpr std::uint16_t kCmdIntxDisable = 0x0400;
inline constexpr std::uint16_t kMsixEnable = 0x8000;
inline constexpr std::uint16_t kMsixFunctionMask = 0x4000;

/// SetCommand: PCI Command from the op's three bits (MEM, BME, INTx disable).
[[nodiscard]] inline std::uint16_t command_value(const Op& op) noexcept {
  return static_cast<std::uint16_t>(((op.value & 1) != 0 ? kCmdMem : 0) | ((op.value & 2) != 0 ? kCmdBme : 0) |
                                    ((op.value & 4) != 0 ? kCmdIntxDisable : 0));
}

/// MsixControl: the Message Control value (Enable, Function Mask).
[[nodiscard]] inline std::uint16_t msix_control_value(const Op& op) noexcept {
  return static_cast<std::uint16_t>((op.flag ? kMsixEnable : 0) | (op.flag2 ? kMsixFunctionMask : 0));
}

/// MsixMask: the Vector Control dword of entry fifo % 9 (one past the last
/// vector of an 8-FIFO device, too) in a table at `table_addr`.
[[nodiscard]] inline std::uint64_t msix_mask_addr(const Op& op, std::uint64_t table_addr) noexcept {
  return table_addr + 16U * (op.fifo % 9U) + 12U;
}

/// MoveBar: which BAR register (0..5) the op reprograms.
[[nodiscard]] inline unsigned bar_index(const Op& op) noexcept { return op.fifo % 6U; }

/// MoveBar: the value written; `original` is the base the driver assigned to
/// that BAR (0 for BARs it does not use), `mmio_base` the machine's MMIO window.
[[nodiscard]] inline std::uint32_t bar_value(const Op& op, std::uint64_t original, std::uint64_t mmio_base) noexcept {
  switch (op.bar_value) {
    case BarValue::Original: return static_cast<std::uint32_t>(original);
    case BarValue::AllOnes: return 0xFFFFFFFFU;
    case BarValue::Zero: return 0;
    case BarValue::OtherWindow: return static_cast<std::uint32_t>(mmio_base + (op.value % 0x100U) * 0x10000U);
    case BarValue::InRam: return 0x100000U;
    case BarValue::Any:
    case BarValue::kCount: break;
  }
  return static_cast<std::uint32_t>(op.value);
}

/// Where the function-level operations act: the function, the BAR bases the
/// driver assigned, its MSI-X table address and capability offset.
struct FunctionLayout {
  port::PciAddress fn;
  std::array<std::uint64_t, 3> bar_base{};
  std::uint64_t msix_table = 0;
  std::uint16_t msix_cap = 0;
  std::uint64_t mmio_base = 0;
};

/// Applies SetCommand, MoveBar, MsixMask and MsixControl through `p`; false
/// (nothing done) for any other kind. One definition for every harness that
/// replays these operations, so both sides of fuzz_diff and fuzz_device write
/// the same registers.
inline bool apply_function_op(port::Port& p, const FunctionLayout& f, const Op& op) {
  switch (op.kind) {
    case Kind::SetCommand:
      p.config_write(f.fn, 0x04, 2, command_value(op));
      return true;
    case Kind::MoveBar: {
      const unsigned k = bar_index(op);
      p.config_write(f.fn, static_cast<std::uint16_t>(0x10 + 4 * k), 4,
                     bar_value(op, k < 3 ? f.bar_base[k] : 0, f.mmio_base));
      return true;
    }
    case Kind::MsixMask:
      p.mmio_write(msix_mask_addr(op, f.msix_table), 4, op.flag ? 1U : 0U);
      return true;
    case Kind::MsixControl:
      p.config_write(f.fn, static_cast<std::uint16_t>(f.msix_cap + 2), 2, msix_control_value(op));
      return true;
    default:
      return false;
  }
}

}  // namespace vmsg::fuzz::device_ops

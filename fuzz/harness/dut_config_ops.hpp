// Input format of fuzz_dut_config (see targets/fuzz_dut_config.cpp), shared
// with the seed generator through stream_io: a configuration string, whether
// to build the reference DUT from it, a DutConfig described field by field,
// and calls on the C ABI (directly, and through the host's LibPort) with
// arguments picked from the edges the ABI documents.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace vmsg::fuzz::dut_config_ops {

inline constexpr std::size_t kMaxText = 512;
inline constexpr std::size_t kMaxDevices = 4;
inline constexpr std::size_t kMaxProps = 3;
inline constexpr std::size_t kMaxCalls = 48;

/// Choices for the structured DutConfig: names the reference knows and some
/// it does not, all writable (no spaces, commas or '=' where format refuses them).
/// "rev1-2026" (the second draft) is last; Built::strict adds its
/// strict-config-generation= value.
inline constexpr std::array<std::string_view, 5> kProfiles{"pr28", "pr27", "x", "a=b", "rev1-2026"};
inline constexpr std::array<std::string_view, 5> kKinds{"virtio-rng-device", "virtio-blk-device",
                                                        "virtio-balloon-device", "virtio-net-device", "k.k"};
inline constexpr std::array<std::string_view, 8> kPropKeys{"seed",    "capacity", "read_only", "blk_size",
                                                           "seg_max", "serial",   "target",    "x"};
inline constexpr std::array<std::string_view, 10> kPropValues{"0",   "1",  "0x10", "4K", "on",
                                                              "abc", "512", "1M",  "-1", ""};
/// ABI access sizes: the legal ones and the ones a host must not send.
inline constexpr std::array<std::uint32_t, 8> kSizes{0, 1, 2, 3, 4, 8, 16, 0xFFFFFFFF};
/// Addresses: where the probes' own BAR assignment puts BAR0/BAR1/BAR2, edges
/// of them, RAM, ECAM, and the top of the address space.
inline constexpr std::uint64_t kBar0 = 0xE0000000;
inline constexpr std::array<std::uint64_t, 9> kAddrs{kBar0,          kBar0 + 0x3FFC, kBar0 + 0x3FFF,
                                                     0xE0010000,     0xE0020000,     0x1000,
                                                     0xB0020010,     ~std::uint64_t{0} - 3, ~std::uint64_t{0}};
/// stimulus() actions: well formed, for absent devices, malformed.
inline constexpr std::array<std::string_view, 7> kActions{
    "config-change fifo=0 dev=1", "config-change fifo=0 dev=2", "config-change fifo=3 dev=9",
    "config-change dev=1",        "shake fifo=0 dev=1",          "config-change fifo=x dev=1", ""};

/// One structured device.
struct Device {
  std::uint8_t kind = 0;  ///< index into kKinds
  std::uint8_t fifo = 0;
  std::uint8_t dev = 0;   ///< 0..31
  std::vector<std::array<std::uint8_t, 2>> props;  ///< (key, value) indices
};

/// A DutConfig inside the parser's domain, as indices and small numbers.
struct Built {
  std::uint16_t num_fifos = 1;  ///< 0..1000
  std::uint8_t device = 4;      ///< 0..31
  std::uint8_t function = 0;    ///< 0..7
  std::uint8_t profile = 0;     ///< index into kProfiles
  bool strict = false;          ///< strict-config-generation=on (a REV1 bus advertises it)
  std::uint64_t faults = 0;     ///< bit i: fault::all_faults()[i] (dut_config_check.cpp asserts every fault fits)
  std::vector<Device> devices;
};

enum class Call : std::uint8_t {
  ConfigRead,   ///< api.config_read: own or other function, size/offset edges, NULL value
  ConfigWrite,  ///< api.config_write
  MmioRead,     ///< api.mmio_read: address/size edges, NULL value
  MmioWrite,    ///< api.mmio_write
  Time,         ///< api.advance_time
  Stimulus,     ///< api.stimulus: kActions, or NULL
  Violations,   ///< api.violations: buffer/size combinations (NULL/0 is the clear)
  PortConfig,   ///< LibPort::config_read/config_write with any size and offset
  PortMmio,     ///< LibPort::mmio_read/mmio_write with any size
  PortBulk,     ///< LibPort::mem_read/mem_write across RAM, ECAM, BARs, the top of memory
  PortRules,    ///< LibPort::peek/take/clear_violations, stimulus
  kCount,
};

struct CallOp {
  Call call = Call::Time;
  std::uint8_t size = 0;    ///< index into kSizes (bulk: length in bytes)
  std::uint16_t offset = 0; ///< config offset
  std::uint8_t addr = 0;    ///< index into kAddrs; kAddrs.size() = `value` as the address
  std::uint64_t value = 0;
  bool flag = false;        ///< other function / NULL pointer / write instead of read
};

struct Input {
  std::vector<std::uint8_t> text;
  bool open = false;
  Built built;
  std::vector<CallOp> calls;
};

template <class IO>
void io_device(IO& io, Device& d) {
  io.range(d.kind, std::uint8_t{0}, static_cast<std::uint8_t>(kKinds.size() - 1));
  io.range(d.fifo, std::uint8_t{0}, std::uint8_t{9});
  io.range(d.dev, std::uint8_t{0}, std::uint8_t{31});
  std::size_t n = d.props.size();
  io.range(n, std::size_t{0}, kMaxProps);
  if constexpr (IO::kReading) d.props.assign(n, {});
  for (auto& p : d.props) {
    io.range(p[0], std::uint8_t{0}, static_cast<std::uint8_t>(kPropKeys.size() - 1));
    io.range(p[1], std::uint8_t{0}, static_cast<std::uint8_t>(kPropValues.size() - 1));
  }
}

template <class IO>
void io_built(IO& io, Built& b) {
  io.range(b.num_fifos, std::uint16_t{0}, std::uint16_t{1000});
  io.range(b.device, std::uint8_t{0}, std::uint8_t{31});
  io.range(b.function, std::uint8_t{0}, std::uint8_t{7});
  io.range(b.profile, std::uint8_t{0}, static_cast<std::uint8_t>(kProfiles.size() - 1));
  io.flag(b.strict);
  io.any(b.faults);
  std::size_t n = b.devices.size();
  io.range(n, std::size_t{0}, kMaxDevices);
  if constexpr (IO::kReading) b.devices.assign(n, {});
  for (auto& d : b.devices) io_device(io, d);
}

template <class IO>
void io_call(IO& io, CallOp& c) {
  auto k = static_cast<std::uint8_t>(c.call);
  io.range(k, std::uint8_t{0}, static_cast<std::uint8_t>(static_cast<std::uint8_t>(Call::kCount) - 1));
  c.call = static_cast<Call>(k);
  io.range(c.size, std::uint8_t{0}, std::uint8_t{255});
  io.flag(c.flag);
  switch (c.call) {
    case Call::ConfigRead:
    case Call::ConfigWrite:
    case Call::PortConfig:
      io.range(c.offset, std::uint16_t{0}, std::uint16_t{4100});
      io.any(c.value);
      break;
    case Call::MmioRead:
    case Call::MmioWrite:
    case Call::PortMmio:
    case Call::PortBulk:
      io.range(c.addr, std::uint8_t{0}, static_cast<std::uint8_t>(kAddrs.size()));
      io.any(c.value);
      break;
    case Call::Time:
      io.range(c.value, std::uint64_t{0}, std::uint64_t{10'000'000});
      break;
    case Call::Stimulus:
    case Call::Violations:
    case Call::PortRules:
    case Call::kCount:
      break;
  }
}

template <class IO>
void io_input(IO& io, Input& in) {
  std::size_t n = in.text.size();
  io.range(n, std::size_t{0}, kMaxText);
  io.bytes(in.text, n);
  io.flag(in.open);
  io_built(io, in.built);
  std::size_t calls = in.calls.size();
  io.range(calls, std::size_t{0}, kMaxCalls);
  if constexpr (IO::kReading) in.calls.assign(calls, {});
  for (auto& c : in.calls) io_call(io, c);
}

}  // namespace vmsg::fuzz::dut_config_ops

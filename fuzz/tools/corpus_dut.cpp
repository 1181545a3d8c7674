// fuzz_dut_config seeds (corpus_seeds.hpp): the configuration strings the
// project itself uses, each with the calls that bring the reference DUT's
// BARs up and then poke every ABI edge.
//
// Strings come from the conformance target descriptions
// (conformance/vmsg_conform/targets/ref.toml through lib.py's config_for),
// from reference/tests/dut (accepted and refused ones), and from DutConfigs
// written with format_config. Every input is read back and re-written to
// prove it decodes as meant, then run through DutConfigChecker once.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/stream_io.hpp"
#include "harness/dut_config_check.hpp"
#include "harness/dut_config_ops.hpp"
#include "tools/corpus_seeds.hpp"
#include "vmsg/dut/config.hpp"

namespace vmsg::fuzz::seeds {
namespace {

namespace ops = dut_config_ops;
using ops::Call;

/// kSizes index of an access size.
std::uint8_t sz(std::uint32_t size) {
  for (std::uint8_t i = 0; i < ops::kSizes.size(); ++i) {
    if (ops::kSizes[i] == size) return i;
  }
  throw std::logic_error("no such access size");
}

ops::CallOp config(Call c, std::uint16_t offset, std::uint32_t size, std::uint64_t value = 0, bool other = false,
                   bool flag = false) {
  return {.call = c, .size = static_cast<std::uint8_t>(sz(size) | (other ? 8 : 0)), .offset = offset, .addr = 0,
          .value = value, .flag = flag};
}

ops::CallOp mmio(Call c, std::uint8_t addr, std::uint32_t size, std::uint64_t value = 0, bool flag = false) {
  return {.call = c, .size = sz(size), .offset = 0, .addr = addr, .value = value, .flag = flag};
}

ops::CallOp other(Call c, std::uint8_t size, bool flag = false, std::uint64_t value = 0, std::uint8_t addr = 0) {
  return {.call = c, .size = size, .offset = 0, .addr = addr, .value = value, .flag = flag};
}

/// BAR0/1/2 at the addresses kAddrs names, memory decoding and bus mastering on.
std::vector<ops::CallOp> bring_up() {
  return {config(Call::ConfigWrite, 0x10, 4, ops::kBar0), config(Call::ConfigWrite, 0x14, 4, 0xE0010000),
          config(Call::ConfigWrite, 0x18, 4, 0xE0020000), config(Call::ConfigWrite, 0x04, 2, 0x6)};
}

/// Direct ABI calls at the documented edges.
std::vector<ops::CallOp> abi_edges() {
  auto v = bring_up();
  const std::vector<ops::CallOp> more = {
      config(Call::ConfigRead, 0, 4), config(Call::ConfigRead, 0x10, 4), config(Call::ConfigRead, 0, 0),
      config(Call::ConfigRead, 1, 3), config(Call::ConfigRead, 2, 4), config(Call::ConfigRead, 4094, 2),
      config(Call::ConfigRead, 4096, 4), config(Call::ConfigRead, 0, 16), config(Call::ConfigRead, 0, 4, 0, true),
      config(Call::ConfigRead, 0, 4, 0, false, true), config(Call::ConfigWrite, 0x3C, 1, 0xFF),
      config(Call::ConfigWrite, 0, 8), config(Call::ConfigWrite, 0x40, 4, 1, true),
      mmio(Call::MmioRead, 0, 4), mmio(Call::MmioRead, 1, 4), mmio(Call::MmioRead, 2, 4), mmio(Call::MmioRead, 3, 8),
      mmio(Call::MmioRead, 4, 2), mmio(Call::MmioRead, 7, 4), mmio(Call::MmioRead, 8, 8), mmio(Call::MmioRead, 8, 1),
      mmio(Call::MmioRead, 0, 3), mmio(Call::MmioRead, 0, 4, 0, true), mmio(Call::MmioWrite, 0, 1, 1),
      mmio(Call::MmioWrite, 0, 4, 7), mmio(Call::MmioWrite, 1, 4, 1), mmio(Call::MmioWrite, 0, 16),
      mmio(Call::MmioWrite, 8, 8, 0), other(Call::Time, 0, false, 1'000'000),
      other(Call::Stimulus, 0), other(Call::Stimulus, 1), other(Call::Stimulus, 2), other(Call::Stimulus, 3),
      other(Call::Stimulus, 4), other(Call::Stimulus, 5), other(Call::Stimulus, 6), other(Call::Stimulus, 0, true),
      other(Call::Violations, 4), other(Call::Violations, 3), other(Call::Violations, 5), other(Call::Violations, 1),
      other(Call::Violations, 2), other(Call::Violations, 0), other(Call::Violations, 5),
  };
  v.insert(v.end(), more.begin(), more.end());
  return v;
}

/// The same edges through the host's LibPort.
std::vector<ops::CallOp> port_edges() {
  auto v = bring_up();
  const std::vector<ops::CallOp> more = {
      config(Call::PortConfig, 0, 4), config(Call::PortConfig, 2, 4), config(Call::PortConfig, 0x11, 2, 0x1234, false, true),
      config(Call::PortConfig, 0, 3), config(Call::PortConfig, 4095, 4), config(Call::PortConfig, 0, 4, 0, true),
      config(Call::PortConfig, 0x3D, 1, 0, true, true),
      mmio(Call::PortMmio, 6, 4), mmio(Call::PortMmio, 6, 8), mmio(Call::PortMmio, 5, 8), mmio(Call::PortMmio, 0, 3),
      mmio(Call::PortMmio, 0, 1, 1, true), mmio(Call::PortMmio, 5, 4, 0x55, true), mmio(Call::PortMmio, 6, 2, 0x6, true),
      mmio(Call::PortMmio, 8, 8), mmio(Call::PortMmio, 0, 16, 0, true),
      other(Call::PortBulk, 40, false, 0, 0), other(Call::PortBulk, 32, true, 0x0102030405060708, 5),
      other(Call::PortBulk, 16, false, 0, 7), other(Call::PortBulk, 16, true, 1, 8), other(Call::PortBulk, 12, false, 0, 6),
      other(Call::PortBulk, 12, true, 0xFFFF, 6), other(Call::PortBulk, 9, true, 3, 1),
      other(Call::PortRules, 2), other(Call::PortRules, 0), other(Call::PortRules, 1), other(Call::PortRules, 0, true),
      other(Call::PortRules, 3, true), other(Call::PortRules, 4, true), other(Call::PortRules, 6, true),
      mmio(Call::MmioWrite, 0, 2, 1), other(Call::PortRules, 0),
  };
  v.insert(v.end(), more.begin(), more.end());
  return v;
}

/// Strings the project uses (see the file comment), accepted and refused.
std::vector<std::pair<std::string, std::string>> strings() {
  return {
      {"empty", ""},
      {"ref-toml",
       "num-fifos=2 addr=04.0 profile=pr28 device=virtio-rng-device,fifo=0,dev=1 "
       "device=virtio-blk-device,fifo=0,dev=2,capacity=1M device=virtio-balloon-device,fifo=1,dev=1"},
      {"ref-toml-faults",
       "num-fifos=2 addr=04.0 profile=pr28 device=virtio-rng-device,fifo=0,dev=1 "
       "device=virtio-blk-device,fifo=0,dev=2,capacity=1M device=virtio-balloon-device,fifo=1,dev=1 "
       "fault=lose-on-full-ring,duplicate-response"},
      {"every-key",
       "num-fifos=2  addr=05.1 device=virtio-rng-device,fifo=0,dev=1,seed=0x10 "
       "device=virtio-blk-device,fifo=1,dev=31,capacity=1M fault=lose-on-full-ring fault=duplicate-response"},
      {"four-fifos",
       "num-fifos=4 device=virtio-balloon-device,fifo=3,dev=7 device=virtio-blk-device,fifo=0,dev=2,read_only=on "
       "fault=no-size-check,max-message-48"},
      {"rng-balloon", "num-fifos=2 device=virtio-rng-device,fifo=0,dev=1 device=virtio-balloon-device,fifo=1,dev=1"},
      {"rng-faults", "device=virtio-rng-device,fifo=0,dev=1 fault=stale-slot-bytes,echo-reserved-type-bits,notify-any-width"},
      {"rng-seed", "device=virtio-rng-device,fifo=0,dev=1,seed=99"},
      {"max48", "fault=max-message-48 device=virtio-rng-device,fifo=0,dev=1"},
      {"addr6", "addr=06.0 device=virtio-rng-device,fifo=0,dev=3"},
      {"tabs", "num-fifos=1\tdevice=virtio-rng-device,fifo=0,dev=1\n"},
      {"lines", "num-fifos=1\n device=virtio-rng-device,fifo=0,dev=1\r\n addr=0x4.0x0"},
      {"eight-fifos", "num-fifos=8 device=virtio-blk-device,fifo=7,dev=31,capacity=4K,blk_size=4096,serial=abc"},
      // The second draft, under both configuration profiles.
      {"rev1", "num-fifos=2 profile=rev1-2026 device=virtio-rng-device,fifo=0,dev=1 "
               "device=virtio-blk-device,fifo=1,dev=0,capacity=4K"},
      {"rev1-strict", "profile=rev1-2026 strict-config-generation=on device=virtio-balloon-device,fifo=0,dev=1 "
                      "fault=rev1-stale-generation-rejected"},
      {"rev1-strict-off", "strict-config-generation=off profile=rev1-2026 device=virtio-rng-device,fifo=0,dev=2"},
      {"pr28-strict", "profile=pr28 strict-config-generation=on device=virtio-rng-device,fifo=0,dev=1"},
      // Accepted by the grammar, refused when building.
      {"three-fifos", "num-fifos=3"},
      {"pr99", "profile=pr99"},
      {"gpu", "device=virtio-gpu-device,fifo=0,dev=1"},
      {"lots", "device=virtio-blk-device,fifo=0,dev=1,capacity=lots"},
      {"fifo-1", "device=virtio-rng-device,fifo=1,dev=1"},
      {"odd-prop", "device=virtio-rng-device,fifo=0,dev=1,colour=blue"},
      {"blk-odd", "device=virtio-blk-device,fifo=0,dev=1,capacity=3,blk_size=4096"},
      // Refused by the grammar.
      {"bad-addr-dev", "addr=20.0"}, {"bad-addr-fn", "addr=04.8"}, {"no-value", "num-fifos"}, {"nan", "num-fifos=x"},
      {"no-key", "=3"}, {"no-dev", "device=virtio-rng-device,fifo=0"}, {"no-fifo", "device=virtio-rng-device,dev=1"},
      {"dev32", "device=virtio-rng-device,fifo=0,dev=32"}, {"no-kind", "device=,fifo=0,dev=1"},
      {"slot-twice", "device=virtio-rng-device,fifo=0,dev=1 device=virtio-blk-device,fifo=0,dev=1"},
      {"prop-twice", "device=virtio-rng-device,fifo=0,dev=1,seed=1,seed=2"}, {"bad-fault", "fault=no-such-fault"},
      {"no-profile", "profile="}, {"strict-maybe", "profile=rev1-2026 strict-config-generation=maybe"},
      {"strict-empty", "strict-config-generation="}, {"rev1-upper", "profile=REV1-2026"}, {"colour", "num-fifos=1 colour=blue"}, {"inner-tab", "num-fifos=1\taddr=04.0x"},
      {"big", "num-fifos=1001"}, {"hex-big", "num-fifos=0xFFFFFFFFFFFFFFFFF"},
  };
}

/// Structured configs: the ref.toml topology and a few of the domain's corners.
std::vector<ops::Built> structures() {
  ops::Built ref;
  ref.num_fifos = 2;
  ref.devices = {{0, 0, 1, {}}, {1, 0, 2, {{1, 7}}}, {2, 1, 1, {}}};
  ops::Built corners;
  corners.num_fifos = 1000;
  corners.device = 31;
  corners.function = 7;
  corners.profile = 3;
  corners.faults = 0x800C3;  // a few: all of them would not fit kMaxText
  corners.devices = {{4, 9, 31, {{7, 9}, {5, 5}, {0, 2}}}, {3, 9, 31, {}}, {1, 0, 0, {{1, 3}, {2, 4}}}};
  ops::Built plain;
  plain.devices = {{0, 0, 1, {{0, 2}}}};
  ops::Built rev1 = ref;
  rev1.profile = 4;  // rev1-2026
  rev1.strict = true;
  return {ref, corners, plain, rev1};
}

std::vector<std::uint8_t> serialise(ops::Input in) {
  FdpWriter w;
  ops::io_input(w, in);
  const auto bytes = w.finish();
  FuzzedDataProvider fdp(bytes.data(), bytes.size());
  FdpReader r(fdp);
  ops::Input back;
  ops::io_input(r, back);
  FdpWriter again;
  ops::io_input(again, back);
  if (again.finish() != bytes) throw std::logic_error("dut_config input does not read back as written");
  return bytes;
}

}  // namespace

std::vector<Seed> dut_config_seeds() {
  DutConfigChecker checker(VMSG_FUZZ_REF_DUT);
  std::vector<Seed> out;
  const auto structs = structures();
  const auto add = [&](std::string name, const std::string& text, const ops::Built& built, bool open,
                       std::vector<ops::CallOp> calls) {
    ops::Input in;
    in.text.assign(text.begin(), text.end());
    in.open = open;
    in.built = built;
    in.calls = std::move(calls);
    if (in.calls.size() > ops::kMaxCalls) throw std::logic_error("seed " + name + ": too many calls");
    auto bytes = serialise(in);
    checker.run(in);
    out.push_back({std::move(name), std::move(bytes)});
  };
  std::size_t i = 0;
  for (const auto& [name, text] : strings()) {
    const ops::Built& b = structs[i % structs.size()];
    add("text-" + name, text, b, true, i % 2 == 0 ? abi_edges() : port_edges());
    ++i;
  }
  // Formatted DutConfigs as text, then both call lists on the ref topology.
  for (std::size_t k = 0; k < structs.size(); ++k) {
    const std::string text = dut::format_config(DutConfigChecker::build(structs[k]));
    add("format-" + std::to_string(k), text, structs[k], k == 0, abi_edges());
  }
  const std::string ref_text = dut::format_config(DutConfigChecker::build(structs[0]));
  add("ref-abi", ref_text, structs[0], true, abi_edges());
  add("ref-port", ref_text, structs[0], true, port_edges());
  add("parse-only", "num-fifos=2 device=virtio-rng-device,fifo=0,dev=1", structs[2], false, {});
  return out;
}

}  // namespace vmsg::fuzz::seeds

// fuzz_qtest_args: vmsg-ref-qtest's command line (reference/src/qtest/ref_args.cpp).
// A separate target from fuzz_qtest: its input is an argument vector (one
// argument per line of the input), it needs no machine or socket, and its
// dictionary is QEMU option and property names, not qtest commands.
//
// Oracles:
//  - parse_ref_args either returns a RefArgs or throws ConfigError with a
//    message; nothing else escapes;
//  - a parsed RefArgs written back as arguments (harness/qtest_args.hpp:
//    explicit bus= paths, -m in KiB, every amp property) parses again to the
//    same RefArgs, and writing that one back gives the same arguments;
//  - "-device help" lists every device the factory can build;
//  - make_spec gives one slot per device at the parsed FIFO and number, with
//    the parsed RAM size, address and FIFO count, or a ConfigError (skipped
//    for blk devices with a capacity: the disk is allocated up front, up to
//    1 GiB by design).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "harness/qtest_args.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/qtest/ref_args.hpp"

namespace {

using namespace vmsg;

constexpr std::size_t kMaxArgs = 64;

std::vector<std::string> split_args(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args;
  std::string cur;
  for (std::size_t i = 0; i < size && args.size() < kMaxArgs; ++i) {
    if (data[i] == '\n') {
      args.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(data[i]));
    }
  }
  if (!cur.empty() && args.size() < kMaxArgs) args.push_back(std::move(cur));
  return args;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& a : v) s += "[" + a + "]";
  return s;
}

bool parses(const std::vector<std::string>& args, qtest::RefArgs& out, std::string& error) {
  try {
    out = qtest::parse_ref_args(args);
    return true;
  } catch (const ConfigError& e) {
    error = e.what();
    VMSG_FUZZ_CHECK(!error.empty(), "ConfigError without a message");
    return false;
  } catch (const std::exception& e) {
    VMSG_FUZZ_CHECK(false, std::string("parse_ref_args threw something other than ConfigError: ") + e.what());
  }
  return false;
}

void check_spec(const qtest::RefArgs& a) {
  for (const qtest::RefDevice& d : a.devices) {
    if (d.kind == "virtio-blk-device" && d.props.count("capacity") != 0) return;
  }
  target::ReferenceSpec s;
  try {
    s = qtest::make_spec(a);
  } catch (const ConfigError&) {
    return;  // unusable backend properties: documented
  }
  VMSG_FUZZ_CHECK(s.ram_size == a.ram_bytes && s.address == a.amp_address && s.amp.num_fifos == a.num_fifos,
                  "spec does not carry the parsed machine options");
  VMSG_FUZZ_CHECK(s.devices.size() == a.devices.size(), "spec has a different number of devices");
  for (std::size_t i = 0; i < s.devices.size(); ++i) {
    VMSG_FUZZ_CHECK(s.devices[i].fifo == a.devices[i].fifo && s.devices[i].dev_num == a.devices[i].dev_num &&
                        s.devices[i].endpoint != nullptr,
                    "spec slot " + std::to_string(i) + " differs from the parsed device");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string> args = split_args(data, size);
  qtest::RefArgs a;
  std::string error;
  if (!parses(args, a, error)) return 0;

  const std::vector<std::string> again = fuzz::format_ref_args(a);
  qtest::RefArgs b;
  VMSG_FUZZ_CHECK(parses(again, b, error), "formatted arguments " + joined(again) + " do not parse: " + error);
  const std::string diff = fuzz::ref_args_difference(a, b);
  VMSG_FUZZ_CHECK(diff.empty(), "round trip changes " + diff + ": " + joined(args) + " -> " + joined(again));
  VMSG_FUZZ_CHECK(fuzz::format_ref_args(b) == again, "formatting is not stable: " + joined(again));

  if (a.list_devices) {
    const std::string help = qtest::device_help();
    for (std::string_view k : devices::backend_kinds()) {
      VMSG_FUZZ_CHECK(help.find("\"" + std::string(k) + "\"") != std::string::npos, "device help misses " + std::string(k));
    }
  }
  check_spec(a);
  return 0;
}

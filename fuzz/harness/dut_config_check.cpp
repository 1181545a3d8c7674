#include "harness/dut_config_check.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <exception>
#include <limits>
#include <set>
#include <utility>

#include "common/check.hpp"
#include "harness/dut_abi_probe.hpp"
#include "vmsg/amp/amp_device.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/common/faults.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/dut/lib_port.hpp"
#include "vmsg/machine/q35_platform.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/wire/profile.hpp"

namespace vmsg::fuzz {

namespace {

namespace ops = dut_config_ops;

constexpr std::uint64_t kPortRam = (1ULL << 20) + 0x10000;  ///< just above LibPort's 1 MiB minimum
constexpr std::uint64_t kMaxDisk = 8ULL << 20;              ///< largest RAM disk worth building per input
constexpr std::size_t kErrSize = 512;

/// A capacity the backend would turn into at most kMaxDisk bytes, judged
/// conservatively: plain decimal sectors, or decimal with a K/M/G suffix.
bool small_disk(const std::string& v) {
  std::string_view s = v;
  std::uint64_t unit = 512;
  if (!s.empty() && std::strchr("KkMmGg", s.back()) != nullptr) {
    const char u = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
    unit = u == 'k' ? 1ULL << 10 : u == 'm' ? 1ULL << 20 : 1ULL << 30;
    s.remove_suffix(1);
  }
  if (s.empty() || s.size() > 6) return s.empty();  // "" is refused by the factory before any allocation
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return true;  // not a number: refused before any allocation
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n * unit <= kMaxDisk;
}

/// Runs `f`; ConfigError becomes its message, any other exception an oracle failure.
template <typename F>
std::string config_error_of(const std::string& what, F&& f) {
  try {
    f();
    return "";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    VMSG_FUZZ_CHECK(!m.empty(), what + ": ConfigError without a message");
    return m;
  } catch (const std::exception& e) {
    VMSG_FUZZ_CHECK(false, what + ": not a typed error: " + e.what());
  }
  return "";
}

std::string text_of(const std::vector<std::uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

}  // namespace

std::optional<std::string> build_problem(const dut::DutConfig& c) {
  for (const dut::DutDevice& d : c.devices) {
    if (d.kind != "virtio-blk-device") continue;
    const auto it = d.props.find("capacity");
    if (it != d.props.end() && !small_disk(it->second)) return std::nullopt;
  }
  // What the reference library assembles (ref_dut.cpp), piece by piece:
  // PR28 or REV1-2026 (parse_layout's names), the configuration profile on the
  // buses, and transports built for that bus.
  const std::optional<wire::Layout> layout = wire::parse_layout(c.profile);
  if (!layout) return "profile";
  amp::AmpConfig a;
  a.num_fifos = c.num_fifos;
  a.faults = c.faults;
  a.profile = *layout == wire::Layout::Rev1 ? wire::Profile::rev1() : wire::Profile::pr28();
  a.bus.strict_config_generation = c.strict_config_generation;
  std::string why = config_error_of("amp function", [&] { amp::AmpPciDevice dev(a); });
  if (!why.empty()) return why;
  for (const dut::DutDevice& d : c.devices) {
    if (d.fifo >= c.num_fifos) return "fifo";
    why = config_error_of("device " + d.kind, [&] {
      transport::DeviceTransport t(devices::make_backend(d.kind, d.props),
                                   transport::options_for_bus(a.profile, a.bus, c.faults));
    });
    if (!why.empty()) return why;
  }
  return "";
}

dut::DutConfig DutConfigChecker::build(const ops::Built& b) {
  dut::DutConfig c;
  c.num_fifos = b.num_fifos;
  c.address = {0, b.device, b.function};
  c.profile = std::string(ops::kProfiles[b.profile % ops::kProfiles.size()]);
  c.strict_config_generation = b.strict;
  // Every fault needs a bit of Built::faults, or the fuzzer never turns it on.
  static_assert(fault::kFaultCount <= std::numeric_limits<decltype(ops::Built::faults)>::digits,
                "ops::Built::faults has fewer bits than there are faults: widen it");
  const auto faults = fault::all_faults();
  for (std::size_t i = 0; i < faults.size(); ++i) {
    if (((b.faults >> i) & 1u) != 0) c.faults.set(faults[i].fault);
  }
  std::set<std::pair<unsigned, unsigned>> taken;
  for (const ops::Device& d : b.devices) {
    if (!taken.insert({d.fifo, d.dev}).second) continue;  // the grammar refuses a slot twice
    dut::DutDevice dd;
    dd.kind = std::string(ops::kKinds[d.kind % ops::kKinds.size()]);
    dd.fifo = d.fifo;
    dd.dev_num = d.dev;
    for (const auto& [k, v] : d.props) {
      dd.props[std::string(ops::kPropKeys[k % ops::kPropKeys.size()])] = std::string(ops::kPropValues[v % ops::kPropValues.size()]);
    }
    c.devices.push_back(std::move(dd));
  }
  return c;
}

DutConfigChecker::DutConfigChecker(const std::string& library_path) : lib_(dut::Library::open(library_path)) {
  for (const machine::PlatformFunction& p : machine::q35_platform()) chipset_.push_back(p.address);
  check_once();
}

// ---- (a), (b) ---------------------------------------------------------------------------

std::optional<dut::DutConfig> DutConfigChecker::check_text(std::string_view text, std::string& error) {
  std::optional<dut::DutConfig> c;
  error = config_error_of("parse_config", [&] { c = dut::parse_config(text); });
  if (!c) return std::nullopt;  // a typed error with a message (config_error_of)
  std::string canonical;
  const std::string fmt_error = config_error_of("format_config", [&] { canonical = dut::format_config(*c); });
  VMSG_FUZZ_CHECK(fmt_error.empty(), "a parsed config cannot be written back: " + fmt_error);
  std::optional<dut::DutConfig> again;
  const std::string again_error = config_error_of("parse_config", [&] { again = dut::parse_config(canonical); });
  VMSG_FUZZ_CHECK(again_error.empty(), "format_config wrote '" + canonical + "', which does not parse: " + again_error);
  VMSG_FUZZ_CHECK(*again == *c, "'" + canonical + "' parses to another config than the text it was written from");
  VMSG_FUZZ_CHECK(dut::format_config(*again) == canonical, "format_config is not canonical for '" + canonical + "'");
  return c;
}

std::string DutConfigChecker::check_built(const dut::DutConfig& c) {
  std::string text;
  const std::string fmt_error = config_error_of("format_config", [&] { text = dut::format_config(c); });
  VMSG_FUZZ_CHECK(fmt_error.empty(), "a config inside the grammar's domain cannot be written: " + fmt_error);
  std::optional<dut::DutConfig> back;
  const std::string error = config_error_of("parse_config", [&] { back = dut::parse_config(text); });
  VMSG_FUZZ_CHECK(error.empty(), "format_config wrote '" + text + "', which does not parse: " + error);
  VMSG_FUZZ_CHECK(*back == c, "parse_config(format_config(c)) != c for '" + text + "'");
  return text;
}

// ---- (c), (d) ----------------------------------------------------------------------------

void DutConfigChecker::check_open(const std::string& text, const std::optional<dut::DutConfig>& parsed,
                                  const std::string& error, const ops::Input& in) {
  const vmsg_dut_api& api = lib_->api();
  AbiHost host;
  char err[kErrSize] = {};
  vmsg_dut* h = api.create(text.c_str(), &host.host(), err, sizeof err);
  if (!parsed) {
    VMSG_FUZZ_CHECK(h == nullptr, "the library accepted '" + text + "', which the grammar refuses");
    VMSG_FUZZ_CHECK(std::string(err) == error.substr(0, kErrSize - 1),
                    "create() message '" + std::string(err) + "' is not the parser's '" + error + "'");
    return;
  }
  // What the reference library builds: a text naming no topology gets its
  // default one (dut::parse_reference_config), which the probes then expect.
  const dut::DutConfig built = dut::parse_reference_config(text);
  const std::optional<std::string> problem = build_problem(built);
  if (!problem) {  // too costly to predict: only the contract of create() itself
    VMSG_FUZZ_CHECK(h != nullptr || err[0] != '\0', "create() failed without a message");
    api.destroy(h);
    return;
  }
  if (!problem->empty()) {
    VMSG_FUZZ_CHECK(h == nullptr, "create('" + text + "') succeeded, but in-process building fails: " + *problem);
    VMSG_FUZZ_CHECK(err[0] != '\0', "create('" + text + "') failed without a message");
  } else {
    VMSG_FUZZ_CHECK(h != nullptr, "create('" + text + "') failed: " + std::string(err));
  }
  // The host side: LibPort refuses exactly what create() refused, with its message.
  std::unique_ptr<dut::LibPort> port;
  bool refused = false;
  try {
    port = std::make_unique<dut::LibPort>(lib_, dut::LibPortOptions{.config = text, .ram_size = kPortRam});
  } catch (const PortError& e) {
    refused = true;
    VMSG_FUZZ_CHECK(std::string(e.what()).find(err) != std::string::npos, "LibPort lost the library's message");
  }
  // LibPort's host has q35's chipset and refuses a library function at one of
  // its addresses (the chipset would hide it); create() knows no machine.
  const bool chipset = std::find(chipset_.begin(), chipset_.end(), built.address) != chipset_.end();
  VMSG_FUZZ_CHECK(refused == (h == nullptr || chipset), "LibPort and create() disagree about '" + text + "'");
  if (h == nullptr) return;
  AbiProbe probe(*lib_, h, built);
  for (const ops::CallOp& c : in.calls) {
    probe.call(c);
    if (port) port_call(*port, built, c);
  }
  port.reset();
  api.destroy(h);
}

void DutConfigChecker::run(const ops::Input& in) {
  const std::string text = text_of(in.text);
  std::string error;
  const auto parsed = check_text(text, error);
  const dut::DutConfig built = build(in.built);
  const std::string built_text = check_built(built);
  if (!in.open) return;
  // The C ABI carries a NUL-terminated string: what follows a NUL is not seen.
  const std::string c_text = text.substr(0, text.find('\0'));
  std::string c_error;
  const auto c_parsed = c_text == text ? parsed : check_text(c_text, c_error);
  if (c_text == text) c_error = error;
  check_open(c_text, c_parsed, c_error, in);
  // A refused string still gets the calls: on the structured config instead.
  if (!c_parsed && built_text.find('\0') == std::string::npos) check_open(built_text, built, "", in);
}

// ---- (e) -------------------------------------------------------------------------------

void DutConfigChecker::check_once() {
  const auto refused = [](const std::string& path, const char* needle) {
    try {
      (void)dut::Library::open(path);
      VMSG_FUZZ_CHECK(false, "Library::open accepted " + path);
    } catch (const PortError& e) {
      VMSG_FUZZ_CHECK(std::string(e.what()).find(needle) != std::string::npos,
                      "Library::open(" + path + "): '" + e.what() + "' does not say '" + needle + "'");
    }
  };
  refused("/nonexistent/libvmsg-none.so", "cannot load");
  refused("libc.so.6", "does not export");
  VMSG_FUZZ_CHECK(!lib_->name().empty() && lib_->stimulus_fn() != nullptr && lib_->violations_fn() != nullptr,
                  "the reference library is not a complete ABI 1.1 table");

  const vmsg_dut_api& api = lib_->api();
  AbiHost good;
  char err[64] = {};
  const auto refuses = [&](const vmsg_dut_host* host, const char* what) {
    std::memset(err, 0, sizeof err);
    VMSG_FUZZ_CHECK(api.create("", host, err, sizeof err) == nullptr, std::string("create() accepted ") + what);
    VMSG_FUZZ_CHECK(err[0] != '\0', std::string("create() refused ") + what + " without a message");
  };
  refuses(nullptr, "no host");
  vmsg_dut_host h = good.host();
  h.struct_size = 4;
  refuses(&h, "a truncated host struct");
  h = good.host();
  h.msi_write = nullptr;
  refuses(&h, "a host without msi_write");
  // err may be NULL when err_size is 0, and a 1-byte err holds only the NUL.
  VMSG_FUZZ_CHECK(api.create("bogus=1", &good.host(), nullptr, 0) == nullptr, "create() accepted bogus=1");
  err[0] = 'x';
  VMSG_FUZZ_CHECK(api.create("bogus=1", &good.host(), err, 1) == nullptr && err[0] == '\0',
                  "create() overran a 1-byte message buffer");
  vmsg_dut* d = api.create(nullptr, &good.host(), err, sizeof err);
  VMSG_FUZZ_CHECK(d != nullptr, "create(NULL) is not the default configuration: " + std::string(err));
  api.destroy(d);
  api.destroy(nullptr);

  // A NULL handle is the host breaking the ABI.
  std::uint32_t v32 = 0;
  std::uint64_t v64 = 0;
  char buf[8];
  const int statuses[] = {api.config_read(nullptr, 0, 4, 0, 0, 4, &v32), api.config_write(nullptr, 0, 4, 0, 0, 4, 0),
                          api.mmio_read(nullptr, 0, 4, &v64),           api.mmio_write(nullptr, 0, 4, 0),
                          api.advance_time(nullptr, 1),                 lib_->stimulus_fn()(nullptr, "x"),
                          lib_->violations_fn()(nullptr, buf, sizeof buf)};
  for (int st : statuses) VMSG_FUZZ_CHECK(st == VMSG_DUT_ERR_INVALID, "a NULL handle was not refused");
  VMSG_FUZZ_CHECK(api.last_error(nullptr) != nullptr, "last_error(NULL) returned NULL");

  // The host side refuses a RAM it cannot map and a missing library.
  const auto port_refuses = [&](std::shared_ptr<dut::Library> lib, std::uint64_t ram, bool config_error) {
    try {
      dut::LibPort p(std::move(lib), dut::LibPortOptions{.config = "", .ram_size = ram});
      VMSG_FUZZ_CHECK(false, "LibPort accepted a bad construction");
    } catch (const ConfigError&) {
      VMSG_FUZZ_CHECK(config_error, "LibPort: ConfigError where PortError was due");
    } catch (const PortError&) {
      VMSG_FUZZ_CHECK(!config_error, "LibPort: PortError where ConfigError was due");
    }
  };
  port_refuses(lib_, 4096, true);
  port_refuses(nullptr, kPortRam, false);
  try {
    dut::LibPort p("/nonexistent/libvmsg-none.so");
    VMSG_FUZZ_CHECK(false, "LibPort loaded a missing library");
  } catch (const PortError&) {
  }
}

}  // namespace vmsg::fuzz

#include "vmsg/qtest/ref_args.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include "vmsg/common/errors.hpp"
#include "vmsg/transport/device_transport.hpp"

namespace vmsg::qtest {
namespace {

constexpr std::string_view kAmp = "virtio-msg-amp-pci";
constexpr unsigned kSlots = 32;

[[noreturn]] void bad(const std::string& what) { throw ConfigError("vmsg-ref-qtest: " + what); }

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t at = 0;
  for (;;) {
    const std::size_t n = s.find(sep, at);
    out.emplace_back(s.substr(at, n == std::string_view::npos ? std::string_view::npos : n - at));
    if (n == std::string_view::npos) return out;
    at = n + 1;
  }
}

/// "k=v,k=v" after the leading name; a bare key maps to "on", as QEMU's opts do.
std::vector<std::pair<std::string, std::string>> key_values(std::span<const std::string> items) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (const std::string& it : items) {
    const std::size_t eq = it.find('=');
    if (eq == std::string::npos) {
      kv.emplace_back(it, "on");
    } else {
      kv.emplace_back(it.substr(0, eq), it.substr(eq + 1));
    }
  }
  return kv;
}

std::uint64_t number(const std::string& what, std::string_view v, int base = 10) {
  if (base == 10 && v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    base = 16;
    v.remove_prefix(2);
  }
  std::uint64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out, base);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size()) bad(what + ": '" + std::string(v) + "' is not a number");
  return out;
}

/// -m 256M / -m size=256M / -m 268435456 (MiB when no suffix, as QEMU).
std::uint64_t ram_size(std::string_view v) {
  if (v.rfind("size=", 0) == 0) v.remove_prefix(5);
  std::uint64_t mult = 1ULL << 20;
  if (!v.empty()) {
    switch (v.back()) {
      case 'K': case 'k': mult = 1ULL << 10; v.remove_suffix(1); break;
      case 'M': case 'm': mult = 1ULL << 20; v.remove_suffix(1); break;
      case 'G': case 'g': mult = 1ULL << 30; v.remove_suffix(1); break;
      default: break;
    }
  }
  const std::uint64_t n = number("-m", v);
  if (n == 0 || n > (1ULL << 40) / mult) bad("-m: size out of range");
  return n * mult;
}

/// addr=DD[.F], hexadecimal as in QEMU.
port::PciAddress pci_addr(const std::string& v) {
  const std::size_t dot = v.find('.');
  const std::uint64_t dev = number("addr", std::string_view(v).substr(0, dot), 16);
  const std::uint64_t fn = dot == std::string::npos ? 0 : number("addr", std::string_view(v).substr(dot + 1), 16);
  if (dev > 31 || fn > 7) bad("addr=" + v + ": slot must be 00..1f and function 0..7");
  return {0, static_cast<std::uint8_t>(dev), static_cast<std::uint8_t>(fn)};
}

/// Index from "fifo3" / "bus17" style names, or -1.
long indexed(std::string_view s, std::string_view prefix) {
  if (s.size() <= prefix.size() || s.substr(0, prefix.size()) != prefix) return -1;
  std::string_view d = s.substr(prefix.size());
  unsigned v = 0;
  auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
  if (ec != std::errc{} || p != d.data() + d.size() || v > 1000) return -1;
  return static_cast<long>(v);
}

/// Resolves bus=.../<amp>/fifoK/virtio-msg/busN[/virtio-msg-dev[/bus]] to (K, N).
std::pair<unsigned, std::uint16_t> resolve_bus(const std::string& path, const RefArgs& a) {
  std::vector<std::string> el;
  for (std::string& e : split(path, '/')) {
    if (!e.empty()) el.push_back(std::move(e));
  }
  for (std::size_t i = 0; i < el.size(); ++i) {
    const long fifo = indexed(el[i], "fifo");
    if (fifo < 0) continue;
    const bool amp_named = i > 0 && (el[i - 1] == kAmp || (!a.amp_id.empty() && el[i - 1] == a.amp_id));
    if (i > 0 && !amp_named) bad("bus=" + path + ": '" + el[i - 1] + "' is not the virtio-msg-amp-pci device");
    if (i + 2 >= el.size() || el[i + 1] != "virtio-msg") bad("bus=" + path + ": expected fifoK/virtio-msg/busN");
    const long slot = indexed(el[i + 2], "bus");
    if (slot < 0) bad("bus=" + path + ": expected busN after virtio-msg");
    std::size_t rest = i + 3;
    if (rest < el.size() && el[rest] == "virtio-msg-dev") ++rest;
    if (rest < el.size() && el[rest] == "bus" && el[rest - 1] == "virtio-msg-dev") ++rest;
    if (rest != el.size()) bad("bus=" + path + ": unexpected '" + el[rest] + "'");
    if (static_cast<unsigned long>(fifo) >= a.num_fifos) {
      bad("bus=" + path + ": the amp device has " + std::to_string(a.num_fifos) + " FIFO(s)");
    }
    if (static_cast<unsigned long>(slot) >= kSlots) bad("bus=" + path + ": device numbers are 0..31");
    return {static_cast<unsigned>(fifo), static_cast<std::uint16_t>(slot)};
  }
  bad("bus=" + path + ": no virtio-msg-amp-pci FIFO bus on this path");
}

bool slot_taken(const RefArgs& a, unsigned fifo, std::uint16_t dev) {
  return std::any_of(a.devices.begin(), a.devices.end(),
                     [&](const RefDevice& d) { return d.fifo == fifo && d.dev_num == dev; });
}

void parse_device(const std::string& spec, RefArgs& a, const std::set<std::string>& rng_objects,
                  std::vector<std::string>& bus_roots) {
  const std::vector<std::string> parts = split(spec, ',');
  const std::string& kind = parts[0];
  if (kind == "help") {
    a.list_devices = true;
    return;
  }
  const auto kv = key_values(std::span<const std::string>(parts).subspan(1));
  if (kind == kAmp) {
    if (a.has_amp) bad("only one virtio-msg-amp-pci device is supported");
    a.has_amp = true;
    for (const auto& [k, v] : kv) {
      if (k == "num-fifos") {
        a.num_fifos = static_cast<unsigned>(std::min<std::uint64_t>(number("num-fifos", v), 1000));
      } else if (k == "addr") {
        a.amp_address = pci_addr(v);
      } else if (k == "id") {
        a.amp_id = v;
      } else if (k == "profile") {
        const std::optional<wire::Layout> layout = wire::parse_layout(v);
        if (!layout) bad("virtio-msg-amp-pci: profile=" + v + " unknown (pr28, rev1-2026)");
        a.profile = *layout == wire::Layout::Rev1 ? wire::Profile::rev1() : wire::Profile::pr28();
      } else if (k == "strict-config-generation") {
        if (v != "on" && v != "off") bad("virtio-msg-amp-pci: strict-config-generation=" + v + " is neither on nor off");
        a.strict_config_generation = v == "on";
      } else {
        bad("virtio-msg-amp-pci: property '" + k +
            "' not supported (num-fifos, addr, id, profile, strict-config-generation)");
      }
    }
    return;
  }
  const std::vector<std::string_view> kinds = devices::backend_kinds();
  if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) bad("-device " + kind + ": device not supported");
  if (!a.has_amp) bad("-device " + kind + ": no virtio-msg-amp-pci device declared before it");
  RefDevice d;
  d.kind = kind;
  std::optional<std::pair<unsigned, std::uint16_t>> where;
  for (const auto& [k, v] : kv) {
    if (k == "bus") {
      where = resolve_bus(v, a);
      if (!v.empty() && v.front() == '/') bus_roots.push_back(split(v.substr(1), '/')[0]);
    } else if (k == "id") {
      // ids only name things on the command line; nothing refers to a virtio device's id here.
    } else if (k == "drive" && kind == "virtio-blk-device") {
      // The block node's name, which QMP's block_resize refers to.
      d.drive = v;
    } else if (k == "rng") {
      if (kind != "virtio-rng-device") bad(kind + ": no property 'rng'");
      if (rng_objects.count(v) == 0) bad(kind + ": rng=" + v + " names no -object rng-builtin/rng-random");
    } else {
      d.props[k] = v;
    }
  }
  if (!where) {
    // Without bus=, QEMU takes the first free slot in child order, which is bus31 downwards.
    for (unsigned n = kSlots; n-- > 0;) {
      if (!slot_taken(a, 0, static_cast<std::uint16_t>(n))) {
        where = std::pair<unsigned, std::uint16_t>{0U, static_cast<std::uint16_t>(n)};
        break;
      }
    }
    if (!where) bad("-device " + kind + ": no free virtio-msg slot on fifo0");
  }
  d.fifo = where->first;
  d.dev_num = where->second;
  if (slot_taken(a, d.fifo, d.dev_num)) {
    bad("-device " + kind + ": fifo" + std::to_string(d.fifo) + "/bus" + std::to_string(d.dev_num) + " is taken");
  }
  a.devices.push_back(std::move(d));
}

}  // namespace

RefArgs parse_ref_args(std::span<const std::string> args) {
  RefArgs a;
  std::set<std::string> rng_objects;
  std::vector<std::string> bus_roots;  // first element of each absolute bus= path
  std::size_t i = 0;
  auto value = [&](const std::string& opt) -> const std::string& {
    if (i + 1 >= args.size()) bad(opt + " needs an argument");
    return args[++i];
  };
  for (; i < args.size(); ++i) {
    std::string opt = args[i];
    if (opt.rfind("--", 0) == 0 && opt != "--fault") opt.erase(0, 1);  // QEMU accepts --opt too
    if (opt == "-qtest") {
      const std::string& v = value(opt);
      if (v.rfind("unix:", 0) != 0) bad("-qtest " + v + ": only unix:PATH is supported");
      a.qtest_socket = split(v.substr(5), ',')[0];
      if (a.qtest_socket.empty()) bad("-qtest: empty socket path");
    } else if (opt == "-qmp") {
      const std::string& v = value(opt);
      const std::vector<std::string> parts = split(v.rfind("unix:", 0) == 0 ? v.substr(5) : std::string(), ',');
      if (parts.empty() || parts[0].empty()) bad("-qmp: only unix:PATH,server=on,wait=off is supported");
      for (std::size_t k = 1; k < parts.size(); ++k) {
        if (parts[k] != "server=on" && parts[k] != "wait=off" && parts[k] != "server" && parts[k] != "nowait") {
          bad("-qmp: option '" + parts[k] + "' not supported (server=on,wait=off)");
        }
      }
      a.qmp_socket = parts[0];
    } else if (opt == "-M" || opt == "-machine") {
      const std::vector<std::string> parts = split(value(opt), ',');
      for (const std::string& p : parts) {
        if (p.rfind("accel=", 0) == 0 || p.empty()) continue;
        const std::string type = p.rfind("type=", 0) == 0 ? p.substr(5) : p;
        if (type == "help") {
          a.list_machines = true;
          continue;
        }
        if (type.find('=') != std::string::npos) bad("-machine: property '" + type + "' not supported");
        const auto m = machine::machine_type_named(type);
        if (!m) bad("-M " + type + ": unsupported machine (q35 or virt; -M help lists them)");
        a.machine = *m;
      }
    } else if (opt == "-cpu") {
      (void)value(opt);  // no CPU runs under qtest; QEMU's arm virt takes one on its command line
    } else if (opt == "-accel") {
      if (value(opt) == "help") a.list_accels = true;
    } else if (opt == "-display" || opt == "-qtest-log") {
      (void)value(opt);
    } else if (opt == "-S" || opt == "-nodefaults" || opt == "-nographic" || opt == "-no-shutdown" ||
               opt == "-no-reboot") {
      continue;
    } else if (opt == "-m") {
      a.ram_bytes = ram_size(value(opt));
    } else if (opt == "-object") {
      const std::vector<std::string> parts = split(value(opt), ',');
      if (parts[0] != "rng-builtin" && parts[0] != "rng-random") bad("-object " + parts[0] + ": not supported");
      bool named = false;
      for (const auto& [k, v] : key_values(std::span<const std::string>(parts).subspan(1))) {
        if (k == "id") {
          rng_objects.insert(v);
          named = true;
        }
      }
      if (!named) bad("-object " + parts[0] + ": needs id=");
    } else if (opt == "-device") {
      parse_device(value(opt), a, rng_objects, bus_roots);
    } else if (opt == "--fault") {
      a.faults.merge(fault::FaultSet::parse_list(value(opt)));
    } else {
      bad("option '" + args[i] + "' is not supported");
    }
  }
  if (a.qtest_socket.empty() && !a.list_devices && !a.list_accels && !a.list_machines) {
    bad("-qtest unix:PATH is required");
  }
  // -M may follow the -device options, so the roots are checked once it is known.
  // Only another machine's host bridge is refused: other roots stay accepted,
  // as they always were (QEMU itself would want the host bridge there).
  const std::string_view host = machine::host_bridge_name(a.machine);
  for (const std::string& root : bus_roots) {
    const bool other_bridge = root == machine::host_bridge_name(machine::MachineType::Q35) ||
                              root == machine::host_bridge_name(machine::MachineType::ArmVirt);
    if (other_bridge && root != host) {
      bad("bus=/" + root + "/...: no such bus on the " + std::string(machine::to_string(a.machine)) +
          " machine (its root is /" + std::string(host) + "/pcie.0)");
    }
  }
  if (a.has_amp && a.num_fifos != 1 && a.num_fifos != 2 && a.num_fifos != 4 && a.num_fifos != 8) {
    // QEMU aborts for 3/5/6/7 and refuses > 8; the reference refuses all of them cleanly.
    bad("virtio-msg-amp-pci: unsupported number of FIFOs (" + std::to_string(a.num_fifos) + ")");
  }
  return a;
}

target::ReferenceSpec make_spec(const RefArgs& a) {
  target::ReferenceSpec s;
  s.ram_size = a.ram_bytes;
  s.machine = a.machine;
  s.address = a.amp_address;
  s.amp.num_fifos = a.num_fifos;
  s.amp.faults = a.faults;
  s.amp.profile = a.profile;
  s.amp.bus.strict_config_generation = a.strict_config_generation;
  for (const RefDevice& d : a.devices) {
    const transport::TransportOptions o = transport::options_for_bus(s.amp.profile, s.amp.bus, a.faults);
    auto ep = std::make_shared<transport::DeviceTransport>(devices::make_backend(d.kind, d.props), o);
    s.devices.push_back({d.fifo, d.dev_num, std::move(ep)});
  }
  return s;
}

std::string machine_help() {
  // QEMU's layout: name padded to 20, description, "(default)" on the default.
  return "Supported machines are:\n"
         "q35                  Standard PC (Q35 + ICH9, 2009) (default)\n"
         "virt                 QEMU ARM Virtual Machine\n";
}

std::string device_help() {
  std::string s = "name \"" + std::string(kAmp) + "\", bus PCI\n";
  for (std::string_view k : devices::backend_kinds()) s += "name \"" + std::string(k) + "\", bus virtio-bus\n";
  return s;
}

}  // namespace vmsg::qtest

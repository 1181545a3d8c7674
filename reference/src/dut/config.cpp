#include "vmsg/dut/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "vmsg/common/errors.hpp"

namespace vmsg::dut {
namespace {

constexpr unsigned kDeviceNumbers = 32;

[[noreturn]] void bad(const std::string& what) { throw ConfigError("dut config: " + what); }

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  for (;;) {
    const std::size_t n = s.find(sep, at);
    out.push_back(s.substr(at, n == std::string_view::npos ? std::string_view::npos : n - at));
    if (n == std::string_view::npos) return out;
    at = n + 1;
  }
}

/// Decimal or 0x-prefixed hexadecimal (or plain hex when base is 16), at most `max`.
std::uint64_t number(std::string_view key, std::string_view v, std::uint64_t max, int base = 10) {
  const std::string_view original = v;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    base = 16;
    v.remove_prefix(2);
  }
  std::uint64_t out = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out, base);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size()) {
    bad(std::string(key) + "='" + std::string(original) + "' is not a number");
  }
  if (out > max) bad(std::string(key) + "=" + std::string(original) + " is above " + std::to_string(max));
  return out;
}

/// on/off, as QEMU's boolean properties.
bool on_off(std::string_view key, std::string_view v) {
  if (v == "on") return true;
  if (v == "off") return false;
  bad(std::string(key) + "='" + std::string(v) + "' is neither on nor off");
}

std::pair<std::string_view, std::string_view> key_value(std::string_view token) {
  const std::size_t eq = token.find('=');
  if (eq == std::string_view::npos || eq == 0) bad("'" + std::string(token) + "' is not KEY=VALUE");
  return {token.substr(0, eq), token.substr(eq + 1)};
}

/// DD.F in hex, as QEMU's addr= property.
port::PciAddress pci_address(std::string_view v) {
  const std::size_t dot = v.find('.');
  const auto dev = number("addr", v.substr(0, dot), 31, 16);
  const auto fn = dot == std::string_view::npos ? 0 : number("addr", v.substr(dot + 1), 7, 16);
  return {0, static_cast<std::uint8_t>(dev), static_cast<std::uint8_t>(fn)};
}

DutDevice device(std::string_view v) {
  const std::vector<std::string_view> parts = split(v, ',');
  DutDevice d;
  d.kind = std::string(parts[0]);
  if (d.kind.empty() || d.kind.find('=') != std::string::npos) bad("device=" + std::string(v) + ": starts with no kind");
  bool has_fifo = false;
  bool has_dev = false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto [k, val] = key_value(parts[i]);
    if (k == "fifo") {
      d.fifo = static_cast<unsigned>(number("fifo", val, 255));
      has_fifo = true;
    } else if (k == "dev") {
      d.dev_num = static_cast<std::uint16_t>(number("dev", val, kDeviceNumbers - 1));
      has_dev = true;
    } else if (!d.props.emplace(std::string(k), std::string(val)).second) {
      bad("device=" + std::string(v) + ": property '" + std::string(k) + "' given twice");
    }
  }
  if (!has_fifo || !has_dev) bad("device=" + std::string(v) + ": needs fifo= and dev=");
  return d;
}

/// parse_config, also telling whether `text` named the topology.
DutConfig parse(std::string_view text, bool& names_topology) {
  names_topology = false;
  DutConfig c;
  for (std::string_view token : split(text, ' ')) {
    // Tabs and newlines separate tokens too, so multi-line strings from files work.
    while (!token.empty() && (token.back() == '\t' || token.back() == '\n' || token.back() == '\r')) {
      token.remove_suffix(1);
    }
    while (!token.empty() && (token.front() == '\t' || token.front() == '\n' || token.front() == '\r')) {
      token.remove_prefix(1);
    }
    if (token.empty()) continue;
    if (token.find_first_of("\t\n\r") != std::string_view::npos) bad("'" + std::string(token) + "': tokens are separated by spaces");
    const auto [k, v] = key_value(token);
    if (k == "num-fifos" || k == "device") names_topology = true;
    if (k == "num-fifos") {
      c.num_fifos = static_cast<unsigned>(number(k, v, 1000));
    } else if (k == "addr") {
      c.address = pci_address(v);
    } else if (k == "profile") {
      if (v.empty()) bad("profile= needs a name");
      c.profile = std::string(v);
    } else if (k == "strict-config-generation") {
      c.strict_config_generation = on_off(k, v);
    } else if (k == "fault") {
      c.faults.merge(fault::FaultSet::parse_list(v));
    } else if (k == "device") {
      DutDevice d = device(v);
      const bool taken = std::any_of(c.devices.begin(), c.devices.end(), [&](const DutDevice& o) {
        return o.fifo == d.fifo && o.dev_num == d.dev_num;
      });
      if (taken) bad("fifo " + std::to_string(d.fifo) + " dev " + std::to_string(d.dev_num) + " is given twice");
      c.devices.push_back(std::move(d));
    } else {
      bad("unknown key '" + std::string(k) + "' (num-fifos, addr, profile, strict-config-generation, fault, device)");
    }
  }
  return c;
}

}  // namespace

DutConfig parse_config(std::string_view text) {
  bool named = false;
  return parse(text, named);
}

DutConfig parse_reference_config(std::string_view text) {
  bool named = false;
  DutConfig c = parse(text, named);
  if (!named) {
    DutConfig d = parse_config(kReferenceDefaultTopology);
    c.num_fifos = d.num_fifos;
    c.devices = std::move(d.devices);
  }
  return c;
}

std::string format_config(const DutConfig& config) {
  const auto plain = [](const std::string& s) { return s.find_first_of(" ,=\t\n\r") == std::string::npos; };
  char addr[8];
  std::snprintf(addr, sizeof addr, "%02x.%x", unsigned{config.address.device} & 0x1Fu,
                unsigned{config.address.function} & 0x7u);
  std::string s = "num-fifos=" + std::to_string(config.num_fifos) + " addr=" + addr + " profile=" + config.profile;
  if (config.strict_config_generation) s += " strict-config-generation=on";
  if (!config.faults.empty()) s += " fault=" + config.faults.to_string();
  for (const DutDevice& d : config.devices) {
    if (!plain(d.kind)) bad("device kind '" + d.kind + "' cannot be written");
    s += " device=" + d.kind + ",fifo=" + std::to_string(d.fifo) + ",dev=" + std::to_string(d.dev_num);
    for (const auto& [k, v] : d.props) {
      if (!plain(k) || v.find_first_of(" ,\t\n\r") != std::string::npos) {
        bad("device property '" + k + "=" + v + "' cannot be written (spaces and commas)");
      }
      s += "," + k + "=" + v;
    }
  }
  // The promise is a round trip, so check it rather than restate every rule
  // of the parser here: a value it refuses, clamps or reads differently (bus
  // other than 0, dev_num above 31, a slot used twice, a property named like
  // a key...) makes the configuration unwritable.
  DutConfig back;
  try {
    back = parse_config(s);
  } catch (const ConfigError& e) {
    bad("configuration cannot be written: " + std::string(e.what()));
  }
  if (!(back == config)) bad("configuration cannot be written: '" + s + "' reads back differently");
  return s;
}

}  // namespace vmsg::dut

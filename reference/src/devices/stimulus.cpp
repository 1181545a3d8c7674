#include "vmsg/devices/stimulus.hpp"

#include <sstream>

#include "vmsg/common/errors.hpp"
#include "vmsg/devices/balloon.hpp"
#include "vmsg/devices/blk.hpp"

namespace vmsg::devices {
namespace {

/// The value of a KEY=VALUE argument as a small decimal number.
unsigned argument(const std::string& token, std::size_t key_len) {
  const std::string value = token.substr(key_len + 1);
  if (value.empty() || value.size() > 5 || value.find_first_not_of("0123456789") != std::string::npos) {
    throw ConfigError("stimulus argument '" + token + "' is not a small decimal number");
  }
  return static_cast<unsigned>(std::stoul(value));
}

}  // namespace

StimulusAction parse_stimulus(std::string_view action) {
  std::istringstream in{std::string(action)};
  StimulusAction a;
  if (!(in >> a.verb)) throw ConfigError("empty stimulus action");
  bool have_dev = false;
  for (std::string t; in >> t;) {
    if (t.rfind("fifo=", 0) == 0) {
      a.fifo = argument(t, 4);
    } else if (t.rfind("dev=", 0) == 0) {
      a.dev_num = argument(t, 3);
      have_dev = true;
    } else {
      throw ConfigError("stimulus " + a.verb + ": unknown argument '" + t + "'");
    }
  }
  if (!have_dev) throw ConfigError("stimulus " + a.verb + ": needs dev=N");
  return a;
}

bool apply_stimulus(const StimulusAction& action, transport::Backend& backend) {
  if (action.verb != "config-change") return false;
  // Any different value will do: the point is the generation bump and EVENT_CONFIG.
  if (auto* balloon = dynamic_cast<BalloonBackend*>(&backend); balloon != nullptr) {
    balloon->set_target(balloon->target() + 256);
    return true;
  }
  if (auto* blk = dynamic_cast<BlkBackend*>(&backend); blk != nullptr) {
    try {
      blk->resize(blk->options().capacity_sectors + blk_growth_sectors(blk->options()));
    } catch (const ConfigError&) {
      return false;  // the RAM disk is at its limit: it cannot grow
    }
    return true;
  }
  return false;
}

}  // namespace vmsg::devices

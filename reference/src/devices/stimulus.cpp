#include "vmsg/devices/stimulus.hpp"

#include <sstream>

#include "vmsg/common/errors.hpp"
#include "vmsg/devices/balloon.hpp"

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
  auto* balloon = dynamic_cast<BalloonBackend*>(&backend);
  if (balloon == nullptr) return false;
  // Any different size will do: the point is the generation bump and EVENT_CONFIG.
  balloon->set_target(balloon->target() + 256);
  return true;
}

}  // namespace vmsg::devices

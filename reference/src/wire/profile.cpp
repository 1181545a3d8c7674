#include "vmsg/wire/profile.hpp"

namespace vmsg::wire {

std::string_view Profile::name() const noexcept {
  switch (layout) {
    case Layout::Pr28:
      return "pr28";
  }
  return "unknown";  // only reachable through a cast of an out-of-range value
}

}  // namespace vmsg::wire

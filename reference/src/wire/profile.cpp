#include "vmsg/wire/profile.hpp"

namespace vmsg::wire {

std::string_view Profile::name() const noexcept {
  switch (layout) {
    case Layout::Pr28:
      return "pr28";
    case Layout::Rev1:
      return "rev1-2026";
  }
  return "unknown";  // only reachable through a cast of an out-of-range value
}

std::optional<Layout> parse_layout(std::string_view name) noexcept {
  if (name == "pr28") return Layout::Pr28;
  if (name == "rev1-2026") return Layout::Rev1;
  return std::nullopt;
}

}  // namespace vmsg::wire

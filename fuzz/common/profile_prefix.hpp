// Which draft a whole-machine input runs in (fuzz_device, fuzz_transport,
// fuzz_diff): PR28 (default) or REV1-2026, with or without REV1's strict
// configuration generation.
//
// The choice is a prefix, not a field of the FuzzedDataProvider stream: an
// input that starts with the bytes 'V' 'R' '1' and one flags byte runs under
// REV1 (flags bit 0: strict-config-generation=on, other bits ignored) and the
// stream is what follows; any other input is a PR28 stream exactly as before.
// So every committed corpus and regression input keeps its meaning (none
// starts with the magic), while the fuzzer reaches REV1 through the seeds and
// the dictionary entry.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "vmsg/wire/profile.hpp"

namespace vmsg::fuzz {

/// The draft one input runs the whole machine in (device, bus, driver, validator).
struct ProfileChoice {
  bool rev1 = false;
  /// REV1 only: the bus advertises VIRTIO_MSG_F_STRICT_CONFIG_GENERATION.
  bool strict_config_generation = false;

  [[nodiscard]] constexpr wire::Profile wire() const noexcept {
    return rev1 ? wire::Profile::rev1() : wire::Profile::pr28();
  }
  [[nodiscard]] constexpr wire::Layout layout() const noexcept { return wire().layout; }
  /// 0 (PR28), 1 (REV1) or 2 (REV1, strict): for pools keyed by profile.
  [[nodiscard]] constexpr unsigned index() const noexcept { return rev1 ? (strict_config_generation ? 2U : 1U) : 0U; }
  friend constexpr bool operator==(const ProfileChoice&, const ProfileChoice&) = default;
};

inline constexpr std::size_t kProfileChoices = 3;  ///< values of ProfileChoice::index()
inline constexpr std::array<std::uint8_t, 3> kRev1Magic{'V', 'R', '1'};
inline constexpr std::size_t kProfilePrefixSize = kRev1Magic.size() + 1;
inline constexpr std::uint8_t kStrictFlag = 0x01;

/// The profile `data` asks for; a REV1 prefix is consumed (data/size moved past it).
[[nodiscard]] inline ProfileChoice take_profile(const std::uint8_t*& data, std::size_t& size) noexcept {
  if (size < kProfilePrefixSize || data[0] != kRev1Magic[0] || data[1] != kRev1Magic[1] || data[2] != kRev1Magic[2]) {
    return {};
  }
  const ProfileChoice c{true, (data[3] & kStrictFlag) != 0};
  data += kProfilePrefixSize;
  size -= kProfilePrefixSize;
  return c;
}

/// The input that runs `stream` under `c` (the seed generator's side of take_profile).
[[nodiscard]] inline std::vector<std::uint8_t> with_profile(const ProfileChoice& c, std::vector<std::uint8_t> stream) {
  if (!c.rev1) {
    // A PR28 stream that happened to start with the magic would read back as REV1.
    if (stream.size() >= kProfilePrefixSize && stream[0] == kRev1Magic[0] && stream[1] == kRev1Magic[1] &&
        stream[2] == kRev1Magic[2]) {
      throw std::logic_error("with_profile: a PR28 stream starts with the REV1 prefix");
    }
    return stream;
  }
  std::vector<std::uint8_t> out(kRev1Magic.begin(), kRev1Magic.end());
  out.push_back(c.strict_config_generation ? kStrictFlag : std::uint8_t{0});
  out.insert(out.end(), stream.begin(), stream.end());
  return out;
}

}  // namespace vmsg::fuzz

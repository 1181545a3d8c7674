// make_backend: QEMU-style device names and properties to backends.
#include "vmsg/devices/factory.hpp"

#include <bit>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vmsg/common/errors.hpp"
#include "vmsg/devices/balloon.hpp"
#include "vmsg/devices/blk.hpp"
#include "vmsg/devices/rng.hpp"
#include "vmsg/devices/unknown_extras.hpp"
#include "vmsg/virtqueue/split_queue.hpp"

namespace vmsg::devices {

namespace {

constexpr std::string_view kRng = "virtio-rng-device";
constexpr std::string_view kBlk = "virtio-blk-device";
constexpr std::string_view kBalloon = "virtio-balloon-device";
// QEMU's name for virtio-blk's queue maximum; the same name for every kind,
// so one target description means the same queues on the reference and QEMU.
constexpr std::string_view kQueueSize = "queue-size";
// The reference's own: virtual ns a device polls its queue after a kick (0 = never).
constexpr std::string_view kPollNs = "poll-ns";
// The reference's own, for every kind: feature bits offered besides the type's,
// and zero bytes past the type's config fields (UnknownExtrasBackend).
constexpr std::string_view kExtraFeatures = "extra-features";
constexpr std::string_view kConfigPad = "config-pad";

/// Parses properties of one device kind; every error names kind and property.
class PropParser {
 public:
  PropParser(std::string_view kind, const DeviceProps& props) : kind_(kind), props_(props) {}

  /// Refuses any property not in `known` (the every-kind extras aside).
  void only(std::initializer_list<std::string_view> known) const {
    for (const auto& [name, value] : props_) {
      bool ok = name == kExtraFeatures || name == kConfigPad;
      for (auto k : known) ok = ok || name == k;
      if (!ok) fail("unknown property '" + name + "'");
    }
  }

  [[nodiscard]] const std::string* find(std::string_view name) const {
    auto it = props_.find(std::string(name));
    return it == props_.end() ? nullptr : &it->second;
  }

  [[nodiscard]] std::optional<std::uint64_t> u64(std::string_view name,
                                                 std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const {
    const std::string* v = find(name);
    if (v == nullptr) return std::nullopt;
    const auto n = parse_number(*v);
    if (!n) bad(name, *v, "expected a decimal or 0x-prefixed number");
    if (*n > max) bad(name, *v, "larger than " + std::to_string(max));
    return n;
  }

  [[nodiscard]] std::optional<bool> boolean(std::string_view name) const {
    const std::string* v = find(name);
    if (v == nullptr) return std::nullopt;
    if (*v == "on" || *v == "true" || *v == "yes" || *v == "1") return true;
    if (*v == "off" || *v == "false" || *v == "no" || *v == "0") return false;
    bad(name, *v, "expected on/off, true/false, yes/no or 1/0");
  }

  /// A disk size: plain = sectors; K/M/G suffix = bytes.
  [[nodiscard]] std::optional<std::uint64_t> capacity(std::string_view name) const {
    const std::string* v = find(name);
    if (v == nullptr) return std::nullopt;
    std::string_view s = *v;
    std::uint64_t unit = 0;
    if (!s.empty()) {
      switch (s.back()) {
        case 'K': case 'k': unit = std::uint64_t{1} << 10; break;
        case 'M': case 'm': unit = std::uint64_t{1} << 20; break;
        case 'G': case 'g': unit = std::uint64_t{1} << 30; break;
        default: break;
      }
    }
    if (unit == 0) {
      const auto n = parse_number(s);
      if (!n) bad(name, *v, "expected sectors or bytes with a K/M/G suffix");
      return n;
    }
    s.remove_suffix(1);
    const auto n = parse_number(s);
    if (!n) bad(name, *v, "expected sectors or bytes with a K/M/G suffix");
    if (*n > std::numeric_limits<std::uint64_t>::max() / unit) bad(name, *v, "too large");
    // K, M and G are all multiples of the sector size, so bytes divide evenly.
    return *n * unit / blk::kSectorSize;
  }

  /// A list of sector numbers separated by ':' (a ',' would end the property
  /// on a QEMU-style command line); absent = empty.
  [[nodiscard]] std::vector<std::uint64_t> sector_list(std::string_view name) const {
    const std::string* v = find(name);
    if (v == nullptr) return {};
    std::vector<std::uint64_t> out;
    std::string_view rest = *v;
    while (true) {
      const std::size_t colon = rest.find(':');
      const auto n = parse_number(rest.substr(0, colon));
      if (!n) bad(name, *v, "expected sector numbers separated by ':'");
      out.push_back(*n);
      if (colon == std::string_view::npos) return out;
      rest.remove_prefix(colon + 1);
    }
  }

  /// A queue maximum: a power of two that a split ring can have.
  [[nodiscard]] std::optional<std::uint32_t> queue_max(std::string_view name) const {
    const auto n = u64(name);
    if (!n) return std::nullopt;
    if (*n == 0 || *n > virtqueue::kMaxQueueSize || !std::has_single_bit(*n)) {
      bad(name, *find(name), "expected a power of two in 1.." + std::to_string(virtqueue::kMaxQueueSize));
    }
    return static_cast<std::uint32_t>(*n);
  }

  [[noreturn]] void bad(std::string_view name, std::string_view value, const std::string& why) const {
    fail("bad value '" + std::string(value) + "' for property '" + std::string(name) + "': " + why);
  }
  [[noreturn]] void fail(const std::string& what) const { throw ConfigError(std::string(kind_) + ": " + what); }

 private:
  /// Decimal or 0x hex, digits only: no sign, no spaces, no trailing text.
  [[nodiscard]] static std::optional<std::uint64_t> parse_number(std::string_view s) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      s.remove_prefix(2);
      base = 16;
    }
    if (s.empty() || s[0] == '+' || s[0] == '-') return std::nullopt;
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n, base);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return n;
  }

  std::string_view kind_;
  const DeviceProps& props_;
};

constexpr std::uint64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

}  // namespace

std::vector<std::string_view> backend_kinds() { return {kRng, kBlk, kBalloon}; }

namespace {

std::unique_ptr<transport::Backend> make_type_backend(std::string_view kind, const PropParser& p) {
  if (kind == kRng) {
    p.only({"seed", kQueueSize, kPollNs});
    return std::make_unique<RngBackend>(p.u64("seed").value_or(RngBackend::kDefaultSeed),
                                        p.queue_max(kQueueSize).value_or(RngBackend::kDefaultMaxQueueSize),
                                        p.u64(kPollNs).value_or(0));
  }
  if (kind == kBlk) {
    p.only({"capacity", "read_only", "blk_size", "seg_max", "serial", kQueueSize, kPollNs, "bad_sectors"});
    BlkOptions o;
    if (auto c = p.capacity("capacity")) {
      if (*c > blk::kMaxCapacitySectors) {
        p.bad("capacity", *p.find("capacity"),
              "more than the RAM disk limit of " + std::to_string(blk::kMaxCapacitySectors) + " sectors");
      }
      o.capacity_sectors = *c;
    }
    o.read_only = p.boolean("read_only").value_or(false);
    if (auto b = p.u64("blk_size", kU32Max)) o.blk_size = static_cast<std::uint32_t>(*b);
    if (auto s = p.u64("seg_max", kU32Max)) o.seg_max = static_cast<std::uint32_t>(*s);
    if (const std::string* s = p.find("serial")) o.serial = *s;
    if (auto q = p.queue_max(kQueueSize)) o.max_queue_size = *q;
    o.poll_ns = p.u64(kPollNs).value_or(0);
    o.bad_sectors = p.sector_list("bad_sectors");
    // The constructor checks the combinations (blk_size vs capacity, serial length).
    return std::make_unique<BlkBackend>(std::move(o));
  }
  if (kind == kBalloon) {
    p.only({"target", kQueueSize});
    return std::make_unique<BalloonBackend>(static_cast<std::uint32_t>(p.u64("target", kU32Max).value_or(0)),
                                            balloon::kMaxTrackedPages,
                                            p.queue_max(kQueueSize).value_or(BalloonBackend::kDefaultMaxQueueSize));
  }
  throw ConfigError("unknown device kind '" + std::string(kind) +
                    "' (expected virtio-rng-device, virtio-blk-device or virtio-balloon-device)");
}

}  // namespace

std::unique_ptr<transport::Backend> make_backend(std::string_view kind, const DeviceProps& props) {
  const PropParser p(kind, props);
  auto backend = make_type_backend(kind, p);
  const auto extra = p.u64(kExtraFeatures);
  const auto pad = p.u64(kConfigPad, kU32Max);
  if (!extra && !pad) return backend;  // the defaults: the type exactly as it is
  try {
    return std::make_unique<UnknownExtrasBackend>(std::move(backend), extra.value_or(0),
                                                  static_cast<std::uint32_t>(pad.value_or(0)));
  } catch (const ConfigError& e) {
    p.fail(e.what());
  }
}

}  // namespace vmsg::devices

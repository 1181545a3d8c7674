// virtio-balloon backend.
#include "vmsg/devices/balloon.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "vmsg/common/hex.hpp"
#include "vmsg/common/le.hpp"

namespace vmsg::devices {

std::uint64_t BalloonBackend::device_features() const {
  return virtqueue::feature::bit(balloon::kFeatMustTellHost);
}

void BalloonBackend::read_config(std::uint32_t offset, std::span<std::uint8_t> out) const {
  std::array<std::uint8_t, balloon::kConfigSize> cfg{};
  le::store32(cfg, balloon::kCfgNumPages, st_.num_pages);
  le::store32(cfg, balloon::kCfgActual, st_.actual);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t at = std::size_t{offset} + i;
    out[i] = at < cfg.size() ? cfg[at] : std::uint8_t{0};
  }
}

bool BalloonBackend::write_config(std::uint32_t offset, std::span<const std::uint8_t> data) {
  // num_pages belongs to the host; the driver only reports `actual`.
  if (offset < balloon::kCfgActual) return false;
  if (std::size_t{offset} + data.size() > balloon::kConfigSize) return false;
  std::array<std::uint8_t, 4> bytes{};
  le::store32(bytes, 0, st_.actual);
  for (std::size_t i = 0; i < data.size(); ++i) bytes[std::size_t{offset} - balloon::kCfgActual + i] = data[i];
  st_.actual = le::load32(bytes, 0);
  if (offset == balloon::kCfgActual && data.size() == 4) check_actual_rules();  // a whole report
  return true;
}

void BalloonBackend::check_pfn_rules(bool inflate, std::uint32_t pfn, ChainRules& done) const {
  if (ctx_ == nullptr) return;
  const bool held = st_.inflated.contains(pfn);
  const std::string page = "pfn " + hex(pfn);
  if (inflate) {
    // A page still in the balloon given again: the driver took it back without the deflateq (L200-201).
    if (held && !done.reinflated) {
      done.reinflated = true;
      ctx_->driver_rule("VIRTIO-BALLOON-010", "inflate", page + " is in the balloon already: it was reused without a deflate");
    }
    return;
  }
  if (!held) {
    // Deflating a page no returned inflate request gave (L216-218).
    if (!done.unknown) {
      done.unknown = true;
      ctx_->driver_rule("VIRTIO-BALLOON-014", "deflate", page + " was never given by an inflate the device returned");
    }
    return;
  }
  // Without DEFLATE_ON_OOM (never offered) no page comes back while the
  // balloon is not above num_pages (L188-191).
  if (st_.inflated.size() <= st_.num_pages && !done.below_target) {
    done.below_target = true;
    ctx_->driver_rule("VIRTIO-BALLOON-008", "deflate",
                      page + " taken back with " + std::to_string(st_.inflated.size()) +
                          " pages in the balloon and num_pages " + std::to_string(st_.num_pages));
  }
}

void BalloonBackend::check_actual_rules() const {
  // Past the tracking bound the balloon's size is unknown: judge nothing.
  if (ctx_ == nullptr || st_.stats.dropped_pfns != 0) return;
  const std::size_t held = st_.inflated.size();
  if (st_.actual != held) {
    ctx_->driver_rule("VIRTIO-BALLOON-015", "actual write",
                      "actual " + std::to_string(st_.actual) + ", but the balloon holds " + std::to_string(held) + " pages");
  }
  if (st_.target_unanswered && held < st_.num_pages) {
    ctx_->driver_rule("VIRTIO-BALLOON-006", "actual write",
                      "reported " + std::to_string(st_.actual) + " pages with num_pages " +
                          std::to_string(st_.num_pages) + " and no page given since num_pages rose");
  }
}

void BalloonBackend::reset() {
  st_.inflated.clear();
  st_.actual = 0;
  st_.target_unanswered = false;
}

void BalloonBackend::set_target(std::uint32_t pages) {
  if (pages > st_.num_pages && pages > st_.inflated.size()) st_.target_unanswered = true;
  st_.num_pages = pages;
  if (ctx_ != nullptr) ctx_->config_changed(balloon::kCfgNumPages, 4);
}

virtqueue::Status BalloonBackend::process(unsigned q, virtqueue::SplitQueue& queue) {
  if (q != balloon::kInflateQueue && q != balloon::kDeflateQueue) return std::nullopt;
  const bool inflate = q == balloon::kInflateQueue;
  // Read in chunks: a chain may carry many PFNs (Linux sends up to 256).
  std::array<std::uint8_t, 256> buf{};
  for (;;) {
    auto popped = queue.pop();
    if (!popped) return popped.error();
    if (!popped->has_value()) return std::nullopt;
    const virtqueue::Chain& chain = **popped;
    ++(inflate ? st_.stats.inflate_chains : st_.stats.deflate_chains);

    const std::uint64_t total = chain.readable_bytes();
    const std::uint64_t whole = total - total % 4;
    st_.stats.trailing_bytes += total - whole;
    std::uint64_t done = 0;
    ChainRules reported;
    while (done < whole) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), whole - done));
      auto got = queue.read(chain, done, std::span<std::uint8_t>(buf).first(n));
      if (!got) return got.error();
      const std::size_t usable = *got - *got % 4;
      for (std::size_t i = 0; i < usable; i += 4) {
        const std::uint32_t pfn = le::load32(buf, i);
        check_pfn_rules(inflate, pfn, reported);
        if (inflate) {
          st_.target_unanswered = false;
          ++st_.stats.inflated_pfns;
          if (st_.inflated.size() >= max_tracked_ && !st_.inflated.contains(pfn)) {
            ++st_.stats.dropped_pfns;
          } else {
            st_.inflated.insert(pfn);
          }
        } else {
          ++st_.stats.deflated_pfns;
          if (st_.inflated.erase(pfn) == 0) ++st_.stats.unknown_deflates;
        }
      }
      done += *got;
      if (*got < n) break;
    }
    if (auto st = queue.push_used(chain.head, 0); st) return st;
  }
}

snapshot::Handle BalloonBackend::save_state() const {
  return snapshot::make(this, st_);
}

void BalloonBackend::restore_state(const snapshot::Handle& state) {
  st_ = snapshot::get<State>(state, this, "virtio-balloon");
}

}  // namespace vmsg::devices

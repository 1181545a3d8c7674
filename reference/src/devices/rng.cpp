// virtio-rng backend and its generator.
#include "vmsg/devices/rng.hpp"

#include <algorithm>
#include <array>

namespace vmsg::devices {

namespace {
[[nodiscard]] constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
}  // namespace

Xoshiro256::Xoshiro256(std::uint64_t seed) noexcept {
  // splitmix64 never yields four zero words in a row, so the state is valid
  // (xoshiro must not start from all zeros) for every seed, including 0.
  for (auto& w : s_) w = splitmix64(seed);
}

std::uint64_t Xoshiro256::next() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

void ByteStream::fill(std::span<std::uint8_t> out) noexcept {
  for (auto& b : out) {
    if (left_ == 0) {
      word_ = gen_.next();
      left_ = 8;
    }
    b = static_cast<std::uint8_t>(word_);
    word_ >>= 8;
    --left_;
  }
}

void RngBackend::read_config(std::uint32_t /*offset*/, std::span<std::uint8_t> out) const {
  // No config space: the transport never asks for bytes, but stay defined.
  std::fill(out.begin(), out.end(), std::uint8_t{0});
}

bool RngBackend::write_config(std::uint32_t /*offset*/, std::span<const std::uint8_t> /*data*/) { return false; }

virtqueue::Status RngBackend::process(unsigned q, virtqueue::SplitQueue& queue) {
  if (q != 0) return std::nullopt;
  // Chunked so a large chain costs a bounded buffer, not its size.
  std::array<std::uint8_t, 256> buf{};
  for (;;) {
    auto popped = queue.pop();
    if (!popped) return popped.error();
    if (!popped->has_value()) return std::nullopt;
    const virtqueue::Chain& chain = **popped;
    const std::uint64_t total = chain.writable_bytes();
    std::uint64_t done = 0;
    while (done < total) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), total - done));
      const std::span<std::uint8_t> chunk{buf.data(), n};
      st_.stream.fill(chunk);
      auto wrote = queue.write(chain, done, chunk);
      if (!wrote) return wrote.error();
      done += *wrote;
      st_.bytes_generated += *wrote;
      if (*wrote < n) break;  // the chain ended early: use what was filled
    }
    ++st_.requests;
    // A chain's total length fits 32 bits (SplitQueue checks LengthOverflow).
    if (auto st = queue.push_used(chain.head, static_cast<std::uint32_t>(done)); st) return st;
  }
}

snapshot::Handle RngBackend::save_state() const {
  return snapshot::make(this, st_);
}

void RngBackend::restore_state(const snapshot::Handle& state) {
  st_ = snapshot::get<State>(state, this, "virtio-rng");
}

}  // namespace vmsg::devices

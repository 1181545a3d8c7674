// Guest RAM of the in-process machine: a flat, bounds-checked byte array.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace vmsg::machine {

/// The machine's RAM, guest-physical address 0 upwards.
///
/// Backed by calloc so a 128 MiB (or larger) machine costs nothing until pages
/// are touched, which keeps many short-lived test machines cheap. Every access
/// is checked against the size first: an access that is not entirely inside
/// the RAM returns false (or nullopt) and touches nothing, so callers can turn
/// it into an "unbacked" access or a DMA fault without partial effects.
/// Multi-byte scalars are little-endian, as on every target we model.
class GuestRam {
 public:
  /// Allocates `size` zeroed bytes. Throws vmsg::ConfigError when `size` is 0
  /// or the host cannot provide the (virtual) memory.
  explicit GuestRam(std::uint64_t size);

  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

  /// True when [addr, addr + len) lies entirely inside the RAM (overflow-safe).
  [[nodiscard]] bool contains(std::uint64_t addr, std::uint64_t len) const noexcept {
    return addr <= size_ && len <= size_ - addr;
  }

  /// Copies bytes out of / into RAM; false (and nothing copied) when out of range.
  [[nodiscard]] bool read(std::uint64_t addr, std::span<std::uint8_t> out) const noexcept;
  [[nodiscard]] bool write(std::uint64_t addr, std::span<const std::uint8_t> data) noexcept;

  /// Little-endian scalar of `size` bytes (1..8); nullopt/false when out of
  /// range or `size` is not in 1..8.
  [[nodiscard]] std::optional<std::uint64_t> load(std::uint64_t addr, unsigned size) const noexcept;
  [[nodiscard]] bool store(std::uint64_t addr, unsigned size, std::uint64_t value) noexcept;

  /// Back to all zeros, as after construction. Only pages written since the
  /// last clear are zeroed (a per-page dirty bitmap), so clearing a large RAM
  /// that saw a few writes costs a few pages, not the whole size.
  void clear() noexcept;

  static constexpr std::uint64_t kDirtyPage = 4096;  ///< granule of clear()'s and restore()'s tracking
  /// Whether page `page` (kDirtyPage bytes from page * kDirtyPage) may be
  /// non-zero: written since construction or the last clear(), or held by a
  /// snapshot restored since. A page that is not reads all zeros. False past the end.
  [[nodiscard]] bool page_written(std::uint64_t page) const noexcept {
    const std::uint64_t word = page / 64;
    return word < dirty_.size() && ((dirty_[static_cast<std::size_t>(word)] >> (page % 64)) & 1U) != 0;
  }

  /// The RAM's contents at one instant: the pages that may be non-zero
  /// (written since the last clear), copied. A value; copies share the bytes.
  class Snapshot {
   public:
    /// Bytes of page data held (for tests and measurements).
    [[nodiscard]] std::size_t bytes() const noexcept { return data_ ? data_->bytes.size() : 0; }

   private:
    friend class GuestRam;
    struct Data {
      const GuestRam* owner = nullptr;
      std::uint64_t size = 0;
      std::uint64_t id = 0;               ///< which save() of the owner
      std::vector<std::uint64_t> pages;   ///< bitmap of the saved pages (dirty_ at save time)
      std::vector<std::uint32_t> index;   ///< page numbers of the saved pages, ascending
      std::vector<std::uint8_t> bytes;    ///< their contents, in `index` order
    };
    std::shared_ptr<const Data> data_;
  };

  /// Copies the pages written since the last clear() and makes this instant
  /// the mark: from now on the pages written are tracked against it.
  [[nodiscard]] Snapshot save();
  /// Back to the contents `s` holds. Restoring the mark (the latest save()
  /// or restore()) copies only the pages written since; another snapshot of
  /// this RAM costs the pages written since the last clear(). Throws
  /// vmsg::SnapshotError (RAM untouched) for a snapshot of another RAM.
  void restore(const Snapshot& s);

 private:
  void mark_dirty(std::uint64_t addr, std::uint64_t len) noexcept;
  [[nodiscard]] std::uint64_t pages() const noexcept { return (size_ + kDirtyPage - 1) / kDirtyPage; }
  /// Page `p` as `s` holds it (its copy, or zeros).
  void put_page(const Snapshot::Data& s, std::uint64_t p) noexcept;

  struct Free {
    void operator()(std::uint8_t* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<std::uint8_t[], Free> bytes_;
  std::uint64_t size_ = 0;
  std::vector<std::uint64_t> dirty_;  ///< bit p: page p written since construction or clear()
  std::vector<std::uint64_t> written_;  ///< bit p: page p written since the mark (save/restore)
  std::uint64_t mark_ = 0;              ///< id of the snapshot written_ is relative to; 0: none
  std::uint64_t saves_ = 0;             ///< snapshots made so far (ids are 1, 2, ...)
};

}  // namespace vmsg::machine

// A crude PCI function test double, shared by the machine and driver tests.
//
// It implements just enough of a type-0 header for those tests: IDs, Command,
// Status.CapList, BAR registers with the all-ones sizing behaviour, a
// capability list (raw bytes the test can corrupt), the MSI-X Message Control
// enable/mask bits, and RAM-like BAR storage that records every access. It is
// deliberately not the real config-space model (that lives in the pci area).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "vmsg/pci/dma.hpp"
#include "vmsg/pci/pci_device.hpp"

namespace vmsg::testing {

/// How one fake BAR presents itself; size 0 means "not implemented".
struct FakeBarSpec {
  std::uint64_t size = 0;
  bool prefetchable = false;
  bool is64 = false;  ///< occupies this slot and the next
  bool io = false;
};

/// One BAR access as the device saw it.
struct BarAccess {
  unsigned bar = 0;
  std::uint64_t offset = 0;
  unsigned size = 0;
  bool write = false;
  std::uint64_t value = 0;
  friend bool operator==(const BarAccess&, const BarAccess&) = default;
};

/// See the file comment.
class FakeFunction final : public pci::PciDevice {
 public:
  static constexpr std::uint16_t kCommand = 0x04;
  static constexpr std::uint16_t kStatus = 0x06;
  static constexpr std::uint16_t kHeaderType = 0x0E;
  static constexpr std::uint16_t kBar0 = 0x10;
  static constexpr std::uint16_t kCapPtr = 0x34;
  static constexpr std::uint64_t kMaxStorage = 1ULL << 20;

  FakeFunction(std::uint16_t vendor, std::uint16_t device, std::array<FakeBarSpec, 6> bars) : bars_(bars) {
    put(0x00, 2, vendor);
    put(0x02, 2, device);
    put(0x08, 4, 0x0880'0001);  // class/revision, as the amp device
    for (unsigned i = 0; i < 6; ++i) {
      const FakeBarSpec& b = bars_[i];
      if (b.size == 0) {
        continue;
      }
      bar_reg_[i] = b.io ? 1U : ((b.is64 ? 4U : 0U) | (b.prefetchable ? 8U : 0U));
      if (!b.io && b.size <= kMaxStorage) {
        storage_[i].assign(static_cast<std::size_t>(b.size), 0);
      }
    }
  }

  /// Adds an MSI-X capability at `cap` (linked at the head of the list) and
  /// marks every table entry masked, as at reset.
  void add_msix(std::uint8_t cap, std::uint16_t table_size, unsigned bir, std::uint32_t table_off,
                std::uint32_t pba_off) {
    msix_cap_ = cap;
    cfg_[cap] = 0x11;
    cfg_[cap + 1U] = cfg_[kCapPtr];
    cfg_[kCapPtr] = cap;
    put(cap + 2U, 2, static_cast<std::uint32_t>(table_size - 1U));
    put(cap + 4U, 4, table_off | bir);
    put(cap + 8U, 4, pba_off | bir);
    cfg_[kStatus] = static_cast<std::uint8_t>(cfg_[kStatus] | 0x10);
    for (unsigned e = 0; e < table_size; ++e) {
      store_bar(bir, table_off + 16U * e + 12U, 4, 1);
    }
  }

  /// Direct access to the config bytes (not the BAR registers) for crafting
  /// malformed headers and capability lists.
  std::array<std::uint8_t, 4096>& raw() { return cfg_; }
  [[nodiscard]] std::uint32_t bar_register(unsigned i) const { return bar_reg_[i]; }
  [[nodiscard]] std::uint16_t command() const { return static_cast<std::uint16_t>(get(kCommand, 2)); }

  /// RAM-like contents of BAR `bar` (LE), for checking what a driver wrote.
  [[nodiscard]] std::uint64_t load_bar(unsigned bar, std::uint64_t off, unsigned size) const {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) {
      if (off + i < storage_[bar].size()) {
        v |= std::uint64_t{storage_[bar][static_cast<std::size_t>(off + i)]} << (8 * i);
      }
    }
    return v;
  }
  void store_bar(unsigned bar, std::uint64_t off, unsigned size, std::uint64_t v) {
    for (unsigned i = 0; i < size; ++i) {
      if (off + i < storage_[bar].size()) {
        storage_[bar][static_cast<std::size_t>(off + i)] = static_cast<std::uint8_t>(v >> (8 * i));
      }
    }
  }

  // pci::PciDevice ---------------------------------------------------------------
  void attach(pci::DmaSpace& dma) override {
    dma_ = &dma;
    ++attach_calls;
  }

  std::uint32_t config_read(std::uint16_t offset, unsigned size) override {
    ++config_reads;
    std::uint32_t v = 0;
    for (unsigned i = 0; i < size; ++i) {
      v |= std::uint32_t{byte_at(offset + i)} << (8 * i);
    }
    return v;
  }

  void config_write(std::uint16_t offset, unsigned size, std::uint32_t value) override {
    config_log.push_back({offset, size, value});
    if (offset >= kBar0 && offset < kBar0 + 24 && size == 4) {
      write_bar((offset - kBar0) / 4U, value);
      return;
    }
    for (unsigned i = 0; i < size; ++i) {
      const unsigned o = offset + i;
      const auto b = static_cast<std::uint8_t>(value >> (8 * i));
      if (o == kCommand || o == kCommand + 1U) {
        cfg_[o] = b;
      } else if (msix_cap_ != 0 && o == msix_cap_ + 3U) {
        // Message Control bits 15 (Enable) and 14 (Function Mask).
        cfg_[o] = static_cast<std::uint8_t>((cfg_[o] & 0x3F) | (b & 0xC0));
      }
    }
  }

  [[nodiscard]] std::optional<pci::BarMapping> bar_mapping(unsigned bar) const override {
    if (bar >= 6 || bars_[bar].size == 0 || bars_[bar].io || (get(kCommand, 2) & 0x2) == 0) {
      return std::nullopt;
    }
    std::uint64_t base = bar_reg_[bar] & ~0xFU;
    if (bars_[bar].is64) {
      base |= std::uint64_t{bar_reg_[bar + 1]} << 32;
    }
    if (base == 0) {
      return std::nullopt;
    }
    return pci::BarMapping{base, bars_[bar].size};
  }

  std::uint64_t bar_read(unsigned bar, std::uint64_t offset, unsigned size) override {
    const std::uint64_t v = load_bar(bar, offset, size);
    accesses.push_back({bar, offset, size, false, v});
    return v;
  }

  void bar_write(unsigned bar, std::uint64_t offset, unsigned size, std::uint64_t value) override {
    accesses.push_back({bar, offset, size, true, value});
    store_bar(bar, offset, size, value);
    if (on_bar_write) {
      on_bar_write(bar, offset, value);
    }
  }

  bool bar_read_bulk(unsigned bar, std::uint64_t offset, std::span<std::uint8_t> out) override {
    if (!bulk_bar || bar != *bulk_bar) return false;
    bulk.push_back({bar, offset, static_cast<unsigned>(out.size()), false, 0});
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(load_bar(bar, offset + i, 1));
    return true;
  }

  bool bar_write_bulk(unsigned bar, std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (!bulk_bar || bar != *bulk_bar) return false;
    bulk.push_back({bar, offset, static_cast<unsigned>(data.size()), true, 0});
    for (std::size_t i = 0; i < data.size(); ++i) store_bar(bar, offset + i, 1, data[i]);
    return true;
  }

  void advance_time(std::uint64_t ns) override {
    elapsed_ns += ns;
    ++advance_calls;
    if (on_advance) {
      on_advance(ns);
    }
  }

  /// Config writes as received: offset, size, value.
  struct ConfigWrite {
    std::uint16_t offset = 0;
    unsigned size = 0;
    std::uint32_t value = 0;
  };

  pci::DmaSpace* dma() const { return dma_; }

  std::vector<BarAccess> accesses;
  std::optional<unsigned> bulk_bar;  ///< the one BAR that takes bulk copies (plain memory), if any
  std::vector<BarAccess> bulk;       ///< bulk copies taken: size = length, value unused
  std::vector<ConfigWrite> config_log;
  std::uint64_t config_reads = 0;
  std::uint64_t elapsed_ns = 0;
  unsigned advance_calls = 0;
  unsigned attach_calls = 0;
  bool latch_bars = true;  ///< false: BAR address writes are dropped (sizing still works)
  std::function<void(std::uint64_t)> on_advance;
  std::function<void(unsigned, std::uint64_t, std::uint64_t)> on_bar_write;

 private:
  void put(unsigned off, unsigned size, std::uint32_t v) {
    for (unsigned i = 0; i < size; ++i) {
      cfg_[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
  }
  [[nodiscard]] std::uint32_t get(unsigned off, unsigned size) const {
    std::uint32_t v = 0;
    for (unsigned i = 0; i < size; ++i) {
      v |= std::uint32_t{cfg_[off + i]} << (8 * i);
    }
    return v;
  }
  [[nodiscard]] std::uint8_t byte_at(unsigned o) const {
    if (o >= kBar0 && o < kBar0 + 24U) {
      return static_cast<std::uint8_t>(bar_reg_[(o - kBar0) / 4U] >> (8 * ((o - kBar0) % 4U)));
    }
    return cfg_[o];
  }
  void write_bar(unsigned i, std::uint32_t v) {
    if (i > 0 && bars_[i - 1].is64 && bars_[i - 1].size != 0) {
      bar_reg_[i] = v & static_cast<std::uint32_t>(~(bars_[i - 1].size - 1) >> 32);
      return;
    }
    const FakeBarSpec& b = bars_[i];
    if (b.size == 0) {
      return;
    }
    if (!latch_bars && v != 0xFFFF'FFFFU) {
      v = 0;  // a broken device: sizes fine, but never takes an address
    }
    const auto addr_mask = static_cast<std::uint32_t>(~(b.size - 1));
    bar_reg_[i] = b.io ? ((v & addr_mask & ~0x3U) | 1U) : ((v & addr_mask & ~0xFU) | (bar_reg_[i] & 0xFU));
  }

  std::array<FakeBarSpec, 6> bars_;
  std::array<std::uint8_t, 4096> cfg_{};
  std::array<std::uint32_t, 6> bar_reg_{};
  std::array<std::vector<std::uint8_t>, 6> storage_;
  std::uint8_t msix_cap_ = 0;
  pci::DmaSpace* dma_ = nullptr;
};

}  // namespace vmsg::testing

// A minimal port::Port for driver tests: RAM at 0, FakeFunctions on bus 0,
// BAR decode through each function's live bar_mapping. The driver area must
// not depend on the machine area, hence this stand-in rather than Machine.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "machine/fake_function.hpp"
#include "vmsg/pci/dma.hpp"
#include "vmsg/port/port.hpp"

namespace vmsg::testing {

/// See the file comment. Also the DmaSpace of every plugged function, so a
/// test can raise an MSI into its RAM.
class FakePort final : public port::Port, public pci::DmaSpace {
 public:
  static constexpr std::uint64_t kRamSize = 2ULL << 20;

  explicit FakePort(port::AddressMap map = {1ULL << 20, 1ULL << 20, 0xE000'0000, 0x1EC0'0000})
      : map_(map), ram_(kRamSize, 0) {}

  void plug(port::PciAddress at, std::shared_ptr<FakeFunction> f) {
    f->attach(*this);
    fns_[at] = std::move(f);
  }

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t offset, unsigned size) override {
    auto it = fns_.find(fn);
    const std::uint32_t mask = size == 4 ? 0xFFFF'FFFFU : (1U << (8 * size)) - 1;
    return it == fns_.end() ? mask : it->second->config_read(offset, size) & mask;
  }
  void config_write(port::PciAddress fn, std::uint16_t offset, unsigned size, std::uint32_t value) override {
    auto it = fns_.find(fn);
    if (it != fns_.end()) {
      it->second->config_write(offset, size, value);
    }
  }

  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    if (addr + size <= ram_.size()) {
      std::uint64_t v = 0;
      for (unsigned i = 0; i < size; ++i) {
        v |= std::uint64_t{ram_[static_cast<std::size_t>(addr + i)]} << (8 * i);
      }
      return v;
    }
    for (auto& [at, f] : fns_) {
      for (unsigned bar = 0; bar < 6; ++bar) {
        auto m = f->bar_mapping(bar);
        if (m && addr >= m->base && addr + size <= m->base + m->size) {
          return f->bar_read(bar, addr - m->base, size);
        }
      }
    }
    ++unbacked;
    return 0;
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t value) override {
    if (addr + size <= ram_.size()) {
      for (unsigned i = 0; i < size; ++i) {
        ram_[static_cast<std::size_t>(addr + i)] = static_cast<std::uint8_t>(value >> (8 * i));
      }
      return;
    }
    for (auto& [at, f] : fns_) {
      for (unsigned bar = 0; bar < 6; ++bar) {
        auto m = f->bar_mapping(bar);
        if (m && addr >= m->base && addr + size <= m->base + m->size) {
          f->bar_write(bar, addr - m->base, size, value);
          return;
        }
      }
    }
    ++unbacked;
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = static_cast<std::uint8_t>(mmio_read(addr + i, 1));
    }
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    for (std::size_t i = 0; i < data.size(); ++i) {
      mmio_write(addr + i, 1, data[i]);
    }
  }
  void advance_time(std::uint64_t) override {}
  [[nodiscard]] port::AddressMap address_map() const override { return map_; }

  // pci::DmaSpace
  bool dma_read(std::uint64_t, std::span<std::uint8_t>) override { return false; }
  bool dma_write(std::uint64_t, std::span<const std::uint8_t>) override { return false; }
  bool msi_write(std::uint64_t addr, std::uint32_t data) override {
    if (addr + 4 > ram_.size()) {
      return false;
    }
    mmio_write(addr, 4, data);
    return true;
  }

  unsigned unbacked = 0;

 private:
  port::AddressMap map_;
  std::vector<std::uint8_t> ram_;
  std::map<port::PciAddress, std::shared_ptr<FakeFunction>> fns_;
};

}  // namespace vmsg::testing

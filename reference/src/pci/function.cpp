#include "vmsg/pci/function.hpp"

#include "vmsg/common/errors.hpp"

namespace vmsg::pci {

PciFunction::PciFunction(const FunctionSpec& spec) : config_(spec.identity, spec.bars) {
  if (spec.msix) msix_.emplace(config_, spec.msix->vectors, spec.msix->bar);
  // The function owns config_ and is neither copied nor moved, so capturing
  // `this` cannot dangle.
  config_.set_command_observer([this](std::uint16_t old_command, std::uint16_t new_command) {
    // MSI-X first: BME turning on releases held vectors before the device reacts.
    if (msix_) msix_->update();
    on_command_changed(old_command, new_command);
  });
}

void PciFunction::attach(DmaSpace& dma) {
  dma_ = &dma;
  if (msix_) msix_->attach(dma);
  on_attach(dma);
}

std::uint32_t PciFunction::config_read(std::uint16_t offset, unsigned size) {
  // Message Control lives in the config bytes, so reads need no MSI-X routing.
  return config_.read(offset, size);
}

void PciFunction::config_write(std::uint16_t offset, unsigned size, std::uint32_t value) {
  config_.write(offset, size, value);
  if (msix_ && ConfigSpace::valid_access(offset, size)) msix_->config_written(offset, size);
}

std::optional<BarMapping> PciFunction::bar_mapping(unsigned bar) const {
  if (bar >= mappings_.size()) return std::nullopt;
  if (!mappings_valid_ || mappings_at_ != config_.generation()) {
    for (unsigned k = 0; k < mappings_.size(); ++k) mappings_[k] = decode_bar(k);
    mappings_at_ = config_.generation();
    mappings_valid_ = true;
  }
  return mappings_[bar];
}

std::optional<BarMapping> PciFunction::decode_bar(unsigned bar) const {
  const BarSpec spec = config_.bar_spec(bar);
  if (spec.size == 0 || !config_.memory_enabled()) return std::nullopt;
  const std::uint64_t base = config_.bar_address(bar);
  // QEMU's pci_bar_address(): a 32-bit BAR whose window would reach
  // 0xFFFFFFFF (e.g. still holding the all-ones sizing value) is unmapped.
  if (base == 0 || base + spec.size - 1 >= 0xFFFFFFFFu) return std::nullopt;
  return BarMapping{base, spec.size};
}

bool PciFunction::inside_bar(unsigned bar, std::uint64_t offset, std::uint64_t size) const noexcept {
  const std::uint32_t bar_size = config_.bar_spec(bar).size;
  return size <= bar_size && offset <= bar_size - size;
}

bool PciFunction::device_access_ok(unsigned bar, std::uint64_t offset, unsigned size) const noexcept {
  return (size == 1 || size == 2 || size == 4 || size == 8) && inside_bar(bar, offset, size);
}

bool PciFunction::device_bulk_ok(unsigned bar, std::uint64_t offset, std::size_t size) const noexcept {
  return !(msix_ && bar == msix_->bir()) && inside_bar(bar, offset, size);
}

bool PciFunction::bar_read_bulk(unsigned bar, std::uint64_t offset, std::span<std::uint8_t> out) {
  return device_bulk_ok(bar, offset, out.size()) && on_bar_read_bulk(bar, offset, out);
}

bool PciFunction::bar_write_bulk(unsigned bar, std::uint64_t offset, std::span<const std::uint8_t> data) {
  return device_bulk_ok(bar, offset, data.size()) && on_bar_write_bulk(bar, offset, data);
}

std::uint64_t PciFunction::bar_read(unsigned bar, std::uint64_t offset, unsigned size) {
  if (!device_access_ok(bar, offset, size)) return 0;
  if (msix_ && bar == msix_->bir()) return msix_->mmio_read(offset, size);
  return on_bar_read(bar, offset, size);
}

void PciFunction::bar_write(unsigned bar, std::uint64_t offset, unsigned size, std::uint64_t value) {
  if (!device_access_ok(bar, offset, size)) return;
  if (msix_ && bar == msix_->bir()) {
    msix_->mmio_write(offset, size, value);
    return;
  }
  on_bar_write(bar, offset, size, value);
}

void PciFunction::advance_time(std::uint64_t /*ns*/) {}

void PciFunction::notify(unsigned vector) {
  if (msix_) msix_->notify(vector);
}

void PciFunction::reset() {
  // MSI-X first so a Command change reported by the config reset finds an
  // already cleared table and PBA.
  if (msix_) msix_->reset();
  config_.reset();
}

PciFunction::PciState PciFunction::save_pci() const {
  PciState s{config_.save(), std::nullopt};
  if (msix_) s.msix = msix_->save();
  return s;
}

void PciFunction::restore_pci(const PciState& s) {
  if (s.msix.has_value() != msix_.has_value()) throw SnapshotError("PCI function: the saved state has other MSI-X");
  if (msix_) msix_->restore(*s.msix);  // first: it is what may refuse
  config_.restore(s.config);
}

std::uint64_t PciFunction::on_bar_read(unsigned /*bar*/, std::uint64_t /*offset*/, unsigned /*size*/) { return 0; }
void PciFunction::on_bar_write(unsigned /*bar*/, std::uint64_t /*offset*/, unsigned /*size*/,
                               std::uint64_t /*value*/) {}
bool PciFunction::on_bar_read_bulk(unsigned /*bar*/, std::uint64_t /*offset*/, std::span<std::uint8_t> /*out*/) {
  return false;
}
bool PciFunction::on_bar_write_bulk(unsigned /*bar*/, std::uint64_t /*offset*/,
                                    std::span<const std::uint8_t> /*data*/) {
  return false;
}
void PciFunction::on_command_changed(std::uint16_t /*old_command*/, std::uint16_t /*new_command*/) {}
void PciFunction::on_attach(DmaSpace& /*dma*/) {}

}  // namespace vmsg::pci

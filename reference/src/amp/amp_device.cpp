#include "vmsg/amp/amp_device.hpp"

#include <algorithm>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "vmsg/common/errors.hpp"
#include "vmsg/fifo/layout.hpp"

namespace vmsg::amp {

namespace {

inline constexpr std::uint16_t kCommandMemory = 0x0002;

unsigned checked_fifos(unsigned n) {
  // QEMU's range check admits 1..8, but BAR1 (n × 16 KiB) must be a power of
  // two or QEMU aborts at realize (bug 2). Refuse cleanly instead.
  if (n == 1 || n == 2 || n == 4 || n == 8) return n;
  throw ConfigError("virtio-msg-amp-pci: num_fifos=" + std::to_string(n) +
                    " is not buildable; BAR1 is num_fifos x 16 KiB and must be a power of two, "
                    "so num_fifos must be 1, 2, 4 or 8");
}

pci::FunctionSpec make_spec(unsigned num_fifos) {
  const unsigned n = checked_fifos(num_fifos);
  pci::FunctionSpec spec;
  spec.identity = pci::PciIdentity{.vendor_id = ident::kVendorId,
                                   .device_id = ident::kDeviceId,
                                   .revision = ident::kRevision,
                                   .class_code = ident::kClassCode,
                                   .subsystem_vendor_id = ident::kSubsystemVendorId,
                                   .subsystem_id = ident::kSubsystemId};
  spec.bars[bars::kRegisters] = {static_cast<std::uint32_t>(reg::kBar0Size), false};
  spec.bars[bars::kFifoRam] = {fifo::kWindowSize * n, true};
  spec.bars[bars::kMsix] = {static_cast<std::uint32_t>(bars::kMsixSize), false};
  spec.msix = pci::MsixSpec{n, bars::kMsix};
  return spec;
}

/// The channel options with the ring and delivery faults of `faults` applied.
ChannelOptions channel_options(const AmpConfig& c) {
  ChannelOptions o = c.channel;
  if (c.faults.has(fault::Fault::StaleSlotBytes)) o.ring.zero_pad = false;
  if (c.faults.has(fault::Fault::TrustSharedOwnIndex)) o.ring.trust_own_index = true;
  if (c.faults.has(fault::Fault::LoseOnFullRing)) o.drop_when_full = true;
  return o;
}

/// Validating reference: BAR0 writes that break a driver rule (AMP-005 value
/// other than 1 on a doorbell, AMP-006 width other than 32 bits), reported to
/// the bus options' rule sink. Registers::write is pure, so asking is free.
void report_register_rules(bus::DriverRuleSink* sink, const Registers& regs, std::uint64_t offset, unsigned size,
                           std::uint64_t value) {
  if (sink == nullptr) return;
  if (size != 4) {
    bus::report(*sink, "AMP-006", 0, "BAR0 write",
                [&] { return std::to_string(size) + "-byte write at offset " + std::to_string(offset); });
  } else if (regs.write(offset, 4, value).effect == RegisterWrite::Effect::Doorbell && value != 1) {
    bus::report(*sink, "AMP-005", 0, "NOTIFY write",
                [&] { return "value " + std::to_string(value) + " at offset " + std::to_string(offset); });
  }
}

/// The bus options with the device's fault set merged in.
bus::BusOptions bus_options(const AmpConfig& c) {
  bus::BusOptions o = c.bus;
  o.faults.merge(c.faults);
  return o;
}

}  // namespace

/// Gates device DMA on the function's Bus Master Enable bit (PCI forbids a
/// function to master the bus while it is clear; QEMU ignores it, bug 20).
class AmpPciDevice::BusMasterDma final : public pci::DmaSpace {
 public:
  explicit BusMasterDma(AmpPciDevice& dev) : dev_(dev) {}
  bool dma_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    pci::DmaSpace* d = usable();
    return d != nullptr && d->dma_read(addr, out);
  }
  bool dma_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    pci::DmaSpace* d = usable();
    return d != nullptr && d->dma_write(addr, data);
  }
  bool msi_write(std::uint64_t /*addr*/, std::uint32_t /*data*/) override {
    return false;  // interrupts go through MSI-X, never through a device's DMA
  }
  void report_fatal(std::string_view report) override {
    // A crash is no bus cycle: it reaches the host whatever Bus Master Enable says.
    if (pci::DmaSpace* d = dev_.dma()) d->report_fatal(report);
  }

 private:
  pci::DmaSpace* usable() const {
    // Fault "ignore-bus-master" (QEMU bug 20): DMA regardless of BME.
    const bool allowed = dev_.config().bus_master() || dev_.config_.faults.has(fault::Fault::IgnoreBusMaster);
    return allowed ? dev_.dma() : nullptr;
  }
  AmpPciDevice& dev_;
};

AmpPciDevice::AmpPciDevice(const AmpConfig& config)
    : PciFunction(make_spec(config.num_fifos)),
      config_(config),
      regs_(config.num_fifos),
      bus_master_(std::make_unique<BusMasterDma>(*this)),
      bar1_size_(std::size_t{fifo::kWindowSize} * config.num_fifos),
      bar1_(new std::uint8_t[bar1_size_]()) {
  make_channels();
  if (msix() != nullptr) msix()->set_ignore_mask(config.faults.has(fault::Fault::MsixIgnoresMask));
}

void AmpPciDevice::make_channels() {
  const std::span<std::uint8_t> ram(bar1_.get(), bar1_size_);
  const ChannelOptions channel_opts = channel_options(config_);
  const bus::BusOptions bus_opts = bus_options(config_);
  channels_.clear();
  channels_.reserve(config_.num_fifos);
  for (unsigned q = 0; q < config_.num_fifos; ++q) {
    channels_.push_back(std::make_unique<FifoChannel>(q, ram, config_.profile, channel_opts, bus_opts,
                                                      [this, q] { notify(q); }));
  }
}

void AmpPciDevice::reset() {
  PciFunction::reset();
  if (msix() != nullptr) msix()->reset_stats();
  std::fill_n(bar1_.get(), bar1_size_, std::uint8_t{0});
  for (auto& c : channels_) c->reset();
  reg_stats_ = {};
}

AmpPciDevice::State AmpPciDevice::save() const {
  State s{this, save_pci(), std::vector<std::uint8_t>(bar1_.get(), bar1_.get() + bar1_size_), {}, reg_stats_};
  s.channels.reserve(channels_.size());
  for (const auto& c : channels_) s.channels.push_back(c->save());
  return s;
}

void AmpPciDevice::restore(const State& s, bool plugs) {
  // Every check before the first change, so a refused state leaves the device as it was.
  if (s.owner != this || s.bar1.size() != bar1_size_ || s.channels.size() != channels_.size()) {
    throw SnapshotError("virtio-msg-amp-pci: the saved state belongs to another device");
  }
  restore_pci(s.pci);
  std::copy(s.bar1.begin(), s.bar1.end(), bar1_.get());
  for (std::size_t q = 0; q < channels_.size(); ++q) {
    if (plugs) {
      for (bus::Endpoint* ep : s.channels[q].bus.endpoints) {
        if (ep != nullptr) ep->attach_memory(*bus_master_);  // as plug() does
      }
    }
    channels_[q]->restore(s.channels[q], plugs);
  }
  reg_stats_ = s.reg_stats;
}

AmpPciDevice::~AmpPciDevice() = default;

pci::DmaSpace& AmpPciDevice::bus_master() noexcept { return *bus_master_; }

void AmpPciDevice::plug(unsigned fifo, std::uint16_t dev_num, bus::Endpoint& endpoint) {
  FifoChannel& c = channel(fifo);
  endpoint.attach_memory(*bus_master_);
  c.bus().plug(dev_num, endpoint);
}

FifoChannel& AmpPciDevice::channel(unsigned fifo) {
  if (fifo >= channels_.size()) throw std::out_of_range("amp: no FIFO " + std::to_string(fifo));
  return *channels_[fifo];
}

const FifoChannel& AmpPciDevice::channel(unsigned fifo) const {
  if (fifo >= channels_.size()) throw std::out_of_range("amp: no FIFO " + std::to_string(fifo));
  return *channels_[fifo];
}

std::uint64_t AmpPciDevice::on_bar_read(unsigned bar, std::uint64_t offset, unsigned size) {
  if (bar == bars::kRegisters) return regs_.read(offset, size);
  if (bar == bars::kFifoRam) {
    // Plain RAM: any alignment works, as in QEMU's RAM-backed BAR.
    const std::span<const std::uint8_t> ram(bar1_.get(), bar1_size_);
    std::uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= std::uint64_t{ram[offset + i]} << (8 * i);
    return v;
  }
  return 0;
}

void AmpPciDevice::on_bar_write(unsigned bar, std::uint64_t offset, unsigned size, std::uint64_t value) {
  if (bar == bars::kFifoRam) {
    const std::span<std::uint8_t> ram(bar1_.get(), bar1_size_);
    for (unsigned i = 0; i < size; ++i) ram[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
    return;
  }
  if (bar != bars::kRegisters) return;
  report_register_rules(config_.bus.rule_sink, regs_, offset, size, value);
  if (size != 4 && config_.faults.has(fault::Fault::NotifyAnyWidth) && offset % size == 0) {
    // QEMU's memory core turns a 1/2-byte access into one 4-byte handler
    // call and an 8-byte one into two (amp-pci-device.md §4, bug 17).
    const std::uint64_t word = offset & ~std::uint64_t{3};
    register_write(word, 4, value);
    if (size == 8) register_write(word + 4, 4, value >> 32);
    return;
  }
  register_write(offset, size, value);
}

bool AmpPciDevice::on_bar_read_bulk(unsigned bar, std::uint64_t offset, std::span<std::uint8_t> out) {
  if (bar != bars::kFifoRam) return false;
  std::copy_n(bar1_.get() + offset, out.size(), out.begin());
  return true;
}

bool AmpPciDevice::on_bar_write_bulk(unsigned bar, std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (bar != bars::kFifoRam) return false;
  std::copy(data.begin(), data.end(), bar1_.get() + offset);
  return true;
}

void AmpPciDevice::register_write(std::uint64_t offset, unsigned size, std::uint64_t value) {
  const RegisterWrite w = regs_.write(offset, size, value);
  using E = RegisterWrite::Effect;
  switch (w.effect) {
    case E::Doorbell:
      ++reg_stats_.doorbells;
      channels_[w.fifo]->doorbell();
      break;
    case E::ReadOnly:
      ++reg_stats_.read_only_writes;
      break;
    case E::NoSuchFifo:
      ++reg_stats_.no_such_fifo;
      break;
    case E::BadWidth:
      ++reg_stats_.bad_width;
      break;
    case E::Unaligned:
    case E::OutOfRange:
      ++reg_stats_.unaligned;
      break;
  }
}

void AmpPciDevice::on_command_changed(std::uint16_t old_command, std::uint16_t new_command) {
  // Memory decoding switched on: the driver is (re)initialising the function
  // and may have re-zeroed the rings, so adopt the indices in BAR1 rather than
  // keep stale private ones (QEMU bug 16, D33).
  const bool mem_on = (new_command & kCommandMemory) != 0 && (old_command & kCommandMemory) == 0;
  if (mem_on) {
    for (auto& c : channels_) c->request_resync();
  }
}

void AmpPciDevice::advance_time(std::uint64_t ns) {
  for (auto& c : channels_) c->advance_time(ns);
}

}  // namespace vmsg::amp

#include "vmsg/driver/amp_driver.hpp"

#include <stdexcept>
#include <string>

#include "vmsg/driver/errors.hpp"
#include "vmsg/fifo/layout.hpp"

namespace vmsg::driver {

AmpDriver AmpDriver::open(port::Port& port, GuestAllocator& ram, BarWindowAllocator& window,
                          const AmpDriverOptions& options) {
  auto f = probe(port, kAmpVendorId, kAmpDeviceId, window, options.index);
  if (!f) throw ProbeError("virtio-msg-amp-pci (10ee:9039) #" + std::to_string(options.index) + " not found");
  const BarInfo& bar0 = f->bars[0];
  const BarInfo& bar1 = f->bars[1];
  if (bar0.size == 0 || bar0.base == 0) throw ProbeError("amp: BAR0 (registers) missing or unassigned");
  if (bar1.size < fifo::kWindowSize || bar1.size % fifo::kWindowSize != 0 || bar1.base == 0) {
    throw ProbeError("amp: BAR1 size " + std::to_string(bar1.size) + " is not a positive multiple of 16 KiB");
  }
  const auto fifos = static_cast<unsigned>(bar1.size / fifo::kWindowSize);

  std::optional<MsixInfo> msix;
  std::vector<MsiTarget> targets;
  if (options.use_msix) {
    msix = msix_info(port, *f);
    if (msix->table_size < fifos) {
      throw ProbeError("amp: MSI-X table has " + std::to_string(msix->table_size) + " entries for " +
                       std::to_string(fifos) + " FIFOs");
    }
    for (unsigned q = 0; q < fifos; ++q) targets.push_back(msix_setup_vector(port, *msix, q, ram, options.msi_data + q));
    msix_enable(port, *msix);
  }

  std::vector<FifoLink> links;
  links.reserve(fifos);
  for (unsigned q = 0; q < fifos; ++q) {
    FifoLinkConfig c;
    c.bar0 = bar0.base;
    c.bar1 = bar1.base;
    c.fifo = q;
    if (options.use_msix) c.msi = targets[q];
    c.profile = options.profile;
    links.emplace_back(port, c);
  }
  return AmpDriver(std::move(*f), std::move(msix), std::move(links));
}

FifoLink& AmpDriver::fifo(unsigned fifo) {
  if (fifo >= links_.size()) throw std::out_of_range("amp driver: no FIFO " + std::to_string(fifo));
  return links_[fifo];
}

}  // namespace vmsg::driver

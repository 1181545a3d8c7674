#include "vmsg/pci/fixed_function.hpp"

namespace vmsg::pci {

FixedFunction::FixedFunction(const PciIdentity& identity, bool multi_function) : config_(identity, BarSpecs{}) {
  if (multi_function) config_.raw_write(cfg::kHeaderType, 1, cfg::kHeaderTypeMultiFunction);
}

}  // namespace vmsg::pci

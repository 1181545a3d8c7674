// Exceptions of the driver helpers (guest_alloc, pci_probe, msix_setup).
//
// Error policy of those helpers, so callers know what to catch:
//  - "not there" is an ordinary answer, not an error: lookups return
//    std::optional (no such function, no such capability);
//  - a caller's own mistake (zero-size allocation, alignment not a power of
//    two, MSI-X entry out of range, data word 0) throws vmsg::ConfigError;
//  - the machine or device failing the driver throws a DriverError subclass:
//    OutOfSpace when a pool is exhausted, ProbeError when config space or
//    BAR/MSI-X layout is malformed. A conformance test may catch ProbeError and
//    report it as a finding against the device;
//  - the port's own failures (vmsg::PortError) pass through untouched.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace vmsg::driver {

/// Base of the errors the driver helpers raise about the target.
class DriverError : public std::runtime_error {
 public:
  explicit DriverError(const std::string& what) : std::runtime_error(what) {}
};

/// An allocator could not satisfy a request; carries the numbers for the report.
class OutOfSpace : public DriverError {
 public:
  OutOfSpace(const std::string& pool, std::uint64_t requested, std::uint64_t align, std::uint64_t remaining)
      : DriverError(pool + ": cannot allocate " + std::to_string(requested) + " bytes aligned to " +
                    std::to_string(align) + " (" + std::to_string(remaining) + " bytes left)"),
        requested_(requested),
        align_(align),
        remaining_(remaining) {}
  [[nodiscard]] std::uint64_t requested() const noexcept { return requested_; }
  [[nodiscard]] std::uint64_t align() const noexcept { return align_; }
  [[nodiscard]] std::uint64_t remaining() const noexcept { return remaining_; }

 private:
  std::uint64_t requested_;
  std::uint64_t align_;
  std::uint64_t remaining_;
};

/// The function's config space or BAR/MSI-X layout is not usable as found
/// (absent function, bad BAR size mask, capability-list loop, table outside
/// its BAR, a BAR that did not latch its address, ...).
class ProbeError : public DriverError {
 public:
  explicit ProbeError(const std::string& what) : DriverError(what) {}
};

}  // namespace vmsg::driver

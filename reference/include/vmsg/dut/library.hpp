// A loaded DUT library: dlopen, the entry point, and the checks of its
// function table (version, size, every pointer set) before anything is called.
#pragma once

#include <memory>
#include <string>

#include "vmsg_dut.h"

namespace vmsg::dut {

/// One dlopen()ed library with a validated vmsg_dut_api table. Closing
/// (dlclose) happens when the last shared_ptr goes, after every instance
/// made from it was destroyed (LibPort holds one).
class Library {
 public:
  /// Loads `path` and validates its table. Throws vmsg::PortError naming the
  /// path and the problem: dlopen failure, no vmsg_dut_get_api symbol, no
  /// table for this host's ABI major, a table of another major or too short
  /// for this host's minor, or a NULL function pointer (named).
  [[nodiscard]] static std::shared_ptr<Library> open(const std::string& path);

  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  [[nodiscard]] const vmsg_dut_api& api() const noexcept { return *api_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// The library's self-description (vmsg_dut_api::name), "" when NULL.
  [[nodiscard]] std::string name() const;
  /// The optional ABI 1.1 entries; nullptr when the library's table ends
  /// before them (an older minor) or leaves them NULL.
  [[nodiscard]] decltype(vmsg_dut_api::stimulus) stimulus_fn() const noexcept;
  [[nodiscard]] decltype(vmsg_dut_api::violations) violations_fn() const noexcept;
  /// The optional ABI 1.2 entries, likewise.
  [[nodiscard]] decltype(vmsg_dut_api::mmio_read_bulk) mmio_read_bulk_fn() const noexcept;
  [[nodiscard]] decltype(vmsg_dut_api::mmio_write_bulk) mmio_write_bulk_fn() const noexcept;

 private:
  Library(std::string path, void* handle, const vmsg_dut_api* api) : path_(std::move(path)), handle_(handle), api_(api) {}

  std::string path_;
  void* handle_;
  const vmsg_dut_api* api_;
};

}  // namespace vmsg::dut

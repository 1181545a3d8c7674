#include "vmsg/dut/library.hpp"

#include <dlfcn.h>

#include <cstddef>
#include <cstring>

#include "vmsg/common/errors.hpp"

namespace vmsg::dut {
namespace {

/// The table must reach at least this far: every field of ABI 1.0.
constexpr std::size_t kMinApiSize = offsetof(vmsg_dut_api, last_error) + sizeof(vmsg_dut_api::last_error);

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw PortError("DUT library " + path + ": " + why);
}

/// Name of the first NULL function pointer of the table, or nullptr.
const char* missing_function(const vmsg_dut_api& a) {
  if (a.create == nullptr) return "create";
  if (a.destroy == nullptr) return "destroy";
  if (a.config_read == nullptr) return "config_read";
  if (a.config_write == nullptr) return "config_write";
  if (a.mmio_read == nullptr) return "mmio_read";
  if (a.mmio_write == nullptr) return "mmio_write";
  if (a.advance_time == nullptr) return "advance_time";
  if (a.last_error == nullptr) return "last_error";
  return nullptr;
}

}  // namespace

std::shared_ptr<Library> Library::open(const std::string& path) {
  // RTLD_LOCAL keeps each library's symbols to itself, so a vendor library
  // and the reference (or two vendors) cannot bind to each other's code.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    fail(path, std::string("cannot load: ") + (why != nullptr ? why : "dlopen failed"));
  }
  // From here on, any failure must close the handle again.
  struct Closer {
    void* h;
    ~Closer() {
      if (h != nullptr) dlclose(h);
    }
  } closer{handle};

  dlerror();
  void* sym = dlsym(handle, VMSG_DUT_ENTRY);
  if (sym == nullptr) {
    fail(path, "does not export " VMSG_DUT_ENTRY " (not a vmsg DUT library, or built without VMSG_DUT_EXPORT)");
  }
  // POSIX guarantees a data pointer from dlsym converts to a function pointer;
  // memcpy says so without a cast the warnings forbid.
  vmsg_dut_get_api_fn get_api = nullptr;
  static_assert(sizeof get_api == sizeof sym);
  std::memcpy(&get_api, &sym, sizeof sym);

  const vmsg_dut_api* api = get_api(VMSG_DUT_ABI_MAJOR);
  if (api == nullptr) {
    fail(path, "implements no table for ABI major " + std::to_string(VMSG_DUT_ABI_MAJOR) +
                   " (library and suite were built against different vmsg_dut.h majors)");
  }
  if (api->abi_major != VMSG_DUT_ABI_MAJOR) {
    fail(path, "ABI version mismatch: library table is " + std::to_string(api->abi_major) + "." +
                   std::to_string(api->abi_minor) + ", this suite speaks " + std::to_string(VMSG_DUT_ABI_MAJOR) +
                   "." + std::to_string(VMSG_DUT_ABI_MINOR));
  }
  if (api->struct_size < kMinApiSize) {
    fail(path, "function table is " + std::to_string(api->struct_size) + " bytes, ABI " +
                   std::to_string(VMSG_DUT_ABI_MAJOR) + ".0 needs at least " + std::to_string(kMinApiSize));
  }
  if (const char* missing = missing_function(*api); missing != nullptr) {
    fail(path, std::string("function table has no ") + missing + " (NULL pointer)");
  }
  closer.h = nullptr;
  return std::shared_ptr<Library>(new Library(path, handle, api));
}

Library::~Library() { dlclose(handle_); }

// A field past the library's struct_size is not in its table at all: reading
// it would run off the end of an older library's static data.
#define VMSG_OPTIONAL_ENTRY(member) \
  (api_->struct_size >= offsetof(vmsg_dut_api, member) + sizeof(vmsg_dut_api::member) ? api_->member : nullptr)

decltype(vmsg_dut_api::stimulus) Library::stimulus_fn() const noexcept { return VMSG_OPTIONAL_ENTRY(stimulus); }
decltype(vmsg_dut_api::violations) Library::violations_fn() const noexcept { return VMSG_OPTIONAL_ENTRY(violations); }
decltype(vmsg_dut_api::mmio_read_bulk) Library::mmio_read_bulk_fn() const noexcept {
  return VMSG_OPTIONAL_ENTRY(mmio_read_bulk);
}
decltype(vmsg_dut_api::mmio_write_bulk) Library::mmio_write_bulk_fn() const noexcept {
  return VMSG_OPTIONAL_ENTRY(mmio_write_bulk);
}

#undef VMSG_OPTIONAL_ENTRY

std::string Library::name() const { return api_->name != nullptr ? std::string(api_->name) : std::string(); }

}  // namespace vmsg::dut

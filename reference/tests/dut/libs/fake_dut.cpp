// Fake DUT libraries for the loader tests: one source, built once per
// FAKE_<VARIANT> macro (src/dut/CMakeLists.txt), each wrong in one way.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "vmsg_dut.h"

struct vmsg_dut {
  int calls;  // violations() calls so far (FAKE_EXT)
  bool endless;
};

namespace {

vmsg_dut* fake_create(const char* config, const vmsg_dut_host*, char* err, std::size_t err_size) {
  const char* msg = nullptr;
  if (config != nullptr && std::strstr(config, "refuse") != nullptr) msg = "fake: refused the configuration";
  if (config != nullptr && std::strstr(config, "silent") != nullptr) msg = "";
  if (msg != nullptr) {
    if (err != nullptr && err_size > 0) {
      std::strncpy(err, msg, err_size - 1);
      err[err_size - 1] = '\0';
    }
    return nullptr;
  }
  return new vmsg_dut{0, config != nullptr && std::strstr(config, "endless") != nullptr};
}
void fake_destroy(vmsg_dut* d) { delete d; }
int fake_config_read(vmsg_dut*, std::uint8_t, std::uint8_t, std::uint8_t, std::uint16_t, std::uint32_t, std::uint32_t*) {
  return VMSG_DUT_ERR_FAILED;
}
int fake_config_write(vmsg_dut*, std::uint8_t, std::uint8_t, std::uint8_t, std::uint16_t, std::uint32_t, std::uint32_t) {
  return VMSG_DUT_NO_FUNCTION;
}
[[maybe_unused]] int fake_mmio_read(vmsg_dut*, std::uint64_t, std::uint32_t, std::uint64_t* value) {
  *value = ~std::uint64_t{0};
  return 7;  // not a status the ABI defines
}
int fake_mmio_write(vmsg_dut*, std::uint64_t, std::uint32_t, std::uint64_t) { return VMSG_DUT_ERR_INVALID; }
int fake_advance_time(vmsg_dut*, std::uint64_t) { return VMSG_DUT_ERR_FAILED; }
const char* fake_last_error(vmsg_dut*) { return "fake: the model exploded"; }

// ABI 1.1 entries. FAKE_EXT: stimulus answers by verb; violations hands out
// three lines, one per call, or answers MORE forever ("endless" config).
[[maybe_unused]] int fake_stimulus(vmsg_dut*, const char* action) {
  if (std::strcmp(action, "boom") == 0) return VMSG_DUT_ERR_FAILED;
  if (std::strcmp(action, "nope") == 0) return VMSG_DUT_UNSUPPORTED;
  return VMSG_DUT_OK;
}
[[maybe_unused]] int fake_violations(vmsg_dut* d, char* buf, std::size_t size) {
  if (buf == nullptr) {
    d->calls = 3;
    return VMSG_DUT_OK;
  }
  if (d->endless) return VMSG_DUT_MORE;
  if (d->calls >= 3) {
    buf[0] = '\0';
    return VMSG_DUT_OK;
  }
  const char* lines[] = {"VMSG-DRV-014 dev=1 SET_VQUEUE: reserved 1\n", "VMSG-DRV-009 dev=0 frame: type 0x80\n",
                         "no-newline-cut-line"};
  std::strncpy(buf, lines[d->calls], size - 1);
  buf[size - 1] = '\0';
  ++d->calls;
  return d->calls < 3 ? VMSG_DUT_MORE : VMSG_DUT_OK;
}
// FAKE_OLDMINOR: entries past its struct_size that the host must never see.
[[maybe_unused]] int poison_stimulus(vmsg_dut*, const char*) { return VMSG_DUT_OK; }
[[maybe_unused]] int poison_violations(vmsg_dut*, char*, std::size_t) { return VMSG_DUT_OK; }
// A bulk entry that claims success without moving a byte: if the host ever
// used it past struct_size, reads would come back as zeros.
[[maybe_unused]] int poison_read_bulk(vmsg_dut*, std::uint64_t, void*, std::size_t) { return VMSG_DUT_OK; }
[[maybe_unused]] int poison_write_bulk(vmsg_dut*, std::uint64_t, const void*, std::size_t) { return VMSG_DUT_OK; }

#if defined(FAKE_BADMAJOR)
constexpr std::uint32_t kMajor = VMSG_DUT_ABI_MAJOR + 1;
#else
constexpr std::uint32_t kMajor = VMSG_DUT_ABI_MAJOR;
#endif

#if defined(FAKE_SHORTTABLE)
constexpr std::uint32_t kSize = 16;
#elif defined(FAKE_OLDMINOR)
constexpr std::uint32_t kSize = offsetof(vmsg_dut_api, stimulus);  // an ABI 1.0 table
#else
constexpr std::uint32_t kSize = sizeof(vmsg_dut_api);
#endif

#if defined(FAKE_EXT)
constexpr std::uint32_t kMinor = VMSG_DUT_ABI_MINOR;
#else
constexpr std::uint32_t kMinor = 0;
#endif

constexpr vmsg_dut_api kApi = {
    kMajor, kMinor, kSize, "fake",
    fake_create, fake_destroy, fake_config_read, fake_config_write,
#if defined(FAKE_NULLFN)
    nullptr,
#else
    fake_mmio_read,
#endif
    fake_mmio_write, fake_advance_time, fake_last_error,
#if defined(FAKE_EXT)
    fake_stimulus, fake_violations, nullptr, nullptr,
#elif defined(FAKE_OLDMINOR)
    poison_stimulus, poison_violations, poison_read_bulk, poison_write_bulk,
#else
    nullptr, nullptr, nullptr, nullptr,
#endif
};

}  // namespace

#if defined(FAKE_NOSYM)
// Exports something, but not the entry point.
extern "C" VMSG_DUT_EXPORT const vmsg_dut_api* vmsg_dut_get_api_v0(std::uint32_t) { return &kApi; }
#else
extern "C" VMSG_DUT_EXPORT const vmsg_dut_api* vmsg_dut_get_api(std::uint32_t abi_major) {
#if defined(FAKE_NOMAJOR)
  (void)abi_major;
  return nullptr;
#elif defined(FAKE_BADMAJOR)
  (void)abi_major;
  return &kApi;  // answers any major with a table of another one
#else
  return abi_major == VMSG_DUT_ABI_MAJOR ? &kApi : nullptr;
#endif
}
#endif

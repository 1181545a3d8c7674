// The C entry points of libvmsg_ref_dut.so (vmsg_dut.h, ABI 1.1). Every
// entry catches everything: an exception must never cross into the host.
#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "ref_dut.hpp"
#include "vmsg/common/errors.hpp"
#include "vmsg/dut/config.hpp"
#include "vmsg_dut.h"

// The opaque handle is the RefDut itself.
struct vmsg_dut {
  vmsg::dut::ref::RefDut dut;
};

namespace {

using vmsg::dut::ref::RefDut;

void copy_message(const std::string& msg, char* err, std::size_t err_size) noexcept {
  if (err == nullptr || err_size == 0) return;
  const std::size_t n = msg.size() < err_size - 1 ? msg.size() : err_size - 1;
  std::memcpy(err, msg.data(), n);
  err[n] = '\0';
}

/// Runs `f` and maps its outcome to a status, keeping the message for last_error().
template <typename F>
int guarded(vmsg_dut* h, F&& f) noexcept {
  if (h == nullptr) return VMSG_DUT_ERR_INVALID;
  try {
    h->dut.last_error.clear();
    return f(h->dut);
  } catch (const vmsg::ConfigError& e) {
    try { h->dut.last_error = e.what(); } catch (...) {}
    return VMSG_DUT_ERR_INVALID;
  } catch (const std::exception& e) {
    try { h->dut.last_error = e.what(); } catch (...) {}
    return VMSG_DUT_ERR_FAILED;
  } catch (...) {
    return VMSG_DUT_ERR_FAILED;
  }
}

int invalid(RefDut& d, std::string why) {
  d.last_error = std::move(why);
  return VMSG_DUT_ERR_INVALID;
}

/// The ABI's rules for a config access; "" when it is acceptable.
const char* config_access_problem(std::uint16_t offset, std::uint32_t size) noexcept {
  if (size != 1 && size != 2 && size != 4) return "config access size must be 1, 2 or 4";
  if (offset % size != 0) return "config access must be naturally aligned";
  if (unsigned{offset} + size > 4096) return "config access runs past 4 KiB";
  return "";
}

bool mmio_size_ok(std::uint32_t size) noexcept { return size == 1 || size == 2 || size == 4 || size == 8; }

vmsg_dut* ref_create(const char* config, const vmsg_dut_host* host, char* err, std::size_t err_size) noexcept {
  try {
    if (host == nullptr) {
      copy_message("reference DUT: no host callbacks", err, err_size);
      return nullptr;
    }
    if (host->struct_size < offsetof(vmsg_dut_host, log)) {
      copy_message("reference DUT: vmsg_dut_host.struct_size too small", err, err_size);
      return nullptr;
    }
    if (host->mem_read == nullptr || host->mem_write == nullptr || host->msi_write == nullptr) {
      copy_message("reference DUT: host callbacks mem_read, mem_write and msi_write are required", err, err_size);
      return nullptr;
    }
    // Copy only the fields this library knows; a shorter host struct (older
    // minor) leaves the rest zero.
    vmsg_dut_host h{};
    std::memcpy(&h, host, host->struct_size < sizeof h ? host->struct_size : sizeof h);
    // A configuration naming no topology builds the default one (config.hpp).
    const vmsg::dut::DutConfig c = vmsg::dut::parse_reference_config(config != nullptr ? config : "");
    return new vmsg_dut{RefDut(c, h)};
  } catch (const std::exception& e) {
    copy_message(e.what(), err, err_size);
  } catch (...) {
    copy_message("reference DUT: unknown failure", err, err_size);
  }
  return nullptr;
}

void ref_destroy(vmsg_dut* h) noexcept {
  try {
    delete h;
  } catch (...) {
  }
}

int ref_config_read(vmsg_dut* h, std::uint8_t bus, std::uint8_t dev, std::uint8_t fn, std::uint16_t offset,
                    std::uint32_t size, std::uint32_t* value) noexcept {
  return guarded(h, [&](RefDut& d) {
    if (value == nullptr) return invalid(d, "config_read: value is NULL");
    if (const char* p = config_access_problem(offset, size); *p != '\0') return invalid(d, p);
    if (!d.has_function(bus, dev, fn)) return VMSG_DUT_NO_FUNCTION;
    *value = d.config_read(offset, size);
    return VMSG_DUT_OK;
  });
}

int ref_config_write(vmsg_dut* h, std::uint8_t bus, std::uint8_t dev, std::uint8_t fn, std::uint16_t offset,
                     std::uint32_t size, std::uint32_t value) noexcept {
  return guarded(h, [&](RefDut& d) {
    if (const char* p = config_access_problem(offset, size); *p != '\0') return invalid(d, p);
    if (!d.has_function(bus, dev, fn)) return VMSG_DUT_NO_FUNCTION;
    d.config_write(offset, size, value);
    return VMSG_DUT_OK;
  });
}

int ref_mmio_read(vmsg_dut* h, std::uint64_t addr, std::uint32_t size, std::uint64_t* value) noexcept {
  return guarded(h, [&](RefDut& d) {
    if (value == nullptr) return invalid(d, "mmio_read: value is NULL");
    if (!mmio_size_ok(size)) return invalid(d, "mmio access size must be 1, 2, 4 or 8");
    return d.mmio_read(addr, size, *value) ? VMSG_DUT_OK : VMSG_DUT_UNMAPPED;
  });
}

int ref_mmio_write(vmsg_dut* h, std::uint64_t addr, std::uint32_t size, std::uint64_t value) noexcept {
  return guarded(h, [&](RefDut& d) {
    if (!mmio_size_ok(size)) return invalid(d, "mmio access size must be 1, 2, 4 or 8");
    return d.mmio_write(addr, size, value) ? VMSG_DUT_OK : VMSG_DUT_UNMAPPED;
  });
}

int ref_advance_time(vmsg_dut* h, std::uint64_t ns) noexcept {
  return guarded(h, [&](RefDut& d) {
    d.advance_time(ns);
    return VMSG_DUT_OK;
  });
}

const char* ref_last_error(vmsg_dut* h) noexcept { return h == nullptr ? "NULL handle" : h->dut.last_error.c_str(); }

int ref_stimulus(vmsg_dut* h, const char* action) noexcept {
  return guarded(h, [&](RefDut& d) {
    if (action == nullptr) return invalid(d, "stimulus: action is NULL");
    return d.stimulus(action);
  });
}

int ref_violations(vmsg_dut* h, char* buf, std::size_t size) noexcept {
  return guarded(h, [&](RefDut& d) {
    if ((buf == nullptr) != (size == 0)) return invalid(d, "violations: buf and size must both be set, or NULL and 0");
    return d.violations(buf, size);
  });
}

int ref_mmio_read_bulk(vmsg_dut* h, std::uint64_t addr, void* buf, std::size_t len) noexcept {
  return guarded(h, [&](RefDut& d) {
    if (buf == nullptr || len == 0) return invalid(d, "mmio_read_bulk: buf is NULL or len is 0");
    return d.mmio_read_bulk(addr, std::span<std::uint8_t>(static_cast<std::uint8_t*>(buf), len));
  });
}

int ref_mmio_write_bulk(vmsg_dut* h, std::uint64_t addr, const void* buf, std::size_t len) noexcept {
  return guarded(h, [&](RefDut& d) {
    if (buf == nullptr || len == 0) return invalid(d, "mmio_write_bulk: buf is NULL or len is 0");
    return d.mmio_write_bulk(addr, std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(buf), len));
  });
}

constexpr vmsg_dut_api kApi = {
    VMSG_DUT_ABI_MAJOR,
    VMSG_DUT_ABI_MINOR,
    sizeof(vmsg_dut_api),
    "vmsg-conform reference (virtio-msg-amp-pci, " VMSG_REF_DUT_VERSION ")",
    ref_create,
    ref_destroy,
    ref_config_read,
    ref_config_write,
    ref_mmio_read,
    ref_mmio_write,
    ref_advance_time,
    ref_last_error,
    ref_stimulus,
    ref_violations,
    ref_mmio_read_bulk,
    ref_mmio_write_bulk,
};

}  // namespace

extern "C" VMSG_DUT_EXPORT const vmsg_dut_api* vmsg_dut_get_api(std::uint32_t abi_major) {
  return abi_major == VMSG_DUT_ABI_MAJOR ? &kApi : nullptr;
}

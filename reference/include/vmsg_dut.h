/*
 * vmsg_dut.h - the C ABI between the vmsg-conform suite (the host) and a
 * device under test built as a shared library (a firmware, FPGA or
 * hypervisor model of a virtio-msg-amp-pci function, or the reference).
 *
 * C99, usable from C and C++. A library includes only this header.
 *
 * ---------------------------------------------------------------------------
 * Loading
 *   The host dlopen()s the library and looks up one symbol, VMSG_DUT_ENTRY
 *   ("vmsg_dut_get_api"). It calls it with the ABI major version it speaks;
 *   the library returns its function table for that major, or NULL when it
 *   does not implement it. The host then checks abi_major, struct_size and
 *   that every required function pointer is set before calling anything else.
 *
 * Versioning
 *   Major: changes the meaning or layout of anything below; a host and a
 *   library only work together when the majors are equal.
 *   Minor: only appends fields to the end of vmsg_dut_api / vmsg_dut_host.
 *   Each struct carries struct_size so either side can tell which fields
 *   the other knows; a field beyond the peer's struct_size is absent.
 *
 * Model
 *   The library models PCI functions on bus segment 0. The host owns guest
 *   RAM (guest-physical 0 upwards), the configuration mechanism (it calls
 *   config_read/config_write with bus/device/function) and the address map.
 *   The driver assigns BARs through configuration space; the library decodes
 *   its own BARs from its own config space (Command.MEM, BAR registers) as
 *   PCI hardware does, and answers mmio_read/mmio_write at the addresses it
 *   decodes. Everything the device does as bus master - DMA, and MSI-X
 *   writes, which is how the host observes interrupts - goes through the
 *   host callbacks. Time only passes in advance_time.
 *   The host is a q35: its chipset functions (00:00.0, 00:1f.0, 00:1f.2,
 *   00:1f.3) are the host's own. It never asks the library about them, and
 *   refuses a library that answers VMSG_DUT_OK for one of those addresses.
 *
 * Threading
 *   The host calls one handle from one thread at a time; the library calls
 *   host callbacks only from inside a call the host made on that handle
 *   (synchronously). Handles are independent: a library must not keep
 *   global mutable state, so several handles can live in one process.
 *
 * Errors
 *   Every call returns a status. VMSG_DUT_OK and the two "nothing there"
 *   answers below are normal outcomes; any other non-zero status is a
 *   failure, and last_error() then returns a message that stays valid until
 *   the next call on the handle. A library must never abort the host
 *   process: bad input gets a status, not a crash.
 *
 * Optional entries (ABI 1.1)
 *   stimulus and violations are capabilities a library may leave out: an
 *   entry is absent when it lies beyond the library's struct_size (a 1.0
 *   library) or is NULL. The host then reports the capability as missing and
 *   the tests that need it skip; nothing else changes.
 *
 * Optional entries (ABI 1.2)
 *   mmio_read_bulk and mmio_write_bulk let the host move a run of bytes in
 *   plain-memory BAR space (the FIFO window) in one call instead of one call
 *   per naturally aligned piece. Absent (beyond struct_size or NULL), the
 *   host splits every transfer itself, exactly as before.
 *
 * ---------------------------------------------------------------------------
 * Configuration string (the same syntax for every library)
 *   Tokens separated by spaces; each token is KEY=VALUE:
 *     num-fifos=N            FIFOs of the amp function (default 1)
 *     addr=DD.F              PCI device.function in hex on bus 0 (default 04.0;
 *                            not one of the host's chipset addresses)
 *     profile=NAME           wire profile: pr28 (default) or rev1-2026; a
 *                            library refuses one it does not speak
 *     strict-config-generation=on|off
 *                            REV1 only: the buses advertise transport
 *                            feature STRICT_CONFIG_GENERATION (default off)
 *     fault=NAME[,NAME...]   reference fault modes (repeatable); a library
 *                            that does not implement faults refuses them
 *     device=KIND,fifo=F,dev=N[,PROP=VALUE...]
 *                            a virtio device (KIND as QEMU names it, e.g.
 *                            virtio-rng-device) at device number N behind
 *                            FIFO F; other properties go to the device
 *                            (virtio-blk-device,capacity=1M,...)
 *   Example:
 *     num-fifos=2 device=virtio-rng-device,fifo=0,dev=1 fault=lose-on-full-ring
 *   The empty string asks for the library's default. A library refuses (NULL
 *   from create, with a message) any key or value it cannot honour, rather
 *   than ignoring it.
 */
#ifndef VMSG_DUT_H
#define VMSG_DUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMSG_DUT_ABI_MAJOR 1u
#define VMSG_DUT_ABI_MINOR 2u

/* The one symbol a library exports. */
#define VMSG_DUT_ENTRY "vmsg_dut_get_api"

#if defined(_WIN32)
#define VMSG_DUT_EXPORT __declspec(dllexport)
#else
#define VMSG_DUT_EXPORT __attribute__((visibility("default")))
#endif

/* ---- status codes --------------------------------------------------------- */

/* Success. */
#define VMSG_DUT_OK 0
/* mmio_read/mmio_write: no BAR of the library decodes all of [addr, addr+size).
 * Not a failure: the host treats the access as unbacked (reads 0, write dropped). */
#define VMSG_DUT_UNMAPPED 1
/* config_read/config_write: no function at this bus/device/function. Not a
 * failure: the host answers all-ones (master abort) and drops writes. */
#define VMSG_DUT_NO_FUNCTION 2
/* stimulus: the action is well formed but this library or device cannot
 * perform it (an unknown verb, a device type without that behaviour). Not a
 * failure: the host reports the capability as missing for that test. (1.1)
 * mmio_read_bulk/mmio_write_bulk: the range is not all plain memory of one
 * BAR; nothing was done and the host splits the transfer itself. (1.2) */
#define VMSG_DUT_UNSUPPORTED 3
/* violations: more lines are pending than fitted in the buffer; call again. (1.1) */
#define VMSG_DUT_MORE 4
/* The host broke a rule of this ABI (size, offset, NULL pointer). */
#define VMSG_DUT_ERR_INVALID (-1)
/* The device model failed; last_error() says why. */
#define VMSG_DUT_ERR_FAILED (-2)

/* Message levels of the log callback. */
#define VMSG_DUT_LOG_ERROR 0
#define VMSG_DUT_LOG_WARN 1
#define VMSG_DUT_LOG_INFO 2
#define VMSG_DUT_LOG_DEBUG 3

/* ---- host callbacks ------------------------------------------------------- */

/* What the host provides: the device's bus-master view of guest memory.
 * create() copies the struct; ctx is passed back unchanged. */
typedef struct vmsg_dut_host {
  uint32_t struct_size; /* sizeof(vmsg_dut_host) as the host was built */
  void* ctx;
  /* DMA read/write of len bytes at guest-physical addr. 0 on success;
   * non-zero when the range is not entirely guest RAM (nothing transferred).
   * Required. */
  int (*mem_read)(void* ctx, uint64_t addr, void* buf, size_t len);
  int (*mem_write)(void* ctx, uint64_t addr, const void* buf, size_t len);
  /* An MSI: a 32-bit little-endian write of data at addr by the function
   * with PCIe requester ID rid (bus << 8 | device << 3 | function). 0 when it
   * landed in RAM. Required. */
  int (*msi_write)(void* ctx, uint16_t rid, uint64_t addr, uint32_t data);
  /* Diagnostic text (NUL-terminated, no newline needed). May be NULL. */
  void (*log)(void* ctx, int level, const char* message);
} vmsg_dut_host;

/* ---- the library ------------------------------------------------------------ */

/* One device-under-test instance. Opaque to the host. */
typedef struct vmsg_dut vmsg_dut;

/* The function table a library returns. The pointers of ABI 1.0 are
 * required; those marked optional may be NULL. */
typedef struct vmsg_dut_api {
  uint32_t abi_major;   /* must equal the major the host asked for */
  uint32_t abi_minor;   /* the library's minor */
  uint32_t struct_size; /* sizeof(vmsg_dut_api) as the library was built */
  const char* name;     /* implementation name and version, for reports */

  /* Builds an instance from a configuration string (syntax above). On
   * failure returns NULL and writes a NUL-terminated message into err (at
   * most err_size bytes, err may be NULL when err_size is 0). */
  vmsg_dut* (*create)(const char* config, const vmsg_dut_host* host, char* err, size_t err_size);
  /* Frees an instance; NULL is ignored. No host callback is made from here. */
  void (*destroy)(vmsg_dut* dut);

  /* Configuration space of bus/device/function. size is 1, 2 or 4, offset
   * is a multiple of size and offset + size <= 4096 (the host splits other
   * accesses). Values are little-endian register contents. */
  int (*config_read)(vmsg_dut* dut, uint8_t bus, uint8_t device, uint8_t function, uint16_t offset,
                     uint32_t size, uint32_t* value);
  int (*config_write)(vmsg_dut* dut, uint8_t bus, uint8_t device, uint8_t function, uint16_t offset,
                      uint32_t size, uint32_t value);

  /* One access of size 1, 2, 4 or 8 bytes at a guest-physical address, any
   * alignment (an unaligned access is the device's to judge). The host only
   * sends addresses that are neither guest RAM nor its ECAM window. */
  int (*mmio_read)(vmsg_dut* dut, uint64_t addr, uint32_t size, uint64_t* value);
  int (*mmio_write)(vmsg_dut* dut, uint64_t addr, uint32_t size, uint64_t value);

  /* Virtual time passed: run timers, retries, deferred work. */
  int (*advance_time)(vmsg_dut* dut, uint64_t ns);

  /* Message of the last failing call on dut (never NULL; "" when none). */
  const char* (*last_error)(vmsg_dut* dut);

  /* ---- ABI 1.1, optional (NULL or beyond struct_size: absent) ---- */

  /* A device-side event the driver did not cause. action is one line of
   * space-separated tokens, a verb first, then KEY=VALUE arguments:
   *   config-change fifo=F dev=N   the device changes its configuration on
   *                                its own (generation bump, EVENT_CONFIG)
   * Returns VMSG_DUT_OK once done, VMSG_DUT_UNSUPPORTED for a verb or device
   * the library cannot do it for, VMSG_DUT_ERR_INVALID for a malformed action
   * or an unknown fifo/dev. Host callbacks may be made from inside. */
  int (*stimulus)(vmsg_dut* dut, const char* action);

  /* The driver-rule violations the device recorded since the last read, as
   * NUL-terminated text, one per line, oldest first:
   *   RULE-ID dev=N KIND: DETAIL\n
   * (RULE-ID a requirement ID of requirements.md, N the header's device
   * number, 0 for bus messages and register accesses; KIND the message or
   * access; no newline inside a field). Whole lines are written while they
   * fit in size bytes (a single line longer than the buffer is cut to fit)
   * and are then forgotten (cleared on read); VMSG_DUT_MORE says lines are
   * still pending, VMSG_DUT_OK that none are. buf == NULL with size == 0
   * is an explicit clear: every pending line is dropped, VMSG_DUT_OK. */
  int (*violations)(vmsg_dut* dut, char* buf, size_t size);

  /* ---- ABI 1.2, optional (NULL or beyond struct_size: absent) ---- */

  /* len bytes at addr (len >= 1; buf not NULL) in one call, when all of
   * [addr, addr+len) is plain memory of one BAR: exactly the bytes the
   * naturally aligned mmio_read/mmio_write pieces of at most 8 bytes would
   * move, with no other effect (no register, no doorbell, no interrupt).
   * Returns VMSG_DUT_OK when done; VMSG_DUT_UNSUPPORTED when any part of the
   * range is not such memory (registers, MSI-X, past the BAR's end) and
   * VMSG_DUT_UNMAPPED when no BAR decodes addr: in both cases nothing was
   * done and the host splits the transfer into single accesses. */
  int (*mmio_read_bulk)(vmsg_dut* dut, uint64_t addr, void* buf, size_t len);
  int (*mmio_write_bulk)(vmsg_dut* dut, uint64_t addr, const void* buf, size_t len);
} vmsg_dut_api;

/* The entry point (exported as VMSG_DUT_ENTRY): the table for abi_major, or
 * NULL when the library does not implement that major. */
typedef const vmsg_dut_api* (*vmsg_dut_get_api_fn)(uint32_t abi_major);

VMSG_DUT_EXPORT const vmsg_dut_api* vmsg_dut_get_api(uint32_t abi_major);

#ifdef __cplusplus
}
#endif

#endif /* VMSG_DUT_H */

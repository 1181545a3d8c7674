/*
 * A small vendor device under test, in plain C99, behind vmsg_dut.h: one
 * virtio-msg-amp-pci function with a single FIFO, and on its bus one
 * virtio-rng device (virtio_rng.c, with its split virtqueue in
 * split_queue.c). This file is the PCI function and the bus: config space
 * with BARs it decodes itself, the BAR0 registers and doorbell, the BAR1
 * rings, MSI-X through the host's msi_write callback, and the bus messages
 * PING and GET_DEVICES. It shows what a vendor library has to provide.
 *
 * Layouts: amp-pci-device.md sections 2-5 and 7; message layouts:
 * virtio-msg.md (PR28 profile).
 *
 * The rules a vendor most often gets wrong, each handled below:
 *   - the device owns the driver queue's tail and the device queue's head and
 *     keeps them privately: a driver scribbling on them moves nothing
 *     (AMP-010); the driver's indices are reduced below the slot count before
 *     use (AMP-013);
 *   - a frame that finds the device queue full waits in a pending queue and
 *     goes out, in order, on the next doorbell or advance_time; every request
 *     gets exactly one response (VMSG-BUS-028, AMP-011);
 *   - bus messages are answered with dev_num 0 whatever the request carried
 *     (VMSG-BUS-020);
 *   - BAR0 reads of any aligned width see the register words as
 *     little-endian bytes (AMP-003, AMP-006).
 *
 * Configuration (vmsg_dut.h, "Configuration string"): the empty string
 * builds the default, one FIFO at 00:04.0 with the rng at device number
 * DEFAULT_RNG_DEV (1). Otherwise the string says everything: num-fifos=1,
 * addr=DD.0, profile=pr28 and at most one device=virtio-rng-device,fifo=0,
 * dev=N (0 <= N < 32) are accepted; without a device token the bus is
 * empty. Anything else is refused with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "virtio_rng.h"
#include "vmsg_dut.h"

enum {
  CFG_SIZE = 4096,  /* what the ABI addresses */
  CFG_HEADER = 256, /* what a conventional function implements; above it reads all-ones */
  BAR0_SIZE = 0x4000,  /* registers */
  BAR1_SIZE = 0x4000,  /* one 16 KiB FIFO window */
  BAR2_SIZE = 0x1000,  /* MSI-X table at 0, PBA at 0x800 */
  MSIX_CAP = 0x40,
  DRV_QUEUE = 0x1000,  /* offsets inside the FIFO window */
  DEV_QUEUE = 0x2000,
  Q_HEAD = 0x00,
  Q_TAIL = 0x40,
  Q_SLOTS = 0x80,
  SLOT_SIZE = 64,
  NUM_SLOTS = 62,
  /* Frames that may wait for room in the device queue (the reference's
   * sizes). The device stops taking requests while fewer than PENDING_RESERVE
   * entries are free; a request makes at most two frames (a response, then
   * EVENT_USED or EVENT_CONFIG), so no frame is ever lost. */
  PENDING_MAX = 256,
  PENDING_RESERVE = 32,
  DEFAULT_RNG_DEV = 1,
  NUM_DEV_NUMS = 32 /* device numbers this bus can hold */
};

/* Command register bits. */
#define CMD_MEM 0x0002u
#define CMD_BUS_MASTER 0x0004u
#define CMD_INTX_DISABLE 0x0400u /* no INTx pin here, but the bit is the driver's to set */
#define CMD_WRITABLE (CMD_MEM | CMD_BUS_MASTER | CMD_INTX_DISABLE)
/* MSI-X Message Control bits. */
#define MSIX_ENABLE 0x8000u
#define MSIX_FUNC_MASK 0x4000u

struct vmsg_dut {
  vmsg_dut_host host;
  /* The devices' view of guest memory: the host's, but refused while Bus
   * Master Enable is clear, since PCI forbids DMA then (PCI-001). */
  vmsg_dut_host dma;
  uint8_t dev;  /* PCI device number on bus 0 (function 0) */
  uint8_t cfg[CFG_HEADER];
  uint32_t bar_base[3];
  uint8_t fifo[BAR1_SIZE];
  uint8_t msix_table[16];
  int msi_pending;
  /* The device's own ring indices (AMP-010): the driver queue's consumer
   * index and the device queue's producer index, always < NUM_SLOTS. BAR1
   * only receives copies of them; they are read back from BAR1 solely to
   * adopt re-initialised rings after memory decoding was switched on. */
  uint32_t drv_tail;
  uint32_t dev_head;
  int resync;
  /* Frames waiting for device-queue room, oldest at pending_first. */
  uint8_t pending[PENDING_MAX][SLOT_SIZE];
  unsigned pending_first, pending_count;
  int stalled; /* requests left unread because pending was full */
  int has_rng;
  virtio_rng rng;
  char error[160];
};

static const uint32_t bar_size[3] = {BAR0_SIZE, BAR1_SIZE, BAR2_SIZE};
static const uint32_t bar_flags[3] = {0x0, 0x8, 0x0}; /* 32-bit memory; BAR1 prefetchable */

static int fail(vmsg_dut* d, int status, const char* msg) {
  snprintf(d->error, sizeof d->error, "vendor-dut: %s", msg);
  return status;
}

/* ---- bus-master DMA ---- */

static int bus_master_read(void* ctx, uint64_t addr, void* buf, size_t len) {
  vmsg_dut* d = (vmsg_dut*)ctx;
  if (!(ld32(d->cfg + 4, 2) & CMD_BUS_MASTER)) return -1;
  return d->host.mem_read(d->host.ctx, addr, buf, len);
}

static int bus_master_write(void* ctx, uint64_t addr, const void* buf, size_t len) {
  vmsg_dut* d = (vmsg_dut*)ctx;
  if (!(ld32(d->cfg + 4, 2) & CMD_BUS_MASTER)) return -1;
  return d->host.mem_write(d->host.ctx, addr, buf, len);
}

/* ---- MSI-X ---- */

static void msix_deliver(vmsg_dut* d) {
  uint32_t ctrl = ld32(d->cfg + MSIX_CAP + 2, 2);
  uint64_t addr;
  uint32_t data;
  if (!(ctrl & MSIX_ENABLE) || (ctrl & MSIX_FUNC_MASK) || (ld32(d->msix_table + 12, 4) & 1u) ||
      !(ld32(d->cfg + 4, 2) & CMD_BUS_MASTER)) {
    d->msi_pending = 1; /* held until unmasked, as PCI requires */
    return;
  }
  d->msi_pending = 0;
  addr = (uint64_t)ld32(d->msix_table, 4) | ((uint64_t)ld32(d->msix_table + 4, 4) << 32);
  data = ld32(d->msix_table + 8, 4);
  d->host.msi_write(d->host.ctx, (uint16_t)(d->dev << 3), addr, data);
}

static void msix_retry(vmsg_dut* d) {
  if (d->msi_pending) msix_deliver(d);
}

/* ---- the rings ---- */

/* A driver-owned index from BAR1, brought below NUM_SLOTS (AMP-013). */
static uint32_t peer_index(const uint8_t* queue, unsigned which) { return ld32(queue + which, 4) % NUM_SLOTS; }

/* Adopts the indices in BAR1 once after memory decoding was switched on:
 * the driver may have zeroed the rings while re-initialising the function. */
static void resync_if_needed(vmsg_dut* d) {
  if (!d->resync) return;
  d->resync = 0;
  d->drv_tail = peer_index(d->fifo + DRV_QUEUE, Q_TAIL);
  d->dev_head = peer_index(d->fifo + DEV_QUEUE, Q_HEAD);
}

/* Writes one frame into the device queue, or returns 0 when it is full
 * (one slot always stays free so that full and empty differ). */
static int place(vmsg_dut* d, const uint8_t* frame) {
  uint8_t* q = d->fifo + DEV_QUEUE;
  uint32_t next = (d->dev_head + 1) % NUM_SLOTS;
  if (next == peer_index(q, Q_TAIL)) return 0;
  memcpy(q + Q_SLOTS + d->dev_head * SLOT_SIZE, frame, SLOT_SIZE);
  d->dev_head = next;
  st(q + Q_HEAD, 4, next);
  msix_deliver(d);
  return 1;
}

/* Places waiting responses, oldest first, while there is room. */
static void flush(vmsg_dut* d) {
  while (d->pending_count > 0 && place(d, d->pending[d->pending_first])) {
    d->pending_first = (d->pending_first + 1) % PENDING_MAX;
    --d->pending_count;
  }
}

/* Sends a frame of len bytes (zero-padded to the slot), after any that wait. */
static void send_frame(vmsg_dut* d, const uint8_t* frame, unsigned len) {
  uint8_t slot[SLOT_SIZE];
  memset(slot, 0, sizeof slot);
  memcpy(slot, frame, len);
  if (d->pending_count == 0 && place(d, slot)) return;
  if (d->pending_count == PENDING_MAX) { /* unreachable: drain() keeps room */
    if (d->host.log) d->host.log(d->host.ctx, VMSG_DUT_LOG_ERROR, "vendor-dut: pending queue overflow");
    return;
  }
  memcpy(d->pending[(d->pending_first + d->pending_count) % PENDING_MAX], slot, SLOT_SIZE);
  ++d->pending_count;
}

/* ---- the bus: its two messages, and routing to the device ---- */

static void rng_send(void* ctx, const uint8_t* frame, unsigned len) { send_frame((vmsg_dut*)ctx, frame, len); }

/* GET_DEVICES: the window [offset, offset + count) as a bitmap, reduced to
 * what a slot carries; next_offset is the window's end while a device lies
 * at or above it, else 0 (virtio-msg.md §5.1). */
static void get_devices(vmsg_dut* d, const uint8_t* m, uint8_t* out) {
  uint32_t offset = ld32(m + 8, 2), count = ld32(m + 10, 2);
  if (offset % 8 || count % 8) return; /* VMSG-BUS-042: dropped */
  if (count > 8 * (SLOT_SIZE - 14)) count = 8 * (SLOT_SIZE - 14);
  if (count > 0x10000u - offset) count = 0x10000u - offset;
  st(out + 6, 2, 14 + count / 8);
  st(out + 8, 2, offset);
  st(out + 10, 2, count);
  st(out + 12, 2, 0);
  if (d->has_rng && d->rng.dev_num >= offset) {
    uint32_t n = d->rng.dev_num - offset;
    if (n < count)
      out[14 + n / 8] = (uint8_t)(1u << (n % 8)); /* LSB first */
    else
      st(out + 12, 2, offset + count);
  }
  send_frame(d, out, 14 + count / 8);
}

static void handle(vmsg_dut* d, const uint8_t* m) {
  uint8_t out[SLOT_SIZE];
  unsigned type = m[0] & 0x03u, id = m[1], dev_num = ld32(m + 2, 2), size = ld32(m + 6, 2);
  if (size < 8 || size > SLOT_SIZE) return; /* no message fits that */
  if (type == 0x00 || type == 0x01) {       /* transport: for the device with that number, if any */
    if (d->has_rng && dev_num == d->rng.dev_num) virtio_rng_receive(&d->rng, m, size);
    return;
  }
  if (type != 0x02) return; /* a bus response from the driver */
  memset(out, 0, sizeof out);
  memcpy(out, m, 6); /* msg_id and token echoed */
  out[0] = 0x03;     /* bus response */
  st(out + 2, 2, 0); /* bus messages carry dev_num 0 (VMSG-BUS-020) */
  if (id == 0x03 && size == 12) { /* PING: data echoed */
    st(out + 6, 2, 12);
    memcpy(out + 8, m + 8, 4);
    send_frame(d, out, 12);
  } else if (id == 0x02 && size == 12) {
    get_devices(d, m, out);
  }
}

/* Takes requests from the driver queue until it is empty, or until the
 * pending queue is full (then advance_time takes the rest). */
static void drain(vmsg_dut* d) {
  uint8_t* q = d->fifo + DRV_QUEUE;
  d->stalled = 0;
  while (d->drv_tail != peer_index(q, Q_HEAD)) {
    uint8_t m[SLOT_SIZE];
    if (d->pending_count >= PENDING_MAX - PENDING_RESERVE) {
      d->stalled = 1;
      return;
    }
    memcpy(m, q + Q_SLOTS + d->drv_tail * SLOT_SIZE, SLOT_SIZE);
    d->drv_tail = (d->drv_tail + 1) % NUM_SLOTS;
    st(q + Q_TAIL, 4, d->drv_tail);
    handle(d, m);
  }
}

static void doorbell(vmsg_dut* d) {
  resync_if_needed(d);
  flush(d);
  drain(d);
}

/* ---- configuration space ---- */

static void cfg_init(vmsg_dut* d) {
  int i;
  st(d->cfg + 0x00, 2, 0x10EE); /* vendor */
  st(d->cfg + 0x02, 2, 0x9039); /* device */
  st(d->cfg + 0x06, 2, 0x0010); /* status: capability list */
  st(d->cfg + 0x08, 4, 0x08800001); /* class 0x088000, revision 1 */
  st(d->cfg + 0x2C, 2, 0x1AF4);
  st(d->cfg + 0x2E, 2, 0x1100);
  d->cfg[0x34] = MSIX_CAP;
  d->cfg[MSIX_CAP] = 0x11;          /* MSI-X, last capability; table size 1 */
  st(d->cfg + MSIX_CAP + 4, 4, 0x00000002); /* table: BAR2 + 0 */
  st(d->cfg + MSIX_CAP + 8, 4, 0x00000802); /* PBA: BAR2 + 0x800 */
  for (i = 0; i < 3; ++i) st(d->cfg + 0x10 + 4 * i, 4, bar_flags[i]);
  st(d->msix_table + 12, 4, 1); /* vector masked at reset */
}

static void cfg_write(vmsg_dut* d, unsigned off, unsigned size, uint32_t value) {
  unsigned i;
  int mem_was_on = (d->cfg[0x04] & CMD_MEM) != 0;
  for (i = 0; i < size; ++i) {
    unsigned o = off + i;
    uint8_t b = (uint8_t)(value >> (8 * i));
    if (o >= 0x10 && o < 0x1C) { /* BAR0..2: base bits only, flags read-only */
      unsigned bar = (o - 0x10) / 4, shift = 8 * ((o - 0x10) % 4);
      uint32_t v = d->bar_base[bar] & ~(0xFFu << shift);
      v |= (uint32_t)b << shift;
      d->bar_base[bar] = v & ~(bar_size[bar] - 1);
      st(d->cfg + 0x10 + 4 * bar, 4, d->bar_base[bar] | bar_flags[bar]);
    } else if (o == 0x04 || o == 0x05) { /* Command: only its writable bits */
      d->cfg[o] = (uint8_t)(b & (CMD_WRITABLE >> (8 * (o - 0x04))));
    } else if (o == MSIX_CAP + 3) {
      d->cfg[o] = b & 0xC0; /* enable and function mask */
    } else if (o == 0x0C || o == 0x3C) {
      d->cfg[o] = b; /* cache line size, interrupt line: plain storage (latency timer is 0 on PCIe) */
    }
  }
  if (!mem_was_on && (d->cfg[0x04] & CMD_MEM)) d->resync = 1; /* adopted at the next use */
  msix_retry(d);
}

/* MSI-X table and PBA take aligned 4- and 8-byte accesses (PCI); others
 * read 0 and are dropped. */
static int msix_access(uint64_t off, uint32_t size) { return (size == 4 || size == 8) && off % size == 0; }

/* The BAR decoding [addr, addr+size) entirely, or -1. */
static int decode(const vmsg_dut* d, uint64_t addr, uint32_t size, uint64_t* off) {
  int i;
  if (!(ld32(d->cfg + 4, 2) & CMD_MEM)) return -1;
  for (i = 0; i < 3; ++i) {
    uint64_t base = d->bar_base[i];
    if (base == 0 || addr < base || addr - base >= bar_size[i]) continue;
    if (addr - base + size > bar_size[i]) return -1;
    *off = addr - base;
    return i;
  }
  return -1;
}

/* ---- the ABI ---- */

static vmsg_dut* vd_create(const char* config, const vmsg_dut_host* host, char* err, size_t err_size) {
  vmsg_dut* d;
  unsigned dev = 4, rng_dev = DEFAULT_RNG_DEV;
  int has_rng = 1;
  const char* p = config ? config : "";
  if (!host || host->struct_size < offsetof(vmsg_dut_host, log) || !host->mem_read || !host->mem_write ||
      !host->msi_write) {
    if (err && err_size) snprintf(err, err_size, "vendor-dut: incomplete host callbacks");
    return NULL;
  }
  if (*p) has_rng = 0; /* a non-empty string lists every device */
  while (*p) {
    char tok[64];
    size_t n = strcspn(p, " ");
    unsigned v;
    if (n == 0) { ++p; continue; }
    if (n >= sizeof tok) n = sizeof tok - 1;
    memcpy(tok, p, n);
    tok[n] = '\0';
    p += strcspn(p, " ");
    if (strcmp(tok, "num-fifos=1") == 0 || strcmp(tok, "profile=pr28") == 0) continue;
    if (sscanf(tok, "addr=%x.0", &v) == 1 && v < 32) { dev = v; continue; }
    if (!has_rng && sscanf(tok, "device=virtio-rng-device,fifo=0,dev=%u", &v) == 1 && v < NUM_DEV_NUMS &&
        strchr(tok + strlen("device=virtio-rng-device,fifo=0,dev="), ',') == NULL) {
      has_rng = 1;
      rng_dev = v;
      continue;
    }
    if (err && err_size)
      snprintf(err, err_size, "vendor-dut: cannot honour '%s' (one FIFO, at most one virtio-rng-device, no faults)",
               tok);
    return NULL;
  }
  d = (vmsg_dut*)calloc(1, sizeof *d);
  if (!d) {
    if (err && err_size) snprintf(err, err_size, "vendor-dut: out of memory");
    return NULL;
  }
  memset(&d->host, 0, sizeof d->host);
  memcpy(&d->host, host, host->struct_size < sizeof d->host ? host->struct_size : sizeof d->host);
  d->dev = (uint8_t)dev;
  cfg_init(d);
  d->has_rng = has_rng;
  d->dma.struct_size = (uint32_t)sizeof d->dma;
  d->dma.ctx = d;
  d->dma.mem_read = bus_master_read;
  d->dma.mem_write = bus_master_write;
  if (has_rng) virtio_rng_init(&d->rng, &d->dma, (uint16_t)rng_dev, rng_send, d);
  return d;
}

static void vd_destroy(vmsg_dut* d) {
  if (d && d->has_rng) virtio_rng_destroy(&d->rng);
  free(d);
}

static int vd_config_read(vmsg_dut* d, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t size,
                          uint32_t* value) {
  if (!d || !value) return VMSG_DUT_ERR_INVALID;
  if (bus != 0 || dev != d->dev || fn != 0) return VMSG_DUT_NO_FUNCTION;
  if ((size != 1 && size != 2 && size != 4) || off % size || off + size > CFG_SIZE)
    return fail(d, VMSG_DUT_ERR_INVALID, "bad config access");
  /* No extended config space: like a master abort, all-ones, as a
   * conventional PCI function reads there. */
  *value = off >= CFG_HEADER ? (uint32_t)(0xFFFFFFFFull >> (32 - 8 * size)) : ld32(d->cfg + off, size);
  return VMSG_DUT_OK;
}

static int vd_config_write(vmsg_dut* d, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t size,
                           uint32_t value) {
  if (!d) return VMSG_DUT_ERR_INVALID;
  if (bus != 0 || dev != d->dev || fn != 0) return VMSG_DUT_NO_FUNCTION;
  if ((size != 1 && size != 2 && size != 4) || off % size || off + size > CFG_SIZE)
    return fail(d, VMSG_DUT_ERR_INVALID, "bad config access");
  cfg_write(d, off, size, value);
  return VMSG_DUT_OK;
}

static int vd_mmio_read(vmsg_dut* d, uint64_t addr, uint32_t size, uint64_t* value) {
  uint64_t off = 0;
  int bar;
  if (!d || !value) return VMSG_DUT_ERR_INVALID;
  bar = decode(d, addr, size, &off);
  if (bar < 0) return VMSG_DUT_UNMAPPED;
  *value = 0;
  if (bar == 0) {
    /* Register words as little-endian bytes: VERSION (0x00) reads 1, FEATURES
     * and the write-only NOTIFY registers read 0. Unaligned reads read 0. */
    unsigned i;
    if (off % size == 0)
      for (i = 0; i < size; ++i)
        if (off + i == 0) *value |= 1u;
  } else if (bar == 1) {
    unsigned i;
    for (i = 0; i < size; ++i) *value |= (uint64_t)d->fifo[off + i] << (8 * i);
  } else if (msix_access(off, size)) {
    if (off + size <= sizeof d->msix_table) {
      unsigned i;
      for (i = 0; i < size; ++i) *value |= (uint64_t)d->msix_table[off + i] << (8 * i);
    } else if (off == 0x800) {
      *value = (uint64_t)d->msi_pending; /* PBA bit 0 */
    }
  }
  return VMSG_DUT_OK;
}

static int vd_mmio_write(vmsg_dut* d, uint64_t addr, uint32_t size, uint64_t value) {
  uint64_t off = 0;
  int bar;
  unsigned i;
  if (!d) return VMSG_DUT_ERR_INVALID;
  bar = decode(d, addr, size, &off);
  if (bar < 0) return VMSG_DUT_UNMAPPED;
  if (bar == 0) {
    if (off == 0x20 && size == 4) doorbell(d); /* NOTIFY0 */
  } else if (bar == 1) {
    for (i = 0; i < size; ++i) d->fifo[off + i] = (uint8_t)(value >> (8 * i));
  } else if (msix_access(off, size) && off + size <= sizeof d->msix_table) { /* the PBA is read-only */
    for (i = 0; i < size; ++i) d->msix_table[off + i] = (uint8_t)(value >> (8 * i));
    msix_retry(d);
  }
  return VMSG_DUT_OK;
}

/* Time alone moves responses that waited for room, and requests left
 * unread while they waited. */
static int vd_advance_time(vmsg_dut* d, uint64_t ns) {
  (void)ns;
  if (!d) return VMSG_DUT_ERR_INVALID;
  resync_if_needed(d);
  flush(d);
  if (d->stalled) drain(d);
  return VMSG_DUT_OK;
}

static const char* vd_last_error(vmsg_dut* d) { return d ? d->error : "NULL handle"; }

static const vmsg_dut_api api = {
    VMSG_DUT_ABI_MAJOR, VMSG_DUT_ABI_MINOR, sizeof(vmsg_dut_api), "vendor-dut example 1.0",
    vd_create, vd_destroy, vd_config_read, vd_config_write, vd_mmio_read, vd_mmio_write,
    vd_advance_time, vd_last_error,
    /* ABI 1.1 optional entries (stimulus, violations): not offered, so the
     * tests that need them skip on this library. */
    NULL, NULL,
    /* ABI 1.2 optional entries (bulk BAR access): not offered; the host
     * splits every transfer into single accesses. */
    NULL, NULL,
};

VMSG_DUT_EXPORT const vmsg_dut_api* vmsg_dut_get_api(uint32_t abi_major) {
  return abi_major == VMSG_DUT_ABI_MAJOR ? &api : NULL;
}

/* The device side of a split virtqueue; see split_queue.h. Ring layout:
 * virtio 1.x "The Virtqueue Descriptor Table", "The Virtqueue Available
 * Ring", "The Virtqueue Used Ring". Every driver-written value is checked
 * before use; a broken ring is reported (-1) so the transport can set
 * DEVICE_NEEDS_RESET, never followed. */
#include "split_queue.h"

#include "le.h"

enum {
  DESC_SIZE = 16,
  F_NEXT = 1,
  F_WRITE = 2,
  F_INDIRECT = 4,
  AVAIL_IDX = 2,
  AVAIL_RING = 4,
  AVAIL_F_NO_INTERRUPT = 1,
  USED_IDX = 2,
  USED_RING = 4,
  USED_ELEM = 8
};

/* Whether [addr, addr + bytes) stays below 2^64 (bytes >= 1). */
static int fits(uint64_t addr, uint64_t bytes) { return addr <= UINT64_MAX - (bytes - 1); }

static int mem_read(const split_queue* q, uint64_t addr, uint8_t* buf, uint32_t len) {
  if (!fits(addr, len)) return -1;
  return q->host->mem_read(q->host->ctx, addr, buf, len) == 0 ? 0 : -1;
}

int sq_write_mem(const split_queue* q, uint64_t addr, const uint8_t* buf, uint32_t len) {
  if (!fits(addr, len)) return -1;
  return q->host->mem_write(q->host->ctx, addr, buf, len) == 0 ? 0 : -1;
}

static int read16(const split_queue* q, uint64_t addr, uint16_t* v) {
  uint8_t b[2];
  if (mem_read(q, addr, b, 2) != 0) return -1;
  *v = (uint16_t)ld(b, 2);
  return 0;
}

int sq_layout_ok(uint32_t size, uint32_t max, uint64_t desc, uint64_t avail, uint64_t used) {
  if (size == 0 || size > max || (size & (size - 1)) != 0) return 0;
  if (desc % 16 || avail % 2 || used % 4) return 0;
  return fits(desc, (uint64_t)DESC_SIZE * size) && fits(avail, 6 + 2 * (uint64_t)size) &&
         fits(used, 6 + (uint64_t)USED_ELEM * size);
}

void sq_init(split_queue* q, const vmsg_dut_host* host, uint32_t size, uint64_t desc, uint64_t avail,
             uint64_t used) {
  q->host = host;
  q->size = size;
  q->desc = desc;
  q->avail = avail;
  q->used = used;
  q->last_avail = q->used_idx = q->signalled = 0;
}

/* Follows the chain from head, keeping its writable pieces. Readable pieces
 * (none matter to an rng) are checked and skipped. Either direction's total
 * must fit 32 bits. */
static int walk(const split_queue* q, uint16_t head, sq_chain* c) {
  uint32_t idx = head, visited = 0;
  uint64_t readable = 0, writable = 0;
  int seen_writable = 0;
  c->head = head;
  c->pieces = 0;
  for (;;) {
    uint8_t d[DESC_SIZE];
    uint64_t addr;
    uint32_t len;
    unsigned flags;
    if (idx >= q->size) return -1;      /* next points outside the table */
    if (++visited > q->size) return -1; /* more visits than descriptors: a loop */
    if (mem_read(q, q->desc + (uint64_t)DESC_SIZE * idx, d, DESC_SIZE) != 0) return -1;
    addr = ld(d, 8);
    len = (uint32_t)ld(d + 8, 4);
    flags = (unsigned)ld(d + 12, 2);
    if (flags & F_INDIRECT) return -1; /* not offered */
    if (flags & F_WRITE) {
      seen_writable = 1;
      writable += len;
      if (writable > 0xFFFFFFFFu) return -1; /* used.len could not say it */
      if (len != 0) {
        c->addr[c->pieces] = addr;
        c->len[c->pieces] = len;
        ++c->pieces;
      }
    } else if (seen_writable) {
      return -1; /* readable after writable */
    } else if ((readable += len) > 0xFFFFFFFFu) {
      return -1;
    }
    if (!(flags & F_NEXT)) return 0;
    idx = (uint32_t)ld(d + 14, 2);
  }
}

int sq_pop(split_queue* q, sq_chain* c) {
  uint16_t avail_idx, head;
  uint16_t pending;
  if (read16(q, q->avail + AVAIL_IDX, &avail_idx) != 0) return -1;
  pending = (uint16_t)(avail_idx - q->last_avail);
  if (pending > q->size) return -1; /* the index jumped by more than the ring holds */
  if (pending == 0) return 0;
  if (read16(q, q->avail + AVAIL_RING + 2u * (q->last_avail & (q->size - 1)), &head) != 0) return -1;
  if (head >= q->size || walk(q, head, c) != 0) return -1;
  ++q->last_avail;
  return 1;
}

int sq_push_used(split_queue* q, uint16_t head, uint32_t len) {
  uint8_t elem[USED_ELEM], idx[2];
  uint16_t next = (uint16_t)(q->used_idx + 1);
  st(elem, 4, head);
  st(elem + 4, 4, len);
  st(idx, 2, next);
  /* The element first, then the index that publishes it. */
  if (sq_write_mem(q, q->used + USED_RING + (uint64_t)USED_ELEM * (q->used_idx & (q->size - 1)), elem,
                   USED_ELEM) != 0 ||
      sq_write_mem(q, q->used + USED_IDX, idx, 2) != 0)
    return -1;
  q->used_idx = next;
  return 0;
}

int sq_should_notify(split_queue* q) {
  uint16_t flags;
  if (q->used_idx == q->signalled) return 0;
  if (read16(q, q->avail, &flags) != 0) return -1;
  q->signalled = q->used_idx;
  return (flags & AVAIL_F_NO_INTERRUPT) ? 0 : 1;
}

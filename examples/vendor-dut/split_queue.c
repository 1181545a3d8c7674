/* The device side of a split virtqueue; see split_queue.h. Ring layout:
 * virtio 1.x "The Virtqueue Descriptor Table", "Indirect Descriptors", "The
 * Virtqueue Available Ring", "The Virtqueue Used Ring", "Used Buffer
 * Notification Suppression". Every driver-written value is checked before
 * use; a broken ring is reported (-1) so the transport can set
 * DEVICE_NEEDS_RESET, never followed. */
#include "split_queue.h"

#include <stdlib.h>

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
  USED_ELEM = 8,
  MAX_REACHABLE = 65536 /* distinct entries a 16-bit next can name */
};

/* Whether [addr, addr + bytes) stays below 2^64 (bytes >= 1). */
static int fits(uint64_t addr, uint64_t bytes) { return addr <= UINT64_MAX - (bytes - 1); }

static int mem_read(const split_queue* q, uint64_t addr, uint8_t* buf, uint32_t len) {
  if (!fits(addr, len)) return -1;
  return q->host->mem_read(q->host->ctx, addr, buf, len) == 0 ? 0 : -1;
}

static int mem_write(const split_queue* q, uint64_t addr, const uint8_t* buf, uint32_t len) {
  if (!fits(addr, len)) return -1;
  return q->host->mem_write(q->host->ctx, addr, buf, len) == 0 ? 0 : -1;
}

static int read16(const split_queue* q, uint64_t addr, uint16_t* v) {
  uint8_t b[2];
  if (mem_read(q, addr, b, 2) != 0) return -1;
  *v = (uint16_t)ld(b, 2);
  return 0;
}

static int write16(const split_queue* q, uint64_t addr, uint16_t v) {
  uint8_t b[2];
  st(b, 2, v);
  return mem_write(q, addr, b, 2);
}

int sq_layout_ok(uint32_t size, uint32_t max, uint64_t desc, uint64_t avail, uint64_t used) {
  if (size == 0 || size > max || size > SQ_MAX_SIZE || (size & (size - 1)) != 0) return 0;
  if (desc % 16 || avail % 2 || used % 4) return 0;
  return fits(desc, (uint64_t)DESC_SIZE * size) && fits(avail, 6 + 2 * (uint64_t)size) &&
         fits(used, 6 + (uint64_t)USED_ELEM * size);
}

void sq_init(split_queue* q, const vmsg_dut_host* host, uint32_t size, uint64_t desc, uint64_t avail,
             uint64_t used, int indirect, int event_idx) {
  q->host = host;
  q->size = size;
  q->desc = desc;
  q->avail = avail;
  q->used = used;
  q->indirect = indirect;
  q->event_idx = event_idx;
  q->last_avail = q->used_idx = q->signalled = 0;
}

static int add_piece(sq_chain* c, uint64_t addr, uint32_t len) {
  if (c->pieces == c->capacity) {
    unsigned cap = c->capacity ? 2 * c->capacity : 16;
    sq_piece* p = (sq_piece*)realloc(c->piece, cap * sizeof *p);
    if (!p) return -1;
    c->piece = p;
    c->capacity = cap;
  }
  c->piece[c->pieces].addr = addr;
  c->piece[c->pieces].len = len;
  ++c->pieces;
  return 0;
}

/* Follows the chain from head through the descriptor table and at most one
 * indirect table, keeping its writable pieces. Readable pieces (none matter
 * to an rng) are checked and skipped. Either direction's total must fit 32
 * bits. */
static int walk(const split_queue* q, uint16_t head, sq_chain* c) {
  uint64_t table = q->desc, readable = 0;
  uint32_t entries = q->size; /* valid indices are below this */
  uint32_t limit = q->size;   /* descriptors a loop-free walk can visit */
  uint32_t idx = head, visited = 0;
  int in_indirect = 0, seen_writable = 0;
  c->head = head;
  c->writable = 0;
  c->pieces = 0;
  for (;;) {
    uint8_t d[DESC_SIZE];
    uint64_t addr;
    uint32_t len;
    unsigned flags;
    if (idx >= entries) return -1;  /* next points outside the table */
    if (++visited > limit) return -1; /* more visits than entries: a loop */
    if (mem_read(q, table + (uint64_t)DESC_SIZE * idx, d, DESC_SIZE) != 0) return -1;
    addr = ld(d, 8);
    len = ld32(d + 8, 4);
    flags = ld32(d + 12, 2);
    if (flags & F_INDIRECT) { /* one level, a whole number of descriptors, not chained on */
      if (!q->indirect || in_indirect || (flags & F_NEXT) || len == 0 || len % DESC_SIZE) return -1;
      if (!fits(addr, len)) return -1;
      in_indirect = 1;
      table = addr;
      entries = len / DESC_SIZE;
      limit = entries < MAX_REACHABLE ? entries : MAX_REACHABLE;
      idx = 0;
      visited = 0;
      continue;
    }
    if (flags & F_WRITE) {
      seen_writable = 1;
      if ((c->writable += len) > 0xFFFFFFFFu) return -1; /* used.len could not say it */
      if (len != 0 && add_piece(c, addr, len) != 0) return -1;
    } else if (seen_writable) {
      return -1; /* readable after writable */
    } else if ((readable += len) > 0xFFFFFFFFu) {
      return -1;
    }
    if (!(flags & F_NEXT)) return 0;
    idx = ld32(d + 14, 2);
  }
}

int sq_pop(split_queue* q, sq_chain* c) {
  uint16_t avail_idx, head, pending;
  if (read16(q, q->avail + AVAIL_IDX, &avail_idx) != 0) return -1;
  pending = (uint16_t)(avail_idx - q->last_avail);
  if (pending > q->size) return -1; /* the index jumped by more than the ring holds */
  if (pending == 0) {
    if (!q->event_idx) return 0;
    /* Ask for a kick at the next entry (avail_event), then look again: the
     * driver may have published before it could see the request. */
    if (write16(q, q->used + USED_RING + (uint64_t)USED_ELEM * q->size, q->last_avail) != 0 ||
        read16(q, q->avail + AVAIL_IDX, &avail_idx) != 0)
      return -1;
    pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending > q->size) return -1;
    if (pending == 0) return 0;
  }
  if (read16(q, q->avail + AVAIL_RING + 2u * (q->last_avail & (q->size - 1)), &head) != 0) return -1;
  if (head >= q->size || walk(q, head, c) != 0) return -1;
  ++q->last_avail;
  return 1;
}

int sq_write(const split_queue* q, const sq_chain* c, uint64_t offset, const uint8_t* buf, uint32_t n) {
  uint32_t done = 0;
  unsigned i;
  for (i = 0; i < c->pieces && done < n; ++i) {
    const sq_piece* p = &c->piece[i];
    uint32_t k;
    if (offset >= p->len) {
      offset -= p->len;
      continue;
    }
    k = p->len - (uint32_t)offset < n - done ? p->len - (uint32_t)offset : n - done;
    if (!fits(p->addr, offset + 1) || mem_write(q, p->addr + offset, buf + done, k) != 0) return -1;
    done += k;
    offset = 0;
  }
  return 0;
}

int sq_push_used(split_queue* q, uint16_t head, uint32_t len) {
  uint8_t elem[USED_ELEM];
  uint16_t next = (uint16_t)(q->used_idx + 1);
  st(elem, 4, head);
  st(elem + 4, 4, len);
  /* The element first, then the index that publishes it. */
  if (mem_write(q, q->used + USED_RING + (uint64_t)USED_ELEM * (q->used_idx & (q->size - 1)), elem, USED_ELEM) != 0 ||
      write16(q, q->used + USED_IDX, next) != 0)
    return -1;
  q->used_idx = next;
  return 0;
}

int sq_should_notify(split_queue* q) {
  uint16_t v;
  int notify;
  if (q->used_idx == q->signalled) return 0;
  if (q->event_idx) { /* used_event: tell the driver once the index passed it */
    if (read16(q, q->avail + AVAIL_RING + 2u * q->size, &v) != 0) return -1;
    notify = (uint16_t)(q->used_idx - v - 1) < (uint16_t)(q->used_idx - q->signalled);
  } else {
    if (read16(q, q->avail, &v) != 0) return -1;
    notify = !(v & AVAIL_F_NO_INTERRUPT);
  }
  q->signalled = q->used_idx;
  return notify;
}

void sq_chain_free(sq_chain* c) {
  free(c->piece);
  c->piece = NULL;
  c->pieces = c->capacity = 0;
}

/* The device side of one split virtqueue in guest memory (virtio 1.x
 * "Split Virtqueues"), read and written only through the DMA callbacks it is
 * given. Optional ring features: indirect descriptors and EVENT_IDX, when
 * negotiated; without EVENT_IDX the driver's NO_INTERRUPT flag is honoured. */
#ifndef VENDOR_DUT_SPLIT_QUEUE_H
#define VENDOR_DUT_SPLIT_QUEUE_H

#include <stdint.h>

#include "vmsg_dut.h"

/* The largest queue virtio allows. */
#define SQ_MAX_SIZE 32768u

typedef struct split_queue {
  const vmsg_dut_host* host;
  uint32_t size;              /* power of two, <= SQ_MAX_SIZE */
  uint64_t desc, avail, used; /* descriptor table, driver area, device area */
  int indirect, event_idx;    /* negotiated ring features */
  uint16_t last_avail;        /* next available-ring entry to take */
  uint16_t used_idx;          /* our copy of used->idx: never read back from memory */
  uint16_t signalled;         /* used_idx when the driver was last considered for a notification */
} split_queue;

/* One device-writable piece of a chain. */
typedef struct sq_piece {
  uint64_t addr;
  uint32_t len;
} sq_piece;

/* The writable part of one descriptor chain. Start it zeroed; sq_pop grows
 * piece[] as needed and sq_chain_free releases it. */
typedef struct sq_chain {
  uint16_t head;
  uint64_t writable; /* total bytes, < 2^32 */
  unsigned pieces, capacity;
  sq_piece* piece;
} sq_chain;

/* Whether the driver's SET_VQUEUE values make a usable queue: size a power of
 * two up to max, the areas aligned (16/2/4) and not wrapping past 2^64. */
int sq_layout_ok(uint32_t size, uint32_t max, uint64_t desc, uint64_t avail, uint64_t used);
void sq_init(split_queue* q, const vmsg_dut_host* host, uint32_t size, uint64_t desc, uint64_t avail,
             uint64_t used, int indirect, int event_idx);
/* 1: a chain was taken into *c; 0: nothing available; -1: the driver broke
 * the ring (bad index, loop, bad flags, memory that is not RAM), or no memory
 * was left for the chain's pieces. */
int sq_pop(split_queue* q, sq_chain* c);
/* Writes n bytes at byte offset `offset` of the chain's writable pieces:
 * 0 done, -1 when guest memory refused. */
int sq_write(const split_queue* q, const sq_chain* c, uint64_t offset, const uint8_t* buf, uint32_t n);
/* Returns a chain with len bytes written: 0, or -1 when memory failed. */
int sq_push_used(split_queue* q, uint16_t head, uint32_t len);
/* 1: tell the driver (EVENT_USED); 0: nothing new or suppressed; -1: memory failed. */
int sq_should_notify(split_queue* q);
void sq_chain_free(sq_chain* c);

#endif

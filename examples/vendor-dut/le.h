/* Little-endian loads and stores of shared data (FIFO slots, messages, guest
 * memory): byte by byte, so no struct punning and no host-endianness
 * assumption. */
#ifndef VENDOR_DUT_LE_H
#define VENDOR_DUT_LE_H

#include <stdint.h>

static inline uint64_t ld(const uint8_t* p, unsigned size) {
  uint64_t v = 0;
  unsigned i;
  for (i = 0; i < size; ++i) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* A field of at most 4 bytes. */
static inline uint32_t ld32(const uint8_t* p, unsigned size) { return (uint32_t)ld(p, size <= 4 ? size : 4); }

static inline void st(uint8_t* p, unsigned size, uint64_t v) {
  unsigned i;
  for (i = 0; i < size; ++i) p[i] = (uint8_t)(v >> (8 * i));
}

#endif

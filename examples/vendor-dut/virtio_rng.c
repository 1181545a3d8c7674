/* The virtio-rng device behind the virtio-msg transport; see virtio_rng.h.
 * Where the draft leaves room, this follows the reference's readings
 * (virtio-msg.md §14.2): a bad request is answered without effect, a broken
 * ring sets DEVICE_NEEDS_RESET and announces it once with EVENT_CONFIG. */
#include "virtio_rng.h"

#include <string.h>

#include "le.h"

enum {
  MAX_MSG = 64, /* the AMP slot: the bus maximum */
  RNG_DEVICE_ID = 4,
  QUEUE_MAX = 256,
  /* transport message IDs (virtio-msg.md §4.1) */
  GET_DEVICE_INFO = 0x02,
  GET_DEVICE_FEATURES = 0x03,
  SET_DRIVER_FEATURES = 0x04,
  GET_CONFIG = 0x05,
  SET_CONFIG = 0x06,
  GET_DEVICE_STATUS = 0x07,
  SET_DEVICE_STATUS = 0x08,
  GET_VQUEUE = 0x09,
  SET_VQUEUE = 0x0A,
  RESET_VQUEUE = 0x0B,
  GET_SHM = 0x0C,
  EVENT_CONFIG = 0x40,
  EVENT_AVAIL = 0x41,
  EVENT_USED = 0x42,
  /* device status bits */
  DRIVER_OK = 0x04,
  FEATURES_OK = 0x08,
  NEEDS_RESET = 0x40
};

/* Offered: the ring features the queue implements (INDIRECT_DESC 28,
 * EVENT_IDX 29), VERSION_1 (32) and RING_RESET (40: RESET_VQUEUE, which this
 * device honours anyway). The rng has no feature bits of its own. */
#define F_INDIRECT_DESC (1ull << 28)
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)
#define F_RING_RESET (1ull << 40)
#define OFFERED_FEATURES (F_INDIRECT_DESC | F_EVENT_IDX | F_VERSION_1 | F_RING_RESET)
#define FEATURE_BLOCKS 2u /* bits 0..63 */
#define VENDOR_ID 0x4D534756u /* the reference's ("VGSM"); a vendor reports its own */
#define RNG_SEED 0x766D7367726E6700ull /* the reference's ("vmsgrng") */

/* ---- sending ---- */

static void post(virtio_rng* r, uint8_t type, uint8_t id, uint16_t token, uint8_t* f, unsigned size) {
  f[0] = type;
  f[1] = id;
  st(f + 2, 2, r->dev_num); /* our own number (VMSG-DEV-018) */
  st(f + 4, 2, token);
  st(f + 6, 2, size);
  r->send(r->send_ctx, f, size);
}

/* DEVICE_NEEDS_RESET, announced once per reset cycle as a status-only
 * EVENT_CONFIG (length 0, generation unchanged). */
static void needs_reset(virtio_rng* r) {
  uint8_t f[24];
  if (r->status & NEEDS_RESET) return;
  r->status |= NEEDS_RESET;
  memset(f, 0, sizeof f);
  st(f + 8, 4, r->status);
  st(f + 12, 4, r->generation);
  post(r, 0x00, EVENT_CONFIG, 0, f, 24);
}

/* ---- the byte source: xoshiro256** seeded through splitmix64 ---- */

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t* x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t xoshiro_next(uint64_t s[4]) {
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* The next n bytes of the stream (each word gives 8, low byte first). A
 * reset keeps the position: handing out the same entropy twice is a defect. */
static void random_bytes(virtio_rng* r, uint8_t* out, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; ++i) {
    if (r->word_left == 0) {
      r->word = xoshiro_next(r->rng);
      r->word_left = 8;
    }
    out[i] = (uint8_t)r->word;
    r->word >>= 8;
    --r->word_left;
  }
}

/* Fills every writable byte of a chain, 256 bytes at a time; -1 when guest
 * memory refused. */
static int fill_chain(virtio_rng* r, const sq_chain* c) {
  uint64_t done = 0;
  while (done < c->writable) {
    uint8_t buf[256];
    uint32_t n = c->writable - done < sizeof buf ? (uint32_t)(c->writable - done) : (uint32_t)sizeof buf;
    random_bytes(r, buf, n);
    if (sq_write(&r->vq, c, done, buf, n) != 0) return -1;
    done += n;
  }
  return 0;
}

/* ---- the virtqueue ---- */

static int can_process(const virtio_rng* r) {
  /* Nothing before DRIVER_OK, nothing on a broken device (VMSG-DEV-032). */
  return (r->status & DRIVER_OK) && !(r->status & NEEDS_RESET) && r->queue_live;
}

/* Serves every available chain, then tells the driver (EVENT_USED) unless
 * it suppressed notifications. */
static void run_queue(virtio_rng* r) {
  sq_chain* c = &r->chain;
  int got, notify;
  while ((got = sq_pop(&r->vq, c)) == 1) {
    if (fill_chain(r, c) != 0 || sq_push_used(&r->vq, c->head, (uint32_t)c->writable) != 0) {
      needs_reset(r);
      return;
    }
  }
  if (got < 0) {
    needs_reset(r);
    return;
  }
  notify = sq_should_notify(&r->vq);
  if (notify < 0) {
    needs_reset(r);
  } else if (notify) {
    uint8_t f[12];
    memset(f, 0, sizeof f);
    st(f + 8, 4, 0); /* vq_index */
    post(r, 0x00, EVENT_USED, 0, f, 12);
  }
}

/* ---- the requests ---- */

static void reset_device(virtio_rng* r) {
  r->status = 0;
  r->driver_features = 0;
  r->features_accepted = 0;
  r->features_out_of_range = 0;
  r->queue_live = 0;
  /* The generation survives a reset (virtio-msg.md §10). */
}

/* Only offered bits, VERSION_1 among them (no legacy interface), none past bit 63. */
static int features_acceptable(const virtio_rng* r) {
  return (r->driver_features & ~OFFERED_FEATURES) == 0 && (r->driver_features & F_VERSION_1) &&
         !r->features_out_of_range;
}

/* Returns the response size written into out (0: no response), and sets
 * *start when DRIVER_OK was just set. */
static unsigned answer(virtio_rng* r, unsigned id, const uint8_t* m, unsigned size, uint8_t* out, int* start) {
  switch (id) {
    case GET_DEVICE_INFO: /* answered in every state (VMSG-DEV-044) */
      if (size != 8) return 0;
      st(out + 8, 4, RNG_DEVICE_ID);
      st(out + 12, 4, VENDOR_ID);
      st(out + 16, 4, 32 * FEATURE_BLOCKS);
      st(out + 20, 4, 0); /* config_size: virtio-rng has no configuration */
      st(out + 24, 4, 1); /* max_virtqueues */
      return 32;
    case GET_DEVICE_FEATURES: {
      uint64_t block = ld(m + 8, 4);
      uint32_t n = (uint32_t)ld(m + 12, 4), i;
      if (size != 16) return 0;
      if (n > (MAX_MSG - 16) / 4) n = (MAX_MSG - 16) / 4; /* as many blocks as fit (§14.2 G3) */
      st(out + 8, 4, block);
      st(out + 12, 4, n);
      for (i = 0; i < n; ++i) /* offered bits; blocks past ours read 0 */
        st(out + 16 + 4 * i, 4, block + i < FEATURE_BLOCKS ? OFFERED_FEATURES >> (32 * (block + i)) : 0);
      return 16 + 4 * n;
    }
    case SET_DRIVER_FEATURES: {
      uint64_t block = ld(m + 8, 4), n = ld(m + 12, 4), i;
      if (size < 16 || size != 16 + 4 * n) return 0;
      if (r->features_accepted) return 8; /* frozen once FEATURES_OK was accepted */
      for (i = 0; i < n; ++i) {
        uint64_t word = ld(m + 16 + 4 * i, 4);
        if (block + i < FEATURE_BLOCKS) {
          unsigned shift = (unsigned)(32 * (block + i));
          r->driver_features = (r->driver_features & ~(0xFFFFFFFFull << shift)) | (word << shift);
        } else if (word != 0) {
          r->features_out_of_range = 1; /* surely not offered: FEATURES_OK will be refused */
        }
      }
      return 8;
    }
    case GET_CONFIG: { /* no config space: every request reads nothing (length 0) */
      if (size != 16) return 0;
      st(out + 8, 4, r->generation);
      memcpy(out + 12, m + 8, 4); /* offset echoed */
      st(out + 16, 4, 0);
      return 20;
    }
    case SET_CONFIG: { /* nothing to write: rejected, length 0 */
      if (size < 20 || size != 20 + ld(m + 16, 4)) return 0;
      st(out + 8, 4, r->generation);
      memcpy(out + 12, m + 12, 4);
      st(out + 16, 4, 0);
      return 20;
    }
    case GET_DEVICE_STATUS:
      if (size != 8) return 0;
      st(out + 8, 4, r->status);
      return 12;
    case SET_DEVICE_STATUS: {
      uint32_t s = (uint32_t)ld(m + 8, 4) & 0xFFu; /* the core status is 8 bits */
      if (size != 12) return 0;
      if (s == 0) {
        reset_device(r);
      } else {
        s = (s & ~(uint32_t)NEEDS_RESET) | (r->status & NEEDS_RESET); /* ours to set, a reset's to clear */
        if ((s & FEATURES_OK) && !r->features_accepted) {
          if (features_acceptable(r))
            r->features_accepted = 1;
          else
            s &= ~(uint32_t)FEATURES_OK; /* the refusal shows in the result */
        }
        *start = (s & DRIVER_OK) && !(r->status & DRIVER_OK);
        r->status = s;
      }
      st(out + 8, 4, r->status);
      return 12;
    }
    case GET_VQUEUE: {
      uint32_t index = (uint32_t)ld(m + 8, 4);
      if (size != 12) return 0;
      st(out + 8, 4, index); /* the rest stays 0 for a queue we do not have */
      if (index == 0) {
        st(out + 12, 4, QUEUE_MAX);
        if (r->queue_live) { /* cur_size 0: not configured */
          st(out + 16, 4, r->vq.size);
          st(out + 24, 8, r->vq.desc);
          st(out + 32, 8, r->vq.avail);
          st(out + 40, 8, r->vq.used);
        }
      }
      return 48;
    }
    case SET_VQUEUE: { /* always answered; a bad one changes nothing */
      uint32_t qsize = (uint32_t)ld(m + 16, 4);
      uint64_t desc = ld(m + 24, 8), avail = ld(m + 32, 8), used = ld(m + 40, 8);
      if (size != 48) return 0;
      if (ld(m + 8, 4) == 0 && sq_layout_ok(qsize, QUEUE_MAX, desc, avail, used)) {
        uint64_t ring = r->driver_features & OFFERED_FEATURES; /* normally frozen by FEATURES_OK */
        sq_init(&r->vq, r->host, qsize, desc, avail, used, (ring & F_INDIRECT_DESC) != 0,
                (ring & F_EVENT_IDX) != 0); /* live from now on */
        r->queue_live = 1;
      }
      return 8;
    }
    case RESET_VQUEUE:
      if (size != 12) return 0;
      if (ld(m + 8, 4) == 0) r->queue_live = 0; /* synchronous: quiesced once dropped */
      return 8;
    case GET_SHM: /* no shared memory: every region has length 0 */
      if (size != 12) return 0;
      memcpy(out + 8, m + 8, 4);
      return 20;
    default:
      return 0; /* unknown or not a request: dropped */
  }
}

void virtio_rng_init(virtio_rng* r, const vmsg_dut_host* host, uint16_t dev_num, virtio_rng_send send,
                     void* send_ctx) {
  uint64_t seed;
  unsigned i;
  memset(r, 0, sizeof *r);
  r->host = host;
  r->dev_num = dev_num;
  r->send = send;
  r->send_ctx = send_ctx;
  seed = RNG_SEED;
  for (i = 0; i < 4; ++i) r->rng[i] = splitmix64(&seed); /* never all zero */
}

void virtio_rng_destroy(virtio_rng* r) { sq_chain_free(&r->chain); }

void virtio_rng_receive(virtio_rng* r, const uint8_t* m, unsigned size) {
  uint8_t out[MAX_MSG];
  unsigned id = m[1], n;
  int start = 0;
  if (m[0] & 0x01u) return; /* a response from the driver: nothing to answer */
  if (id == EVENT_AVAIL) {   /* one-way; ignored until the queue may run */
    if (size == 16 && ld(m + 8, 4) == 0 && can_process(r)) run_queue(r);
    return;
  }
  memset(out, 0, sizeof out);
  n = answer(r, id, m, size, out, &start);
  if (n == 0) return;
  post(r, 0x01, (uint8_t)id, (uint16_t)ld(m + 4, 2), out, n); /* exactly one response */
  /* DRIVER_OK just set: buffers made available before it were not served
   * (VMSG-DEV-033), so look once, after the response. */
  if (start && can_process(r)) run_queue(r);
}

/* One virtio-rng device (virtio device ID 4) behind the virtio-msg transport:
 * the transport messages a device answers (virtio-msg.md §4), the status
 * machine (§8), feature negotiation (§9) and one split virtqueue it fills
 * with bytes from a deterministic generator.
 *
 * Where the reference leaves a choice open (vendor_id, the queue maximum,
 * the generator and its seed, the ring features offered) this device makes
 * the reference's, so fuzz_diff, which compares every byte with the
 * reference, finds only real differences. A vendor's device makes its own. */
#ifndef VENDOR_DUT_VIRTIO_RNG_H
#define VENDOR_DUT_VIRTIO_RNG_H

#include <stdint.h>

#include "split_queue.h"
#include "vmsg_dut.h"

/* How the device hands a frame (len bytes, at most one FIFO slot) to its bus. */
typedef void (*virtio_rng_send)(void* ctx, const uint8_t* frame, unsigned len);

typedef struct virtio_rng {
  const vmsg_dut_host* host; /* guest memory for the virtqueue */
  virtio_rng_send send;
  void* send_ctx;
  uint16_t dev_num;
  uint32_t status;
  uint32_t generation; /* never changes: the rng has no configuration space */
  uint64_t driver_features;
  int features_accepted;     /* FEATURES_OK was accepted: the set is frozen */
  int features_out_of_range; /* the driver set a bit past the 64 we know */
  int queue_live;            /* SET_VQUEUE configured queue 0 */
  split_queue vq;
  sq_chain chain; /* the chain being served; its piece array is reused */
  /* The byte source: xoshiro256** words, consumed a byte at a time. */
  uint64_t rng[4];
  uint64_t word;
  unsigned word_left;
} virtio_rng;

void virtio_rng_init(virtio_rng* r, const vmsg_dut_host* host, uint16_t dev_num, virtio_rng_send send,
                     void* send_ctx);
/* Releases what init and the queue allocated (not r itself). */
void virtio_rng_destroy(virtio_rng* r);
/* A transport message addressed to this device: msg points at size bytes
 * (8 <= size <= 64). Malformed or unknown messages are dropped. */
void virtio_rng_receive(virtio_rng* r, const uint8_t* msg, unsigned size);

#endif

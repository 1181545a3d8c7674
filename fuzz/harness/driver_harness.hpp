// The reference virtio drivers (TransportDriver, the split-queue driver under
// it, RngDriver and BlkDriver on top) against a scripted, hostile device.
// Used by fuzz_driver.
//
// Seam: the drivers run unchanged over their real FifoLink and BusDriver on a
// port::Port (DriverPort) with guest RAM, a BAR0 doorbell and a BAR1 FIFO
// window. At the other end of that FIFO the device side uses the real ring
// code (fifo::RingConsumer/RingProducer over the BAR1 bytes) and a small
// virtio device model (ScriptedDevice, harness/driver_device.hpp) that answers every transport request
// correctly, processes split rings in guest RAM like a device (rng: bytes
// from a fixed generator; blk: a 16-sector medium, GET_ID, FLUSH), unless
// the input's fault plan tells it to lie: drop, duplicate, delay, send the
// wrong kind or device number, patch or replace the encoded frame, send
// events first, move the generation, set status bits, refuse, stop taking
// frames, or complete chains with wrong ids, lengths, used-index jumps,
// status bytes, short, or never. Between calls the
// input may post any message or raw slot, DMA into guest RAM, scribble on a
// used ring, change config bytes and let time pass. No AMP device model in
// between: the drivers only ever see the FIFO, and leaving the PCI function
// out keeps an input cheap (tens of microseconds natively).
//
// Profiles: Setup::profile (the input's 'V' 'R' '1' FLAGS prefix,
// common/profile_prefix.hpp) is the FifoLinkConfig profile of the drivers,
// their TransportDriverOptions::strict_config_generation, and the layout the
// scripted device encodes and decodes in; the exact results of (e) follow the
// draft (REV1: feature blocks in GET_DEVICE_INFO, NOTIF_CONFIG_DATA never
// negotiated, SET_CONFIG applied whatever its generation unless strict).
//
// Oracles (each exact; the failing check is named):
//  (a) Typed errors only: every driver call returns a value or a
//      VirtioError whose code is a named VirtioErrc; any exception escaping
//      a driver call fails.
//  (b) Bounded: no driver call makes more than kPortBudget port accesses
//      (checked inside the port, so a livelock aborts with a message rather
//      than a timeout). The drivers' own budgets (link polls, wait_polls,
//      retries, empty rounds) are set small, so a legitimate call needs a
//      few thousand accesses at most.
//  (c) Memory: every driver access to guest RAM lies inside what its
//      GuestAllocator handed out so far ([ram_base, ram_base + used)), every
//      BAR0 access is the 4-byte NOTIFY write of FIFO 0, and in BAR1 the
//      driver writes only the driver queue's head index and slots and the
//      device queue's tail index (it reads only those two queues).
//      Anything else aborts.
//  (d) Wire hygiene: every frame the drivers post decodes with strict type
//      bits under the input's profile, is a request or EVENT_AVAIL, and
//      carries the device's number.
//  (e) Well-behaved device, exact results: while no fault has fired and no
//      device-side action has run ("clean"), a call whose preconditions the
//      harness knows to hold (its own model of phase, negotiated features,
//      configured queues, medium bounds) must succeed, and return what the
//      device holds: GET_DEVICE_INFO fields and status as the model states
//      them, negotiated = offered & wanted minus RING_PACKED and
//      NOTIFICATION_DATA, config bytes equal to the model's, a written
//      config range equal in the model afterwards, rng bytes equal to the
//      exact byte stream the device wrote into the buffers it completed (in
//      completion order), blk read data equal to the medium, a blk write
//      leaves the medium equal to the data, GET_ID equal to the serial,
//      cached_config bytes equal to the device's. A clean call whose preconditions do
//      not hold may fail, but only before anything is sent for the codes
//      NotReady/OutOfRange/BadRequest/BadQueueSize/Unsupported; any other
//      failure ends "clean" (the harness no longer knows the state).
//  (f) Always, hostile device or not: when has_used() shows unreaped used
//      entries, take_used() returns some or an error; discard_events()
//      leaves nothing filed; FifoLink::waiting() stays below the ring size.
#pragma once

#include <cstdint>
#include <memory>

#include "harness/driver_ops.hpp"

namespace vmsg::fuzz {

/// One input's machine: port, scripted device, the drivers, and the
/// harness's own model of the driver state. Built fresh per input.
class DriverHarness {
 public:
  explicit DriverHarness(const driver_ops::Setup& setup);
  ~DriverHarness();
  DriverHarness(const DriverHarness&) = delete;
  DriverHarness& operator=(const DriverHarness&) = delete;

  void run(const driver_ops::Op& op);

  /// Driver calls that had to succeed and did (the seed generator checks
  /// its happy paths really exercised oracle (e)).
  [[nodiscard]] std::uint64_t exact_checks() const noexcept;
  /// Whether no fault or device-side action has fired yet.
  [[nodiscard]] bool clean() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmsg::fuzz

// The driver's end of one AMP FIFO, written against the port only: it produces
// into the driver queue, rings NOTIFY, consumes the device queue and observes
// the FIFO's MSI-X vector as a word in guest RAM (amp-pci-device.md §9.5).
//
// Two levels: a raw path (post/ring/poll of byte frames, so tests can send
// anything, malformed included) and a message path (encode, send, and match
// the response by order and msg_id, as the PR28 draft allows; VMSG-BUS-027).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "vmsg/common/result.hpp"
#include "vmsg/driver/msix_setup.hpp"
#include "vmsg/driver/port_batcher.hpp"
#include "vmsg/driver/port_queue.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/port/port.hpp"
#include "vmsg/wire/codec.hpp"

namespace vmsg::driver {

/// Why a message-level exchange failed.
enum class LinkError : std::uint8_t {
  Unencodable,  ///< the request does not encode under the profile
  QueueFull,    ///< the driver queue has no free slot
  NoResponse,   ///< nothing matching arrived within the poll budget
  Malformed,    ///< a frame arrived that does not decode (see last_failure())
};
[[nodiscard]] std::string_view to_string(LinkError e) noexcept;

/// Where a FIFO lives: BAR0 and BAR1 bases as assigned, and its MSI target.
struct FifoLinkConfig {
  std::uint64_t bar0 = 0;
  std::uint64_t bar1 = 0;
  unsigned fifo = 0;
  std::optional<MsiTarget> msi;  ///< nullopt: no interrupt observation (polling only)
  wire::Profile profile = wire::Profile::pr28();
  /// How often request() polls the device queue, advancing time by
  /// poll_step_ns between polls, before giving up on an attempt. The wait
  /// for one answer is thus bounded (REV1 L563-564): timeout_ns() of
  /// virtual time per attempt.
  unsigned max_polls = 64;
  std::uint64_t poll_step_ns = 100'000;
  /// Times request() sends the request again after an attempt timed out,
  /// before NoResponse (the finite retry count of REV1 L563-564). 0: one
  /// attempt, as PR28 drivers do.
  unsigned retries = 0;
  /// The rings keep the device's last index and read it again only when it
  /// says full or empty (fifo::RingOptions::cache_peer_index): one port read
  /// fewer per message. Off by default, so the suite's driver reads the
  /// index at every operation as the §9.5 recipe does.
  bool cache_peer_index = false;

  /// Virtual time one attempt waits for its answer.
  [[nodiscard]] constexpr std::uint64_t timeout_ns() const noexcept { return std::uint64_t{max_polls} * poll_step_ns; }
};

/// One FIFO seen from the driver. Not thread-safe.
class FifoLink {
 public:
  FifoLink(port::Port& port, const FifoLinkConfig& config);

  // ---- raw path ------------------------------------------------------------
  /// Puts `frame` (at most 64 bytes, zero-padded) into the driver queue. No doorbell.
  fifo::PushResult post(std::span<const std::uint8_t> frame);
  /// Writes NOTIFY for this FIFO (an aligned 32-bit write of 1, AMP-005).
  void ring();
  /// The next frame in the device queue, if any.
  std::optional<fifo::Slot> poll();
  /// Frames waiting in the device queue.
  [[nodiscard]] std::uint32_t waiting();
  /// True if the MSI word was written since the last call (clears it).
  /// Always false without an MSI target.
  bool take_msi();

  // ---- message path ----------------------------------------------------------
  /// Encodes and posts `m`. No doorbell.
  Result<std::size_t, LinkError> send(const wire::Message& m);
  /// Polls one frame and decodes it; nullopt when the device queue is empty.
  std::optional<Result<wire::Message, wire::DecodeFailure>> receive();
  /// send + ring, then polls (advancing time between polls) until the
  /// matching response arrives: a response with the request's msg_id and ID
  /// space, and for transport messages the same dev_num. Events and other
  /// frames that arrive meanwhile are kept in events() in arrival order.
  /// Frames already waiting before the request is sent are taken first:
  /// events are kept, responses (nobody is waiting for one: requests are
  /// one at a time) are dropped and counted in stray_responses(), so a
  /// device that answers twice cannot pass off its extra answer as the
  /// response to the next request.
  ///
  /// On a port that pipelines (qtest) the exchange is batched: the slot, the
  /// index and NOTIFY are posted, and the device-queue head, the slot the
  /// answer would be in and the driver-queue tail are fetched behind them,
  /// all in one round trip; the consumer index that releases the answer's
  /// slot stays posted, and while the port still holds it the next request
  /// takes its checks from that fetch. A device that answers inside the
  /// doorbell (QEMU) thus costs one round trip per request. An answer not
  /// there yet is looked for once more in a round trip of its own (the
  /// target's event loop runs between trips), then polled as above, a fetch
  /// per poll. The writes and clock steps the target sees, in order, and
  /// every decision are those of the unbatched exchange; only reads of FIFO
  /// RAM are added, which have no effect (port_batcher.hpp).
  ///
  /// An attempt ends after config().timeout_ns(); with config().retries the
  /// request is sent again that many times (a late answer to an earlier
  /// attempt is then taken as the answer, and the later one is dropped as a
  /// stray by the next request). NoResponse once every attempt timed out.
  Result<wire::Message, LinkError> request(const wire::Message& m);
  /// Responses dropped because no request was waiting for them (VMSG-BUS-028).
  [[nodiscard]] std::uint64_t stray_responses() const noexcept { return stray_responses_; }
  /// Requests sent again after a timed-out attempt.
  [[nodiscard]] std::uint64_t resends() const noexcept { return resends_; }

  /// Device-originated frames received while waiting for responses.
  [[nodiscard]] std::deque<wire::Message>& events() noexcept { return events_; }
  /// The last decode failure seen by request().
  [[nodiscard]] const std::optional<wire::DecodeFailure>& last_failure() const noexcept { return last_failure_; }
  [[nodiscard]] const FifoLinkConfig& config() const noexcept { return config_; }
  [[nodiscard]] port::Port& port() noexcept { return *port_; }

 private:
  port::Port* port_;
  FifoLinkConfig config_;
  std::unique_ptr<PortBatcher> io_;  // on the heap: the ring views keep its address across moves
  fifo::RingProducer<PortQueueMemory> tx_;
  fifo::RingConsumer<PortQueueMemory> rx_;
  std::deque<wire::Message> events_;
  std::optional<wire::DecodeFailure> last_failure_;
  std::uint64_t stray_responses_ = 0;
  std::uint64_t resends_ = 0;

  /// Polls for the answer to `m` (already sent) for one attempt's budget.
  std::optional<Result<wire::Message, LinkError>> await_answer(const wire::Message& m);
};

}  // namespace vmsg::driver

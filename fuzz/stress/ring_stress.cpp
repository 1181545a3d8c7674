// SPSC stress: a producer and a consumer on two real threads over one
// SharedQueueMemory ring, N sequence-numbered messages (default 200000).
//
// The consumer checks every message: sequence number in order (nothing lost,
// duplicated or reordered), length and payload bytes as written, zero padding
// after the message. Built normally for CTest and with -fsanitize=thread by
// fuzz/tsan.sh, where any data race on the slots or indices (a missing
// acquire/release) is reported. The ordering contract itself is unit-tested in
// reference/tests/fifo/ring_test.cpp; this is the real-threads counterpart.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "vmsg/fifo/layout.hpp"
#include "vmsg/fifo/ring.hpp"
#include "vmsg/fifo/shared_memory.hpp"

namespace {

using namespace vmsg::fifo;

/// Length of message `seq`: 8..64, so slot padding is exercised too.
std::size_t length_of(std::uint64_t seq) { return 8 + static_cast<std::size_t>((seq * 7919) % 57); }

std::uint8_t byte_of(std::uint64_t seq, std::size_t i) {
  return i < 8 ? static_cast<std::uint8_t>(seq >> (8 * i)) : static_cast<std::uint8_t>(seq * 31 + i);
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  alignas(64) std::array<std::uint8_t, kQueueSize> queue{};  // the shared "BAR1 RAM"; outlives both threads
  const SharedQueueMemory mem{std::span<std::uint8_t>(queue)};
  std::atomic<bool> failed{false};

  std::thread producer([&] {
    RingProducer<SharedQueueMemory> tx(mem);
    std::array<std::uint8_t, kMaxMessageSize> msg{};
    for (std::uint64_t seq = 0; seq < n && !failed.load(std::memory_order_relaxed);) {
      const std::size_t len = length_of(seq);
      for (std::size_t i = 0; i < len; ++i) msg[i] = byte_of(seq, i);
      if (tx.push(std::span<const std::uint8_t>(msg.data(), len)) == PushResult::Ok) {
        ++seq;
      } else {
        std::this_thread::yield();  // full: the consumer runs on the other core (or after us)
      }
    }
  });

  std::uint64_t got = 0;
  std::string error;
  {
    RingConsumer<SharedQueueMemory> rx(mem);
    Slot slot{};
    while (got < n && error.empty()) {
      if (!rx.pop(slot)) {
        std::this_thread::yield();
        continue;
      }
      const std::size_t len = length_of(got);
      for (std::size_t i = 0; i < kSlotSize && error.empty(); ++i) {
        const std::uint8_t want = i < len ? byte_of(got, i) : 0;
        if (slot[i] != want) {
          error = "message " + std::to_string(got) + " byte " + std::to_string(i) + ": got " +
                  std::to_string(slot[i]) + ", want " + std::to_string(want) + " (lost, torn or reordered)";
        }
      }
      ++got;
    }
  }
  if (!error.empty()) failed.store(true);
  producer.join();
  if (!error.empty()) {
    std::fprintf(stderr, "ring_stress: %s\n", error.c_str());
    std::printf("0 passed, 1 failed\n");
    return 1;
  }
  std::printf("ring_stress: %llu messages in order across two threads\n1 passed, 0 failed\n",
              static_cast<unsigned long long>(n));
  return 0;
}

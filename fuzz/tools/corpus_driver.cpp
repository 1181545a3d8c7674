// Seeds of fuzz_driver. The device's identity, features, config bytes and
// queue limits are taken from the reference backends (devices::make_backend)
// as the reference DeviceTransport would report them, so the scripted device
// starts out as the real one; the driver calls are what a guest does with
// each driver (bring-up, I/O, config, queue management, reset), and the
// hostile seeds add fault plans and device-side actions at the points where
// the drivers have an error path. Every seed is written with FdpWriter, read
// back, and run through the DriverHarness; the happy paths must stay clean
// and must have checked results exactly.
#include "tools/corpus_driver.hpp"

#include <algorithm>
#include <stdexcept>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/profile_prefix.hpp"
#include "common/stream_io.hpp"
#include "harness/driver_harness.hpp"
#include "harness/driver_ops.hpp"
#include "vmsg/devices/factory.hpp"
#include "vmsg/transport/backend.hpp"

namespace vmsg::fuzz {

namespace {

namespace ops = driver_ops;
using ops::FaultKind;
using ops::Kind;

constexpr std::uint64_t kVersion1 = std::uint64_t{1} << 32;
constexpr std::uint64_t kEventIdx = std::uint64_t{1} << 29;
constexpr std::uint64_t kRingReset = std::uint64_t{1} << 40;
constexpr std::uint64_t kSizeMax = std::uint64_t{1} << 1;

/// The scripted device set up as the reference backend `kind` reports itself
/// through the reference transport (which adds VERSION_1 and EVENT_IDX).
ops::Setup from_backend(const char* kind, ops::DevKind as, const devices::DeviceProps& props = {}) {
  auto b = devices::make_backend(kind, props);
  ops::Setup s;
  s.kind = as;
  s.features = b->device_features() | kVersion1 | kEventIdx;
  s.feature_bits = 64;
  s.max_queues = static_cast<std::uint8_t>(std::min(b->num_queues(), ops::kMaxQueues));
  s.max_size = static_cast<std::uint16_t>(std::min<std::uint32_t>(b->max_queue_size(0), 0xFFFF));
  s.generation = 0;
  s.config.assign(std::min<std::size_t>(b->config_size(), ops::kMaxConfig), 0);
  b->read_config(0, s.config);
  return s;
}

ops::Op op(Kind k) {
  ops::Op o;
  o.kind = k;
  return o;
}
ops::Op with(ops::Op o, std::vector<ops::Fault> faults) {
  o.faults = std::move(faults);
  return o;
}
ops::Fault fault(std::uint8_t at, FaultKind k, std::uint32_t a = 0, std::uint64_t b = 0) {
  return ops::Fault{at, k, a, b};
}
ops::Op init(std::uint64_t wanted) {
  ops::Op o = op(Kind::Init);
  o.value = wanted;
  return o;
}
ops::Op read_config(std::uint32_t offset, std::uint32_t len, bool word = false) {
  ops::Op o = op(Kind::ReadConfig);
  o.offset = offset;
  o.len = len;
  o.flag = word;
  return o;
}
ops::Op write_config(std::uint32_t offset, std::vector<std::uint8_t> bytes) {
  ops::Op o = op(Kind::WriteConfig);
  o.offset = offset;
  o.bytes = std::move(bytes);
  return o;
}
ops::Op queue_op(Kind k, std::uint8_t q, std::uint32_t size = 0, bool flag = false) {
  ops::Op o = op(k);
  o.queue = q;
  o.len = size;
  o.flag = flag;
  return o;
}
ops::Op rng_read(std::uint32_t n) {
  ops::Op o = op(Kind::RngRead);
  o.len = n;
  return o;
}
ops::Op blk_io(Kind k, std::uint64_t sector, std::uint32_t sectors, std::vector<std::uint8_t> fill = {}) {
  ops::Op o = op(k);
  o.sector = sector;
  o.len = sectors * 512;
  o.bytes = std::move(fill);
  return o;
}
ops::Op blk_execute(std::uint32_t type, std::uint64_t sector, std::uint32_t in_len, std::vector<std::uint8_t> out = {}) {
  ops::Op o = op(Kind::BlkExecute);
  o.value = type;
  o.sector = sector;
  o.len = in_len;
  o.bytes = std::move(out);
  return o;
}
ops::Op inject(wire::Body body, bool keep_dev = false, std::uint16_t dev = 0) {
  ops::Op o = op(Kind::Inject);
  o.flag = keep_dev;
  o.message.dev_num = dev;
  o.message.body = std::move(body);
  return o;
}
ops::Op raw_frame(std::vector<std::uint8_t> bytes) {
  ops::Op o = op(Kind::RawFrame);
  o.bytes = std::move(bytes);
  return o;
}
ops::Op dma(std::uint32_t offset, std::vector<std::uint8_t> bytes) {
  ops::Op o = op(Kind::Dma);
  o.offset = offset;
  o.bytes = std::move(bytes);
  return o;
}
ops::Op ring_write(std::uint8_t q, std::uint32_t field, std::uint64_t value) {
  ops::Op o = op(Kind::RingWrite);
  o.queue = q;
  o.len = field;
  o.value = value;
  return o;
}
ops::Op config_change(std::uint32_t offset, std::uint8_t value, bool silent = false) {
  ops::Op o = op(Kind::ConfigChange);
  o.offset = offset;
  o.value = value;
  o.flag = silent;
  return o;
}
ops::Op time_op(std::uint64_t ns) {
  ops::Op o = op(Kind::Time);
  o.value = ns;
  return o;
}

/// Serialises, proves the bytes read back to the same stream, and runs them.
std::vector<std::uint8_t> encode(ops::Setup setup, std::vector<ops::Op> stream, bool happy) {
  FdpWriter w;
  ops::io_setup(w, setup);
  for (auto& o : stream) ops::io_op(w, o);
  std::vector<std::uint8_t> bytes = with_profile(setup.profile, w.finish());

  const std::uint8_t* data = bytes.data();
  std::size_t size = bytes.size();
  const ProfileChoice profile = take_profile(data, size);
  FuzzedDataProvider fdp(data, size);
  FdpReader r(fdp);
  ops::Setup back;
  ops::io_setup(r, back);
  back.profile = profile;
  FdpWriter again;
  ops::io_setup(again, back);
  DriverHarness h(back);
  std::size_t n = 0;
  while (r.more()) {
    ops::Op o;
    ops::io_op(r, o);
    ops::io_op(again, o);
    h.run(o);
    ++n;
  }
  if (with_profile(profile, again.finish()) != bytes || profile != setup.profile || n != stream.size()) {
    throw std::logic_error("driver seed does not read back");
  }
  if (happy && (!h.clean() || h.exact_checks() == 0)) {
    throw std::logic_error("driver happy-path seed left the well-behaved stretch or checked nothing");
  }
  return bytes;
}

ops::Setup rng_setup() { return from_backend("virtio-rng-device", ops::DevKind::Rng); }
ops::Setup blk_setup() {
  ops::Setup s = from_backend("virtio-blk-device", ops::DevKind::Blk, {{"capacity", "8K"}});
  s.request_sectors = 2;
  return s;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<std::uint8_t>>> driver_seeds() {
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> out;
  struct Seed {
    std::string name;
    ops::Setup setup;
    std::vector<ops::Op> stream;
    bool happy;
  };
  std::vector<Seed> pr28;  // the PR28 seeds, some of which run again under REV1 below
  const auto add = [&](const std::string& name, const ops::Setup& s, std::vector<ops::Op> stream, bool happy) {
    pr28.push_back(Seed{name, s, stream, happy});
    out.emplace_back(name, encode(s, std::move(stream), happy));
  };

  // ---- happy paths ----------------------------------------------------------------
  add("rng-session", rng_setup(),
      {op(Kind::GetInfo), op(Kind::RngInit), rng_read(64), rng_read(200), op(Kind::GetStatus), op(Kind::Poll),
       rng_read(1), rng_read(0), queue_op(Kind::TakeUsed, 0), op(Kind::Reset)},
      true);
  {
    ops::Setup s = rng_setup();
    s.event_idx = false;
    s.no_interrupt = true;
    s.queue_log2 = 1;
    s.rng_buffer = 16;
    s.rng_buffers = 3;
    add("rng-polling", s, {op(Kind::RngInit), rng_read(100), op(Kind::RngInit), rng_read(33)}, true);
  }
  add("blk-session", blk_setup(),
      {op(Kind::BlkInit), op(Kind::BlkCapacity), blk_io(Kind::BlkRead, 0, 2), blk_io(Kind::BlkWrite, 3, 3, {0xA5, 0x5A}),
       blk_io(Kind::BlkRead, 3, 3), op(Kind::BlkFlush), op(Kind::BlkGetId), blk_execute(8, 0, 20),
       blk_io(Kind::BlkRead, 15, 2), blk_io(Kind::BlkRead, 0, 0), op(Kind::Reset), blk_io(Kind::BlkRead, 0, 1)},
      true);
  {
    // size_max 512 and seg_max 2 in config: requests split into segments.
    ops::Setup s = blk_setup();
    s.features |= kSizeMax;
    s.config[8] = 0x00;
    s.config[9] = 0x02;
    s.config[12] = 2;
    s.request_sectors = 4;
    s.slots = 3;
    s.event_idx = false;
    s.no_interrupt = true;
    add("blk-segments", s, {op(Kind::BlkInit), blk_io(Kind::BlkWrite, 0, 4, {1, 2, 3}), blk_io(Kind::BlkRead, 0, 4),
                            blk_execute(99, 0, 0), op(Kind::BlkGetId)},
        true);
  }
  {
    ops::Setup s;
    s.kind = ops::DevKind::Other;
    s.other_id = 1;
    s.features = kVersion1 | kEventIdx | kRingReset | 0x5;
    s.feature_bits = 96;
    s.max_queues = 3;
    s.max_size = 32;
    s.generation = 5;
    for (std::uint8_t i = 0; i < 48; ++i) s.config.push_back(static_cast<std::uint8_t>(i * 7));
    add("transport-session", s,
        {op(Kind::GetInfo), init(~std::uint64_t{0}), read_config(0, 48), read_config(4, 0, true), read_config(8, 1, true),
         write_config(10, {1, 2, 3, 4}), write_config(0, std::vector<std::uint8_t>(48, 9)), op(Kind::RefreshConfig),
         queue_op(Kind::SetupQueue, 1, 8), queue_op(Kind::SetupQueue, 0, 16, true), op(Kind::DriverOk),
         queue_op(Kind::Kick, 1), queue_op(Kind::Notify, 0), queue_op(Kind::TakeUsed, 1), queue_op(Kind::ResetQueue, 1),
         queue_op(Kind::SetupQueue, 1, 4), op(Kind::GetStatus), read_config(40, 16), queue_op(Kind::SetupQueue, 2, 3),
         queue_op(Kind::SetupQueue, 2, 64), op(Kind::DriverOk), op(Kind::RngInit)},
        false);
  }

  // ---- hostile device ---------------------------------------------------------------
  add("rng-frame-faults", rng_setup(),
      {with(op(Kind::RngInit), {fault(0, FaultKind::Drop)}), with(op(Kind::RngInit), {fault(1, FaultKind::Twice)}),
       with(op(Kind::RngInit), {fault(2, FaultKind::Late, 1)}), with(op(Kind::RngInit), {fault(3, FaultKind::WrongKind, 3)}),
       with(op(Kind::RngInit), {fault(4, FaultKind::Patch, 8, 0xFFFF'FFFF)}),
       with(op(Kind::RngInit), {fault(0, FaultKind::Garbage, 0, 7)}),
       with(op(Kind::RngInit), {fault(0, FaultKind::WrongDev, 0), fault(1, FaultKind::Token, 99)}),
       with(op(Kind::RngInit), {fault(6, FaultKind::Patch, 8, 3)}), with(op(Kind::RngInit), {fault(7, FaultKind::Patch, 8, 3)}),
       with(op(Kind::RngInit), {fault(2, FaultKind::Status, 0x40)}), op(Kind::RngInit), rng_read(16)},
      false);
  add("rng-used-faults", rng_setup(),
      {op(Kind::RngInit), with(rng_read(64), {fault(1, FaultKind::UsedId, 63)}), op(Kind::RngInit),
       with(rng_read(64), {fault(1, FaultKind::UsedLen, 1000)}), op(Kind::RngInit),
       with(rng_read(64), {fault(1, FaultKind::UsedJump, 1)}), op(Kind::RngInit), with(rng_read(64), {fault(1, FaultKind::Skip)}),
       with(rng_read(8), {fault(1, FaultKind::Short, 3)}), op(Kind::RngInit),
       with(rng_read(8), {fault(1, FaultKind::Short, 0), fault(3, FaultKind::Short, 0), fault(5, FaultKind::Short, 0)}),
       with(rng_read(8), {fault(0, FaultKind::Drop)})},
      false);
  add("blk-status-faults", blk_setup(),
      {op(Kind::BlkInit), with(blk_io(Kind::BlkRead, 0, 1), {fault(1, FaultKind::BlkStatus, 1)}),
       with(blk_io(Kind::BlkWrite, 0, 1), {fault(1, FaultKind::BlkStatus, 2)}),
       with(op(Kind::BlkFlush), {fault(1, FaultKind::BlkStatus, 0x77)}),
       with(blk_io(Kind::BlkRead, 0, 4), {fault(1, FaultKind::Skip)}), op(Kind::BlkInit),
       with(blk_io(Kind::BlkRead, 0, 4), {fault(1, FaultKind::UsedId, 5)}), op(Kind::BlkInit),
       with(op(Kind::BlkGetId), {fault(0, FaultKind::Drop)}), blk_io(Kind::BlkRead, 0, 1), op(Kind::BlkInit),
       blk_execute(0, 0, 600, {}), blk_execute(0, 0, 2000, {})},
      false);
  {
    ops::Setup s = blk_setup();
    s.features |= std::uint64_t{1} << 5;  // RO
    s.config[12] = 0;                    // seg_max 0
    add("blk-readonly", s,
        {op(Kind::BlkInit), blk_io(Kind::BlkWrite, 0, 1), blk_io(Kind::BlkRead, 17, 1), blk_io(Kind::BlkRead, 0, 1),
         op(Kind::RngInit), op(Kind::BlkInit)},
        false);
  }
  {
    ops::Setup s;
    s.kind = ops::DevKind::Other;
    s.other_id = 9;
    s.features = kVersion1 | kRingReset;
    s.feature_bits = 64;
    s.max_queues = 2;
    s.max_size = 16;
    for (std::uint8_t i = 0; i < 48; ++i) s.config.push_back(i);
    add("config-generation", s,
        {op(Kind::GetInfo), with(read_config(0, 48), {fault(1, FaultKind::Generation)}),
         with(read_config(0, 48),
              {fault(0, FaultKind::Generation), fault(1, FaultKind::Generation), fault(2, FaultKind::Generation),
               fault(3, FaultKind::Generation), fault(4, FaultKind::Generation), fault(5, FaultKind::Generation)}),
         with(write_config(4, {7, 7}), {fault(0, FaultKind::Generation)}),
         with(write_config(4, {7, 7}), {fault(0, FaultKind::Patch, 16, 0)}), config_change(3, 0xEE),
         config_change(5, 0x11, true), op(Kind::RefreshConfig),
         inject(wire::EventConfig{0, 100, 0, 0, {}}), op(Kind::RefreshConfig),
         inject(wire::EventConfig{0, 101, 40, 20, {}}), inject(wire::EventConfig{0, 101, 4, 4, {}}),
         inject(wire::EventConfig{0x40, 102, 4, 2, {1, 2}}), op(Kind::Poll), read_config(0, 8),
         with(read_config(0, 4), {fault(0, FaultKind::Patch, 12, 9)}),
         with(read_config(0, 4), {fault(0, FaultKind::Patch, 16, 0)}), with(op(Kind::GetInfo), {fault(0, FaultKind::Patch, 20, 0x10000000)}),
         op(Kind::GetInfo), with(op(Kind::GetStatus), {fault(0, FaultKind::EventFirst, 0, 0x0100'0304'0000'0000ULL | (1U << 24) | (2U << 16))})},
        false);
    add("queue-faults", s,
        {init(~std::uint64_t{0}), with(queue_op(Kind::SetupQueue, 0, 8), {fault(0, FaultKind::Patch, 12, 0)}),
         with(queue_op(Kind::SetupQueue, 0, 8), {fault(0, FaultKind::Patch, 16, 3)}),
         with(queue_op(Kind::SetupQueue, 0, 8), {fault(0, FaultKind::Patch, 8, 1)}),
         with(queue_op(Kind::SetupQueue, 0, 8), {fault(2, FaultKind::Patch, 16, 4)}),
         with(queue_op(Kind::SetupQueue, 1, 32), {}), queue_op(Kind::SetupQueue, 3, 8), op(Kind::DriverOk),
         with(queue_op(Kind::SetupQueue, 0, 8), {fault(1, FaultKind::Drop)}), queue_op(Kind::SetupQueue, 0, 4),
         ring_write(0, 1, 3), queue_op(Kind::TakeUsed, 0), queue_op(Kind::TakeUsed, 0), queue_op(Kind::ResetQueue, 0),
         queue_op(Kind::SetupQueue, 0, 4), ring_write(0, 3, 0), ring_write(0, 1, 1), queue_op(Kind::Kick, 0),
         inject(wire::EventUsed{0}), inject(wire::EventUsed{3}), op(Kind::Poll), queue_op(Kind::WaitUsed, 0),
         queue_op(Kind::WaitUsed, 1), dma(0, std::vector<std::uint8_t>(32, 0xFF)), time_op(5000),
         inject(wire::EventDevice{ops::kDevNum, 2}, true, 0), queue_op(Kind::WaitUsed, 1), queue_op(Kind::Kick, 1),
         inject(wire::EventDevice{ops::kDevNum, 1}, true, 0), op(Kind::Poll),
         inject(wire::EventConfig{0x40, 0, 0, 0, {}}), queue_op(Kind::WaitUsed, 1), queue_op(Kind::Notify, 1),
         raw_frame({1, 2, 3}), op(Kind::GetInfo), inject(wire::GetDeviceInfoResp{}), op(Kind::GetStatus),
         inject(wire::PingReq{1}, true, 0), op(Kind::Poll), op(Kind::Reset),
         with(op(Kind::Reset), {fault(0, FaultKind::Status, 1)}), with(op(Kind::GetInfo), {fault(0, FaultKind::Drop)})},
        false);
  }
  {
    // Error paths of bring-up and status: refusals, NEEDS_RESET at each
    // step, patched status words, a feature block echo, many feature blocks.
    ops::Setup s = rng_setup();
    s.feature_bits = 512;
    s.features |= kRingReset;
    // rng init: GET_DEVICE_INFO (0), then init: GET_DEVICE_INFO (1), reset (2),
    // ACK (3), DRIVER (4), GET_FEATURES x2 (5, 6), SET_FEATURES x2 (7, 8),
    // FEATURES_OK (9), GET_DEVICE_STATUS (10), GET_VQUEUE (11), SET_VQUEUE (12),
    // GET_VQUEUE (13), DRIVER_OK (14).
    add("bringup-faults", s,
        {with(op(Kind::RngInit), {fault(3, FaultKind::Refuse)}), with(op(Kind::RngInit), {fault(4, FaultKind::Status, 0x40)}),
         with(op(Kind::RngInit), {fault(9, FaultKind::Status, 0x40)}),
         with(op(Kind::RngInit), {fault(5, FaultKind::Patch, 8, 7)}), with(op(Kind::RngInit), {fault(6, FaultKind::Drop)}),
         with(op(Kind::RngInit), {fault(8, FaultKind::Drop)}), with(op(Kind::RngInit), {fault(10, FaultKind::Drop)}),
         with(op(Kind::RngInit), {fault(10, FaultKind::Patch, 8, 3)}), with(op(Kind::RngInit), {fault(9, FaultKind::Drop)}),
         with(op(Kind::RngInit), {fault(11, FaultKind::Drop)}), with(op(Kind::RngInit), {fault(12, FaultKind::Drop)}),
         with(op(Kind::RngInit), {fault(13, FaultKind::Drop)}), with(op(Kind::RngInit), {fault(14, FaultKind::Refuse)}),
         with(op(Kind::RngInit), {fault(14, FaultKind::Status, 0x40)}), with(op(Kind::RngInit), {fault(14, FaultKind::Drop)}),
         with(op(Kind::Reset), {fault(0, FaultKind::Patch, 8, 5)}), with(op(Kind::Reset), {fault(0, FaultKind::Drop)}),
         with(op(Kind::GetStatus), {fault(0, FaultKind::Drop)}), with(init(kVersion1), {fault(0, FaultKind::Drop)}),
         with(init(kVersion1), {fault(2, FaultKind::Drop)}), with(init(kVersion1), {fault(3, FaultKind::Drop)}),
         init(kVersion1 | kRingReset), with(op(Kind::DriverOk), {fault(0, FaultKind::Drop)}),
         with(queue_op(Kind::SetupQueue, 0, 4), {fault(2, FaultKind::Refuse)}),
         with(queue_op(Kind::SetupQueue, 0, 4), {fault(0, FaultKind::Drop)}), queue_op(Kind::SetupQueue, 0, 4),
         with(queue_op(Kind::ResetQueue, 0), {fault(0, FaultKind::Drop)}), op(Kind::DriverOk)},
        false);
  }
  {
    // Config error paths: generation never settles (read and write), refusals,
    // echo mismatches, a write before any generation is known, stale cache.
    ops::Setup s;
    s.kind = ops::DevKind::Other;
    s.other_id = 3;
    s.features = kVersion1;
    s.max_queues = 1;
    s.max_size = 8;
    for (std::uint8_t i = 0; i < 48; ++i) s.config.push_back(static_cast<std::uint8_t>(0xC0 + i));
    add("config-faults", s,
        {with(write_config(0, {1}), {fault(0, FaultKind::Drop)}), with(write_config(0, {1}), {fault(1, FaultKind::Drop)}),
         with(read_config(0, 48), {fault(1, FaultKind::Generation), fault(3, FaultKind::Generation),
                                   fault(5, FaultKind::Generation), fault(7, FaultKind::Generation)}),
         with(write_config(8, {5, 6}), {fault(0, FaultKind::Generation), fault(2, FaultKind::Generation),
                                        fault(4, FaultKind::Generation)}),
         with(write_config(8, {5, 6}), {fault(0, FaultKind::Refuse)}),
         with(write_config(8, {5, 6}), {fault(0, FaultKind::Refuse), fault(1, FaultKind::Drop)}),
         with(write_config(8, {5, 6}), {fault(0, FaultKind::Patch, 12, 1)}),
         with(write_config(8, {5, 6}), {fault(0, FaultKind::Drop)}), with(read_config(0, 4), {fault(0, FaultKind::Refuse)}),
         with(read_config(46, 4, true), {}), with(read_config(44, 5, true), {}),
         with(read_config(0, 4, true), {fault(0, FaultKind::Drop)}), with(read_config(0, 5, true), {fault(0, FaultKind::Drop)}),
         inject(wire::EventConfig{0, 77, 0, 0, {}}), with(op(Kind::RefreshConfig), {fault(0, FaultKind::Drop)}),
         op(Kind::RefreshConfig), inject(wire::EventConfig{0, 78, 0, 8, {}}), op(Kind::RefreshConfig),
         queue_op(Kind::SetupQueue, 0, 4), queue_op(Kind::ResetQueue, 0), queue_op(Kind::Kick, 0)},
        false);
  }
  {
    // The driver queue fills while the device stops listening: kicks and
    // requests find it full.
    ops::Setup s = rng_setup();
    s.event_idx = false;
    std::vector<ops::Op> stream = {op(Kind::RngInit), with(queue_op(Kind::Kick, 0), {fault(0, FaultKind::Deaf, 100)})};
    for (int i = 0; i < 62; ++i) stream.push_back(queue_op(Kind::Kick, 0));
    stream.push_back(op(Kind::GetStatus));
    stream.push_back(queue_op(Kind::Notify, 0));
    add("deaf-device", s, stream, false);
  }
  {
    // I/O against events that arrive mid-wait, interrupts suppressed with
    // EVENT_IDX, the device's NO_NOTIFY flag, and a broken ring reused.
    ops::Setup s = rng_setup();
    s.no_interrupt = true;
    add("rng-events", s,
        {op(Kind::RngInit), rng_read(32),
         with(rng_read(32), {fault(0, FaultKind::EventFirst, 0, 0x0000'0040'0000'0000ULL), fault(1, FaultKind::Skip)}),
         op(Kind::RngInit), with(rng_read(32), {fault(0, FaultKind::EventFirst, 2, 1), fault(1, FaultKind::Skip)}),
         inject(wire::EventDevice{ops::kDevNum, 1}, true, 0), op(Kind::RngInit),
         inject(wire::EventDevice{ops::kDevNum, 2}, true, 0), op(Kind::Poll), rng_read(8),
         inject(wire::EventDevice{ops::kDevNum, 1}, true, 0), op(Kind::RngInit),
         with(rng_read(64), {fault(1, FaultKind::UsedId, 9)}), rng_read(8), op(Kind::RngInit), rng_read(8),
         op(Kind::BlkInit)},
        false);
    ops::Setup p = rng_setup();
    p.event_idx = false;
    add("rng-no-notify", p,
        {op(Kind::RngInit), rng_read(16), ring_write(0, 0, 1), rng_read(16), queue_op(Kind::Notify, 0),
         ring_write(0, 0, 0), rng_read(16)},
        false);
  }
  {
    // blk: several requests in flight and a full ring, an abandoned request
    // completing later (orphan), errors while others are in flight, a
    // broken ring, and the limits init derives from config.
    ops::Setup s = blk_setup();
    s.features |= kSizeMax;
    s.config[8] = 0x00;
    s.config[9] = 0x02;
    s.request_sectors = 1;
    s.slots = 3;
    s.event_idx = false;
    add("blk-inflight", s,
        {op(Kind::BlkInit), blk_io(Kind::BlkWrite, 0, 4, {9}), blk_io(Kind::BlkRead, 0, 4),
         with(blk_io(Kind::BlkRead, 0, 1), {fault(0, FaultKind::Drop)}), blk_io(Kind::BlkRead, 1, 1),
         with(blk_io(Kind::BlkRead, 0, 4), {fault(1, FaultKind::BlkStatus, 1)}),
         with(blk_io(Kind::BlkRead, 0, 4), {fault(2, FaultKind::UsedLen, 5000)}), blk_io(Kind::BlkRead, 0, 1),
         op(Kind::BlkInit), with(op(Kind::BlkCapacity), {fault(0, FaultKind::Drop)}),
         inject(wire::EventDevice{ops::kDevNum, 2}, true, 0), op(Kind::Poll), blk_io(Kind::BlkRead, 0, 1),
         op(Kind::BlkFlush)},
        false);
    ops::Setup z = blk_setup();
    z.features = (z.features | kSizeMax) & ~(std::uint64_t{1} << 2) & ~(std::uint64_t{1} << 9);  // SIZE_MAX, no SEG_MAX, no FLUSH
    z.config[8] = 0x00;
    z.config[9] = 0x02;
    add("blk-limits", z,
        {op(Kind::BlkInit), op(Kind::BlkFlush), blk_io(Kind::BlkRead, 0, 2),
         [] {
           ops::Op o = blk_io(Kind::BlkRead, 0, 0);
           o.len = 100;
           return o;
         }(),
         with(op(Kind::BlkInit), {fault(7, FaultKind::Drop)}), with(op(Kind::BlkInit), {fault(11, FaultKind::Drop)}),
         with(op(Kind::BlkInit), {fault(12, FaultKind::Drop)}), with(op(Kind::BlkInit), {fault(0, FaultKind::Drop)})},
        false);
    ops::Setup tiny = blk_setup();
    tiny.features |= kSizeMax;
    tiny.config[8] = 1;
    tiny.config[12] = 1;
    add("blk-no-room", tiny, {op(Kind::BlkInit), blk_io(Kind::BlkRead, 0, 1)}, false);
  }
  {
    // Two drivers on one transport (the device lies about its ID to the blk
    // driver): each finds the other's chains in its used ring.
    ops::Setup s = rng_setup();
    s.event_idx = false;
    s.config = {16, 0, 0, 0, 0, 0, 0, 0};  // a capacity for the blk driver to read
    add("mixed-drivers", s,
        {with(op(Kind::BlkInit), {fault(0, FaultKind::Patch, 8, 2)}), op(Kind::RngInit),
         with(rng_read(16), {fault(0, FaultKind::Drop)}), blk_io(Kind::BlkRead, 0, 1),
         with(op(Kind::BlkInit), {fault(0, FaultKind::Patch, 8, 2)}), with(blk_io(Kind::BlkRead, 0, 1), {fault(0, FaultKind::Drop)}),
         rng_read(48), op(Kind::BlkInit)},
        false);
    // The cache, the bus driver's event queues, pump() meeting garbage, and
    // a SET_CONFIG acknowledged without its echo.
    ops::Setup c;
    c.kind = ops::DevKind::Other;
    c.features = kVersion1;
    c.max_queues = 2;
    c.max_size = 8;
    c.config = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    ops::Op cached = op(Kind::CachedConfig);
    cached.len = 12;
    ops::Op discard = op(Kind::BusEvents);
    discard.flag = true;
    add("cache-and-events", c,
        {cached, read_config(0, 12), cached, write_config(2, {0xAA}), cached, op(Kind::BusEvents), init(kVersion1),
         queue_op(Kind::SetupQueue, 0, 8), op(Kind::DriverOk), queue_op(Kind::Kick, 1), queue_op(Kind::TakeUsed, 0)},
        true);
    add("cache-and-events-hostile", c,
        {read_config(0, 12), with(write_config(2, {0xAA}), {fault(0, FaultKind::Terse)}), cached,
         inject(wire::EventConfig{0, 9, 0, 0, {}}), op(Kind::BusEvents), discard, op(Kind::Poll),
         raw_frame({0xFF, 0xFF, 0xFF}), op(Kind::Poll), cached, init(kVersion1), queue_op(Kind::SetupQueue, 0, 8),
         op(Kind::DriverOk), ring_write(0, 3, 0), ring_write(0, 1, 1), queue_op(Kind::TakeUsed, 0),
         inject(wire::EventUsed{0}), op(Kind::BusEvents), discard}, false);
  }

  // ---- REV1-2026 -----------------------------------------------------------------------
  // The same sessions behind the 'V' 'R' '1' FLAGS prefix (gen-r1-*; gen-r1s-*:
  // strict configuration generation): the happy paths must stay clean and
  // exact under REV1 too, the hostile ones reach REV1's error paths (recovery
  // reset after an unanswered request, feature blocks, GET_VQUEUE's enabled
  // bit, SET_CONFIG with and without the generation).
  const std::vector<std::pair<std::string, bool>> rev1{
      {"rng-session", false},       {"blk-session", false},        {"transport-session", false},
      {"transport-session", true},  {"config-generation", false},  {"config-generation", true},
      {"config-faults", false},     {"cache-and-events", false},   {"cache-and-events-hostile", true},
      {"rng-frame-faults", false},  {"queue-faults", false},       {"blk-status-faults", false},
      {"bringup-faults", false}};
  for (const auto& [name, strict] : rev1) {
    const auto it = std::find_if(pr28.begin(), pr28.end(), [&](const Seed& x) { return x.name == name; });
    if (it == pr28.end()) throw std::logic_error("no PR28 driver seed " + name + " to run under REV1");
    ops::Setup s = it->setup;
    s.profile = ProfileChoice{.rev1 = true, .strict_config_generation = strict};
    out.emplace_back((strict ? "r1s-" : "r1-") + name, encode(s, it->stream, it->happy));
  }
  return out;
}

}  // namespace vmsg::fuzz

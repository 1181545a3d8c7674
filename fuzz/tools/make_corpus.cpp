// Seed corpus generator: runs realistic driver exchanges through the reference
// target and writes what it saw as inputs of each fuzz target.
//
//   vmsg_fuzz_make_corpus <corpus-root>     (normally fuzz/corpus)
//
// - codec/   every distinct frame the driver wrote into a driver-queue slot and
//            every distinct frame it read back from a device-queue slot
//            (msg_size bytes; a few as whole 64-byte slots with padding).
// - device/  op streams for fuzz_device, two flavours per scenario:
//            "msg-*": the exchanges as PostMessage/Poll ops (the harness then
//            tracks every answer), "raw-*": the very port accesses the driver
//            made (config/MMIO/bulk/time), recorded after bring-up.
// - fifo/    op streams for fuzz_fifo: the driver-queue push/pop pattern of
//            the recorded traffic, plus ring edges (full, wrap, peer indices
//            at the boundaries) in each RingOptions combination.
// Inputs are written with FdpWriter (common/stream_io.hpp) from the same
// io_* format functions the targets read with; every generated stream is
// read back and re-written to prove it decodes to what was meant, and every
// device stream is run through the DeviceHarness (oracles included) once.
// Files the generator owns are named gen-*; it replaces those and only those.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/profile_prefix.hpp"
#include "common/stream_io.hpp"
#include "harness/device_harness.hpp"
#include "harness/device_ops.hpp"
#include "harness/diff_ops.hpp"
#include "harness/diff_runner.hpp"
#include "harness/fifo_ops.hpp"
#include "harness/transport_harness.hpp"
#include "harness/transport_ops.hpp"
#include "tools/corpus_qtest.hpp"
#include "tools/corpus_driver.hpp"
#include "tools/corpus_qmp.hpp"
#include "tools/corpus_seeds.hpp"
#include "vmsg/dut/library.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/fifo/layout.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/minimal_endpoint.hpp"
#include "vmsg/wire/codec.hpp"

namespace {

namespace fs = std::filesystem;
namespace dops = vmsg::fuzz::device_ops;
namespace fops = vmsg::fuzz::fifo_ops;
namespace tops = vmsg::fuzz::transport_ops;
namespace xops = vmsg::fuzz::diff_ops;
using namespace vmsg;

/// The REV1 profiles seeds are written in (common/profile_prefix.hpp).
constexpr fuzz::ProfileChoice kRev1{.rev1 = true, .strict_config_generation = false};
constexpr fuzz::ProfileChoice kRev1Strict{.rev1 = true, .strict_config_generation = true};

/// Seed-name prefix of a profile: none for PR28, r1- / r1s- for REV1 (strict).
std::string profile_tag(const fuzz::ProfileChoice& p) {
  return p.rev1 ? (p.strict_config_generation ? "r1s-" : "r1-") : "";
}

// ---- one recorded port access ------------------------------------------------
struct Access {
  enum class Kind { ConfigRead, ConfigWrite, MmioRead, MmioWrite, MemRead, MemWrite, Time } kind;
  std::uint64_t addr = 0;
  unsigned size = 0;
  std::uint64_t value = 0;
  std::vector<std::uint8_t> data;  ///< written bytes, or bytes read back
};

/// Forwards to the machine and records every access once `recording` is set.
class RecordingPort final : public port::Port {
 public:
  explicit RecordingPort(machine::Machine& m) : m_(m) {}
  bool recording = false;
  std::vector<Access> log;

  std::uint32_t config_read(port::PciAddress fn, std::uint16_t off, unsigned size) override {
    add({Access::Kind::ConfigRead, off, size, 0, {}});
    return m_.config_read(fn, off, size);
  }
  void config_write(port::PciAddress fn, std::uint16_t off, unsigned size, std::uint32_t v) override {
    add({Access::Kind::ConfigWrite, off, size, v, {}});
    m_.config_write(fn, off, size, v);
  }
  std::uint64_t mmio_read(std::uint64_t addr, unsigned size) override {
    add({Access::Kind::MmioRead, addr, size, 0, {}});
    return m_.mmio_read(addr, size);
  }
  void mmio_write(std::uint64_t addr, unsigned size, std::uint64_t v) override {
    add({Access::Kind::MmioWrite, addr, size, v, {}});
    m_.mmio_write(addr, size, v);
  }
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) override {
    m_.mem_read(addr, out);
    add({Access::Kind::MemRead, addr, static_cast<unsigned>(out.size()), 0, {out.begin(), out.end()}});
  }
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) override {
    add({Access::Kind::MemWrite, addr, static_cast<unsigned>(data.size()), 0, {data.begin(), data.end()}});
    m_.mem_write(addr, data);
  }
  void advance_time(std::uint64_t ns) override {
    add({Access::Kind::Time, 0, 0, ns, {}});
    m_.advance_time(ns);
  }
  [[nodiscard]] port::AddressMap address_map() const override { return m_.address_map(); }

 private:
  void add(Access a) {
    if (recording) log.push_back(std::move(a));
  }
  machine::Machine& m_;
};

// ---- realistic exchanges -----------------------------------------------------
wire::Message msg(std::uint16_t dev, std::uint16_t token, wire::Body b) {
  return wire::Message{.dev_num = dev, .token = token, .reserved_type_bits = 0, .body = std::move(b)};
}

/// A virtio-style bring-up and teardown of device `dev`, as a driver does it.
std::vector<wire::Message> device_session(std::uint16_t dev) {
  using namespace wire;
  std::uint16_t t = 1;
  std::vector<Message> v;
  v.push_back(msg(dev, t++, GetDeviceInfoReq{}));
  v.push_back(msg(dev, t++, SetDeviceStatusReq{status::kAcknowledge}));
  v.push_back(msg(dev, t++, SetDeviceStatusReq{status::kAcknowledge | status::kDriver}));
  v.push_back(msg(dev, t++, GetDeviceFeaturesReq{0, 2}));
  v.push_back(msg(dev, t++, SetDriverFeaturesReq{0, {0, 1}}));
  v.push_back(msg(dev, t++, SetDeviceStatusReq{status::kAcknowledge | status::kDriver | status::kFeaturesOk}));
  v.push_back(msg(dev, t++, GetDeviceStatusReq{}));
  v.push_back(msg(dev, t++, GetConfigReq{0, 4}));
  v.push_back(msg(dev, t++, SetConfigReq{0, 0, {1, 2, 3, 4}}));
  v.push_back(msg(dev, t++, GetVqueueReq{0}));
  v.push_back(msg(dev, t++, SetVqueueReq{0, 0, 16, 0, 0x200000, 0x201000, 0x202000}));
  v.push_back(msg(dev, t++, GetShmReq{0}));
  v.push_back(msg(dev, t++, EventAvail{0, 1}));
  v.push_back(msg(dev, t++,
                  SetDeviceStatusReq{status::kAcknowledge | status::kDriver | status::kFeaturesOk | status::kDriverOk}));
  v.push_back(msg(dev, t++, ResetVqueueReq{0}));
  v.push_back(msg(dev, t++, SetDeviceStatusReq{0}));
  return v;
}

std::vector<wire::Message> bus_session() {
  using namespace wire;
  return {msg(0, 0, PingReq{0x12345678}), msg(0, 7, GetDevicesReq{0, 32}), msg(0, 8, GetDevicesReq{0, 400}),
          msg(0, 9, GetDevicesReq{8, 8}), msg(0, 10, GetDevicesReq{16, 0}), msg(0, 11, PingReq{0})};
}

/// One scenario: a target shape and the messages each FIFO carries.
struct Scenario {
  std::string name;
  dops::Setup setup;
  std::vector<std::vector<wire::Message>> per_fifo;
};

target::ReferenceSpec spec_for(const dops::Setup& s) {
  const unsigned nf = dops::kFifoChoices[s.fifo_choice];
  target::ReferenceSpec spec;
  spec.amp.num_fifos = nf;
  spec.ram_size = fuzz::DeviceHarness::kRamSize;
  spec.address = fuzz::DeviceHarness::kAddr;
  for (unsigned q = 0; q < nf; ++q) {
    for (unsigned i = 0; i < 8; ++i) {
      if (((unsigned{s.devices[q]}) >> i) & 1u) {
        spec.devices.push_back({q, dops::kDevNums[i], std::make_shared<transport::MinimalEndpoint>()});
      }
    }
  }
  return spec;
}

struct Recorded {
  std::vector<Access> log;
  std::array<std::uint64_t, 3> bars{};
  std::uint64_t ram_size = 0;
};

/// Runs the scenario with link.request() (the driver's message path) and
/// records every port access after bring-up.
Recorded record(const Scenario& sc) {
  target::ReferenceTarget t(spec_for(sc.setup));
  RecordingPort port(t.machine());
  driver::GuestAllocator ram(port.address_map());
  driver::BarWindowAllocator window(port.address_map());
  auto drv = driver::AmpDriver::open(port, ram, window);
  port.recording = true;
  for (unsigned q = 0; q < sc.per_fifo.size(); ++q) {
    for (const auto& m : sc.per_fifo[q]) {
      if (wire::is_event(m.body)) {
        (void)drv.fifo(q).send(m);
        drv.fifo(q).ring();
      } else if (!drv.fifo(q).request(m).ok() && wire::is_bus(m.body)) {
        throw std::runtime_error(sc.name + ": bus request unanswered");
      }
    }
  }
  Recorded r;
  r.log = std::move(port.log);
  r.bars = {drv.bar0(), drv.bar1(), drv.bar2()};
  r.ram_size = t.machine().ram().size();
  return r;
}

// ---- writing inputs ------------------------------------------------------------
class Out {
 public:
  explicit Out(fs::path root) : root_(std::move(root)) {
    for (const char* t : {"codec", "fifo", "device", "transport", "diff", "driver", "dut_config"}) {
      fs::create_directories(root_ / t);
      for (const auto& e : fs::directory_iterator(root_ / t)) {
        if (e.path().filename().string().rfind("gen-", 0) == 0) fs::remove(e.path());
      }
    }
  }
  void write(const std::string& target, const std::string& name, const std::vector<std::uint8_t>& bytes) {
    // Keyed by string: gcc 12 -O3 misreads memcmp bounds in set<vector<uint8_t>>.
    if (!seen_[target].insert(std::string(bytes.begin(), bytes.end())).second) return;  // identical input already written
    std::ofstream f(root_ / target / ("gen-" + name), std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ++count_[target];
    total_ += bytes.size();
  }
  void report() const {
    for (const auto& [t, n] : count_) std::printf("%s: %zu inputs\n", t.c_str(), n);
    std::printf("total %zu bytes\n", total_);
  }

 private:
  fs::path root_;
  std::map<std::string, std::set<std::string>> seen_;
  std::map<std::string, std::size_t> count_;
  std::size_t total_ = 0;
};

/// Serialises a device stream, proves it reads back identically, and runs it
/// through the harness with every oracle on.
std::vector<std::uint8_t> device_input(dops::Setup setup, std::vector<dops::Op> ops) {
  fuzz::FdpWriter w;
  dops::io_setup(w, setup);
  for (auto& op : ops) dops::io_op(w, op);
  const auto bytes = fuzz::with_profile(setup.profile, w.finish());
  const std::uint8_t* data = bytes.data();
  std::size_t size = bytes.size();
  const fuzz::ProfileChoice profile = fuzz::take_profile(data, size);
  FuzzedDataProvider fdp(data, size);
  fuzz::FdpReader r(fdp);
  fuzz::FdpWriter again;
  dops::Setup s2;
  dops::io_setup(r, s2);
  dops::io_setup(again, s2);
  s2.profile = profile;
  fuzz::DeviceHarness h(s2);
  while (r.more()) {
    dops::Op op;
    dops::io_op(r, op);
    dops::io_op(again, op);
    h.run(op);
  }
  h.finish();
  if (fuzz::with_profile(profile, again.finish()) != bytes) throw std::logic_error("device stream does not read back as written");
  return bytes;
}

std::vector<std::uint8_t> fifo_input(fops::Setup setup, std::vector<fops::Op> ops) {
  fuzz::FdpWriter w;
  fops::io_setup(w, setup);
  for (auto& op : ops) fops::io_op(w, op);
  const auto bytes = w.finish();
  FuzzedDataProvider fdp(bytes.data(), bytes.size());
  fuzz::FdpReader r(fdp);
  fuzz::FdpWriter again;
  fops::Setup s2;
  fops::io_setup(r, s2);
  fops::io_setup(again, s2);
  while (r.more()) {
    fops::Op op;
    fops::io_op(r, op);
    fops::io_op(again, op);
  }
  if (again.finish() != bytes) throw std::logic_error("fifo stream does not read back as written");
  return bytes;
}

/// Region-relative form of an address the recorded driver used.
void locate(const Recorded& rec, std::uint64_t addr, dops::Op& op) {
  const std::uint64_t sizes[3] = {0x4000, 0, 0x1000};
  for (unsigned k = 0; k < 3; ++k) {
    const std::uint64_t size = k == 1 ? rec.bars[2] - rec.bars[1] : sizes[k];  // BAR1 ends where BAR2 starts
    if (addr >= rec.bars[k] && addr - rec.bars[k] < size) {
      op.region = static_cast<dops::Region>(k);
      op.offset = addr - rec.bars[k];
      return;
    }
  }
  op.region = addr < rec.ram_size ? dops::Region::Ram : dops::Region::Absolute;
  op.offset = addr;
}

std::vector<dops::Op> raw_ops(const Recorded& rec) {
  std::vector<dops::Op> ops;
  for (const Access& a : rec.log) {
    dops::Op op;
    switch (a.kind) {
      case Access::Kind::ConfigRead:
      case Access::Kind::ConfigWrite:
        op.kind = a.kind == Access::Kind::ConfigRead ? dops::Kind::ConfigRead : dops::Kind::ConfigWrite;
        op.spot = dops::ConfigSpot::Any;
        op.offset = a.addr;
        op.width = static_cast<std::uint8_t>(a.size == 1 ? 0 : a.size == 2 ? 1 : 2);
        op.value = a.value & 0xFFFFFFFF;
        break;
      case Access::Kind::MmioRead:
      case Access::Kind::MmioWrite:
        op.kind = a.kind == Access::Kind::MmioRead ? dops::Kind::MmioRead : dops::Kind::MmioWrite;
        locate(rec, a.addr, op);
        op.width = static_cast<std::uint8_t>(a.size == 1 ? 0 : a.size == 2 ? 1 : a.size == 4 ? 2 : 3);
        op.value = a.value;
        break;
      case Access::Kind::MemRead:
        op.kind = dops::Kind::BulkRead;
        locate(rec, a.addr, op);
        op.value = std::min<std::uint64_t>(a.size, dops::kMaxBulk);
        break;
      case Access::Kind::MemWrite:
        op.kind = dops::Kind::BulkWrite;
        locate(rec, a.addr, op);
        op.bytes.assign(a.data.begin(), a.data.begin() + static_cast<std::ptrdiff_t>(std::min(a.data.size(), dops::kMaxBulk)));
        break;
      case Access::Kind::Time:
        op.kind = dops::Kind::AdvanceTime;
        op.value = std::min<std::uint64_t>(a.value, 0xFFFFFFFF);
        break;
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

std::vector<dops::Op> msg_ops(const Scenario& sc) {
  std::vector<dops::Op> ops;
  for (unsigned q = 0; q < sc.per_fifo.size(); ++q) {
    for (const auto& m : sc.per_fifo[q]) {
      dops::Op post;
      post.kind = dops::Kind::PostMessage;
      post.fifo = static_cast<std::uint8_t>(q);
      post.message = m;
      post.flag = true;
      ops.push_back(post);
      dops::Op poll;
      poll.kind = dops::Kind::Poll;
      poll.fifo = static_cast<std::uint8_t>(q);
      poll.count = 4;
      ops.push_back(poll);
    }
  }
  return ops;
}

/// Frames in driver-queue / device-queue slots of the recording.
void frames(const Recorded& rec, std::vector<std::vector<std::uint8_t>>& req, std::vector<std::vector<std::uint8_t>>& resp) {
  for (const Access& a : rec.log) {
    if ((a.kind != Access::Kind::MemWrite && a.kind != Access::Kind::MemRead) || a.data.size() != fifo::kSlotSize) continue;
    if (a.addr < rec.bars[1] || a.addr >= rec.bars[2]) continue;
    const std::uint64_t in_window = (a.addr - rec.bars[1]) % fifo::kWindowSize;
    const std::size_t ms = static_cast<std::size_t>(a.data[6] | (a.data[7] << 8));
    if (ms < 8 || ms > a.data.size()) continue;
    std::vector<std::uint8_t> f(a.data.begin(), a.data.begin() + static_cast<std::ptrdiff_t>(ms));
    (in_window < fifo::kDeviceQueueOffset ? req : resp).push_back(std::move(f));
  }
}

// ---- fifo streams ----------------------------------------------------------------
fops::Op push(std::size_t len) {
  fops::Op o;
  o.kind = fops::Kind::Push;
  o.len = static_cast<std::uint8_t>(len);
  return o;
}
fops::Op simple(fops::Kind k) {
  fops::Op o;
  o.kind = k;
  return o;
}
fops::Op peer(fops::Kind k, fops::IndexMode mode, std::uint32_t v) {
  fops::Op o;
  o.kind = k;
  o.mode = mode;
  o.value = v;
  return o;
}
fops::Op reinit(std::uint8_t at, bool reset_to) {
  fops::Op o;
  o.kind = fops::Kind::Reinit;
  o.reinit_index = at;
  o.reinit_reset_to = reset_to;
  return o;
}

}  // namespace

// ---- transport streams -----------------------------------------------------------

/// Serialises a transport stream, proves it reads back identically, and runs
/// it through the TransportHarness with every oracle on.
std::vector<std::uint8_t> transport_input(tops::Setup setup, std::vector<tops::Op> ops) {
  fuzz::FdpWriter w;
  tops::io_setup(w, setup);
  for (auto& op : ops) tops::io_op(w, op);
  const auto bytes = fuzz::with_profile(setup.profile, w.finish());
  const std::uint8_t* data = bytes.data();
  std::size_t size = bytes.size();
  const fuzz::ProfileChoice profile = fuzz::take_profile(data, size);
  FuzzedDataProvider fdp(data, size);
  fuzz::FdpReader r(fdp);
  fuzz::FdpWriter again;
  tops::Setup s2;
  tops::io_setup(r, s2);
  tops::io_setup(again, s2);
  s2.profile = profile;
  fuzz::TransportHarness h(s2);
  while (r.more()) {
    tops::Op op;
    tops::io_op(r, op);
    tops::io_op(again, op);
    h.run(op);
  }
  h.finish();
  if (fuzz::with_profile(profile, again.finish()) != bytes) {
    throw std::logic_error("transport stream does not read back as written");
  }
  return bytes;
}

tops::Op t_bring_up(std::uint8_t queues, std::uint32_t size, std::uint64_t mask = ~std::uint64_t{0}) {
  tops::Op op;
  op.kind = tops::Kind::BringUp;
  op.count = queues;
  op.size = size;
  op.value = mask;
  return op;
}

tops::Op t_buffer(std::uint8_t q, std::vector<tops::Segment> chain, bool indirect = false, bool notify = true) {
  tops::Op op;
  op.kind = tops::Kind::AddBuffer;
  op.queue = q;
  op.chain = std::move(chain);
  op.flag = indirect;
  op.notify = notify;
  return op;
}

tops::Op t_time(std::uint64_t ns) {
  tops::Op op;
  op.kind = tops::Kind::AdvanceTime;
  op.value = ns;
  return op;
}

tops::Op t_msg(wire::Body b, std::uint16_t token = 7) {
  tops::Op op;
  op.kind = tops::Kind::Message;
  op.message = msg(tops::kDevNum, token, std::move(b));
  return op;
}

/// A blk request: header (type, sector), data, status byte.
std::vector<tops::Segment> blk_chain(std::uint16_t at, bool read, std::uint16_t data_len) {
  return {{at, 16, false}, {static_cast<std::uint16_t>(at + 0x100), data_len, read}, {static_cast<std::uint16_t>(at + 0x800), 1, true}};
}

tops::Op t_raw(std::uint64_t at, std::vector<std::uint8_t> bytes) {
  tops::Op op;
  op.kind = tops::Kind::RawWrite;
  op.value = at;
  op.bytes = std::move(bytes);
  return op;
}

/// Writes the blk request header a driver would put at data offset `at`.
tops::Op t_blk_header(std::uint16_t at, std::uint32_t type, std::uint64_t sector) {
  std::vector<std::uint8_t> h(16, 0);
  for (unsigned i = 0; i < 4; ++i) h[i] = static_cast<std::uint8_t>(type >> (8 * i));
  for (unsigned i = 0; i < 8; ++i) h[8 + i] = static_cast<std::uint8_t>(sector >> (8 * i));
  return t_raw(tops::kDataBase + at, h);
}

/// corpus/driver: the seeds live in tools/corpus_driver.cpp.
void driver_corpus(Out& out) {
  for (const auto& [name, bytes] : fuzz::driver_seeds()) out.write("driver", name, bytes);
}

void transport_corpus(Out& out) {
  // Variants 0-3 under PR28; 0 and 3 again under REV1 (baseline and strict configuration profile).
  const std::array<std::pair<int, fuzz::ProfileChoice>, 6> shapes{
      {{0, {}}, {1, {}}, {2, {}}, {3, {}}, {0, kRev1}, {3, kRev1Strict}}};
  for (std::uint8_t kind = 0; kind < tops::kKindCount; ++kind) {
    for (const auto& [variant, profile] : shapes) {
      tops::Setup setup;
      setup.kind = kind;
      setup.indirect = variant != 1;
      setup.event_idx = variant != 2;
      setup.profile = profile;
      const std::string tag =
          profile_tag(profile) + std::string(tops::kKinds[kind]).substr(7, 4) + "-" + std::to_string(variant);
      std::vector<tops::Op> ops;
      ops.push_back(t_msg(wire::GetDeviceInfoReq{}, 1));
      ops.push_back(t_bring_up(4, variant == 3 ? 4 : 16));
      ops.push_back(t_msg(wire::GetConfigReq{.offset = 0, .length = 8}, 2));
      ops.push_back(t_msg(wire::GetVqueueReq{0}, 3));
      for (std::uint16_t i = 0; i < 6; ++i) {
        const auto at = static_cast<std::uint16_t>(0x1000 * i);
        if (kind == 1) {
          ops.push_back(t_blk_header(at, i % 2 == 0 ? 0 : 1, i));
          ops.push_back(t_buffer(0, blk_chain(at, i % 2 == 0, 512), variant == 0 && i > 2));
        } else {
          ops.push_back(t_buffer(static_cast<std::uint8_t>(kind == 2 ? i % 3 : 0),
                                 {{at, static_cast<std::uint16_t>(16 + 8 * i), kind != 2}}, variant == 0 && i > 2));
        }
        ops.push_back(t_time(1'000'000));
      }
      out.write("transport", "session-hostile-" + tag, transport_input(setup, ops));
      tops::Setup polite = setup;
      polite.polite = true;  // a well-behaved driver: the validating peer must record nothing
      out.write("transport", "session-" + tag, transport_input(polite, ops));
      // Breakage: a chain made to loop (next points at itself) after it was
      // made available but before the notification, then a reset, a fresh
      // start, and a buffer that runs past the end of RAM.
      std::vector<tops::Op> broken = {t_bring_up(2, 8)};
      broken.push_back(t_buffer(0, {{0, 64, true}}, false, false));
      broken.push_back(t_raw(tops::kQueueBase + 12, {0x03, 0x00, 0x00, 0x00}));  // desc 0: NEXT|WRITE, next 0
      tops::Op kick;
      kick.kind = tops::Kind::Notify;
      broken.push_back(kick);
      broken.push_back(t_time(1000));
      tops::Op reset;
      reset.kind = tops::Kind::SetStatus;
      reset.count = 0;
      broken.push_back(reset);
      broken.push_back(t_bring_up(1, 4));
      broken.push_back(t_buffer(0, {{static_cast<std::uint16_t>(tops::kDataSize - 0x10), 0x100, true}}));
      broken.push_back(t_time(1000));
      out.write("transport", "broken-" + tag, transport_input(setup, broken));
      // Queue management: reset a queue, reconfigure it elsewhere, bad sizes.
      std::vector<tops::Op> queues = {t_bring_up(1, 8)};
      tops::Op rq;
      rq.kind = tops::Kind::ResetQueue;
      queues.push_back(rq);
      tops::Op sq;
      sq.kind = tops::Kind::SetQueue;
      sq.size = 8;
      queues.push_back(sq);
      queues.push_back(t_buffer(0, {{0x20, 16, true}}));
      sq.size = 3;
      queues.push_back(sq);
      sq.flag = true;
      sq.size = 4;
      sq.addrs = {0x8000, 0x8100, 0x8200};
      queues.push_back(sq);
      tops::Op nt;
      nt.kind = tops::Kind::Notify;
      queues.push_back(nt);
      out.write("transport", "queues-" + tag, transport_input(setup, queues));
    }
  }
}

// ---- differential streams ------------------------------------------------------------

std::shared_ptr<dut::Library> ref_library() {
  static std::shared_ptr<dut::Library> lib = dut::Library::open(VMSG_FUZZ_REF_DUT);
  return lib;
}

/// Serialises a differential stream, proves it reads back identically, and
/// runs it on both sides without faults (it must not diverge).
std::vector<std::uint8_t> diff_input(xops::Setup setup, std::vector<dops::Op> ops) {
  fuzz::FdpWriter w;
  xops::io_setup(w, setup);
  for (auto& op : ops) dops::io_op(w, op);
  const auto bytes = fuzz::with_profile(setup.profile, w.finish());
  const std::uint8_t* data = bytes.data();
  std::size_t size = bytes.size();
  const fuzz::ProfileChoice profile = fuzz::take_profile(data, size);
  FuzzedDataProvider fdp(data, size);
  fuzz::FdpReader r(fdp);
  xops::Setup s2;
  xops::io_setup(r, s2);
  s2.profile = profile;
  if (profile != setup.profile) throw std::logic_error("diff stream's profile does not read back as written");
  auto rules = std::make_shared<transport::DriverRuleLog>();
  target::ReferenceTarget t(fuzz::DiffRunner::spec(s2, rules));
  fuzz::DiffRunner runner(s2, t, *rules, ref_library(), {}, false);
  while (r.more()) {
    dops::Op op;
    dops::io_op(r, op);
    runner.run(op);
  }
  runner.finish();
  return bytes;
}

/// The differential setup matching a device setup: a virtio device at the
/// first device number plugged on each of the first three FIFOs.
xops::Setup diff_setup(const dops::Setup& d) {
  xops::Setup x;
  x.fifo_choice = d.fifo_choice;
  x.profile = d.profile;
  const unsigned nf = dops::kFifoChoices[d.fifo_choice];
  for (unsigned q = 0; q < nf && x.count < xops::kMaxDevices; ++q) {
    for (unsigned i = 0; i < 8; ++i) {
      if (((unsigned{d.devices[q]}) >> i) & 1u) {
        x.devices[x.count] = {static_cast<std::uint8_t>(x.count % xops::kKindCount), static_cast<std::uint8_t>(q),
                              static_cast<std::uint8_t>(dops::kDevNums[i])};
        ++x.count;
        break;
      }
    }
  }
  return x;
}

void write_device(Out& out, const std::string& name, const dops::Setup& setup, const std::vector<dops::Op>& ops) {
  out.write("device", name, device_input(setup, ops));
  out.write("diff", name, diff_input(diff_setup(setup), ops));
}

namespace {

/// Replaces the gen-* files of `dir` with `seeds` (the targets whose seeds
/// need no recorded traffic). Returns the number of files written.
std::size_t write_seeds(const fs::path& dir, const std::vector<std::pair<std::string, std::vector<std::uint8_t>>>& seeds) {
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("gen-", 0) == 0) fs::remove(e.path());
  }
  std::size_t n = 0;
  for (const auto& [name, bytes] : seeds) {
    std::ofstream f(dir / ("gen-" + name), std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[2]) == "qtest") {
    // Only corpus/qtest and corpus/qtest_args (tools/corpus_qtest.cpp).
    std::printf("qtest, qtest_args: %zu inputs\n", fuzz::write_qtest_corpus(argv[1]));
    return 0;
  }
  if (argc == 3 && std::string(argv[2]) == "driver") {
    // Only corpus/driver: its seeds need no recorded traffic (tools/corpus_driver.cpp).
    std::printf("driver: %zu inputs\n", write_seeds(fs::path(argv[1]) / "driver", fuzz::driver_seeds()));
    return 0;
  }
  if (argc == 3 && std::string(argv[2]) == "qmp") {
    // Only corpus/qmp (tools/corpus_qmp.cpp).
    std::printf("qmp: %zu inputs\n", write_seeds(fs::path(argv[1]) / "qmp", fuzz::qmp_seeds()));
    return 0;
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-root> [qtest|driver|qmp]\n", argv[0]);
    return 2;
  }
  Out out(argv[1]);

  // Scenarios: a bus session on every FIFO, device sessions on plugged
  // devices, and requests for device numbers with nothing behind them.
  std::vector<Scenario> scenarios;
  {
    Scenario s{"f1-dev0", {}, {}};
    s.setup.fifo_choice = 0;
    s.setup.devices[0] = 0x01;
    s.per_fifo = {bus_session()};
    for (auto& m : device_session(0)) s.per_fifo[0].push_back(m);
    scenarios.push_back(s);
  }
  {
    Scenario s{"f2-dev0-1-31", {}, {}};
    s.setup.fifo_choice = 1;
    s.setup.devices[0] = 0x83;  // 0, 1, 31
    s.setup.devices[1] = 0x01;
    s.per_fifo = {device_session(31), bus_session()};
    for (auto& m : device_session(1)) s.per_fifo[0].push_back(m);
    s.per_fifo[0].push_back(msg(5, 99, wire::GetDeviceInfoReq{}));  // absent device: no answer
    scenarios.push_back(s);
  }
  {
    Scenario s{"f4-mixed", {}, {}};
    s.setup.fifo_choice = 2;
    s.setup.devices = {0x01, 0x00, 0x10, 0xFF};
    s.per_fifo = {device_session(0), bus_session(), bus_session(), device_session(16)};
    scenarios.push_back(s);
  }
  {
    Scenario s{"f8-ping", {}, {}};
    s.setup.fifo_choice = 3;
    s.setup.devices = {0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01};
    s.per_fifo.assign(8, {msg(0, 1, wire::PingReq{42}), msg(0, 2, wire::GetDeviceInfoReq{})});
    scenarios.push_back(s);
  }

  std::vector<std::vector<std::uint8_t>> req, resp;
  std::vector<std::size_t> request_sizes;
  for (const auto& sc : scenarios) {
    const Recorded rec = record(sc);
    frames(rec, req, resp);
    write_device(out, "msg-" + sc.name, sc.setup, msg_ops(sc));
    // The raw recording of one FIFO's traffic at a time keeps inputs small.
    auto raw = raw_ops(rec);
    for (std::size_t i = 0, part = 0; i < raw.size(); i += 48, ++part) {
      std::vector<dops::Op> chunk(raw.begin() + static_cast<std::ptrdiff_t>(i),
                                  raw.begin() + static_cast<std::ptrdiff_t>(std::min(raw.size(), i + 48)));
      write_device(out, "raw-" + sc.name + "-" + std::to_string(part), sc.setup, chunk);
      if (part >= 5) break;
    }
  }
  // REV1-2026: the same exchanges with the whole machine in the second draft
  // (the raw recordings hold PR28 frames, so they stay PR28 only).
  for (const auto& sc : scenarios) {
    dops::Setup r1 = sc.setup;
    r1.profile = kRev1;
    write_device(out, "r1-msg-" + sc.name, r1, msg_ops(sc));
  }
  {
    dops::Setup strict = scenarios[1].setup;
    strict.profile = kRev1Strict;
    write_device(out, "r1s-msg-" + scenarios[1].name, strict, msg_ops(scenarios[1]));
  }
  // The differential target with each fault mode on both sides: a device
  // session behind a masked vector (unmasked at the end), so transport, bus,
  // register and MSI-X faults all have traffic to act on.
  {
    const Scenario& sc = scenarios[0];
    std::vector<dops::Op> ops;
    dops::Op mask;
    mask.kind = dops::Kind::MsixMask;
    mask.fifo = 0;
    mask.flag = true;
    ops.push_back(mask);
    for (const auto& op : msg_ops(sc)) ops.push_back(op);
    mask.flag = false;
    ops.push_back(mask);
    const auto all = fault::all_faults();
    for (std::size_t k = 0; k < all.size(); ++k) {
      xops::Setup x = diff_setup(sc.setup);
      x.fault = static_cast<std::uint8_t>(k + 1);
      out.write("diff", "fault-" + std::string(all[k].name), diff_input(x, ops));
      // The faults judged under REV1 only act on a REV1 machine: there too.
      if (all[k].profiles.find("pr28") == std::string_view::npos) {
        x.profile = kRev1;
        out.write("diff", "r1-fault-" + std::string(all[k].name), diff_input(x, ops));
      }
    }
  }
  // Whole-device edges, from the same shapes: remapped BARs, masked vectors,
  // MEM/BME off while traffic flows, re-initialisation mid-stream.
  {
    const Scenario& sc = scenarios[1];
    auto base = msg_ops(sc);
    auto with = [&](std::vector<dops::Op> pre, const std::string& name) {
      std::vector<dops::Op> ops = std::move(pre);
      ops.insert(ops.end(), base.begin(), base.begin() + 12);
      write_device(out, "edge-" + name, sc.setup, ops);
    };
    dops::Op mask;
    mask.kind = dops::Kind::MsixMask;
    mask.fifo = 0;
    mask.flag = true;
    with({mask}, "masked-vector");
    dops::Op ctrl;
    ctrl.kind = dops::Kind::MsixControl;
    ctrl.flag = true;
    ctrl.flag2 = true;
    with({ctrl}, "function-mask");
    dops::Op cmd;
    cmd.kind = dops::Kind::SetCommand;
    cmd.value = 1;  // MEM only: no BME
    with({cmd}, "no-bme");
    dops::Op move;
    move.kind = dops::Kind::MoveBar;
    move.fifo = 1;
    move.bar_value = dops::BarValue::OtherWindow;
    move.value = 0x40;
    with({move}, "bar1-moved");
    dops::Op re;
    re.kind = dops::Kind::Reinit;
    with({re}, "reinit");
    // Back-pressure: bursts of PINGs outrun the 61-slot device queue until
    // the pending queue reaches its response reserve; then drain by polling.
    std::vector<dops::Op> bursts;
    for (int i = 0; i < 6; ++i) {
      dops::Op b;
      b.kind = dops::Kind::Burst;
      b.fifo = 1;
      b.count = dops::kMaxPoll;
      b.message = msg(0, static_cast<std::uint16_t>(i), wire::PingReq{static_cast<std::uint32_t>(i)});
      bursts.push_back(b);
    }
    for (int i = 0; i < 8; ++i) {
      dops::Op t;
      t.kind = dops::Kind::AdvanceTime;
      t.value = 100000;
      bursts.push_back(t);
      dops::Op p;
      p.kind = dops::Kind::Poll;
      p.fifo = 1;
      p.count = dops::kMaxPoll;
      bursts.push_back(p);
    }
    write_device(out, "edge-backpressure", sc.setup, bursts);
  }

  for (std::size_t i = 0; i < req.size(); ++i) {
    out.write("codec", "req-" + std::to_string(i), req[i]);
    request_sizes.push_back(req[i].size());
  }
  for (std::size_t i = 0; i < resp.size(); ++i) out.write("codec", "resp-" + std::to_string(i), resp[i]);
  // A few whole slots: zero padding after msg_size must not matter.
  for (std::size_t i = 0; i < req.size() && i < 4; ++i) {
    auto slot = req[i];
    slot.resize(fifo::kSlotSize, 0);
    out.write("codec", "slot-" + std::to_string(i), slot);
  }

  // FIFO streams in each option combination.
  for (int opt = 0; opt < 8; ++opt) {
    const fops::Setup setup{
        .zero_pad = (opt & 1) == 0, .trust_own_index = (opt & 2) != 0, .cache_peer_index = (opt & 4) != 0};
    const std::string tag = std::string(setup.zero_pad ? "pad" : "nopad") + (setup.trust_own_index ? "-trust" : "") +
                            (setup.cache_peer_index ? "-cache" : "");
    // The recorded driver traffic: request, then the device consumes it.
    std::vector<fops::Op> traffic;
    for (std::size_t len : request_sizes) {
      traffic.push_back(push(len));
      traffic.push_back(simple(fops::Kind::Available));
      traffic.push_back(simple(fops::Kind::Pop));
    }
    if (traffic.size() > 300) traffic.resize(300);
    out.write("fifo", "traffic-" + tag, fifo_input(setup, traffic));
    // Fill to full, one more, drain, one more pop.
    std::vector<fops::Op> full;
    for (unsigned i = 0; i < fifo::kUsableSlots + 1; ++i) full.push_back(push(request_sizes[i % request_sizes.size()]));
    full.push_back(simple(fops::Kind::FreeSlots));
    for (unsigned i = 0; i < fifo::kUsableSlots + 1; ++i) full.push_back(simple(fops::Kind::Pop));
    full.push_back(push(65));
    out.write("fifo", "full-" + tag, fifo_input(setup, full));
    // Wrap around the end of the slot array.
    std::vector<fops::Op> wrap{reinit(59, true)};
    for (unsigned i = 0; i < 6; ++i) {
      wrap.push_back(push(8 + 8 * i));
      wrap.push_back(simple(fops::Kind::Pop));
    }
    wrap.push_back(reinit(61, false));
    wrap.push_back(push(64));
    wrap.push_back(push(12));
    wrap.push_back(simple(fops::Kind::Pop));
    wrap.push_back(simple(fops::Kind::Pop));
    out.write("fifo", "wrap-" + tag, fifo_input(setup, wrap));
    // A hostile peer: every boundary index, on each side.
    std::vector<fops::Op> hostile;
    for (std::uint32_t b = 0; b < fops::kBoundaryCount; ++b) {
      hostile.push_back(push(16));
      hostile.push_back(peer(fops::Kind::PeerTail, fops::IndexMode::Boundary, b));
      hostile.push_back(push(20));
      hostile.push_back(simple(fops::Kind::FreeSlots));
      hostile.push_back(peer(fops::Kind::PeerHead, fops::IndexMode::Boundary, b));
      hostile.push_back(simple(fops::Kind::Pop));
      hostile.push_back(simple(fops::Kind::Available));
      hostile.push_back(simple(fops::Kind::SyncProducer));
      hostile.push_back(simple(fops::Kind::SyncConsumer));
    }
    hostile.push_back(reinit(0, false));
    hostile.push_back(push(8));
    hostile.push_back(simple(fops::Kind::Pop));
    out.write("fifo", "hostile-" + tag, fifo_input(setup, hostile));
    // Peer rewrites a published slot and a relative index.
    fops::Op raw;
    raw.kind = fops::Kind::PeerRaw;
    raw.offset = static_cast<std::uint16_t>(fifo::slot_offset(1) - 4);
    raw.bytes.assign(72, 0xEE);
    out.write("fifo", "scribble-" + tag,
              fifo_input(setup, {push(24), push(24), push(24), raw, peer(fops::Kind::PeerHead, fops::IndexMode::Relative, 61),
                                 simple(fops::Kind::Pop), simple(fops::Kind::Pop), simple(fops::Kind::Available)}));
  }
  transport_corpus(out);
  driver_corpus(out);
  for (auto& seed : fuzz::seeds::transport_rule_seeds()) {
    out.write("transport", seed.name, transport_input(seed.setup, std::move(seed.ops)));
  }
  for (const auto& seed : fuzz::seeds::dut_config_seeds()) out.write("dut_config", seed.name, seed.bytes);
  {
    // fuzz.diff.fault_found replays this one with answer-empty-slot on the
    // library side: the request to empty number 5 is answered there only.
    xops::Setup x;
    x.count = 1;
    x.devices[0] = {0, 0, 0};
    std::vector<dops::Op> ops;
    dops::Op post;
    post.kind = dops::Kind::PostMessage;
    post.message = msg(5, 99, wire::GetDeviceInfoReq{});
    post.flag = true;
    ops.push_back(post);
    dops::Op poll;
    poll.kind = dops::Kind::Poll;
    poll.count = 4;
    ops.push_back(poll);
    out.write("diff", "empty-slot", diff_input(x, ops));
  }
  std::printf("qtest, qtest_args: %zu inputs\n", fuzz::write_qtest_corpus(argv[1]));
  std::printf("qmp: %zu inputs\n", write_seeds(fs::path(argv[1]) / "qmp", fuzz::qmp_seeds()));
  out.report();
  return 0;
}

// The optional ABI 1.1 entries (stimulus, violations): absent in an older or
// a NULL table, paged and bounded in LibPort, implemented by the reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "dut_test_paths.h"
#include "vmsg/common/errors.hpp"
#include "vmsg/driver/amp_driver.hpp"
#include "vmsg/dut/lib_port.hpp"

namespace vmsg::dut {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(DutCapabilities, OlderMinorLoadsAndItsTailIsNeverRead) {
  // The fake's table says 1.0 but has non-NULL entries past its struct_size.
  LibPort p(VMSG_FAKE_DUT_OLDMINOR, {.config = "", .ram_size = 4ULL << 20});
  EXPECT_EQ(p.library().api().abi_minor, 0u);
  EXPECT_FALSE(p.has_stimulus());
  EXPECT_FALSE(p.has_violations());
  EXPECT_THROW(p.stimulus("config-change dev=1"), PortError);
  EXPECT_THROW((void)p.peek_violations(), PortError);
  // Its bulk entries lie past struct_size too (poisoned: they would report
  // success); a transfer outside RAM must go through its single accesses,
  // whose undefined status is an error.
  EXPECT_EQ(p.library().mmio_read_bulk_fn(), nullptr);
  EXPECT_EQ(p.library().mmio_write_bulk_fn(), nullptr);
  std::array<std::uint8_t, 16> buf{};
  EXPECT_THROW(p.mem_read(0xE000'0000, buf), PortError);
}

TEST(DutCapabilities, NullEntriesAreAbsent) {
  LibPort p(VMSG_FAKE_DUT_MISBEHAVE, {.config = "", .ram_size = 4ULL << 20});
  EXPECT_FALSE(p.has_stimulus());
  EXPECT_FALSE(p.has_violations());
  EXPECT_THROW(p.clear_violations(), PortError);
}

TEST(DutCapabilities, StimulusStatusesMapToResultOrError) {
  LibPort p(VMSG_FAKE_DUT_EXT, {.config = "", .ram_size = 4ULL << 20});
  ASSERT_TRUE(p.has_stimulus());
  EXPECT_TRUE(p.stimulus("config-change fifo=0 dev=1"));
  EXPECT_FALSE(p.stimulus("nope"));
  try {
    p.stimulus("boom");
    FAIL() << "a failing stimulus must throw";
  } catch (const PortError& e) {
    EXPECT_TRUE(contains(e.what(), "stimulus(boom)")) << e.what();
  }
}

TEST(DutCapabilities, ViolationLinesArePagedKeptAndTaken) {
  LibPort p(VMSG_FAKE_DUT_EXT, {.config = "", .ram_size = 4ULL << 20});
  ASSERT_TRUE(p.has_violations());
  const std::vector<std::string> want = {"VMSG-DRV-014 dev=1 SET_VQUEUE: reserved 1", "VMSG-DRV-009 dev=0 frame: type 0x80",
                                         "no-newline-cut-line"};
  EXPECT_EQ(p.peek_violations(), want);  // three MORE/OK rounds
  EXPECT_EQ(p.peek_violations(), want);  // kept by the port though read from the library
  EXPECT_EQ(p.take_violations(), want);
  EXPECT_TRUE(p.take_violations().empty());
}

TEST(DutCapabilities, EndlessMoreIsAnErrorNotAHang) {
  LibPort p(VMSG_FAKE_DUT_EXT, {.config = "endless", .ram_size = 4ULL << 20});
  try {
    (void)p.peek_violations();
    FAIL() << "endless MORE must throw";
  } catch (const PortError& e) {
    EXPECT_TRUE(contains(e.what(), "MORE")) << e.what();
  }
}

/// The reference library with the driver opened on it.
struct RefRig {
  explicit RefRig(const std::string& config)
      : port(VMSG_REF_DUT_PATH, {.config = config, .ram_size = 16ULL << 20}),
        ram(port.address_map()),
        window(port.address_map()),
        drv(driver::AmpDriver::open(port, ram, window)) {}
  LibPort port;
  driver::GuestAllocator ram;
  driver::BarWindowAllocator window;
  driver::AmpDriver drv;
};

constexpr const char* kTopology =
    "num-fifos=2 device=virtio-rng-device,fifo=0,dev=1 device=virtio-balloon-device,fifo=1,dev=1";

TEST(RefLibCapabilities, RecordsDriverRuleViolationsAndClearsThem) {
  RefRig rig(kTopology);
  ASSERT_TRUE(rig.port.has_violations());
  EXPECT_TRUE(rig.port.peek_violations().empty());
  // A SET_VQUEUE with a non-zero reserved word breaks VMSG-DRV-014.
  (void)rig.drv.fifo(0).request(wire::Message{.dev_num = 1, .token = 0, .reserved_type_bits = 0,
                                              .body = wire::SetVqueueReq{.index = 0, .flags = 1, .size = 8}});
  const auto lines = rig.port.take_violations();
  bool found = false;
  for (const std::string& l : lines) found = found || l.rfind("VMSG-DRV-014 dev=1 ", 0) == 0;
  EXPECT_TRUE(found) << (lines.empty() ? "no lines" : lines.front());
  EXPECT_TRUE(rig.port.take_violations().empty());  // cleared on read

  (void)rig.drv.fifo(0).request(wire::Message{.dev_num = 1, .token = 0, .reserved_type_bits = 0,
                                              .body = wire::SetVqueueReq{.index = 0, .flags = 1, .size = 8}});
  rig.port.clear_violations();
  EXPECT_TRUE(rig.port.peek_violations().empty());  // the explicit clear reached the library
}

/// One instance of the reference library driven through its table alone, with
/// BAR0 at 0xE0000000 and BAR1 (one FIFO: 16 KiB of plain memory) at
/// 0xE0010000, memory decoding on.
struct RawRef {
  RawRef() : lib(Library::open(VMSG_REF_DUT_PATH)), api(lib->api()) {
    vmsg_dut_host host{};
    host.struct_size = sizeof host;
    host.mem_read = [](void*, std::uint64_t, void*, std::size_t) { return 1; };
    host.mem_write = [](void*, std::uint64_t, const void*, std::size_t) { return 1; };
    host.msi_write = [](void*, std::uint16_t, std::uint64_t, std::uint32_t) { return 1; };
    char err[256] = {};
    dut = api.create("num-fifos=1", &host, err, sizeof err);
    if (dut == nullptr) throw PortError(err);
    (void)api.config_write(dut, 0, 4, 0, 0x10, 4, 0xE000'0000);
    (void)api.config_write(dut, 0, 4, 0, 0x14, 4, 0xE001'0000);
    (void)api.config_write(dut, 0, 4, 0, 0x04, 2, 0x0002);
  }
  ~RawRef() { api.destroy(dut); }
  RawRef(const RawRef&) = delete;
  RawRef& operator=(const RawRef&) = delete;
  std::shared_ptr<Library> lib;
  const vmsg_dut_api& api;
  vmsg_dut* dut = nullptr;
};

TEST(RefLibCapabilities, BulkAccessMovesExactlyWhatSingleAccessesWould) {
  RawRef r;
  const auto rd = r.lib->mmio_read_bulk_fn();
  const auto wr = r.lib->mmio_write_bulk_fn();
  ASSERT_NE(rd, nullptr);
  ASSERT_NE(wr, nullptr);
  std::array<std::uint8_t, 100> data{};
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(0xA0 ^ i);
  ASSERT_EQ(wr(r.dut, 0xE001'0103, data.data(), data.size()), VMSG_DUT_OK);  // any alignment
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::uint64_t v = 0;
    ASSERT_EQ(r.api.mmio_read(r.dut, 0xE001'0103 + i, 1, &v), VMSG_DUT_OK);
    ASSERT_EQ(v, data[i]) << i;
  }
  ASSERT_EQ(r.api.mmio_write(r.dut, 0xE001'0108, 8, 0x1122334455667788ULL), VMSG_DUT_OK);
  std::array<std::uint8_t, 8> back{};
  ASSERT_EQ(rd(r.dut, 0xE001'0108, back.data(), back.size()), VMSG_DUT_OK);
  EXPECT_EQ(back, (std::array<std::uint8_t, 8>{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}));
}

TEST(RefLibCapabilities, BulkAccessDeclinesWhatIsNotPlainMemory) {
  RawRef r;
  const auto rd = r.lib->mmio_read_bulk_fn();
  const auto wr = r.lib->mmio_write_bulk_fn();
  std::array<std::uint8_t, 64> buf{};
  EXPECT_EQ(wr(r.dut, 0xE000'0020, buf.data(), 4), VMSG_DUT_UNSUPPORTED);  // BAR0: the doorbell registers
  EXPECT_EQ(rd(r.dut, 0xE000'0000, buf.data(), 8), VMSG_DUT_UNSUPPORTED);
  EXPECT_EQ(rd(r.dut, 0xE001'3FF0, buf.data(), 32), VMSG_DUT_UNSUPPORTED);  // runs past BAR1's end
  EXPECT_EQ(rd(r.dut, 0xF000'0000, buf.data(), 8), VMSG_DUT_UNMAPPED);
  EXPECT_EQ(rd(r.dut, 0xE001'0000, nullptr, 8), VMSG_DUT_ERR_INVALID);
  EXPECT_EQ(wr(r.dut, 0xE001'0000, buf.data(), 0), VMSG_DUT_ERR_INVALID);
  (void)r.api.config_write(r.dut, 0, 4, 0, 0x04, 2, 0);  // memory decoding off: nothing decodes
  EXPECT_EQ(rd(r.dut, 0xE001'0000, buf.data(), 8), VMSG_DUT_UNMAPPED);
}

TEST(RefLibCapabilities, LibPortTransfersAcrossRegistersAndFifoRamStillSplitWhereNeeded) {
  RefRig rig(kTopology);
  const std::uint64_t bar1 = rig.drv.bar1();
  std::array<std::uint8_t, 40> data{};
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i + 1);
  // Runs 8 bytes past BAR1's end (FIFO 1's window end), into the MSI-X BAR
  // the driver placed behind it: the library declines the bulk offer and
  // LibPort goes piece by piece, so BAR1 still gets exactly its 32 bytes and
  // the MSI-X table its two dwords (entry 0's address, read back as written).
  const std::uint64_t end = bar1 + 2 * 0x4000;
  ASSERT_EQ(rig.drv.function().bars[2].base, end);
  rig.port.mem_write(end - 32, data);
  std::array<std::uint8_t, 40> back{};
  rig.port.mem_read(end - 32, back);
  EXPECT_EQ(back, data);
  EXPECT_EQ(rig.port.stats().unbacked_bulk_bytes, 0u);
}

TEST(RefLibCapabilities, ConfigChangeOnlyWhereTheDeviceHasOne) {
  RefRig rig(kTopology);
  ASSERT_TRUE(rig.port.has_stimulus());
  const auto msis = rig.port.stats().msis;
  EXPECT_TRUE(rig.port.stimulus("config-change fifo=1 dev=1"));  // the balloon
  EXPECT_GT(rig.port.stats().msis, msis);                         // EVENT_CONFIG went out on FIFO 1
  EXPECT_FALSE(rig.port.stimulus("config-change fifo=0 dev=1"));  // rng: nothing to change
  EXPECT_FALSE(rig.port.stimulus("self-destruct dev=1"));         // unknown verb
  EXPECT_THROW(rig.port.stimulus("config-change fifo=0 dev=9"), PortError);
  EXPECT_THROW(rig.port.stimulus("config-change fifo=x dev=1"), PortError);
  EXPECT_THROW(rig.port.stimulus(""), PortError);
}

}  // namespace
}  // namespace vmsg::dut

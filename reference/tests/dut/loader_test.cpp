// Library loading and the mapping of a misbehaving library onto PortError.
#include <gtest/gtest.h>

#include <string>

#include "dut_test_paths.h"
#include "vmsg/common/errors.hpp"
#include "vmsg/dut/lib_port.hpp"

namespace vmsg::dut {
namespace {

/// The PortError message of loading `path`, or "" when it loaded.
std::string load_error(const std::string& path) {
  try {
    (void)Library::open(path);
  } catch (const PortError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(DutLoader, ReferenceLibraryLoadsAndNamesItself) {
  auto lib = Library::open(VMSG_REF_DUT_PATH);
  EXPECT_EQ(lib->api().abi_major, VMSG_DUT_ABI_MAJOR);
  EXPECT_TRUE(contains(lib->name(), "reference")) << lib->name();
}

TEST(DutLoader, MissingFileIsRefusedWithThePath) {
  const std::string e = load_error("/nonexistent/libnothing.so");
  EXPECT_TRUE(contains(e, "/nonexistent/libnothing.so")) << e;
  EXPECT_TRUE(contains(e, "cannot load")) << e;
}

TEST(DutLoader, LibraryWithoutEntryPointIsRefused) {
  const std::string e = load_error(VMSG_FAKE_DUT_NOSYM);
  EXPECT_TRUE(contains(e, "does not export vmsg_dut_get_api")) << e;
}

TEST(DutLoader, LibraryWithoutOurMajorIsRefused) {
  const std::string e = load_error(VMSG_FAKE_DUT_NOMAJOR);
  EXPECT_TRUE(contains(e, "no table for ABI major 1")) << e;
}

TEST(DutLoader, TableOfAnotherMajorIsAVersionMismatch) {
  const std::string e = load_error(VMSG_FAKE_DUT_BADMAJOR);
  EXPECT_TRUE(contains(e, "ABI version mismatch")) << e;
  EXPECT_TRUE(contains(e, "2.0")) << e;
}

TEST(DutLoader, TruncatedTableIsRefused) {
  const std::string e = load_error(VMSG_FAKE_DUT_SHORTTABLE);
  EXPECT_TRUE(contains(e, "16 bytes")) << e;
}

TEST(DutLoader, NullFunctionPointerIsNamed) {
  const std::string e = load_error(VMSG_FAKE_DUT_NULLFN);
  EXPECT_TRUE(contains(e, "no mmio_read")) << e;
}

TEST(DutLoader, CreateFailureCarriesTheLibraryMessage) {
  try {
    LibPort p(VMSG_FAKE_DUT_MISBEHAVE, {.config = "refuse", .ram_size = 4ULL << 20});
    FAIL() << "create succeeded";
  } catch (const PortError& e) {
    EXPECT_TRUE(contains(e.what(), "fake: refused the configuration")) << e.what();
  }
  try {
    LibPort p(VMSG_FAKE_DUT_MISBEHAVE, {.config = "silent", .ram_size = 4ULL << 20});
    FAIL() << "create succeeded";
  } catch (const PortError& e) {
    EXPECT_TRUE(contains(e.what(), "no message")) << e.what();
  }
}

TEST(DutLoader, FailingCallsBecomePortErrorsWithTheLibraryMessage) {
  LibPort p(VMSG_FAKE_DUT_MISBEHAVE, {.config = "", .ram_size = 4ULL << 20});
  const auto message = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const PortError& e) {
      return e.what();
    }
    return "";
  };
  const std::string cr = message([&] { (void)p.config_read({0, 4, 0}, 0, 4); });
  EXPECT_TRUE(contains(cr, "config_read(00:04.0, 0x0, 4): failed: fake: the model exploded")) << cr;
  const std::string mr = message([&] { (void)p.mmio_read(0xE000'0000, 4); });
  EXPECT_TRUE(contains(mr, "status 7")) << mr;
  const std::string mw = message([&] { p.mmio_write(0xE000'0000, 4, 1); });
  EXPECT_TRUE(contains(mw, "invalid argument")) << mw;
  const std::string t = message([&] { p.advance_time(10); });
  EXPECT_TRUE(contains(t, "advance_time(10)")) << t;
  // A bulk transfer that reaches the library fails the same way.
  std::vector<std::uint8_t> buf(16);
  EXPECT_THROW(p.mem_read(0xE000'0000, buf), PortError);
  // "No function" is an answer, not an error: the write is dropped.
  EXPECT_NO_THROW(p.config_write({0, 4, 0}, 4, 2, 6));
  // RAM never reaches the library.
  EXPECT_NO_THROW(p.mmio_write(0x1000, 4, 0xAABBCCDD));
  EXPECT_EQ(p.mmio_read(0x1000, 4), 0xAABBCCDDu);
}

TEST(DutLoader, PortArgumentChecksComeBeforeTheLibrary) {
  LibPort p(VMSG_REF_DUT_PATH, {.config = "", .ram_size = 4ULL << 20});
  EXPECT_THROW((void)p.config_read({0, 4, 0}, 0, 3), PortError);
  EXPECT_THROW((void)p.config_read({0, 4, 0}, 4094, 4), PortError);
  EXPECT_THROW((void)p.mmio_read(0xE000'0000, 3), PortError);
  EXPECT_THROW(p.mmio_write(0xE000'0000, 16, 0), PortError);
}

TEST(DutLoader, BadRamSizeIsAConfigError) {
  EXPECT_THROW(LibPort(VMSG_REF_DUT_PATH, {.config = "", .ram_size = 4096}), ConfigError);
}

}  // namespace
}  // namespace vmsg::dut

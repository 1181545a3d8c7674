// The fault table and FaultSet: names, parsing, and the facts each row gives.
#include "vmsg/common/faults.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "vmsg/common/errors.hpp"

namespace vmsg::fault {
namespace {

TEST(Faults, TableFollowsTheEnum) {
  ASSERT_EQ(all_faults().size(), kFaultCount);
  for (std::size_t i = 0; i < kFaultCount; ++i) {
    EXPECT_EQ(static_cast<std::size_t>(all_faults()[i].fault), i);
    EXPECT_EQ(&info(static_cast<Fault>(i)), &all_faults()[i]);
  }
}

TEST(Faults, NamesAreUniqueKebabCase) {
  std::set<std::string> seen;
  const std::regex kebab("[a-z0-9]+(-[a-z0-9]+)*");
  for (const FaultInfo& fi : all_faults()) {
    const std::string name(fi.name);
    EXPECT_TRUE(std::regex_match(name, kebab)) << name;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
  }
}

TEST(Faults, EveryRowIsFilledIn) {
  const std::regex id("(VMSG-(BUS|DEV|DRV|GEN)-[0-9]{3}|AMP-[0-9]{3}|PCI-[0-9]{3})");
  for (const FaultInfo& fi : all_faults()) {
    EXPECT_FALSE(fi.summary.empty()) << fi.name;
    EXPECT_FALSE(fi.modelled_on.empty()) << fi.name;
    std::istringstream ids{std::string(fi.breaks)};
    std::string one;
    int n = 0;
    while (ids >> one) {
      EXPECT_TRUE(std::regex_match(one, id)) << fi.name << ": " << one;
      ++n;
    }
    EXPECT_GT(n, 0) << fi.name;
    EXPECT_EQ(fi.breaks.find("  "), std::string_view::npos) << fi.name;
  }
}

TEST(Faults, ParseRoundTripsEveryName) {
  for (const FaultInfo& fi : all_faults()) {
    const auto f = parse(fi.name);
    ASSERT_TRUE(f.has_value()) << fi.name;
    EXPECT_EQ(*f, fi.fault);
  }
  EXPECT_FALSE(parse("").has_value());
  EXPECT_FALSE(parse("No-Get-Shm-Response").has_value());
  EXPECT_FALSE(parse("no-get-shm").has_value());
}

TEST(Faults, KnownNamesMatchTheHeader) {
  EXPECT_EQ(parse("no-get-shm-response"), Fault::NoGetShmResponse);
  EXPECT_EQ(parse("lose-on-full-ring"), Fault::LoseOnFullRing);
  EXPECT_EQ(parse("max-message-48"), Fault::MaxMessage48);
  EXPECT_EQ(parse("duplicate-response"), Fault::DuplicateResponse);
}

TEST(FaultSet, EmptyByDefault) {
  const FaultSet s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.to_string(), "");
  for (const FaultInfo& fi : all_faults()) EXPECT_FALSE(s.has(fi.fault));
  EXPECT_EQ(FaultSet::parse_list(""), s);
}

TEST(FaultSet, ParseListAndToStringRoundTrip) {
  const FaultSet s = FaultSet::parse_list("duplicate-response,no-get-shm-response");
  EXPECT_TRUE(s.has(Fault::DuplicateResponse));
  EXPECT_TRUE(s.has(Fault::NoGetShmResponse));
  EXPECT_FALSE(s.has(Fault::NoSizeCheck));
  EXPECT_EQ(s.to_string(), "no-get-shm-response,duplicate-response");  // enum order
  EXPECT_EQ(FaultSet::parse_list(s.to_string()), s);

  FaultSet all;
  for (const FaultInfo& fi : all_faults()) all.set(fi.fault);
  EXPECT_EQ(FaultSet::parse_list(all.to_string()), all);
  EXPECT_EQ(FaultSet::parse_list(" stale-slot-bytes , msix-ignores-mask"),
            FaultSet{}.set(Fault::StaleSlotBytes).set(Fault::MsixIgnoresMask));
}

TEST(FaultSet, SetAndClear) {
  FaultSet s;
  s.set(Fault::NoSizeCheck);
  EXPECT_FALSE(s.empty());
  s.set(Fault::NoSizeCheck, false);
  EXPECT_TRUE(s.empty());
}

TEST(FaultSet, UnknownNameIsAConfigErrorNamingIt) {
  for (const char* bad : {"no-such-fault", "stale-slot-bytes,bogus", "a,,b", ","}) {
    try {
      (void)FaultSet::parse_list(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("unknown fault"), std::string::npos) << what;
    }
  }
  try {
    (void)FaultSet::parse_list("stale-slot-bytes,bogus");
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("\"bogus\""), std::string::npos);
  }
}

}  // namespace
}  // namespace vmsg::fault

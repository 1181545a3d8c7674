// The fault table and FaultSet: names, parsing, and the facts each row gives.
#include "vmsg/common/faults.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

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
  // READ-Gnn: the project readings of virtio-msg.md §14.2 in the catalogue;
  // VIRTIO-*: the virtio core and device-type chapters (requirements-virtio.toml).
  const std::regex id(
      "(VMSG-(BUS|DEV|DRV|GEN)-[0-9]{3}|R1-(BUS|DEV|DRV|GEN)-[0-9]{3}|AMP-[0-9]{3}|PCI-[0-9]{3}|READ-G[0-9]{2}|"
      "VIRTIO-(RING|CORE|RNG|BLK|BALLOON)-[0-9]{3})");
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
    // A conforming variation breaks nothing (a matrix expects no finding); every other fault breaks something.
    const bool variation = fi.fault == Fault::UsedOutOfOrder;
    EXPECT_EQ(n > 0, !variation) << fi.name;
    EXPECT_EQ(fi.breaks.find("  "), std::string_view::npos) << fi.name;
  }
}

TEST(Faults, ProfilesNameKnownProfilesAndMatchTheIdsBroken) {
  for (const FaultInfo& fi : all_faults()) {
    std::istringstream names{std::string(fi.profiles)};
    std::string one;
    int n = 0;
    while (names >> one) {
      EXPECT_TRUE(one == "pr28" || one == "rev1-2026") << fi.name << ": " << one;
      ++n;
    }
    EXPECT_GT(n, 0) << fi.name;
    // A fault judged only under REV1 breaks REV1 rules, and one judged only under PR28 PR28 rules.
    const bool r1_ids = fi.breaks.find("R1-") != std::string_view::npos;
    if (!applies_to(fi, "pr28")) {
      EXPECT_TRUE(r1_ids) << fi.name;
    }
    if (!applies_to(fi, "rev1-2026")) {
      EXPECT_FALSE(r1_ids) << fi.name;
    }
  }
}

TEST(Faults, Rev1FaultsAreJudgedUnderRev1Only) {
  for (const Fault f : {Fault::Rev1TokenNotCopied, Fault::Rev1VqueueFlagsIgnored, Fault::Rev1ShmPr28Layout,
                        Fault::Rev1StaleGenerationRejected}) {
    EXPECT_TRUE(applies_to(info(f), "rev1-2026")) << info(f).name;
    EXPECT_FALSE(applies_to(info(f), "pr28")) << info(f).name;
    EXPECT_EQ(info(f).name.substr(0, 5), "rev1-");
  }
  EXPECT_EQ(parse("rev1-token-not-copied"), Fault::Rev1TokenNotCopied);
  EXPECT_EQ(info(Fault::Rev1StaleGenerationRejected).breaks, "R1-DEV-006 R1-DEV-011 R1-DEV-012");
  // The default is both; the PR28-only rows say so.
  EXPECT_TRUE(applies_to(info(Fault::DuplicateResponse), "pr28"));
  EXPECT_TRUE(applies_to(info(Fault::DuplicateResponse), "rev1-2026"));
  EXPECT_FALSE(applies_to(info(Fault::SetConfigIgnoresGeneration), "rev1-2026"));
  EXPECT_FALSE(applies_to(info(Fault::GetDevicesUnaligned), "rev1-2026"));
  EXPECT_FALSE(applies_to(info(Fault::DuplicateResponse), "rev1"));  // whole names only
  EXPECT_FALSE(applies_to(info(Fault::DuplicateResponse), ""));
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
  EXPECT_EQ(parse("cur-size-reports-max"), Fault::CurSizeReportsMax);
  EXPECT_EQ(parse("accept-unoffered-features"), Fault::AcceptUnofferedFeatures);
  EXPECT_EQ(parse("config-out-of-range-ff"), Fault::ConfigOutOfRangeFf);
}

TEST(Faults, NewRowsBreakWhatTheyShould) {
  EXPECT_EQ(parse("asan-reset-vqueue-overflow"), Fault::AsanResetVqueueOverflow);
  // VMSG-DEV-012 is what the suite's RESET_VQUEUE robustness test cites first
  EXPECT_EQ(info(Fault::AsanResetVqueueOverflow).breaks, "VMSG-DEV-012 VMSG-DEV-058 READ-G08");
  EXPECT_EQ(info(Fault::CurSizeReportsMax).breaks, "VMSG-DEV-055");
  EXPECT_EQ(info(Fault::AcceptUnofferedFeatures).breaks, "VMSG-DEV-049 READ-G04 VIRTIO-CORE-050");
  EXPECT_EQ(info(Fault::ConfigOutOfRangeFf).breaks, "READ-G01");
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

// ---- named fault sets ------------------------------------------------------------

/// The fault names of a set, in table order.
std::vector<std::string> member_names(const FaultSetInfo& s) {
  std::vector<std::string> out;
  for (const Fault f : s.members) out.emplace_back(info(f).name);
  return out;
}

TEST(FaultSets, NamesAreKebabCaseAndNeverAFaultName) {
  const std::regex kebab("[a-z0-9]+(-[a-z0-9]+)*");
  std::set<std::string> seen;
  for (const FaultInfo& fi : all_faults()) seen.emplace(fi.name);
  ASSERT_FALSE(all_fault_sets().empty());
  for (const FaultSetInfo& s : all_fault_sets()) {
    const std::string name(s.name);
    EXPECT_TRUE(std::regex_match(name, kebab)) << name;
    EXPECT_TRUE(seen.insert(name).second) << name << " is taken by a fault or another set";
    EXPECT_FALSE(parse(s.name).has_value()) << name;
    EXPECT_FALSE(s.summary.empty()) << name;
    EXPECT_FALSE(s.members.empty()) << name;
    EXPECT_EQ(find_fault_set(s.name), &s);
  }
  EXPECT_EQ(find_fault_set("no-such-set"), nullptr);
  EXPECT_EQ(find_fault_set("stale-slot-bytes"), nullptr);  // a fault is not a set
}

TEST(FaultSets, QemuV2HoldsWhatQemuWasObservedToDo) {
  const FaultSetInfo* s = find_fault_set("qemu-v2");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(member_names(*s),
            (std::vector<std::string>{"no-get-shm-response", "lose-on-full-ring", "stale-slot-bytes", "no-config-event",
                                      "answer-empty-slot", "get-devices-unaligned", "answer-bus-responses",
                                      "no-size-check", "max-message-48", "notify-any-width", "cur-size-reports-max",
                                      "accept-unoffered-features", "config-out-of-range-ff"}));
  // Seen to conform, or only inferred from QEMU's code: not in the set.
  const FaultSet v2 = FaultSet::of(*s);
  for (const Fault f : {Fault::EchoReservedTypeBits, Fault::MsixIgnoresMask, Fault::IgnoreBusMaster,
                        Fault::SetConfigIgnoresGeneration, Fault::StatusHighBitsKept, Fault::GenerationNotBumped,
                        Fault::ResetKeepsQueues, Fault::UsedIgnoresSuppression, Fault::DuplicateResponse,
                        Fault::TrustSharedOwnIndex}) {
    EXPECT_FALSE(v2.has(f)) << info(f).name;
  }
  // The set stands for the plain build, which survives RESET_VQUEUE 0x400 (§9).
  EXPECT_FALSE(v2.has(Fault::AsanResetVqueueOverflow));
}

TEST(FaultSets, ParseListExpandsASetAlone) {
  const FaultSetInfo& s = *find_fault_set("qemu-v2");
  const FaultSet parsed = FaultSet::parse_list("qemu-v2");
  EXPECT_EQ(parsed, FaultSet::of(s));
  for (const Fault f : s.members) EXPECT_TRUE(parsed.has(f)) << info(f).name;
  // It writes back as its members, which read back as the same set.
  EXPECT_EQ(FaultSet::parse_list(parsed.to_string()), parsed);
  EXPECT_EQ(parsed.to_string().find("qemu-v2"), std::string::npos);
}

TEST(FaultSets, ParseListMixesSetsAndFaults) {
  const FaultSet v2 = FaultSet::of(*find_fault_set("qemu-v2"));
  FaultSet want = v2;
  want.set(Fault::DuplicateResponse);
  EXPECT_EQ(FaultSet::parse_list("duplicate-response, qemu-v2"), want);
  EXPECT_EQ(FaultSet::parse_list("qemu-v2,duplicate-response"), want);
  EXPECT_EQ(FaultSet::parse_list("qemu-v2,stale-slot-bytes,qemu-v2"), v2);  // repeats change nothing
}

TEST(FaultSets, AnUnknownEntryNextToASetIsNamed) {
  try {
    (void)FaultSet::parse_list("qemu-v2,qemu-v3");
    ADD_FAILURE() << "accepted qemu-v3";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unknown fault \"qemu-v3\""), std::string::npos) << what;
    EXPECT_NE(what.find("fault sets: qemu-v2"), std::string::npos) << what;
  }
}

TEST(FaultSet, MergeAddsTheOtherSet) {
  FaultSet a;
  a.set(Fault::NoSizeCheck);
  a.merge(FaultSet{}.set(Fault::StaleSlotBytes)).merge(FaultSet{});
  EXPECT_EQ(a, FaultSet{}.set(Fault::NoSizeCheck).set(Fault::StaleSlotBytes));
}

}  // namespace
}  // namespace vmsg::fault

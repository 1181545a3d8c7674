// Error names, requirement IDs, describe() lines and the profile name.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "vmsg/wire/codec.hpp"

namespace vmsg::wire {
namespace {

constexpr DecodeError kAllDecodeErrors[] = {
    DecodeError::ShortBuffer,      DecodeError::SizeBelowHeader,  DecodeError::SizeExceedsBuffer,
    DecodeError::SizeExceedsBusMax, DecodeError::SizeMismatch,    DecodeError::ReservedTypeBits,
    DecodeError::UnknownMessageId, DecodeError::ResponseToEvent, DecodeError::BadAlignment,
    DecodeError::BadCount,
};

TEST(Diagnostics, DecodeErrorNames) {
  EXPECT_EQ(to_string(DecodeError::ShortBuffer), "short-buffer");
  EXPECT_EQ(to_string(DecodeError::SizeBelowHeader), "size-below-header");
  EXPECT_EQ(to_string(DecodeError::SizeExceedsBuffer), "size-exceeds-buffer");
  EXPECT_EQ(to_string(DecodeError::SizeExceedsBusMax), "size-exceeds-bus-max");
  EXPECT_EQ(to_string(DecodeError::SizeMismatch), "size-mismatch");
  EXPECT_EQ(to_string(DecodeError::ReservedTypeBits), "reserved-type-bits");
  EXPECT_EQ(to_string(DecodeError::UnknownMessageId), "unknown-message-id");
  EXPECT_EQ(to_string(DecodeError::ResponseToEvent), "response-to-event");
  EXPECT_EQ(to_string(DecodeError::BadAlignment), "bad-alignment");
  EXPECT_EQ(to_string(DecodeError::BadCount), "bad-count");
  std::set<std::string_view> names;
  for (const DecodeError e : kAllDecodeErrors) names.insert(to_string(e));
  EXPECT_EQ(names.size(), std::size(kAllDecodeErrors));
}

TEST(Diagnostics, EncodeErrorNames) {
  EXPECT_EQ(to_string(EncodeError::TooLarge), "too-large");
  EXPECT_EQ(to_string(EncodeError::BufferTooSmall), "buffer-too-small");
  EXPECT_EQ(to_string(EncodeError::Inconsistent), "inconsistent");
}

TEST(Diagnostics, RuleIdsNameTheRequirementEachErrorEvidences) {
  EXPECT_EQ(rule_id(DecodeError::ShortBuffer), "VMSG-BUS-016");
  EXPECT_EQ(rule_id(DecodeError::SizeBelowHeader), "VMSG-DRV-011");
  EXPECT_EQ(rule_id(DecodeError::SizeExceedsBuffer), "VMSG-DRV-011");
  EXPECT_EQ(rule_id(DecodeError::SizeMismatch), "VMSG-DRV-011");
  EXPECT_EQ(rule_id(DecodeError::SizeExceedsBusMax), "VMSG-DRV-012");
  EXPECT_EQ(rule_id(DecodeError::ReservedTypeBits), "VMSG-DRV-009");
  EXPECT_EQ(rule_id(DecodeError::UnknownMessageId), "VMSG-BUS-016");
  EXPECT_EQ(rule_id(DecodeError::ResponseToEvent), "VMSG-BUS-019");
  EXPECT_EQ(rule_id(DecodeError::BadAlignment), "VMSG-BUS-042");
  EXPECT_EQ(rule_id(DecodeError::BadCount), "VMSG-BUS-043");
}

TEST(Diagnostics, Rev1RuleIdsComeFromTheRev1Catalogue) {
  for (const DecodeError e : kAllDecodeErrors) EXPECT_EQ(rule_id(e, Layout::Pr28), rule_id(e)) << to_string(e);
  EXPECT_EQ(rule_id(DecodeError::ShortBuffer, Layout::Rev1), "R1-BUS-025");
  EXPECT_EQ(rule_id(DecodeError::SizeBelowHeader, Layout::Rev1), "R1-DRV-020");
  EXPECT_EQ(rule_id(DecodeError::SizeExceedsBuffer, Layout::Rev1), "R1-DRV-020");
  EXPECT_EQ(rule_id(DecodeError::SizeMismatch, Layout::Rev1), "R1-DRV-020");
  EXPECT_EQ(rule_id(DecodeError::SizeExceedsBusMax, Layout::Rev1), "R1-DRV-021");
  EXPECT_EQ(rule_id(DecodeError::ReservedTypeBits, Layout::Rev1), "R1-DRV-018");
  EXPECT_EQ(rule_id(DecodeError::UnknownMessageId, Layout::Rev1), "R1-BUS-025");
  EXPECT_EQ(rule_id(DecodeError::ResponseToEvent, Layout::Rev1), "R1-GEN-002");
  EXPECT_EQ(rule_id(DecodeError::BadAlignment, Layout::Rev1), "");
  EXPECT_EQ(rule_id(DecodeError::BadCount, Layout::Rev1), "R1-BUS-060");
  EXPECT_EQ(describe({DecodeError::SizeMismatch, 32}, Layout::Rev1),
            "size-mismatch (R1-DRV-020): msg_size 32 differs from the size the message content implies");
}

TEST(Diagnostics, DescribeGivesKindRuleAndValueOnOneLine) {
  EXPECT_EQ(describe({DecodeError::SizeMismatch, 49}),
            "size-mismatch (VMSG-DRV-011): msg_size 49 differs from the size the message content implies");
  EXPECT_EQ(describe({DecodeError::UnknownMessageId, 0x30}),
            "unknown-message-id (VMSG-BUS-016): msg_id 0x30 is not defined in its ID space");
  EXPECT_EQ(describe({DecodeError::ReservedTypeBits, 0x04}),
            "reserved-type-bits (VMSG-DRV-009): type 0x04 has reserved bits 2..7 set");
  EXPECT_EQ(describe({DecodeError::ShortBuffer, 3}), "short-buffer (VMSG-BUS-016): only 3 bytes, a header needs 8");
  for (const DecodeError e : kAllDecodeErrors) {
    const std::string line = describe({e, 12345});
    SCOPED_TRACE(line);
    EXPECT_EQ(line.rfind(std::string(to_string(e)) + " (" + std::string(rule_id(e)) + "): ", 0), 0u);
    EXPECT_EQ(line.find('\n'), std::string::npos);
  }
  // Hex values use the shortest even number of digits.
  EXPECT_NE(describe({DecodeError::ResponseToEvent, 0x140}).find("0x0140"), std::string::npos);
}

TEST(Diagnostics, ProfileName) {
  EXPECT_EQ(Profile::pr28().name(), "pr28");
  EXPECT_EQ(Profile::pr28(4096).name(), "pr28");
  EXPECT_EQ(Profile::pr28().max_msg_size, 64u);
  EXPECT_EQ(Profile::pr28(48), (Profile{Layout::Pr28, 48}));
}

}  // namespace
}  // namespace vmsg::wire

// What the target tests compare between a fresh and a reset or restored
// target: everything an observer of the port and the machine can see.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "vmsg/machine/machine.hpp"

namespace vmsg::target::testing {

/// Every value read through the port, then the machine's MSI log, stats and clock.
struct PortTrace {
  std::vector<std::uint64_t> reads;
  std::vector<machine::MsiRecord> msis;
  machine::MachineStats stats;
  std::uint64_t now = 0;
};

/// Fails the test at the first difference (the first differing read by index).
inline void expect_same_port(const PortTrace& a, const PortTrace& b) {
  ASSERT_EQ(a.reads.size(), b.reads.size());
  for (std::size_t i = 0; i < a.reads.size(); ++i) ASSERT_EQ(a.reads[i], b.reads[i]) << "read #" << i;
  EXPECT_EQ(a.msis, b.msis);
  EXPECT_EQ(a.stats, b.stats);
  EXPECT_EQ(a.now, b.now);
}

}  // namespace vmsg::target::testing

// How the qtest tests start a binary as arm virt and read it: the qemu
// target's virt command line (qtest_cmdline.py: -M virt -cpu max; a 64-bit
// CPU keeps the high ECAM, and none runs) and a port with virt's layout.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "vmsg/qtest/qemu_process.hpp"
#include "vmsg/qtest/qtest_port.hpp"

namespace vmsg::qtest {

/// `binary -M virt -cpu max ARGS...` under qtest.
inline QemuLaunch virt_launch(std::string binary, const std::vector<std::string>& args) {
  QemuLaunch l;
  l.binary = std::move(binary);
  l.args = {"-M", "virt", "-cpu", "max"};
  l.args.insert(l.args.end(), args.begin(), args.end());
  return l;
}

/// QtestPort options for a virt target: ECAM config access, virt's RAM and BAR window.
inline QtestPortOptions virt_options() {
  QtestPortOptions o;
  o.machine = MachineType::ArmVirt;
  return o;
}

}  // namespace vmsg::qtest

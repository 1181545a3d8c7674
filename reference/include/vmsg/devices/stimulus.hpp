// Stimulus actions: device-side events a test asks the target for, in the
// text form of vmsg_dut.h ("config-change fifo=F dev=N"), shared by the
// reference DUT library and vmsg-ref-qtest's extension command.
#pragma once

#include <string>
#include <string_view>

#include "vmsg/transport/backend.hpp"

namespace vmsg::devices {

/// One parsed action: its verb and the device it targets.
struct StimulusAction {
  std::string verb;
  unsigned fifo = 0;
  unsigned dev_num = 0;
};

/// Parses "VERB [fifo=F] dev=N". Throws ConfigError for a malformed action;
/// an unknown verb parses (the caller answers "unsupported").
[[nodiscard]] StimulusAction parse_stimulus(std::string_view action);

/// Performs a parsed action on the backend of its device. False when the
/// verb is unknown or the backend has no such behaviour. config-change: the
/// balloon asks for a new target size, blk grows its capacity by one block
/// (as QMP block_resize does on QEMU); rng has no configuration.
bool apply_stimulus(const StimulusAction& action, transport::Backend& backend);

}  // namespace vmsg::devices

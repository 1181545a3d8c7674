// The reference's answers to vmsg-ref-qtest's extension commands
// (server.hpp): driver-rule violations and stimulus actions.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmsg/qtest/qmp_server.hpp"
#include "vmsg/qtest/ref_args.hpp"
#include "vmsg/qtest/server.hpp"
#include "vmsg/target/reference_target.hpp"
#include "vmsg/transport/device_transport.hpp"
#include "vmsg/transport/driver_rules.hpp"

namespace vmsg::qtest {

/// ServerExtensions over a ReferenceSpec it instruments: every device behind
/// a ValidatingEndpoint, the bus and registers reporting into one rule log
/// (as the embedded `ref` target does), and the transports kept for stimuli.
/// Must outlive the target built from the instrumented spec. Also the QMP
/// backend: balloon and block_resize change the reference devices as QEMU's
/// commands change its own (and the devices then send EVENT_CONFIG).
class RefExtensions final : public ServerExtensions, public QmpBackend {
 public:
  /// `spec` with validators in front of its DeviceTransport endpoints (other
  /// endpoints are left alone and get no stimulus) and the rule sink set.
  [[nodiscard]] target::ReferenceSpec instrument(target::ReferenceSpec spec);

  [[nodiscard]] std::vector<std::string> stimulus_verbs() const override { return {"config-change"}; }
  /// ConfigError for a malformed action or a device that is not there.
  bool stimulus(std::string_view action) override;
  std::vector<std::string> take_violations() override;

  /// What the QMP commands need: the target (system_reset), RAM size (the
  /// balloon's target is RAM minus the balloon) and the block node names.
  void attach(target::ReferenceTarget& target, const RefArgs& args);
  void balloon(std::int64_t bytes) override;
  void block_resize(const std::string& node, std::int64_t bytes) override;
  void system_reset() override;

 private:
  target::ReferenceTarget* target_ = nullptr;
  std::uint64_t ram_bytes_ = 0;
  std::map<std::string, std::pair<unsigned, unsigned>> nodes_;
  std::shared_ptr<transport::DriverRuleLog> rules_ = std::make_shared<transport::DriverRuleLog>();
  std::map<std::pair<unsigned, unsigned>, std::shared_ptr<transport::DeviceTransport>> transports_;
};

}  // namespace vmsg::qtest

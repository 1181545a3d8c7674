#include "harness/qtest_args.hpp"

#include <array>
#include <cstdio>

namespace vmsg::fuzz {

namespace {

std::string hex2(unsigned v) {
  std::array<char, 8> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), "%02x", v);
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

}  // namespace

std::vector<std::string> format_ref_args(const qtest::RefArgs& a) {
  std::vector<std::string> v;
  if (!a.qtest_socket.empty()) v.insert(v.end(), {"-qtest", "unix:" + a.qtest_socket});
  if (a.list_devices) v.insert(v.end(), {"-device", "help"});
  if (a.list_accels) v.insert(v.end(), {"-accel", "help"});
  // parse_ref_args only produces whole KiB (the K suffix is the finest unit).
  v.insert(v.end(), {"-m", std::to_string(a.ram_bytes / 1024) + "K"});
  if (a.has_amp) {
    std::string amp = "virtio-msg-amp-pci,num-fifos=" + std::to_string(a.num_fifos) + ",addr=" +
                      hex2(a.amp_address.device) + "." + hex2(a.amp_address.function);
    if (!a.amp_id.empty()) amp += ",id=" + a.amp_id;
    v.insert(v.end(), {"-device", amp});
  }
  for (const qtest::RefDevice& d : a.devices) {
    std::string s = d.kind + ",bus=/virtio-msg-amp-pci/fifo" + std::to_string(d.fifo) + "/virtio-msg/bus" +
                    std::to_string(d.dev_num);
    for (const auto& [k, val] : d.props) s += "," + k + "=" + val;
    v.insert(v.end(), {"-device", s});
  }
  const std::string faults = a.faults.to_string();
  if (!faults.empty()) v.insert(v.end(), {"--fault", faults});
  return v;
}

std::string ref_args_difference(const qtest::RefArgs& a, const qtest::RefArgs& b) {
  if (a.qtest_socket != b.qtest_socket) return "qtest_socket";
  if (a.list_devices != b.list_devices) return "list_devices";
  if (a.list_accels != b.list_accels) return "list_accels";
  if (a.ram_bytes != b.ram_bytes) return "ram_bytes";
  if (a.has_amp != b.has_amp) return "has_amp";
  if (a.num_fifos != b.num_fifos) return "num_fifos";
  if (!(a.amp_address == b.amp_address)) return "amp_address";
  if (a.amp_id != b.amp_id) return "amp_id";
  if (a.devices.size() != b.devices.size()) return "device count";
  for (std::size_t i = 0; i < a.devices.size(); ++i) {
    const qtest::RefDevice& x = a.devices[i];
    const qtest::RefDevice& y = b.devices[i];
    if (x.kind != y.kind || x.fifo != y.fifo || x.dev_num != y.dev_num || x.props != y.props) {
      return "device " + std::to_string(i);
    }
  }
  if (!(a.faults == b.faults)) return "faults";
  return "";
}

}  // namespace vmsg::fuzz

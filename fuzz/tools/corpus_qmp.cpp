// Seeds of fuzz_qmp. A fuzz_qmp input is text: the whole of it and each line
// are JSON documents, its lines are a client's commands to the QMP server and
// a server's lines to the QMP client. The sessions here are answered by the
// genuine QmpServer (with a backend that accepts everything), so the recorded
// transcripts are exactly what vmsg-ref-qtest sends.
#include "tools/corpus_qmp.hpp"

#include <string_view>

#include "vmsg/qtest/qmp_server.hpp"

namespace vmsg::fuzz {
namespace {

using Seeds = std::vector<std::pair<std::string, std::vector<std::uint8_t>>>;

class AcceptAll : public qtest::QmpBackend {
 public:
  void balloon(std::int64_t /*bytes*/) override {}
  void block_resize(const std::string& /*node*/, std::int64_t /*bytes*/) override {}
  void system_reset() override {}
};

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += l + "\n";
  return s;
}

/// The greeting and the server's answers to `commands`, as the client reads them.
std::string transcript(const std::vector<std::string>& commands) {
  AcceptAll backend;
  qtest::QmpServer server(&backend);
  std::string out = server.greeting();
  for (const std::string& c : commands) {
    out += server.handle(c);
    if (server.quit_requested()) break;
  }
  return out;
}

/// Client sessions: (name, command lines). ids 1, 2, 3 ... as QmpClient numbers them.
std::vector<std::pair<std::string, std::vector<std::string>>> sessions() {
  const std::string caps = R"({"execute": "qmp_capabilities", "id": 1})";
  return {
      {"status-quit", {caps, R"({"execute": "query-status", "id": 2})", R"({"execute": "quit", "id": 3})"}},
      {"no-ids", {R"({"execute": "qmp_capabilities"})", R"({"execute": "query-status"})", R"({"execute": "quit"})"}},
      {"caps-enable", {R"({"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}, "id": "a"})",
                       R"({"execute": "query-status", "id": {"n": [1, null, true]}})"}},
      {"balloon", {caps, R"({"execute": "balloon", "arguments": {"value": 1073741824}, "id": 2})",
                   R"({"execute": "balloon", "arguments": {"value": 0}, "id": 3})",
                   R"({"execute": "balloon", "arguments": {"value": "1G"}, "id": 4})",
                   R"({"execute": "balloon", "arguments": {}, "id": 5})",
                   R"({"execute": "balloon", "arguments": {"value": 1}, "id": 6})"}},
      {"block-resize", {caps, R"({"execute": "block_resize", "arguments": {"node-name": "drive0", "size": 1048576}, "id": 2})",
                        R"({"execute": "block_resize", "arguments": {"device": "drive0", "size": 0}, "id": 3})",
                        R"({"execute": "block_resize", "arguments": {"device": "d", "node-name": "n", "size": 1}, "id": 4})",
                        R"({"execute": "block_resize", "arguments": {"device": "missing", "size": 512}, "id": 5})",
                        R"({"execute": "block_resize", "arguments": {"device": 7, "size": -1}, "id": 6})"}},
      {"reset", {caps, R"({"execute": "system_reset", "id": 2})",
                 R"({"execute": "system_reset", "arguments": {"x": 1}, "id": 3})", R"({"execute": "quit", "id": 4})"}},
      {"before-caps", {R"({"execute": "query-status", "id": 1})", caps,
                       R"({"execute": "qmp_capabilities", "id": 2})"}},
      {"errors", {caps, R"({"execute": "human-monitor-command", "arguments": {"command-line": "info"}, "id": 2})",
                  R"({"execute": 5, "id": 3})", R"({"arguments": {}, "id": 4})",
                  R"({"execute": "quit", "arguments": [], "id": 5})", R"({"execute": "query-status", "arguments": {"a": 1}})",
                  R"([1, 2, 3])", R"("execute")", "", "   ", R"({"execute": "quit", "id": 6)",
                  R"({"execute": "qu\u0069t", "id": 7})"}},
  };
}

/// Lines a server might send that the client must refuse or skip.
std::vector<std::pair<std::string, std::string>> client_streams() {
  const std::string greet = R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}})";
  const std::string event =
      R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME", "data": {}})";
  return {
      {"client-events", greet + "\n" + event + "\n\n" + R"({"return": {}, "id": 1})" + "\n" + event + "\n" +
                            R"({"return": {"status": "paused", "running": false}, "id": 2})" + "\r\n" +
                            R"({"error": {"class": "GenericError", "desc": "no"}, "id": 3})" + "\n"},
      {"client-no-greeting", R"({"return": {}, "id": 1})" "\n"},
      {"client-caps-refused", greet + "\n" + R"({"error": {"class": "CommandNotFound", "desc": "x"}, "id": 1})" + "\n"},
      {"client-wrong-id", greet + "\n" + R"({"return": {}, "id": 1})" + "\n" + R"({"return": {}, "id": 7})" + "\n"},
      {"client-malformed-error", greet + "\n" + R"({"return": {}, "id": 1})" + "\n" +
                                     R"({"error": {"class": 1}, "id": 2})" + "\n"},
      {"client-neither", greet + "\n" + R"({"return": {}, "id": 1})" + "\n" + R"({"id": 2})" + "\n"},
      {"client-not-json", greet + "\n" + R"({"return": {}, "id": 1})" + "\n" + "{oops\n"},
      {"client-cut", greet + "\n" + R"({"return": {}, "id": 1})" + "\n" + R"({"return": {}, "id")"},
  };
}

/// JSON documents, valid and not.
std::vector<std::pair<std::string, std::string>> documents() {
  return {
      {"json-scalars", R"([0, -1, 9223372036854775807, -9223372036854775808, true, false, null, ""])"},
      {"json-escapes", R"({"s": "\"\\\/\b\f\n\r\t\u0001\u00e9\u20ac\ud83d\ude00", "k\u0000": [[], {}]})"},
      {"json-nested", std::string(40, '[') + "1" + std::string(40, ']')},
      {"json-too-deep", std::string(80, '[') + std::string(80, ']')},
      {"json-repeated-key", R"({"a": 1, "a": 2, "b": {"c": [1, {"d": null}]}})"},
      {"json-bad", "{\"a\" 1}\n[1,]\n9223372036854775808\n1.5\n01\n\"\\ud800\"\n\"\\udc00\"\n\"\\q\"\ntru\n\"\x01\"\n{} x\n"},
  };
}

}  // namespace

Seeds qmp_seeds() {
  Seeds out;
  for (const auto& [name, commands] : sessions()) {
    const std::string in = joined(commands);
    const std::string replies = transcript(commands);
    out.emplace_back("server-" + name, bytes_of(in));
    out.emplace_back("client-" + name, bytes_of(replies));
    out.emplace_back("both-" + name, bytes_of(in + replies));
  }
  for (const auto& [name, text] : client_streams()) out.emplace_back(name, bytes_of(text));
  for (const auto& [name, text] : documents()) out.emplace_back(name, bytes_of(text));
  return out;
}

}  // namespace vmsg::fuzz

// fuzz_qmp: the QMP path of vmsg-ref-qtest and of the QMP client
// (reference/src/qtest/json.cpp, qmp_server.cpp, qmp_client.cpp). The input is
// text; every input drives all three parts:
//
//  - JSON: json::parse over the whole input and over each line either returns
//    a Value or throws json::ParseError (offset within the text); nothing else
//    escapes. An accepted value dumps to one line, that line parses back to an
//    equal value, and dumping is stable (dump(parse(dump(v))) == dump(v)).
//  - Server: the input's newline-terminated lines ("\r" stripped, as
//    LineChannel does) go to a QmpServer exactly as vmsg-ref-qtest's socket
//    loop feeds them: the greeting first, then handle() per line until quit.
//    Once with a backend (which records calls and refuses some, with a
//    QmpError or another exception) and once without. Every line gets exactly
//    one reply line (two after quit: the reply and a SHUTDOWN event; none
//    for a blank line, as QEMU), each a
//    JSON object; the reply holds `return` or `error` {class, desc} (strings)
//    and echoes the input's `id` exactly when the line was an object with
//    one. Which of return/error, the error class, the return value of
//    qmp_capabilities/query-status/quit and whether the backend was called
//    (with which arguments) come from an independent model of the session
//    (negotiation, members and argument rules, as QEMU's). Nothing is thrown
//    out of handle().
//  - Client: the same lines are a server's side of a session. They are
//    written into a socketpair whose writing end is then shut, and a
//    QmpClient is built on the other end (greeting, qmp_capabilities) and
//    runs query-status, quit. Only QmpError and QmpProtocolError escape, and
//    each step ends as a model of the client's rules predicts (blank lines and
//    events skipped and counted, ids matched, return/error/malformed replies,
//    the end of the stream); the greeting and returned values are the ones the
//    lines carried.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/check.hpp"
#include "vmsg/qtest/json.hpp"
#include "vmsg/qtest/qmp_client.hpp"
#include "vmsg/qtest/qmp_server.hpp"

namespace {

using namespace vmsg;
namespace json = qtest::json;

constexpr std::size_t kMaxInput = 1 << 14;
constexpr std::size_t kMaxLines = 64;

/// Newline-terminated lines, each without "\n" and one trailing "\r" (LineChannel::read_line).
/// `tail` says whether bytes follow the last newline (a line the peer never finished).
std::vector<std::string> split_lines(std::string_view text, bool& tail) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) break;
    std::string line(text.substr(start, nl - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = nl + 1;
  }
  tail = start < text.size();
  return lines;
}

std::optional<json::Value> try_parse(std::string_view text) {
  try {
    return json::parse(text);
  } catch (const json::ParseError& e) {
    VMSG_FUZZ_CHECK(e.offset() <= text.size(), "ParseError offset past the text: " + std::string(e.what()));
    return std::nullopt;
  } catch (const std::exception& e) {
    VMSG_FUZZ_CHECK(false, std::string("json::parse threw something other than ParseError: ") + e.what());
  }
  return std::nullopt;
}

// ---- JSON ------------------------------------------------------------------
void check_json(std::string_view text) {
  const std::optional<json::Value> v = try_parse(text);
  if (!v) return;
  const std::string once = json::dump(*v);
  VMSG_FUZZ_CHECK(once.find('\n') == std::string::npos, "dump is not one line: " + once);
  const std::optional<json::Value> back = try_parse(once);
  VMSG_FUZZ_CHECK(back.has_value(), "dump does not parse back: " + once);
  VMSG_FUZZ_CHECK(*back == *v, "dump parses back to another value: " + once);
  VMSG_FUZZ_CHECK(json::dump(*back) == once, "dump is not stable: " + once + " -> " + json::dump(*back));
}

/// The parsed line if it is a JSON object, else nullopt.
std::optional<json::Value> object_line(std::string_view line) {
  std::optional<json::Value> v = try_parse(line);
  if (v && v->as_object() == nullptr) return std::nullopt;
  return v;
}

// ---- server ----------------------------------------------------------------
/// Records what the server asked of it; refuses some requests.
class FakeBackend : public qtest::QmpBackend {
 public:
  std::vector<std::string> calls;
  void balloon(std::int64_t bytes) override {
    calls.push_back("balloon " + std::to_string(bytes));
    if (bytes == 1) throw std::runtime_error("balloon backend failure");  // not a QmpError: still answered
  }
  void block_resize(const std::string& node, std::int64_t bytes) override {
    calls.push_back("block_resize " + node + " " + std::to_string(bytes));
    if (node != "drive0") throw qtest::QmpError("DeviceNotFound", "Cannot find device='" + node + "'");
  }
  void system_reset() override { calls.push_back("system_reset"); }
};

/// What the model expects of one command line.
struct Expect {
  std::string error_class;  // empty: a `return`
  std::optional<json::Value> ret;  // the return value, when the model knows it
  std::optional<std::string> call;  // the backend call it must make
  bool quit = false;
};

bool only_keys(const json::Object& args, std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : args) {
    bool ok = false;
    for (std::string_view n : known) ok = ok || k == n;
    if (!ok) return false;
  }
  return true;
}

/// The model of QmpServer::execute for the device commands: the class of the
/// refusal, or the backend call (which the FakeBackend may refuse in turn).
Expect device_command(const std::string& cmd, const json::Value& args) {
  Expect e;
  const auto generic = [&] {
    e.error_class = "GenericError";
    return e;
  };
  if (cmd == "system_reset") {
    if (!only_keys(*args.as_object(), {})) return generic();
    e.call = "system_reset";
    return e;
  }
  if (cmd == "balloon") {
    const json::Value* v = args.find("value");
    if (!only_keys(*args.as_object(), {"value"}) || v == nullptr || v->as_int() == nullptr || *v->as_int() <= 0) {
      return generic();
    }
    e.call = "balloon " + std::to_string(*v->as_int());
    if (*v->as_int() == 1) return generic();  // FakeBackend's runtime_error
    return e;
  }
  // block_resize
  const json::Value* dev = args.find("device");
  const json::Value* node = args.find("node-name");
  const json::Value* size = args.find("size");
  if (!only_keys(*args.as_object(), {"device", "node-name", "size"})) return generic();
  if ((dev != nullptr && dev->as_string() == nullptr) || (node != nullptr && node->as_string() == nullptr)) return generic();
  if (size == nullptr || size->as_int() == nullptr) return generic();
  if ((dev == nullptr) == (node == nullptr) || *size->as_int() < 0) return generic();
  const std::string& name = dev != nullptr ? *dev->as_string() : *node->as_string();
  e.call = "block_resize " + name + " " + std::to_string(*size->as_int());
  if (name != "drive0") e.error_class = "DeviceNotFound";
  return e;
}

/// The model of the server for one line; `negotiated` moves as the server's should.
Expect model_line(const std::optional<json::Value>& in, bool& negotiated, bool has_backend) {
  Expect e;
  e.error_class = "GenericError";
  if (!in) return e;
  if (!only_keys(*in->as_object(), {"execute", "arguments", "id"})) return e;  // as QEMU
  const json::Value* exec = in->find("execute");
  if (exec == nullptr || exec->as_string() == nullptr) return e;
  const json::Value* args = in->find("arguments");
  static const json::Value kNoArgs = json::Object{};
  if (args == nullptr) args = &kNoArgs;
  if (args->as_object() == nullptr) return e;
  const std::string& cmd = *exec->as_string();
  const json::Object& a = *args->as_object();
  if (cmd == "qmp_capabilities") {
    if (negotiated) {
      e.error_class = "CommandNotFound";
    } else if (only_keys(a, {"enable"})) {
      negotiated = true;
      e.error_class.clear();
      e.ret = json::Object{};
    }
    return e;
  }
  if (!negotiated) {
    e.error_class = "CommandNotFound";
    return e;
  }
  if (cmd == "query-status" || cmd == "quit") {
    if (!a.empty()) return e;
    e.error_class.clear();
    e.quit = cmd == "quit";
    e.ret = e.quit ? json::Value(json::Object{})
                   : json::Value(json::Object{{"status", "running"}, {"singlestep", false}, {"running", true}});
    return e;
  }
  if (cmd != "balloon" && cmd != "block_resize" && cmd != "system_reset") {
    e.error_class = "CommandNotFound";
    return e;
  }
  if (!has_backend) return e;
  return device_command(cmd, *args);
}

std::vector<std::string> reply_lines(const std::string& out, const std::string& line) {
  VMSG_FUZZ_CHECK(!out.empty() && out.back() == '\n', "reply to [" + line + "] is not newline-terminated: " + out);
  bool tail = false;
  return split_lines(out, tail);
}

void check_server(const std::vector<std::string>& lines, bool with_backend) {
  FakeBackend backend;
  qtest::QmpServer server(with_backend ? &backend : nullptr);
  const std::string greeting = server.greeting();
  const std::vector<std::string> g = reply_lines(greeting, "<connect>");
  VMSG_FUZZ_CHECK(g.size() == 1, "greeting is not one line: " + greeting);
  const std::optional<json::Value> gv = object_line(g[0]);
  VMSG_FUZZ_CHECK(gv && gv->find("QMP") != nullptr && gv->find("QMP")->find("capabilities") != nullptr &&
                      gv->find("QMP")->find("capabilities")->as_array() != nullptr,
                  "greeting lacks QMP.capabilities: " + greeting);

  bool negotiated = false;
  std::size_t calls = 0;
  for (const std::string& line : lines) {
    std::string out;
    try {
      out = server.handle(line);
    } catch (const std::exception& e) {
      VMSG_FUZZ_CHECK(false, "handle([" + line + "]) threw: " + e.what());
    }
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) {
      // Whitespace only: no command, no reply (QEMU's streamer skips it).
      VMSG_FUZZ_CHECK(out.empty(), "blank line [" + line + "] answered: " + out);
      continue;
    }
    const std::optional<json::Value> in = object_line(line);
    const Expect want = model_line(in, negotiated, with_backend);
    const std::vector<std::string> r = reply_lines(out, line);
    VMSG_FUZZ_CHECK(r.size() == (want.quit ? 2U : 1U), "reply to [" + line + "] has " + std::to_string(r.size()) +
                                                           " lines: " + out);
    const std::optional<json::Value> reply = object_line(r[0]);
    VMSG_FUZZ_CHECK(reply.has_value(), "reply to [" + line + "] is not a JSON object: " + r[0]);
    const json::Object& members = *reply->as_object();

    // id echoed exactly when the input had one.
    const json::Value* in_id = in ? in->find("id") : nullptr;
    const json::Value* out_id = reply->find("id");
    VMSG_FUZZ_CHECK((in_id == nullptr) == (out_id == nullptr) && (in_id == nullptr || *in_id == *out_id),
                    "id not echoed: [" + line + "] -> " + r[0]);
    VMSG_FUZZ_CHECK(members.size() == (in_id != nullptr ? 2U : 1U), "reply has other members: " + r[0]);

    const json::Value* ret = reply->find("return");
    const json::Value* err = reply->find("error");
    VMSG_FUZZ_CHECK((ret == nullptr) != (err == nullptr), "reply holds not exactly one of return/error: " + r[0]);
    if (want.error_class.empty()) {
      VMSG_FUZZ_CHECK(ret != nullptr, "[" + line + "] should succeed: " + r[0]);
      if (want.ret) {
        VMSG_FUZZ_CHECK(*ret == *want.ret, "[" + line + "] returned the wrong value: " + r[0]);
      }
    } else {
      VMSG_FUZZ_CHECK(err != nullptr, "[" + line + "] should be refused with " + want.error_class + ": " + r[0]);
      const json::Value* cls = err->find("class");
      const json::Value* desc = err->find("desc");
      VMSG_FUZZ_CHECK(err->as_object() != nullptr && err->as_object()->size() == 2 && cls != nullptr &&
                          cls->as_string() != nullptr && desc != nullptr && desc->as_string() != nullptr &&
                          !desc->as_string()->empty(),
                      "malformed error object: " + r[0]);
      VMSG_FUZZ_CHECK(*cls->as_string() == want.error_class,
                      "[" + line + "] refused with the wrong class (want " + want.error_class + "): " + r[0]);
    }
    if (want.call) {
      VMSG_FUZZ_CHECK(backend.calls.size() == calls + 1 && backend.calls.back() == *want.call,
                      "[" + line + "] should call the backend as '" + *want.call + "'");
      ++calls;
    }
    VMSG_FUZZ_CHECK(backend.calls.size() == calls, "[" + line + "] made an unexpected backend call");
    VMSG_FUZZ_CHECK(server.quit_requested() == want.quit, "quit_requested() wrong after [" + line + "]");
    if (want.quit) {
      const std::optional<json::Value> ev = object_line(r[1]);
      VMSG_FUZZ_CHECK(ev && ev->find("event") != nullptr && ev->find("event")->as_string() != nullptr &&
                          *ev->find("event")->as_string() == "SHUTDOWN",
                      "quit not followed by a SHUTDOWN event: " + out);
      return;  // the tool closes the session after quit
    }
  }
}

// ---- client ----------------------------------------------------------------
/// How one step of the client ends.
struct Outcome {
  enum Kind { Ok, Refused, Protocol } kind = Ok;
  json::Value value;  // Ok: the greeting's QMP member or the return value
  std::string cls, desc;  // Refused
  bool operator==(const Outcome& o) const {
    return kind == o.kind && (kind != Ok || value == o.value) && (kind != Refused || (cls == o.cls && desc == o.desc));
  }
  [[nodiscard]] std::string text() const {
    switch (kind) {
      case Ok: return "ok " + json::dump(value);
      case Refused: return "QmpError " + cls + ": " + desc;
      case Protocol: return "QmpProtocolError";
    }
    return "?";
  }
};

/// The client's rules over the lines the server sent.
class ClientModel {
 public:
  explicit ClientModel(const std::vector<std::string>& lines) : lines_(lines) {}
  std::uint64_t events = 0;

  Outcome greeting() {
    const std::optional<json::Value> m = next();
    if (!m) return {Outcome::Protocol, {}, {}, {}};
    const json::Value* qmp = m->find("QMP");
    if (qmp == nullptr || qmp->as_object() == nullptr) return {Outcome::Protocol, {}, {}, {}};
    return {Outcome::Ok, *qmp, {}, {}};
  }

  Outcome command(std::int64_t id) {
    const std::optional<json::Value> m = next();
    if (!m) return {Outcome::Protocol, {}, {}, {}};
    const json::Value* rid = m->find("id");
    if (rid == nullptr || rid->as_int() == nullptr || *rid->as_int() != id) return {Outcome::Protocol, {}, {}, {}};
    if (const json::Value* ret = m->find("return")) return {Outcome::Ok, *ret, {}, {}};
    const json::Value* err = m->find("error");
    if (err == nullptr) return {Outcome::Protocol, {}, {}, {}};
    const json::Value* cls = err->find("class");
    const json::Value* desc = err->find("desc");
    if (cls == nullptr || cls->as_string() == nullptr || desc == nullptr || desc->as_string() == nullptr) {
      return {Outcome::Protocol, {}, {}, {}};
    }
    return {Outcome::Refused, {}, *cls->as_string(), *desc->as_string()};
  }

 private:
  /// The next non-blank, non-event object; nullopt where the client gives up.
  std::optional<json::Value> next() {
    while (pos_ < lines_.size()) {
      const std::string& l = lines_[pos_++];
      if (l.find_first_not_of(" \t") == std::string::npos) continue;
      std::optional<json::Value> m = object_line(l);
      if (!m) return std::nullopt;
      if (m->find("event") != nullptr) {
        ++events;
        continue;
      }
      return m;
    }
    return std::nullopt;  // end of stream (an unfinished last line is lost too)
  }

  const std::vector<std::string>& lines_;
  std::size_t pos_ = 0;
};

template <typename F>
Outcome run_step(F&& f) {
  try {
    return {Outcome::Ok, f(), {}, {}};
  } catch (const qtest::QmpProtocolError&) {
    return {Outcome::Protocol, {}, {}, {}};
  } catch (const qtest::QmpError& e) {
    return {Outcome::Refused, {}, e.error_class(), e.desc()};
  } catch (const std::exception& e) {
    VMSG_FUZZ_CHECK(false, std::string("the QMP client threw something other than QmpError/QmpProtocolError: ") + e.what());
  }
  return {};
}

void check_client(std::string_view text, const std::vector<std::string>& lines) {
  int sv[2];
  VMSG_FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair failed");
  // The input fits the socket buffer (kMaxInput), so this never blocks.
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::send(sv[1], text.data() + done, text.size() - done, MSG_NOSIGNAL);
    VMSG_FUZZ_CHECK(n > 0, "writing the server side failed");
    done += static_cast<std::size_t>(n);
  }
  ::shutdown(sv[1], SHUT_WR);  // the client sees the end of the stream, never waits

  ClientModel model(lines);
  const auto compare = [](const char* step, const Outcome& got, const Outcome& want) {
    VMSG_FUZZ_CHECK(got == want, std::string(step) + ": client " + got.text() + ", model " + want.text());
  };
  std::optional<qtest::QmpClient> client;
  const Outcome hello = run_step([&] {
    client.emplace(sv[0], std::chrono::milliseconds(10'000));
    return client->greeting();
  });
  // The constructor reads the greeting, then runs qmp_capabilities (id 1).
  Outcome want = model.greeting();
  if (want.kind == Outcome::Ok) {
    const Outcome caps = model.command(1);
    if (caps.kind != Outcome::Ok) want = caps;
  }
  compare("connect", hello, want);
  if (!client) {
    ::close(sv[1]);
    return;  // the constructor closed the socket (QmpClient owned it)
  }
  std::int64_t id = 2;
  for (const char* cmd : {"query-status", "quit", "system_reset"}) {
    const Outcome got = run_step([&] { return client->execute(cmd); });
    compare(cmd, got, model.command(id++));
    if (got.kind == Outcome::Protocol) break;
  }
  VMSG_FUZZ_CHECK(client->events_skipped() == model.events, "events skipped: client " +
                                                                std::to_string(client->events_skipped()) + ", model " +
                                                                std::to_string(model.events));
  client.reset();
  ::close(sv[1]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bool tail = false;
  std::vector<std::string> lines = split_lines(text, tail);
  if (lines.size() > kMaxLines) return 0;

  check_json(text);
  for (const std::string& l : lines) check_json(l);
  check_server(lines, true);
  check_server(lines, false);
  check_client(text, lines);
  return 0;
}
